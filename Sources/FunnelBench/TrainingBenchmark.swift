import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN
import FunnelTrain

/// Training-step throughput of a model on the census-like parity data (spec: synthetic-data.md §7,
/// baselines.md §1.8): batch 1024, Adam lr 1e-3; MMoE with dropout 0.2 and two BCE tasks, HTLNet with a third,
/// continuous core task.
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
        public var peakResidentMiB: Double
        public var firstLoss: Double
        public var lastLoss: Double
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

    /// Trains MMoE (8 experts [256, 128], towers [64], batch norm, dropout 0.2, embedding 16) and times the steps.
    public func runMMoE() -> Result {
        let generator = ParityBenchmarkGenerator()
        let configuration = MMoE.Configuration(embeddingWidth: 16, experts: 8, expertWidths: [256, 128], towerWidths: [64],
                                               batchNorm: true, dropout: 0.2)
        var rng = SeededGenerator(seed: 0)
        let model = MMoE(configuration: configuration, features: generator.layout, tasks: generator.tasks, using: &rng)
        return run(model: model, name: "mmoe", tasks: generator.tasks, generator: generator, rng: &rng)
    }

    /// Trains HTLNet (embedding 16, default towers [128, 64, 32], d_l 10, d_h 128, no dropout) on the parity data
    /// with a third, continuous core task (`amount` = task1 · (1 + u), standardised), and times the steps of a
    /// `PerTaskGradientStep` with `rule` (`.htl`: three backward passes and the adjustment; `.sum`: one backward).
    public func runHTLNet(rule: PerTaskGradientStep<HTLNet>.Rule = .htl(HTLNetGradientAdjustment())) -> Result {
        let generator = ParityBenchmarkGenerator()
        let tasks = generator.tasks + [TaskSpec(name: "amount", kind: .continuous, parent: "task1", targetTransform: .standardize)]
        var rng = SeededGenerator(seed: 0)
        let model = HTLNet(configuration: HTLNet.Configuration(embeddingWidth: 16), features: generator.layout, tasks: tasks,
                           using: &rng)
        let step = PerTaskGradientStep(model: model, tasks: tasks, optimizer: Adam(learningRate: 1e-3), rule: rule,
                                       targetTransforms: [nil, nil, FittedTargetTransform(kind: .standardize, mean: 0.3, scale: 0.6)])
        let name: String
        if case .sum = rule { name = "htlnet-sum" } else { name = "htlnet" }
        return run(model: model, name: name, generator: generator, rng: &rng, withAmount: true) { step($0, rng: &$1).losses }
    }

    private func run<Model: MultiTaskModel>(
        model: Model, name: String, tasks: [TaskSpec], generator: ParityBenchmarkGenerator, rng: inout SeededGenerator
    ) -> Result {
        let step = TrainingStep(model: model, tasks: tasks, optimizer: Adam(learningRate: 1e-3))
        return run(model: model, name: name, generator: generator, rng: &rng, withAmount: false) { step($0, rng: &$1) }
    }

    private func run<Model: MultiTaskModel>(
        model: Model, name: String, generator: ParityBenchmarkGenerator, rng: inout SeededGenerator, withAmount: Bool,
        step: (Batch, inout SeededGenerator) -> [Float]
    ) -> Result {
        let pool = ThreadPool.shared
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        let batches = (0..<(warmup + steps)).map { i in
            let batch = generator.batch(rows: (i * batchSize % 131_072)..<(i * batchSize % 131_072 + batchSize))
            return withAmount ? Self.addingAmount(to: batch) : batch
        }
        var losses: [Double] = []
        var times: [Double] = []
        for (i, batch) in batches.enumerated() {
            var taskLosses: [Float] = []
            let seconds = Stopwatch.time { taskLosses = step(batch, &rng) }
            losses.append(Double(taskLosses.reduce(0, +)))
            if i >= warmup { times.append(seconds) }
        }
        let flops = 6 * Double(batchSize) * Double(linearMultiplyAdds(model))
        let total = times.reduce(0, +)
        return Result(
            model: name, threads: threads, batch: batchSize,
            samplesPerSecond: Double(steps * batchSize) / total,
            millisecondsPerStepMedian: Statistics.median(times) * 1000,
            millisecondsPerStepP90: Statistics.percentile(times, 0.9) * 1000,
            gflops: flops * Double(steps) / total / 1e9, flopsPerStep: flops,
            peakResidentMiB: Stopwatch.peakResidentMiB(),
            firstLoss: losses.first ?? .nan, lastLoss: losses.last ?? .nan)
    }

    /// The parity batch with a third label column: a non-negative amount, positive only where task1 is 1.
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

/// Σ in·out over every linear layer's weight (`*.weight` of rank 2 other than embedding tables): the
/// multiply-adds of one forward pass per sample. The same count `bench/pytorch_reference.py` uses.
func linearMultiplyAdds(_ model: some Module) -> Int {
    model.parameters.filter { $0.value.rank == 2 && !$0.name.hasPrefix("embedding") }.reduce(0) { $0 + $1.count }
}
