import FunnelCore

/// Encoded rows in columnar, model-ready form: per-field categorical ids, numeric features, entire-space
/// labels, optional per-task sample weights and group ids. What readers, the binary cache and the synthetic
/// generators produce and what batches are cut from.
public struct EncodedTable: Sendable {
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
        let fields = layout.vocabularySizes.count, width = layout.numericCount, taskCount = tasks.count
        var batchIDs = [Int32](repeating: 0, count: rows.count * fields)
        let numericTensor = width > 0 ? Tensor(uninitialized: [rows.count, width]) : nil
        let labelTensor = Tensor(uninitialized: [rows.count, taskCount])
        let weightTensor = weights.map { _ in Tensor(uninitialized: [rows.count, taskCount]) }
        for (b, row) in rows.enumerated() {
            for f in 0..<fields { batchIDs[b * fields + f] = ids[row * fields + f] }
            if let numericTensor { for j in 0..<width { numericTensor.pointer[b * width + j] = numeric[row * width + j] } }
            for t in 0..<taskCount { labelTensor.pointer[b * taskCount + t] = labels[row * taskCount + t] }
            if let weightTensor, let weights { for t in 0..<taskCount { weightTensor.pointer[b * taskCount + t] = weights[row * taskCount + t] } }
        }
        let bags = multiValued.map { field -> MultiValuedIDs in
            var offsets: [Int32] = [0], values: [Int32] = []
            for row in rows {
                values.append(contentsOf: field.ids[Int(field.offsets[row])..<Int(field.offsets[row + 1])])
                offsets.append(Int32(values.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: values)
        }
        return Batch(count: rows.count, ids: batchIDs, multiValued: bags, numeric: numericTensor, labels: labelTensor,
                     masks: masks(labels: labelTensor), weights: weightTensor, groups: groups.map { g in rows.map { g[$0] } })
    }

    /// `[rows, tasks]` loss-space masks, or nil when every task's space is every row.
    private func masks(labels: Tensor) -> Tensor? {
        let rows = labels.shape[0], taskCount = tasks.count
        let perTask = tasks.map { $0.lossSpace.mask(labels: labels.pointer, rows: rows, tasks: tasks) }
        guard perTask.contains(where: { $0 != nil }) else { return nil }
        let masks = Tensor(repeating: 1, shape: [rows, taskCount])
        for (t, mask) in perTask.enumerated() {
            guard let mask else { continue }
            for i in 0..<rows { masks.pointer[i * taskCount + t] = mask[i] }
        }
        return masks
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

    /// Mini-batches of `size` rows covering the table once. With `seed`, rows are shuffled (Fisher–Yates on a
    /// `SeededGenerator`), so the same seed gives the same batches. With `dropSingleton`, a final batch of one
    /// row is dropped (batch norm cannot train on it).
    public func batches(size: Int, shuffleSeed seed: UInt64? = nil, dropSingleton: Bool = false) -> [[Int]] {
        var order = Array(0..<rowCount)
        if let seed {
            var rng = SeededGenerator(seed: seed)
            order.shuffle(using: &rng)
        }
        var result = stride(from: 0, to: rowCount, by: size).map { Array(order[$0..<min($0 + size, rowCount)]) }
        if dropSingleton, result.last?.count == 1, result.count > 1 { result.removeLast() }
        return result
    }
}
