import FunnelCore

/// MetaBalance (He et al.; losses-and-balancing.md §7.5): the auxiliary tasks' gradient magnitudes are pulled
/// toward the target task's, per shared parameter tensor P, using moving averages of the norms:
/// ```
/// n_t(P) ← β·n_t(P) + (1 − β)·‖∇_P (λ_t·L_t)‖          (n starts at 0)
/// g̃_t = r·(n_target(P)/n_t(P))·g_t + (1 − r)·g_t       (target task unchanged; g̃_t = g_t = 0 if n_t(P) = 0)
/// G(P) = Σ_t g̃_t
/// ```
/// `.reduceOnly` rescales only when n_t(P) > n_target(P), `.enlargeOnly` only when n_t(P) < n_target(P).
/// Task-specific parameters get their ordinary gradient; R's gradient is added afterwards. A task that is empty
/// in the batch neither contributes nor updates its averages. Defaults: r = 0.7, β = 0.9, the target is the last
/// task (the end of the funnel).
public final class MetaBalance: LossBalancer {
    public enum Strategy: String, Codable, Sendable { case both, reduceOnly, enlargeOnly }

    /// λ_t.
    public let weights: [Float]
    public let targetTask: Int
    /// r, the relax factor.
    public let relaxFactor: Float
    /// β, the moving-average factor.
    public let beta: Double
    public let strategy: Strategy
    /// n_t(P) per shared tensor name: one moving average per task.
    public private(set) var averageNorms: [String: [Double]] = [:]

    public init(weights: [Float], targetTask: Int? = nil, relaxFactor: Float = 0.7, beta: Double = 0.9,
                strategy: Strategy = .both) {
        let target = targetTask ?? weights.count - 1
        precondition(weights.indices.contains(target), "target task \(target) of \(weights.count)")
        self.weights = weights
        self.targetTask = target
        self.relaxFactor = relaxFactor
        self.beta = beta
        self.strategy = strategy
    }

    public var trainableParameters: [Parameter] { [] }

    /// `averageNorm.<tensor name>`: n_t(P) per task.
    public var state: BalancerState {
        BalancerState(values: Dictionary(uniqueKeysWithValues: averageNorms.map { ("averageNorm.\($0.key)", $0.value) }))
    }

    public func restore(_ state: BalancerState) throws {
        var norms: [String: [Double]] = [:]
        for (key, values) in state.values where key.hasPrefix("averageNorm.") {
            guard values.count == weights.count else {
                throw BalancerStateError.wrongCount(key, expected: weights.count, found: values.count)
            }
            norms[String(key.dropFirst("averageNorm.".count))] = values
        }
        averageNorms = norms
    }

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        precondition(input.taskCount == weights.count, "\(input.taskCount) losses for \(weights.count) weights")
        input.zeroGradients()
        var perTask = input.sharedGradientsPerTask(seeds: weights)
        let taskCount = weights.count
        var meanFactor = [Double](repeating: 0, count: taskCount)
        if let first = perTask.compactMap({ $0 }).first {
            for (i, parameter) in first.parameters.enumerated() {
                var norms = averageNorms[parameter.name] ?? Array(repeating: 0, count: taskCount)
                for t in 0..<taskCount {
                    guard let g = perTask[t] else { continue }
                    norms[t] = beta * norms[t] + (1 - beta) * g.norm(tensor: i)
                }
                averageNorms[parameter.name] = norms
                for t in 0..<taskCount where t != targetTask && perTask[t] != nil {
                    let factor = scaleFactor(own: norms[t], target: norms[targetTask])
                    meanFactor[t] += factor / Double(first.parameters.count)
                    if factor != 1 { perTask[t]!.scale(tensor: i, by: Float(factor)) }
                }
            }
            var combined = GradientSet.zeros(like: first.parameters)
            for g in perTask { if let g { combined.add(g) } }
            combined.accumulate()
        }
        meanFactor[targetTask] = perTask[targetTask] == nil ? 0 : 1
        input.accumulateAuxiliaryGradient()
        return BalancingRecord(losses: input.lossValues,
                               weights: weights.enumerated().map { input.emptyTasks[$0] ? 0 : $1 },
                               details: ["meanScale": meanFactor.map(Float.init)])
    }

    /// The factor multiplying an auxiliary task's gradient on one tensor.
    private func scaleFactor(own: Double, target: Double) -> Double {
        guard own > 0 else { return 1 }
        switch strategy {
        case .reduceOnly where own <= target, .enlargeOnly where own >= target: return 1
        default: return Double(relaxFactor) * target / own + Double(1 - relaxFactor)
        }
    }
}
