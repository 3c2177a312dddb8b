import FunnelCore

/// PyTorch `LayerNorm(width)` over the last axis: `y = γ ⊙ (x − μ_row) / √(σ²_row + ε) + β` with the biased
/// per-row variance; γ = 1, β = 0, ε = 1e-5. Parameters `<name>.weight` (γ), `<name>.bias` (β).
public final class LayerNorm: Module {
    public let scale: Parameter, shift: Parameter
    public let epsilon: Float

    public init(_ width: Int, name: String, epsilon: Float = 1e-5) {
        scale = Parameter(name: qualified(name, "weight"), value: Tensor(repeating: 1, shape: [width]))
        shift = Parameter(name: qualified(name, "bias"), value: Tensor(zeros: [width]))
        self.epsilon = epsilon
    }

    public var parameters: [Parameter] { [scale, shift] }

    /// `x` `[..., width]` → normalised rows, same shape.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        .layerNorm(x, scale: context.use(scale), shift: context.use(shift), epsilon: epsilon)
    }
}
