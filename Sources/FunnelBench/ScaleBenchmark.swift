import FunnelCore
import FunnelData
import FunnelModels
import FunnelTrain

/// Training-step cost against the size of the embedding table (issue #16): MMoE (registry defaults, d = 16) on
/// the synthetic funnel (16 categorical fields, 8 dense features, tasks ctr → cvr → amount) plus two id fields
/// whose raw ids follow Zipf(1.1) over 10M values, hashed into `tableRows / 2` buckets each, so the embedding table
/// has about `tableRows` rows while the batches stay alike. Adam lr 1e-3 with lazy table rows (or dense with
/// `lazy = false`), the path `funnel train` runs (`Trainer.step`). Batch i holds rows i·B ..< (i+1)·B.
public struct ScaleBenchmark {
    /// What one run measured.
    public struct Result: Codable, Sendable {
        public var tableRows: Int
        public var tableMiB: Double
        public var lazy: Bool
        public var threads: Int
        public var batch: Int
        public var samplesPerSecond: Double
        public var millisecondsPerStepMedian: Double
        public var millisecondsPerStepP90: Double
        /// Peak resident set of the whole process (ru_maxrss).
        public var peakResidentMiB: Double
        /// Distinct table rows one batch reads, averaged over the timed steps.
        public var rowsReadPerStep: Double
        public var firstLoss: Double
        public var lastLoss: Double
    }

    /// Rows of the embedding table (≈; the categorical fields add their few hundred rows).
    public var tableRows: Int
    public var threads: Int
    public var batchSize: Int
    public var steps: Int
    public var warmup: Int
    /// Lazy Adam rows for the table (the default of training runs); false = dense Adam.
    public var lazy: Bool

    public init(tableRows: Int, threads: Int, batchSize: Int = 2048, steps: Int = 30, warmup: Int = 5, lazy: Bool = true) {
        self.tableRows = tableRows
        self.threads = threads
        self.batchSize = batchSize
        self.steps = steps
        self.warmup = warmup
        self.lazy = lazy
    }

    /// The data of a run: `rows` impressions with the two hashed id fields.
    public static func data(tableRows: Int, rows: Int) throws -> FunnelDataset {
        var configuration = FunnelConfiguration.default
        configuration.rows = rows
        configuration.idFields = IdFieldConfiguration(count: 2, vocabulary: 10_000_000, zipfExponent: 1.1,
                                                      buckets: max(tableRows / 2, 1))
        return try FunnelDataset(configuration: configuration, seed: 0)
    }

    /// Builds the model, trains `warmup + steps` steps and times the last `steps`.
    public func run(registry: ModelRegistry = .standard) throws -> Result {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        let table = try Self.data(tableRows: tableRows, rows: batchSize * (warmup + steps)).table
        var rng = SeededGenerator(seed: 0)
        let model = try registry.makeModel(named: "mmoe", configuration: .object([:]), features: table.layout, tasks: table.tasks, using: &rng)
        var configuration = TrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.optimizer.lazyEmbeddingRows = lazy
        let trainer = try Trainer(model: model, tasks: table.tasks, configuration: configuration)
        let fields = table.layout.vocabularySizes.count
        var losses: [Double] = [], times: [Double] = [], rowsRead: [Double] = []
        for i in 0..<(warmup + steps) {
            let batch = table.batch(rows: Array((i * batchSize)..<((i + 1) * batchSize)))
            var taskLosses: [Float] = []
            var failure: Error?
            let seconds = Stopwatch.time {
                do { taskLosses = try trainer.step(batch, epoch: 0) } catch { failure = error }
            }
            if let failure { throw failure }
            losses.append(Double(taskLosses.reduce(0, +)))
            if i >= warmup {
                times.append(seconds)
                rowsRead.append(Double(Self.distinctRows(batch.ids, fields: fields, layout: table.layout)))
            }
        }
        let rowsInTable = table.layout.vocabularySizes.reduce(0, +)
        return Result(
            tableRows: rowsInTable, tableMiB: Double(rowsInTable * 16 * 4) / 1_048_576, lazy: lazy, threads: threads,
            batch: batchSize, samplesPerSecond: Double(steps * batchSize) / times.reduce(0, +),
            millisecondsPerStepMedian: Statistics.median(times) * 1000,
            millisecondsPerStepP90: Statistics.percentile(times, 0.9) * 1000,
            peakResidentMiB: Stopwatch.peakResidentMiB(), rowsReadPerStep: rowsRead.reduce(0, +) / Double(rowsRead.count),
            firstLoss: losses.first ?? .nan, lastLoss: losses.last ?? .nan)
    }

    /// Distinct table rows (field offset + id) among a batch's ids `[B · fields]`.
    private static func distinctRows(_ ids: [Int32], fields: Int, layout: FeatureLayout) -> Int {
        var offsets: [Int] = [], running = 0
        for v in layout.vocabularySizes { offsets.append(running); running += v }
        return Set(ids.indices.map { offsets[$0 % fields] + Int(ids[$0]) }).count
    }
}
