import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// A trained registry model with everything needed to use it: its tasks, the target transforms to invert, and the
/// way raw rows become model input (the fitted feature map, or the synthetic generator's raw columns). Saved as a
/// `Checkpoint` directory and rebuilt from one through the model registry.
///
/// ```swift
/// let trained = try TrainedModel(contentsOf: URL(fileURLWithPath: "runs/mmoe"))
/// let scores = trained.predictions(on: table)                  // [task][row], probabilities / original-scale values
/// try trained.score(csv: input, to: output)                     // raw CSV in, per-task scores out
/// ```
public final class TrainedModel {
    public let model: AnyMultiTaskModel
    public let metadata: CheckpointMetadata
    /// The fitted feature map (models trained on schema data).
    public let featureMap: FeatureMap?

    public var tasks: [TaskSpec] { metadata.tasks }

    public init(model: AnyMultiTaskModel, metadata: CheckpointMetadata, featureMap: FeatureMap?) {
        self.model = model
        self.metadata = metadata
        self.featureMap = featureMap
    }

    /// A trained model with its metadata: registry name and full configuration, layout, tasks, target scalings,
    /// the feature map (inline) or synthetic recipe of `data`, balancing, `metrics`, best epoch and steps.
    public convenience init(model: AnyMultiTaskModel, data: ExperimentData, targetScalings: [TargetScaling], balancing: BalancingMethod,
                            metrics: [String: Double], epoch: Int, step: Int) throws {
        var synthetic: SyntheticRecipe?
        if case .synthetic(let recipe) = data.source { synthetic = recipe }
        let metadata = CheckpointMetadata(model: model.name, configuration: model.configuration, features: data.layout, tasks: data.tasks,
                                          targetScalings: targetScalings, featureMap: try data.featureMap.map { try JSONValue(encoding: $0) },
                                          balancing: balancing, metrics: metrics, epoch: epoch, step: step, synthetic: synthetic)
        self.init(model: model, metadata: metadata, featureMap: data.featureMap)
    }

