#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused, numerically stable loss reductions. Weights carry task-space masks (0/1) and sample weights.
extension Variable {
    /// `Σ_i w_i · ℓ(z_i, y_i) / normalizer` with `ℓ = max(z, 0) − z·y + log(1 + e^{−|z|})` (binary cross-entropy
    /// on logits). `logits`, `targets`, `weights`: same element count. `weights` nil means all ones;
    /// `normalizer` nil means Σ w (a weighted mean). Scalar result.
    public static func binaryCrossEntropy(logits: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil) -> Variable {
        let z = logits.value
        precondition(z.count == targets.count && (weights?.count ?? z.count) == z.count,
                     "BCE: logits \(z.shape), targets \(targets.shape), weights \(weights?.shape ?? [])")
        let n = z.count
        let norm = normalizer ?? (weights.map { $0.sum() } ?? Float(n))
        var total = 0.0
        for i in 0..<n {
            let x = z.pointer[i], y = targets.pointer[i], w = weights?.pointer[i] ?? 1
            if w == 0 { continue }
            total += Double(w) * Double(max(x, 0) - x * y + log1pf(expf(-abs(x))))
        }
        let value = Tensor(scalar: norm > 0 ? Float(total / Double(norm)) : 0)
        return record(value, inputs: [logits]) { g, _ in
            let scale = norm > 0 ? g.scalar / norm : 0
            let grad = Tensor(uninitialized: z.shape)
            for i in 0..<n {
                let w = weights?.pointer[i] ?? 1
                grad.pointer[i] = w * scale * (stableSigmoid(z.pointer[i]) - targets.pointer[i])
            }
            return [grad]
        }
    }

    /// `Σ_i w_i · (p_i − y_i)² / normalizer` (squared error). Conventions as `binaryCrossEntropy`.
    public static func squaredError(predictions: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil) -> Variable {
        let p = predictions.value
        precondition(p.count == targets.count && (weights?.count ?? p.count) == p.count, "squared error: shapes differ")
        let n = p.count
        let norm = normalizer ?? (weights.map { $0.sum() } ?? Float(n))
        var total = 0.0
        for i in 0..<n {
            let d = Double(p.pointer[i] - targets.pointer[i])
            total += Double(weights?.pointer[i] ?? 1) * d * d
        }
        let value = Tensor(scalar: norm > 0 ? Float(total / Double(norm)) : 0)
        return record(value, inputs: [predictions]) { g, _ in
            let scale = norm > 0 ? 2 * g.scalar / norm : 0
            let grad = Tensor(uninitialized: p.shape)
            for i in 0..<n { grad.pointer[i] = (weights?.pointer[i] ?? 1) * scale * (p.pointer[i] - targets.pointer[i]) }
            return [grad]
        }
    }
}
