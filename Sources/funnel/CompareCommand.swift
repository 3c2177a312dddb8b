import ArgumentParser
import Foundation
import FunnelData
import FunnelModels
import FunnelTrain

/// `funnel compare`: several registry models × several seeds on one dataset → mean ± std per task and metric.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare models × seeds on one dataset: a mean ± std table (Markdown, JSON) and a bar chart (SVG).",
        discussion: """
            Each run trains with early stopping on the validation split, restores its best epoch and is scored once on \
            the test split. Models come from the registry (`funnel compare --list-models`); `label=name` names an entry \
            so one model can appear twice, e.g. --models htlnet,htlnet-noLE=htlnet --model-config \
            htlnet-noLE='{"transferLabels":false}' --balancing htlnet-noLE=pcgrad.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp("Models, comma-separated: registry names or label=name.", valueName: "list"))
    var models: String?

    @Option(help: ArgumentHelp("A partial JSON configuration for one model: label=JSON (repeatable).", valueName: "label=json"))
    var modelConfig: [String] = []

    @Option(help: ArgumentHelp("Loss balancing: label=method for one model, or method for all (\(BalancingMethod.names.joined(separator: "|"))); repeatable.",
                               valueName: "label=method"))
    var balancing: [String] = []

    @Option(help: ArgumentHelp("Seeds of the runs, comma-separated.", valueName: "list"))
    var seeds: String?

    @Option(help: ArgumentHelp("Write comparison.md/.json/.svg, per-run JSONL logs and inspections.md here.", valueName: "dir"))
    var out: String?

    @Option(help: "Metric of the chart (default: AUC for binary tasks, Gini for continuous ones).")
    var plotMetric: String?

    @Option(help: "Which runs record a model's inspection report (DEPHN, APEM): none, firstSeed or everyRun.")
    var inspect: Comparison.InspectionScope = .firstSeed

    @Flag(help: "List the registry's models and exit.")
    var listModels = false

    @Flag(help: "With --list-models: print every model's full default configuration as one JSON object (name → defaults).")
    var json = false

    func run() throws {
        if listModels, json {
            print(String(decoding: try ModelRegistry.standard.defaultConfigurations.data(prettyPrinted: true), as: UTF8.self))
            return
        }
        if listModels {
            for entry in ModelRegistry.standard.entries { print("\(entry.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(entry.summary)") }
            return
        }
        let (run, base) = try training.runConfiguration(try overrides(), data: data)
        guard let dataSpecification = run.data else { throw ValidationError("no data: give --data, --synthetic or a run file with `data:`") }
        let experiment = try dataSpecification.load(relativeTo: base)
        printError(experiment.summary)
        let comparison = try run.comparison(for: experiment, inspection: inspect)
        let directory = run.output.map { URL(fileURLWithPath: $0) }
        var result = try comparison.run(train: experiment.train, validation: experiment.validation, test: experiment.test,
                                        log: { entry, seed in
                                            let url = directory?.appendingPathComponent("logs/\(entry)-seed\(seed).jsonl")
                                            if let url { try? FileManager.default.removeItem(at: url) }  // a new run, not an append
                                            return try TrainingLog(jsonlURL: url, showProgress: !training.quiet)
                                        },
                                        progress: { printError($0) })
        result.data = experiment.summary.split(separator: "\n").first.map(String.init)
        print(result.markdown())
        if let directory {
            for file in try result.write(to: directory, plotMetric: plotMetric) { printError("wrote \(file.path)") }
        }
    }

    /// The command-line values that replace the run file's.
    private func overrides() throws -> RunOverrides {
        var overrides = RunOverrides()
        overrides.models = try models.map { list in
            try list.split(separator: ",").map { try RunConfiguration.ModelChoice(parsing: String($0)) }
        }
        for item in modelConfig {
            let (label, text) = try keyValue(item, option: "--model-config")
            do { overrides.modelConfigurations[label] = try JSONValue(data: Data(text.utf8)) } catch {
                throw ValidationError("--model-config \(label): not JSON: \(text)")
            }
        }
        for item in balancing {
            let (label, name) = item.contains("=") ? try keyValue(item, option: "--balancing") : ("*", item)
            overrides.balancing[label] = try BalancingMethod(named: name)
        }
        overrides.seeds = try seeds.map { list in
            try list.split(separator: ",").map { text in
                guard let seed = UInt64(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds: '\(text)' is not a seed") }
                return seed
            }
        }
        overrides.output = out
        return overrides
    }
}

extension Comparison.InspectionScope: ExpressibleByArgument {}
