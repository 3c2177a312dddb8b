/// One prediction task of a dataset schema: its label derivation from a column, its place in the funnel, and the
/// training settings copied into its `TaskSpec`.
public struct TaskSchema: Codable, Equatable, Sendable {
    /// How a task's label relates to its parent's (the funnel relation).
    public enum Nesting: String, Codable, Sendable {
        /// Labels must already be nested: a row positive for this task while its parent's label is 0 is a bad row
        /// (`DataError.Kind.funnel`). For data like Ali-CCP, where a purchase implies a click (default).
        case check
        /// The stored label is this task's label times 1[parent label > 0]: entire-space labels for a chain of
        /// conditions that are not nested by themselves (Census "hybrid chain").
        case product
    }

    public var name: String
    public var kind: TaskKind
    public var label: LabelRule
    /// The preceding funnel step (a task defined earlier in the list).
    public var parent: String?
    public var nesting: Nesting
    /// Loss: `bce` (binary default), `mse` (continuous default), `huber`, `ziln`.
    public var loss: String?
    /// Positive-class weight for `bce`.
    public var positiveWeight: Float?
    /// Threshold δ for `huber`.
    public var huberDelta: Float?
    /// Fixed loss weight λ_t.
    public var weight: Float
    public var reduction: LossReduction
    /// Rows the loss is computed over (default all).
    public var lossSpace: SpaceSchema
    /// Rows metrics are computed over (default: the loss space).
    public var evaluationSpace: SpaceSchema?
    /// Column of per-row sample weights for this task (overrides the schema's `sampleWeight`).
    public var sampleWeight: ColumnReference?
    public var targetTransform: TargetTransform
    public var metrics: [String]

    public init(name: String, kind: TaskKind, label: LabelRule, parent: String? = nil, nesting: Nesting = .check,
                loss: String? = nil, positiveWeight: Float? = nil, huberDelta: Float? = nil, weight: Float = 1,
                reduction: LossReduction = .spaceMean, lossSpace: SpaceSchema = .all, evaluationSpace: SpaceSchema? = nil,
                sampleWeight: ColumnReference? = nil, targetTransform: TargetTransform = .none, metrics: [String] = []) {
        self.name = name
        self.kind = kind
        self.label = label
        self.parent = parent
        self.nesting = nesting
        self.loss = loss
        self.positiveWeight = positiveWeight
        self.huberDelta = huberDelta
        self.weight = weight
        self.reduction = reduction
        self.lossSpace = lossSpace
        self.evaluationSpace = evaluationSpace
        self.sampleWeight = sampleWeight
        self.targetTransform = targetTransform
        self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, kind, label, parent, nesting, loss, positiveWeight, huberDelta, weight, reduction, lossSpace
        case evaluationSpace, sampleWeight, targetTransform, metrics
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name), kind: try c.decode(TaskKind.self, forKey: .kind),
            label: try c.decode(LabelRule.self, forKey: .label), parent: try c.decodeIfPresent(String.self, forKey: .parent),
            nesting: try c.decodeIfPresent(Nesting.self, forKey: .nesting) ?? .check,
            loss: try c.decodeIfPresent(String.self, forKey: .loss),
            positiveWeight: try c.decodeIfPresent(Float.self, forKey: .positiveWeight),
            huberDelta: try c.decodeIfPresent(Float.self, forKey: .huberDelta),
            weight: try c.decodeIfPresent(Float.self, forKey: .weight) ?? 1,
            reduction: try c.decodeIfPresent(LossReduction.self, forKey: .reduction) ?? .spaceMean,
            lossSpace: try c.decodeIfPresent(SpaceSchema.self, forKey: .lossSpace) ?? .all,
            evaluationSpace: try c.decodeIfPresent(SpaceSchema.self, forKey: .evaluationSpace),
            sampleWeight: try c.decodeIfPresent(ColumnReference.self, forKey: .sampleWeight),
            targetTransform: try c.decodeIfPresent(TargetTransform.self, forKey: .targetTransform) ?? .none,
            metrics: try c.decodeIfPresent([String].self, forKey: .metrics) ?? [])
    }

    /// The task's `TaskLoss` from `loss`, `positiveWeight` and `huberDelta` (each range-checked, as is `weight`).
    func taskLoss(schema: String) throws -> TaskLoss {
        do {
            if let positiveWeight { try RangeCheck.positive(positiveWeight, "task '\(name)': positiveWeight") }
            if let huberDelta { try RangeCheck.positive(huberDelta, "task '\(name)': huberDelta") }
            try RangeCheck.nonNegative(weight, "task '\(name)': weight")
        } catch let error as RangeError {
            throw DataError.schema(schema, error.description)
        }
        switch loss ?? (kind == .binary ? "bce" : "mse") {
        case "bce": return .binaryCrossEntropy(positiveWeight: positiveWeight ?? 1)
        case "mse": return .squaredError
        case "huber": return .huber(delta: huberDelta ?? 1)
        case "ziln": return .zeroInflatedLognormal
        case let other: throw DataError.schema(schema, "task '\(name)': unknown loss '\(other)' (bce, mse, huber, ziln)")
        }
    }
}

