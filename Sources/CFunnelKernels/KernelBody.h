// The body of every kernel, written once with clang vector extensions and compiled once per instruction set.
// The including file defines:
//   FK_TARGET   the function attributes of this instruction set (e.g. __attribute__((target("avx2,fma")))), or empty
//   FK_W        floats per vector (16 for zmm, 8 for ymm; portable code uses 8, two NEON/SSE registers)
//   FK_MR       GEMM tile rows; the tile is FK_MR × (2·FK_W) (the narrow tile is 12 × FK_W)
//   FK_TABLE    the name of the exported FunnelKernelTable
//   FK_NAME     its printed name; FK_LEVEL its FunnelKernelLevel
// `a * b + c` is contracted into one fused multiply-add where the instruction set has one (the pragma below);
// the portable build keeps separate multiply and add on x86-64 (no FMA there) and fuses on arm64.

#include "CFunnelKernels.h"

#pragma clang fp contract(fast)
// The helpers below are always inlined, so the vector-ABI warning of the portable build does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define FK_NV 2
#define FK_NR (FK_NV * FK_W)
#define FK_MR_NARROW 12
#define FK_FN static FK_TARGET
#define FK_INLINE static inline __attribute__((always_inline)) FK_TARGET

typedef float fk_vec __attribute__((vector_size(FK_W * 4)));
typedef float fk_vecu __attribute__((vector_size(FK_W * 4), aligned(4)));
typedef int fk_ivec __attribute__((vector_size(FK_W * 4)));
typedef float fk_v8 __attribute__((vector_size(32)));
typedef float fk_v8u __attribute__((vector_size(32), aligned(4)));

FK_INLINE fk_vec fk_load(const float *p) { return *(const fk_vecu *)p; }
FK_INLINE void fk_store(float *p, fk_vec v) { *(fk_vecu *)p = v; }
/// Every lane `x`. (Not `(fk_vec){0} + x`: 0 + x is a real addition, because of −0.) Hot loops instead write
/// `vector * scalar`, which lets the compiler broadcast straight from memory.
FK_INLINE fk_vec fk_splat(float x) {
    fk_vec v;
    for (int l = 0; l < FK_W; l++) v[l] = x;
    return v;
}
/// `mask ? a : b` lane by lane (mask lanes are all ones or all zeros, as comparisons give).
FK_INLINE fk_vec fk_select(fk_ivec mask, fk_vec a, fk_vec b) {
    return (fk_vec)(((fk_ivec)a & mask) | ((fk_ivec)b & ~mask));
}
FK_INLINE float fk_sum(fk_vec v) {
    float total = 0;
    for (int l = 0; l < FK_W; l++) total += v[l];
    return total;
}

// MARK: GEMM micro-kernel

