import FunnelModels

/// One trial trained at one rung of a search, as `trials.jsonl` records it.
public struct TrialRecord: Codable, Equatable, Sendable {
    /// The model's label.
    public var model: String
    /// The trial's index (0-based; trial 0 keeps the defaults the space contains).
    public var trial: Int
    /// The rung (0-based) and its epoch budget.
    public var rung: Int
    public var epochs: Int
    /// The trial's hyperparameters, by key (`ModelSearch.space`).
    public var values: [String: JSONValue]
    /// The validation monitor at the best epoch; nil when the trial failed or never produced a finite value.
    public var monitor: Double?
    /// Validation metrics of the best epoch.
    public var validation: [String: [String: Double]]
    public var bestEpoch: Int
    /// Epochs actually trained (early stopping may end a trial before its budget).
    public var epochsRun: Int
    public var seconds: Double
    public var cpuSeconds: Double
    /// Why the trial failed (invalid configuration, non-finite loss), or nil.
    public var failure: String?

    /// The record with its timings zeroed (what two runs of the same search agree on).
    public var withoutTimings: TrialRecord {
        var record = self
        record.seconds = 0
        record.cpuSeconds = 0
        return record
    }
}

/// One retraining of a model's best configuration with one seed, scored on the test split.
public struct FinalRecord: Codable, Equatable, Sendable {
    public var model: String
    public var seed: UInt64
    public var run: ComparisonRun
    public var entry: ComparisonOutcome.EntryDescription
    public var cpuSeconds: Double
}

/// A line of `trials.jsonl`: the header (what the search is, checked on resume), a trial, or a final run.
struct TuningLogLine: Codable {
    var header: JSONValue?
    var trial: TrialRecord?
    var final: FinalRecord?
}
