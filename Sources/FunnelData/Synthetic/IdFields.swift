import Foundation
import FunnelCore

/// Id fields of the funnel generator (`funnel synth funnel --ids 10000000 --zipf 1.1`): `count` fields (user,
/// item, …) whose raw ids follow a Zipf law over `vocabulary` values, stored directly (`buckets` nil: the field's
/// vocabulary is `vocabulary`) or hashed into `buckets` (`splitmix64(id) mod buckets`). Each raw id carries a
/// latent N(0, 1) effect, added to the click and conversion scores with weight `strength / √count`, so the tables
/// are worth learning. The most frequent ids are scattered over the id range (rank r ↦ (r · 1,000,000,007) mod N),
/// not packed at its start.
public struct IdFieldConfiguration: Codable, Equatable, Sendable {
    public var count: Int
    /// N, the number of distinct raw ids per field.
    public var vocabulary: Int
    /// Zipf exponent s > 0 (P(rank k) ∝ k^−s).
    public var zipfExponent: Double
    /// Hash buckets, or nil for direct ids.
    public var buckets: Int?
    public var strength: Double

    public init(count: Int = 2, vocabulary: Int, zipfExponent: Double = 1.1, buckets: Int? = nil, strength: Double = 0.5) {
        self.count = count
        self.vocabulary = vocabulary
        self.zipfExponent = zipfExponent
        self.buckets = buckets
        self.strength = strength
    }

    /// The table rows of each field.
    public var fieldVocabulary: Int { buckets ?? vocabulary }

    func validate() throws {
        guard count >= 1, vocabulary >= 2, vocabulary < 1_000_000_007, zipfExponent > 0, (buckets ?? 1) >= 1,
              fieldVocabulary <= Int(Int32.max) else {
            throw SyntheticDataError.invalidConfiguration("id fields need count ≥ 1, 2 ≤ N < 1e9+7, s > 0, buckets ≥ 1")
        }
    }

    /// The stored id (0..<fieldVocabulary) and the raw id of field `field` in row `row`.
    func draw(seed: UInt64, field: Int, row: Int, sampler: ZipfSampler) -> (stored: Int32, raw: Int) {
        var attempt: UInt64 = 0
        let rank = sampler.sample { defer { attempt += 1 } ; return PortableRandom.uniform(seed: seed, stream: 120 + UInt64(field), index: UInt64(row) &* 16 &+ attempt) }
        let raw = Int((UInt64(rank - 1) &* 1_000_000_007) % UInt64(vocabulary))
        guard let buckets else { return (Int32(raw), raw) }
        return (Int32(splitMix64(UInt64(raw) &+ UInt64(field) &* 0x9E37_79B9_7F4A_7C15) % UInt64(buckets)), raw)
    }

    /// The latent effect of raw id `raw` of field `field`.
    func effect(seed: UInt64, field: Int, raw: Int) -> Double {
        PortableRandom.normal(seed: seed, stream: 130 + UInt64(field), index: UInt64(raw))
    }
}

/// Zipf ranks 1…n with P(k) ∝ k^−s by rejection-inversion (Hörmann & Derflinger 1996, as Apache Commons'
/// `RejectionInversionZipfSampler`): O(1) per draw for any n, no table of n weights.
struct ZipfSampler {
    let n: Int, s: Double
    private let integralX1: Double, integralN: Double, threshold: Double

    init(n: Int, exponent s: Double) {
        self.n = n
        self.s = s
        integralX1 = Self.integral(1.5, s) - 1
        integralN = Self.integral(Double(n) + 0.5, s)
        threshold = 2 - Self.inverseIntegral(Self.integral(2.5, s) - pow(2, -s), s)
    }

    /// A rank from uniforms in [0, 1) drawn by `uniform` (usually one, a few when a candidate is rejected).
    func sample(_ uniform: () -> Double) -> Int {
        while true {
            let u = integralN + uniform() * (integralX1 - integralN)
            let x = Self.inverseIntegral(u, s)
            let k = min(max(Int(x + 0.5), 1), n)
            if Double(k) - x <= threshold || u >= Self.integral(Double(k) + 0.5, s) - pow(Double(k), -s) { return k }
        }
    }

    /// H(x) = (x^(1−s) − 1)/(1 − s) (log x at s = 1).
    private static func integral(_ x: Double, _ s: Double) -> Double {
        let logX = log(x), t = (1 - s) * logX
        return abs(t) > 1e-8 ? expm1(t) / t * logX : (1 + t / 2) * logX
    }

    /// H⁻¹.
    private static func inverseIntegral(_ x: Double, _ s: Double) -> Double {
        let t = max(x * (1 - s), -1)
        return exp(abs(t) > 1e-8 ? log1p(t) / t * x : (1 - t / 2) * x)
    }
}

private func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
