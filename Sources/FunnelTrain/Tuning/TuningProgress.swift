import FunnelCore

/// One finished step of a tune (a trial at a rung, or a final run), for progress lines.
public struct TuningProgress: Sendable {
    /// The model's label.
    public var model: String
    /// What finished: `rung 2/3 (3 epochs) trial 1/3: mean(auc) 0.7012` or `final seed 1: …`.
    public var step: String
    /// The best validation monitor of this model's current rung so far, and its trial.
    public var best: (value: Double, trial: Int)?
    /// Steps finished (including ones read back from the log) and in all.
    public var finished: Int
    public var total: Int
    public var elapsedSeconds: Double
    /// Seconds left, from the seconds per budgeted epoch measured so far (nil before the first measurement).
    public var remainingSeconds: Double?
    /// Whether the step was read back from the log (`--resume`) rather than trained.
    public var reused: Bool

    /// `[9/24] mmoe rung 1/3 (1 epoch) trial 4/9: mean(auc) 0.7012 · best 0.7050 (trial 2) · 1m12s elapsed, ETA 3m10s`.
    public var line: String {
        var text = "[\(finished)/\(total)] \(model) \(step)"
        if let best { text += " · best \(fixed(best.value, 4)) (trial \(best.trial))" }
        if reused { text += " · from the log" }
        text += " · \(Self.duration(elapsedSeconds)) elapsed"
        if let remainingSeconds { text += ", ETA \(Self.duration(remainingSeconds))" }
        return text
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}

/// Counts finished steps and budgeted epochs, and estimates the time left from the epochs trained in this process.
struct TuningClock {
    let totalSteps: Int
    let totalEpochs: Int
    private(set) var finishedSteps = 0
    private var finishedEpochs = 0
    private var measuredEpochs = 0
    private var measuredSeconds = 0.0
    private let started = ElapsedTimer()

    init(totalSteps: Int, totalEpochs: Int) {
        self.totalSteps = totalSteps
        self.totalEpochs = totalEpochs
    }

    /// Records a finished step of `epochs` budgeted epochs that took `seconds` (nil: read from the log).
    mutating func finish(epochs: Int, seconds: Double?) {
        finishedSteps += 1
        finishedEpochs += epochs
        if let seconds {
            measuredEpochs += epochs
            measuredSeconds += seconds
        }
    }

    func progress(model: String, step: String, best: (value: Double, trial: Int)?, reused: Bool) -> TuningProgress {
        let rate = measuredEpochs > 0 ? measuredSeconds / Double(measuredEpochs) : nil
        return TuningProgress(model: model, step: step, best: best, finished: finishedSteps, total: totalSteps,
                              elapsedSeconds: started.seconds, remainingSeconds: rate.map { $0 * Double(totalEpochs - finishedEpochs) },
                              reused: reused)
    }
}
