import FunnelCore

/// PCGrad, gradient surgery (Yu et al.; losses-and-balancing.md §7.4), on the shared parameters only:
/// ```
/// g_t = ∇_θs (λ_t·L_t), flattened over all shared tensors
/// ĝ_t = g_t; for s ≠ t in a random order: if ⟨ĝ_t, g_s⟩ < 0: ĝ_t ← ĝ_t − ⟨ĝ_t, g_s⟩/‖g_s‖² · g_s
/// G_shared = Σ_t ĝ_t   (or the mean with `.mean`)
/// ```
/// Projections are onto the original g_s; a g_s with ‖g_s‖² < 1e-20 is skipped. Task-specific parameters get the
/// ordinary gradient of Σ_t λ_t·L_t, and the gradient of R is added to everything afterwards, unprojected. Empty
/// tasks have no gradient and take no part. The random order draws one permutation per task per step from a
/// seeded generator (`order: .fixed` uses task index order). Cost: one backward pass per task.
public final class PCGrad: LossBalancer {
    public enum Reduction: String, Codable, Sendable { case sum, mean }
    public enum Order: String, Codable, Sendable { case random, fixed }

    /// λ_t.
    public let weights: [Float]
    public let reduction: Reduction
    public let order: Order
    /// The generator of the projection orders (its state is part of a resumable checkpoint).
    public var generator: SeededGenerator

    public init(weights: [Float], reduction: Reduction = .sum, order: Order = .random, seed: UInt64 = 0) {
        self.weights = weights
        self.reduction = reduction
        self.order = order
        self.generator = SeededGenerator(seed: seed)
    }

    public var trainableParameters: [Parameter] { [] }

    /// `generator`: the order generator's state words.
    public var state: BalancerState { BalancerState(words: ["generator": generator.state]) }

    public func restore(_ state: BalancerState) throws {
        guard let words = state.words["generator"] else { throw BalancerStateError.missing("generator") }
        guard words.count == 4 else { throw BalancerStateError.wrongCount("generator", expected: 4, found: words.count) }
        generator = SeededGenerator(state: words)
    }

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        precondition(input.taskCount == weights.count, "\(input.taskCount) losses for \(weights.count) weights")
        input.zeroGradients()
        let perTask = input.sharedGradientsPerTask(seeds: weights)
        let present = perTask.indices.filter { perTask[$0] != nil }
        var projections = [Float](repeating: 0, count: weights.count)
        if !present.isEmpty {
            let original = perTask.map { $0 }
            let squaredNorms = perTask.map { $0.map { $0.dot($0) } ?? 0 }
            var combined: GradientSet?
            for t in present {
                var projected = original[t]!
                var others = present.filter { $0 != t }
                if order == .random { others.shuffle(using: &generator) }
                for s in others where squaredNorms[s] >= 1e-20 {
                    let inner = projected.dot(original[s]!)
                    guard inner < 0 else { continue }
                    projected.add(original[s]!, scaledBy: Float(-inner / squaredNorms[s]))
                    projections[t] += 1
                }
                if combined == nil { combined = projected } else { combined!.add(projected) }
            }
            if reduction == .mean { combined!.scale(by: 1 / Float(present.count)) }
            combined!.accumulate()
        }
        input.accumulateAuxiliaryGradient()
        return BalancingRecord(losses: input.lossValues,
                               weights: weights.enumerated().map { input.emptyTasks[$0] ? 0 : $1 },
                               details: ["projections": projections])
    }
}
