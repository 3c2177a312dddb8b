import ArgumentParser
import Foundation
import FunnelData
import FunnelModels
import FunnelTrain

/// `funnel train`: one model, one seed → a checkpoint directory, with validation and test metrics.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model (early stopping on validation, best weights restored) and save it as a checkpoint.")

    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp("Registry model, or label=name (default: the run file's first model).", valueName: "name"))
    var model: String?

    @Option(help: ArgumentHelp("Partial JSON configuration of the model.", valueName: "json"))
    var modelConfig: String?

    @Option(help: ArgumentHelp("Loss balancing (\(BalancingMethod.names.joined(separator: "|"))).", valueName: "method"))
    var balancing: String?

    @Option(help: "Seed of initialisation, shuffling and dropout (default: the run file's first seed, else 0).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Checkpoint directory to write (default: the run file's output).", valueName: "dir"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Also write the training log (JSONL) here.", valueName: "file"))
    var logFile: String?

    @Flag(help: "Replace an existing plain file at --checkpoint or --log-file (a directory Funnel did not write is never replaced).")
    var overwrite = false

    @Flag(help: "Continue an interrupted run from the last finished epoch saved in <checkpoint>.training/.")
    var resume = false

    func run() throws {
        var overrides = RunOverrides()
        if let model {
            let choice = try RunConfiguration.ModelChoice(parsing: model)
            overrides.models = [choice]
            if let modelConfig { overrides.modelConfigurations[choice.displayName] = try parseJSON(modelConfig, option: "--model-config") }
        }
        if let balancing { overrides.balancing["*"] = try BalancingMethod(named: balancing) }
        if let seed { overrides.seeds = [seed] }
        overrides.output = checkpoint
        let (run, base) = try training.runConfiguration(overrides, data: data)
        guard let choice = run.models.first else { throw ValidationError("no model: give --model or a run file with `models:`") }
        if run.models.count > 1 { printError("training the first of \(run.models.count) models: \(choice.displayName)") }
        guard let dataSpecification = run.data else { throw ValidationError("no data: give --data, --synthetic or a run file with `data:`") }
        guard let output = run.output else { throw ValidationError("give --checkpoint DIR") }
        let checkpointURL = URL(fileURLWithPath: output), logURL = logFile.map { URL(fileURLWithPath: $0) }
        try TrainingRun.checkOutputs(checkpoint: checkpointURL, overwrite: overwrite)
        if let logURL { try OutputGuard.checkFile(logURL, overwrite: overwrite || resume) }
        let experiment = try dataSpecification.load(relativeTo: base)
        printError(experiment.summary)
        var configuration = run.training
        configuration.seed = run.seeds.first ?? 0
        let log = try TrainingLog(jsonlURL: logURL, showProgress: !training.quiet, append: resume)
        let outcome = try TrainingRun(choice: choice, training: configuration).train(on: experiment, log: log, to: checkpointURL,
                                                                                    overwrite: overwrite, resume: resume)
        // comparison.json + report.html beside the weights, in the checkpoint directory this run just wrote.
        try outcome.comparison.write(to: checkpointURL, overwrite: true)
        print("model \(choice.displayName) (\(outcome.trained.model.parameterCount) parameters), seed \(configuration.seed): "
              + "best epoch \(outcome.summary.bestEpoch) of \(outcome.summary.history.count), \(outcome.summary.steps) steps")
        print("\nvalidation (best epoch):")
        for task in experiment.tasks.map(\.name) {
            let values = outcome.summary.validation[task] ?? [:]
            print("  \(task): " + values.keys.sorted().map { "\($0) \(String(format: "%.4f", values[$0]!))" }.joined(separator: "  "))
        }
        print("\ntest:\n" + outcome.test.report.markdownTable())
        print("checkpoint: \(output)")
    }
}

/// `funnel eval`: a checkpoint's test metrics on a dataset.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a checkpoint on a dataset's test split (a schema is read with the checkpoint's feature map).")

    @Option(help: ArgumentHelp("Checkpoint directory (from `funnel train`).", valueName: "dir"))
    var checkpoint: String

    @OptionGroup var data: DataOptions

    @Option(help: "Which split: test, validation or train.")
    var split: SplitRole = .test

    func run() throws {
        let trained = try TrainedModel(contentsOf: URL(fileURLWithPath: checkpoint))
        guard let specification = try data.specification() else { throw ValidationError("give --data or --synthetic") }
        let table = try trained.table(split, of: specification)
        let result = try trained.evaluate(on: table)
        print("\(trained.metadata.model) on \(split.rawValue) (\(table.rowCount) rows):\n" + result.report.markdownTable())
    }
}

/// `funnel predict`: raw CSV rows in, per-task scores out.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score raw CSV rows with a checkpoint: one column per task (probabilities; values on the label scale).",
        discussion: "Rows are encoded with the checkpoint's feature map (label columns may be absent); a model trained on "
            + "--synthetic data reads the CSV `funnel synth … --csv` writes.")

    @Option(help: ArgumentHelp("Checkpoint directory.", valueName: "dir"))
    var checkpoint: String

    @Option(help: ArgumentHelp("CSV rows to score.", valueName: "file"))
    var input: String

    @Option(help: ArgumentHelp("Scores CSV to write.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Input columns to copy into the output first (e.g. an id), comma-separated.", valueName: "list"))
    var keep: String?

    @Option(help: "Rows per forward pass.")
    var batchSize = 8192

    @Flag(help: "Replace an existing --output file (never the input).")
    var overwrite = false

    func run() throws {
        let inputURL = URL(fileURLWithPath: input), outputURL = URL(fileURLWithPath: output)
        try RangeCheck.atLeast(1, batchSize, "--batch-size")
        try OutputGuard.checkFile(outputURL, overwrite: overwrite, inputs: [inputURL])
        let trained = try TrainedModel(contentsOf: URL(fileURLWithPath: checkpoint))
        let rows = try trained.score(csv: inputURL, to: outputURL, batchSize: batchSize,
                                     passThrough: keep.map { $0.split(separator: ",").map(String.init) } ?? [], overwrite: overwrite)
        printError("scored \(rows) rows → \(output) (\(trained.tasks.map(\.name).joined(separator: ", ")))")
    }
}

extension SplitRole: ExpressibleByArgument {}

/// Parses a JSON option value.
func parseJSON(_ text: String, option: String) throws -> JSONValue {
    do { return try JSONValue(data: Data(text.utf8)) } catch { throw ValidationError("\(option): not JSON: \(text)") }
}
