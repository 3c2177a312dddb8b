import ArgumentParser
import Foundation
import FunnelData
import FunnelModels
import FunnelTrain

/// `funnel compare`: several registry models × several seeds on one dataset → mean ± std per task and metric.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare models × seeds on one dataset: a mean ± std table (Markdown, JSON), a bar chart (SVG) and report.html.",
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

    @Option(help: ArgumentHelp("Write comparison.md/.json/.svg, report.html, per-run JSONL logs and inspections.md here.", valueName: "dir"))
    var out: String?

    @Option(help: "The model report.html takes paired differences against (default: the first model).")
    var baseline: String?

    @Option(help: "Metric of the chart (default: AUC for binary tasks, Gini for continuous ones).")
    var plotMetric: String?

    @Option(help: "Which runs record a model's inspection report (DEPHN, APEM): none, firstSeed or everyRun.")
    var inspect: Comparison.InspectionScope = .firstSeed

    @Flag(help: "List the registry's models and exit.")
    var listModels = false

    @Flag(help: "Write into an existing --out directory that is not an earlier comparison's (only Funnel's files are replaced).")
    var overwrite = false

    @Flag(help: "Continue an interrupted comparison in --out: finished runs are kept, the interrupted one resumes after its last epoch.")
    var resume = false

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
        if let out = run.output { try ComparisonOutcome.checkDestination(URL(fileURLWithPath: out), overwrite: overwrite) }
        let experiment = try dataSpecification.load(relativeTo: base)
        printError(experiment.summary)
        var comparison = try run.comparison(for: experiment, inspection: inspect)
        if let baseline, !comparison.entries.contains(where: { $0.name == baseline }) {
            throw ValidationError("--baseline \(baseline): not one of the models (\(comparison.entries.map(\.name).joined(separator: ", ")))")
        }
        let directory = run.output.map { URL(fileURLWithPath: $0) }
        comparison.checkpoints = directory?.appendingPathComponent("runs")
        if resume && directory == nil { throw ValidationError("--resume needs --out (where the runs were saved)") }
        var result = try comparison.run(train: experiment.train, validation: experiment.validation, test: experiment.test,
                                        log: { entry, seed in
                                            let url = directory?.appendingPathComponent("logs/\(entry)-seed\(seed).jsonl")
                                            return try TrainingLog(jsonlURL: url, showProgress: !training.quiet, append: resume)
                                        },
                                        progress: { printError($0) }, resume: resume)
        result.data = experiment.summary.split(separator: "\n").first.map(String.init)
        result.dataSummary = DataSummary(experiment)
        print(result.markdown())
        if let directory {
            for file in try result.write(to: directory, plotMetric: plotMetric, baseline: baseline, overwrite: overwrite) {
                printError("wrote \(file.path)")
            }
        }
    }

    /// The command-line values that replace the run file's.
    private func overrides() throws -> RunOverrides {
        var overrides = try modelOverrides(models: models, modelConfig: modelConfig)
        for item in balancing {
            let (label, name) = item.contains("=") ? try keyValue(item, option: "--balancing") : ("*", item)
            overrides.balancing[label] = try BalancingMethod(named: name)
        }
        overrides.seeds = try seeds.map(parseSeeds)
        overrides.output = out
        return overrides
    }
}

extension Comparison.InspectionScope: ExpressibleByArgument {}
