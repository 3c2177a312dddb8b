/// Packs `B[p0 ..< p0+kc, j0 ..< j0+width]` (of op(B)) into a `width`-wide panel of `kc` rows, zero-padding
/// columns beyond `columns`. Element (p, j) of op(B) is at `b + p·rowStride + j·columnStride`.
@inline(__always)
func packPanel(
    _ b: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
    kc: Int, columns: Int, width: Int, into panel: UnsafeMutablePointer<Float>
) {
    if columns == width && columnStride == 1 {
        var source = b, target = panel
        for _ in 0..<kc {
            copyShort(source, target, width)
            source = source.advanced(by: rowStride)
            target = target.advanced(by: width)
        }
        return
    }
    if columns < width { panel.update(repeating: 0, count: kc &* width) }
    // Column-strided source (Bᵀ): read `columns` sequential streams, write each packed row once.
    var target = panel
    for p in 0..<kc {
        var source = b.advanced(by: p &* rowStride)
        for j in 0..<columns {
            target[j] = source.pointee
            source = source.advanced(by: columnStride)
        }
        target = target.advanced(by: width)
    }
}

/// Copies a strip of up to `height` rows of op(A) into a buffer laid out as `kc` groups of `height` (row stride 1,
/// column stride `height`), zero-filling missing rows: used for the ragged last strip.
@inline(__always)
func packStrip(
    _ a: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
    rows: Int, kc: Int, height: Int, into strip: UnsafeMutablePointer<Float>
) {
    if rows < height { strip.update(repeating: 0, count: kc &* height) }
    if rowStride == 1 {  // Aᵀ: each k holds the strip's rows contiguously
        var source = a, target = strip
        for _ in 0..<kc {
            target.update(from: source, count: rows)
            source = source.advanced(by: columnStride)
            target = target.advanced(by: height)
        }
        return
    }
    for i in 0..<rows {
        var source = a.advanced(by: i &* rowStride)
        var target = strip.advanced(by: i)
        for _ in 0..<kc {
            target.pointee = source.pointee
            source = source.advanced(by: columnStride)
            target = target.advanced(by: height)
        }
    }
}

/// Packs consecutive `height`-row strips of a transposed A (stored `[k, m]`, element (i, p) at `a + p·ld + i`) in
/// one sweep over p: each p reads one contiguous run of `rows` floats and scatters it into the strips' buffers
/// (each `kc` groups of `height`, as `packStrip`). Rows past `rows` in the last strip are zero.
@inline(__always)
func packTransposedStrips(
    _ a: UnsafePointer<Float>, leadingDimension: Int, rows: Int, kc: Int, height: Int,
    into strips: UnsafeMutablePointer<Float>
) {
    let full = rows / height, tail = rows - full * height
    let stripSize = kc &* height
    if tail > 0 { (strips + full * stripSize).update(repeating: 0, count: stripSize) }
    var source = a
    for p in 0..<kc {
        var target = strips + p &* height
        for s in 0..<full {
            copyShort(source + s &* height, target, height)
            target = target.advanced(by: stripSize)
        }
        if tail > 0 { target.update(from: source + full &* height, count: tail) }
        source = source.advanced(by: leadingDimension)
    }
}

/// Copies `count` floats, inline for the tile sizes (a `memmove` call per 6, 8 or 12 floats costs more than the copy).
@inline(__always)
private func copyShort(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, _ count: Int) {
    switch count {
    case 6:
        target[0] = source[0]; target[1] = source[1]; target[2] = source[2]
        target[3] = source[3]; target[4] = source[4]; target[5] = source[5]
    case 8, 16, 24, 32:
        var i = 0
        while i < count { store8(load8(source + i), target + i); i &+= 8 }
    case 12:  // the narrow tile's strips
        store8(load8(source), target)
        target[8] = source[8]; target[9] = source[9]; target[10] = source[10]; target[11] = source[11]
    default:
        target.update(from: source, count: count)
    }
}
