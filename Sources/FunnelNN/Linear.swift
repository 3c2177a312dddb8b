import FunnelCore

/// A fully connected layer, PyTorch layout: `y = x · Wᵀ + b`, `W` `[out, in]`, `b` `[out]`.
/// Parameters: `<name>.weight`, `<name>.bias`. Default initialisation as PyTorch's `nn.Linear`.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputWidth: Int, outputWidth: Int

    public init(
        _ inputWidth: Int, _ outputWidth: Int, name: String, bias hasBias: Bool = true,
        weightInitializer: Initializer = .linearDefault, using rng: inout SeededGenerator
    ) {
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        weight = Parameter(name: qualified(name, "weight"),
                           value: weightInitializer.make([outputWidth, inputWidth], fanIn: inputWidth, fanOut: outputWidth, using: &rng))
        let bound = 1 / Float(max(inputWidth, 1)).squareRoot()
        bias = hasBias ? Parameter(name: qualified(name, "bias"), value: .uniform([outputWidth], in: -bound...bound, using: &rng)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// `x` `[batch, in]` → `activation(x · Wᵀ + b)` `[batch, out]`, bias and activation fused into the GEMM.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext, activation: Activation = .identity) -> Variable {
        .linear(x, weight: context.use(weight), bias: bias.map { context.use($0) }, activation: activation)
    }
}
