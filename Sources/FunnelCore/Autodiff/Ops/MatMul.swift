/// Matrix products: plain, fused linear layers, and batched.
extension Variable {
    /// `op(a) · op(b)` for rank-2 operands; `transposeA`/`transposeB` read the stored matrix transposed.
    /// Shapes: op(a) `[m, k]`, op(b) `[k, n]` → `[m, n]`.
    public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let (x, y) = (a.value, b.value)
        precondition(x.rank == 2 && y.rank == 2, "matmul of \(x.shape) and \(y.shape)")
        let (m, k) = transposeA ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        let (k2, n) = transposeB ? (y.shape[1], y.shape[0]) : (y.shape[0], y.shape[1])
        precondition(k == k2, "matmul inner extents differ: \(x.shape)\(transposeA ? "ᵀ" : "") · \(y.shape)\(transposeB ? "ᵀ" : "")")
        let out = Tensor(uninitialized: [m, n])
        gemm(m: m, n: n, k: k, a: operand(x, transposeA), b: operand(y, transposeB), c: out.pointer, ldc: n)
        return record(out, inputs: [a, b], op: .matmul(transposeA: transposeA, transposeB: transposeB)) { g, needs in
            var ga: Tensor?, gb: Tensor?
            if needs[0] {
                // d op(a) = g · op(b)ᵀ, stored back in a's layout.
                let grad = Tensor(uninitialized: x.shape)
                if transposeA {  // a stored [k, m]: ga = op(b) · gᵀ
                    gemm(m: k, n: m, k: n, a: operand(y, transposeB), b: operand(g, true), c: grad.pointer, ldc: m)
                } else {
                    gemm(m: m, n: k, k: n, a: operand(g, false), b: operand(y, !transposeB), c: grad.pointer, ldc: k)
                }
                ga = grad
            }
            if needs[1] {
                let grad = Tensor(uninitialized: y.shape)
                if transposeB {  // b stored [n, k]: gb = gᵀ · op(a)
                    gemm(m: n, n: k, k: m, a: operand(g, true), b: operand(x, transposeA), c: grad.pointer, ldc: k)
                } else {
                    gemm(m: k, n: n, k: m, a: operand(x, !transposeA), b: operand(g, false), c: grad.pointer, ldc: n)
                }
                gb = grad
            }
            return [ga, gb]
        }
    }

    /// A fully connected layer, PyTorch layout: `activation(x · Wᵀ + bias)` with `weight` `[out, in]`, `bias`
    /// `[out]`, `x` `[batch, in]` → `[batch, out]`. Bias and activation run in the GEMM's epilogue.
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?, activation: Activation = .identity) -> Variable {
        let (input, w) = (x.value, weight.value)
        precondition(input.rank == 2 && w.rank == 2 && input.shape[1] == w.shape[1],
                     "linear: input \(input.shape), weight \(w.shape)")
        let (batch, inWidth, outWidth) = (input.shape[0], w.shape[1], w.shape[0])
        let out = Tensor(uninitialized: [batch, outWidth])
        gemm(m: batch, n: outWidth, k: inWidth, a: operand(input, false), b: operand(w, true), c: out.pointer,
             ldc: outWidth, bias: bias.map { UnsafePointer($0.value.pointer) }, activation: activation)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return record(out, inputs: inputs, op: .linear(relu: activation == .relu)) { upstream, needs in
            var g = upstream
            if activation == .relu {  // mask by the output: y > 0 exactly where the pre-activation was positive
                g = Tensor.broadcasting(upstream, out, { $0.replacing(with: 0, where: $1 .<= 0) }, { $1 > 0 ? $0 : 0 })
            }
            var grads: [Tensor?] = [nil, nil, nil]
            if needs[0] {
                let gx = Tensor(uninitialized: input.shape)
                gemm(m: batch, n: inWidth, k: outWidth, a: operand(g, false), b: operand(w, false), c: gx.pointer, ldc: inWidth)
                grads[0] = gx
            }
            if needs[1] {
                let gw = Tensor(uninitialized: w.shape)
                gemm(m: outWidth, n: inWidth, k: batch, a: operand(g, true), b: operand(input, false), c: gw.pointer, ldc: inWidth)
                grads[1] = gw
            }
            if needs.count > 2 && needs[2] {
                let gb = Tensor(uninitialized: [outWidth])
                sumOverRows(g.pointer, rows: batch, columns: outWidth, into: gb.pointer)
                grads[2] = gb
            }
            return Array(grads.prefix(needs.count))
        }
    }

    /// Batched product over the leading axis: `a` `[batch, m, k]` (or `[batch, k, m]` with `transposeA`),
    /// `b` `[batch, k, n]` (or `[batch, n, k]`) → `[batch, m, n]`. Parallel over the batch.
    public static func batchedMatmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let (x, y) = (a.value, b.value)
        precondition(x.rank == 3 && y.rank == 3 && x.shape[0] == y.shape[0], "batchedMatmul of \(x.shape) and \(y.shape)")
        let batch = x.shape[0]
        let (m, k) = transposeA ? (x.shape[2], x.shape[1]) : (x.shape[1], x.shape[2])
        let (k2, n) = transposeB ? (y.shape[2], y.shape[1]) : (y.shape[1], y.shape[2])
        precondition(k == k2, "batchedMatmul inner extents differ: \(x.shape) · \(y.shape)")
        let out = Tensor(uninitialized: [batch, m, n])
        batchedGemm(batch, m: m, n: n, k: k, x, transposeA, y, transposeB, out, accumulate: false)
        return record(out, inputs: [a, b], op: .batchedMatmul(transposeA: transposeA, transposeB: transposeB)) { g, needs in
            var ga: Tensor?, gb: Tensor?
            if needs[0] {
                let grad = Tensor(uninitialized: x.shape)
                if transposeA {
                    batchedGemm(batch, m: k, n: m, k: n, y, transposeB, g, true, grad, accumulate: false)
                } else {
                    batchedGemm(batch, m: m, n: k, k: n, g, false, y, !transposeB, grad, accumulate: false)
                }
                ga = grad
            }
            if needs[1] {
                let grad = Tensor(uninitialized: y.shape)
                if transposeB {
                    batchedGemm(batch, m: n, n: k, k: m, g, true, x, transposeA, grad, accumulate: false)
                } else {
                    batchedGemm(batch, m: k, n: n, k: m, x, !transposeA, g, false, grad, accumulate: false)
                }
                gb = grad
            }
            return [ga, gb]
        }
    }
}

