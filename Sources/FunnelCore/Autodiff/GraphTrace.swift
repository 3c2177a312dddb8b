/// What one recorded operation computed, in terms an exporter can map to another graph format (ONNX): the op's
/// kind with its attributes. Every op in `Autodiff/Ops/` names its kind when it records itself, so a traced forward
/// pass (`GraphTrace`) describes the whole computation, not only its values.
public enum TracedOpKind: Equatable, Sendable {
    case add, subtract, multiply, divide
    /// `x · factor`.
    case scale(Float)
    /// `x + constant`.
    case shift(Float)
    case relu, sigmoid, softplus, tanh, exp, log, sin, cos, square, squareRoot
    case leakyRelu(slope: Float)
    case clamp(lower: Float, upper: Float)
    case matmul(transposeA: Bool, transposeB: Bool)
    /// `activation(x · Wᵀ + b)`; operands x, W and, when present, b.
    case linear(relu: Bool)
    case batchedMatmul(transposeA: Bool, transposeB: Bool)
    case reshape
    case concat(axis: Int)
    case slice(axis: Int, start: Int, end: Int)
    case transposeLastTwo
    case swapAxes(Int, Int)
    case sumAll
    case sumAlongAxis(Int, keepingAxis: Bool)
    /// A new leading axis of the batch's extent.
    case expandToBatch
    /// Table rows read at the ids of a graph input (`TracedIndices`).
    case gatherRows(TracedIndices?)
    case embeddingBag(TracedIndices?, pooling: Variable.BagPooling)
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
    case layerNorm(epsilon: Float)
    case attentionScores(heads: Int, scale: Float)
    case attentionMix(heads: Int)
    case scaledDotProductAttention(heads: Int)
    case pairwiseRowProducts
    /// Identity in value (dropout at rate 0 is never recorded; gradient scaling is).
    case identity
    /// An op that only training uses (losses, training-mode batch norm, dropout): no exporter maps it.
    case trainingOnly(String)

    /// The op's name in messages.
    public var name: String {
        if case .trainingOnly(let name) = self { return name }
        let text = "\(self)"
        return String(text.prefix { $0 != "(" })
    }
}

/// Where a lookup's row ids come from: a named graph input of int ids, shifted by per-column table offsets
/// (`FieldEmbedding` knows them). Lookups whose ids are not a graph input cannot be exported.
public struct TracedIndices: Equatable, Sendable {
    /// The graph input holding the ids (`[batch, columns]`, per-field ids).
    public var input: String
    /// Added to column c's ids: the table row of id 0 of that column's field (one entry for a bag).
    public var offsets: [Int32]

    public init(input: String, offsets: [Int32]) {
        self.input = input
        self.offsets = offsets
    }
}

/// A recording of one forward pass for export, kept beside a tape (`Tape(tracing:)`): for every tape node its kind
/// (parameter, graph input, or op with operands) and its value. Tracing costs nothing when absent: tapes made for
/// training carry none.
public final class GraphTrace {
    /// An op's operand: a node of the same trace, or a constant captured from an untracked variable.
    public enum Operand {
        case node(Int)
        case constant(Tensor)
    }

    /// What produced a node.
    public enum Source {
        case parameter(Parameter)
        case input(name: String)
        case op(TracedOpKind, operands: [Operand])
        /// A tracked leaf that is neither (`Tape.variable`), which an exporter cannot bind.
        case leaf
    }

    /// One node per tape node, in recording order.
    public private(set) var nodes: [(source: Source, value: Tensor)] = []

    public init() {}

    func append(_ source: Source, value: Tensor) {
        nodes.append((source, value))
    }
}
