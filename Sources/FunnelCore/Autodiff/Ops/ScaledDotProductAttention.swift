#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Multi-head scaled dot-product attention over small token sets (fields, inducing points), fused into one op.
extension Variable {
    /// Multi-head scaled dot-product attention on already projected queries, keys and values.
    ///
    /// The last axis (width `d`) holds `heads` contiguous blocks of `d_k = d / heads` columns; head η reads
    /// columns `η·d_k ..< (η+1)·d_k` of each operand (the layout of `[x W^1 ‖ … ‖ x W^H]`, so no transposes):
    /// ```
    /// A^η[b] = softmax_rows( Q^η[b] K^η[b]ᵀ / √d_k )        [nq, nk]
    /// out[b] = [A^1[b] V^1[b] ‖ … ‖ A^H[b] V^H[b]]          [nq, d]
    /// ```
    /// - Parameters:
    ///   - query: `[batch, nq, d]`.
    ///   - key: `[batch, nk, d]`.
    ///   - value: `[batch, nk, d]`.
    ///   - heads: number of heads H; must divide `d`.
    /// - Returns: the output `[batch, nq, d]` and the attention weights `[batch, H, nq, nk]` (rows sum to one), for
    ///   inspection.
    ///
    /// The token sets are small (tens of tokens, `d_k` ≈ 8), so per-(sample, head) GEMM calls would cost more in
    /// call overhead than in arithmetic; the op runs its own 8-lane loops per sample instead (scores over all keys
    /// at once from a per-head transposed copy, weighted sums accumulated in registers), samples spread over the
    /// thread pool. The backward pass reuses the saved weights:
    /// `dV = Aᵀ dO`, `dA = dO Vᵀ`, `dS = A ⊙ (dA − rowsum(A ⊙ dA))`, `dQ = dS K / √d_k`, `dK = dSᵀ Q / √d_k`.
    public static func scaledDotProductAttention(
        query: Variable, key: Variable, value: Variable, heads: Int
    ) -> (output: Variable, weights: Tensor) {
        let (q, k, v) = (query.value, key.value, value.value)
        precondition(q.rank == 3 && k.rank == 3 && v.rank == 3, "attention operands must be [batch, tokens, d]: \(q.shape) \(k.shape) \(v.shape)")
        let (batch, nq, width) = (q.shape[0], q.shape[1], q.shape[2])
        let nk = k.shape[1]
        precondition(k.shape == [batch, nk, width] && v.shape == k.shape, "attention: query \(q.shape), key \(k.shape), value \(v.shape)")
        precondition(heads > 0 && width % heads == 0, "attention: \(heads) heads do not divide width \(width)")
        let shape = AttentionShape(nq: nq, nk: nk, width: width, heads: heads)
        let out = Tensor(uninitialized: [batch, nq, width])
        let weights = Tensor(uninitialized: [batch, heads, nq, nk])
        let (qp, kp, vp, op, ap) = (q.pointer, k.pointer, v.pointer, out.pointer, weights.pointer)
        forEachSample(batch, work: nq * nk * width, scratchCount: shape.scratch) { b, scratch in
            attentionForward(shape, qp + b * nq * width, kp + b * nk * width, vp + b * nk * width,
                             op + b * nq * width, ap + b * heads * nq * nk, scratch)
        }
        let output = record(out, inputs: [query, key, value], op: .scaledDotProductAttention(heads: heads)) { g, needs in
            // Pointers re-derived from the captured tensors, which keeps those buffers alive with the tape.
            let (qp, kp, vp, ap) = (q.pointer, k.pointer, v.pointer, weights.pointer)
            let dq = Tensor(uninitialized: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
            let (gp, dqp, dkp, dvp) = (g.pointer, dq.pointer, dk.pointer, dv.pointer)
            forEachSample(batch, work: 2 * nq * nk * width, scratchCount: shape.scratch) { b, scratch in
                attentionBackward(shape, gp + b * nq * width, qp + b * nq * width, kp + b * nk * width, vp + b * nk * width,
                                  ap + b * heads * nq * nk, dqp + b * nq * width, dkp + b * nk * width, dvp + b * nk * width, scratch)
            }
            return [needs[0] ? dq : nil, needs[1] ? dk : nil, needs[2] ? dv : nil]
        }
        return (output, weights)
    }
}

/// Extents of one sample's attention problem.
private struct AttentionShape {
    let nq: Int, nk: Int, width: Int, heads: Int
    var headWidth: Int { width / heads }
    var scale: Float { 1 / Float(headWidth).squareRoot() }
    /// Floats of per-range scratch: one head's transposed operand `[d_k, nk]` and one row of `nk` values.
    var scratch: Int { headWidth * nk + nk }
}

/// Runs `body(b, scratch)` for every sample, over the pool when the batch holds enough arithmetic (`work` flops
/// per sample); each contiguous range of samples gets its own `scratch` buffer of `scratchCount` floats.
@inline(__always)
private func forEachSample(_ batch: Int, work: Int, scratchCount: Int, _ body: @escaping (Int, UnsafeMutablePointer<Float>) -> Void) {
    let grain = max(1, (1 << 15) / max(work, 1))
    ThreadPool.shared.parallelRanges(batch, grain: grain) { range in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(scratchCount, 1))
        defer { scratch.deallocate() }
        for b in range { body(b, scratch) }
    }
}

