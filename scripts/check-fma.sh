#!/usr/bin/env bash
# Checks the release build's dispatched kernels: the AVX-512 GEMM micro-kernel uses 512-bit fused multiply-adds
# (vfmadd…ps on zmm), the AVX2 one 256-bit (ymm), and no object of FunnelCore or the kernels calls libm's fmaf
# (what Swift's SIMD `addingProduct` becomes without -mfma: a function call per lane).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
count_in() {  # count_in OBJECT FUNCTION PATTERN
    objdump -d --no-show-raw-insn "$1" | awk -v f="<$2>:" '$0 ~ f {on=1; next} /^[0-9a-f]+ <.*>:$/ {on=0} on' \
        | grep -cE "$3" || true
}
for level in AVX512:zmm AVX2:ymm; do
    name=${level%%:*} register=${level##*:}
    object=$(find -L .build/release -path "*CFunnelKernels.build/Kernels$name.c.o" | head -n 1)
    [ -n "$object" ] || { echo "check-fma: no release object for Kernels$name.c; run 'swift build -c release' first"; exit 1; }
    count=$(count_in "$object" fk_gemm_strips "vfmadd[0-9]+ps +.*%$register")
    echo "check-fma: $count vfmadd…ps $register instructions in the $name GEMM micro-kernel ($object)"
    [ "$count" -ge 12 ] || { echo "check-fma: FAILED (expected ≥ 12 $register FMAs in fk_gemm_strips)"; status=1; }
done
objects=$(find -L .build/release \( -path '*FunnelCore.build/*.o' -o -path '*CFunnelKernels.build/*.o' \))
calls=$(for o in $objects; do objdump -dr "$o" | grep -E 'R_X86_64_PLT32\s+fmaf' || true; done | wc -l)
echo "check-fma: $calls fmaf calls in FunnelCore and CFunnelKernels"
[ "$calls" -eq 0 ] || { echo "check-fma: FAILED (fmaf calls found)"; status=1; }
exit $status
