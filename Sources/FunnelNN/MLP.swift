import FunnelCore

/// A multilayer perceptron: per hidden width `Linear → BatchNorm → ReLU → Dropout` (batch norm optional), then
/// optionally an output `Linear(→ 1)` giving one logit per row. Parameters `<name>.linears.{i}.*`,
/// `<name>.norms.{i}.*`, `<name>.output.*` — the layout of the parity fixtures and of a PyTorch twin.
public final class MLP: Module {
    public let linears: [Linear]
    public let norms: [BatchNorm]
    public let output: Linear?
    /// Inverted-dropout rate after each hidden layer's activation (training only), one per hidden layer.
    public let dropouts: [Float]
    /// Width of the last hidden layer (the block's output width without an output layer).
    public let outputWidth: Int

    /// - Parameters:
    ///   - inputWidth: columns of the input `[batch, inputWidth]`.
    ///   - hiddenWidths: one entry per hidden layer.
    ///   - batchNorm: insert `BatchNorm1d` after each hidden `Linear`.
    ///   - dropout: inverted-dropout rate after each hidden activation (training only).
    ///   - outputLayer: append `Linear(→ 1)`; the result is then `[batch]` logits.
    public convenience init(
        inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool = true, dropout: Float = 0, outputLayer: Bool = false,
        name: String, using rng: inout SeededGenerator
    ) {
        self.init(inputWidth: inputWidth, hiddenWidths: hiddenWidths, batchNorm: batchNorm,
                  dropouts: Array(repeating: dropout, count: hiddenWidths.count), outputLayer: outputLayer, name: name, using: &rng)
    }

    /// As the other initialiser, with one dropout rate per hidden layer (AITM's towers use 0.1, 0.3, 0.3).
    public init(
        inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool = true, dropouts: [Float], outputLayer: Bool = false,
        name: String, using rng: inout SeededGenerator
    ) {
        precondition(dropouts.count == hiddenWidths.count, "\(dropouts.count) dropout rates for \(hiddenWidths.count) layers")
        var width = inputWidth
        var linears: [Linear] = [], norms: [BatchNorm] = []
        for (i, hidden) in hiddenWidths.enumerated() {
            linears.append(Linear(width, hidden, name: qualified(name, "linears.\(i)"), using: &rng))
            if batchNorm { norms.append(BatchNorm(hidden, name: qualified(name, "norms.\(i)"))) }
            width = hidden
        }
        self.linears = linears
        self.norms = norms
        self.dropouts = dropouts
        self.outputWidth = width
        self.output = outputLayer ? Linear(width, 1, name: qualified(name, "output"), using: &rng) : nil
    }

    public var parameters: [Parameter] {
        var result: [Parameter] = []
        for (i, linear) in linears.enumerated() {
            result += linear.parameters
            if i < norms.count { result += norms[i].parameters }
        }
        return result + (output?.parameters ?? [])
    }

    public var buffers: [Parameter] { norms.flatMap { $0.buffers } }

    /// `x` `[batch, inputWidth]` → `[batch, outputWidth]`, or `[batch]` logits with an output layer.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        var h = x
        for (i, linear) in linears.enumerated() {
            if i < norms.count {
                h = norms[i](linear(h, context), context, activation: .relu)
            } else {
                h = linear(h, context, activation: .relu)
            }
            if context.isTraining && dropouts[i] > 0 { h = h.dropout(rate: dropouts[i], using: &context.rng) }
        }
        guard let output else { return h }
        return output(h, context).reshaped([x.shape[0]])
    }
}
