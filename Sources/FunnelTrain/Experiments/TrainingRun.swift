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
        /// The run as a comparison of one model and one seed (what `RunReport` draws).
        public var comparison: ComparisonOutcome
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
        let clock = ElapsedTimer()
        let summary = try trainer.fit(train: data.train, validation: data.validation)
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
                                 heatmaps: rows.isEmpty ? [] : ModelInspection.heatmaps(of: model, batch: data.test.batch(rows: rows)))
        var comparison = ComparisonOutcome(models: [choice.displayName], tasks: data.tasks.map(\.name), seeds: [training.seed], runs: [run],
                                           specifications: [.init(name: choice.displayName, specification: model.specification,
                                                                  balancing: training.balancing)],
                                           training: training, data: data.summary.split(separator: "\n").first.map(String.init))
        comparison.dataSummary = DataSummary(data)
        return Outcome(trained: trained, summary: summary, test: test, comparison: comparison)
    }
}
