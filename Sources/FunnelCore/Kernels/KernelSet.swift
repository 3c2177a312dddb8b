import CFunnelKernels

/// One instruction set's compiled kernels (the C target `CFunnelKernels`): AVX-512, AVX2 + FMA, or portable.
///
/// `KernelSet.selected` is the set every operation uses: the best this CPU supports, capped by the environment
/// variable `FUNNEL_KERNELS=portable|avx2|avx512` (read once). Tests and benchmarks reach the others with
/// `KernelSet(level:)` to compare paths in one process.
public struct KernelSet: @unchecked Sendable {
    /// Instruction-set levels, in order of preference.
    public enum Level: Int, CaseIterable, Sendable {
        case portable, avx2, avx512
    }

    let table: UnsafePointer<FunnelKernelTable>

    /// The kernels used by every operation.
    public static let selected = KernelSet(table: funnel_kernels_selected())

    /// The kernels of `level`, or nil when this CPU (or the build architecture) lacks that instruction set.
    public init?(level: Level) {
        guard let table = funnel_kernels_for_level(FunnelKernelLevel(rawValue: UInt32(level.rawValue))) else { return nil }
        self.table = table
    }

    private init(table: UnsafePointer<FunnelKernelTable>) { self.table = table }

    /// Every level this machine can run, portable first.
    public static var available: [KernelSet] { Level.allCases.compactMap { KernelSet(level: $0) } }

    /// "avx512", "avx2" or "portable".
    public var name: String { String(cString: table.pointee.name) }

    /// This set's level.
    public var level: Level { Level(rawValue: Int(table.pointee.level.rawValue)) ?? .portable }

    /// The GEMM register tile: rows of A and columns of a packed B panel per micro-kernel call.
    var tileRows: Int { table.pointee.tileRows }
    var tileColumns: Int { table.pointee.tileColumns }

    /// The set whose GEMM tile suits `n` output columns: the narrow (one-vector) tile when a wide panel would be at
    /// least a quarter padding (n = 8, 16, 41 with 32-wide panels), otherwise this one.
    func gemmTiles(forColumns n: Int) -> KernelSet {
        guard let narrow = table.pointee.narrow else { return self }
        let padded = (n + tileColumns - 1) / tileColumns * tileColumns
        return (padded - n) * 4 >= padded ? KernelSet(table: narrow) : self
    }

    /// `C[tile] (+)= A · panel (+ bias)`, then ReLU; see `FunnelKernelTable.gemmTile`.
    @inline(__always)
    func gemmTile(
        _ kc: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ columnStride: Int, _ panel: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, load: Bool, bias: UnsafePointer<Float>?, relu: Bool
    ) {
        let flags = (load ? Int32(FunnelTileLoad) : 0) | (relu ? Int32(FunnelTileReLU) : 0)
        table.pointee.gemmTile(kc, a, rowStride, columnStride, panel, c, ldc, flags, bias)
    }

    /// `gemmTile` over `strips` full tiles stacked down C; see `FunnelKernelTable.gemmStrips`.
    @inline(__always)
    func gemmStrips(
        _ strips: Int, aStripStride: Int, _ kc: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ columnStride: Int,
        _ panel: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, load: Bool,
        bias: UnsafePointer<Float>?, relu: Bool
    ) {
        let flags = (load ? Int32(FunnelTileLoad) : 0) | (relu ? Int32(FunnelTileReLU) : 0)
        table.pointee.gemmStrips(strips, aStripStride, kc, a, rowStride, columnStride, panel, c, ldc, flags, bias)
    }

    /// `Σ x[i]·y[i]` over `n` floats.
    @inline(__always)
    public func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        table.pointee.dot(x, y, n)
    }

    /// `result[j] = Σ_p x[p] · rows[j·ld + p]` for `j < n` (n dot products with one vector).
    @inline(__always)
    func rowDots(_ x: UnsafePointer<Float>, k: Int, rows: UnsafePointer<Float>, ld: Int, n: Int,
                 into result: UnsafeMutablePointer<Float>) {
        table.pointee.rowDots(x, k, rows, ld, n, result)
    }

    /// `result[j] = Σ_p x[p] · rows[p·ld + j]` for `j < n`.
    @inline(__always)
    func rowCombination(_ x: UnsafePointer<Float>, k: Int, rows: UnsafePointer<Float>, ld: Int, n: Int,
                        into result: UnsafeMutablePointer<Float>) {
        table.pointee.rowCombination(x, k, rows, ld, n, result)
    }

    /// `y[i] += alpha · x[i]` over `n` floats.
    @inline(__always)
    public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        table.pointee.axpy(alpha, x, y, n)
    }

    /// `C[m, n] (+)= A · P` with P packed row-major `[k, ldp]`; see `FunnelKernelTable.smallGemm`.
    @inline(__always)
    func smallGemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
                   panel: UnsafePointer<Float>, ldp: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        table.pointee.smallGemm(m, n, k, a, rowStride, columnStride, panel, ldp, c, ldc, accumulate ? 1 : 0)
    }

    /// `y[i] = e^{x[i]}` (≈ 2 ulp; inputs below −87.34 give 0). `y` may be `x`.
    @inline(__always)
    public func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        table.pointee.exp(x, y, n)
    }

    /// `y[i] = 1 / (1 + e^{−x[i]})`, stable for large |x|. `y` may be `x`.
    @inline(__always)
    public func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        table.pointee.sigmoid(x, y, n)
    }

    /// Softmax of one contiguous row of `n` floats. `y` may be `x`.
    @inline(__always)
    public func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        table.pointee.softmaxRow(x, y, n)
    }

    /// `c[i, j] = act(c[i, j] + bias[j])` over `rows × columns` with row stride `ldc`; `bias` may be nil.
    @inline(__always)
    public func biasActivation(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int,
                               bias: UnsafePointer<Float>?, activation: Activation) {
        table.pointee.biasActivation(c, rows, columns, ldc, bias, activation == .relu ? 1 : 0)
    }
}
