/// Activation applied in a fused GEMM epilogue.
public enum Activation: String, Codable, Sendable {
    case identity, relu
}

/// One operand of a matrix product: a row-major matrix, possibly read transposed.
public struct MatrixOperand {
    /// First element of the stored matrix.
    public var pointer: UnsafePointer<Float>
    /// Distance between consecutive stored rows, in floats.
    public var leadingDimension: Int
    /// Whether the product reads the stored matrix transposed.
    public var transposed: Bool

    public init(_ pointer: UnsafePointer<Float>, leadingDimension: Int, transposed: Bool = false) {
        self.pointer = pointer
        self.leadingDimension = leadingDimension
        self.transposed = transposed
    }

    /// Strides of element (row, column) of op(X).
    @inline(__always) var rowStride: Int { transposed ? 1 : leadingDimension }
    @inline(__always) var columnStride: Int { transposed ? leadingDimension : 1 }
}

/// Cache blocking: the micro-kernel sweeps `kc ≤ 384` rows of a packed 16-column B panel (which stays in L1);
/// B is packed in column blocks of at most `packedBudget` floats (so the packed block stays in L2).
private let maxKC = 384
private let maxNC = 3072
private let packedBudget = 1 << 18
/// Products smaller than this many multiply-adds run on the calling thread only.
private let parallelThreshold = 1 << 18

/// `C[m, n] (+)= op(A)[m, k] · op(B)[k, n] (+ bias[n])`, then `activation`. Row-major; C has row stride `ldc`.
///
/// - `accumulate`: add the product to C's current contents (used to sum gradients); otherwise C is overwritten.
/// - `bias` and `activation` are applied once, after the full sum (the fused epilogue).
/// - `parallel`: split the work over `ThreadPool.shared` (off inside already-parallel loops, e.g. batched GEMM).
/// Dedicated paths handle `m == 1` and `n == 1` (matrix-vector), where a 6×16 tile would be mostly padding.
public func gemm(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false, bias: UnsafePointer<Float>? = nil, activation: Activation = .identity,
    parallel: Bool = true
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { applyEpilogue(c + i * ldc, n, accumulate: accumulate, sum: nil, bias: bias, activation: activation) }
        return
    }
    if m == 1 || n == 1 {
        gemv(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, bias: bias, activation: activation)
        return
    }
    let pool = ThreadPool.shared
    let threads = parallel && m * n * k >= parallelThreshold ? pool.activeThreads : 1
    let kBlocks = (k + maxKC - 1) / maxKC
    let kc = (k + kBlocks - 1) / kBlocks
    let strips = (m + gemmTileRows - 1) / gemmTileRows
    // B is packed whole (all of k) per column block, sized to stay in L2, so each call needs only two parallel
    // regions (pack, compute) and their barriers, whatever k is.
    let blockColumns = max(gemmTileColumns, min(maxNC, (packedBudget / max(k, 1)) / gemmTileColumns * gemmTileColumns))

    for jc in stride(from: 0, to: n, by: blockColumns) {
        let nc = min(blockColumns, n - jc)
        let panels = (nc + gemmTileColumns - 1) / gemmTileColumns
        let plan = WorkPlan(strips: strips, panels: panels, threads: threads)
        let packed = Tensor(uninitialized: [panels * k * gemmTileColumns])
        let packedB = packed.pointer
        // Layout: k-block pc, then panel, then kcur rows of 16.
        let packOne = { (job: Int) in
            let (block, panel) = (job / panels, job % panels)
            let pc = block * kc, kcur = min(kc, k - pc)
            packPanel(b.pointer + pc * b.rowStride + (jc + panel * gemmTileColumns) * b.columnStride,
                      rowStride: b.rowStride, columnStride: b.columnStride, kc: kcur,
                      columns: min(gemmTileColumns, nc - panel * gemmTileColumns),
                      into: packedB + pc * panels * gemmTileColumns + panel * kcur * gemmTileColumns)
        }
        if threads > 1 { pool.parallelFor(kBlocks * panels, packOne) } else { for j in 0..<(kBlocks * panels) { packOne(j) } }

        let packA = a.transposed  // Aᵀ read in place strides a whole row per k step: pack its strips instead
        let runItem = { (item: Int) in
            let (strip0, strip1, panel0, panel1) = plan.item(item)
            let stripCount = strip1 - strip0
            let packedA = packA ? Tensor(uninitialized: [stripCount * kc * gemmTileRows]) : nil
            for pc in stride(from: 0, to: k, by: kc) {
                let kcur = min(kc, k - pc)
                let first = pc == 0, last = pc + kcur == k
                if let packedA {
                    let i0 = strip0 * gemmTileRows
                    packTransposedStrips(a.pointer + i0 + pc * a.leadingDimension, leadingDimension: a.leadingDimension,
                                         rows: min(stripCount * gemmTileRows, m - i0), kc: kcur, into: packedA.pointer)
                }
                for panel in panel0..<panel1 {
                    let j = jc + panel * gemmTileColumns
                    let panelPointer = UnsafePointer(packedB + pc * panels * gemmTileColumns + panel * kcur * gemmTileColumns)
                    for strip in strip0..<strip1 {
                        let i = strip * gemmTileRows
                        let (aStrip, rowStride, columnStride) = packedA.map {
                            (UnsafePointer($0.pointer + (strip - strip0) * kcur * gemmTileRows), 1, gemmTileRows)
                        } ?? (a.pointer + i * a.rowStride + pc * a.columnStride, a.rowStride, a.columnStride)
                        gemmTile(
                            i: i, j: j, rows: min(gemmTileRows, m - i), columns: min(gemmTileColumns, n - j),
                            kc: kcur, a: aStrip, rowStride: rowStride, columnStride: columnStride, panel: panelPointer,
                            c: c, ldc: ldc, load: accumulate || !first,
                            bias: last ? bias.map { $0 + j } : nil, relu: last && activation == .relu)
                    }
                }
            }
        }
        if threads > 1 { pool.parallelFor(plan.count, runItem) } else { for w in 0..<plan.count { runItem(w) } }
        withExtendedLifetime(packed) {}
    }
}

