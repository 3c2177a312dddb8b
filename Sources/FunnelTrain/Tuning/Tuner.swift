import Foundation
import FunnelCore
import FunnelData
import FunnelModels

/// How a tune searches: trials per model, the successive-halving rate η and first rung's epochs, and the seed of
/// the trial draws (also the training seed of every trial). The last rung's epochs are `training.epochs`.
public struct TuningSettings: Codable, Equatable, Sendable {
    public var trials = 9
    public var eta = 3
    public var minEpochs = 1
    public var searchSeed: UInt64 = 0

    public init(trials: Int = 9, eta: Int = 3, minEpochs: Int = 1, searchSeed: UInt64 = 0) {
        self.trials = trials
        self.eta = eta
        self.minEpochs = minEpochs
        self.searchSeed = searchSeed
    }
}

/// `funnel tune`: an equal-budget random search with successive halving per model, selected on the validation
/// monitor only, then the best configuration of each model retrained with every seed and scored once on test.
///
/// Every model gets the same trials and rungs (`schedule`). The search phase reads `SearchData` (train and validation);
/// only `retrain` sees the test split. Trials and final runs are appended to `trials.jsonl` as they finish, and a
/// resumed tune reads them back instead of training them again, so it ends with the same result.
public struct Tuner {
    public let run: RunConfiguration
    public let settings: TuningSettings
    public let searches: [ModelSearch]
    public let schedule: SuccessiveHalving
    let monitor: Monitor
    let registry: ModelRegistry

    /// A tune of `run.models` (their labels unique) with `run.training` (its `epochs` the last rung's budget) and
    /// `run.seeds` for the final runs; `spaceFile` adjusts the default spaces and is checked against the models.
    public init(run: RunConfiguration, settings: TuningSettings, spaceFile: SpaceFile? = nil, tasks: [TaskSpec],
                registry: ModelRegistry = .standard) throws {
        guard !run.models.isEmpty else { throw TuningError.invalid("no models (--models or `models:` in the run file)") }
        guard !run.seeds.isEmpty else { throw TuningError.invalid("no seeds") }
        let labels = run.models.map(\.displayName)
        if let duplicate = labels.first(where: { label in labels.filter { $0 == label }.count > 1 }) {
            throw TuningError.invalid("two models are labelled '\(duplicate)'; label one (label=model)")
        }
        searches = try run.models.map {
            try ModelSearch(choice: $0, training: run.training, taskCount: tasks.count, spaceFile: spaceFile, registry: registry)
        }
        try spaceFile?.validate(configurations: Dictionary(uniqueKeysWithValues: searches.map { ($0.label, $0.configuration) }))
        schedule = try SuccessiveHalving(trials: settings.trials, eta: settings.eta, minEpochs: settings.minEpochs,
                                         maxEpochs: run.training.epochs)
        monitor = try Monitor(run.training.earlyStopping.monitor)
        self.run = run
        self.settings = settings
        self.registry = registry
    }

    /// What `trials.jsonl` starts with: everything that decides the result. A log resumes only under an equal header.
    public var header: JSONValue {
        get throws {
            let spaces = searches.map { search in
                (search.label, JSONValue.object(search.space.dimensions.mapValues { .string($0.summary) }))
            }
            return .object(["settings": try JSONValue(encoding: settings), "models": try JSONValue(encoding: run.models),
                            "training": try JSONValue(encoding: run.training), "seeds": try JSONValue(encoding: run.seeds),
                            "data": try run.data.map { try JSONValue(encoding: $0) } ?? .null,
                            "spaces": .object(Dictionary(uniqueKeysWithValues: spaces))])
        }
    }

    /// Searches, retrains and scores (see the type). `output` receives `trials.jsonl`; an existing one is continued
    /// with `resume` and refused without. `runner` trains the trials (default: `ValidationTrialRunner` on `data`'s
    /// train and validation splits).
    public func tune(_ data: ExperimentData, output: URL, resume: Bool = false, runner: (any TrialRunner)? = nil,
                     progress: (TuningProgress) -> Void = { _ in }) throws -> TuningOutcome {
        // A tune writes only into a new or empty directory, or an earlier tune's (it holds trials.jsonl).
        try OutputGuard.checkDirectory(output, use: .filled, markers: ["trials.jsonl"], overwrite: false)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let log = try TuningLog(url: output.appendingPathComponent("trials.jsonl"), header: try header, resume: resume)
        let finalEpochs = searches.count * run.seeds.count * run.training.epochs
        var clock = TuningClock(totalSteps: searches.count * (schedule.evaluations + run.seeds.count),
                                totalEpochs: searches.count * schedule.budgetedEpochs + finalEpochs)
        let results = try search(with: runner ?? ValidationTrialRunner(data: SearchData(data), registry: registry), log: log,
                                 clock: &clock, progress: progress)
        let finals = try retrain(results, on: data, log: log, clock: &clock, progress: progress)
        var comparison = ComparisonOutcome(models: results.map(\.label), tasks: data.tasks.map(\.name), seeds: run.seeds,
                                           runs: finals.map(\.run), specifications: finals.filter { $0.seed == run.seeds[0] }.map(\.entry),
                                           training: run.training)
        comparison.data = data.summary.split(separator: "\n").first.map(String.init)
        return TuningOutcome(settings: settings, schedule: schedule, monitor: monitor.description, searches: results, finals: finals,
                             comparison: comparison,
                             runFiles: Dictionary(uniqueKeysWithValues: results.map { ($0.label, runFile(for: $0)) }))
    }

