import FunnelCore

/// DEPHN's trainable-value gates (TVG, dephn.md §4.6) of one task: one scalar G_{kp} per public expert k and
/// mapping p, a global parameter (not a function of the input).
///
/// Parameter `<name>` `[K, P]` (a `ParameterList` entry in PyTorch: `gates.{t}`), initialised to 1. With
/// `.softmax` normalisation the gate values are softmax over all K·P entries of the parameter.
public final class TrainableValueGate: Module {
    public enum Normalization: String, Codable, CaseIterable, Sendable {
        /// Raw trainable scalars ([DECISION] default).
        case none
        /// Softmax over the task's (k, p) pairs.
        case softmax
    }

    public let weight: Parameter
    public let normalization: Normalization
    public let experts: Int, mappings: Int

    public init(experts: Int, mappings: Int, normalization: Normalization = .none, name: String) {
        self.experts = experts
        self.mappings = mappings
        self.normalization = normalization
        weight = Parameter(name: name, value: Tensor(repeating: 1, shape: [experts, mappings]))
    }

    public var parameters: [Parameter] { [weight] }

    /// The gate values as one row `[1, K·P]` (expert-major).
    public func callAsFunction(_ context: ForwardContext) -> Variable {
        let row = context.use(weight).reshaped([1, experts * mappings])
        return normalization == .softmax ? row.softmax(alongAxis: -1) : row
    }

    /// The current gate values `[K, P]`.
    public var values: Tensor { self(.inference()).value.reshaped([experts, mappings]) }
}

/// Repeats column s of `gates` `[N, S]` `widths[s]` times → `[N, Σ widths]`, so that a gate scales a whole stream
/// of a concatenation (`streams ⊙ repeatingColumns(gates)`). A product with a constant 0/1 matrix: exact in the
/// forward pass, and the backward sums each block of the gradient.
public func repeatingColumns(_ gates: Variable, widths: [Int]) -> Variable {
    precondition(gates.shape.count == 2 && gates.shape[1] == widths.count, "gates \(gates.shape) for \(widths.count) streams")
    let total = widths.reduce(0, +)
    let expansion = Tensor(zeros: [widths.count, total])
    var column = 0
    for (s, width) in widths.enumerated() {
        for c in column..<(column + width) { expansion.pointer[s * total + c] = 1 }
        column += width
    }
    return Variable.matmul(gates, Variable(expansion))
}
