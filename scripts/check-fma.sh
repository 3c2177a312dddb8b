#!/usr/bin/env bash
# Checks that the release build's GEMM code uses 256-bit fused multiply-add (vfmadd…ps on ymm registers)
# and no libm fmaf calls — without -mfma, SIMD8.addingProduct becomes a function call per lane.
set -euo pipefail
cd "$(dirname "$0")/.."
object=$(find -L .build/release -path '*FunnelCore.build/Gemm.swift.o' | head -n 1)
[ -n "$object" ] || { echo "check-fma: no release object for Gemm.swift; run 'swift build -c release' first"; exit 1; }
count=$(objdump -d --no-show-raw-insn "$object" | grep -cE 'vfmadd[0-9]+ps +%ymm' || true)
calls=$(objdump -d --no-show-raw-insn "$object" | grep -c 'call.*fmaf' || true)
echo "check-fma: $count vfmadd…ps ymm instructions, $calls fmaf calls in $object"
[ "$count" -ge 12 ] && [ "$calls" -eq 0 ] || { echo "check-fma: FAILED (expected ≥ 12 ymm FMAs and no fmaf calls)"; exit 1; }
