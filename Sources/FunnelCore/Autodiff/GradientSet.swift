/// Gradients of one scalar with respect to an ordered list of parameters, treated as one flattened vector G.
///
/// Per-task gradients of the shared parameters (`GradientSet(of: loss_t, on: tape, wrt: shared)`) are combined
/// with these operations before the optimizer step: inner products and norms for conflict tests (PCGrad, HTLNet),
/// projections, rescaling (GradNorm, MetaBalance, HTLNet's magnitude adjustment), sums, and finally `assign()` /
/// `accumulate()` to hand the result to the optimizer through `Parameter.grad`.
///
/// **Row-sparse tensors.** A gradient of an embedding table read only by lookups is zero outside the rows the batch
/// touched; `rows[i]` lists them (from `Tape.rowsRead(by:)`), and dot products, norms, scaling and sums then visit
/// only those rows (losses-and-balancing.md §8: "sums over the union of touched rows, which equals the dense
/// computation"). The tensors themselves stay dense-shaped, as the lookup backward produces them; `assign()` and
/// `accumulate()` pass the rows on to `Parameter.gradientRows`, so lazy optimizers still update only those rows.
/// All accumulations are in Float64.
public struct GradientSet {
    /// The parameters, in order.
    public let parameters: [Parameter]
    /// One gradient per parameter, each of its parameter's shape.
    public private(set) var tensors: [Tensor]
    /// Per tensor: the leading-axis rows outside which it is zero (increasing), or nil when dense.
    public private(set) var rows: [[Int32]?]

    public init(parameters: [Parameter], tensors: [Tensor], rows: [[Int32]?]? = nil) {
        precondition(parameters.count == tensors.count, "\(tensors.count) gradients for \(parameters.count) parameters")
        for (p, t) in zip(parameters, tensors) {
            precondition(p.value.shape == t.shape, "gradient \(t.shape) for \(p.name) \(p.value.shape)")
        }
        self.parameters = parameters
        self.tensors = tensors
        self.rows = rows ?? Array(repeating: nil, count: parameters.count)
        precondition(self.rows.count == parameters.count, "row lists for \(self.rows.count) of \(parameters.count) tensors")
    }

    /// The gradient of `output` (weighted by `seed`, default ones) with respect to `parameters`, from `tape`
    /// (callable once per task on the same tape), with the row sparsity the tape recorded.
    public init(of output: Variable, seed: Tensor? = nil, on tape: Tape, wrt parameters: [Parameter]) {
        self.init(parameters: parameters, tensors: tape.gradients(of: output, seed: seed, wrt: parameters),
                  rows: parameters.map { tape.rowsRead(by: $0) })
    }

    /// All zeros (every tensor row-sparse with no rows), the neutral element of `add`.
    public static func zeros(like parameters: [Parameter]) -> GradientSet {
        GradientSet(parameters: parameters, tensors: parameters.map { Tensor(zeros: $0.value.shape) },
                    rows: parameters.map { $0.value.rank >= 2 ? [] : nil })
    }

    // MARK: Inner products

    /// ⟨G, H⟩ over all tensors.
    public func dot(_ other: GradientSet) -> Double {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        return tensors.indices.reduce(0) { $0 + dot(other, tensor: $1) }
    }

    /// ⟨G_i, H_i⟩ over tensor `i` only (per-tensor methods such as MetaBalance).
    public func dot(_ other: GradientSet, tensor i: Int) -> Double {
        let (a, b) = (tensors[i], other.tensors[i])
        guard let rowList = sparser(rows[i], other.rows[i]) else { return a.dot(b) }
        let width = a.count / max(a.shape[0], 1)
        return rowList.reduce(0.0) { total, row in
            total + Double(FunnelCore.dot(a.pointer + Int(row) * width, b.pointer + Int(row) * width, width))
        }
    }

    /// ‖G‖.
    public var norm: Double { dot(self).squareRoot() }

    /// ‖G_i‖ of tensor `i`.
    public func norm(tensor i: Int) -> Double { dot(self, tensor: i).squareRoot() }

    // MARK: In-place arithmetic (copy-on-write)

    /// G ← G · factor.
    public mutating func scale(by factor: Float) {
        for i in tensors.indices { scale(tensor: i, by: factor) }
    }

    /// G_i ← G_i · factor for tensor `i` only.
    public mutating func scale(tensor i: Int, by factor: Float) {
        let target = ownedTensor(i).pointer
        let v = SIMD8<Float>(repeating: factor)
        forEachRange(i) { start, count in unaryMap(target + start, target + start, count, { $0 * v }, { $0 * factor }) }
    }

    /// G ← G + factor · H.
    public mutating func add(_ other: GradientSet, scaledBy factor: Float = 1) {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        for i in tensors.indices {
            let h = other.tensors[i]
            if let otherRows = other.rows[i], let own = rows[i], own != otherRows {
                rows[i] = uniqueSortedRows(own + otherRows, rowCount: h.shape[0])
            } else if other.rows[i] == nil {
                rows[i] = nil
            }
            let target = ownedTensor(i)
            let v = SIMD8<Float>(repeating: factor)
            other.forEachRange(i) { start, count in
                binaryMap(target.pointer + start, h.pointer + start, target.pointer + start, count,
                          { $0 + $1 * v }, { $0 + $1 * factor })
            }
        }
    }

    // MARK: Value arithmetic

    /// G · factor.
    public func scaled(by factor: Float) -> GradientSet {
        var result = self
        result.scale(by: factor)
        return result
    }

    /// G + H.
    public static func + (g: GradientSet, h: GradientSet) -> GradientSet {
        var result = g
        result.add(h)
        return result
    }

    /// G − (⟨G, H⟩ / ‖H‖²)·H: G with its component along H removed (a zero H leaves G unchanged).
    public func removingProjection(onto other: GradientSet) -> GradientSet {
        let squared = other.dot(other)
        guard squared > 0 else { return self }
        var result = self
        result.add(other, scaledBy: Float(-dot(other) / squared))
        return result
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

    // MARK: Handing over to the optimizer

    /// Sets each parameter's `grad` to this gradient (replacing what was there) and its `gradientRows` to the rows.
    public func assign() {
        for (i, p) in parameters.enumerated() {
            p.grad = tensors[i]
            p.gradientRows = rows[i]
        }
    }

    /// Adds this gradient to each parameter's `grad`, keeping `gradientRows` exact.
    public func accumulate() {
        for (i, p) in parameters.enumerated() { p.accumulateGradient(tensors[i], rows: rows[i]) }
    }

    // MARK: Helpers

    /// Tensor `i`, copied first when its buffer is shared (so in-place updates never leak into another set).
    private mutating func ownedTensor(_ i: Int) -> Tensor {
        if !tensors[i].isUniquelyOwned() { tensors[i] = tensors[i].copy() }
        return tensors[i]
    }

    /// `body(start, count)` over the element ranges of tensor `i` that can be non-zero.
    private func forEachRange(_ i: Int, _ body: (Int, Int) -> Void) {
        let t = tensors[i]
        guard let rowList = rows[i] else { return body(0, t.count) }
        let width = t.count / max(t.shape[0], 1)
        for row in rowList { body(Int(row) * width, width) }
    }
}

/// The shorter of two row lists, or the only one present (a tensor zero outside some rows makes the product zero
/// there too); nil when both tensors are dense.
private func sparser(_ a: [Int32]?, _ b: [Int32]?) -> [Int32]? {
    switch (a, b) {
    case let (a?, b?): return a.count <= b.count ? a : b
    case let (a?, nil): return a
    case let (nil, b?): return b
    case (nil, nil): return nil
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
