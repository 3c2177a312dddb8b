import FunnelCore

/// The shape of a model's input after feature processing: categorical fields with their vocabulary sizes
/// (ids 0..<V_f, the out-of-vocabulary id included) and a count of numeric features.
public struct FeatureLayout: Codable, Equatable, Sendable {
    /// Vocabulary size of each categorical field, in field order.
    public var vocabularySizes: [Int]
    /// Number of numeric features (projected together into one extra field by the embedding layer).
    public var numericCount: Int

    public init(vocabularySizes: [Int], numericCount: Int) {
        self.vocabularySizes = vocabularySizes
        self.numericCount = numericCount
    }
}

/// What a task predicts.
public enum TaskKind: String, Codable, Sendable {
    /// A 0/1 label; the head outputs a logit.
    case binary
    /// A real-valued label; the head outputs the prediction.
    case continuous
}

/// A prediction target, in funnel order.
public struct TaskSpec: Codable, Equatable, Sendable {
    public var name: String
    public var kind: TaskKind

    public init(name: String, kind: TaskKind) {
        self.name = name
        self.kind = kind
    }
}

/// One mini-batch in model-ready form.
public struct Batch {
    /// Number of rows.
    public let count: Int
    /// Categorical ids `[count · fields]`, row-major by sample, per-field ids (no offsets).
    public let ids: [Int32]
    /// Numeric features `[count, numericCount]`, or nil when there are none.
    public let numeric: Tensor?
    /// Labels `[count, tasks]`.
    public let labels: Tensor

    public init(count: Int, ids: [Int32], numeric: Tensor?, labels: Tensor) {
        self.count = count
        self.ids = ids
        self.numeric = numeric
        self.labels = labels
    }

    /// Column `task` of the labels, `[count]`.
    public func labels(ofTask task: Int) -> Tensor {
        let tasks = labels.shape[1]
        let column = Tensor(uninitialized: [count])
        for i in 0..<count { column.pointer[i] = labels.pointer[i * tasks + task] }
        return column
    }
}
