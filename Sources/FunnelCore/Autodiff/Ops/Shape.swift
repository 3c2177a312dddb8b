/// Reshape, concatenation, splitting, slicing and transposition. Backward functions route gradient blocks
/// back to where the values came from.
extension Variable {
    /// The same elements under `shape` (a view; one extent may be -1).
    public func reshaped(_ shape: [Int]) -> Variable {
        let original = self.shape
        return Variable.record(value.reshaped(shape), inputs: [self], op: .reshape) { g, _ in [g.reshaped(original)] }
    }

    /// Concatenation of `parts` along `axis`; all other extents must agree.
    public static func concat(_ parts: [Variable], alongAxis axis: Int) -> Variable {
        precondition(!parts.isEmpty, "concat of nothing")
        let first = parts[0].shape
        let axis = resolvedAxis(axis, rank: first.count)
        for part in parts {
            precondition(part.shape.count == first.count && part.shape.indices.allSatisfy { $0 == axis || part.shape[$0] == first[$0] },
                         "concat along \(axis): \(part.shape) does not match \(first)")
        }
        let lengths = parts.map { $0.shape[axis] }
        var outShape = first
        outShape[axis] = lengths.reduce(0, +)
        let out = Tensor(uninitialized: outShape)
        let view = AxisView(outShape, axis: axis)
        copyBlocks(parts.map { $0.value }, lengths: lengths, view: view, into: out, splitting: false)
        let shapes = parts.map { $0.shape }
        return record(out, inputs: parts, op: .concat(axis: axis)) { g, needs in
            var pieces = zip(shapes, needs).map { shape, need in need ? Tensor(uninitialized: shape) : nil }
            copyBlocks(pieces, lengths: lengths, view: view, into: g, splitting: true)
            for i in pieces.indices where !needs[i] { pieces[i] = nil }
            return pieces
        }
    }

    /// Splits along `axis` into consecutive pieces of the given `sizes` (which must add up to the extent).
    public func split(sizes: [Int], alongAxis axis: Int) -> [Variable] {
        let axis = resolvedAxis(axis, rank: shape.count)
        precondition(sizes.reduce(0, +) == shape[axis], "split sizes \(sizes) for extent \(shape[axis])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(alongAxis: axis, start..<(start + size))
        }
    }

    /// Elements `range` along `axis`.
    public func slice(alongAxis axis: Int, _ range: Range<Int>) -> Variable {
        let axis = resolvedAxis(axis, rank: shape.count)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis], "slice \(range) of axis \(axis) in \(shape)")
        let view = AxisView(shape, axis: axis)
        var outShape = shape
        outShape[axis] = range.count
        let out = Tensor(uninitialized: outShape)
        let block = range.count * view.inner, start = range.lowerBound * view.inner
        for o in 0..<view.outer {
            (out.pointer + o * block).update(from: value.pointer + o * view.length * view.inner + start, count: block)
        }
        let inShape = shape
        return Variable.record(out, inputs: [self], op: .slice(axis: axis, start: range.lowerBound, end: range.upperBound)) { g, _ in
            let grad = Tensor(zeros: inShape)
            for o in 0..<view.outer {
                (grad.pointer + o * view.length * view.inner + start).update(from: g.pointer + o * block, count: block)
            }
            return [grad]
        }
    }

    /// Swaps the last two axes: `[..., a, b]` → `[..., b, a]`.
    public func transposedLastTwo() -> Variable {
        precondition(shape.count >= 2, "transpose of rank-\(shape.count) tensor")
        let out = transposeLastTwo(value)
        return Variable.record(out, inputs: [self], op: .transposeLastTwo) { g, _ in [transposeLastTwo(g)] }
    }

    /// Exchanges two axes, e.g. `[B, F, d]` → `[F, B, d]` with `swappingAxes(0, 1)` (fields first, so that one
    /// GEMM mixes the fields of every sample). A copy; the gradient is the same exchange.
    public func swappingAxes(_ first: Int, _ second: Int) -> Variable {
        let (a, b) = (resolvedAxis(first, rank: shape.count), resolvedAxis(second, rank: shape.count))
        precondition(a >= 0 && b < shape.count && a < b, "swappingAxes(\(first), \(second)) of \(shape)")
        let out = swapAxes(value, a, b)
        return Variable.record(out, inputs: [self], op: .swapAxes(a, b)) { g, _ in [swapAxes(g, a, b)] }
    }
}

/// `x` with axes `a < b` exchanged, copying contiguous runs of the axes after `b` (8×8 blocks when `b` is last).
private func swapAxes(_ x: Tensor, _ a: Int, _ b: Int) -> Tensor {
    if a == x.rank - 2 && b == x.rank - 1 { return transposeLastTwo(x) }
    let s = x.shape
    let outer = s[..<a].reduce(1, *), middle = s[(a + 1)..<b].reduce(1, *), inner = s[(b + 1)...].reduce(1, *)
    let (n1, n2) = (s[a], s[b])
    var outShape = s
    outShape.swapAt(a, b)
    let out = Tensor(uninitialized: outShape)
    let (source, target) = (x.pointer, out.pointer)
    let copyRow = { (row: Int) in  // row = (o, i1) of the source
        let (o, i1) = (row / n1, row % n1)
        for m in 0..<middle {
            for i2 in 0..<n2 {
                let from = (((o * n1 + i1) * middle + m) * n2 + i2) * inner
                let to = (((o * n2 + i2) * middle + m) * n1 + i1) * inner
                (target + to).update(from: source + from, count: inner)
            }
        }
    }
    if x.count >= parallelElementThreshold {
        // Contiguous row ranges: neighbouring source rows write neighbouring `inner`-wide slots of the output.
        ThreadPool.shared.parallelRanges(outer * n1, grain: 1) { rows in for row in rows { copyRow(row) } }
    } else {
        for row in 0..<(outer * n1) { copyRow(row) }
    }
    return out
}

/// Copies between `parts` (each `[outer, length_i, inner]`) and `whole` (`[outer, Σ length_i, inner]`);
/// `splitting` copies from `whole` into the parts. Nil parts are skipped.
private func copyBlocks(_ parts: [Tensor?], lengths: [Int], view: AxisView, into whole: Tensor, splitting: Bool) {
    for o in 0..<view.outer {
        var position = o * view.length * view.inner
        for (part, length) in zip(parts, lengths) {
            let block = length * view.inner
            if let part {
                let local = part.pointer + o * block
                if splitting { local.update(from: whole.pointer + position, count: block) } else {
                    (whole.pointer + position).update(from: local, count: block)
                }
            }
            position += block
        }
    }
}

/// `[..., a, b]` → `[..., b, a]` by 8×8 blocks.
func transposeLastTwo(_ x: Tensor) -> Tensor {
    let (rows, columns) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let batch = x.count / max(rows * columns, 1)
    var outShape = x.shape
    outShape.swapAt(x.rank - 2, x.rank - 1)
    let out = Tensor(uninitialized: outShape)
    for b in 0..<batch {
        let source = x.pointer + b * rows * columns, target = out.pointer + b * rows * columns
        for i0 in stride(from: 0, to: rows, by: 8) {
            for j0 in stride(from: 0, to: columns, by: 8) {
                for i in i0..<min(i0 + 8, rows) {
                    for j in j0..<min(j0 + 8, columns) { target[j * rows + i] = source[i * columns + j] }
                }
            }
        }
    }
    return out
}