/// `t[c, j] = m[j, column + c]` for `c < dk`, `j < nk`: one head's columns of a `[nk, d]` operand, transposed so
/// that a query's scores (or a gradient row's products) over all `nk` tokens are 8-lane AXPYs.
@inline(__always)
private func transposeHead(_ m: UnsafePointer<Float>, column: Int, _ s: AttentionShape, into t: UnsafeMutablePointer<Float>) {
    let (dk, d, nk) = (s.headWidth, s.width, s.nk)
    for j in 0..<nk {
        let row = m + j * d + column
        for c in 0..<dk { t[c * nk + j] = row[c] }
    }
}

/// `out[j] = scale · ⟨x, m[j, column ..< column + dk]⟩` for `j < nk`. With at least 8 tokens, 8-lane AXPYs over
/// the tokens of the transposed head `t` (from `transposeHead`); with fewer, one dot product per token.
@inline(__always)
private func productsOverTokens(_ x: UnsafePointer<Float>, _ m: UnsafePointer<Float>, _ t: UnsafePointer<Float>, column: Int,
                                _ s: AttentionShape, scale: Float, into out: UnsafeMutablePointer<Float>) {
    let (dk, nk) = (s.headWidth, s.nk)
    if nk < 8 {
        for j in 0..<nk { out[j] = dot(x, m + (j * s.width + column), dk) * scale }
        return
    }
    out.update(repeating: 0, count: nk)
    for c in 0..<dk { axpy(x[c] * scale, t + c * nk, out, nk) }
}

/// `y[0..<dk] = Σ_j w[j] · m[j, column ..< column + dk]` with the sum held in registers, 8 columns at a time.
/// Inline Swift (multiply, then add: no `addingProduct`, which is a libm call per lane without FMA flags): a
/// kernel call per head-wide row costs more than these few vectors.
@inline(__always)
private func combineRows(_ w: UnsafePointer<Float>, _ m: UnsafePointer<Float>, column: Int, _ s: AttentionShape,
                         into y: UnsafeMutablePointer<Float>) {
    let (dk, d, nk) = (s.headWidth, s.width, s.nk)
    var c = 0
    while c &+ 8 <= dk {
        var total = SIMD8<Float>()
        for j in 0..<nk { total += SIMD8(repeating: w[j]) * load8(m + (j * d + column + c)) }
        store8(total, y + c)
        c &+= 8
    }
    while c < dk {
        var total: Float = 0
        for j in 0..<nk { total += w[j] * m[j * d + column + c] }
        y[c] = total
        c &+= 1
    }
}

/// Forward for one sample: weights `a` `[H, nq, nk]` and output `o` `[nq, d]`.
private func attentionForward(
    _ s: AttentionShape, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
    _ o: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>
) {
    let (dk, d, nk, scale) = (s.headWidth, s.width, s.nk, s.scale)
    for h in 0..<s.heads {
        let column = h * dk
        if nk >= 8 { transposeHead(k, column: column, s, into: scratch) }
        for i in 0..<s.nq {
            let row = a + (h * s.nq + i) * nk
            productsOverTokens(q + i * d + column, k, scratch, column: column, s, scale: scale, into: row)
            var top = -Float.infinity
            for j in 0..<nk { top = max(top, row[j]) }
            var total: Float = 0
            for j in 0..<nk {
                let e = expf(row[j] - top)
                row[j] = e
                total += e
            }
            let inverse = 1 / total
            for j in 0..<nk { row[j] *= inverse }
            combineRows(row, v, column: column, s, into: o + i * d + column)
        }
    }
}

/// Backward for one sample. `dK` and `dV` must be zeroed by the caller; `dq` is overwritten.
private func attentionBackward(
    _ s: AttentionShape, _ g: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
    _ v: UnsafePointer<Float>, _ a: UnsafePointer<Float>,
    _ dq: UnsafeMutablePointer<Float>, _ dK: UnsafeMutablePointer<Float>, _ dV: UnsafeMutablePointer<Float>,
    _ scratch: UnsafeMutablePointer<Float>
) {
    let (dk, d, nk, scale) = (s.headWidth, s.width, s.nk, s.scale)
    let ds = scratch + dk * nk  // one row of dA, then dS
    for h in 0..<s.heads {
        let column = h * dk
        if nk >= 8 { transposeHead(v, column: column, s, into: scratch) }
        for i in 0..<s.nq {
            let row = a + (h * s.nq + i) * nk
            let gi = g + i * d + column, qi = q + i * d + column
            productsOverTokens(gi, v, scratch, column: column, s, scale: 1, into: ds)  // dA_j = ⟨g_i, v_j⟩
            var weighted: Float = 0
            for j in 0..<nk { weighted += row[j] * ds[j] }
            for j in 0..<nk {
                ds[j] = row[j] * (ds[j] - weighted) * scale  // dS_j / √d_k
                axpy(row[j], gi, dV + j * d + column, dk)
                axpy(ds[j], qi, dK + j * d + column, dk)
            }
            combineRows(ds, k, column: column, s, into: dq + i * d + column)
        }
    }
}

/// `y[i] += alpha·x[i]` over `n` floats (inline, as `combineRows`).
@inline(__always)
private func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i &+ 8 <= n {
        store8(load8(y + i) + a * load8(x + i), y + i)
        i &+= 8
    }
    while i < n { y[i] += alpha * x[i]; i &+= 1 }
}
