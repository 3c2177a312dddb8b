// Chooses the kernel table once: the best instruction set this CPU (and its operating system) supports, capped
// by FUNNEL_KERNELS=portable|avx2|avx512.
#include "CFunnelKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const FunnelKernelTable funnel_kernels_portable;
#if defined(__x86_64__)
extern const FunnelKernelTable funnel_kernels_avx2;
extern const FunnelKernelTable funnel_kernels_avx512;
#endif

const FunnelKernelTable *funnel_kernels_for_level(FunnelKernelLevel level) {
    switch (level) {
    case FunnelKernelLevelPortable:
        return &funnel_kernels_portable;
#if defined(__x86_64__)
    case FunnelKernelLevelAVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &funnel_kernels_avx2 : NULL;
    case FunnelKernelLevelAVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                       && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                       && __builtin_cpu_supports("fma")
                   ? &funnel_kernels_avx512
                   : NULL;
#endif
    default:
        return NULL;
    }
}

static FunnelKernelLevel requested_level(void) {
    const char *value = getenv("FUNNEL_KERNELS");
    if (value == NULL || *value == 0) return FunnelKernelLevelAVX512;
    if (strcmp(value, "portable") == 0) return FunnelKernelLevelPortable;
    if (strcmp(value, "avx2") == 0) return FunnelKernelLevelAVX2;
    if (strcmp(value, "avx512") == 0) return FunnelKernelLevelAVX512;
    fprintf(stderr, "funnel: FUNNEL_KERNELS=%s is not portable, avx2 or avx512; using the best available\n", value);
    return FunnelKernelLevelAVX512;
}

const FunnelKernelTable *funnel_kernels_selected(void) {
    static const FunnelKernelTable *selected = NULL;
    const FunnelKernelTable *table = __atomic_load_n(&selected, __ATOMIC_ACQUIRE);
    if (table) return table;
    // Every thread racing here computes the same answer.
    for (int level = requested_level(); level >= FunnelKernelLevelPortable && table == NULL; level--) {
        table = funnel_kernels_for_level((FunnelKernelLevel)level);
    }
    __atomic_store_n(&selected, table, __ATOMIC_RELEASE);
    return table;
}
