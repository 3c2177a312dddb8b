/// Gradients of one scalar with respect to an ordered list of parameters, treated as one flattened vector G.
///
/// Per-task gradients of the shared parameters (`GradientSet(of: loss_t, on: tape, wrt: shared)`) are combined
/// with these operations before the optimizer step: inner products and norms for conflict tests (PCGrad, HTLNet),
/// projections, rescaling (GradNorm, MetaBalance, HTLNet's magnitude adjustment), sums, and finally `assign()` /
/// `accumulate()` to hand the result to the optimizer through `Parameter.grad`.
///
/// **Row-sparse tables.** A gradient of an embedding table read only by lookups is `.rows` (`Gradient`): only the
/// rows this output reached are stored, and dot products, norms, scaling and sums visit only those rows
/// (losses-and-balancing.md §8: "sums over the union of touched rows, which equals the dense computation") —
/// nothing here is proportional to a table's size. `assign()` and `accumulate()` hand the gradients to the
/// parameters as they are, so lazy optimizers update only those rows. All accumulations are in Float64.
public struct GradientSet {
    /// The parameters, in order.
    public let parameters: [Parameter]
    /// One gradient per parameter.
    public private(set) var gradients: [Gradient]

    public init(parameters: [Parameter], gradients: [Gradient]) {
        precondition(parameters.count == gradients.count, "\(gradients.count) gradients for \(parameters.count) parameters")
        for (p, g) in zip(parameters, gradients) {
            switch g {
            case .dense(let t): precondition(p.value.shape == t.shape, "gradient \(t.shape) for \(p.name) \(p.value.shape)")
            case .rows(let r):
                precondition(r.width == p.value.shape.dropFirst().reduce(1, *), "rows of \(r.width) for \(p.name) \(p.value.shape)")
            }
        }
        self.parameters = parameters
        self.gradients = gradients
    }

    /// Dense gradients, each of its parameter's shape.
    public init(parameters: [Parameter], tensors: [Tensor]) {
        self.init(parameters: parameters, gradients: tensors.map { .dense($0) })
    }

    /// The gradient of `output` (weighted by `seed`, default ones) with respect to `parameters`, from `tape`
    /// (callable once per task on the same tape): row-sparse for tables read only by lookups; a parameter `output`
    /// does not reach gets a zero gradient (`zero(of:)`).
    public init(of output: Variable, seed: Tensor? = nil, on tape: Tape, wrt parameters: [Parameter]) {
        let found = tape.sparseGradients(of: output, seed: seed, wrt: parameters)
        self.init(parameters: parameters, gradients: zip(parameters, found).map { $1 ?? GradientSet.zero(of: $0) })
    }

    /// All zeros, the neutral element of `add`.
    public static func zeros(like parameters: [Parameter]) -> GradientSet {
        GradientSet(parameters: parameters, gradients: parameters.map(zero(of:)))
    }

    /// A zero gradient for `parameter`: no rows for a matrix or table (nothing allocated), dense zeros otherwise.
    public static func zero(of parameter: Parameter) -> Gradient {
        let shape = parameter.value.shape
        return shape.count >= 2 ? .rows(.empty(width: shape.dropFirst().reduce(1, *))) : .dense(Tensor(zeros: shape))
    }

    /// Dense views of the gradients (row-sparse ones densified: O(table), for tests).
    public var tensors: [Tensor] { zip(parameters, gradients).map { $1.densified(shape: $0.value.shape) } }

    /// Per gradient: its rows when row-sparse, nil when dense.
    public var rows: [[Int32]?] {
        gradients.map { if case .rows(let r) = $0 { return r.rows } else { return nil } }
    }

    // MARK: Inner products

    /// ⟨G, H⟩ over all tensors.
    public func dot(_ other: GradientSet) -> Double {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        return gradients.indices.reduce(0) { $0 + dot(other, tensor: $1) }
    }

