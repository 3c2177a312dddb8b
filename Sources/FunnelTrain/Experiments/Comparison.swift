import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelNN

/// Several models × several seeds on one dataset: each run trains with early stopping on the validation
/// split, restores its best weights and is scored once on the test split. The result aggregates mean ± sample
/// standard deviation per model, task and metric (metrics.md §11).
public struct Comparison {
    /// One model of the comparison: a display name, how to build it for a seed, and optionally its own loss
    /// balancing (ablations such as "HTLNet's architecture trained with PCGrad").
    public struct Entry {
        public var name: String
        public var build: (_ seed: UInt64) throws -> any MultiTaskModel
        /// Overrides the comparison's `training.balancing` for this entry (nil: the shared one).
        public var balancing: BalancingMethod?
        /// The registry model and configuration the entry builds, when it comes from a registry (for reports).
        public var specification: AnyMultiTaskModel.Configuration?

        public init(name: String, balancing: BalancingMethod? = nil, specification: AnyMultiTaskModel.Configuration? = nil,
                    build: @escaping (_ seed: UInt64) throws -> any MultiTaskModel) {
            self.name = name
            self.build = build
            self.balancing = balancing
            self.specification = specification
        }

        /// An entry that builds registry model `model` with the partial `configuration` for `features` and `tasks`,
        /// initialised from `SeededGenerator(seed: runSeed)`. The configuration is checked now (by building once),
        /// so a typo fails before any training.
        public static func registry(_ registry: ModelRegistry = .standard, name: String, model: String, configuration: JSONValue? = nil,
                                    balancing: BalancingMethod? = nil, features: FeatureLayout, tasks: [TaskSpec]) throws -> Entry {
            var probe = SeededGenerator(seed: 0)
            let full = try registry.makeModel(named: model, configuration: configuration, features: features, tasks: tasks, using: &probe)
            return Entry(name: name, balancing: balancing, specification: full.specification) { seed in
                var rng = SeededGenerator(seed: seed)
                return try registry.makeModel(named: model, configuration: configuration, features: features, tasks: tasks, using: &rng)
            }
        }
    }

    /// Which runs record their model's inspection report (`MultiTaskModel.inspectionReport(on:)`), for models that offer one.
    public enum InspectionScope: String, Codable, Sendable {
        case none, firstSeed, everyRun
    }

    public var entries: [Entry]
    public var seeds: [UInt64]
    public var training: TrainingConfiguration
    public var tasks: [TaskSpec]
    public var inspection: InspectionScope
    /// Test rows the inspections average over.
    public var inspectionRows: Int
    /// Where each run saves its progress (`<entry>-seed<seed>/`: `TrainingCheckpoints` after every epoch, and
    /// `run.json` once finished), so that `run(resume: true)` continues an interrupted comparison; nil: nowhere.
    public var checkpoints: URL?

    public init(entries: [Entry], seeds: [UInt64], training: TrainingConfiguration, tasks: [TaskSpec],
                inspection: InspectionScope = .firstSeed, inspectionRows: Int = 4096) {
        self.entries = entries
        self.seeds = seeds
        self.training = training
        self.tasks = tasks
        self.inspection = inspection
        self.inspectionRows = inspectionRows
    }

