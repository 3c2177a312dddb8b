import FunnelCore

/// The shape of a model's input after feature processing.
///
/// Fields, in order: the single-valued categorical fields (`vocabularySizes`), then the multi-valued fields
/// (`multiValued`, each pooled into one field), then — when `numericCount > 0` — one field holding the
/// projected numeric features. Every categorical id lies in `0..<V_f`, the out-of-vocabulary id included.
public struct FeatureLayout: Codable, Equatable, Sendable {
    /// Vocabulary size of each single-valued categorical field, in field order.
    public var vocabularySizes: [Int]
    /// Multi-valued (multi-hot / sequence) fields, each pooled into one embedding field.
    public var multiValued: [MultiValuedField]
    /// Number of numeric features (projected together into one extra field by the embedding layer).
    public var numericCount: Int
    /// Field names in field order (categorical, then multi-valued); empty when unnamed.
    public var fieldNames: [String]
    /// Embedding width per field (categorical, then multi-valued), 0 meaning the model's default width; nil when
    /// every field uses the default.
    public var embeddingWidths: [Int]?
    /// Per field (categorical, then multi-valued), the index of the field whose embedding table it reads: its own
    /// index unless it shares another field's table (same ids, same vocabulary); nil when nothing is shared.
    public var embeddingOwners: [Int]?

    public init(vocabularySizes: [Int], multiValued: [MultiValuedField] = [], numericCount: Int, fieldNames: [String] = [],
                embeddingWidths: [Int]? = nil, embeddingOwners: [Int]? = nil) {
        self.vocabularySizes = vocabularySizes
        self.multiValued = multiValued
        self.numericCount = numericCount
        self.fieldNames = fieldNames
        self.embeddingWidths = embeddingWidths
        self.embeddingOwners = embeddingOwners
    }

    /// Number of embedding fields F (categorical + multi-valued + one numeric field if any).
    public var fieldCount: Int { vocabularySizes.count + multiValued.count + (numericCount > 0 ? 1 : 0) }
}

/// A multi-valued categorical field: a variable-length list of ids per row, pooled into one `[d]` vector.
public struct MultiValuedField: Codable, Equatable, Sendable {
    public enum Pooling: String, Codable, Sendable { case sum, mean }
    /// Vocabulary size; id 0 is padding and is excluded from the pool.
    public var vocabularySize: Int
    public var pooling: Pooling

    public init(vocabularySize: Int, pooling: Pooling) {
        self.vocabularySize = vocabularySize
        self.pooling = pooling
    }
}

/// The ids of one multi-valued field for a batch, in compressed-row form: row `b` owns
/// `ids[offsets[b]..<offsets[b+1]]`. `offsets.count == count + 1`.
public struct MultiValuedIDs: Sendable {
    public var offsets: [Int32]
    public var ids: [Int32]

    public init(offsets: [Int32], ids: [Int32]) {
        self.offsets = offsets
        self.ids = ids
    }
}

/// One mini-batch in model-ready form. Labels are in entire-space form (see `TaskSpec`); masks and weights
/// only select and weight loss terms, never change the forward pass.
public struct Batch {
    /// Number of rows.
    public let count: Int
    /// Single-valued categorical ids `[count · F_cat]`, row-major by sample, per-field ids (no offsets).
    public let ids: [Int32]
    /// One entry per multi-valued field of the layout.
    public let multiValued: [MultiValuedIDs]
    /// Numeric features `[count, numericCount]`, or nil when there are none.
    public let numeric: Tensor?
    /// Labels `[count, tasks]`.
    public let labels: Tensor
    /// Task-space masks `[count, tasks]` (1 = the row is in the task's loss space), or nil for all ones.
    public let masks: Tensor?
    /// Sample weights `[count, tasks]`, or nil for all ones.
    public let weights: Tensor?
    /// Group ids (user, query) for GAUC, `[count]`, or nil.
    public let groups: [Int64]?

    public init(count: Int, ids: [Int32], multiValued: [MultiValuedIDs] = [], numeric: Tensor?, labels: Tensor,
                masks: Tensor? = nil, weights: Tensor? = nil, groups: [Int64]? = nil) {
        self.count = count
        self.ids = ids
        self.multiValued = multiValued
        self.numeric = numeric
        self.labels = labels
        self.masks = masks
        self.weights = weights
        self.groups = groups
    }

    /// Number of tasks (label columns).
    public var taskCount: Int { labels.shape[1] }

    /// Column `task` of the labels, `[count]`.
    public func labels(ofTask task: Int) -> Tensor { Self.column(task, of: labels) }

    /// Column `task` of the masks, `[count]`, or nil when every row is in the task's space.
    public func mask(ofTask task: Int) -> Tensor? { masks.map { Self.column(task, of: $0) } }

    /// Column `task` of the sample weights, `[count]`, or nil when all weights are one.
    public func weights(ofTask task: Int) -> Tensor? { weights.map { Self.column(task, of: $0) } }

    /// The product of mask and weight for `task` (what a space-mean loss reduction multiplies rows by), or nil
    /// when both are all ones.
    public func lossWeights(ofTask task: Int) -> Tensor? {
        switch (mask(ofTask: task), weights(ofTask: task)) {
        case (nil, nil): return nil
        case let (m?, nil): return m
        case let (nil, w?): return w
        case let (m?, w?): return m * w
        }
    }

    private static func column(_ task: Int, of matrix: Tensor) -> Tensor {
        let tasks = matrix.shape[1], rows = matrix.shape[0]
        let column = Tensor(uninitialized: [rows])
        for i in 0..<rows { column.pointer[i] = matrix.pointer[i * tasks + task] }
        return column
    }
}
