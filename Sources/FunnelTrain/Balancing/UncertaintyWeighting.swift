import FunnelCore
import FunnelData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Uncertainty weighting (Kendall, Gal and Cipolla; losses-and-balancing.md §7.2). One learnable s_t = log σ_t²
/// per task, initialised to 0:
/// ```
/// .kendall:    regression ½·exp(−s_t)·L_t + ½·s_t,   classification exp(−s_t)·L_t + ½·s_t
/// .simplified: exp(−s_t)·L_t + s_t for every task
/// L_total = Σ_t term_t + R
/// ```
/// The total is usually negative at the optimum; that is correct. s_t is not clamped. The s_t are
/// `trainableParameters` (named `uncertainty.log_variance.<t>`, scalars) for the trainer to optimise **without
/// weight decay**. Binary tasks use the classification form, continuous tasks the regression form. The fixed
/// task weights λ_t are not used: the learned weights replace them. Empty tasks contribute no term.
public final class UncertaintyWeighting: LossBalancer {
    public enum Form: String, Codable, Sendable { case kendall, simplified }

    public let form: Form
    /// Per task: the regression (Gaussian) form rather than the classification one.
    public let isRegression: [Bool]
    /// s_t, one scalar parameter per task.
    public let logVariances: [Parameter]

    public init(isRegression: [Bool], form: Form = .kendall) {
        self.form = form
        self.isRegression = isRegression
        self.logVariances = isRegression.indices.map {
            Parameter(name: "uncertainty.log_variance.\($0)", value: Tensor(scalar: 0))
        }
    }

    public convenience init(tasks: [TaskSpec], form: Form = .kendall) {
        self.init(isRegression: tasks.map { $0.kind == .continuous }, form: form)
    }

    public var trainableParameters: [Parameter] { logVariances }

    /// `logVariance`: s_t.
    public var state: BalancerState { BalancerState(values: ["logVariance": logVariances.map { Double($0.value.scalar) }]) }

    public func restore(_ state: BalancerState) throws {
        let s = try state.values("logVariance", count: logVariances.count)
        for (parameter, value) in zip(logVariances, s) { parameter.value = Tensor(scalar: Float(value)) }
    }

    /// (multiplier c_t of exp(−s_t)·L_t, multiplier of s_t) for task t.
    private func coefficients(_ t: Int) -> (Float, Float) {
        switch form {
        case .kendall: return (isRegression[t] ? 0.5 : 1, 0.5)
        case .simplified: return (1, 1)
        }
    }

    public func backward(_ input: BalancingInput) -> BalancingRecord {
        precondition(input.taskCount == logVariances.count, "\(input.taskCount) losses for \(logVariances.count) tasks")
        input.zeroGradients(also: logVariances)
        var terms: [Variable] = input.auxiliaryLoss.map { [$0] } ?? []
        for t in input.losses.indices where !input.emptyTasks[t] {
            let s = input.tape.watch(logVariances[t])
            let (lossFactor, regulariser) = coefficients(t)
            terms.append((-s).exp() * input.losses[t] * lossFactor + s * regulariser)
        }
        if let first = terms.first { input.tape.backward(terms.dropFirst().reduce(first, +)) }
        let s = logVariances.map(\.value.scalar)
        let weights = s.indices.map { input.emptyTasks[$0] ? 0 : coefficients($0).0 * expf(-s[$0]) }
        return BalancingRecord(losses: input.lossValues, weights: weights, details: ["logVariance": s])
    }

    /// The value of task t's term at the current s_t for a loss value L (for logs and tests).
    public func term(task t: Int, loss: Float) -> Float {
        let (lossFactor, regulariser) = coefficients(t)
        let s = logVariances[t].value.scalar
        return lossFactor * expf(-s) * loss + regulariser * s
    }
}
