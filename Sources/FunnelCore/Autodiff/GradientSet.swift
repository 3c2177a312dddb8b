/// Gradients of one scalar with respect to an ordered list of parameters, treated as one flattened vector G.
///
/// Per-task gradients of the shared parameters (`tape.gradients(of: loss_t, wrt: shared)`) are combined with
/// these operations before the optimizer step: inner products and norms for conflict tests (PCGrad, HTLNet),
/// projections, rescaling (GradNorm, MetaBalance, HTLNet's magnitude adjustment), sums, and finally
/// `assign()` / `accumulate()` to hand the result to the optimizer through `Parameter.grad`.
///
/// ## Row-sparse tensors
/// An embedding table's gradient is zero outside the rows the batch looked up. A tensor may carry those rows
/// (`rows[i]`, sorted and distinct; `init(of:on:wrt:)` takes them from the tape): inner products, norms and
/// combinations then visit only those rows — the same values as the dense computation, at a cost proportional
/// to the batch instead of the vocabulary — and `assign()` hands them on as `Parameter.gradientRows` (for lazy
/// row-wise optimizers).
public struct GradientSet {
    /// The parameters, in order.
    public let parameters: [Parameter]
    /// One gradient per parameter, each of its parameter's shape.
    public private(set) var tensors: [Tensor]
    /// Per tensor, the rows of its leading axis outside which it is zero, or nil when it is dense.
    public private(set) var rows: [[Int32]?]

    /// - Parameter rows: per tensor, the rows outside which it is zero (sorted, distinct), or nil (all dense).
    public init(parameters: [Parameter], tensors: [Tensor], rows: [[Int32]?]? = nil) {
        precondition(parameters.count == tensors.count, "\(tensors.count) gradients for \(parameters.count) parameters")
        for (p, t) in zip(parameters, tensors) {
            precondition(p.value.shape == t.shape, "gradient \(t.shape) for \(p.name) \(p.value.shape)")
        }
        let rows = rows ?? Array(repeating: nil, count: parameters.count)
        precondition(rows.count == parameters.count, "\(rows.count) row lists for \(parameters.count) parameters")
        for (t, r) in zip(tensors, rows) where r != nil { precondition(t.rank == 2, "row-sparse gradient of shape \(t.shape)") }
        self.parameters = parameters
        self.tensors = tensors
        self.rows = rows
    }

    /// The gradient of `output` with respect to `parameters`, from `tape` (callable once per task), with the
    /// rows of lookup-only tables.
    public init(of output: Variable, on tape: Tape, wrt parameters: [Parameter]) {
        self.init(parameters: parameters, tensors: tape.gradients(of: output, wrt: parameters),
                  rows: parameters.map { tape.rowsRead(from: $0) })
    }

    /// ⟨G, H⟩ over all tensors (Float64 accumulation; row-sparse tensors over their rows only).
    public func dot(_ other: GradientSet) -> Double {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        var total = 0.0
        for i in tensors.indices {
            let (a, b) = (tensors[i], other.tensors[i])
            switch (rows[i], other.rows[i]) {
            case (nil, nil): total += a.dot(b)
            case let (r?, nil), let (nil, r?): total += dotOverRows(a, b, r)
            case let (r?, s?): total += dotOverRows(a, b, r.count <= s.count ? r : s)
            }
        }
        return total
    }

    /// ‖G‖.
    public var norm: Double { dot(self).squareRoot() }

    /// G · factor.
    public func scaled(by factor: Float) -> GradientSet { Self.linearCombination([self], coefficients: [Double(factor)]) }

    /// G + H.
    public static func + (g: GradientSet, h: GradientSet) -> GradientSet { linearCombination([g, h], coefficients: [1, 1]) }

    /// G − (⟨G, H⟩ / ‖H‖²)·H: G with its component along H removed (a zero H leaves G unchanged).
    public func removingProjection(onto other: GradientSet) -> GradientSet {
        let squared = other.dot(other)
        guard squared > 0 else { return self }
        return Self.linearCombination([self, other], coefficients: [1, -dot(other) / squared])
    }

