#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused, numerically stable binary losses (losses-and-balancing.md §1–2). Every loss here reduces per-row terms
/// ℓ_i the same way: `Σ_i w_i · ℓ_i / N`, accumulated in Float64, where `weights` w carry task-space masks (0/1)
/// times sample weights (nil means all ones) and N is `normalizer`, or Σ w when nil (the space mean). Rows with
/// w = 0 are skipped entirely (their ℓ is never formed, so a sentinel label there cannot produce NaN). When
/// N ≤ 0 (an empty space) the loss is 0 and every gradient is 0.
extension Variable {
    /// `Σ w·ℓ / N` for `rows` rows, where `loss(i)` is ℓ_i; `gradient` receives the per-row factors
    /// `∂(output)/∂ℓ_i = g · w_i / N` (exactly 0 where w_i = 0 or N ≤ 0) and returns the inputs' gradients.
    /// `gradient` runs after the forward call returns, so it must capture tensors, never only their pointers
    /// (a buffer nobody holds returns to the pool and is reused).
    static func reducedLoss(
        _ inputs: [Variable], rows: Int, weights: Tensor?, normalizer: Float?,
        loss: (Int) -> Double, gradient: @escaping (_ rowFactors: UnsafePointer<Float>) -> [Tensor?]
    ) -> Variable {
        precondition((weights?.count ?? rows) == rows, "loss weights \(weights?.shape ?? []) for \(rows) rows")
        var total = 0.0, weightSum = 0.0
        for i in 0..<rows {
            let w = Double(weights?.pointer[i] ?? 1)
            precondition(w >= 0, "negative loss weight \(w) in row \(i)")
            if w == 0 { continue }
            weightSum += w
            total += w * loss(i)
        }
        let norm = normalizer.map(Double.init) ?? weightSum
        let inverse = norm > 0 ? 1 / norm : 0
        return record(Tensor(scalar: Float(total * inverse)), inputs: inputs, op: .trainingOnly("loss")) { g, _ in
            let factors = Tensor(uninitialized: [rows])
            let scale = Double(g.scalar) * inverse
            for i in 0..<rows { factors.pointer[i] = Float(Double(weights?.pointer[i] ?? 1) * scale) }
            return gradient(factors.pointer)
        }
    }

