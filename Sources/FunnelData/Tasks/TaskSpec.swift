/// What a task predicts.
public enum TaskKind: String, Codable, Sendable {
    /// A 0/1 label; the head outputs a logit.
    case binary
    /// A real-valued label; the head outputs the prediction.
    case continuous
}

/// The per-row loss of a task (`../shared/specs/losses-and-balancing.md` §2–4).
public enum TaskLoss: Codable, Equatable, Sendable {
    /// Binary cross-entropy on logits, with an optional positive-class weight.
    case binaryCrossEntropy(positiveWeight: Float = 1)
    /// Squared error on the transformed target.
    case squaredError
    /// Huber loss with threshold `delta` on the transformed target.
    case huber(delta: Float = 1)
    /// Zero-inflated lognormal on the raw non-negative target (head width 3).
    case zeroInflatedLognormal

    /// The default loss of a task kind.
    public static func defaultLoss(for kind: TaskKind) -> TaskLoss {
        kind == .binary ? .binaryCrossEntropy() : .squaredError
    }
}

/// How a task's batch loss is reduced over rows (losses-and-balancing.md §1).
public enum LossReduction: String, Codable, Sendable {
    /// Σ m·w·ℓ / Σ m·w (default).
    case spaceMean
    /// Σ m·w·ℓ / B.
    case batchMean
    /// Σ m·w·ℓ.
    case sum
}

/// A rule selecting rows from labels: every row, or rows where all listed tasks' labels equal given values.
/// Used for loss spaces (the CVR loss over clicked rows) and evaluation spaces (masked CVR AUC).
public enum SpaceRule: Codable, Equatable, Sendable {
    case all
    /// Rows where, for every condition, the label of task `task` equals `value`.
    case whereLabels([LabelCondition])

    public struct LabelCondition: Codable, Equatable, Sendable {
        public var task: String
        public var value: Float
        public init(task: String, value: Float) {
            self.task = task
            self.value = value
        }
    }

    /// Rows where task `task`'s label equals `value`.
    public static func whereLabel(_ task: String, equals value: Float = 1) -> SpaceRule {
        .whereLabels([LabelCondition(task: task, value: value)])
    }
}

/// Invertible transform of a continuous target for training (losses-and-balancing.md §3); metrics use the
/// original scale.
public enum TargetTransform: String, Codable, Sendable {
    case none, standardize, log1p, log1pStandardize
}

/// A prediction target, in funnel order. Labels are in entire-space form: a binary step's label is 1 only if
/// every earlier step is 1 (`parent`), and an amount is positive only after conversion.
public struct TaskSpec: Codable, Equatable, Sendable {
    /// Unique task name (`ctr`, `ctcvr`, `amount`).
    public var name: String
    public var kind: TaskKind
    /// Source column of the label (defaults to `name`).
    public var label: String
    /// The preceding step in the funnel (this task's label can be 1 / positive only where the parent's is 1).
    public var parent: String?
    public var loss: TaskLoss
    /// Fixed loss weight λ_t.
    public var weight: Float
    public var reduction: LossReduction
    /// Rows the loss is computed over.
    public var lossSpace: SpaceRule
    /// Rows the metrics are computed over.
    public var evaluationSpace: SpaceRule
    /// Column holding per-row sample weights, if any.
    public var sampleWeight: String?
    /// Transform of a continuous target for training.
    public var targetTransform: TargetTransform
    /// Clip raw labels at this training quantile (e.g. 0.999) before the transform; nil = no clip (`TargetScaling`).
    public var targetClipQuantile: Float?
    /// Metric names to report (empty: the defaults of the kind).
    public var metrics: [String]

    public init(name: String, kind: TaskKind, label: String? = nil, parent: String? = nil, loss: TaskLoss? = nil,
                weight: Float = 1, reduction: LossReduction = .spaceMean, lossSpace: SpaceRule = .all,
                evaluationSpace: SpaceRule = .all, sampleWeight: String? = nil, targetTransform: TargetTransform = .none,
                metrics: [String] = [], targetClipQuantile: Float? = nil) {
        self.name = name
        self.kind = kind
        self.label = label ?? name
        self.parent = parent
        self.loss = loss ?? .defaultLoss(for: kind)
        self.weight = weight
        self.reduction = reduction
        self.lossSpace = lossSpace
        self.evaluationSpace = evaluationSpace
        self.sampleWeight = sampleWeight
        self.targetTransform = targetTransform
        self.metrics = metrics
        self.targetClipQuantile = targetClipQuantile
    }
}

extension SpaceRule {
    /// The 0/1 mask of this rule for `rows` rows of entire-space labels `[rows, tasks.count]` (row-major), or
    /// nil when the rule selects every row.
    public func mask(labels: UnsafePointer<Float>, rows: Int, tasks: [TaskSpec]) -> [Float]? {
        guard case .whereLabels(let conditions) = self else { return nil }
        let columns = conditions.map { condition -> (Int, Float) in
            guard let index = tasks.firstIndex(where: { $0.name == condition.task }) else {
                preconditionFailure("space rule names unknown task '\(condition.task)'")
            }
            return (index, condition.value)
        }
        let width = tasks.count
        return (0..<rows).map { row in
            columns.allSatisfy { labels[row * width + $0.0] == $0.1 } ? 1 : 0
        }
    }
}
