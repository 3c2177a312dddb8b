import FunnelCore
import FunnelData
import FunnelNN

/// What a model outputs for one task; fixes both the loss form and how the prediction is read.
public enum TaskHead {
    /// A logit `[B]`: probability σ(z); loss BCE on logits.
    case logit(Variable)
    /// A chain of conditional-step logits (ESMM): probability Π_s σ(z_s) over entire space; loss BCE on chained
    /// probabilities, computed in log space (losses-and-balancing.md §2.3). Each `[B]`.
    case chain([Variable])
    /// A probability `[B]` that is not a single sigmoid (kept for literal-output options); loss BCE on
    /// probabilities with PyTorch's −100 clamp.
    case probability(Variable)
    /// A continuous prediction `[B]` on the transformed target scale; loss MSE or Huber.
    case value(Variable)
    /// Zero-inflated lognormal logits `[B, 3]` = (a, μ, s_raw); loss ZILN; prediction p·exp(μ + σ²/2).
    case zeroInflatedLognormal(Variable)
}

/// Per-task outputs of one forward pass.
public struct ModelOutput {
    /// One head per task, in task order.
    public var heads: [TaskHead]
    /// Model-specific non-task loss terms R (AITM calibrator, ESCM² regularisers, L0 penalties), added to the
    /// combined task losses unscaled and unprojected; nil when the model has none.
    public var auxiliaryLoss: Variable?
    /// Extra named predictions for evaluation (e.g. ESMM's conditional `cvr` probability, `[B]`).
    public var extras: [String: Variable]

    public init(heads: [TaskHead], auxiliaryLoss: Variable? = nil, extras: [String: Variable] = [:]) {
        self.heads = heads
        self.auxiliaryLoss = auxiliaryLoss
        self.extras = extras
    }

    /// Convenience: one logit per task.
    public init(logits: [Variable]) { self.init(heads: logits.map(TaskHead.logit)) }
}

/// A multi-task model: built from a configuration, the feature layout and the tasks; maps a batch to one head
/// per task. Every model in Funnel has this shape, so trainers, benchmarks and the CLI never switch on names.
public protocol MultiTaskModel: Module {
    associatedtype Configuration: Codable

    /// The uniform construction API.
    init(configuration: Configuration, features: FeatureLayout, tasks: [TaskSpec], using rng: inout SeededGenerator)

    /// The forward pass. In training mode a model may read `batch.labels` to form its auxiliary loss.
    func callAsFunction(_ batch: Batch, _ context: ForwardContext) -> ModelOutput

    /// Parameters used by more than one task (what gradient-balancing methods act on).
    var sharedParameters: [Parameter] { get }

    /// The type's traits (default: none).
    static var traits: ModelTraits { get }

    /// Called before every training step by trainers, for a forward pass that depends on how far training has
    /// got (HTLNet's temperature annealing); evaluation uses whatever state the last call left. Default: nothing.
    /// - Parameters:
    ///   - step: optimiser steps taken so far (0 before the first step).
    ///   - epoch: 0-based epoch the coming step belongs to.
    func trainingProgress(step: Int, epoch: Int)

    /// A Markdown report of what the model learned, over the rows of `batch` (DEPHN's gates, APEM's pattern
    /// selection); nil (the default) for a model that offers none.
    func inspectionReport(on batch: Batch) -> String?

    /// What the model learned as heat maps over the rows of `batch` (gate weights per task × expert, APEM's
    /// selector, HTLNet's fusion attention), for the run report; evaluation mode, no tape, the model unchanged.
    /// Empty (the default) for a model that offers none. Each model's lives in `Inspection/<Model>+Heatmaps.swift`.
    func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap]

    /// This model's hyperparameter search space, given the generic one (`derived`: the dimensions
    /// `SearchSpace.derived` finds in its default configuration, plus the training ones). Default: `derived`.
    static func searchSpace(adjusting derived: SearchSpace) -> SearchSpace
}

extension MultiTaskModel {
    public static var traits: ModelTraits { ModelTraits() }
    public func trainingProgress(step: Int, epoch: Int) {}
    public func inspectionReport(on batch: Batch) -> String? { nil }
    public func inspectionHeatmaps(on batch: Batch) -> [InspectionHeatmap] { [] }
    public static func searchSpace(adjusting derived: SearchSpace) -> SearchSpace { derived }
}

extension TaskHead {
    /// The logit of a `.logit` head (a programming error for other heads).
    public var logit: Variable {
        guard case .logit(let z) = self else { preconditionFailure("head \(self) is not a single logit") }
        return z
    }
}
