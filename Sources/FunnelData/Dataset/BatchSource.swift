import FunnelCore

/// Anything mini-batches are cut from: an in-memory `EncodedTable` or a memory-mapped `MappedTable`. A trainer
/// written against `BatchSource` runs on either, and both give bit-identical batches for the same rows.
public protocol BatchSource {
    var layout: FeatureLayout { get }
    var tasks: [TaskSpec] { get }
    /// Number of rows.
    var rowCount: Int { get }
    /// The batch made of `rows` (row indices, in that order), with each task's loss-space mask.
    func batch(rows: [Int]) -> Batch
}

extension BatchSource {
    /// Mini-batches of `size` rows covering the source once. With `seed`, rows are shuffled (Fisher–Yates on a
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

/// The columns of a table, stored as arrays (`EncodedTable`) or as views into a mapped file (`MappedTable`),
/// and the one routine that gathers rows of them into a `Batch`. Sharing it is what makes batches from the two
/// storages identical.
struct ColumnSet<Int32Column: RandomAccessCollection, FloatColumn: RandomAccessCollection,
                 Int64Column: RandomAccessCollection>
where Int32Column.Element == Int32, Int32Column.Index == Int, FloatColumn.Element == Float, FloatColumn.Index == Int,
      Int64Column.Element == Int64, Int64Column.Index == Int {
    /// `[rows · F_cat]`.
    var ids: Int32Column
    /// Per multi-valued field: `offsets [rows + 1]` and the ids they index.
    var multiValued: [(offsets: Int32Column, ids: Int32Column)]
    /// `[rows · numericCount]`.
    var numeric: FloatColumn
    /// `[rows · tasks]`.
    var labels: FloatColumn
    /// `[rows · tasks]` or nil.
    var weights: FloatColumn?
    /// `[rows]` or nil.
    var groups: Int64Column?

    func batch(rows: [Int], layout: FeatureLayout, tasks: [TaskSpec]) -> Batch {
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
            offsets.reserveCapacity(rows.count + 1)
            for row in rows {
                values.append(contentsOf: field.ids[Int(field.offsets[row])..<Int(field.offsets[row + 1])])
                offsets.append(Int32(values.count))
            }
            return MultiValuedIDs(offsets: offsets, ids: values)
        }
        return Batch(count: rows.count, ids: batchIDs, multiValued: bags, numeric: numericTensor, labels: labelTensor,
                     masks: Self.masks(labels: labelTensor, tasks: tasks), weights: weightTensor,
                     groups: groups.map { g in rows.map { g[$0] } })
    }

    /// `[rows, tasks]` loss-space masks, or nil when every task's space is every row.
    private static func masks(labels: Tensor, tasks: [TaskSpec]) -> Tensor? {
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
}
