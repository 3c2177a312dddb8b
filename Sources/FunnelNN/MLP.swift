import FunnelCore

/// A multilayer perceptron: per hidden width `Linear → BatchNorm → ReLU → Dropout` (batch norm optional), then
/// optionally an output `Linear(→ outputs)` (by default one logit per row). Parameters `<name>.linears.{i}.*`,
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
    ///   - outputLayer: append `Linear(→ outputs)`; the result is then `[batch]` logits for one output,
    ///     `[batch, outputs]` otherwise.
    public convenience init(
        inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool = true, dropout: Float = 0, outputLayer: Bool = false,
        outputs: Int = 1, name: String, using rng: inout SeededGenerator
    ) {
        self.init(inputWidth: inputWidth, hiddenWidths: hiddenWidths, batchNorm: batchNorm,
                  dropouts: Array(repeating: dropout, count: hiddenWidths.count), outputLayer: outputLayer, outputs: outputs,
                  name: name, using: &rng)
    }

    /// As the other initialiser, with one dropout rate per hidden layer (AITM's towers use 0.1, 0.3, 0.3).
    public init(
        inputWidth: Int, hiddenWidths: [Int], batchNorm: Bool = true, dropouts: [Float], outputLayer: Bool = false,
        outputs: Int = 1, name: String, using rng: inout SeededGenerator
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
        self.output = outputLayer ? Linear(width, outputs, name: qualified(name, "output"), using: &rng) : nil
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

    /// `x` `[batch, inputWidth]` → `[batch, outputWidth]`, or the output layer's result when there is one.
    public func callAsFunction(_ x: Variable, _ context: ForwardContext) -> Variable {
        let result = layers(x, context)
        return result.output ?? result.hidden.last ?? x
    }

    /// Every hidden activation (after ReLU and dropout; `[batch, hiddenWidths[i]]`) and the output layer's result
    /// (`[batch]` for one output, `[batch, outputs]` otherwise; nil without an output layer). For models that pass
    /// a tower's intermediate representation on (HTLNet).
    public func layers(_ x: Variable, _ context: ForwardContext) -> (hidden: [Variable], output: Variable?) {
        var h = x
        var hidden: [Variable] = []
        for (i, linear) in linears.enumerated() {
            if i < norms.count {
                h = norms[i](linear(h, context), context, activation: .relu)
            } else {
                h = linear(h, context, activation: .relu)
            }
            if context.isTraining && dropouts[i] > 0 { h = h.dropout(rate: dropouts[i], using: &context.rng) }
            hidden.append(h)
        }
        guard let output else { return (hidden, nil) }
        let y = output(h, context)
        return (hidden, output.outputWidth == 1 ? y.reshaped([x.shape[0]]) : y)
    }
}
