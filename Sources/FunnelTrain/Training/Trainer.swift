import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// Trains a multi-task model: shuffled epochs, per-task losses with masks, weights and fitted target
/// transforms, a loss balancer (fixed weights, uncertainty, GradNorm, PCGrad, MetaBalance, HTLNet's adjustment),
/// a learning-rate schedule, evaluation on the **validation** split after every epoch, early stopping on a
/// monitor with restore of the best weights, a NaN/Inf guard naming the task and step, and a JSONL log.
///
/// Determinism: with the same configuration, seed and data, two runs produce bit-identical weights (for a
/// fixed thread count). Shuffling uses `seed + epoch`; dropout and sampling noise in step `s` use a stream
/// derived from `(seed, s)`, so a run resumed at a step boundary continues exactly.
public final class Trainer {
    public let model: any MultiTaskModel
    public let tasks: [TaskSpec]
    public let configuration: TrainingConfiguration
    /// The step this trainer repeats (optimizer, balancer, target scalings, clipping).
    public let trainingStep: TrainingStep
    public var optimizer: Optimizer { trainingStep.optimizer }
    public var balancer: LossBalancer { trainingStep.balancer }
    /// Per-task target transforms, fitted on the training split in `fit` (identity until then). Set them directly
    /// only when driving `step` without `fit` (benchmarks).
    public var targetScalings: [TargetScaling] {
        get { trainingStep.targetScalings }
        set { trainingStep.targetScalings = newValue }
    }
    /// Steps whose batch had no row in a task's loss space, per task.
    public private(set) var emptyBatches: [Int]
    /// Receives progress lines and JSONL records; nil trains silently.
    public var log: TrainingLog?

    private let monitor: Monitor
    /// Optimiser steps taken so far over the run.
    public var globalStep: Int { trainingStep.stepsTaken }

    /// Throws a `RangeError` when `configuration` has a setting outside its range (`TrainingConfiguration.validate`).
    public init(model: any MultiTaskModel, tasks: [TaskSpec], configuration: TrainingConfiguration, log: TrainingLog? = nil) throws {
        try configuration.validate()
        self.model = model
        self.tasks = tasks
        self.configuration = configuration
        var balancerSettings = configuration.optimizer
        balancerSettings.weightDecay = 0
        balancerSettings.lazyEmbeddingRows = false
        trainingStep = TrainingStep(model: model, tasks: tasks, optimizer: configuration.optimizer.make(),
                                    balancer: configuration.balancing.makeBalancer(tasks: tasks, runSeed: configuration.seed),
                                    balancerOptimizer: balancerSettings.make(),
                                    targetScalings: Array(repeating: .identity, count: tasks.count),
                                    gradientClip: configuration.gradientClip)
        self.emptyBatches = Array(repeating: 0, count: tasks.count)
        self.log = log
        self.monitor = try Monitor(configuration.earlyStopping.monitor)
    }

