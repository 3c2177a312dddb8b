import Foundation
import FunnelData
import FunnelModels
import FunnelTrain
import XCTest

/// Checkpoints trained briefly on the built-in funnel generator's CSV through its schema (so they carry a fitted
/// feature map: vocabularies for `f*`, numeric `dense*` without fill values), and the CSV itself.
enum Fixtures {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-serve-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static let csv = directory.appendingPathComponent("funnel.csv")

    /// The schema data (written once).
    static let data: ExperimentData = {
        let generator = try! FunnelDataset(configuration: try! SyntheticRecipe(generator: .funnel, rows: 800, seed: 5, preset: "smoke")
            .funnelConfiguration(), seed: 5)
        let schema = try! generator.writeCSVWithSchema(to: csv)
        return try! DataSpecification(schema: schema.path).load()
    }()

    /// A checkpoint of `model` (registry name) trained one epoch with `seed`, written under `name`.
    static func checkpoint(_ name: String, model: String = "shared-bottom", seed: UInt64 = 3) throws -> URL {
        let url = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        var training = TrainingConfiguration()
        training.epochs = 1
        training.batchSize = 128
        training.seed = seed
        let configuration = model == "esmm" ? #"{"embeddingWidth": 4, "towerWidths": [16, 8]}"#
            : #"{"embeddingWidth": 4, "bottomWidths": [16], "towerWidths": [8]}"#
        let choice = RunConfiguration.ModelChoice(name: model, configuration: try JSONValue(data: Data(configuration.utf8)))
        try TrainingRun(choice: choice, training: training).run(on: data).trained.write(to: url)
        return url
    }

    /// The CSV's header and its first `count` records, as text fields.
    static func rows(_ count: Int) throws -> (header: [String], rows: [[String]]) {
        _ = data
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return (lines[0], Array(lines[1...count]))
    }
}
