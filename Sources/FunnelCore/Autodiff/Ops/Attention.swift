/// The two batched products of multi-head attention over sets, with the heads read in place: a projection
/// `[B, n, H·d_k]` holds head η in columns `η·d_k ..< (η+1)·d_k`, so no head split or merge is ever copied.
/// Each (sample, head) pair is one small GEMM on strided operands (`smallGemm` up to 64K multiply-adds); ranges of
/// samples run in parallel over the pool.
extension Variable {
    /// Per-head dot products `scores[b, η, i, j] = scale · Σ_c q[b, i, η·d_k + c] · k[b, j, η·d_k + c]`.
    /// `queries` `[B, n_q, H·d_k]`, `keys` `[B, n_k, H·d_k]` → `[B, H, n_q, n_k]`.
    public static func attentionScores(queries: Variable, keys: Variable, heads: Int, scale: Float = 1) -> Variable {
        let (q, k) = (queries.value, keys.value)
        precondition(q.rank == 3 && k.rank == 3 && q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2]
                     && heads > 0 && q.shape[2] % heads == 0,
                     "attentionScores: queries \(q.shape), keys \(k.shape), heads \(heads)")
        let (batch, nq, nk, width) = (q.shape[0], q.shape[1], k.shape[1], q.shape[2])
        let dk = width / heads
        let heads = HeadLayout(batch: batch, heads: heads)
        let out = Tensor(uninitialized: [batch, heads.count, nq, nk])
        // S = Q_η K_ηᵀ
        heads.run(flops: nq * nk * dk) { b, h in
            headProduct(m: nq, n: nk, k: dk, a: heads.operand(q, b, h, dk), b: heads.operand(k, b, h, dk, transposed: true),
                 c: out.pointer + (b * heads.count + h) * nq * nk, ldc: nk)
        }
        if scale != 1 {
            let s = SIMD8<Float>(repeating: scale)
            unaryMap(out.pointer, out.pointer, out.count, { $0 * s }, { $0 * scale })
        }
        return record(out, inputs: [queries, keys], op: .attentionScores(heads: heads.count, scale: scale)) { upstream, needs in
            let g = scale == 1 ? upstream : upstream.scaled(by: scale)
            let gq = needs[0] ? Tensor(uninitialized: q.shape) : nil
            let gk = needs[1] ? Tensor(uninitialized: k.shape) : nil
            heads.run(flops: 2 * nq * nk * dk) { b, h in
                let gs = MatrixOperand(g.pointer + (b * heads.count + h) * nq * nk, leadingDimension: nk)
                if let gq {  // dQ_η = G · K_η
                    headProduct(m: nq, n: dk, k: nk, a: gs, b: heads.operand(k, b, h, dk),
                         c: heads.target(gq, b, h, dk), ldc: width)
                }
                if let gk {  // dK_η = Gᵀ · Q_η
                    headProduct(m: nk, n: dk, k: nq, a: MatrixOperand(gs.pointer, leadingDimension: nk, transposed: true),
                         b: heads.operand(q, b, h, dk), c: heads.target(gk, b, h, dk), ldc: width)
                }
            }
            return [gq, gk]
        }
    }

    /// Per-head weighted sums `out[b, i, η·d_v + c] = Σ_j weights[b, η, i, j] · v[b, j, η·d_v + c]`, the heads
    /// concatenated. `weights` `[B, H, n_q, n_k]`, `values` `[B, n_k, H·d_v]` → `[B, n_q, H·d_v]`.
    public static func attentionMix(weights: Variable, values: Variable, heads: Int) -> Variable {
        let (a, v) = (weights.value, values.value)
        precondition(a.rank == 4 && v.rank == 3 && a.shape[0] == v.shape[0] && a.shape[1] == heads
                     && a.shape[3] == v.shape[1] && v.shape[2] % heads == 0,
                     "attentionMix: weights \(a.shape), values \(v.shape), heads \(heads)")
        let (batch, nq, nk, width) = (a.shape[0], a.shape[2], a.shape[3], v.shape[2])
        let dv = width / heads
        let heads = HeadLayout(batch: batch, heads: heads)
        let out = Tensor(uninitialized: [batch, nq, width])
        let weightsOf = { (t: Tensor, b: Int, h: Int) in t.pointer + (b * heads.count + h) * nq * nk }
        heads.run(flops: nq * nk * dv) { b, h in  // O_η = A_η V_η
            headProduct(m: nq, n: dv, k: nk, a: MatrixOperand(weightsOf(a, b, h), leadingDimension: nk),
                 b: heads.operand(v, b, h, dv), c: heads.target(out, b, h, dv), ldc: width)
        }
        return record(out, inputs: [weights, values], op: .attentionMix(heads: heads.count)) { g, needs in
            let ga = needs[0] ? Tensor(uninitialized: a.shape) : nil
            let gv = needs[1] ? Tensor(uninitialized: v.shape) : nil
            heads.run(flops: 2 * nq * nk * dv) { b, h in
                let go = heads.operand(g, b, h, dv)
                if let ga {  // dA_η = G_η V_ηᵀ
                    headProduct(m: nq, n: nk, k: dv, a: go, b: heads.operand(v, b, h, dv, transposed: true),
                         c: weightsOf(ga, b, h), ldc: nk)
                }
                if let gv {  // dV_η = A_ηᵀ G_η
                    headProduct(m: nk, n: dv, k: nq, a: MatrixOperand(weightsOf(a, b, h), leadingDimension: nk, transposed: true),
                         b: go, c: heads.target(gv, b, h, dv), ldc: width)
                }
            }
            return [ga, gv]
        }
    }
}