    /// ⟨G_i, H_i⟩ over tensor `i` only (per-tensor methods such as MetaBalance).
    public func dot(_ other: GradientSet, tensor i: Int) -> Double {
        switch (gradients[i], other.gradients[i]) {
        case let (.dense(a), .dense(b)): return a.dot(b)
        case let (.rows(a), .rows(b)): return a.dot(b)
        case let (.rows(a), .dense(b)), let (.dense(b), .rows(a)): return a.dot(dense: b)
        }
    }

    /// ‖G‖.
    public var norm: Double { dot(self).squareRoot() }

    /// ‖G_i‖ of tensor `i`.
    public func norm(tensor i: Int) -> Double { dot(self, tensor: i).squareRoot() }

    // MARK: In-place arithmetic

    /// G ← G · factor.
    public mutating func scale(by factor: Float) {
        for i in gradients.indices { scale(tensor: i, by: factor) }
    }

    /// G_i ← G_i · factor for tensor `i` only.
    public mutating func scale(tensor i: Int, by factor: Float) {
        gradients[i] = gradients[i].scaled(by: factor)
    }

    /// G ← G + factor · H.
    public mutating func add(_ other: GradientSet, scaledBy factor: Float = 1) {
        precondition(parameters.count == other.parameters.count, "gradient sets of different parameters")
        for i in gradients.indices {
            let shape = parameters[i].value.shape
            if case .dense(var own) = gradients[i], case .dense(let h) = other.gradients[i] {
                gradients[i] = .rows(.empty(width: 0))  // drops this set's reference, so `own` may be updated in place
                if !own.isUniquelyOwned() { own = own.copy() }
                let v = SIMD8<Float>(repeating: factor)
                chunked(own.count) { start, count in
                    binaryMap(own.pointer + start, h.pointer + start, own.pointer + start, count,
                              { $0 + $1 * v }, { $0 + $1 * factor })
                }
                gradients[i] = .dense(own)
            } else {
                gradients[i] = Gradient.sum(gradients[i], factor == 1 ? other.gradients[i] : other.gradients[i].scaled(by: factor),
                                            shape: shape)
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

    /// Σ_k c_k · G_k (coefficients rounded to Float): one pass per dense tensor; a tensor row-sparse in every
    /// input is row-sparse in the result, over the union of their rows.
    public static func linearCombination(_ sets: [GradientSet], coefficients: [Double]) -> GradientSet {
        precondition(!sets.isEmpty && sets.count == coefficients.count, "\(coefficients.count) coefficients for \(sets.count) sets")
        let parameters = sets[0].parameters
        precondition(sets.allSatisfy { $0.parameters.count == parameters.count }, "gradient sets of different parameters")
        let c = coefficients.map { Float($0) }
        let gradients = parameters.indices.map { i -> Gradient in
            let inputs = sets.map { $0.gradients[i] }
            let sparse = inputs.compactMap { if case .rows(let r) = $0 { return r } else { return nil } }
            if sparse.count == inputs.count {
                return .rows(zip(sparse, c).dropFirst().reduce(sparse[0].scaled(by: c[0])) { $0 + $1.0.scaled(by: $1.1) })
            }
            let dense = inputs.map { $0.densified(shape: parameters[i].value.shape) }
            let out = Tensor(uninitialized: dense[0].shape)
            chunked(out.count) { start, count in combine(dense, c, into: out, start: start, count: count) }
            return .dense(out)
        }
        return GradientSet(parameters: parameters, gradients: gradients)
    }

    // MARK: Handing over to the optimizer

    /// Sets each parameter's gradient to this one (replacing what was there).
    public func assign() {
        for (p, g) in zip(parameters, gradients) { p.gradient = g }
    }

    /// Adds this gradient to each parameter's gradient (row-sparse stays row-sparse).
    public func accumulate() {
        for (p, g) in zip(parameters, gradients) { p.accumulateGradient(g) }
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
