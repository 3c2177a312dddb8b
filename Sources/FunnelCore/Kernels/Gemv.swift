/// Matrix-vector products (`m == 1` or `n == 1`), where a register tile would be mostly padding.
/// Same contract as `gemm`; the inner loops are the kernels' `rowDots` and `rowCombination`.
func gemv(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, bias: UnsafePointer<Float>?, activation: Activation, kernels: KernelSet
) {
    if m == 1 {
        // c[j] = Σ_p a[p] · B[p, j]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: k + n) { scratch in
            let x = scratch.baseAddress!, result = x + k
            gatherStrided(a.pointer, stride: a.columnStride, count: k, into: x)
            if b.transposed {
                // B stored [n, k]: each output is a contiguous dot product.
                kernels.rowDots(x, k: k, rows: b.pointer, ld: b.leadingDimension, n: n, into: result)
            } else {
                kernels.rowCombination(x, k: k, rows: b.pointer, ld: b.leadingDimension, n: n, into: result)
            }
            applyEpilogue(c, n, accumulate: accumulate, sum: result, bias: bias, activation: activation)
        }
        return
    }
    // n == 1: c[i] = Σ_p A[i, p] · b[p]
    withUnsafeTemporaryAllocation(of: Float.self, capacity: k + m) { scratch in
        let x = scratch.baseAddress!, result = x + k
        gatherStrided(b.pointer, stride: b.rowStride, count: k, into: x)
        if a.transposed {
            // A stored [k, m]: combine its rows.
            kernels.rowCombination(x, k: k, rows: a.pointer, ld: a.leadingDimension, n: m, into: result)
        } else {
            kernels.rowDots(x, k: k, rows: a.pointer, ld: a.leadingDimension, n: m, into: result)
        }
        for i in 0..<m {
            applyEpilogue(c + i * ldc, 1, accumulate: accumulate, sum: result + i, bias: bias, activation: activation)
        }
    }
}

@inline(__always)
private func gatherStrided(_ source: UnsafePointer<Float>, stride: Int, count: Int, into target: UnsafeMutablePointer<Float>) {
    if stride == 1 { target.update(from: source, count: count); return }
    for p in 0..<count { target[p] = source[p * stride] }
}

/// `Σ_p x[p] · y[p]`: long products (gradient sets) with the selected kernels; short ones (attention, softmax
/// backward: a head's or a row's width) inline, where a kernel call would cost more than the arithmetic — multiply,
/// then add, in four 8-lane accumulators (no `addingProduct`: without FMA flags that is a libm call per lane).
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    if count >= 256 { return KernelSet.selected.dot(x, y, count) }
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    var p = 0
    while p &+ 32 <= count {
        s0 += load8(x + p) * load8(y + p)
        s1 += load8(x + (p &+ 8)) * load8(y + (p &+ 8))
        s2 += load8(x + (p &+ 16)) * load8(y + (p &+ 16))
        s3 += load8(x + (p &+ 24)) * load8(y + (p &+ 24))
        p &+= 32
    }
    while p &+ 8 <= count { s0 += load8(x + p) * load8(y + p); p &+= 8 }
    var total = ((s0 + s1) + (s2 + s3)).sum()
    while p < count { total += x[p] * y[p]; p &+= 1 }
    return total
}

/// `c = (accumulate ? c : 0) + sum + bias`, then `activation`, over `n` contiguous floats. `sum` may be nil (0).
@inline(__always)
func applyEpilogue(
    _ c: UnsafeMutablePointer<Float>, _ n: Int, accumulate: Bool, sum: UnsafePointer<Float>?,
    bias: UnsafePointer<Float>?, activation: Activation
) {
    for j in 0..<n {
        var v: Float = accumulate ? c[j] : 0
        if let sum { v += sum[j] }
        if let bias { v += bias[j] }
        if activation == .relu && v < 0 { v = 0 }
        c[j] = v
    }
}

@inline(__always)
private func applyEpilogue(
    _ c: UnsafeMutablePointer<Float>, _ n: Int, accumulate: Bool, sum: UnsafeMutablePointer<Float>,
    bias: UnsafePointer<Float>?, activation: Activation
) {
    applyEpilogue(c, n, accumulate: accumulate, sum: UnsafePointer(sum), bias: bias, activation: activation)
}
