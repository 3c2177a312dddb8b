#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

extension Tensor {
    /// A tensor of `shape` with standard Gumbel samples `g = −log(−log u)`, u ~ U(0, 1) clamped to
    /// [1e-10, 1 − 1e-10] (so every sample is finite: |g| ≤ 23.03). Drawn and transformed in Float64, one
    /// uniform per element in row-major order.
    public static func gumbel(_ shape: [Int], using rng: inout SeededGenerator) -> Tensor {
        let result = Tensor(uninitialized: shape)
        for i in 0..<result.count {
            let u = min(max(rng.nextUnitDouble(), 1e-10), 1 - 1e-10)
            result.pointer[i] = Float(-log(-log(u)))
        }
        return result
    }
}
