import ArgumentParser
import Foundation
import FunnelData
import FunnelModels
import FunnelTrain

/// Where a command's data comes from: a dataset schema or a built-in synthetic generator.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A dataset schema (recipes/*.yaml, or the .yaml `funnel synth … --csv` writes).", valueName: "schema"))
    var data: String?

    @Option(help: "Directory the schema's file names resolve against (default: the schema's folder).")
    var dataDir: String?

    @Option(help: ArgumentHelp("Built-in synthetic data instead: funnel, correlated or dephn.", valueName: "generator"))
    var synthetic: SyntheticRecipe.Generator?

    @Option(help: "Synthetic: rows in all, split 80/10/10 (default: the preset's; correlated 10,000).")
    var rows: Int?

    @Option(help: "Synthetic: seed of the generated data (not of the models; see --seeds).")
    var dataSeed: UInt64 = 0

    @Option(help: "Synthetic funnel: preset default (CTR 0.05, CVR 0.10) or smoke (0.30, 0.30).")
    var preset: String?

    @Option(help: "Synthetic funnel/dephn: strength of the field-0 × field-1 interaction.")
    var cross: Double?

    @Option(help: "Synthetic funnel: loss of the amount task, ziln (default), mse or huber.")
    var amountLoss: String?

    @OptionGroup var idFields: IdFieldOptions

    @Option(help: "Synthetic correlated: cosine between the two task weight vectors.")
    var cosine: Double?

    @Option(help: ArgumentHelp("Synthetic correlated: binary labels with this positive rate (default: regression labels).", valueName: "rate"))
    var binary: Double?

    @Flag(help: "Synthetic correlated, binary: nest the labels (task1 ← task1 · task0).")
    var nested = false

    @Option(help: "Synthetic dephn: the second label, related or unrelated.")
    var pair: DEPHNPairDataset.Pair?

    /// The data the flags name, or nil when they name none.
    func specification() throws -> DataSpecification? {
        switch (data, synthetic) {
        case (nil, nil): return nil
        case let (schema?, nil): return DataSpecification(schema: schema, dataDirectory: dataDir)
        case let (nil, generator?):
            return DataSpecification(synthetic: SyntheticRecipe(generator: generator, rows: rows, seed: dataSeed, preset: preset, cross: cross,
                                                                cosine: cosine, binaryRate: binary, nested: nested ? true : nil, pair: pair,
                                                                amountLoss: amountLoss, idFields: idFields.configuration))
        default: throw ValidationError("give --data or --synthetic, not both")
        }
    }
}

extension SyntheticRecipe.Generator: ExpressibleByArgument {}
extension DEPHNPairDataset.Pair: ExpressibleByArgument {}

/// Options of the training settings shared by `compare` and `train`.
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A run file (YAML/JSON: data, models, training, seeds, output); flags override it.", valueName: "run.yaml"))
    var config: String?

    @Option(help: "Maximum epochs (early stopping on the validation split may stop sooner).")
    var epochs: Int?

    @Option(help: "Rows per training step.")
    var batchSize: Int?

    @Option(help: "Learning rate.")
    var lr: Float?

    @Option(help: ArgumentHelp("Early-stopping monitor on validation: mean(auc), ctr.auc, amount.loss, 0.5*ctr.auc + 0.5*cvr.auc, …",
                               valueName: "expr"))
    var monitor: String?

    @Option(help: "Evaluations without improvement before stopping.")
    var patience: Int?

    @Option(help: "Kernel threads.")
    var threads: Int?

    @Flag(help: "No per-step progress on standard error.")
    var quiet = false

    /// The run file (or an empty run) with `overrides` and these flags applied.
    func runConfiguration(_ overrides: RunOverrides, data: DataOptions) throws -> (run: RunConfiguration, base: URL?) {
        var overrides = overrides
        overrides.data = try data.specification()
        overrides.epochs = epochs
        overrides.batchSize = batchSize
        overrides.learningRate = lr
        overrides.monitor = monitor
        overrides.patience = patience
        overrides.threads = threads
        let url = config.map { URL(fileURLWithPath: $0) }
        let file = try url.map(RunConfiguration.load(from:)) ?? RunConfiguration()
        // Data named on the command line resolves against the current directory, data in the run file against its folder.
        let base = overrides.data == nil ? url?.deletingLastPathComponent() : nil
        return (try file.applying(overrides), base)
    }
}

/// `key=value` split at the first `=`.
func keyValue(_ text: String, option: String) throws -> (String, String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("\(option) expects label=value, got '\(text)'")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// The overrides of `--models` (comma-separated names or label=name) and `--model-config` (label=JSON, repeatable).
func modelOverrides(models: String?, modelConfig: [String]) throws -> RunOverrides {
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
    return overrides
}

/// Seeds from a comma-separated list (`--seeds`).
func parseSeeds(_ list: String) throws -> [UInt64] {
    try list.split(separator: ",").map { text in
        guard let seed = UInt64(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds: '\(text)' is not a seed") }
        return seed
    }
}

/// Writes `text` to standard error.
func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
