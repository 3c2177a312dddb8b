import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// Training-step throughput of a `BenchmarkCase` on the census-like parity data (synthetic-data.md §7,
/// baselines.md §1.8): batch 1024, Adam lr 1e-3, the steps of `Trainer.step` (forward, task losses, the case's
/// loss balancer, Adam update) — the path `funnel train` runs. Batch i holds rows i·B ..< (i+1)·B of the training
/// preset, as in `bench/pytorch_reference.py`.
public struct TrainingBenchmark {
    /// What one run measured. Field names match `bench/pytorch_reference.py --json`.
    public struct Result: Codable, Sendable {
        public var impl = "funnel"
        public var model: String
        public var threads: Int
        public var batch: Int
        public var samplesPerSecond: Double
        public var millisecondsPerStepMedian: Double
        public var millisecondsPerStepP90: Double
        public var gflops: Double
        public var flopsPerStep: Double
        /// Peak resident set of the whole process (ru_maxrss).
        public var peakResidentMiB: Double
        public var firstLoss: Double
        public var lastLoss: Double
        /// Trainable scalars of the model.
        public var parameters: Int
    }

    public var threads: Int
    public var batchSize = 1024
    public var steps = 30
    public var warmup = 5

    public init(threads: Int, batchSize: Int = 1024, steps: Int = 30, warmup: Int = 5) {
        self.threads = threads
        self.batchSize = batchSize
        self.steps = steps
        self.warmup = warmup
    }

    /// Builds `benchCase`'s model, trains `warmup + steps` steps and times the last `steps`.
    public func run(_ benchCase: BenchmarkCase, registry: ModelRegistry = .standard) throws -> Result {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        let model = try benchCase.makeModel(registry: registry)
        let tasks = benchCase.taskSpecs
        let (batches, scalings) = Self.batches(for: benchCase, count: warmup + steps, size: batchSize)
        var configuration = TrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.balancing = benchCase.balancing == .htlnet
            ? .htlnet(adjustment: HTLNetGradientAdjustment(), coreTask: nil) : .fixedWeights
        let trainer = try Trainer(model: model, tasks: tasks, configuration: configuration)
        trainer.targetScalings = scalings
        var losses: [Double] = [], times: [Double] = []
        for (i, batch) in batches.enumerated() {
            var taskLosses: [Float] = []
            var failure: Error?
            let seconds = Stopwatch.time {
                do { taskLosses = try trainer.step(batch, epoch: 0) } catch { failure = error }
            }
            if let failure { throw failure }
            losses.append(Double(taskLosses.reduce(0, +)))
            if i >= warmup { times.append(seconds) }
        }
        let flops = 6 * Double(batchSize) * Double(linearMultiplyAdds(model))
        let total = times.reduce(0, +)
        return Result(
            model: benchCase.label, threads: threads, batch: batchSize,
            samplesPerSecond: Double(steps * batchSize) / total,
            millisecondsPerStepMedian: Statistics.median(times) * 1000,
            millisecondsPerStepP90: Statistics.percentile(times, 0.9) * 1000,
            gflops: flops * Double(steps) / total / 1e9, flopsPerStep: flops,
            peakResidentMiB: Stopwatch.peakResidentMiB(),
            firstLoss: losses.first ?? .nan, lastLoss: losses.last ?? .nan, parameters: model.parameterCount)
    }

    /// The case's batches (labels nested for chained models, the amount column appended for `.withAmount`) and the
    /// per-task target scalings (the amount standardised by the mean and population deviation over all batches).
    static func batches(for benchCase: BenchmarkCase, count: Int, size: Int) -> ([Batch], [TargetScaling]) {
        let generator = ParityBenchmarkGenerator()
        let rows = ParityBenchmarkGenerator.trainingRows.count
        var batches = (0..<count).map { i in
            let start = i * size % rows
            let batch = generator.batch(rows: start..<(start + size))
            return benchCase.nestsLabels ? nestingLabels(of: batch) : batch
        }
        var scalings = [TargetScaling](repeating: .identity, count: benchCase.taskSpecs.count)
        if benchCase.tasks == .withAmount {
            batches = batches.map(addingAmount)
            let amounts = batches.flatMap { b in (0..<b.count).map { Double(b.labels.pointer[3 * $0 + 2]) } }
            let mean = amounts.reduce(0, +) / Double(amounts.count)
            let variance = amounts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(amounts.count)
            scalings[2] = TargetScaling(transform: .standardize, mean: mean, scale: variance > 0 ? variance.squareRoot() : 1)
        }
        return (batches, scalings)
    }

    /// task1 := task0 · task1 (entire-space labels of a funnel).
    private static func nestingLabels(of batch: Batch) -> Batch {
        let labels = batch.labels.copy()
        for i in 0..<batch.count { labels.pointer[2 * i + 1] *= labels.pointer[2 * i] }
        return Batch(count: batch.count, ids: batch.ids, numeric: batch.numeric, labels: labels)
    }

    /// The batch with a third label column: a non-negative amount task1 · (1 + u), u = PortableRandom(0, 20, row in
    /// batch), positive only where task1 is 1 (the twin draws the same u).
    private static func addingAmount(to batch: Batch) -> Batch {
        let n = batch.count
        var labels = [Float]()
        labels.reserveCapacity(3 * n)
        for i in 0..<n {
            let converted = batch.labels.pointer[2 * i + 1]
            let u = Float(PortableRandom.uniform(seed: 0, stream: 20, index: UInt64(i)))
            labels += [batch.labels.pointer[2 * i], converted, converted * (1 + u)]
        }
        return Batch(count: n, ids: batch.ids, numeric: batch.numeric, labels: Tensor(shape: [n, 3], values: labels))
    }
}

/// Σ in·out over every weight matrix (rank-2 parameters other than lookup tables `…embedding.weight`): the
/// multiply-adds of one forward pass per sample through the dense layers. The count `bench/pytorch_reference.py`
/// uses for MLP models (its `linear_macs` counts `nn.Linear` only, so interaction blocks differ).
func linearMultiplyAdds(_ model: some Module) -> Int {
    model.parameters.filter { $0.value.rank == 2 && !$0.name.hasSuffix("embedding.weight") }.reduce(0) { $0 + $1.count }
}
