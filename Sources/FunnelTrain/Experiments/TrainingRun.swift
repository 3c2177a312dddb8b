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
    }

    public func run(on data: ExperimentData, log: TrainingLog? = nil) throws -> Outcome {
        if let threads = training.threads { ThreadPool.shared.activeThreads = threads }
        var rng = SeededGenerator(seed: training.seed)
        let model = try registry.makeModel(named: choice.name, configuration: choice.configuration, features: data.layout, tasks: data.tasks,
                                           using: &rng)
        if data.train.rowCount > 0 {
            try checkLossHeads(model(data.train.batch(rows: Array(0..<min(2, data.train.rowCount))), .inference()), tasks: data.tasks)
        }
        let trainer = try Trainer(model: model, tasks: data.tasks, configuration: training, log: log)
        trainer.dataParallel = dataParallel
        let summary = try trainer.fit(train: data.train, validation: data.validation)
        let test = try trainer.evaluator.evaluate(model, on: data.test, tasks: data.tasks)
        var metrics: [String: Double] = [:]
        for (split, results) in [("validation", summary.validation), ("test", test.metrics)] {
            for (task, values) in results { for (name, value) in values { metrics["\(split).\(task).\(name)"] = value } }
        }
        let trained = try TrainedModel(model: model, data: data, targetScalings: trainer.targetScalings, balancing: training.balancing,
                                       metrics: metrics, epoch: summary.bestEpoch, step: summary.steps)
        return Outcome(trained: trained, summary: summary, test: test,
                       communication: trainer.trainingStep.gradientExchange.map(CommunicationTimes.init))
    }
}
