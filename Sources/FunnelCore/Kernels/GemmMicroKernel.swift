/// Rows and columns of the register tile computed by one micro-kernel call.
let gemmTileRows = 6
let gemmTileColumns = 16

/// The 6×16 register-blocked FMA micro-kernel: `C[0..<6, 0..<16] (+)= A[0..<6, 0..<kc] · Bpanel[0..<kc, 0..<16]`.
///
/// - A is read in place: element (i, p) is at `a + i·rowStride + p·columnStride` (covers A and Aᵀ).
/// - `panel` is a packed B panel: `kc` rows of 16 contiguous floats.
/// - `load`: add the existing C tile (otherwise overwrite). `bias` (16 floats) and `relu` form the fused
///   epilogue, applied after the sum.
/// 12 `SIMD8<Float>` accumulators + 2 B vectors + 1 broadcast use 15 of the 16 ymm registers; with
/// `-mavx2 -mfma` each update is one `vfmadd231ps ymm`. Index math uses wrapping operators so that
/// overflow checks do not spill registers.
@inline(__always)
func gemmMicroKernel(
    _ kc: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ columnStride: Int,
    _ panel: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
    load: Bool, bias: UnsafePointer<Float>?, relu: Bool
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    let r1 = rowStride, r2 = rowStride &* 2, r3 = rowStride &* 3, r4 = rowStride &* 4, r5 = rowStride &* 5
    var ap = a
    var bp = panel
    var p = 0
    while p < kc {
        let b0 = load8(bp), b1 = load8(bp.advanced(by: 8))
        var x = SIMD8<Float>(repeating: ap.pointee)
        c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[r1])
        c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[r2])
        c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[r3])
        c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[r4])
        c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[r5])
        c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        ap = ap.advanced(by: columnStride)
        bp = bp.advanced(by: 16)
        p &+= 1
    }
    @inline(__always)
    func finish(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ row: UnsafeMutablePointer<Float>) {
        var lo = lo, hi = hi
        if load { lo += load8(row); hi += load8(row.advanced(by: 8)) }
        if let bias { lo += load8(bias); hi += load8(bias.advanced(by: 8)) }
        if relu {
            lo = lo.replacing(with: 0, where: lo .< 0)
            hi = hi.replacing(with: 0, where: hi .< 0)
        }
        store8(lo, row); store8(hi, row.advanced(by: 8))
    }
    finish(c00, c01, c)
    finish(c10, c11, c.advanced(by: ldc))
    finish(c20, c21, c.advanced(by: ldc &* 2))
    finish(c30, c31, c.advanced(by: ldc &* 3))
    finish(c40, c41, c.advanced(by: ldc &* 4))
    finish(c50, c51, c.advanced(by: ldc &* 5))
}
