/// Packs `B[p0 ..< p0+kc, j0 ..< j0+16]` (of op(B)) into a 16-wide panel of `kc` rows, zero-padding columns
/// beyond `columns`. Element (p, j) of op(B) is at `b + p·rowStride + j·columnStride`.
@inline(__always)
func packPanel(
    _ b: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
    kc: Int, columns: Int, into panel: UnsafeMutablePointer<Float>
) {
    if columns == gemmTileColumns && columnStride == 1 {
        var source = b, target = panel
        for _ in 0..<kc {
            store8(load8(source), target)
            store8(load8(source.advanced(by: 8)), target.advanced(by: 8))
            source = source.advanced(by: rowStride)
            target = target.advanced(by: 16)
        }
        return
    }
    if columns < gemmTileColumns { panel.update(repeating: 0, count: kc &* 16) }
    // Column-strided source (Bᵀ): read `columns` sequential streams, write each packed row once.
    var target = panel
    for p in 0..<kc {
        var source = b.advanced(by: p &* rowStride)
        for j in 0..<columns {
            target[j] = source.pointee
            source = source.advanced(by: columnStride)
        }
        target = target.advanced(by: 16)
    }
}

/// Copies a strip of up to 6 rows of op(A) into a buffer laid out as `kc` groups of 6 (row stride 1, column
/// stride 6), zero-filling missing rows: used for the ragged last strip, and for every strip of a transposed A.
@inline(__always)
func packStrip(
    _ a: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
    rows: Int, kc: Int, into strip: UnsafeMutablePointer<Float>
) {
    if rows < gemmTileRows { strip.update(repeating: 0, count: kc &* gemmTileRows) }
    if rowStride == 1 {  // Aᵀ: each k holds the strip's rows contiguously
        var source = a, target = strip
        for _ in 0..<kc {
            target.update(from: source, count: rows)
            source = source.advanced(by: columnStride)
            target = target.advanced(by: gemmTileRows)
        }
        return
    }
    for i in 0..<rows {
        var source = a.advanced(by: i &* rowStride)
        var target = strip.advanced(by: i)
        for _ in 0..<kc {
            target.pointee = source.pointee
            source = source.advanced(by: columnStride)
            target = target.advanced(by: gemmTileRows)
        }
    }
}

/// Packs consecutive 6-row strips of a transposed A (stored `[k, m]`, element (i, p) at `a + p·ld + i`) in one
/// sweep over p: each p reads one contiguous run of `rows` floats and scatters it into the strips' buffers
/// (each `kc` groups of 6, as `packStrip`). Rows past `rows` in the last strip are zero.
@inline(__always)
func packTransposedStrips(
    _ a: UnsafePointer<Float>, leadingDimension: Int, rows: Int, kc: Int, into strips: UnsafeMutablePointer<Float>
) {
    let full = rows / gemmTileRows, tail = rows - full * gemmTileRows
    let stripSize = kc &* gemmTileRows
    if tail > 0 { (strips + full * stripSize).update(repeating: 0, count: stripSize) }
    var source = a
    for p in 0..<kc {
        var target = strips + p &* gemmTileRows
        for s in 0..<full {
            let from = source + s &* gemmTileRows
            target[0] = from[0]; target[1] = from[1]; target[2] = from[2]
            target[3] = from[3]; target[4] = from[4]; target[5] = from[5]
            target = target.advanced(by: stripSize)
        }
        if tail > 0 { target.update(from: source + full &* gemmTileRows, count: tail) }
        source = source.advanced(by: leadingDimension)
    }
}