/// Addressing of head η of sample b inside `[B, n, H·d]` tensors, and the parallel loop over (b, η).
private struct HeadLayout {
    let batch: Int
    let count: Int

    init(batch: Int, heads: Int) {
        self.batch = batch
        count = heads
    }

    /// Head `h` of sample `b` of `t` `[B, n, H·d]` as an `[n, d]` operand (row stride H·d), optionally read
    /// transposed.
    @inline(__always)
    func operand(_ t: Tensor, _ b: Int, _ h: Int, _ d: Int, transposed: Bool = false) -> MatrixOperand {
        let width = t.shape[2]
        return MatrixOperand(t.pointer + b * t.shape[1] * width + h * d, leadingDimension: width, transposed: transposed)
    }

    /// Where head `h` of sample `b` of `t` `[B, n, H·d]` starts (row stride H·d).
    @inline(__always)
    func target(_ t: Tensor, _ b: Int, _ h: Int, _ d: Int) -> UnsafeMutablePointer<Float> {
        t.pointer + b * t.shape[1] * t.shape[2] + h * d
    }

    /// `body(b, η)` for every pair; over the pool when the total work (`flops` multiply-adds per pair) is large.
    /// Threads take contiguous ranges of *samples* with all their heads: the heads of one sample write
    /// interleaved columns of the same rows (16 floats = one cache line for H·d = 16), so splitting a sample's
    /// heads between threads would make them fight over those lines, and one atomic claim per tiny pair costs
    /// more than the pair.
    func run(flops: Int, _ body: @escaping (Int, Int) -> Void) {
        let samples = { (range: Range<Int>) in
            for b in range { for h in 0..<count { body(b, h) } }
        }
        let perSample = count * flops
        if batch * perSample < 1 << 16 || batch == 1 { samples(0..<batch); return }
        ThreadPool.shared.parallelRanges(batch, grain: max(1, (1 << 14) / max(perSample, 1)), samples)
    }
}

/// One head's product: the direct small-matrix path for set-sized products, the general GEMM (single-threaded,
/// the caller is already parallel) for large sets.
@inline(__always)
private func headProduct(m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m * n * k <= 1 << 16 {
        smallGemm(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc)
    } else {
        gemm(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, parallel: false)
    }
}
