/// Gradients of one scalar with respect to an ordered list of parameters, treated as one flattened vector G.
///
/// Per-task gradients of the shared parameters (`tape.gradients(of: loss_t, wrt: shared)`) are combined with
/// these operations before the optimizer step: inner products and norms for conflict tests (PCGrad, HTLNet),
/// projections, rescaling (GradNorm, MetaBalance, HTLNet's magnitude adjustment), sums, and finally
/// `assign(to:)` / `accumulate(into:)` to hand the result to the optimizer through `Parameter.grad`.
public struct GradientSet {
    /// The parameters, in order.
    public let parameters: [Parameter]
    /// One gradient per parameter, each of its parameter's shape.
    public private(set) var tensors: [Tensor]

    public init(parameters: [Parameter], tensors: [Tensor]) {
        precondition(parameters.count == tensors.count, "\(tensors.count) gradients for \(parameters.count) parameters")
        for (p, t) in zip(parameters, tensors) {
            precondition(p.value.shape == t.shape, "gradient \(t.shape) for \(p.name) \(p.value.shape)")
        }
        self.parameters = parameters
        self.tensors = tensors
    }

    /// The gradient of `output` with respect to `parameters`, from `tape` (callable once per task).
    public init(of output: Variable, on tape: Tape, wrt parameters: [Parameter]) {
        self.init(parameters: parameters, tensors: tape.gradients(of: output, wrt: parameters))
    }

    /// ⟨G, H⟩ over all tensors (Float64 accumulation).
    public func dot(_ other: GradientSet) -> Double {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        return zip(tensors, other.tensors).reduce(0) { $0 + $1.0.dot($1.1) }
    }

    /// ‖G‖.
    public var norm: Double { dot(self).squareRoot() }

    /// G · factor.
    public func scaled(by factor: Float) -> GradientSet {
        GradientSet(parameters: parameters, tensors: tensors.map { $0.scaled(by: factor) })
    }

    /// G + H.
    public static func + (g: GradientSet, h: GradientSet) -> GradientSet {
        precondition(g.parameters.count == h.parameters.count, "gradient sets of different parameters")
        return GradientSet(parameters: g.parameters, tensors: zip(g.tensors, h.tensors).map { $0 + $1 })
    }

    /// G − (⟨G, H⟩ / ‖H‖²)·H: G with its component along H removed (a zero H leaves G unchanged).
    public func removingProjection(onto other: GradientSet) -> GradientSet {
        let squared = other.dot(other)
        guard squared > 0 else { return self }
        return self + other.scaled(by: Float(-dot(other) / squared))
    }

    /// The sum of several gradient sets of the same parameters.
    public static func sum(_ sets: [GradientSet]) -> GradientSet {
        precondition(!sets.isEmpty, "sum of no gradient sets")
        return sets.dropFirst().reduce(sets[0], +)
    }

    /// Sets each parameter's `grad` to this gradient (replacing what was there).
    public func assign() {
        for (p, t) in zip(parameters, tensors) {
            p.grad = t
            p.gradientRows = nil
        }
    }

    /// Adds this gradient to each parameter's `grad`.
    public func accumulate() {
        for (p, t) in zip(parameters, tensors) {
            p.accumulateGradient(t)
            p.gradientRows = nil
        }
    }
}
