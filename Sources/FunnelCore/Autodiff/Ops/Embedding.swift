/// Embedding lookups: rows of one table (one-hot fields, ids already offset per field) and pooled bags
/// (multi-hot fields). Backward passes return one gradient row per read (`Variable.record(rowReads:)`); the tape
/// coalesces them into a row-sparse table gradient.
extension Variable {
    /// `table[indices[i], :]` for each i: `table` `[rows, width]` → `[indices.count, width]`. `source`: the graph input
    /// the indices were read from (for a traced tape; a traced lookup without one cannot be exported).
    public static func gatherRows(_ table: Variable, indices: [Int32], source: TracedIndices? = nil) -> Variable {
        let t = table.value
        precondition(t.rank == 2, "gatherRows from a \(t.shape) table")
        let (rows, width) = (t.shape[0], t.shape[1])
        let out = Tensor(uninitialized: [indices.count, width])
        indices.withUnsafeBufferPointer { ids in
            for (i, id) in ids.enumerated() {
                precondition(id >= 0 && Int(id) < rows, "embedding id \(id) outside table of \(rows) rows")
                (out.pointer + i * width).update(from: t.pointer + Int(id) * width, count: width)
            }
        }
        // The gradient of read i is row i of the output's gradient.
        return record(out, inputs: [table], rowReads: indices, op: .gatherRows(source)) { g, _ in [g.reshaped([indices.count, width])] }
    }

    /// How a bag's rows are pooled.
    public enum BagPooling: String, Codable, Sendable { case sum, mean }

    /// Pooled bags: bag `b` covers `indices[offsets[b] ..< offsets[b + 1]]`; `offsets` has `bags + 1` entries.
    /// Returns `[bags, width]`; an empty bag pools to zeros. `source`: the graph input of padded ids (0 = padding) the
    /// bags were read from, as for `gatherRows`.
    public static func embeddingBag(_ table: Variable, indices: [Int32], offsets: [Int32], pooling: BagPooling,
                                    source: TracedIndices? = nil) -> Variable {
        let t = table.value
        let (rows, width) = (t.shape[0], t.shape[1])
        let bags = offsets.count - 1
        precondition(bags >= 0 && offsets.last.map { Int($0) == indices.count } ?? false, "bag offsets must end at \(indices.count)")
        let out = Tensor(zeros: [bags, width])
        let weightOf = { (b: Int) -> Float in
            let n = Int(offsets[b + 1] - offsets[b])
            return pooling == .mean && n > 0 ? 1 / Float(n) : 1
        }
        for b in 0..<bags {
            let target = out.pointer + b * width
            let w = SIMD8<Float>(repeating: weightOf(b)), ws = weightOf(b)
            for p in Int(offsets[b])..<Int(offsets[b + 1]) {
                let id = Int(indices[p])
                precondition(id >= 0 && id < rows, "embedding id \(id) outside table of \(rows) rows")
                binaryMap(target, t.pointer + id * width, target, width, { $0 + $1 * w }, { $0 + $1 * ws })
            }
        }
        // The gradient of read p in bag b is w_b · g[b].
        return record(out, inputs: [table], rowReads: indices, op: .embeddingBag(source, pooling: pooling)) { g, _ in
            let grad = Tensor(uninitialized: [indices.count, width])
            for b in 0..<bags {
                let w = SIMD8<Float>(repeating: weightOf(b)), ws = weightOf(b)
                let source = g.pointer + b * width
                for p in Int(offsets[b])..<Int(offsets[b + 1]) {
                    unaryMap(source, grad.pointer + p * width, width, { $0 * w }, { $0 * ws })
                }
            }
            return [grad]
        }
    }
}
