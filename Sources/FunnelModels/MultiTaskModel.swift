import FunnelCore
import FunnelData
import FunnelNN

/// Per-task outputs of one forward pass.
public struct ModelOutput {
    /// One `[batch]` variable per task, in task order: a logit for binary tasks, the prediction for continuous ones.
    public var heads: [Variable]

    public init(heads: [Variable]) { self.heads = heads }
}

/// A multi-task model: built from a configuration, the feature layout and the tasks; maps a batch to one head
/// per task. Every model in Funnel has this shape, so trainers, benchmarks and the CLI never switch on names.
public protocol MultiTaskModel: Module {
    associatedtype Configuration: Codable

    /// The uniform construction API.
    init(configuration: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator)

    /// The forward pass.
    func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput

    /// Parameters used by more than one task (what gradient-balancing methods act on).
    var sharedParameters: [Parameter] { get }
}