    /// Trains on `train`, early-stopping on `validation`, and leaves the model with the best weights. Target
    /// transforms of continuous tasks are fitted on `train` (over each task's loss space) first.
    ///
    /// With `checkpointing`, the run is saved after every epoch (`last/`: weights, optimizer, balancer and loop
    /// state) and on every improvement (`best/`); with `resume`, a run whose `last/` exists continues after its
    /// last finished epoch and ends bit-identical to an uninterrupted run.
    public func fit(train: EncodedTable, validation: any BatchSource, resume: Bool = false) throws -> TrainingSummary {
        targetScalings = try TargetScaling.fitAll(on: train)
        let savedThreads = ThreadPool.shared.activeThreads
        if let threads = configuration.threads { ThreadPool.shared.activeThreads = threads }
        defer { ThreadPool.shared.activeThreads = savedThreads }
        var state = LoopState()
        if resume, let saved = try checkpointing?.resumePoint(into: self) {
            state = saved
            log?.note("resumed after epoch \(state.history.count) (step \(globalStep))")
        }
        if state.history.isEmpty && globalStep == 0 { startZeroInflatedLognormalHeads(on: train) }
        if let group = dataParallel { broadcastWeights(from: 0, over: group) }
        while state.history.count < configuration.epochs, state.stale < configuration.earlyStopping.patience || state.history.isEmpty {
            let epoch = state.history.count
            let started = ElapsedTimer()
            let meanLosses = try trainEpoch(train, epoch: epoch)
            if let group = dataParallel { averageBuffers(over: group) }
            let results = try evaluator.evaluate(model, on: validation, tasks: tasks)
            let value = try monitor.value(of: results.metrics)
            let improved = monitor.improves(value, on: state.bestValue, minDelta: configuration.earlyStopping.minDelta)
            let record = EpochRecord(epoch: epoch + 1, trainingLoss: meanLosses, validation: results.metrics, monitor: value,
                                     improved: improved, seconds: started.seconds)
            state.history.append(record)
            log?.epochFinished(record, monitor: monitor.description)
            if improved {
                state.bestEpoch = epoch + 1
                state.bestValue = value
                state.bestWeights = snapshot()
                state.stale = 0
            } else {
                state.stale += 1
            }
            if (dataParallel?.rank ?? 0) == 0 { try checkpointing?.save(self, state: state, improved: improved) }
        }
        if configuration.earlyStopping.restoreBest, let weights = state.bestWeights { restore(weights) }
        let best = state.history.first { $0.epoch == state.bestEpoch }
        return TrainingSummary(bestEpoch: state.bestEpoch, monitor: monitor.description, bestValue: state.bestValue,
                               validation: best?.validation ?? [:], history: state.history, steps: globalStep)
    }

    /// Where `fit` saves its progress, or nil. With data parallelism only rank 0 writes; every rank resumes from it.
    public var checkpointing: TrainingCheckpoints?

    /// Data parallelism over the ranks of `group` (nil: one process); see ARCHITECTURE.md, "Data parallelism".
    /// `configuration.batchSize` is per rank: a global batch of size × batchSize rows is cut in the single-process
    /// seeded order and each rank trains on its slice; gradients are summed over ranks every step; rank 0's initial
    /// weights are broadcast; batch-norm running statistics are averaged over ranks after each epoch; validation
    /// metrics are computed over the whole split on every rank, so early stopping decides alike everywhere.
    public var dataParallel: DataParallelGroup? {
        didSet { trainingStep.gradientExchange = dataParallel.map(GradientExchange.init) }
    }

    /// The early-stopping loop's state between epochs.
    struct LoopState {
        var history: [EpochRecord] = []
        var bestEpoch = 0
        var bestValue: Double?
        var bestWeights: [Tensor]?
        var stale = 0
    }

    /// The evaluator of this run (its batch size and the fitted target transforms).
    public var evaluator: Evaluator {
        Evaluator(batchSize: configuration.evaluationBatchSize, targetScalings: targetScalings, group: dataParallel)
    }

    /// One pass over `table`; returns each task's mean training loss.
    func trainEpoch(_ table: any BatchSource, epoch: Int) throws -> [String: Double] {
        let ranks = dataParallel?.size ?? 1
        var batches = table.batches(size: configuration.batchSize * ranks, shuffleSeed: configuration.seed &+ UInt64(epoch),
                                    dropSingleton: true)
        // Every rank's slice needs two rows (batch norm): a smaller final global batch is dropped.
        if ranks > 1, let last = batches.last, last.count < 2 * ranks { batches.removeLast() }
        var sums = [Double](repeating: 0, count: tasks.count)
        var clock = ElapsedTimer()
        var rowsSinceLog = 0
        for (index, global) in batches.enumerated() {
            let rows = dataParallel.map { Array(global[$0.slice(of: global.count)]) } ?? global
            let batch = table.batch(rows: rows)
            let losses = try step(batch, epoch: epoch, globalRows: global.count)
            try checkDivergence(losses, epoch: epoch)
            for t in tasks.indices { sums[t] += Double(losses[t]) }
            rowsSinceLog += batch.count
            if (index + 1) % configuration.logEvery == 0 || index + 1 == batches.count {
                log?.stepFinished(epoch: epoch + 1, step: index + 1, of: batches.count, globalStep: globalStep,
                                  losses: Dictionary(uniqueKeysWithValues: zip(tasks.map(\.name), losses.map(Double.init))),
                                  learningRate: optimizer.learningRate, samplesPerSecond: Double(rowsSinceLog) / max(clock.lap(), 1e-9))
                rowsSinceLog = 0
            }
        }
        let count = Double(max(batches.count, 1))
        return Dictionary(uniqueKeysWithValues: zip(tasks.map(\.name), sums.map { $0 / count }))
    }

