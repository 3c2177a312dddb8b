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

/// Cache blocking: the micro-kernel sweeps `kc` rows of a packed B panel (`kc · tileColumns` floats ≤ 32 KiB, so
/// it stays in L1); B is packed in column blocks of at most `packedBudget` floats (so the packed block stays in L2).
private let panelBudget = 8192
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
/// - `kernels`: the instruction set (tests compare every level against the portable one).
/// Dedicated paths handle `m == 1` and `n == 1` (matrix-vector), where a register tile would be mostly padding.
/// The summation order depends only on the shape and `kernels`, never on the thread count.
public func gemm(
    m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false, bias: UnsafePointer<Float>? = nil, activation: Activation = .identity,
    parallel: Bool = true, kernels: KernelSet = .selected
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { applyEpilogue(c + i * ldc, n, accumulate: accumulate, sum: nil, bias: bias, activation: activation) }
        return
    }
    if m == 1 || n == 1 {
        gemv(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, bias: bias, activation: activation,
             kernels: kernels)
        return
    }
    let kernels = kernels.gemmTiles(forColumns: n)
    let (mr, nr) = (kernels.tileRows, kernels.tileColumns)
    let pool = ThreadPool.shared
    let threads = parallel && m * n * k >= parallelThreshold ? pool.activeThreads : 1
    let kBlocks = (k + min(maxKC, panelBudget / nr) - 1) / min(maxKC, panelBudget / nr)
    let kc = (k + kBlocks - 1) / kBlocks
    let strips = (m + mr - 1) / mr
    // B is packed whole (all of k) per column block, sized to stay in L2, so each call needs only two parallel
    // regions (pack, compute) and their barriers, whatever k is.
    let blockColumns = max(nr, min(maxNC, (packedBudget / max(k, 1)) / nr * nr))

    for jc in stride(from: 0, to: n, by: blockColumns) {
        let nc = min(blockColumns, n - jc)
        let panels = (nc + nr - 1) / nr
        let plan = WorkPlan(strips: strips, panels: panels, stripRows: mr, threads: threads)
        let packed = Tensor(uninitialized: [panels * k * nr])
        let packedB = packed.pointer
        // Layout: k-block pc, then panel, then kcur rows of nr.
        let packOne = { (job: Int) in
            let (block, panel) = (job / panels, job % panels)
            let pc = block * kc, kcur = min(kc, k - pc)
            packPanel(b.pointer + pc * b.rowStride + (jc + panel * nr) * b.columnStride,
                      rowStride: b.rowStride, columnStride: b.columnStride, kc: kcur,
                      columns: min(nr, nc - panel * nr), width: nr,
                      into: packedB + pc * panels * nr + panel * kcur * nr)
        }
        if threads > 1 { pool.parallelFor(kBlocks * panels, packOne) } else { for j in 0..<(kBlocks * panels) { packOne(j) } }

        let packA = a.transposed  // Aᵀ read in place strides a whole row per k step: pack its strips instead
        let runItem = { (item: Int) in
            let (strip0, strip1, panel0, panel1) = plan.item(item)
            let stripCount = strip1 - strip0
            let packedA = packA ? Tensor(uninitialized: [stripCount * kc * mr]) : nil
            for pc in stride(from: 0, to: k, by: kc) {
                let kcur = min(kc, k - pc)
                let first = pc == 0, last = pc + kcur == k
                if let packedA {
                    let i0 = strip0 * mr
                    packTransposedStrips(a.pointer + i0 + pc * a.leadingDimension, leadingDimension: a.leadingDimension,
                                         rows: min(stripCount * mr, m - i0), kc: kcur, height: mr, into: packedA.pointer)
                }
                for panel in panel0..<panel1 {
                    let j = jc + panel * nr
                    let panelPointer = UnsafePointer(packedB + pc * panels * nr + panel * kcur * nr)
                    // Full tiles: the strips above the ragged bottom, in one kernel call.
                    let fullEnd = min(strip1, m / mr)
                    if fullEnd > strip0 && j + nr <= n {
                        let i = strip0 * mr
                        let (aStrip, rowStride, columnStride, stripStride) = packedA.map {
                            (UnsafePointer($0.pointer), 1, mr, kcur * mr)
                        } ?? (a.pointer + i * a.rowStride + pc * a.columnStride, a.rowStride, a.columnStride, mr * a.rowStride)
                        kernels.gemmStrips(fullEnd - strip0, aStripStride: stripStride, kcur, aStrip, rowStride, columnStride,
                                           panelPointer, c + i * ldc + j, ldc, load: accumulate || !first,
                                           bias: last ? bias.map { $0 + j } : nil, relu: last && activation == .relu)
                    }
                    let ragged = fullEnd > strip0 && j + nr <= n ? fullEnd : strip0
                    for strip in ragged..<strip1 {
                        let i = strip * mr
                        let (aStrip, rowStride, columnStride) = packedA.map {
                            (UnsafePointer($0.pointer + (strip - strip0) * kcur * mr), 1, mr)
                        } ?? (a.pointer + i * a.rowStride + pc * a.columnStride, a.rowStride, a.columnStride)
                        gemmTile(
                            i: i, j: j, rows: min(mr, m - i), columns: min(nr, n - j),
                            kc: kcur, a: aStrip, rowStride: rowStride, columnStride: columnStride, panel: panelPointer,
                            c: c, ldc: ldc, load: accumulate || !first,
                            bias: last ? bias.map { $0 + j } : nil, relu: last && activation == .relu, kernels: kernels)
                    }
                }
            }
        }
        if threads > 1 { pool.parallelFor(plan.count, runItem) } else { for w in 0..<plan.count { runItem(w) } }
        withExtendedLifetime(packed) {}
    }
}

/// One register tile; tiles on the ragged bottom or right edge go through a full-size scratch tile.
@inline(__always)
private func gemmTile(
    i: Int, j: Int, rows: Int, columns: Int, kc: Int,
    a: UnsafePointer<Float>, rowStride: Int, columnStride: Int, panel: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, load: Bool, bias: UnsafePointer<Float>?, relu: Bool, kernels: KernelSet
) {
    let (mr, nr) = (kernels.tileRows, kernels.tileColumns)
    let target = c + i * ldc + j
    if rows == mr && columns == nr {
        kernels.gemmTile(kc, a, rowStride, columnStride, panel, target, ldc, load: load, bias: bias, relu: relu)
        return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * nr + kc * mr) { scratch in
        let tile = scratch.baseAddress!
        let strip = tile + mr * nr
        tile.update(repeating: 0, count: mr * nr)
        if load { for r in 0..<rows { (tile + r * nr).update(from: target + r * ldc, count: columns) } }
        if rows == mr {
            kernels.gemmTile(kc, a, rowStride, columnStride, panel, tile, nr, load: true, bias: nil, relu: false)
        } else {
            packStrip(a, rowStride: rowStride, columnStride: columnStride, rows: rows, kc: kc, height: mr, into: strip)
            kernels.gemmTile(kc, strip, 1, mr, panel, tile, nr, load: true, bias: nil, relu: false)
        }
        for r in 0..<rows { (target + r * ldc).update(from: tile + r * nr, count: columns) }
        if bias != nil || relu {
            kernels.biasActivation(target, rows: rows, columns: columns, ldc: ldc, bias: bias,
                                   activation: relu ? .relu : .identity)
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

    init(strips: Int, panels: Int, stripRows: Int, threads: Int) {
        self.strips = strips
        self.panels = panels
        let target = threads > 1 ? threads * 4 : 1
        stripsPerItem = min(144 / stripRows, max(1, (strips + target - 1) / target))
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
