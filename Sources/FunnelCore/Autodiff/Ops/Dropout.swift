/// Inverted dropout and gradient control.
extension Variable {
    /// Inverted dropout: each element kept with probability `1 − rate` and scaled by `1 / (1 − rate)`.
    /// Deterministic for a given generator state whatever the thread count (the mask is drawn in fixed chunks,
    /// each from its own derived stream).
    public func dropout(rate: Float, using rng: inout SeededGenerator) -> Variable {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) outside [0, 1)")
        if rate == 0 { return self }
        let mask = Tensor(uninitialized: shape), out = Tensor(uninitialized: shape)
        let base = rng.next()
        let chunk = 1 << 14
        let chunks = (mask.count + chunk - 1) / chunk
        // Keep when a 16-bit uniform is below round((1 − rate)·65536): four draws per 64-bit number. The keep
        // probability is exact to 1/65536 (e.g. 0.800003 for rate 0.2).
        let threshold = UInt64(((1 - rate) * 65536).rounded()), scale = 1 / (1 - rate)
        let (m, x, y, count) = (mask.pointer, value.pointer, out.pointer, mask.count)
        let fill = { (c: Int) in
            var local = SeededGenerator(seed: PortableRandom.mix64(base ^ UInt64(c)))
            let end = min(count, (c + 1) * chunk)
            var i = c * chunk
            while i < end {
                var bits = local.next()
                for j in i..<min(i + 4, end) {
                    let keep: Float = bits & 0xFFFF < threshold ? scale : 0
                    m[j] = keep
                    y[j] = x[j] * keep
                    bits >>= 16
                }
                i += 4
            }
        }
        if count >= parallelElementThreshold { ThreadPool.shared.parallelFor(chunks, fill) } else { for c in 0..<chunks { fill(c) } }
        return Variable.record(out, inputs: [self], op: .trainingOnly("dropout")) { g, _ in [g * mask] }
    }

    /// Identity in the forward pass; multiplies the gradient flowing back by `factor` (DEPHN's virtual gradient
    /// coefficient, gradient reversal with a negative factor).
    public func scalingGradient(by factor: Float) -> Variable {
        Variable.record(value, inputs: [self], op: .identity) { g, _ in [g.scaled(by: factor)] }
    }

    /// Identity in the forward pass; multiplies the gradient flowing back element by element by `factors` (same
    /// shape as the variable): `∂L/∂x = factors ⊙ ∂L/∂y`. The stop-gradient identity
    /// `sg(x) + c ⊙ (x − sg(x))` in one node, value bit-identical to `x` (DEPHN's per-gate coefficients).
    public func scalingGradient(by factors: Tensor) -> Variable {
        precondition(factors.shape == shape, "gradient factors \(factors.shape) for a variable of shape \(shape)")
        return Variable.record(value, inputs: [self], op: .identity) { g, _ in [g * factors] }
    }
}
