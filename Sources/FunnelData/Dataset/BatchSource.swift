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

/// A column stored contiguously: an array, or a view into a mapped file.
protocol ContiguousColumn<Element> {
    associatedtype Element
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R
}

extension Array: ContiguousColumn {}

extension UnsafeBufferPointer: ContiguousColumn {
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R { try body(self) }
}

/// The columns of a table, stored as arrays (`EncodedTable`) or as views into a mapped file (`MappedTable`),
/// and the one routine that gathers rows of them into a `Batch`. Sharing it is what makes batches from the two
/// storages identical.
struct ColumnSet<Int32Column: ContiguousColumn<Int32>, FloatColumn: ContiguousColumn<Float>,
                 Int64Column: ContiguousColumn<Int64>> {
    var rowCount: Int
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
        precondition(rows.allSatisfy { 0 <= $0 && $0 < rowCount }, "row index out of 0..<\(rowCount)")
        let fields = layout.vocabularySizes.count, width = layout.numericCount, taskCount = tasks.count
        let batchIDs = [Int32](unsafeUninitializedCapacity: rows.count * fields) { buffer, count in
            Self.gather(ids, width: fields, rows: rows, into: buffer.baseAddress)
            count = rows.count * fields
        }
        let numericTensor = width > 0 ? Tensor(uninitialized: [rows.count, width]) : nil
        if let numericTensor { Self.gather(numeric, width: width, rows: rows, into: numericTensor.pointer) }
        let labelTensor = Tensor(uninitialized: [rows.count, taskCount])
        Self.gather(labels, width: taskCount, rows: rows, into: labelTensor.pointer)
        let weightTensor = weights.map { column in
            let tensor = Tensor(uninitialized: [rows.count, taskCount])
            Self.gather(column, width: taskCount, rows: rows, into: tensor.pointer)
            return tensor
        }
        let bags = multiValued.map { field -> MultiValuedIDs in
            field.offsets.withUnsafeBufferPointer { offsetsIn in
                field.ids.withUnsafeBufferPointer { idsIn in
                    var offsets: [Int32] = [0], values: [Int32] = []
                    offsets.reserveCapacity(rows.count + 1)
                    for row in rows {
                        values.append(contentsOf: idsIn[Int(offsetsIn[row])..<Int(offsetsIn[row + 1])])
                        offsets.append(Int32(values.count))
                    }
                    return MultiValuedIDs(offsets: offsets, ids: values)
                }
            }
        }
        return Batch(count: rows.count, ids: batchIDs, multiValued: bags, numeric: numericTensor, labels: labelTensor,
                     masks: Self.masks(labels: labelTensor, tasks: tasks), weights: weightTensor,
                     groups: groups.map { column in column.withUnsafeBufferPointer { g in rows.map { g[$0] } } })
    }

    /// Copies row `rows[b]` of a `[rowCount, width]` column to row `b` of `destination`.
    private static func gather<Column: ContiguousColumn>(_ column: Column, width: Int, rows: [Int],
                                                         into destination: UnsafeMutablePointer<Column.Element>?) {
        guard width > 0, !rows.isEmpty, let destination else { return }
        column.withUnsafeBufferPointer { source in
            let base = source.baseAddress!
            for (b, row) in rows.enumerated() { (destination + b &* width).update(from: base + row &* width, count: width) }
        }
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
