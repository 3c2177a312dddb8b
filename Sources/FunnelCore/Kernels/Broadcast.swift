/// How an operand of a binary elementwise op lines up with the result, viewed as `[rows, columns]` where
/// `columns` is the result's last extent.
public enum BroadcastRole: Equatable, Sendable {
    /// Same shape as the result.
    case full
    /// One value per column, repeated down the rows (shape `[N]` or `[1, N]`).
    case row
    /// One value per row, repeated across the columns (shape `[..., 1]`).
    case column
    /// One value.
    case scalar

    /// The role of an operand of shape `shape` for a result of shape `result`, or nil if unsupported.
    public static func of(_ shape: [Int], in result: [Int]) -> BroadcastRole? {
        let count = shape.reduce(1, *), resultCount = result.reduce(1, *)
        if shape == result { return .full }
        if count == 1 { return .scalar }
        let columns = result.last ?? 1
        if count == columns && shape.last == columns && shape.dropLast().allSatisfy({ $0 == 1 }) { return .row }
        if shape.last == 1 && count == resultCount / max(columns, 1) && Array(shape.dropLast()) == Array(result.dropLast()) {
            return .column
        }
        if count == resultCount && count == columns { return .row }
        return nil
    }
}

/// The result shape of broadcasting `a` against `b` (one must be `.full` for the other, or a column against a
/// row gives their outer shape).
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    if a == b { return a }
    // column [M, 1] against row [N] / [1, N]: outer shape [M, N]. Checked before the roles: when the column has
    // N elements too, `BroadcastRole.of` would otherwise accept it as a same-length row and give [N] or [1, N].
    if let outer = outerShape(column: a, row: b) ?? outerShape(column: b, row: a) { return outer }
    if BroadcastRole.of(b, in: a) != nil { return a }
    if BroadcastRole.of(a, in: b) != nil { return b }
    if a.last == 1, let n = b.last, b.reduce(1, *) == n { return Array(a.dropLast()) + [n] }
    if b.last == 1, let n = a.last, a.reduce(1, *) == n { return Array(b.dropLast()) + [n] }
    preconditionFailure("cannot broadcast \(a) with \(b)")
}

/// `[..., M, 1]` against a genuine row `[N]` / `[1, ..., 1, N]` (M·… > 1, N > 1): `[..., M, N]`; nil otherwise.
private func outerShape(column: [Int], row: [Int]) -> [Int]? {
    guard column.count >= 2, column.last == 1, column.reduce(1, *) > 1,
          let n = row.last, n > 1, row.dropLast().allSatisfy({ $0 == 1 }) else { return nil }
    return Array(column.dropLast()) + [n]
}

/// `z = f(x, y)` over `[rows, columns]` with each operand in its broadcast role. Specialised per role pair.
@inline(__always)
public func broadcastMap(
    _ x: UnsafePointer<Float>, _ xRole: BroadcastRole, _ y: UnsafePointer<Float>, _ yRole: BroadcastRole,
    _ z: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
    _ vector: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float, Float) -> Float
) {
    if xRole == .full && yRole == .full {
        binaryMap(x, y, z, rows * columns, vector, scalar)
        return
    }
    for i in 0..<rows {
        let out = z + i * columns
        let xIsValue = xRole == .column || xRole == .scalar
        let yIsValue = yRole == .column || yRole == .scalar
        let xRow = xRole == .full ? x + i * columns : x
        let yRow = yRole == .full ? y + i * columns : y
        let xValue = xRole == .column ? x[i] : x[0]
        let yValue = yRole == .column ? y[i] : y[0]
        switch (xIsValue, yIsValue) {
        case (false, false):
            binaryMap(xRow, yRow, out, columns, vector, scalar)
        case (false, true):
            let v = SIMD8<Float>(repeating: yValue)
            unaryMap(xRow, out, columns, { vector($0, v) }, { scalar($0, yValue) })
        case (true, false):
            let v = SIMD8<Float>(repeating: xValue)
            unaryMap(yRow, out, columns, { vector(v, $0) }, { scalar(xValue, $0) })
        case (true, true):
            out.update(repeating: scalar(xValue, yValue), count: columns)
        }
    }
}

/// Reduces a result-shaped gradient `g` (`[rows, columns]`) to an operand's shape for its broadcast role.
public func reduceGradient(_ g: Tensor, to shape: [Int], role: BroadcastRole) -> Tensor {
    let columns = g.shape.last ?? 1
    let rows = g.count / max(columns, 1)
    switch role {
    case .full:
        return g
    case .row:
        let out = Tensor(uninitialized: shape)
        sumOverRows(g.pointer, rows: rows, columns: columns, into: out.pointer)
        return out
    case .column:
        let out = Tensor(uninitialized: shape)
        sumOverColumns(g.pointer, rows: rows, columns: columns, into: out.pointer)
        return out
    case .scalar:
        return Tensor(shape: shape, values: [sumOf(g.pointer, g.count)])
    }
}