/// One register tile; tiles on the ragged bottom or right edge go through a 6×16 scratch tile.
@inline(__always)
private func gemmTile(
    i: Int, j: Int, rows: Int, columns: Int, kc: Int,
    a: UnsafePointer<Float>, rowStride: Int, columnStride: Int, panel: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, load: Bool, bias: UnsafePointer<Float>?, relu: Bool
) {
    let target = c + i * ldc + j
    if rows == gemmTileRows && columns == gemmTileColumns {
        gemmMicroKernel(kc, a, rowStride, columnStride, panel, target, ldc, load: load, bias: bias, relu: relu)
        return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmTileRows * gemmTileColumns + kc * gemmTileRows) { scratch in
        let tile = scratch.baseAddress!
        let strip = tile + gemmTileRows * gemmTileColumns
        tile.update(repeating: 0, count: gemmTileRows * gemmTileColumns)
        if load { for r in 0..<rows { (tile + r * 16).update(from: target + r * ldc, count: columns) } }
        if rows == gemmTileRows {
            gemmMicroKernel(kc, a, rowStride, columnStride, panel, tile, 16, load: true, bias: nil, relu: false)
        } else {
            packStrip(a, rowStride: rowStride, columnStride: columnStride, rows: rows, kc: kc, into: strip)
            gemmMicroKernel(kc, strip, 1, gemmTileRows, panel, tile, 16, load: true, bias: nil, relu: false)
        }
        for r in 0..<rows {
            let row = tile + r * 16
            if let bias { for col in 0..<columns { row[col] += bias[col] } }
            if relu { for col in 0..<columns where row[col] < 0 { row[col] = 0 } }
            (target + r * ldc).update(from: row, count: columns)
        }
    }
}

/// How a block of `strips × panels` tiles is cut into work items for the pool: enough items per thread for
/// dynamic balancing, each a run of row strips (≤ 144 rows, so its slice of A stays in L2) × a run of panels.
private struct WorkPlan {
    let strips: Int
    let panels: Int
    let stripsPerItem: Int
    let panelsPerItem: Int
    let rowItems: Int
    let columnItems: Int
    var count: Int { rowItems * columnItems }

    init(strips: Int, panels: Int, threads: Int) {
        self.strips = strips
        self.panels = panels
        let target = threads > 1 ? threads * 4 : 1
        stripsPerItem = min(24, max(1, (strips + target - 1) / target))
        rowItems = (strips + stripsPerItem - 1) / stripsPerItem
        let wantColumns = threads > 1 ? max(1, (target + rowItems - 1) / rowItems) : 1
        panelsPerItem = max(1, (panels + wantColumns - 1) / wantColumns)
        columnItems = (panels + panelsPerItem - 1) / panelsPerItem
    }

    @inline(__always)
    func item(_ index: Int) -> (Int, Int, Int, Int) {
        let row = index / columnItems, column = index % columnItems
        return (row * stripsPerItem, min((row + 1) * stripsPerItem, strips),
                column * panelsPerItem, min((column + 1) * panelsPerItem, panels))
    }
}
