import FunnelData

/// How task losses are combined, as configured (losses-and-balancing.md §7); `makeBalancer(tasks:runSeed:)` builds it.
/// Fixed weights λ_t come from each task's `weight` for every method that uses them.
public enum BalancingMethod: Codable, Equatable, Sendable {
    /// Σ λ_t(e)·L_t; `decay`: γ_t per task (nil = 1).
    case fixed(normalizeWeights: Bool, decay: [Float]?)
    /// Learned s_t = log σ_t² per task.
    case uncertainty(form: UncertaintyWeighting.Form)
    /// Learned w_t; `learningRate` of its Adam.
    case gradNorm(alpha: Float, learningRate: Float)
    /// Gradient surgery on the shared parameters; `seed` offsets the run seed for the random task order, so every
    /// run of a comparison shuffles differently and a rerun of the same run identically.
    case pcGrad(reduction: PCGrad.Reduction, order: PCGrad.Order, seed: UInt64)
    /// Auxiliary gradient magnitudes pulled toward the target task's (by name; nil = the last task).
    case metaBalance(relaxFactor: Float, beta: Double, strategy: MetaBalance.Strategy, targetTask: String?)
    /// HTLNet's projection and magnitude adjustment toward the core task (by name; nil = the last task).
    case htlnet(adjustment: HTLNetGradientAdjustment, coreTask: String?)

    /// The defaults of each method.
    public static let fixedWeights = BalancingMethod.fixed(normalizeWeights: false, decay: nil)
    public static let uncertaintyWeighting = BalancingMethod.uncertainty(form: .kendall)
    public static let gradNormDefault = BalancingMethod.gradNorm(alpha: 1.5, learningRate: 0.01)
    public static let pcGradDefault = BalancingMethod.pcGrad(reduction: .sum, order: .random, seed: 0)
    public static let metaBalanceDefault = BalancingMethod.metaBalance(relaxFactor: 0.7, beta: 0.9, strategy: .both, targetTask: nil)

    /// Whether the method needs one backward pass per task (§8).
    public var needsPerTaskGradients: Bool {
        switch self {
        case .fixed, .uncertainty: return false
        case .gradNorm, .pcGrad, .metaBalance, .htlnet: return true
        }
    }

    /// The balancer for `tasks` (task order = loss order) in the run seeded `runSeed`.
    public func makeBalancer(tasks: [TaskSpec], runSeed: UInt64 = 0) -> LossBalancer {
        let lambda = tasks.map(\.weight)
        switch self {
        case let .fixed(normalize, decay):
            return FixedWeights(weights: lambda, normalizeWeights: normalize, decay: decay)
        case let .uncertainty(form):
            return UncertaintyWeighting(tasks: tasks, form: form)
        case let .gradNorm(alpha, learningRate):
            return GradNorm(taskCount: tasks.count, alpha: alpha, weightOptimizer: Adam(learningRate: learningRate))
        case let .pcGrad(reduction, order, seed):
            return PCGrad(weights: lambda, reduction: reduction, order: order, seed: seed &+ runSeed)
        case let .metaBalance(relax, beta, strategy, target):
            return MetaBalance(weights: lambda, targetTask: target.map { Self.index(of: $0, in: tasks) }, relaxFactor: relax,
                               beta: beta, strategy: strategy)
        case let .htlnet(adjustment, core):
            return HTLNetBalancer(adjustment: adjustment, coreTask: core.map { Self.index(of: $0, in: tasks) } ?? tasks.count - 1,
                                  weights: lambda)
        }
    }

    private static func index(of name: String, in tasks: [TaskSpec]) -> Int {
        guard let index = tasks.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("balancing names task '\(name)', which is not one of \(tasks.map(\.name))")
        }
        return index
    }
}
