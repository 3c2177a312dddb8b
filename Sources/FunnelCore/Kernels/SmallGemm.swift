/// `C[m, n] (+)= op(A)[m, k] · op(B)[k, n]` for the small products of attention over sets (41 × 41 × 8 per head
/// and sample): the general `gemm` spends ~10 µs per call on packing, work planning and ragged tiles there, this
/// path ~1 µs. op(B) is copied once into a row-major scratch `[k, n8]` (n rounded up to 8); the selected kernels'
/// `smallGemm` then forms each row of C as Σ_p A[i, p] · B[p, :] in registers. Single-threaded; callers
/// parallelise over the batch.
public func smallGemm(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false, kernels: KernelSet = .selected
) {
    if m == 0 || n == 0 { return }
    let n8 = (n + 7) & ~7
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(k * n8, 1)) { scratch in
        let panel = scratch.baseAddress!
        for p in 0..<k {
            let target = panel + p * n8
            for j in 0..<n { target[j] = b.pointer[p * b.rowStride + j * b.columnStride] }
            for j in n..<n8 { target[j] = 0 }
        }
        kernels.smallGemm(m: m, n: n, k: k, a: a.pointer, rowStride: a.rowStride, columnStride: a.columnStride,
                          panel: panel, ldp: n8, c: c, ldc: ldc, accumulate: accumulate)
    }
}
