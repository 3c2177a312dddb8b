import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// Trains a multi-task model: shuffled epochs, per-task losses with masks and weights, a learning-rate
/// schedule, evaluation on the **validation** split after every epoch, early stopping on a monitor with
/// restore of the best weights, a NaN/Inf guard naming the task and step, and a JSONL log.
///
/// Determinism: with the same configuration, seed and data, two runs produce bit-identical weights (for a
/// fixed thread count). Shuffling uses `seed + epoch`; dropout and sampling noise in step `s` use a stream
/// derived from `(seed, s)`, so a run resumed at a step boundary continues exactly.
public final class Trainer {
    public let model: any MultiTaskModel
    public let tasks: [TaskSpec]
    public let configuration: TrainingConfiguration
    public let optimizer: Optimizer
    /// Receives progress lines and JSONL records; nil trains silently.
    public var log: TrainingLog?

    private let monitor: Monitor
    private let parameters: [Parameter]
    public private(set) var globalStep = 0

    public init(model: any MultiTaskModel, tasks: [TaskSpec], configuration: TrainingConfiguration, log: TrainingLog? = nil) throws {
        self.model = model
        self.tasks = tasks
        self.configuration = configuration
        self.optimizer = configuration.optimizer.make()
        self.log = log
        self.monitor = try Monitor(configuration.earlyStopping.monitor)
        self.parameters = model.parameters
    }

    /// Trains on `train`, early-stopping on `validation`, and leaves the model with the best weights.
    public func fit(train: any BatchSource, validation: any BatchSource) throws -> TrainingSummary {
        var best: (epoch: Int, value: Double, results: EvaluationResult, weights: [Tensor])?
        var history: [EpochRecord] = []
        var stale = 0
        for epoch in 0..<configuration.epochs {
            let started = ElapsedTimer()
            let meanLosses = try trainEpoch(train, epoch: epoch)
            let results = try Evaluator(batchSize: configuration.evaluationBatchSize).evaluate(model, on: validation, tasks: tasks)
            let value = try monitor.value(of: results.metrics)
            let improved = monitor.improves(value, on: best?.value, minDelta: configuration.earlyStopping.minDelta)
            let record = EpochRecord(epoch: epoch + 1, trainingLoss: meanLosses, validation: results.metrics, monitor: value,
                                     improved: improved, seconds: started.seconds)
            history.append(record)
            log?.epochFinished(record, monitor: monitor.description)
            if improved {
                best = (epoch + 1, value, results, snapshot())
                stale = 0
            } else {
                stale += 1
                if stale >= configuration.earlyStopping.patience { break }
            }
        }
        if configuration.earlyStopping.restoreBest, let best { restore(best.weights) }
        return TrainingSummary(bestEpoch: best?.epoch ?? 0, monitor: monitor.description, bestValue: best?.value,
                               validation: best?.results.metrics ?? [:], history: history, steps: globalStep)
    }

    /// One pass over `table`; returns each task's mean training loss.
    func trainEpoch(_ table: any BatchSource, epoch: Int) throws -> [String: Double] {
        let batches = table.batches(size: configuration.batchSize, shuffleSeed: configuration.seed &+ UInt64(epoch), dropSingleton: true)
        var sums = [Double](repeating: 0, count: tasks.count)
        var clock = ElapsedTimer()
        var rowsSinceLog = 0
        for (index, rows) in batches.enumerated() {
            let batch = table.batch(rows: rows)
            let losses = try step(batch, epoch: epoch)
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

    /// One optimisation step; returns the per-task losses before the update.
    func step(_ batch: Batch, epoch: Int) throws -> [Float] {
        let tape = Tape()
        let context = ForwardContext(tape: tape, mode: .training, rng: SeededGenerator(seed: stepSeed))
        let output = model(batch, context)
        let losses = taskLosses(output, batch: batch, tasks: tasks)
        let values = losses.map { $0.value.scalar }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError.nonFinite(task: tasks[bad].name, step: globalStep, epoch: epoch + 1, value: values[bad])
        }
        if let auxiliary = output.auxiliaryLoss, !auxiliary.value.scalar.isFinite {
            throw TrainingError.nonFinite(task: "auxiliary loss", step: globalStep, epoch: epoch + 1, value: auxiliary.value.scalar)
        }
        let weighted = zip(losses, tasks).map { loss, task in task.weight == 1 ? loss : loss * task.weight }
        var total = weighted.dropFirst().reduce(weighted[0], +)
        if let auxiliary = output.auxiliaryLoss { total = total + auxiliary }
        for parameter in parameters { parameter.zeroGradient() }
        tape.backward(total)
        if let clip = configuration.gradientClip { clipGradientNorm(parameters, maxNorm: clip) }
        optimizer.learningRate = configuration.optimizer.learningRate * configuration.schedule.factor(step: globalStep, epoch: epoch)
        optimizer.step(parameters)
        globalStep += 1
        return values
    }

    /// The noise seed of the current step, derived from the run seed and the global step.
    private var stepSeed: UInt64 { configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(globalStep) &+ 1 }

    /// Copies of every parameter and buffer value.
    private func snapshot() -> [Tensor] { (model.parameters + model.buffers).map { $0.value.copy() } }

    private func restore(_ weights: [Tensor]) {
        for (tensor, value) in zip(model.parameters + model.buffers, weights) { tensor.value = value }
    }
}

/// Why training stopped abnormally.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(task: String, step: Int, epoch: Int, value: Float)

    public var description: String {
        switch self {
        case let .nonFinite(task, step, epoch, value):
            return "training stopped: loss of task '\(task)' is \(value) at step \(step) (epoch \(epoch)); "
                + "lower the learning rate, enable gradientClip, or check the labels of this task"
        }
    }
}

