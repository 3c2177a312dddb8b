#ifndef CFUNNEL_KERNELS_H
#define CFUNNEL_KERNELS_H

/// Funnel's numeric kernels, compiled once per instruction set (AVX-512, AVX2 + FMA, portable) from one body
/// (KernelBody.h) and chosen at run time from the CPU's features. No compiler flags are needed: the x86 variants
/// carry `__attribute__((target(...)))` on each function.

/// Instruction-set levels, in order of preference.
typedef enum FunnelKernelLevel {
    FunnelKernelLevelPortable = 0,
    FunnelKernelLevelAVX2 = 1,
    FunnelKernelLevelAVX512 = 2,
} FunnelKernelLevel;

/// Bits of `gemmTile`'s `flags`.
enum {
    /// Add the existing C tile to the product (otherwise overwrite it).
    FunnelTileLoad = 1,
    /// Clamp negative results to 0 after the bias (fused ReLU).
    FunnelTileReLU = 2,
};

/// One instruction set's kernels. Every function handles any size (ragged ends included) unless noted.
typedef struct FunnelKernelTable FunnelKernelTable;
struct FunnelKernelTable {
    /// "avx512", "avx2" or "portable".
    const char *name;
    FunnelKernelLevel level;
    /// The GEMM register tile: rows of A and columns of a packed B panel per micro-kernel call.
    long tileRows;
    long tileColumns;
    /// `C[0..<tileRows, 0..<tileColumns] (+)= A · panel (+ bias)`, then ReLU (flags). Element (i, p) of A is at
    /// `a + i·rowStride + p·columnStride`; `panel` holds `kc` rows of `tileColumns` floats; `bias` may be NULL.
    void (*gemmTile)(long kc, const float *a, long rowStride, long columnStride, const float *panel,
                     float *c, long ldc, int flags, const float *bias);
    /// `gemmTile` over `strips` full tiles stacked down C (strip s reads A from `a + s·aStripStride` and writes
    /// C from row s·tileRows): one call per run of strips, so small-k products do not pay a call per tile.
    void (*gemmStrips)(long strips, long aStripStride, long kc, const float *a, long rowStride, long columnStride,
                       const float *panel, float *c, long ldc, int flags, const float *bias);
    /// The same instruction set with a one-vector-wide GEMM tile (12 rows), for small n; NULL in that table itself.
    const FunnelKernelTable *narrow;
    /// `Σ x[i]·y[i]`.
    float (*dot)(const float *x, const float *y, long n);
    /// `result[j] = Σ_p x[p] · rows[j·ld + p]` for j < n (a matrix times a vector: n dot products, four at a time).
    void (*rowDots)(const float *x, long k, const float *rows, long ld, long n, float *result);
    /// `result[j] = Σ_p x[p] · rows[p·ld + j]` for j < n (a row vector times a row-major matrix).
    void (*rowCombination)(const float *x, long k, const float *rows, long ld, long n, float *result);
    /// `y[i] += alpha · x[i]`.
    void (*axpy)(float alpha, const float *x, float *y, long n);
    /// `C[m, n] (+)= A[m, k] · P[k, n]` for small products, with P packed row-major `[k, ldp]` (`ldp` a multiple of
    /// 8, zero beyond n) and element (i, p) of A at `a + i·rowStride + p·columnStride`.
    void (*smallGemm)(long m, long n, long k, const float *a, long rowStride, long columnStride,
                      const float *panel, long ldp, float *c, long ldc, int accumulate);
    /// `y[i] = e^{x[i]}` (Cephes polynomial, ≈ 2 ulp; below −87.34 gives 0). `y` may be `x`.
    void (*exp)(const float *x, float *y, long n);
    /// `y[i] = 1 / (1 + e^{−x[i]})`, stable for large |x|. `y` may be `x`.
    void (*sigmoid)(const float *x, float *y, long n);
    /// Softmax of one contiguous row: `y = e^{x − max} / Σ e^{x − max}`. `y` may be `x`.
    void (*softmaxRow)(const float *x, float *y, long n);
    /// `c[i, j] = act(c[i, j] + bias[j])` over `rows × columns` with row stride `ldc`; `bias` may be NULL,
    /// `relu` nonzero for ReLU.
    void (*biasActivation)(float *c, long rows, long columns, long ldc, const float *bias, int relu);
};

/// The kernels for `level`, or NULL when this CPU (or build architecture) lacks that instruction set.
const FunnelKernelTable *funnel_kernels_for_level(FunnelKernelLevel level);

/// The kernels every call uses: the best level this CPU supports, capped by the environment variable
/// `FUNNEL_KERNELS` (`portable`, `avx2` or `avx512`), read once on first use.
const FunnelKernelTable *funnel_kernels_selected(void);

#endif