    /// One optimisation step on `batch` (what `fit` runs per batch): the schedule's learning rate, then
    /// `trainingStep` with this step's noise stream. Returns the per-task losses before the update; throws
    /// `TrainingError.nonFinite` on a NaN/Inf loss.
    /// `globalRows`: with data parallelism, the rows of the global batch this rank's `batch` is a slice of.
    public func step(_ batch: Batch, epoch: Int, globalRows: Int? = nil) throws -> [Float] {
        optimizer.learningRate = configuration.optimizer.learningRate * configuration.schedule.factor(step: globalStep, epoch: epoch)
        var rng = SeededGenerator(seed: stepSeed &+ UInt64(dataParallel?.rank ?? 0) &* 0xD1B5_4A32_D192_ED03)
        let result = try trainingStep(batch, rng: &rng, epoch: epoch, globalRows: globalRows)
        for (t, empty) in result.emptyTasks.enumerated() where empty { emptyBatches[t] += 1 }
        return result.losses
    }

    /// How far a task's loss may grow over its first step's value (at least 1 in magnitude) before `fit` stops
    /// with `TrainingError.diverged`: a run that explodes without reaching NaN is not saved as if it had trained.
    public static let divergenceFactor: Float = 1e4

    /// Each task's loss at the run's first step (the divergence guard's reference; saved with `last/`).
    var initialLosses: [Float]?

    private func checkDivergence(_ losses: [Float], epoch: Int) throws {
        guard let initial = initialLosses else {
            initialLosses = losses
            return
        }
        for (t, loss) in losses.enumerated() where abs(loss) > Self.divergenceFactor * max(abs(initial[t]), 1) {
            throw TrainingError.diverged(task: tasks[t].name, step: globalStep, epoch: epoch + 1, value: loss, initial: initial[t])
        }
    }

    /// The noise seed of the current step, derived from the run seed and the global step.
    private var stepSeed: UInt64 { configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(globalStep) &+ 1 }

    /// Copies of every parameter and buffer value.
    func snapshot() -> [Tensor] { (model.parameters + model.buffers).map { $0.value.copy() } }

    func restore(_ weights: [Tensor]) {
        for (tensor, value) in zip(model.parameters + model.buffers, weights) { tensor.value = value }
    }

    /// Every parameter and buffer set to rank `root`'s values.
    func broadcastWeights(from root: Int, over group: DataParallelGroup) {
        for tensor in model.parameters + model.buffers {
            tensor.value = tensor.value.copy()
            group.broadcast(UnsafeMutableBufferPointer(start: tensor.value.pointer, count: tensor.value.count), root: root)
        }
    }

    /// Buffers (batch-norm running statistics) replaced by their mean over the ranks: each rank normalises its
    /// batches with its own batch statistics in training (per-rank batch norm, as PyTorch DDP without SyncBatchNorm),
    /// and evaluation and checkpoints see the same averaged running statistics on every rank.
    func averageBuffers(over group: DataParallelGroup) {
        for buffer in model.buffers {
            let values = buffer.value.copy()
            group.sumInPlace(UnsafeMutableBufferPointer(start: values.pointer, count: values.count))
            buffer.value = values.scaled(by: 1 / Float(group.size))
        }
    }

    /// Continues from a saved step count (resume).
    func setGlobalStep(_ step: Int) { trainingStep.stepsTaken = step }

    /// Continues from saved empty-batch counts (resume).
    func setEmptyBatches(_ counts: [Int]) { emptyBatches = counts }

    /// The balancer's optimizer (saved with the run for resume).
    var balancerParametersOptimizer: Optimizer { trainingStep.balancerOptimizer! }
}
