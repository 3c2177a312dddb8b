import FunnelCore

/// A feed-forward network with LeakyReLU activations and no normalisation: per hidden width
/// `Linear → LeakyReLU(slope)`, then optionally an output `Linear(→ 1)` (one value per row).
/// DEPHN's public DNN experts and stream towers (dephn.md §4.3, §4.6), MT-PHN's towers.
///
/// Parameters `<name>.linears.{i}.*` and `<name>.output.*`, PyTorch `Linear` initialisation.
public final class LeakyMLP: ExpertBlock {
    public let linears: [Linear]
    public let output: Linear?
    /// Negative slope of the LeakyReLU (PyTorch's default 0.01).
    public let slope: Float
    /// Width of the last hidden layer (the input width without hidden layers).
    public let hiddenWidth: Int

    public init(inputWidth: Int, hiddenWidths: [Int], slope: Float = 0.01, outputLayer: Bool = false, name: String,
                using rng: inout SeededGenerator) {
        var width = inputWidth
        linears = hiddenWidths.enumerated().map { i, hidden in
            defer { width = hidden }
            return Linear(width, hidden, name: qualified(name, "linears.\(i)"), using: &rng)
        }
        hiddenWidth = width
        self.slope = slope
        output = outputLayer ? Linear(width, 1, name: qualified(name, "output"), using: &rng) : nil
    }

    public var children: [any Module] { linears; output }

    /// `hiddenWidth`, or 1 with an output layer.
    public var outputWidth: Int { output == nil ? hiddenWidth : 1 }

    /// `x` `[B, in]` → `[B, hiddenWidth]`, or `[B]` with an output layer.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        let h = linears.reduce(x) { h, linear in linear(h, context).leakyRelu(slope: slope) }
        guard let output else { return h }
        return output(h, context).reshaped([x.shape[0]])
    }
}
