import FunnelCore
import FunnelData
import Foundation

/// Everything that controls a training run besides the model and the data. Codable, so a run's YAML/JSON
/// configuration maps onto it field by field; every field has a default.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// Maximum number of passes over the training split.
    public var epochs = 10
    /// Rows per training step.
    public var batchSize = 2048
    /// Rows per evaluation batch (no gradients, so larger is fine).
    public var evaluationBatchSize = 8192
    public var optimizer = OptimizerConfiguration()
    public var schedule = LearningRateSchedule.constant
    public var earlyStopping = EarlyStopping()
    /// Seed of everything random in the run: initialisation, shuffling, dropout, noise.
    public var seed: UInt64 = 0
    /// Global gradient-norm clip (PyTorch `clip_grad_norm_`), or nil for none.
    public var gradientClip: Float?
    /// Steps between progress updates and JSONL training records.
    public var logEvery = 50
    /// Worker threads for kernels (nil: the machine's cores, or `FUNNEL_THREADS`).
    public var threads: Int?
    /// How task losses are combined into gradients (losses-and-balancing.md §7).
    public var balancing = BalancingMethod.fixedWeights

    public init() {}

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case epochs, batchSize, evaluationBatchSize, optimizer, schedule, earlyStopping, seed, gradientClip, logEvery, threads
        case balancing
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfiguration()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        evaluationBatchSize = try c.decodeIfPresent(Int.self, forKey: .evaluationBatchSize) ?? d.evaluationBatchSize
        optimizer = try c.decodeIfPresent(OptimizerConfiguration.self, forKey: .optimizer) ?? d.optimizer
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule) ?? d.schedule
        earlyStopping = try c.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping) ?? d.earlyStopping
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        gradientClip = try c.decodeIfPresent(Float.self, forKey: .gradientClip)
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? d.logEvery
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        balancing = try c.decodeIfPresent(BalancingMethod.self, forKey: .balancing) ?? d.balancing
    }

    /// The run-file keys of the fields (for error messages listing them).
    static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// Throws a `RangeError` naming the first setting outside its range (each named as in a run file, with its
    /// command-line flag where there is one). `Trainer` calls it, so no run starts with, say, zero epochs.
    public func validate() throws {
        try RangeCheck.atLeast(1, epochs, "training.epochs (--epochs)")
        try RangeCheck.atLeast(1, batchSize, "training.batchSize (--batch-size)")
        try RangeCheck.atLeast(1, evaluationBatchSize, "training.evaluationBatchSize")
        try RangeCheck.positive(optimizer.learningRate, "training.optimizer.learningRate (--lr)")
        try RangeCheck.nonNegative(optimizer.weightDecay, "training.optimizer.weightDecay")
        try RangeCheck.fraction(optimizer.momentum, "training.optimizer.momentum")
        try RangeCheck.atLeast(1, earlyStopping.patience, "training.earlyStopping.patience (--patience)")
        try RangeCheck.nonNegative(earlyStopping.minDelta, "training.earlyStopping.minDelta")
        if let gradientClip { try RangeCheck.positive(gradientClip, "training.gradientClip") }
        try RangeCheck.atLeast(1, logEvery, "training.logEvery")
        if let threads { try RangeCheck.atLeast(1, threads, "training.threads (--threads)") }
        switch schedule {
        case .constant: break
        case let .stepDecay(every, factor):
            try RangeCheck.atLeast(1, every, "training.schedule.stepDecay.epochs")
            try RangeCheck.positive(factor, "training.schedule.stepDecay.factor")
        case let .cosine(warmup, total, floor):
            try RangeCheck.atLeast(0, warmup, "training.schedule.cosine.warmupSteps")
            try RangeCheck.atLeast(1, total, "training.schedule.cosine.totalSteps")
            try RangeCheck.unitInterval(floor, "training.schedule.cosine.floor")
        }
    }
}

