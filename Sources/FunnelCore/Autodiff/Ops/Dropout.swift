/// Inverted dropout and gradient control.
extension Variable {
    /// Inverted dropout: each element kept with probability `1 − rate` and scaled by `1 / (1 − rate)`.
    /// Deterministic for a given generator state whatever the thread count (the mask is drawn in fixed chunks,
    /// each from its own derived stream).
    public func dropout(rate: Float, using rng: inout SeededGenerator) -> Variable {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) outside [0, 1)")
        if rate == 0 { return self }
        let mask = Tensor(uninitialized: shape)
        let base = rng.next()
        let chunk = 1 << 14
        let chunks = (mask.count + chunk - 1) / chunk
        let keep = 1 - rate, scale = 1 / (1 - rate)
        let pointer = mask.pointer, count = mask.count
        let fill = { (c: Int) in
            var local = SeededGenerator(seed: PortableRandom.mix64(base ^ UInt64(c)))
            let end = min(count, (c + 1) * chunk)
            var i = c * chunk
            while i < end {
                let bits = local.next()
                pointer[i] = Float(bits >> 40) * 0x1p-24 < keep ? scale : 0
                if i + 1 < end { pointer[i + 1] = Float((bits >> 16) & 0xFF_FFFF) * 0x1p-24 < keep ? scale : 0 }
                i += 2
            }
        }
        if count >= parallelElementThreshold { ThreadPool.shared.parallelFor(chunks, fill) } else { for c in 0..<chunks { fill(c) } }
        return Variable.record(value * mask, inputs: [self]) { g, _ in [g * mask] }
    }

    /// Identity in the forward pass; multiplies the gradient flowing back by `factor` (DEPHN's virtual gradient
    /// coefficient, gradient reversal with a negative factor).
    public func scalingGradient(by factor: Float) -> Variable {
        Variable.record(value, inputs: [self]) { g, _ in [g.scaled(by: factor)] }
    }
}