    /// The search phase: every model through every rung, trials ranked by the validation monitor.
    func search(with runner: any TrialRunner, log: TuningLog, clock: inout TuningClock,
                progress: (TuningProgress) -> Void) throws -> [ModelSearchResult] {
        try searches.map { search in
            var alive = Array(0..<settings.trials)
            var records: [TrialRecord] = []
            var standings: [TrialRecord] = []
            for (index, rung) in schedule.rungs.enumerated() {
                var rungRecords: [TrialRecord] = []
                for (position, trial) in alive.enumerated() {
                    let (record, reused) = try evaluate(search, trial: trial, rung: index, epochs: rung.epochs, runner: runner, log: log)
                    rungRecords.append(record)
                    clock.finish(epochs: rung.epochs, seconds: reused ? nil : record.seconds)
                    let best = self.ranked(rungRecords).first.flatMap { top in top.monitor.map { ($0, top.trial) } }
                    let score = record.monitor.map { "\(monitor.description) \(fixed($0, 4))" } ?? "failed: \(record.failure ?? "no finite monitor")"
                    let step = "rung \(index + 1)/\(schedule.rungs.count) (\(epochs(rung.epochs))) trial \(position + 1)/\(alive.count): \(score)"
                    progress(clock.progress(model: search.label, step: step, best: best, reused: reused))
                }
                records += rungRecords
                standings = self.ranked(rungRecords)
                if index + 1 < schedule.rungs.count { alive = standings.prefix(schedule.rungs[index + 1].trials).map(\.trial) }
            }
            let best = standings[0]
            let candidate = try search.candidate(best.values)
            return ModelSearchResult(label: search.label, space: search.space, records: records, best: best, choice: candidate.choice,
                                     training: candidate.training)
        }
    }

    /// The record of `trial` at rung `rung`: from the log, or trained now (a failure is recorded, not thrown).
    private func evaluate(_ search: ModelSearch, trial: Int, rung: Int, epochs: Int, runner: any TrialRunner,
                          log: TuningLog) throws -> (TrialRecord, reused: Bool) {
        let values = try search.values(ofTrial: trial, seed: settings.searchSeed)
        if let saved = log.trial(search.label, trial, rung: rung) {
            guard saved.values == values, saved.epochs == epochs else {
                throw TuningError.invalid("\(log.url.lastPathComponent): \(search.label) trial \(trial) rung \(rung) does not match this search")
            }
            return (saved, true)
        }
        var record = TrialRecord(model: search.label, trial: trial, rung: rung, epochs: epochs, values: values, monitor: nil, validation: [:],
                                 bestEpoch: 0, epochsRun: 0, seconds: 0, cpuSeconds: 0, failure: nil)
        let clock = ElapsedTimer(), cpu = processCPUSeconds()
        do {
            var (choice, training) = try search.candidate(values)
            training.epochs = epochs
            training.seed = settings.searchSeed
            let measured = try runner.measure(choice, training: training)
            (record.monitor, record.validation) = (measured.monitor, measured.validation)
            (record.bestEpoch, record.epochsRun) = (measured.bestEpoch, measured.epochsRun)
        } catch {
            record.failure = "\(error)"
        }
        (record.seconds, record.cpuSeconds) = (clock.seconds, processCPUSeconds() - cpu)
        try log.append(record)
        return (record, false)
    }

    /// `records` best first: by the monitor in its direction, failures last, ties by trial index.
    func ranked(_ records: [TrialRecord]) -> [TrialRecord] {
        records.sorted { a, b in
            switch (a.monitor, b.monitor) {
            case let (x?, y?) where x != y: return monitor.higherIsBetter ? x > y : x < y
            case (nil, _?): return false
            case (_?, nil): return true
            default: return a.trial < b.trial
            }
        }
    }

    /// The final phase: each model's best configuration, as its run file states it, trained with every seed and
    /// scored on the test split.
    private func retrain(_ results: [ModelSearchResult], on data: ExperimentData, log: TuningLog, clock: inout TuningClock,
                         progress: (TuningProgress) -> Void) throws -> [FinalRecord] {
        var finals: [FinalRecord] = []
        for result in results {
            for seed in run.seeds {
                var reused = true
                var final = log.final(result.label, seed: seed)
                if final == nil {
                    var single = runFile(for: result)
                    single.seeds = [seed]
                    let cpu = processCPUSeconds()
                    let outcome = try single.comparison(for: data, registry: registry, inspection: seed == run.seeds[0] ? .firstSeed : .none)
                        .run(train: data.train, validation: data.validation, test: data.test)
                    final = FinalRecord(model: result.label, seed: seed, run: outcome.runs[0], entry: outcome.entries![0],
                                        cpuSeconds: processCPUSeconds() - cpu)
                    try log.append(final!)
                    reused = false
                }
                finals.append(final!)
                clock.finish(epochs: run.training.epochs, seconds: reused ? nil : final!.run.trainingSeconds)
                progress(clock.progress(model: result.label, step: "final \(final!.run.line)", best: nil, reused: reused))
            }
        }
        return finals
    }

    /// The run file that reproduces `result`'s best configuration: the tune's data and seeds, the model with its tuned
    /// configuration and balancing, the tuned training settings.
    public func runFile(for result: ModelSearchResult) -> RunConfiguration {
        RunConfiguration(data: run.data, models: [result.choice], training: result.training, seeds: run.seeds)
    }
}

/// One model's search: its space, every trial record (rung by rung), and the winner of the last rung.
public struct ModelSearchResult: Sendable {
    public var label: String
    public var space: SearchSpace
    public var records: [TrialRecord]
    public var best: TrialRecord
    /// The best trial's model choice and training settings.
    public var choice: RunConfiguration.ModelChoice
    public var training: TrainingConfiguration
}
