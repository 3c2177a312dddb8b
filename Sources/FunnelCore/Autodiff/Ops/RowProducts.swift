/// Elementwise products of every pair of rows of two matrices: the feature maps `Z^k` of xDeepFM's CIN.
extension Variable {
    /// `out[i·p + j, :] = a[i, :] ⊙ b[j, :]` for `a` `[m, n]`, `b` `[p, n]` → `[m·p, n]`. Rows are long (n = B·d in
    /// CIN's fields-first layout), so every pass runs eight lanes at a time, split over the pool by row.
    public static func pairwiseRowProducts(_ a: Variable, _ b: Variable) -> Variable {
        let (x, y) = (a.value, b.value)
        precondition(x.rank == 2 && y.rank == 2 && x.shape[1] == y.shape[1], "pairwiseRowProducts of \(x.shape) and \(y.shape)")
        let (m, p, n) = (x.shape[0], y.shape[0], x.shape[1])
        let out = Tensor(uninitialized: [m * p, n])
        let (xp, yp, op) = (x.pointer, y.pointer, out.pointer)
        rowLoop(m * p, rowLength: n) { r in
            binaryMap(xp + (r / p) * n, yp + (r % p) * n, op + r * n, n, { $0 * $1 }, { $0 * $1 })
        }
        return record(out, inputs: [a, b], op: .pairwiseRowProducts) { g, needs in
            let gp = g.pointer
            var ga: Tensor?, gb: Tensor?
            if needs[0] {  // ga[i] = Σ_j g[i·p + j] ⊙ b[j]
                let grad = Tensor(zeros: x.shape)
                rowLoop(m, rowLength: n * p) { i in
                    let target = grad.pointer + i * n
                    for j in 0..<p { ternaryMap(target, gp + (i * p + j) * n, yp + j * n, target, n, { $0 + $1 * $2 }, { $0 + $1 * $2 }) }
                }
                ga = grad
            }
            if needs[1] {  // gb[j] = Σ_i g[i·p + j] ⊙ a[i]
                let grad = Tensor(zeros: y.shape)
                rowLoop(p, rowLength: n * m) { j in
                    let target = grad.pointer + j * n
                    for i in 0..<m { ternaryMap(target, gp + (i * p + j) * n, xp + i * n, target, n, { $0 + $1 * $2 }, { $0 + $1 * $2 }) }
                }
                gb = grad
            }
            return [ga, gb]
        }
    }
}

/// `body(row)` for `0..<rows`, over the pool in contiguous row ranges (one claim per range, not per row) when the
/// total work (`rowLength` elements per row) is large.
@inline(__always)
private func rowLoop(_ rows: Int, rowLength: Int, _ body: @escaping (Int) -> Void) {
    if rows * rowLength < parallelElementThreshold || rows == 1 { for r in 0..<rows { body(r) } } else {
        ThreadPool.shared.parallelRanges(rows, grain: max(1, parallelElementThreshold / 4 / max(rowLength, 1))) { range in
            for r in range { body(r) }
        }
    }
}
