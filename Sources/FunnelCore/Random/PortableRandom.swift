#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counter-based random numbers shared with Funnel's Python tooling (spec: synthetic-data.md §1).
///
/// Every value is addressed by `(seed, stream, index)`, so generation is order-independent, parallel, and gives
/// the same numbers in Swift and in NumPy.
public enum PortableRandom {
    static let phi: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The SplitMix64 finaliser.
    @inline(__always)
    public static func mix64(_ value: UInt64) -> UInt64 {
        var z = value
        z ^= z >> 30; z = z &* 0xBF58_476D_1CE4_E5B9
        z ^= z >> 27; z = z &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The key of one stream.
    @inline(__always)
    public static func key(seed: UInt64, stream: UInt64) -> UInt64 { mix64(seed &* phi &+ stream) }

    /// A uniform value in [0, 1).
    @inline(__always)
    public static func uniform(seed: UInt64, stream: UInt64, index: UInt64) -> Double {
        Double(mix64(key(seed: seed, stream: stream) &+ (index &+ 1) &* phi) >> 11) * 0x1p-53
    }

    /// A standard normal value (Box–Muller over two uniforms of the same stream).
    @inline(__always)
    public static func normal(seed: UInt64, stream: UInt64, index: UInt64) -> Double {
        let u1 = uniform(seed: seed, stream: stream, index: 2 &* index)
        let u2 = uniform(seed: seed, stream: stream, index: 2 &* index &+ 1)
        return (-2 * log(1 - u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