    /// Reads the checkpoint at `directory` and rebuilds its model through `registry` with the saved configuration.
    public convenience init(contentsOf directory: URL, registry: ModelRegistry = .standard) throws {
        let checkpoint = try Checkpoint.read(from: directory)
        let metadata = checkpoint.metadata
        var rng = SeededGenerator(seed: 0)
        let model = try registry.makeModel(named: metadata.model, configuration: metadata.configuration, features: metadata.features,
                                           tasks: metadata.tasks, using: &rng)
        try checkpoint.restore(into: model)
        var featureMap: FeatureMap?
        if let inline = metadata.featureMap {
            featureMap = try inline.decode(as: FeatureMap.self)
        } else if let path = metadata.featureMapPath {
            featureMap = try FeatureMap.load(from: path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path))
        }
        self.init(model: model, metadata: metadata, featureMap: featureMap)
    }

    /// Writes the model's weights and metadata as a checkpoint directory (atomically; no optimizer state; what it
    /// may replace: `Checkpoint.checkDestination`).
    public func write(to directory: URL, overwrite: Bool = false) throws {
        try Checkpoint(model: model, metadata: metadata).write(to: directory, overwrite: overwrite)
    }

    /// Per-task predictions for `batch`, `[task][row]`: probabilities for binary tasks, values on the original
    /// label scale for continuous ones (`predictions(of:scalings:)`). Inference mode, no tape.
    public func predictions(_ batch: Batch) -> [[Float]] {
        FunnelTrain.predictions(of: model(batch, .inference()), scalings: metadata.targetScalings).map(\.scalars)
    }

    /// `predictions(_:)` over every row of `source`, in row order, `batchSize` rows per forward pass.
    public func predictions(on source: any BatchSource, batchSize: Int = 8192) -> [[Float]] {
        var all = [[Float]](repeating: [], count: tasks.count)
        for rows in source.batches(size: batchSize) {
            for (t, values) in predictions(source.batch(rows: rows)).enumerated() { all[t] += values }
        }
        return all
    }

    /// Metrics of the model on `data` (labels needed), with the saved target transforms.
    public func evaluate(on data: any BatchSource, batchSize: Int = 8192) throws -> EvaluationResult {
        try Evaluator(batchSize: batchSize, targetScalings: metadata.targetScalings).evaluate(model, on: data, tasks: tasks)
    }

    /// How raw CSV rows become model input for this model.
    public func rowEncoder() throws -> RawRowEncoder {
        if let featureMap { return .featureMap(featureMap) }
        if let recipe = metadata.synthetic { return .synthetic(recipe, layout: metadata.features, taskCount: tasks.count) }
        throw CheckpointError.malformed(file: Checkpoint.metadataFile, detail: "no feature map and no synthetic recipe: raw rows cannot be encoded")
    }

    /// Scores the raw CSV rows of `input` and writes `output` as CSV: the `passThrough` columns, then one column
    /// per task (named by the task) with its prediction in shortest round-trip form. Returns the rows scored.
    ///
    /// The output goes through an `OutputFile`: checked before anything is read (an existing file is replaced only
    /// with `overwrite`, never when it is the input), written to a temporary file and renamed at the end, so on any
    /// error — a bad row, or a non-finite prediction (`TrainingError.nonFinitePrediction`) — the old file is intact.
    @discardableResult
    public func score(csv input: URL, to output: URL, batchSize: Int = 8192, passThrough: [String] = [],
                      overwrite: Bool = false) throws -> Int {
        try RangeCheck.atLeast(1, batchSize, "batch size")
        let handle = try OutputFile(output, overwrite: overwrite, inputs: [input])
        try handle.write(Data(((passThrough + tasks.map(\.name)).joined(separator: ",") + "\n").utf8))
        var count = 0
        try rowEncoder().forEachBatch(csv: input, batchSize: batchSize, passThrough: passThrough) { batch, kept in
            let scores = predictions(batch)
            for (t, values) in scores.enumerated() {
                if let row = values.firstIndex(where: { !$0.isFinite }) {
                    throw TrainingError.nonFinitePrediction(task: tasks[t].name, row: count + row + 1, value: values[row])
                }
            }
            var text = ""
            for row in 0..<batch.count {
                text += (kept[row].map(csvField) + scores.map { String($0[row]) }).joined(separator: ",") + "\n"
            }
            try handle.write(Data(text.utf8))
            count += batch.count
        }
        try handle.commit()
        return count
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

extension TrainedModel {
    /// The `role` split of the data `specification` names, as this model sees it: a schema's files read and
    /// encoded with the saved feature map (no refitting; `dataDir`, else the schema's folder, holds the files), or
    /// the synthetic recipe's rows. Throws when the data's layout or tasks differ from the model's.
    public func table(_ role: SplitRole, of specification: DataSpecification, relativeTo base: URL? = nil) throws -> EncodedTable {
        let table: EncodedTable
        if let recipe = specification.synthetic {
            let data = try recipe.makeData()
            table = [SplitRole.train: data.train, .validation: data.validation, .test: data.test][role]!
        } else if let schema = specification.schema {
            guard let featureMap else {
                throw CheckpointError.malformed(file: Checkpoint.metadataFile, detail: "the model was trained on synthetic data and has no feature map")
            }
            let resolve = { (path: String) in path.hasPrefix("/") || base == nil ? URL(fileURLWithPath: path) : base!.appendingPathComponent(path) }
            let directory = specification.dataDirectory.map(resolve) ?? resolve(schema).deletingLastPathComponent()
            table = try featureMap.encode(role, directory: directory)
        } else {
            throw RunConfigurationError.invalid("no data")
        }
        guard table.layout == metadata.features, table.tasks.map(\.name) == tasks.map(\.name) else {
            throw CheckpointError.malformed(file: Checkpoint.metadataFile,
                                            detail: "the data's features or tasks (\(table.tasks.map(\.name))) differ from the model's (\(tasks.map(\.name)))")
        }
        return table
    }
}