    /// Binary cross-entropy on logits (§2.1): `ℓ = max(z, 0) − z·y + log1p(e^{−|z|})`, and with a positive-class
    /// weight ω `ℓ = (1 − y)·z + (1 + (ω − 1)·y)·softplus(−z)`; `∂ℓ/∂z = (1 + (ω − 1)·y)·σ(z) − ω·y`.
    /// `logits`, `targets` (in [0, 1], soft labels allowed), `weights`: the same element count. Scalar result.
    public static func binaryCrossEntropy(
        logits: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil, positiveWeight: Float = 1
    ) -> Variable {
        let z = logits.value, n = z.count, extra = positiveWeight - 1
        precondition(targets.count == n, "BCE: logits \(z.shape), targets \(targets.shape)")
        let (x, y) = (z.pointer, targets.pointer)
        return reducedLoss([logits], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            let tail = log1pf(expf(-abs(x[i])))
            let plain = max(x[i], 0) - x[i] * y[i] + tail
            return Double(extra == 0 ? plain : plain + extra * y[i] * (max(-x[i], 0) + tail))
        }, gradient: { factor in
            let (x, y) = (z.pointer, targets.pointer)
            let grad = Tensor(uninitialized: z.shape)
            for i in 0..<n {
                let c = 1 + extra * y[i]
                grad.pointer[i] = factor[i] == 0 ? 0 : factor[i] * (c * stableSigmoid(x[i]) - positiveWeight * y[i])
            }
            return [grad]
        })
    }

    /// Binary cross-entropy on probabilities with PyTorch's clamp (§2.2, `nn.BCELoss`):
    /// `ℓ = −[ω·y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)]`, p in [0, 1]. The gradient is PyTorch's:
    /// `∂ℓ/∂p = ((1 − y)·p − ω·y·(1 − p)) / max(p·(1 − p), 1e-12)` (equal to the exact derivative wherever the
    /// clamp is inactive). For parity and literal-probability outputs only; prefer logits.
    public static func binaryCrossEntropy(
        probabilities: Variable, targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil,
        positiveWeight: Float = 1
    ) -> Variable {
        let p = probabilities.value, n = p.count
        precondition(targets.count == n, "BCE: probabilities \(p.shape), targets \(targets.shape)")
        let (q, y) = (p.pointer, targets.pointer)
        return reducedLoss([probabilities], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            precondition(q[i] >= 0 && q[i] <= 1, "BCE on probabilities: p = \(q[i]) outside [0, 1] in row \(i)")
            let positive = max(logf(q[i]), -100), negative = max(log1pf(-q[i]), -100)
            return -Double(positiveWeight * y[i] * positive + (1 - y[i]) * negative)
        }, gradient: { factor in
            let (q, y) = (p.pointer, targets.pointer)
            let grad = Tensor(uninitialized: p.shape)
            for i in 0..<n {
                let numerator = (1 - y[i]) * q[i] - positiveWeight * y[i] * (1 - q[i])
                grad.pointer[i] = factor[i] == 0 ? 0 : factor[i] * numerator / max(q[i] * (1 - q[i]), 1e-12)
            }
            return [grad]
        })
    }

    /// Binary cross-entropy on a chained probability `p = Π_s σ(z_s)` computed in log space (§2.3):
    /// `a = log p = −Σ_s softplus(−z_s)`, `ℓ = −[ω·y·a + (1 − y)·max(log1mexp(a), −100)]`. Nothing is ever
    /// multiplied in probability space, so long chains and extreme logits neither underflow nor form log(0).
    /// `∂ℓ/∂a = −ω·y + (1 − y)/expm1(−a)` (the second term 0 where the clamp is active) and `∂a/∂z_s = σ(−z_s)`.
    /// Row terms and gradients are computed in Float64. `logits`: one or more steps, each with `targets.count`
    /// elements. Scalar result.
    public static func binaryCrossEntropy(
        chainedLogits logits: [Variable], targets: Tensor, weights: Tensor? = nil, normalizer: Float? = nil,
        positiveWeight: Float = 1
    ) -> Variable {
        precondition(!logits.isEmpty, "chained BCE needs at least one step")
        let n = targets.count, steps = logits.map(\.value), y = targets.pointer
        precondition(steps.allSatisfy { $0.count == n }, "chained BCE: steps \(steps.map(\.shape)), targets \(targets.shape)")
        let logP = [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n { buffer[i] = -steps.reduce(0.0) { $0 + FunnelCore.softplus(-Double($1.pointer[i])) } }
            initialized = n
        }
        let omega = Double(positiveWeight)
        return reducedLoss(logits, rows: n, weights: weights, normalizer: normalizer, loss: { i in
            let target = Double(y[i])
            return -(omega * target * logP[i] + (1 - target) * max(log1mexp(logP[i]), -100))
        }, gradient: { factor in
            let y = targets.pointer
            let dA = (0..<n).map { i -> Double in
                let target = Double(y[i]), clamped = log1mexp(logP[i]) <= -100
                return -omega * target + (clamped ? 0 : (1 - target) / expm1(-logP[i]))
            }
            return steps.map { z in
                let grad = Tensor(uninitialized: z.shape)
                for i in 0..<n {
                    grad.pointer[i] = factor[i] == 0 ? 0 : Float(Double(factor[i]) * dA[i] * logistic(-Double(z.pointer[i])))
                }
                return grad
            }
        })
    }

    /// The AITM calibrator hinge (§2.4): `Σ_i w_i · max(downstream_i − upstream_i, 0) / N` on probabilities,
    /// penalising a later funnel step predicted above its parent. Subgradient 0 at equality. Multiply by α in the
    /// model. `downstream`, `upstream`: the same element count; scalar result.
    public static func calibratorHinge(
        downstream: Variable, upstream: Variable, weights: Tensor? = nil, normalizer: Float? = nil
    ) -> Variable {
        let (d, u) = (downstream.value, upstream.value), n = d.count
        precondition(u.count == n, "calibrator hinge: \(d.shape) vs \(u.shape)")
        let (x, z) = (d.pointer, u.pointer)
        return reducedLoss([downstream, upstream], rows: n, weights: weights, normalizer: normalizer, loss: { i in
            Double(max(x[i] - z[i], 0))
        }, gradient: { factor in
            let (x, z) = (d.pointer, u.pointer)
            let gd = Tensor(uninitialized: d.shape), gu = Tensor(uninitialized: u.shape)
            for i in 0..<n {
                let active: Float = x[i] > z[i] ? factor[i] : 0
                gd.pointer[i] = active
                gu.pointer[i] = -active
            }
            return [gd, gu]
        })
    }
}

/// `log(1 + e^x)` without overflow.
@inline(__always)
func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }

/// The logistic function in Float64, without overflow.
@inline(__always)
func logistic(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

/// `log(1 − e^a)` for a ≤ 0, accurate on both sides of −ln 2 (Mächler's log1mexp); −∞ at a = 0.
@inline(__always)
func log1mexp(_ a: Double) -> Double {
    a > -0.693_147_180_559_945_3 ? log(-expm1(a)) : log1p(-exp(a))
}

