extension Tensor {
    /// A tensor of `shape` with elements drawn uniformly from `range`.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Float>, using rng: inout SeededGenerator) -> Tensor {
        let result = Tensor(uninitialized: shape)
        let width = range.upperBound - range.lowerBound
        for i in 0..<result.count { result.pointer[i] = range.lowerBound + width * rng.nextUnitFloat() }
        return result
    }

    /// A tensor of `shape` with elements drawn from N(mean, std²).
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        let result = Tensor(uninitialized: shape)
        for i in 0..<result.count { result.pointer[i] = mean + std * Float(rng.nextNormal()) }
        return result
    }
}