/// `C[0..<MR, 0..<NV·FK_W] (+)= A · panel (+ bias)`, then ReLU: MR × NV vector accumulators, one broadcast of A
/// per row and k, `vfmadd` with the B vectors. Defined twice: the wide tile (FK_MR × 2 vectors) and the narrow
/// one (12 × 1 vector) for products whose n would leave a wide panel mostly empty (n = 8, 16, 41 …).
#define FK_DEFINE_TILE(NAME, STRIPS, MR, NV)                                                                  \
    FK_INLINE void NAME(long kc, const float *a, long rowStride, long columnStride, const float *panel, float *c,  \
                    long ldc, int flags, const float *bias) {                                                 \
        fk_vec acc[MR][NV];                                                                                   \
        for (int r = 0; r < MR; r++)                                                                          \
            for (int v = 0; v < NV; v++) acc[r][v] = fk_splat(0);                                             \
        const float *ap = a, *bp = panel;                                                                     \
        _Pragma("clang loop unroll_count(4)")                                                                 \
        for (long p = 0; p < kc; p++) {                                                                       \
            fk_vec b[NV];                                                                                     \
            for (int v = 0; v < NV; v++) b[v] = fk_load(bp + v * FK_W);                                       \
            for (int r = 0; r < MR; r++) {                                                                    \
                float x = ap[r * rowStride];                                                                  \
                for (int v = 0; v < NV; v++) acc[r][v] = b[v] * x + acc[r][v];                                \
            }                                                                                                 \
            ap += columnStride;                                                                               \
            bp += NV * FK_W;                                                                                  \
        }                                                                                                     \
        for (int r = 0; r < MR; r++) {                                                                        \
            float *row = c + r * ldc;                                                                         \
            for (int v = 0; v < NV; v++) {                                                                    \
                fk_vec s = acc[r][v];                                                                         \
                if (flags & FunnelTileLoad) s += fk_load(row + v * FK_W);                                     \
                if (bias) s += fk_load(bias + v * FK_W);                                                      \
                if (flags & FunnelTileReLU) s = fk_select(s < 0, fk_splat(0), s);                             \
                fk_store(row + v * FK_W, s);                                                                  \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
    FK_FN void NAME##_call(long kc, const float *a, long rowStride, long columnStride, const float *panel,     \
                           float *c, long ldc, int flags, const float *bias) {                                \
        NAME(kc, a, rowStride, columnStride, panel, c, ldc, flags, bias);                                     \
    }                                                                                                         \
    FK_FN void STRIPS(long strips, long aStripStride, long kc, const float *a, long rowStride,                \
                      long columnStride, const float *panel, float *c, long ldc, int flags, const float *bias) { \
        for (long s = 0; s < strips; s++)                                                                     \
            NAME(kc, a + s * aStripStride, rowStride, columnStride, panel, c + s * MR * ldc, ldc, flags, bias); \
    }

FK_DEFINE_TILE(fk_gemm_tile, fk_gemm_strips, FK_MR, FK_NV)
FK_DEFINE_TILE(fk_gemm_tile_narrow, fk_gemm_strips_narrow, FK_MR_NARROW, 1)

// MARK: Matrix-vector

FK_FN float fk_dot(const float *x, const float *y, long n) {
    fk_vec s0 = fk_splat(0), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 4 * FK_W <= n; i += 4 * FK_W) {
        s0 = fk_load(x + i) * fk_load(y + i) + s0;
        s1 = fk_load(x + i + FK_W) * fk_load(y + i + FK_W) + s1;
        s2 = fk_load(x + i + 2 * FK_W) * fk_load(y + i + 2 * FK_W) + s2;
        s3 = fk_load(x + i + 3 * FK_W) * fk_load(y + i + 3 * FK_W) + s3;
    }
    for (; i + FK_W <= n; i += FK_W) s0 = fk_load(x + i) * fk_load(y + i) + s0;
    float total = fk_sum((s0 + s1) + (s2 + s3));
    for (; i < n; i++) total += x[i] * y[i];
    return total;
}

FK_FN void fk_row_dots(const float *x, long k, const float *rows, long ld, long n, float *result) {
    long j = 0;
    for (; j + 4 <= n; j += 4) {  // four rows share each load of x
        const float *r0 = rows + j * ld, *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
        fk_vec s0 = fk_splat(0), s1 = s0, s2 = s0, s3 = s0;
        long p = 0;
        for (; p + FK_W <= k; p += FK_W) {
            fk_vec v = fk_load(x + p);
            s0 = fk_load(r0 + p) * v + s0;
            s1 = fk_load(r1 + p) * v + s1;
            s2 = fk_load(r2 + p) * v + s2;
            s3 = fk_load(r3 + p) * v + s3;
        }
        float t0 = fk_sum(s0), t1 = fk_sum(s1), t2 = fk_sum(s2), t3 = fk_sum(s3);
        for (; p < k; p++) {
            t0 += x[p] * r0[p];
            t1 += x[p] * r1[p];
            t2 += x[p] * r2[p];
            t3 += x[p] * r3[p];
        }
        result[j] = t0;
        result[j + 1] = t1;
        result[j + 2] = t2;
        result[j + 3] = t3;
    }
    for (; j < n; j++) result[j] = fk_dot(x, rows + j * ld, k);
}

FK_FN void fk_row_combination(const float *x, long k, const float *rows, long ld, long n, float *result) {
    long j = 0;
    for (; j + 8 * FK_W <= n; j += 8 * FK_W) {
        fk_vec acc[8];
        for (int v = 0; v < 8; v++) acc[v] = fk_splat(0);
        const float *row = rows + j;
        for (long p = 0; p < k; p++, row += ld) {
            float s = x[p];
            for (int v = 0; v < 8; v++) acc[v] = fk_load(row + v * FK_W) * s + acc[v];
        }
        for (int v = 0; v < 8; v++) fk_store(result + j + v * FK_W, acc[v]);
    }
    for (; j + FK_W <= n; j += FK_W) {
        fk_vec acc = fk_splat(0);
        const float *row = rows + j;
        for (long p = 0; p < k; p++, row += ld) acc = fk_load(row) * x[p] + acc;
        fk_store(result + j, acc);
    }
    if (j == n) return;
    for (long t = j; t < n; t++) result[t] = 0;
    for (long p = 0; p < k; p++) {
        const float *row = rows + p * ld;
        for (long t = j; t < n; t++) result[t] += x[p] * row[t];
    }
}

FK_FN void fk_axpy(float alpha, const float *x, float *y, long n) {
    fk_vec a = fk_splat(alpha);
    long i = 0;
    for (; i + FK_W <= n; i += FK_W) fk_store(y + i, a * fk_load(x + i) + fk_load(y + i));
    for (; i < n; i++) y[i] += alpha * x[i];
}

FK_FN void fk_small_gemm(long m, long n, long k, const float *a, long rowStride, long columnStride,
                         const float *panel, long ldp, float *c, long ldc, int accumulate) {
    for (long i = 0; i < m; i++) {
        const float *ai = a + i * rowStride;
        float *ci = c + i * ldc;
        for (long j0 = 0; j0 < ldp; j0 += 32) {
            long vectors = (ldp - j0) / 8 < 4 ? (ldp - j0) / 8 : 4;
            fk_v8 s[4] = {{0}, {0}, {0}, {0}};
            const float *bp = panel + j0;
            for (long p = 0; p < k; p++, bp += ldp) {
                float x = ai[p * columnStride];
                s[0] = x * *(const fk_v8u *)bp + s[0];
                if (vectors > 1) s[1] = x * *(const fk_v8u *)(bp + 8) + s[1];
                if (vectors > 2) s[2] = x * *(const fk_v8u *)(bp + 16) + s[2];
                if (vectors > 3) s[3] = x * *(const fk_v8u *)(bp + 24) + s[3];
            }
            float row[32];
            for (int v = 0; v < 4; v++) *(fk_v8u *)(row + 8 * v) = s[v];
            long count = vectors * 8 < n - j0 ? vectors * 8 : n - j0;
            for (long j = 0; j < count; j++) ci[j0 + j] = accumulate ? ci[j0 + j] + row[j] : row[j];
        }
    }
}

// MARK: Elementwise

/// e^x: Cephes `expf` (range reduction by ln 2 in two parts, degree-5 polynomial, 2^n from the exponent bits).
/// n = round(x·log2 e) by the 1.5·2^23 trick, so no rounding instruction is needed.
FK_INLINE fk_vec fk_exp_vec(fk_vec input) {
    const float upper = 88.37626f, lower = -87.33654f, magic = 12582912.0f;
    fk_vec x = fk_select(input > upper, fk_splat(upper), input);
    x = fk_select(x < lower, fk_splat(lower), x);
    fk_vec shifted = x * 1.44269504f + magic;
    fk_vec n = shifted - magic;
    x = x - n * 0.693359375f;
    x = x - n * -2.12194440e-4f;
    fk_vec p = fk_splat(1.98756915e-4f);
    p = p * x + 1.39819995e-3f;
    p = p * x + 8.33345191e-3f;
    p = p * x + 4.16657959e-2f;
    p = p * x + 1.66666655e-1f;
    p = p * x + 5.00000012e-1f;
    fk_vec y = p * (x * x) + x + 1.0f;
    fk_ivec biased = (fk_ivec)(n + (magic + 127.0f)) - 0x4B400000;
    fk_vec scaled = y * (fk_vec)(biased << 23);
    return fk_select(input < lower, fk_splat(0), scaled);
}

FK_INLINE fk_vec fk_sigmoid_vec(fk_vec x) {
    fk_vec magnitude = (fk_vec)((fk_ivec)x & 0x7FFFFFFF);
    fk_vec e = fk_exp_vec(-magnitude);
    fk_vec s = 1.0f / (1.0f + e);
    return fk_select(x >= 0, s, e * s);
}

/// Applies `f` to n floats; the ragged end goes through one zero-padded vector, so every element is computed by
/// the same instructions wherever a caller's chunk boundaries fall.
#define FK_MAP(f)                                                   \
    long i = 0;                                                     \
    for (; i + FK_W <= n; i += FK_W) fk_store(y + i, f(fk_load(x + i))); \
    if (i < n) {                                                    \
        float pad[FK_W] = {0};                                      \
        for (long j = i; j < n; j++) pad[j - i] = x[j];             \
        fk_store(pad, f(fk_load(pad)));                             \
        for (long j = i; j < n; j++) y[j] = pad[j - i];             \
    }

FK_FN void fk_exp(const float *x, float *y, long n) { FK_MAP(fk_exp_vec) }

FK_FN void fk_sigmoid(const float *x, float *y, long n) { FK_MAP(fk_sigmoid_vec) }

FK_FN void fk_softmax_row(const float *x, float *y, long n) {
    if (n <= 0) return;
    float top = x[0];
    long i = 0;
    if (n >= FK_W) {
        fk_vec m = fk_load(x);
        for (i = FK_W; i + FK_W <= n; i += FK_W) {
            fk_vec v = fk_load(x + i);
            m = fk_select(v > m, v, m);
        }
        for (int l = 0; l < FK_W; l++) top = m[l] > top ? m[l] : top;
    }
    for (; i < n; i++) top = x[i] > top ? x[i] : top;
    fk_vec shift = fk_splat(top), sums = fk_splat(0);
    for (i = 0; i + FK_W <= n; i += FK_W) {
        fk_vec e = fk_exp_vec(fk_load(x + i) - shift);
        fk_store(y + i, e);
        sums += e;
    }
    if (i < n) {  // padding lanes hold -inf - top, whose exp is 0
        float pad[FK_W];
        for (int l = 0; l < FK_W; l++) pad[l] = i + l < n ? x[i + l] - top : -__builtin_inff();
        fk_vec e = fk_exp_vec(fk_load(pad));
        sums += e;
        fk_store(pad, e);
        for (long j = i; j < n; j++) y[j] = pad[j - i];
    }
    float inverse = 1.0f / fk_sum(sums);
    fk_vec scale = fk_splat(inverse);
    for (i = 0; i + FK_W <= n; i += FK_W) fk_store(y + i, fk_load(y + i) * scale);
    for (; i < n; i++) y[i] *= inverse;
}

FK_FN void fk_bias_activation(float *c, long rows, long columns, long ldc, const float *bias, int relu) {
    for (long r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        long j = 0;
        for (; j + FK_W <= columns; j += FK_W) {
            fk_vec s = fk_load(row + j);
            if (bias) s += fk_load(bias + j);
            if (relu) s = fk_select(s < 0, fk_splat(0), s);
            fk_store(row + j, s);
        }
        for (; j < columns; j++) {
            float s = row[j] + (bias ? bias[j] : 0);
            row[j] = relu && s < 0 ? 0 : s;
        }
    }
}

#define FK_TABLE_ENTRIES(ROWS, COLUMNS, TILE, STRIPS, NARROW)                                                   \
    .name = FK_NAME, .level = FK_LEVEL, .tileRows = ROWS, .tileColumns = COLUMNS, .gemmTile = TILE##_call,         \
    .gemmStrips = STRIPS,                                                                                         \
    .narrow = NARROW, .dot = fk_dot, .rowDots = fk_row_dots, .rowCombination = fk_row_combination, .axpy = fk_axpy,                        \
    .smallGemm = fk_small_gemm, .exp = fk_exp, .sigmoid = fk_sigmoid, .softmaxRow = fk_softmax_row,               \
    .biasActivation = fk_bias_activation

static const FunnelKernelTable fk_narrow_table = {FK_TABLE_ENTRIES(FK_MR_NARROW, FK_W, fk_gemm_tile_narrow, fk_gemm_strips_narrow, 0)};
const FunnelKernelTable FK_TABLE = {FK_TABLE_ENTRIES(FK_MR, FK_NR, fk_gemm_tile, fk_gemm_strips, &fk_narrow_table)};
