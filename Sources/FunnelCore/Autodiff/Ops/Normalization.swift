/// Batch normalisation (PyTorch `BatchNorm1d` semantics) and layer normalisation, each with an optional fused
/// ReLU.
extension Variable {
    /// Training-mode batch norm over `x` `[batch, channels]` with the batch mean and **biased** batch variance:
    /// `y = activation(γ ⊙ (x − μ) / √(σ² + ε) + β)`. Returns the output and the batch statistics (`[channels]`
    /// each) so the caller can update running statistics.
    public static func batchNorm(
        _ x: Variable, scale gamma: Variable, shift beta: Variable, epsilon: Float = 1e-5, activation: Activation = .identity
    ) -> (output: Variable, mean: Tensor, variance: Tensor) {
        let input = x.value, gammaValue = gamma.value
        precondition(input.rank == 2 && input.shape[0] > 1, "batchNorm needs [batch > 1, channels], got \(input.shape)")
        let (rows, columns) = (input.shape[0], input.shape[1])
        let mean = Tensor(uninitialized: [columns]), variance = Tensor(uninitialized: [columns])
        columnMoments(input, rows: rows, columns: columns, mean: mean, variance: variance)
        let inverseStd = variance.map({ 1 / ($0 + SIMD8(repeating: epsilon)).squareRoot() }, { 1 / ($0 + epsilon).squareRoot() })
        let normalized = Tensor(uninitialized: input.shape)
        let out = Tensor(uninitialized: input.shape)
        let (xp, np, yp, mp, sp, gp, bp) = (input.pointer, normalized.pointer, out.pointer, mean.pointer, inverseStd.pointer,
                                           gamma.value.pointer, beta.value.pointer)
        let relu = activation == .relu
        ThreadPool.shared.parallelRanges(rows, grain: max(1, parallelElementThreshold / max(columns, 1))) { range in
            for i in range {
                let xr = xp + i * columns, nr = np + i * columns, yr = yp + i * columns
                ternaryMap(xr, mp, sp, nr, columns, { ($0 - $1) * $2 }, { ($0 - $1) * $2 })
                ternaryMap(nr, gp, bp, yr, columns, { v, g, b in
                    let y = v * g + b
                    return relu ? y.replacing(with: 0, where: y .< 0) : y
                }, { v, g, b in
                    let y = v * g + b
                    return relu && y < 0 ? 0 : y
                })
            }
        }
        let output = record(out, inputs: [x, gamma, beta], op: .trainingOnly("batchNorm (training mode)")) { upstream, needs in
            let g = relu ? Tensor.broadcasting(upstream, out, { $0.replacing(with: 0, where: $1 .<= 0) }, { $1 > 0 ? $0 : 0 }) : upstream
            // dβ = Σ g, dγ = Σ g ⊙ x̂, dx = γ/(B·σ) ⊙ (B·g − Σ g − x̂ ⊙ Σ g ⊙ x̂)
            let sumG = Tensor(uninitialized: [columns]), sumGX = Tensor(zeros: [columns])
            sumOverRows(g.pointer, rows: rows, columns: columns, into: sumG.pointer)
            for i in 0..<rows {
                ternaryMap(sumGX.pointer, g.pointer + i * columns, normalized.pointer + i * columns, sumGX.pointer, columns,
                           { $0 + $1 * $2 }, { $0 + $1 * $2 })
            }
            var gx: Tensor?
            if needs[0] {
                let dx = Tensor(uninitialized: input.shape)
                let factor = Tensor(uninitialized: [columns])
                binaryMap(gammaValue.pointer, inverseStd.pointer, factor.pointer, columns, { $0 * $1 }, { $0 * $1 })
                let meanG = sumG.scaled(by: 1 / Float(rows)), meanGX = sumGX.scaled(by: 1 / Float(rows))
                let (dp, gp2, np2, fp, ap, bp2) = (dx.pointer, g.pointer, normalized.pointer, factor.pointer, meanG.pointer, meanGX.pointer)
                ThreadPool.shared.parallelRanges(rows, grain: max(1, parallelElementThreshold / max(columns, 1))) { range in
                    for i in range {
                        let o = i * columns
                        var j = 0
                        while j + 8 <= columns {
                            let v = load8(fp + j) * (load8(gp2 + (o + j)) - load8(ap + j) - load8(np2 + (o + j)) * load8(bp2 + j))
                            store8(v, dp + (o + j))
                            j += 8
                        }
                        while j < columns {
                            dp[o + j] = fp[j] * (gp2[o + j] - ap[j] - np2[o + j] * bp2[j])
                            j += 1
                        }
                    }
                }
                gx = dx
            }
            return [gx, needs[1] ? sumGX : nil, needs[2] ? sumG : nil]
        }
        return (output, mean, variance)
    }