/// A stored rank-2 (or the last two axes of a rank-3) tensor as a GEMM operand.
@inline(__always)
func operand(_ t: Tensor, _ transposed: Bool) -> MatrixOperand {
    MatrixOperand(t.pointer, leadingDimension: t.shape[t.rank - 1], transposed: transposed)
}

/// One GEMM per leading index, contiguous ranges of items spread over the pool (each GEMM single-threaded).
private func batchedGemm(
    _ batch: Int, m: Int, n: Int, k: Int, _ a: Tensor, _ transposeA: Bool, _ b: Tensor, _ transposeB: Bool,
    _ c: Tensor, accumulate: Bool
) {
    let (aStride, bStride, cStride) = (a.count / batch, b.count / batch, m * n)
    let (lda, ldb) = (a.shape[2], b.shape[2])
    let (pa, pb, pc) = (a.pointer, b.pointer, c.pointer)
    let body = { (i: Int) in
        gemm(m: m, n: n, k: k,
             a: MatrixOperand(pa + i * aStride, leadingDimension: lda, transposed: transposeA),
             b: MatrixOperand(pb + i * bStride, leadingDimension: ldb, transposed: transposeB),
             c: pc + i * cStride, ldc: n, accumulate: accumulate, parallel: false)
    }
    if batch * m * n * k < 1 << 16 { for i in 0..<batch { body(i) } } else {
        ThreadPool.shared.parallelRanges(batch, grain: max(1, (1 << 14) / max(m * n * k, 1))) { items in for i in items { body(i) } }
    }
}
