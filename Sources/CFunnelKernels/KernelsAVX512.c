// AVX-512 kernels: 16-float zmm vectors, an 8 × 32 GEMM tile (16 accumulators of the 32 zmm registers).
#if defined(__x86_64__)
#define FK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define FK_W 16
#define FK_MR 8
#define FK_TABLE funnel_kernels_avx512
#define FK_NAME "avx512"
#define FK_LEVEL FunnelKernelLevelAVX512
#include "KernelBody.h"
#endif