/// Which optimizer updates the model, with PyTorch semantics (baselines.md §1.7).
public struct OptimizerConfiguration: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case adam, adamW, sgd, adagrad }
    public var kind = Kind.adam
    public var learningRate: Float = 1e-3
    /// Coupled L2 for Adam/SGD/Adagrad (PyTorch `weight_decay`), decoupled for AdamW.
    public var weightDecay: Float = 0
    /// SGD momentum.
    public var momentum: Float = 0
    /// Adam/Adagrad update only the embedding-table rows a batch read (lazy rows; `Adam`'s documentation gives
    /// the semantics), so a step costs the same for a table of 10k or 10M rows. `false` is the dense mode: every
    /// row moves every step, as PyTorch's dense `Adam` (O(table) per step). Run file:
    /// `optimizer: {lazyEmbeddingRows: false}`.
    public var lazyEmbeddingRows = true

    public init(kind: Kind = .adam, learningRate: Float = 1e-3, weightDecay: Float = 0, momentum: Float = 0,
                lazyEmbeddingRows: Bool = true) {
        self.kind = kind
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.lazyEmbeddingRows = lazyEmbeddingRows
    }

    private enum CodingKeys: String, CodingKey { case kind, learningRate, weightDecay, momentum, lazyEmbeddingRows }

    /// Every key optional (a run file names only what it changes).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OptimizerConfiguration()
        kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? d.kind
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? d.momentum
        lazyEmbeddingRows = try c.decodeIfPresent(Bool.self, forKey: .lazyEmbeddingRows) ?? d.lazyEmbeddingRows
    }

    /// A fresh optimizer of this configuration.
    public func make() -> Optimizer {
        switch kind {
        case .adam: return Adam(learningRate: learningRate, weightDecay: weightDecay, lazyRows: lazyEmbeddingRows)
        case .adamW: return Adam.adamW(learningRate: learningRate, weightDecay: weightDecay)
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .adagrad: return Adagrad(learningRate: learningRate, weightDecay: weightDecay, lazyRows: lazyEmbeddingRows)
        }
    }
}

/// Learning rate as a function of the step, relative to the configured base rate.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    /// Multiply by `factor` every `epochs` epochs.
    case stepDecay(epochs: Int, factor: Float)
    /// Linear warm-up over `warmupSteps`, then cosine decay to `floor`·base over `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int, floor: Float)

    /// The multiplier of the base learning rate at `step` (0-based, counted over the run) in `epoch`.
    public func factor(step: Int, epoch: Int) -> Float {
        switch self {
        case .constant:
            return 1
        case let .stepDecay(every, factor):
            return powf(factor, Float(epoch / max(every, 1)))
        case let .cosine(warmup, total, floor):
            if step < warmup { return Float(step + 1) / Float(warmup) }
            let progress = min(1, Float(step - warmup) / Float(max(total - warmup, 1)))
            return floor + (1 - floor) * 0.5 * (1 + cosf(.pi * progress))
        }
    }
}

/// Early stopping on the **validation** split: stop after `patience` evaluations without improving the
/// monitor by more than `minDelta`, then restore the best weights.
public struct EarlyStopping: Codable, Equatable, Sendable {
    /// What to watch: `mean(auc)` (mean over tasks that report it), `ctr.auc`, `amount.loss`, or a weighted sum
    /// such as `0.5*ctr.auc + 0.5*ctcvr.auc`. See `Monitor`.
    public var monitor = "mean(auc)"
    public var patience = 2
    public var minDelta = 0.0
    /// Restore the best epoch's weights at the end (always on in practice; off only for debugging).
    public var restoreBest = true

    public init(monitor: String = "mean(auc)", patience: Int = 2, minDelta: Double = 0, restoreBest: Bool = true) {
        self.monitor = monitor
        self.patience = patience
        self.minDelta = minDelta
        self.restoreBest = restoreBest
    }
}
