import FunnelCore

/// HTLNet's optimisation regime (htlnet.md §5) as a loss balancer: per-task gradients of the shared parameters
/// from one tape, each binary task's gradient projected off the core task's when they conflict and rescaled
/// toward the core gradient's norm (`HTLNetGradientAdjustment`), then summed; task-specific parameters take
/// their ordinary gradients, and the auxiliary loss is added unadjusted. Usable with any model (the
/// "optimisation baselines on the same architecture" comparison runs PCGrad/MetaBalance the same way). Record
/// details per task: `magnitudeWeight` (w_t) and `conflict` (1 where G_t was projected off the core gradient).
public final class HTLNetBalancer: LossBalancer {
    public let adjustment: HTLNetGradientAdjustment
    /// Index of the core (continuous) task.
    public let coreTask: Int
    public let weights: [Float]

    public init(adjustment: HTLNetGradientAdjustment, coreTask: Int, weights: [Float]) {
        precondition(weights.indices.contains(coreTask), "core task \(coreTask) of \(weights.count) tasks")
        self.adjustment = adjustment
        self.coreTask = coreTask
        self.weights = weights
    }

    public var trainableParameters: [Parameter] { [] }
    public var state: BalancerState { BalancerState() }
    public func restore(_ state: BalancerState) throws {}

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        precondition(input.taskCount == weights.count, "\(input.taskCount) losses for \(weights.count) weights")
        input.zeroGradients()
        let perTask = input.sharedGradientsPerTask(seeds: weights)
        var magnitudes = [Float](repeating: 1, count: weights.count), conflicts = [Float](repeating: 0, count: weights.count)
        if let core = perTask[coreTask] {
            // Empty binary tasks contribute nothing: stand in zeros so the adjustment keeps task positions.
            let gradients = perTask.map { $0 ?? GradientSet.zeros(like: core.parameters) }
            let (combined, report) = adjustment.combine(gradients, coreTask: coreTask)
            combined.accumulate()
            magnitudes = report.magnitudeWeights.map(Float.init)
            conflicts = report.projected.map { $0 ? 1 : 0 }
        } else {
            for gradient in perTask.compactMap({ $0 }) { gradient.accumulate() }
        }
        input.accumulateAuxiliaryGradient()
        return BalancingRecord(losses: input.lossValues,
                               weights: weights.enumerated().map { input.emptyTasks[$0] ? 0 : $1 },
                               details: ["magnitudeWeight": magnitudes, "conflict": conflicts])
    }
}
