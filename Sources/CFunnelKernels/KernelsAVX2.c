// AVX2 + FMA kernels: 8-float ymm vectors, a 6 × 16 GEMM tile (12 accumulators of the 16 ymm registers).
#if defined(__x86_64__)
#define FK_TARGET __attribute__((target("avx2,fma")))
#define FK_W 8
#define FK_MR 6
#define FK_TABLE funnel_kernels_avx2
#define FK_NAME "avx2"
#define FK_LEVEL FunnelKernelLevelAVX2
#include "KernelBody.h"
#endif
