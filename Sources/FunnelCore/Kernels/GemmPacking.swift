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
    for j in 0..<columns {
        var source = b.advanced(by: j &* columnStride)
        var target = panel.advanced(by: j)
        for _ in 0..<kc {
            target.pointee = source.pointee
            source = source.advanced(by: rowStride)
            target = target.advanced(by: 16)
        }
    }
}

/// Copies the last, partial strip of A (fewer than 6 rows) into a 6-row buffer laid out as `kc` groups of 6
/// (so row stride 1, column stride 6), zero-filling the missing rows.
@inline(__always)
func packRaggedStrip(
    _ a: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
    rows: Int, kc: Int, into strip: UnsafeMutablePointer<Float>
) {
    strip.update(repeating: 0, count: kc &* gemmTileRows)
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