    /// Layer normalisation over the last axis: `y = γ ⊙ (x − μ_row) / √(σ²_row + ε) + β`, `γ`, `β` `[features]`.
    public static func layerNorm(_ x: Variable, scale gamma: Variable, shift beta: Variable, epsilon: Float = 1e-5) -> Variable {
        let input = x.value, gammaValue = gamma.value
        let columns = input.shape.last!
        let rows = input.count / columns
        let normalized = Tensor(uninitialized: input.shape), out = Tensor(uninitialized: input.shape)
        let inverseStd = Tensor(uninitialized: [rows])
        for i in 0..<rows {
            let row = input.pointer + i * columns
            let mean = sumOf(row, columns) / Float(columns)
            var squares = 0.0
            for j in 0..<columns { let d = Double(row[j] - mean); squares += d * d }
            let s = 1 / (Float(squares / Double(columns)) + epsilon).squareRoot()
            inverseStd.pointer[i] = s
            let m = SIMD8<Float>(repeating: mean), sv = SIMD8<Float>(repeating: s)
            unaryMap(row, normalized.pointer + i * columns, columns, { ($0 - m) * sv }, { ($0 - mean) * s })
            ternaryMap(normalized.pointer + i * columns, gamma.value.pointer, beta.value.pointer, out.pointer + i * columns,
                       columns, { $0 * $1 + $2 }, { $0 * $1 + $2 })
        }
        return record(out, inputs: [x, gamma, beta], op: .layerNorm(epsilon: epsilon)) { g, needs in
            let gGamma = Tensor(zeros: [columns]), gBeta = Tensor(uninitialized: [columns])
            sumOverRows(g.pointer, rows: rows, columns: columns, into: gBeta.pointer)
            let dx = Tensor(uninitialized: input.shape)
            for i in 0..<rows {
                let gr = g.pointer + i * columns, nr = normalized.pointer + i * columns
                ternaryMap(gGamma.pointer, gr, nr, gGamma.pointer, columns, { $0 + $1 * $2 }, { $0 + $1 * $2 })
                // dx = s/N · (N·ĝ − Σ ĝ − x̂ Σ ĝ x̂), ĝ = g ⊙ γ
                var sumG: Float = 0, sumGX: Float = 0
                for j in 0..<columns {
                    let gh = gr[j] * gammaValue.pointer[j]
                    sumG += gh
                    sumGX += gh * nr[j]
                }
                let s = inverseStd.pointer[i], n = Float(columns)
                for j in 0..<columns {
                    let gh = gr[j] * gammaValue.pointer[j]
                    dx.pointer[i * columns + j] = s / n * (n * gh - sumG - nr[j] * sumGX)
                }
            }
            return [needs[0] ? dx : nil, needs[1] ? gGamma : nil, needs[2] ? gBeta : nil]
        }
    }
}

/// Per-column mean and biased variance of a `[rows, columns]` matrix: two passes (mean, then squared deviations)
/// with 8-lane Float32 accumulators.
private func columnMoments(_ x: Tensor, rows: Int, columns: Int, mean: Tensor, variance: Tensor) {
    sumOverRows(x.pointer, rows: rows, columns: columns, into: mean.pointer)
    let inverseRows = 1 / Float(rows), r = SIMD8<Float>(repeating: inverseRows)
    unaryMap(mean.pointer, mean.pointer, columns, { $0 * r }, { $0 * inverseRows })
    variance.pointer.update(repeating: 0, count: columns)
    for i in 0..<rows {
        ternaryMap(variance.pointer, x.pointer + i * columns, mean.pointer, variance.pointer, columns,
                   { let d = $1 - $2; return $0 + d * d }, { let d = $1 - $2; return $0 + d * d })
    }
    unaryMap(variance.pointer, variance.pointer, columns, { $0 * r }, { $0 * inverseRows })
}
