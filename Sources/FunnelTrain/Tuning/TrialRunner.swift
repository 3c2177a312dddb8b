import FunnelCore
import FunnelData
import FunnelModels

/// The splits a search may read: train and validation. The test split is not part of it, so no trial can be trained,
/// ranked or selected on test data; only the final retraining of the selected configurations sees it.
public struct SearchData {
    public let train: EncodedTable
    public let validation: EncodedTable

    /// The train and validation splits of `data`.
    public init(_ data: ExperimentData) {
        train = data.train
        validation = data.validation
    }

    public var tasks: [TaskSpec] { train.tasks }
}

/// What training one trial measured on the validation split.
public struct TrialMeasurement: Equatable, Sendable {
    /// The early-stopping monitor at the best epoch (nil: never finite).
    public var monitor: Double?
    public var validation: [String: [String: Double]]
    public var bestEpoch: Int
    public var epochsRun: Int

    public init(monitor: Double?, validation: [String: [String: Double]], bestEpoch: Int, epochsRun: Int) {
        self.monitor = monitor
        self.validation = validation
        self.bestEpoch = bestEpoch
        self.epochsRun = epochsRun
    }
}

/// Trains a trial: a model choice with its training settings (`training.epochs` is the rung's budget).
public protocol TrialRunner {
    func measure(_ choice: RunConfiguration.ModelChoice, training: TrainingConfiguration) throws -> TrialMeasurement
}

/// The trial runner of `funnel tune`: builds the model through the registry, trains it on `data.train` with early
/// stopping on `data.validation`, and reports the monitor of the best epoch.
public struct ValidationTrialRunner: TrialRunner {
    public let data: SearchData
    public let registry: ModelRegistry

    public init(data: SearchData, registry: ModelRegistry = .standard) {
        self.data = data
        self.registry = registry
    }

    public func measure(_ choice: RunConfiguration.ModelChoice, training: TrainingConfiguration) throws -> TrialMeasurement {
        var rng = SeededGenerator(seed: training.seed)
        let model = try registry.makeModel(named: choice.name, configuration: choice.configuration, features: data.train.layout,
                                           tasks: data.tasks, using: &rng)
        if data.train.rowCount > 0 {
            try checkLossHeads(model(data.train.batch(rows: Array(0..<min(2, data.train.rowCount))), .inference()), tasks: data.tasks)
        }
        let summary = try Trainer(model: model, tasks: data.tasks, configuration: training).fit(train: data.train, validation: data.validation)
        return TrialMeasurement(monitor: summary.bestValue, validation: summary.validation, bestEpoch: summary.bestEpoch,
                                epochsRun: summary.history.count)
    }
}
