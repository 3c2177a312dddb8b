/// `C[m, n] (+)= op(A)[m, k] · op(B)[k, n]` for the small products of attention over sets (41 × 41 × 8 per head
/// and sample): the general `gemm` spends ~10 µs per call on packing, work planning and ragged 6×16 tiles there,
/// this path ~1 µs. op(B) is copied once into a row-major scratch `[k, n8]` (n rounded up to 8); each row of C is
/// then Σ_p A[i, p] · B[p, :], accumulated in up to four 8-lane registers per 32-column block. Single-threaded;
/// callers parallelise over the batch.
public func smallGemm(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false
) {
    if m == 0 || n == 0 { return }
    let n8 = (n + 7) & ~7
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(k * n8 + 32, 1)) { scratch in
        let panel = scratch.baseAddress!, row = panel + k * n8
        for p in 0..<k {
            let target = panel + p * n8
            for j in 0..<n { target[j] = b.pointer[p * b.rowStride + j * b.columnStride] }
            for j in n..<n8 { target[j] = 0 }
        }
        let (ars, acs) = (a.rowStride, a.columnStride)
        for i in 0..<m {
            let ai = a.pointer + i * ars, ci = c + i * ldc
            var j0 = 0
            while j0 < n8 {
                let vectors = min(4, (n8 - j0) / 8)
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var bp = UnsafePointer(panel + j0)
                for p in 0..<k {
                    let x = SIMD8<Float>(repeating: ai[p * acs])
                    s0 = s0.addingProduct(x, load8(bp))
                    if vectors > 1 { s1 = s1.addingProduct(x, load8(bp + 8)) }
                    if vectors > 2 { s2 = s2.addingProduct(x, load8(bp + 16)) }
                    if vectors > 3 { s3 = s3.addingProduct(x, load8(bp + 24)) }
                    bp += n8
                }
                store8(s0, row)
                store8(s1, row + 8)
                store8(s2, row + 16)
                store8(s3, row + 24)
                let count = min(vectors * 8, n - j0)
                if accumulate {
                    binaryMap(ci + j0, row, ci + j0, count, { $0 + $1 }, { $0 + $1 })
                } else {
                    (ci + j0).update(from: row, count: count)
                }
                j0 += vectors * 8
            }
        }
    }
}
