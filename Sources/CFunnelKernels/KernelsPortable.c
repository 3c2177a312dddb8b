// Portable kernels: no target attribute, so the compiler's baseline for the architecture (SSE2 on x86-64, NEON on
// arm64). 8-float vectors (two 128-bit registers) and a 6 × 16 GEMM tile, which fits arm64's 32 vector registers.
#define FK_TARGET
#define FK_W 8
#define FK_MR 6
#define FK_TABLE funnel_kernels_portable
#define FK_NAME "portable"
#define FK_LEVEL FunnelKernelLevelPortable
#include "KernelBody.h"
