import FunnelModels

/// The rungs of a successive-halving search (Jamieson & Talwalkar 2016; one Hyperband bracket): every trial trains for
/// `minEpochs`, the best 1/η by the validation monitor go on to η× the epochs, and so on until `maxEpochs`.
///
/// With 9 trials, η = 3, 1 to 9 epochs: 9 trials × 1 epoch, 3 × 3, 1 × 9 (27 epochs). A promoted trial is trained
/// again from the start with the larger budget; the trainer is deterministic, so this equals continuing it, at the
/// cost of the epochs already run (counted in `budgetedEpochs`).
public struct SuccessiveHalving: Codable, Equatable, Sendable {
    /// One rung: how many trials train, and for how many epochs (at most; early stopping may stop sooner).
    public struct Rung: Codable, Equatable, Sendable {
        public var trials: Int
        public var epochs: Int
    }

    public let rungs: [Rung]

    /// The schedule for `trials` trials, keeping the best 1/`eta` per rung, from `minEpochs` up to `maxEpochs`
    /// (the last rung gets exactly `maxEpochs`; a rung never keeps fewer than one trial).
    public init(trials: Int, eta: Int, minEpochs: Int, maxEpochs: Int) throws {
        guard trials >= 1 else { throw SearchSpaceError.invalid("trials", "must be at least 1") }
        guard eta >= 2 else { throw SearchSpaceError.invalid("eta", "must be at least 2") }
        guard minEpochs >= 1, minEpochs <= maxEpochs else {
            throw SearchSpaceError.invalid("minEpochs", "must be between 1 and the maximum epochs (\(maxEpochs))")
        }
        var rungs = [Rung(trials: trials, epochs: minEpochs)]
        while rungs.last!.epochs < maxEpochs {
            rungs.append(Rung(trials: max(1, rungs.last!.trials / eta), epochs: min(maxEpochs, rungs.last!.epochs * eta)))
        }
        self.rungs = rungs
    }

    /// Epochs the search may train per model: Σ trials × epochs over the rungs.
    public var budgetedEpochs: Int { rungs.reduce(0) { $0 + $1.trials * $1.epochs } }

    /// Trial trainings per model (one per trial and rung it reaches).
    public var evaluations: Int { rungs.reduce(0) { $0 + $1.trials } }
}