/// How a task's label is read from its column.
///
/// Binary tasks: with `positive`, the label is 1 where the text is one of these values, else 0 (and, with
/// `negative`, any text in neither list is a bad row); with `greaterThan`, 1 where the number exceeds it;
/// otherwise the column must hold the numbers 0 or 1. Continuous tasks: the number itself. A missing value is a
/// bad row unless `fillNA` gives the label to use.
public struct LabelRule: Codable, Equatable, Sendable {
    public var column: ColumnReference
    public var positive: [String]?
    public var negative: [String]?
    public var greaterThan: Double?
    public var fillNA: Double?

    public init(column: ColumnReference, positive: [String]? = nil, negative: [String]? = nil, greaterThan: Double? = nil,
                fillNA: Double? = nil) {
        self.column = column
        self.positive = positive
        self.negative = negative
        self.greaterThan = greaterThan
        self.fillNA = fillNA
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case column, positive, negative, greaterThan, fillNA }

    public init(from decoder: Decoder) throws {
        if let column = try? decoder.singleValueContainer().decode(ColumnReference.self) {
            self.init(column: column)
            return
        }
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(column: try c.decode(ColumnReference.self, forKey: .column),
                  positive: try c.decodeIfPresent([String].self, forKey: .positive),
                  negative: try c.decodeIfPresent([String].self, forKey: .negative),
                  greaterThan: try c.decodeIfPresent(Double.self, forKey: .greaterThan),
                  fillNA: try c.decodeIfPresent(Double.self, forKey: .fillNA))
    }

    /// Whether the label comes from the text itself (value sets) rather than from a number.
    var isTextual: Bool { positive != nil }
}

/// A task's loss or evaluation space in a schema: `all`, or a map from task names to the label value a row must
/// have in each (`{click: 1}`: clicked rows). Becomes a `SpaceRule`.
public enum SpaceSchema: Codable, Equatable, Sendable {
    case all
    case whereLabels([String: Float])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self) {
            guard word == "all" else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a space is 'all' or a map like {click: 1}, not '\(word)'")
            }
            self = .all
        } else {
            self = .whereLabels(try container.decode([String: Float].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .all: try container.encode("all")
        case .whereLabels(let conditions): try container.encode(conditions)
        }
    }

    /// The rule, with conditions in task order.
    func rule(taskOrder: [String]) -> SpaceRule {
        guard case .whereLabels(let conditions) = self, !conditions.isEmpty else { return .all }
        let ordered = conditions.sorted { (taskOrder.firstIndex(of: $0.key) ?? .max, $0.key) < (taskOrder.firstIndex(of: $1.key) ?? .max, $1.key) }
        return .whereLabels(ordered.map { SpaceRule.LabelCondition(task: $0.key, value: $0.value) })
    }
}
