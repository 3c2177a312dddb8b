import FunnelCore
import FunnelData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fixed task weights (losses-and-balancing.md §7.1): `L_total = Σ_t λ_t(e)·L_t + R` with one backward pass.
///
/// `λ_t(e) = λ_t · γ_t^e` at epoch e (the PLE schedule; γ_t = 1 by default). With `normalizeWeights`, every
/// weight is divided by Σ_t λ_t (the configured weights at epoch 0, so that the schedule keeps its meaning), which
/// with equal weights is MTReclib's mean over tasks.
public final class FixedWeights: LossBalancer {
    /// λ_t at epoch 0.
    public let weights: [Float]
    /// γ_t, the per-epoch decay factors.
    public let decay: [Float]
    public let normalizeWeights: Bool

    public init(weights: [Float], normalizeWeights: Bool = false, decay: [Float]? = nil) {
        precondition(weights.allSatisfy { $0 >= 0 } && weights.contains { $0 > 0 }, "task weights must be ≥ 0, not all 0")
        precondition(decay.map { $0.count == weights.count && $0.allSatisfy { $0 > 0 } } ?? true, "one γ_t > 0 per task")
        self.weights = weights
        self.decay = decay ?? Array(repeating: 1, count: weights.count)
        self.normalizeWeights = normalizeWeights
    }

    /// λ_t from each task's `weight`.
    public convenience init(tasks: [TaskSpec], normalizeWeights: Bool = false, decay: [Float]? = nil) {
        self.init(weights: tasks.map(\.weight), normalizeWeights: normalizeWeights, decay: decay)
    }

    public var trainableParameters: [Parameter] { [] }

    /// Fixed weights learn nothing: the state is empty.
    public var state: BalancerState { BalancerState() }

    public func restore(_ state: BalancerState) throws {}

    /// λ_t(e), normalised when asked.
    public func weights(atEpoch epoch: Int) -> [Float] {
        let total = normalizeWeights ? weights.reduce(0, +) : 1
        return zip(weights, decay).map { $0 * powf($1, Float(epoch)) / total }
    }

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        precondition(input.taskCount == weights.count, "\(input.taskCount) losses for \(weights.count) weights")
        input.zeroGradients()
        let lambda = weights(atEpoch: input.epoch)
        if let total = input.weightedTotal(lambda) { input.tape.backward(total) }
        return BalancingRecord(losses: input.lossValues,
                               weights: lambda.enumerated().map { input.emptyTasks[$0] ? 0 : $1 })
    }
}