    /// Runs every model with every seed (entries in order, seeds inner). `log` gives each run its training log
    /// (nil: silent); `progress` receives a line as each run starts (run k of N, elapsed time, estimated time
    /// left) and one as it finishes. Sets `ThreadPool.shared.activeThreads` when `training.threads` is set. With
    /// `resume` (and `checkpoints`), runs that finished are read back instead of trained, and an interrupted one
    /// continues after its last finished epoch (bit-identical to an uninterrupted run; only `trainingSeconds` counts
    /// the resumed part alone).
    public func run(train: EncodedTable, validation: any BatchSource, test: any BatchSource,
                    log: (_ entry: String, _ seed: UInt64) throws -> TrainingLog? = { _, _ in nil },
                    progress: (String) -> Void = { _ in }, resume: Bool = false) throws -> ComparisonOutcome {
        if let threads = training.threads { ThreadPool.shared.activeThreads = threads }
        let names = entries.map(\.name)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ComparisonError.duplicateEntry(duplicate)
        }
        try checkEntries(on: train)
        var runs: [ComparisonRun] = []
        var overall = ComparisonProgress(runs: entries.count * seeds.count)
        for entry in entries {
            for (index, seed) in seeds.enumerated() {
                let saved = checkpoints?.appendingPathComponent("\(entry.name)-seed\(seed)")
                let finished = saved?.appendingPathComponent(Self.finishedRunFile)
                if resume, let finished, FileManager.default.fileExists(atPath: finished.path) {
                    let run = try JSONDecoder().decode(ComparisonRun.self, from: Data(contentsOf: finished))
                    runs.append(run)
                    overall.finished()
                    progress(run.line)
                    continue
                }
                progress(overall.starting("\(entry.name) seed \(seed)"))
                var configuration = training
                configuration.seed = seed
                if let balancing = entry.balancing { configuration.balancing = balancing }
                let model = try entry.build(seed)
                let trainer = try Trainer(model: model, tasks: tasks, configuration: configuration, log: try log(entry.name, seed))
                if let saved {
                    try TrainingCheckpoints.checkDestination(saved)
                    trainer.checkpointing = TrainingCheckpoints(directory: saved, metadata: CheckpointMetadata(
                        model: entry.specification?.model ?? entry.name, configuration: entry.specification?.configuration ?? .null,
                        features: train.layout, tasks: tasks))
                }
                let clock = ElapsedTimer()
                let summary = try trainer.fit(train: train, validation: validation, resume: resume)
                let seconds = clock.seconds
                let evaluation = try trainer.evaluator.evaluate(model, on: test, tasks: tasks)
                var run = ComparisonRun(model: entry.name, seed: seed, bestEpoch: summary.bestEpoch, epochs: summary.history.count,
                                        steps: summary.steps, trainingSeconds: seconds, parameters: model.parameterCount,
                                        validation: summary.validation, test: evaluation.metrics)
                var heatmaps: [InspectionHeatmap] = []
                if inspection == .everyRun || (inspection == .firstSeed && index == 0) {
                    let rows = Array(0..<min(inspectionRows, test.rowCount))
                    if !rows.isEmpty {
                        let batch = test.batch(rows: rows)
                        run.inspection = model.inspectionReport(on: batch)
                        heatmaps = model.inspectionHeatmaps(on: batch)
                    }
                }
                run.details = RunDetails(summary: summary, test: evaluation, tasks: tasks, heatmaps: heatmaps)
                if let finished { try OutputFile.write(JSONEncoder().encode(run), to: finished, overwrite: true) }
                runs.append(run)
                overall.finished()
                progress(run.line)
            }
        }
        return ComparisonOutcome(models: names, tasks: tasks.map(\.name), seeds: seeds, runs: runs,
                                specifications: entries.map { ComparisonOutcome.EntryDescription($0, training: training) },
                                training: training)
    }
}

extension Comparison {
    /// The file a finished run's `ComparisonRun` is saved as in its checkpoint directory.
    static let finishedRunFile = "run.json"

    /// Builds every entry once and runs it on two training rows, so that a model that cannot train these tasks
    /// (e.g. no ZILN head for a ZILN task) fails before any training starts.
    public func checkEntries(on train: EncodedTable) throws {
        guard train.rowCount > 0 else { return }
        let batch = train.batch(rows: Array(0..<min(2, train.rowCount)))
        for entry in entries {
            do {
                let model = try entry.build(seeds.first ?? 0)
                let output = model(batch, ForwardContext.inference())
                try checkLossHeads(output, tasks: tasks)
            } catch {
                throw ComparisonError.entryFailed(entry.name, "\(error)")
            }
        }
    }
}

/// Why a comparison cannot run.
public enum ComparisonError: Error, CustomStringConvertible {
    case duplicateEntry(String)
    case entryFailed(String, String)

    public var description: String {
        switch self {
        case .duplicateEntry(let name): return "two comparison entries are named '\(name)'; label one (label=model)"
        case let .entryFailed(name, reason): return "model '\(name)': \(reason)"
        }
    }
}

/// One trained model of a comparison.
public struct ComparisonRun: Codable, Equatable, Sendable {
    public var model: String
    public var seed: UInt64
    public var bestEpoch: Int
    public var epochs: Int
    public var steps: Int
    public var trainingSeconds: Double
    public var parameters: Int
    public var validation: [String: [String: Double]]
    public var test: [String: [String: Double]]
    /// The model's inspection report (Markdown), when the comparison recorded one for this run.
    public var inspection: String?
    /// Epoch history, test diagnostics and heat maps (what `RunReport` draws); nil in files written before them.
    public var details: RunDetails?

    var line: String {
        let scores = test.keys.sorted().compactMap { task in test[task]?["auc"].map { "\(task) auc \(fixed($0, 4))" } }
        return "\(model) seed \(seed): best epoch \(bestEpoch)/\(epochs), \(fixed(trainingSeconds, 1))s  " + scores.joined(separator: "  ")
    }
}
