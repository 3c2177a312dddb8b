import FunnelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The census-like generator of the parity benchmark (spec: synthetic-data.md §7): 40 categorical fields with
/// vocabularies 10–999, 10 dense features, two binary tasks with shared and task-specific effects. Rows are
/// addressed by index through `PortableRandom`, so Python (`bench/funnel_synth.py`) produces the same data.
public struct ParityBenchmarkGenerator: Sendable {
    public let seed: UInt64
    public let fields = 40
    public let denseFeatures = 10
    public let correlation: Double
    /// Vocabulary size per field.
    public let vocabularySizes: [Int]
    /// First global category index of each field.
    public let offsets: [Int]
    /// The training rows (131,072) and evaluation rows (the next 65,536) of the preset.
    public static let trainingRows = 0..<131_072
    public static let evaluationRows = 131_072..<196_608

    public init(seed: UInt64 = 0, correlation: Double = 0.5) {
        self.seed = seed
        self.correlation = correlation
        let sizes = (0..<40).map { f in
            min(Int((10 * pow(100, PortableRandom.uniform(seed: seed, stream: 0, index: UInt64(f)))).rounded(.down)), 999)
        }
        vocabularySizes = sizes
        var running = 0
        offsets = sizes.map { v in defer { running += v }; return running }
    }

    public var layout: FeatureLayout { FeatureLayout(vocabularySizes: vocabularySizes, numericCount: denseFeatures) }

    public var tasks: [TaskSpec] { [TaskSpec(name: "task0", kind: .binary), TaskSpec(name: "task1", kind: .binary)] }

    /// Rows `range` as one batch.
    public func batch(rows range: Range<Int>) -> Batch {
        let n = range.count
        var ids = [Int32](repeating: 0, count: n * fields)
        let dense = Tensor(uninitialized: [n, denseFeatures])
        let labels = Tensor(uninitialized: [n, 2])
        for (local, r) in range.enumerated() {
            var shared = 0.0, specific = [0.0, 0.0]
            for f in 0..<fields {
                let u = PortableRandom.uniform(seed: seed, stream: 1, index: UInt64(r * fields + f))
                let v = vocabularySizes[f]
                let id = min(Int((Double(v) * u * u).rounded(.down)), v - 1)
                ids[local * fields + f] = Int32(id)
                let g = UInt64(offsets[f] + id)
                shared += PortableRandom.normal(seed: seed, stream: 3, index: g)
                for t in 0..<2 { specific[t] += PortableRandom.normal(seed: seed, stream: 4 + UInt64(t), index: g) }
            }
            let root = Double(fields).squareRoot()
            var x = [Double](repeating: 0, count: denseFeatures)
            for j in 0..<denseFeatures {
                x[j] = PortableRandom.normal(seed: seed, stream: 2, index: UInt64(r * denseFeatures + j))
                dense.pointer[local * denseFeatures + j] = Float(x[j])
            }
            let pair = UInt64(Int(ids[local * fields]) * 1000 + Int(ids[local * fields + 1]))
            let bias = [-0.3, -1.0]
            for t in 0..<2 {
                var linear = 0.0
                for j in 0..<denseFeatures {
                    linear += x[j] * PortableRandom.normal(seed: seed, stream: 6 + UInt64(t), index: UInt64(j))
                }
                let mixed = correlation * shared / root + (1 - correlation * correlation).squareRoot() * specific[t] / root
                var logit = bias[t] + 1.5 * mixed + 0.5 * linear / Double(denseFeatures).squareRoot()
                logit += 0.7 * PortableRandom.normal(seed: seed, stream: 8 + UInt64(t), index: pair)
                logit += t == 0 ? 0.8 * tanh(x[0] * x[1]) : 0.4 * (x[2] * x[2] - 1)
                let p = logit >= 0 ? 1 / (1 + exp(-logit)) : exp(logit) / (1 + exp(logit))
                labels.pointer[local * 2 + t] = PortableRandom.uniform(seed: seed, stream: 10 + UInt64(t), index: UInt64(r)) < p ? 1 : 0
            }
        }
        return Batch(count: n, ids: ids, numeric: dense, labels: labels)
    }
}
