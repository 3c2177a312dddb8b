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
    /// call overhead than in arithmetic; the op runs 8-lane dot products and AXPYs per sample instead, samples
    /// spread over the thread pool. The backward pass reuses the saved weights:
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
        forEachSample(batch, work: nq * nk * width) { b in
            attentionForward(shape, qp + b * nq * width, kp + b * nk * width, vp + b * nk * width,
                             op + b * nq * width, ap + b * heads * nq * nk)
        }
        let output = record(out, inputs: [query, key, value]) { g, needs in
            // Pointers re-derived from the captured tensors, which keeps those buffers alive with the tape.
            let (qp, kp, vp, ap) = (q.pointer, k.pointer, v.pointer, weights.pointer)
            let dq = Tensor(uninitialized: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
            let (gp, dqp, dkp, dvp) = (g.pointer, dq.pointer, dk.pointer, dv.pointer)
            forEachSample(batch, work: 2 * nq * nk * width) { b in
                attentionBackward(shape, gp + b * nq * width, qp + b * nq * width, kp + b * nk * width, vp + b * nk * width,
                                  ap + b * heads * nq * nk, dqp + b * nq * width, dkp + b * nk * width, dvp + b * nk * width)
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
}

/// Runs `body(b)` for every sample, over the pool when the batch holds enough arithmetic (`work` flops per sample).
@inline(__always)
private func forEachSample(_ batch: Int, work: Int, _ body: @escaping (Int) -> Void) {
    let grain = max(1, (1 << 15) / max(work, 1))
    ThreadPool.shared.parallelRanges(batch, grain: grain) { range in for b in range { body(b) } }
}

/// Forward for one sample: weights `a` `[H, nq, nk]` and output `o` `[nq, d]`.
private func attentionForward(
    _ s: AttentionShape, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
    _ o: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>
) {
    let (dk, d, scale) = (s.headWidth, s.width, s.scale)
    for h in 0..<s.heads {
        let column = h * dk
        for i in 0..<s.nq {
            let row = a + (h * s.nq + i) * s.nk
            let qi = q + i * d + column
            var top = -Float.infinity
            for j in 0..<s.nk {
                let score = dot(qi, k + j * d + column, dk) * scale
                row[j] = score
                top = max(top, score)
            }
            var total: Float = 0
            for j in 0..<s.nk {
                let e = expf(row[j] - top)
                row[j] = e
                total += e
            }
            let inverse = 1 / total
            let oi = o + i * d + column
            oi.update(repeating: 0, count: dk)
            for j in 0..<s.nk {
                row[j] *= inverse
                tokenAxpy(row[j], v + j * d + column, oi, dk)
            }
        }
    }
}

/// Backward for one sample. `dk` and `dv` must be zeroed by the caller; `dq` is overwritten.
private func attentionBackward(
    _ s: AttentionShape, _ g: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
    _ v: UnsafePointer<Float>, _ a: UnsafePointer<Float>,
    _ dq: UnsafeMutablePointer<Float>, _ dK: UnsafeMutablePointer<Float>, _ dV: UnsafeMutablePointer<Float>
) {
    let (dk, d, scale) = (s.headWidth, s.width, s.scale)
    // dS of one query row, reused across rows.
    let ds = UnsafeMutablePointer<Float>.allocate(capacity: max(s.nk, 1))
    defer { ds.deallocate() }
    for h in 0..<s.heads {
        let column = h * dk
        for i in 0..<s.nq {
            let row = a + (h * s.nq + i) * s.nk
            let gi = g + i * d + column, qi = q + i * d + column
            var weighted: Float = 0
            for j in 0..<s.nk {
                let dA = dot(gi, v + j * d + column, dk)
                ds[j] = dA
                weighted += row[j] * dA
                tokenAxpy(row[j], gi, dV + j * d + column, dk)
            }
            let dqi = dq + i * d + column
            dqi.update(repeating: 0, count: dk)
            for j in 0..<s.nk {
                let dS = row[j] * (ds[j] - weighted) * scale
                tokenAxpy(dS, k + j * d + column, dqi, dk)
                tokenAxpy(dS, qi, dK + j * d + column, dk)
            }
        }
    }
}

/// `y[i] += alpha·x[i]` over `n` floats.
@inline(__always)
private func tokenAxpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i &+ 8 <= n {
        store8(load8(y + i).addingProduct(a, load8(x + i)), y + i)
        i &+= 8
    }
    while i < n { y[i] += alpha * x[i]; i &+= 1 }
}
