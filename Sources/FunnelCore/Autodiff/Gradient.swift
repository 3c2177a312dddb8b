/// A parameter's gradient: every element, or only some rows of an embedding table.
///
/// A table read only through lookups (`gatherRows`, `embeddingBag`) gets a `.rows` gradient straight from the tape:
/// its size is the number of distinct rows a batch read, never the table's, so nothing per step (allocation,
/// zeroing, norms, sums, optimizer updates) costs O(table rows).
public enum Gradient {
    /// Every element, in the parameter's shape.
    case dense(Tensor)
    /// Zero outside the listed leading-axis rows.
    case rows(RowSparseGradient)

    /// Σ g² over every element, in Float64.
    public var squaredNorm: Double {
        switch self {
        case .dense(let t): return t.squaredNorm()
        case .rows(let s): return s.values.squaredNorm()
        }
    }

    /// The gradient times `factor`.
    public func scaled(by factor: Float) -> Gradient {
        switch self {
        case .dense(let t): return .dense(t.scaled(by: factor))
        case .rows(let s): return .rows(RowSparseGradient(rows: s.rows, values: s.values.scaled(by: factor)))
        }
    }

    /// The gradient as a dense tensor of `shape` (O(elements): for tests, dense optimizers and dense exchanges).
    public func densified(shape: [Int]) -> Tensor {
        switch self {
        case .dense(let t): return t
        case .rows(let s): return s.densified(shape: shape)
        }
    }

    /// The sum of two gradients of one parameter of `shape`: row-sparse when both are (over the union of rows).
    public static func sum(_ a: Gradient, _ b: Gradient, shape: [Int]) -> Gradient {
        switch (a, b) {
        case let (.rows(x), .rows(y)): return .rows(x + y)
        case let (.dense(x), .rows(y)), let (.rows(y), .dense(x)):
            let out = x.copy()
            y.add(into: out)
            return .dense(out)
        case let (.dense(x), .dense(y)):
            var out = x
            Tensor.accumulate(y, into: &out)
            return .dense(out)
        }
    }
}

/// A row-sparse gradient: `values[i, …]` is the gradient of leading-axis row `rows[i]`; every other row is zero.
/// `rows` is strictly increasing. `values` is `[rows.count, width]` (width = elements per table row).
public struct RowSparseGradient {
    public let rows: [Int32]
    public let values: Tensor

    public init(rows: [Int32], values: Tensor) {
        precondition(values.shape.first == rows.count, "\(values.shape) values for \(rows.count) rows")
        self.rows = rows
        self.values = values
    }

    /// No rows, rows of `width` elements.
    public static func empty(width: Int) -> RowSparseGradient { RowSparseGradient(rows: [], values: Tensor(zeros: [0, width])) }

    /// Elements per row.
    public var width: Int { values.shape.dropFirst().reduce(1, *) }

    /// Sums contributions `values[i]` to rows `rows[i]` (any order, repeats allowed) into one gradient. Repeated rows
    /// are summed in the order given (as a scatter-add would). O(n log n) in the contributions.
    public static func coalescing(rows: [Int32], values: Tensor, width: Int) -> RowSparseGradient {
        precondition(values.count == rows.count * width, "\(values.count) values for \(rows.count) rows of \(width)")
        // Sort (row, position) keys packed into one word: a plain integer sort, stable by construction.
        let order = rows.enumerated().map { UInt64(UInt32(bitPattern: $0.element)) << 32 | UInt64($0.offset) }.sorted()
            .map { Int($0 & 0xFFFF_FFFF) }
        var unique: [Int32] = []
        unique.reserveCapacity(rows.count)
        for i in order where unique.last != rows[i] { unique.append(rows[i]) }
        let out = Tensor(uninitialized: [unique.count, width])
        var slot = -1, previous: Int32 = -1
        for i in order {
            let source = values.pointer + i * width
            if rows[i] != previous || slot < 0 {
                slot += 1
                previous = rows[i]
                (out.pointer + slot * width).update(from: source, count: width)
            } else {
                let target = out.pointer + slot * width
                binaryMap(target, source, target, width, { $0 + $1 }, { $0 + $1 })
            }
        }
        return RowSparseGradient(rows: unique, values: out)
    }

    /// The sum over the union of both row lists (one merge pass).
    public static func + (a: RowSparseGradient, b: RowSparseGradient) -> RowSparseGradient {
        if a.rows.isEmpty { return b }
        if b.rows.isEmpty { return a }
        let width = a.width
        var union: [Int32] = []
        union.reserveCapacity(a.rows.count + b.rows.count)
        var (i, j) = (0, 0)
        while i < a.rows.count || j < b.rows.count {
            let next = j == b.rows.count || (i < a.rows.count && a.rows[i] <= b.rows[j]) ? a.rows[i] : b.rows[j]
            union.append(next)
            if i < a.rows.count && a.rows[i] == next { i += 1 }
            if j < b.rows.count && b.rows[j] == next { j += 1 }
        }
        let out = Tensor(zeros: [union.count, width])
        for source in [a, b] {
            var k = 0
            for (r, row) in source.rows.enumerated() {
                while union[k] != row { k += 1 }
                let target = out.pointer + k * width
                binaryMap(target, source.values.pointer + r * width, target, width, { $0 + $1 }, { $0 + $1 })
            }
        }
        return RowSparseGradient(rows: union, values: out)
    }

    /// ⟨self, other⟩ over the rows both have (a merge join), in Float64.
    public func dot(_ other: RowSparseGradient) -> Double {
        guard !rows.isEmpty, !other.rows.isEmpty else { return 0 }
        var (i, j, total) = (0, 0, 0.0)
        while i < rows.count && j < other.rows.count {
            if rows[i] < other.rows[j] { i += 1 } else if rows[i] > other.rows[j] { j += 1 } else {
                total += Double(FunnelCore.dot(values.pointer + i * width, other.values.pointer + j * width, width))
                i += 1
                j += 1
            }
        }
        return total
    }

    /// ⟨self, dense⟩ over this gradient's rows only, in Float64.
    public func dot(dense: Tensor) -> Double {
        guard !rows.isEmpty else { return 0 }
        return rows.enumerated().reduce(0.0) { total, item in
            total + Double(FunnelCore.dot(values.pointer + item.offset * width, dense.pointer + Int(item.element) * width, width))
        }
    }

    /// `target[rows[i]] += values[i]` for every row (`target` dense, owned by the caller).
    public func add(into target: Tensor, scaledBy factor: Float = 1) {
        guard !rows.isEmpty else { return }
        let v = SIMD8<Float>(repeating: factor)
        for (i, row) in rows.enumerated() {
            let t = target.pointer + Int(row) * width
            binaryMap(t, values.pointer + i * width, t, width, { $0 + $1 * v }, { $0 + $1 * factor })
        }
    }

    /// This gradient as a dense tensor of `shape`.
    public func densified(shape: [Int]) -> Tensor {
        let out = Tensor(zeros: shape)
        add(into: out)
        return out
    }
}

extension RowSparseGradient {
    /// The same rows times `factor`.
    public func scaled(by factor: Float) -> RowSparseGradient {
        factor == 1 ? self : RowSparseGradient(rows: rows, values: values.scaled(by: factor))
    }
}
