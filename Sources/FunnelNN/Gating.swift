import FunnelCore

/// A softmax gate: `softmax(x · Wᵀ + b)`, `[batch, in]` → `[batch, experts]` mixture weights.
public final class SoftmaxGate: Module {
    public let linear: Linear

    public init(inputWidth: Int, experts: Int, name: String, using rng: inout SeededGenerator) {
        linear = Linear(inputWidth, experts, name: name, using: &rng)
    }

    public var children: [any Module] { linear }

    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        linear(x, context).softmax(alongAxis: -1)
    }
}

/// Mixes expert outputs with per-row weights: `out[b, :] = Σ_i weights[b, i] · experts[i][b, :]`.
/// `weights` `[batch, K]`, each expert `[batch, h]` → `[batch, h]` (a batched `[1, K] × [K, h]` product).
public func mixture(weights: Variable, experts: [Variable]) -> Variable {
    let batch = weights.shape[0], width = experts[0].shape[1]
    let stacked = Variable.concat(experts.map { $0.reshaped([batch, 1, width]) }, alongAxis: 1)
    return Variable.batchedMatmul(weights.reshaped([batch, 1, experts.count]), stacked).reshaped([batch, width])
}
