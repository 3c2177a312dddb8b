import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain

/// In-process scoring latency (`funnel bench serve`): MMoE in the benchmark configuration (parity data, d = 16,
/// 8 experts [256, 128], towers [64], seed 0) behind a `Scorer`, one call per request of `rows` raw rows (local
/// ids and dense values as text, rows 0 ..< rows of the parity data), timed call by call: raw text → encoding
/// → forward → probabilities. The PyTorch / ONNX Runtime peer (`bench/serve_peer.py`) scores the same rows with
/// the same weights from encoded tensors.
public struct ScorerBenchmark {
    /// Latency percentiles of one (implementation, rows, threads) cell, microseconds per call.
    public struct Cell: Sendable {
        public var implementation: String
        public var rows: Int
        public var threads: Int
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var calls: Int
    }

    public static let rowCounts = [1, 16, 100, 1000]
    public let benchCase: BenchmarkCase
    public let scorer: Scorer
    private let requests: [Int: [[String: String]]]

    public init() throws {
        benchCase = try BenchmarkCase.parity("mmoe")
        let generator = ParityBenchmarkGenerator()
        let model = try benchCase.makeModel()
        let metadata = CheckpointMetadata(model: model.name, configuration: model.configuration, features: generator.layout,
                                          tasks: benchCase.taskSpecs)
        let trained = TrainedModel(model: model, metadata: metadata, featureMap: nil)
        let names = (0..<generator.fields).map { "f\($0)" }, dense = (0..<generator.denseFeatures).map { "dense\($0)" }
        scorer = try Scorer(trained, encoder: .synthetic(categorical: names, numeric: dense, layout: generator.layout,
                                                         taskCount: benchCase.taskSpecs.count))
        let batch = generator.batch(rows: 0..<Self.rowCounts.max()!)
        let rows = (0..<batch.count).map { r -> [String: String] in
            var row: [String: String] = [:]
            for f in 0..<generator.fields { row[names[f]] = String(batch.ids[r * generator.fields + f]) }
            for j in 0..<generator.denseFeatures { row[dense[j]] = String(batch.numeric!.pointer[r * generator.denseFeatures + j]) }
            return row
        }
        requests = Dictionary(uniqueKeysWithValues: Self.rowCounts.map { ($0, Array(rows.prefix($0))) })
    }

    /// The rows of a `rows`-row request.
    public func rows(_ count: Int) -> [[String: String]] { requests[count] ?? [] }

    /// Writes the model's weights as a checkpoint (what the peer loads into the PyTorch twin).
    public func writeWeights(to directory: URL) throws {
        try scorer.trained.write(to: directory)
    }

    /// Times calls of `rows` rows on `threads` threads for about `seconds` (at least 20 calls, after 5 untimed).
    public func measure(rows: Int, threads: Int, seconds: Double = 1.5) throws -> Cell {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        let request = self.rows(rows)
        for _ in 0..<5 { _ = try scorer.score(rows: request) }
        var times: [Double] = []
        let start = Stopwatch.now()
        while times.count < 20 || Stopwatch.now() - start < seconds {
            let begin = Stopwatch.now()
            _ = try scorer.score(rows: request)
            times.append(Stopwatch.now() - begin)
        }
        return Cell(implementation: "funnel", rows: rows, threads: threads, p50: Statistics.percentile(times, 0.5) * 1e6,
                    p90: Statistics.percentile(times, 0.9) * 1e6, p99: Statistics.percentile(times, 0.99) * 1e6, calls: times.count)
    }
}
