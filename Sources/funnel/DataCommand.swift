import ArgumentParser
import Foundation
import FunnelData

/// `funnel data …`: dataset preparation from a schema.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Prepare datasets from schema files (recipes/*.yaml).", subcommands: [Prepare.self])

    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read, split, fit the feature map on train, encode; print a summary and optionally save the map.")

        @Option(help: "The dataset schema (YAML or JSON).")
        var schema: String

        @Option(help: "Directory the schema's relative file names resolve against (default: the schema's folder).")
        var dataDir: String?

        @Option(help: "Write the fitted feature map (JSON) here.")
        var featureMap: String?

        @Flag(help: "Skip and count malformed rows instead of stopping at the first.")
        var skipBadRows = false

        func run() throws {
            let options = PreparedDataset.Options(dataDirectory: dataDir.map { URL(fileURLWithPath: $0) },
                                                  badRows: skipBadRows ? .skip : nil)
            let data = try PreparedDataset.load(schemaURL: URL(fileURLWithPath: schema), options: options)
            print(data.summary)
            if let featureMap {
                try data.featureMap.save(to: URL(fileURLWithPath: featureMap))
                print("feature map: \(featureMap)")
            }
        }
    }
}
