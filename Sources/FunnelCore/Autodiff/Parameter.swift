/// A trainable tensor with a stable name and a gradient slot.
///
/// Names are dotted paths (`experts.3.linears.0.weight`) that checkpoints and parity fixtures use.
/// `gradient` is what optimizers apply; `Tape.backward(_:)` accumulates into it, and balancing methods may write a
/// combined gradient into it directly. A table read only by lookups gets a row-sparse gradient (`.rows`).
public final class Parameter: @unchecked Sendable {
    /// Stable dotted path of this tensor in its model.
    public let name: String
    /// Current value.
    public var value: Tensor
    /// Accumulated gradient, or nil when none has been computed since the last reset.
    public var gradient: Gradient?

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
    }

    /// Number of scalars.
    public var count: Int { value.count }

    /// The gradient as a dense tensor of `value`'s shape (a row-sparse one densified: O(table), for tests and
    /// small parameters); setting it stores a dense gradient.
    public var grad: Tensor? {
        get { gradient?.densified(shape: value.shape) }
        set { gradient = newValue.map { .dense($0) } }
    }

    /// The rows outside which the gradient is zero (increasing) when it is row-sparse; nil when dense or absent.
    public var gradientRows: [Int32]? {
        if case .rows(let sparse)? = gradient { return sparse.rows }
        return nil
    }

    /// Clears the gradient.
    public func zeroGradient() { gradient = nil }

    /// Adds `contribution` to the gradient: row-sparse while every contribution is (over the union of their
    /// rows), dense once any dense one is added.
    public func accumulateGradient(_ contribution: Gradient) {
        if case .dense(let t) = contribution {
            precondition(t.shape == value.shape, "gradient \(t.shape) for \(name) \(value.shape)")
        }
        gradient = gradient.map { Gradient.sum($0, contribution, shape: value.shape) } ?? contribution
    }
}
