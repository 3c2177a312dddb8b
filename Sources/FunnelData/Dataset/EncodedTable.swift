import FunnelCore

/// Encoded rows in columnar, model-ready form: per-field categorical ids, numeric features, entire-space
/// labels, optional per-task sample weights and group ids. What readers, the binary cache and the synthetic
/// generators produce and what batches are cut from (`batches(size:shuffleSeed:dropSingleton:)` comes from
/// `BatchSource`).
public struct EncodedTable: BatchSource, Sendable {
    public var layout: FeatureLayout
    public var tasks: [TaskSpec]
    public private(set) var rowCount: Int
    /// `[rows · F_cat]`, row-major.
    public var ids: [Int32]
    /// One entry per multi-valued field: `offsets [rows + 1]` and ids.
    public var multiValued: [MultiValuedIDs]
    /// `[rows · numericCount]`, row-major, already transformed.
    public var numeric: [Float]
    /// `[rows · tasks]`, row-major, entire-space labels on the original scale.
    public var labels: [Float]
    /// `[rows · tasks]` sample weights, or nil for all ones.
    public var weights: [Float]?
    /// `[rows]` group ids for GAUC, or nil.
    public var groups: [Int64]?

    public init(layout: FeatureLayout, tasks: [TaskSpec], rowCount: Int, ids: [Int32], multiValued: [MultiValuedIDs] = [],
                numeric: [Float], labels: [Float], weights: [Float]? = nil, groups: [Int64]? = nil) {
        precondition(ids.count == rowCount * layout.vocabularySizes.count, "ids: \(ids.count) for \(rowCount) rows")
        precondition(numeric.count == rowCount * layout.numericCount, "numeric: \(numeric.count) for \(rowCount) rows")
        precondition(labels.count == rowCount * tasks.count, "labels: \(labels.count) for \(rowCount) rows")
        precondition(multiValued.count == layout.multiValued.count && multiValued.allSatisfy { $0.offsets.count == rowCount + 1 })
        precondition(weights.map { $0.count == labels.count } ?? true && groups.map { $0.count == rowCount } ?? true)
        self.layout = layout
        self.tasks = tasks
        self.rowCount = rowCount
        self.ids = ids
        self.multiValued = multiValued
        self.numeric = numeric
        self.labels = labels
        self.weights = weights
        self.groups = groups
    }

    /// The batch made of `rows` (row indices, in that order), with each task's loss-space mask.
    public func batch(rows: [Int]) -> Batch {
        ColumnSet(rowCount: rowCount, ids: ids, multiValued: multiValued.map { ($0.offsets, $0.ids) }, numeric: numeric, labels: labels,
                  weights: weights, groups: groups).batch(rows: rows, layout: layout, tasks: tasks)
    }

    /// The rows `indices` as a new table (for splits).
    public func subset(_ indices: [Int]) -> EncodedTable {
        let batch = batch(rows: indices)
        return EncodedTable(
            layout: layout, tasks: tasks, rowCount: indices.count, ids: batch.ids, multiValued: batch.multiValued,
            numeric: batch.numeric.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) } ?? [],
            labels: Array(UnsafeBufferPointer(start: batch.labels.pointer, count: batch.labels.count)),
            weights: batch.weights.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) }, groups: batch.groups)
    }
}
