/// A tensor flowing through a computation, recorded on a tape when it depends on something being differentiated.
///
/// Untracked variables (`node == nil`) are constants: inputs, inference-mode activations, `detached()` values.
/// Operations on variables record themselves on the tape of any tracked operand.
public struct Variable {
    /// The value.
    public let value: Tensor
    /// Index of this variable's node on `tape`, or nil when untracked.
    public let node: Int?
    /// The tape that recorded it, when tracked. Backward functions must capture tensors, never variables:
    /// a captured variable would keep its tape (and the step's whole graph) alive (`TapeTests` checks this).
    public let tape: Tape?

    /// A constant: gradients never flow into it.
    public init(_ value: Tensor) {
        self.value = value
        self.node = nil
        self.tape = nil
    }

    init(value: Tensor, node: Int, tape: Tape) {
        self.value = value
        self.node = node
        self.tape = tape
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }

    /// Whether gradients can flow through this variable.
    public var isTracked: Bool { node != nil }

    /// The same value with no gradient (stop-gradient, `sg(x)`). On a traced tape (`GraphTrace`) it stays in the
    /// graph as an identity node whose backward passes nothing, so the trace still sees where the value came from.
    public func detached() -> Variable {
        guard let tape, tape.trace != nil else { return Variable(value) }
        return tape.record(value, inputs: [self], rowReads: nil, op: .identity) { _, _ in [nil] }
    }

    /// Records a custom differentiable operation: `value` computed from `inputs`, with `backward` mapping the
    /// gradient of `value` to the gradients of the inputs (nil where `needs[i]` is false or the gradient is zero).
    /// Returns an untracked variable when no input is tracked (inference mode records nothing).
    /// `rowReads`: the op reads only these rows of `inputs[0]` (a lookup, repeats allowed); its backward then
    /// returns, in slot 0, one gradient row per read (`[rowReads.count, row width]`) instead of a tensor of the
    /// operand's shape, and the operand's gradient is row-sparse. `op` says what the value is, for a traced tape
    /// (`GraphTrace`).
    public static func record(
        _ value: Tensor, inputs: [Variable], rowReads: [Int32]? = nil, op: TracedOpKind,
        backward: @escaping (_ gradient: Tensor, _ needs: [Bool]) -> [Tensor?]
    ) -> Variable {
        guard let tape = inputs.first(where: { $0.node != nil })?.tape else { return Variable(value) }
        return tape.record(value, inputs: inputs, rowReads: rowReads, op: op, backward: backward)
    }
}
