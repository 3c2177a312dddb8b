import ArgumentParser
import Foundation
import FunnelData

/// `funnel synth …`: generate synthetic data (synthetic-data.md), print what was measured, optionally write CSV.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synthetic datasets with known structure: print their statistics and write them as CSV.",
        subcommands: [Impressions.self, Correlated.self, DEPHN.self])
}

/// Options shared by the generators.
struct SynthOptions: ParsableArguments {
    @Option(help: "Seed of the portable random numbers (same data as bench/funnel_synth.py).")
    var seed: UInt64 = 0

    @Option(help: "Number of rows (default: the preset's).")
    var rows: Int?

    @Option(help: "Write the rows as CSV (header, raw ids and values, labels) to this path, and its dataset schema next to it (.yaml).")
    var csv: String?

    @Flag(help: "Also write ground-truth columns (probabilities, noise-free values) to the CSV.")
    var groundTruth = false

    @Flag(help: "Replace an existing CSV and schema.")
    var overwrite = false

    var csvURL: URL? { csv.map { URL(fileURLWithPath: $0) } }
}

extension Synth {
    struct Impressions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "funnel", abstract: "Click → conversion → amount impressions (§5): realised rates and solved biases.")

        @OptionGroup var options: SynthOptions

        @Option(help: "Preset: default (200,000 rows, CTR 0.05, CVR 0.10) or smoke (4,096 rows, 0.30, 0.30).")
        var preset = "default"

        @Option(help: "Strength of the field-0 × field-1 interaction.")
        var cross = 0.0

        @OptionGroup var idFields: IdFieldOptions

        func run() throws {
            guard var configuration = ["default": FunnelConfiguration.default, "smoke": .smoke][preset] else {
                throw ValidationError("unknown preset '\(preset)' (default, smoke)")
            }
            if let rows = options.rows { configuration.rows = rows }
            configuration.crossStrength = cross
            configuration.idFields = idFields.configuration
            let data = try FunnelDataset(configuration: configuration, seed: options.seed)
            print(data.statistics.summary)
            if let url = options.csvURL { printSchema(try data.writeCSVWithSchema(to: url, groundTruth: options.groundTruth, overwrite: options.overwrite)) }
        }
    }

    struct Correlated: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "MMoE's two tasks with weight cosine p (§2): the measured label correlation next to p.")

        @OptionGroup var options: SynthOptions

        @Option(help: "Cosine p between the task weight vectors, comma-separated for several datasets.")
        var cosine = "0.5"

        @Option(help: "Weight norm c.")
        var scale = 1.0

        @Option(help: "Binary labels with these base rates (two, comma-separated; rank thresholding).")
        var rates: String?

        @Flag(help: "Nest the binary labels (task1 ← task1 · task0).")
        var nested = false

        func run() throws {
            let cosines = cosine.split(separator: ",").compactMap { Double($0) }
            guard !cosines.isEmpty else { throw ValidationError("no cosine in '\(cosine)'") }
            let labels: CorrelatedLabels = rates.map {
                .binary(BinaryThresholding(rates: $0.split(separator: ",").compactMap { Double($0) }, nested: nested))
            } ?? .regression
            for p in cosines {
                let data = try CorrelatedTasksDataset(
                    configuration: .twoTasks(cosine: p, rows: options.rows ?? 10_000, scale: scale, labels: labels), seed: options.seed)
                print(data.statistics.summary)
                if let url = options.csvURL {
                    let path = cosines.count == 1 ? url : url.deletingPathExtension().appendingPathExtension("p\(p).csv")
                    printSchema(try data.writeCSVWithSchema(to: path, groundTruth: options.groundTruth, overwrite: options.overwrite))
                }
            }
        }
    }

    struct DEPHN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dephn", abstract: "DEPHN related / unrelated labels from the true click logit (§6).")

        @OptionGroup var options: SynthOptions

        @Option(help: "The second task of the written schema: related or unrelated (the CSV holds both labels).")
        var pair: DEPHNPairDataset.Pair = .related

        func run() throws {
            var configuration = FunnelConfiguration.dephnPair
            if let rows = options.rows { configuration.rows = rows }
            let data = try DEPHNPairDataset(funnel: configuration, seed: options.seed)
            print(data.statistics.summary)
            if let url = options.csvURL { printSchema(try data.writeCSVWithSchema(to: url, pair: pair, groundTruth: options.groundTruth, overwrite: options.overwrite)) }
        }
    }
}

/// Tells where the schema of a written CSV is and how to use it.
private func printSchema(_ url: URL) {
    printError("schema: \(url.path) (funnel compare --data \(url.path) …)")
}