    /// The sum of several gradient sets of the same parameters.
    public static func sum(_ sets: [GradientSet]) -> GradientSet {
        precondition(!sets.isEmpty, "sum of no gradient sets")
        return linearCombination(sets, coefficients: Array(repeating: 1, count: sets.count))
    }

    /// Σ_k c_k · G_k in one pass per tensor (coefficients rounded to Float). A tensor is row-sparse in the result
    /// when it is row-sparse in every input (over the union of their rows); only those rows are computed.
    public static func linearCombination(_ sets: [GradientSet], coefficients: [Double]) -> GradientSet {
        precondition(!sets.isEmpty && sets.count == coefficients.count, "\(coefficients.count) coefficients for \(sets.count) sets")
        let parameters = sets[0].parameters
        precondition(sets.allSatisfy { $0.parameters.count == parameters.count }, "gradient sets of different parameters")
        let c = coefficients.map { Float($0) }
        var tensors: [Tensor] = [], rows: [[Int32]?] = []
        for i in parameters.indices {
            let inputs = sets.map { $0.tensors[i] }
            let rowLists = sets.compactMap { $0.rows[i] }
            if rowLists.count == sets.count {
                let union = rowLists.dropFirst().allSatisfy { $0 == rowLists[0] }
                    ? rowLists[0] : uniqueSortedRows(rowLists.flatMap { $0 }, rowCount: inputs[0].shape[0])
                let out = Tensor(zeros: inputs[0].shape)
                let width = inputs[0].shape[1]
                for row in union { combine(inputs, c, into: out, start: Int(row) * width, count: width) }
                tensors.append(out)
                rows.append(union)
            } else {
                let out = Tensor(uninitialized: inputs[0].shape)
                chunked(out.count) { start, count in combine(inputs, c, into: out, start: start, count: count) }
                tensors.append(out)
                rows.append(nil)
            }
        }
        return GradientSet(parameters: parameters, tensors: tensors, rows: rows)
    }

    /// Sets each parameter's `grad` to this gradient (replacing what was there), and its `gradientRows` to the
    /// tensor's rows.
    public func assign() {
        for (i, p) in parameters.enumerated() {
            p.grad = tensors[i]
            p.gradientRows = rows[i]
        }
    }

    /// Adds this gradient to each parameter's `grad`; `gradientRows` stays set only when both the parameter's
    /// gradient and this one are row-sparse (their union).
    public func accumulate() {
        for (i, p) in parameters.enumerated() {
            let wasEmpty = p.grad == nil
            p.accumulateGradient(tensors[i])
            switch (wasEmpty, p.gradientRows, rows[i]) {
            case (true, _, let new): p.gradientRows = new
            case let (false, old?, new?): p.gradientRows = uniqueSortedRows(old + new, rowCount: p.value.shape[0])
            default: p.gradientRows = nil
            }
        }
    }
}

/// `out[start ..< start + count] = Σ_k c_k · x_k[start ..< start + count]`.
private func combine(_ inputs: [Tensor], _ c: [Float], into out: Tensor, start: Int, count: Int) {
    let target = out.pointer + start
    let c0 = c[0], v0 = SIMD8<Float>(repeating: c0)
    unaryMap(inputs[0].pointer + start, target, count, { $0 * v0 }, { $0 * c0 })
    for k in 1..<inputs.count {
        let ck = c[k], vk = SIMD8<Float>(repeating: ck)
        binaryMap(target, inputs[k].pointer + start, target, count, { $0 + $1 * vk }, { $0 + $1 * ck })
    }
}

/// Σ over `rows` of ⟨a[row], b[row]⟩ for `[rows, width]` tensors (Float32 per row, Float64 across rows).
private func dotOverRows(_ a: Tensor, _ b: Tensor, _ rows: [Int32]) -> Double {
    let width = a.shape[1]
    var total = 0.0
    for row in rows {
        let offset = Int(row) * width
        total += Double(dot(UnsafePointer(a.pointer + offset), UnsafePointer(b.pointer + offset), width))
    }
    return total
}
