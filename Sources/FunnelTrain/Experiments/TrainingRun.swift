import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// One model, one seed: build through the registry, train with early stopping on the validation split (best
/// weights restored), score the test split, and package the result as a `TrainedModel` ready to be saved.
public struct TrainingRun {
    public var choice: RunConfiguration.ModelChoice
    public var training: TrainingConfiguration
    public var registry: ModelRegistry
    /// Data parallelism over these ranks (`Trainer.dataParallel`); nil: one process.
    public var dataParallel: DataParallelGroup?

    /// `training.seed` seeds the model's initialisation and the run; `choice.balancing` overrides `training.balancing`.
    public init(choice: RunConfiguration.ModelChoice, training: TrainingConfiguration, registry: ModelRegistry = .standard) {
        self.choice = choice
        self.training = training
        self.registry = registry
        if let balancing = choice.balancing { self.training.balancing = balancing }
    }

    /// What a run produced.
    public struct Outcome {
        public var trained: TrainedModel
        public var summary: TrainingSummary
        /// Metrics on the test split with the best weights.
        public var test: EvaluationResult
        /// Data parallelism: time spent exchanging gradients.
        public var communication: CommunicationTimes?
        /// The run as a comparison of one model and one seed (what `RunReport` draws).
        public var comparison: ComparisonOutcome
    }

    /// The staging directory of a run that ends in the checkpoint `checkpoint`: `<checkpoint>.training/` next to
    /// it, holding `last/` and `best/` while the run is going (what `--resume` continues from).
    public static func progressDirectory(for checkpoint: URL) -> URL {
        let destination = checkpoint.standardizedFileURL
        return destination.deletingLastPathComponent().appendingPathComponent(destination.lastPathComponent + ".training")
    }

    /// Checks, before any work, that a run may write its checkpoint at `checkpoint` (`Checkpoint.checkDestination`)
    /// and its staging directory next to it.
    public static func checkOutputs(checkpoint: URL, overwrite: Bool) throws {
        try Checkpoint.checkDestination(checkpoint, overwrite: overwrite)
        try TrainingCheckpoints.checkDestination(progressDirectory(for: checkpoint))
    }

    /// Trains on `data` with its progress saved next to `checkpoint` (`progressDirectory(for:)`; continued when
    /// `resume`, else started afresh), writes the trained model to `checkpoint` and removes the staging directory.
    public func train(on data: ExperimentData, log: TrainingLog? = nil, to checkpoint: URL, overwrite: Bool = false,
                      resume: Bool = false) throws -> Outcome {
        try Self.checkOutputs(checkpoint: checkpoint, overwrite: overwrite)
        let progress = Self.progressDirectory(for: checkpoint)
        if !resume { try TrainingCheckpoints.discard(progress) }
        let outcome = try run(on: data, log: log, progress: progress, resume: resume)
        try outcome.trained.write(to: checkpoint, overwrite: overwrite)
        try TrainingCheckpoints.discard(progress)
        return outcome
    }

    /// Trains on `data`. With `progress`, the run saves its state there after every epoch (`TrainingCheckpoints`:
    /// `last/`, `best/`); with `resume`, a run whose `progress/last` exists continues after its last finished
    /// epoch and ends bit-identical to an uninterrupted one. `progress` is Funnel's own staging directory: it must
    /// be new, empty or an earlier run's (`OutputGuard`).
    public func run(on data: ExperimentData, log: TrainingLog? = nil, progress: URL? = nil, resume: Bool = false) throws -> Outcome {
        if let threads = training.threads { ThreadPool.shared.activeThreads = threads }
        var rng = SeededGenerator(seed: training.seed)
        let model = try registry.makeModel(named: choice.name, configuration: choice.configuration, features: data.layout, tasks: data.tasks,
                                           using: &rng)
        if data.train.rowCount > 0 {
            try checkLossHeads(model(data.train.batch(rows: Array(0..<min(2, data.train.rowCount))), .inference()), tasks: data.tasks)
        }
        let trainer = try Trainer(model: model, tasks: data.tasks, configuration: training, log: log)
        trainer.dataParallel = dataParallel
        if let progress {
            try TrainingCheckpoints.checkDestination(progress)
            let metadata = try TrainedModel(model: model, data: data, targetScalings: [], balancing: training.balancing,
                                            metrics: [:], epoch: 0, step: 0).metadata
            trainer.checkpointing = TrainingCheckpoints(directory: progress, metadata: metadata)
        }
        let clock = ElapsedTimer()
        let summary = try trainer.fit(train: data.train, validation: data.validation, resume: resume)
        let seconds = clock.seconds
        let test = try trainer.evaluator.evaluate(model, on: data.test, tasks: data.tasks)
        var metrics: [String: Double] = [:]
        for (split, results) in [("validation", summary.validation), ("test", test.metrics)] {
            for (task, values) in results { for (name, value) in values { metrics["\(split).\(task).\(name)"] = value } }
        }
        let trained = try TrainedModel(model: model, data: data, targetScalings: trainer.targetScalings, balancing: training.balancing,
                                       metrics: metrics, epoch: summary.bestEpoch, step: summary.steps)
        let rows = Array(0..<min(4096, data.test.rowCount))
        var run = ComparisonRun(model: choice.displayName, seed: training.seed, bestEpoch: summary.bestEpoch, epochs: summary.history.count,
                                steps: summary.steps, trainingSeconds: seconds, parameters: model.parameterCount,
                                validation: summary.validation, test: test.metrics)
        run.details = RunDetails(summary: summary, test: test, tasks: data.tasks,
                                 heatmaps: rows.isEmpty ? [] : model.inspectionHeatmaps(on: data.test.batch(rows: rows)))
        var comparison = ComparisonOutcome(models: [choice.displayName], tasks: data.tasks.map(\.name), seeds: [training.seed], runs: [run],
                                           specifications: [.init(name: choice.displayName, specification: model.specification,
                                                                  balancing: training.balancing)],
                                           training: training, data: data.summary.split(separator: "\n").first.map(String.init))
        comparison.dataSummary = DataSummary(data)
        return Outcome(trained: trained, summary: summary, test: test,
                       communication: trainer.trainingStep.gradientExchange.map(CommunicationTimes.init), comparison: comparison)
    }
}
