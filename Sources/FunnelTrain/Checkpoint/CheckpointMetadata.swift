import FunnelCore
import FunnelData
import FunnelModels

/// Everything in a checkpoint besides tensors, stored as `checkpoint.json` (see `Checkpoint`): enough to rebuild
/// the model, map raw features, read predictions on the original scale, and resume training where it stopped.
public struct CheckpointMetadata: Codable, Equatable, Sendable {
    /// Version of this metadata layout: 2 adds `digests`; 1 (no digests) still loads, with a warning.
    public var formatVersion = CheckpointMetadata.currentFormatVersion
    /// The Funnel version that wrote the checkpoint.
    public var funnelVersion = CheckpointMetadata.currentFunnelVersion
    /// The model's name as the model registry knows it (`MMoE`, `PLE`, …).
    public var model: String
    /// The model's `Configuration`, as JSON (`JSONValue(encoding:)`).
    public var configuration: JSONValue
    /// The feature layout the model was built for.
    public var features: FeatureLayout
    public var tasks: [TaskSpec]
    /// One fitted target transform per task (inverted on predictions before metrics).
    public var targetScalings: [TargetScaling]
    /// The fitted feature map (vocabularies, numeric transforms) inline, or…
    public var featureMap: JSONValue?
    /// …the path of its file, relative to the checkpoint directory or absolute.
    public var featureMapPath: String?
    /// The built-in synthetic data the model was trained on (when it was): how to read that generator's raw CSV
    /// for scoring, since such data has no fitted feature map.
    public var synthetic: SyntheticRecipe?
    /// How task losses were combined.
    public var balancing: BalancingMethod?
    /// What the balancer had learned (`LossBalancer.state`), to resume it.
    public var balancerState: BalancerState?
    /// Metrics at the time of saving, by name (e.g. `validation.ctr.auc`).
    public var metrics: [String: Double]
    /// Completed epochs.
    public var epoch: Int
    /// Optimizer updates applied so far.
    public var step: Int
    /// State words of the training generator (`SeededGenerator.state`), to resume shuffling and dropout exactly.
    public var generatorState: [UInt64]?

    /// The metadata layout written into new checkpoints (the newest this Funnel reads).
    public static let currentFormatVersion = 2

    /// SHA-256 (hex) of each tensor file of the checkpoint by file name, written by `Checkpoint` and verified when
    /// it is read; nil in checkpoints of format 1.
    public var digests: [String: String]?

    /// The version written into new checkpoints.
    public static let currentFunnelVersion = "0.1.0"

    public init(model: String, configuration: JSONValue, features: FeatureLayout, tasks: [TaskSpec],
                targetScalings: [TargetScaling]? = nil, featureMap: JSONValue? = nil, featureMapPath: String? = nil,
                balancing: BalancingMethod? = nil, balancerState: BalancerState? = nil, metrics: [String: Double] = [:], epoch: Int = 0, step: Int = 0,
                generatorState: [UInt64]? = nil, synthetic: SyntheticRecipe? = nil) {
        self.model = model
        self.configuration = configuration
        self.features = features
        self.tasks = tasks
        self.targetScalings = targetScalings ?? Array(repeating: .identity, count: tasks.count)
        self.featureMap = featureMap
        self.featureMapPath = featureMapPath
        self.balancing = balancing
        self.balancerState = balancerState
        self.metrics = metrics
        self.epoch = epoch
        self.step = step
        self.generatorState = generatorState
        self.synthetic = synthetic
    }
}
