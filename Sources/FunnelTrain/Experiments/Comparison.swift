import Foundation
import FunnelCore
import FunnelData
import FunnelModels

/// Several models × several seeds on one dataset: each run trains with early stopping on the validation
/// split, restores its best weights and is scored once on the test split. The result aggregates mean ± sample
/// standard deviation per model, task and metric (metrics.md §11).
public struct Comparison {
    /// One model of the comparison: a display name and how to build it for a seed.
    public struct Entry {
        public var name: String
        public var build: (_ seed: UInt64) throws -> any MultiTaskModel

        public init(name: String, build: @escaping (_ seed: UInt64) throws -> any MultiTaskModel) {
            self.name = name
            self.build = build
        }
    }

    public var entries: [Entry]
    public var seeds: [UInt64]
    public var training: TrainingConfiguration
    public var tasks: [TaskSpec]

    public init(entries: [Entry], seeds: [UInt64], training: TrainingConfiguration, tasks: [TaskSpec]) {
        self.entries = entries
        self.seeds = seeds
        self.training = training
        self.tasks = tasks
    }

    /// Runs every model with every seed; `progress` receives one line per finished run.
    public func run(train: EncodedTable, validation: any BatchSource, test: any BatchSource,
                    log: TrainingLog? = nil, progress: (String) -> Void = { _ in }) throws -> ComparisonResult {
        var runs: [ComparisonRun] = []
        for entry in entries {
            for seed in seeds {
                var configuration = training
                configuration.seed = seed
                let model = try entry.build(seed)
                let trainer = try Trainer(model: model, tasks: tasks, configuration: configuration, log: log)
                let clock = ElapsedTimer()
                let summary = try trainer.fit(train: train, validation: validation)
                let seconds = clock.seconds
                let evaluation = try trainer.evaluator.evaluate(model, on: test, tasks: tasks)
                let run = ComparisonRun(model: entry.name, seed: seed, bestEpoch: summary.bestEpoch, epochs: summary.history.count,
                                        steps: summary.steps, trainingSeconds: seconds, parameters: model.parameterCount,
                                        validation: summary.validation, test: evaluation.metrics)
                runs.append(run)
                progress(run.line)
            }
        }
        return ComparisonResult(models: entries.map(\.name), tasks: tasks.map(\.name), seeds: seeds, runs: runs)
    }
}

/// One trained model of a comparison.
public struct ComparisonRun: Codable, Sendable {
    public var model: String
    public var seed: UInt64
    public var bestEpoch: Int
    public var epochs: Int
    public var steps: Int
    public var trainingSeconds: Double
    public var parameters: Int
    public var validation: [String: [String: Double]]
    public var test: [String: [String: Double]]

    var line: String {
        let scores = test.keys.sorted().compactMap { task in test[task]?["auc"].map { "\(task) auc \(fixed($0, 4))" } }
        return "\(model) seed \(seed): best epoch \(bestEpoch)/\(epochs), \(fixed(trainingSeconds, 1))s  " + scores.joined(separator: "  ")
    }
}

/// Every run of a comparison, with aggregation and rendering.
public struct ComparisonResult: Codable, Sendable {
    public var models: [String]
    public var tasks: [String]
    public var seeds: [UInt64]
    public var runs: [ComparisonRun]

    /// Mean and sample standard deviation of a test metric over seeds, or nil when no run reports it.
    public func aggregate(model: String, task: String, metric: String) -> (mean: Double, std: Double, values: [Double])? {
        let values = runs.filter { $0.model == model }.compactMap { $0.test[task]?[metric] }
        guard !values.isEmpty else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1 ? values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1) : 0
        return (mean, variance.squareRoot(), values)
    }

    /// Test metrics reported by every task, in a stable order (AUC and friends first).
    public var metricNames: [String] {
        let preferred = ["auc", "gauc", "logloss", "nrmse", "nmae", "gini", "spearman", "rmse", "mae", "mse", "calibration", "loss"]
        let present = Set(runs.flatMap { $0.test.values.flatMap(\.keys) })
        return preferred.filter(present.contains) + present.subtracting(preferred).sorted()
    }

    /// A Markdown table: one row per model, one column per task × metric, cells `mean ± std` over seeds.
    public func markdown(metrics: [String]? = nil, digits: Int = 4) -> String {
        let chosen = metrics ?? metricNames.filter { $0 != "loss" && $0 != "calibration" && $0 != "mse" }
        var columns: [(task: String, metric: String)] = []
        for task in tasks {
            for metric in chosen where runs.contains(where: { $0.test[task]?[metric] != nil }) { columns.append((task, metric)) }
        }
        var lines = ["| Model | " + columns.map { "\($0.task) \($0.metric)" }.joined(separator: " | ") + " | s/run |",
                     "|---|" + columns.map { _ in "---|" }.joined() + "---|"]
        for model in models {
            let cells = columns.map { column -> String in
                guard let a = aggregate(model: model, task: column.task, metric: column.metric) else { return "–" }
                return "\(fixed(a.mean, digits)) ± \(fixed(a.std, digits))"
            }
            let seconds = runs.filter { $0.model == model }.map(\.trainingSeconds)
            lines.append("| \(model) | " + cells.joined(separator: " | ") + " | \(fixed(seconds.reduce(0, +) / Double(max(seconds.count, 1)), 1)) |")
        }
        return lines.joined(separator: "\n") + "\n\nMean ± sample std over seeds \(seeds.map(String.init).joined(separator: ", ")); test split, "
            + "best validation epoch per run.\n"
    }
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
