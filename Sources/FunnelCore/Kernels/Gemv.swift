/// Matrix-vector products (`m == 1` or `n == 1`), where the 6×16 tile would be mostly padding.
/// Same contract as `gemm`.
func gemv(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, bias: UnsafePointer<Float>?, activation: Activation
) {
    if m == 1 {
        // c[j] = Σ_p a[p] · B[p, j]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: k + n) { scratch in
            let x = scratch.baseAddress!, result = x + k
            gatherStrided(a.pointer, stride: a.columnStride, count: k, into: x)
            if b.transposed {
                // B stored [n, k]: each output is a contiguous dot product.
                for j in 0..<n { result[j] = dot(x, b.pointer + j * b.leadingDimension, k) }
            } else {
                rowCombination(x, k: k, rows: b.pointer, ld: b.leadingDimension, n: n, into: result)
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
            rowCombination(x, k: k, rows: a.pointer, ld: a.leadingDimension, n: m, into: result)
        } else {
            for i in 0..<m { result[i] = dot(a.pointer + i * a.leadingDimension, x, k) }
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

/// `Σ_p x[p] · y[p]` with four independent 8-lane accumulators.
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    var p = 0
    while p &+ 32 <= count {
        s0 = s0.addingProduct(load8(x + p), load8(y + p))
        s1 = s1.addingProduct(load8(x + (p &+ 8)), load8(y + (p &+ 8)))
        s2 = s2.addingProduct(load8(x + (p &+ 16)), load8(y + (p &+ 16)))
        s3 = s3.addingProduct(load8(x + (p &+ 24)), load8(y + (p &+ 24)))
        p &+= 32
    }
    while p &+ 8 <= count { s0 = s0.addingProduct(load8(x + p), load8(y + p)); p &+= 8 }
    var total = ((s0 + s1) + (s2 + s3)).sum()
    while p < count { total += x[p] * y[p]; p &+= 1 }
    return total
}

@inline(__always)
private func dot(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    dot(UnsafePointer(x), y, count)
}

@inline(__always)
private func dot(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
    dot(x, UnsafePointer(y), count)
}

/// `result[j] = Σ_p x[p] · rows[p·ld + j]`, 64 columns at a time in registers.
@inline(__always)
private func rowCombination(
    _ x: UnsafePointer<Float>, k: Int, rows: UnsafePointer<Float>, ld: Int, n: Int, into result: UnsafeMutablePointer<Float>
) {
    var j = 0
    while j &+ 64 <= n {
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                   SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var row = rows + j
        for p in 0..<k {
            let s = SIMD8<Float>(repeating: x[p])
            acc.0 = acc.0.addingProduct(s, load8(row)); acc.1 = acc.1.addingProduct(s, load8(row + 8))
            acc.2 = acc.2.addingProduct(s, load8(row + 16)); acc.3 = acc.3.addingProduct(s, load8(row + 24))
            acc.4 = acc.4.addingProduct(s, load8(row + 32)); acc.5 = acc.5.addingProduct(s, load8(row + 40))
            acc.6 = acc.6.addingProduct(s, load8(row + 48)); acc.7 = acc.7.addingProduct(s, load8(row + 56))
            row += ld
        }
        let out = result + j
        store8(acc.0, out); store8(acc.1, out + 8); store8(acc.2, out + 16); store8(acc.3, out + 24)
        store8(acc.4, out + 32); store8(acc.5, out + 40); store8(acc.6, out + 48); store8(acc.7, out + 56)
        j &+= 64
    }
    while j &+ 8 <= n {
        var acc = SIMD8<Float>()
        var row = rows + j
        for p in 0..<k { acc = acc.addingProduct(SIMD8(repeating: x[p]), load8(row)); row += ld }
        store8(acc, result + j)
        j &+= 8
    }
    while j < n {
        var total: Float = 0
        for p in 0..<k { total += x[p] * rows[p * ld + j] }
        result[j] = total
        j &+= 1
    }
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
