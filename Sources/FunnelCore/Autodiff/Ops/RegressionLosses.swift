#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused regression losses (losses-and-balancing.md §3–4), reduced like the binary losses in `Losses.swift`:
/// `Σ_i w_i · ℓ_i / N` in Float64, N = `normalizer` or Σ w, rows with w = 0 skipped, 0 when N ≤ 0.
extension Variable {
    /// Squared error `ℓ = (p − y)²`. `predictions`, `targets`, `weights`: the same element count. Scalar result.
    public static func squaredError(predictions: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil) -> Variable {
        let p = predictions.value, n = p.count
        precondition(targets.count == n, "squared error: predictions \(p.shape), targets \(targets.shape)")
        let (x, y) = (p.pointer, targets.pointer)
        return reducedLoss([predictions], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            let d = Double(x[i] - y[i])
            return d * d
        }, gradient: { factor in
            let (x, y) = (p.pointer, targets.pointer)
            let grad = Tensor(uninitialized: p.shape)
            for i in 0..<n { grad.pointer[i] = factor[i] == 0 ? 0 : 2 * factor[i] * (x[i] - y[i]) }
            return [grad]
        })
    }

    /// Huber loss with threshold δ (PyTorch `HuberLoss`): `ℓ = ½r²` for |r| ≤ δ, `δ(|r| − ½δ)` otherwise, r = p − y;
    /// `∂ℓ/∂p = clamp(r, −δ, δ)`. Shapes as `squaredError`.
    public static func huber(
        predictions: Variable, targets: Tensor, delta: Float = 1, weights: Tensor? = nil, normalizer: Float? = nil
    ) -> Variable {
        precondition(delta > 0, "Huber threshold must be positive, got \(delta)")
        let p = predictions.value, n = p.count
        precondition(targets.count == n, "Huber: predictions \(p.shape), targets \(targets.shape)")
        let (x, y) = (p.pointer, targets.pointer)
        return reducedLoss([predictions], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            let r = x[i] - y[i]
            return Double(abs(r) <= delta ? 0.5 * r * r : delta * (abs(r) - 0.5 * delta))
        }, gradient: { factor in
            let (x, y) = (p.pointer, targets.pointer)
            let grad = Tensor(uninitialized: p.shape)
            for i in 0..<n { grad.pointer[i] = factor[i] == 0 ? 0 : factor[i] * min(max(x[i] - y[i], -delta), delta) }
            return [grad]
        })
    }

    /// Zero-inflated lognormal negative log-likelihood (§4, `google/lifetime_value`). `logits` `[B, 3]` =
    /// (a, μ, s_raw) per row; `targets` `[B]` non-negative amounts on the raw scale. Per row, with
    /// `σ_ln = max(softplus(s_raw), √ε_f32)`:
    /// `ℓ = BCE_logits(a, 1[y > 0]) + 1[y > 0]·(log y + log σ_ln + ½ log 2π + (log y − μ)² / (2σ_ln²))`.
    /// Rows with y = 0 never form log y. The default reduction (N = B, unit weights) is the reference batch mean.
    public static func zeroInflatedLognormal(
        logits: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil
    ) -> Variable {
        let z = logits.value, n = targets.count
        precondition(z.shape == [n, 3], "ZILN: logits \(z.shape) for \(n) targets (expected [\(n), 3])")
        let (v, y) = (z.pointer, targets.pointer)
        let floor = ZeroInflatedLognormal.scaleFloor, halfLogTwoPi: Float = 0.918_938_533  // ½ log 2π
        return reducedLoss([logits], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            precondition(y[i] >= 0, "ZILN: negative target \(y[i]) in row \(i)")
            let (a, mu, raw) = (v[3 * i], v[3 * i + 1], v[3 * i + 2])
            let positive: Float = y[i] > 0 ? 1 : 0
            let classification = max(a, 0) - a * positive + log1pf(expf(-abs(a)))
            guard positive == 1 else { return Double(classification) }
            let sigma = max(stableSoftplus(raw), floor), u = logf(y[i])
            let d = u - mu
            return Double(classification) + Double(u + logf(sigma) + halfLogTwoPi + d * d / (2 * sigma * sigma))
        }, gradient: { factor in
            let (v, y) = (z.pointer, targets.pointer)
            let grad = Tensor(zeros: z.shape)
            for i in 0..<n where factor[i] != 0 {
                let (a, mu, raw) = (v[3 * i], v[3 * i + 1], v[3 * i + 2])
                let positive: Float = y[i] > 0 ? 1 : 0
                grad.pointer[3 * i] = factor[i] * (stableSigmoid(a) - positive)
                guard positive == 1 else { continue }
                let spread = stableSoftplus(raw), sigma = max(spread, floor), d = logf(y[i]) - mu
                let sigma2 = sigma * sigma
                grad.pointer[3 * i + 1] = -factor[i] * d / sigma2
                let dSigma = 1 / sigma - d * d / (sigma2 * sigma)
                grad.pointer[3 * i + 2] = spread > floor ? factor[i] * dSigma * stableSigmoid(raw) : 0
            }
            return [grad]
        })
    }
}

/// Reading a zero-inflated lognormal head `[B, 3]` = (a, μ, s_raw) (losses-and-balancing.md §4).
public enum ZeroInflatedLognormal {
    /// The loss's lower bound on σ_ln: √ε_f32 = 2^−11.5 ≈ 3.4527e-4.
    public static let scaleFloor = Float(Double(Float.ulpOfOne).squareRoot())

    /// P(y > 0) = σ(a), `[B]`.
    public static func positiveProbability(logits: Tensor) -> Tensor {
        column(logits) { a, _, _ in stableSigmoid(a) }
    }

    /// The median amount given a positive amount, exp(μ), `[B]`.
    public static func positiveMedian(logits: Tensor) -> Tensor {
        column(logits) { _, mu, _ in expf(mu) }
    }

    /// The predicted mean E[y] = σ(a)·exp(μ + σ_ln²/2) with σ_ln = softplus(s_raw) (no floor, as the reference),
    /// `[B]`. `exponentCap`: the exponent μ + σ_ln²/2 is clamped to at most this before exp (default 20, a spec
    /// [DECISION]; nil = no clamp, the reference behaviour).
    public static func mean(logits: Tensor, exponentCap: Float? = 20) -> Tensor {
        column(logits) { a, mu, raw in
            let sigma = stableSoftplus(raw)
            let exponent = mu + sigma * sigma / 2
            return stableSigmoid(a) * expf(exponentCap.map { min(exponent, $0) } ?? exponent)
        }
    }

    private static func column(_ logits: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[1] == 3, "ZILN logits must be [B, 3], got \(logits.shape)")
        let rows = logits.shape[0], v = logits.pointer
        let out = Tensor(uninitialized: [rows])
        for i in 0..<rows { out.pointer[i] = f(v[3 * i], v[3 * i + 1], v[3 * i + 2]) }
        return out
    }
}

