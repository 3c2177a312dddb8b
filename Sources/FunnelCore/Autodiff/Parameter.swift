/// A trainable tensor with a stable name and a gradient slot.
///
/// Names are dotted paths (`experts.3.linears.0.weight`) that checkpoints and parity fixtures use.
/// `grad` is what optimizers apply; `Tape.backward(_:)` accumulates into it, and balancing methods may write a
/// combined gradient into it directly.
public final class Parameter: @unchecked Sendable {
    /// Stable dotted path of this tensor in its model.
    public let name: String
    /// Current value.
    public var value: Tensor
    /// Accumulated gradient (same shape as `value`), or nil when none has been computed since the last reset.
    public var grad: Tensor?
    /// When non-nil, `grad` is zero outside these rows of the leading axis (an embedding table used only through
    /// lookups). Lazy row-wise optimizers update only these rows.
    public var gradientRows: [Int32]?

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
    }

    /// Number of scalars.
    public var count: Int { value.count }

    /// Clears the gradient.
    public func zeroGradient() {
        grad = nil
        gradientRows = nil
    }

    /// Adds `gradient` to `grad` (in place when `grad` is uniquely owned).
    public func accumulateGradient(_ gradient: Tensor) {
        precondition(gradient.shape == value.shape, "gradient \(gradient.shape) for \(name) \(value.shape)")
        if grad == nil {
            grad = gradient
        } else {
            Tensor.accumulate(gradient, into: &grad!)
        }
    }

    /// Adds `gradient`, which is zero outside the leading-axis `rows` (nil: dense), and keeps `gradientRows`
    /// exact: the rows of the first gradient, the union of row-sparse gradients, nil once any dense one is added.
    public func accumulateGradient(_ gradient: Tensor, rows: [Int32]?) {
        let wasEmpty = grad == nil
        accumulateGradient(gradient)
        if wasEmpty {
            gradientRows = rows
        } else if let rows, let existing = gradientRows {
            gradientRows = uniqueSortedRows(existing + rows, rowCount: value.shape[0])
        } else {
            gradientRows = nil
        }
    }
}
