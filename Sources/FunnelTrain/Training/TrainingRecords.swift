/// Records of a training run, as logged to JSONL and returned by `Trainer.fit`.

/// One epoch's outcome.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainingLoss: [String: Double]
    public var validation: [String: [String: Double]]
    public var monitor: Double
    public var improved: Bool
    public var seconds: Double
}

/// The outcome of `Trainer.fit`.
public struct TrainingSummary: Codable, Sendable {
    public var bestEpoch: Int
    public var monitor: String
    public var bestValue: Double?
    /// Validation metrics of the best epoch.
    public var validation: [String: [String: Double]]
    public var history: [EpochRecord]
    public var steps: Int
}
