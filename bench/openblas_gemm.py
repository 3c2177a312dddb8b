#!/usr/bin/env python3
"""OpenBLAS side of `funnel bench kernels --peer`: numpy's sgemm at Funnel's GEMM shapes.

  python3 bench/openblas_gemm.py --threads 1 --shapes 1024x656x256,1x656x256 [--json]

Funnel's runner starts this with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment (this
process only), so OpenBLAS picks its kernels from the CPU; each row reports the kernel name threadpoolctl gives.
Variants as Funnel's: AB, AtB (A stored [k, m]), ABt (B stored [n, k]); the timing is the median of 5 runs of
>= --min-time seconds each, as Funnel's Stopwatch.
"""
import argparse
import json
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def operands(m, k, n, variant, rng):
    a = rng.standard_normal((k, m), dtype=np.float32).T if variant == "AtB" else rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32).T if variant == "ABt" else rng.standard_normal((k, n), dtype=np.float32)
    return a, b


def seconds_per_call(fn, min_time):
    for _ in range(3):
        fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time:
            break
        reps = max(reps * 2, int(reps * min_time / max(t, 1e-9) * 1.1))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shapes", required=True, help="m x k x n, comma-separated (e.g. 1024x656x256)")
    ap.add_argument("--variants", default="AB,AtB,ABt")
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    kernel = f"OpenBLAS {blas[0].get('version')} {blas[0].get('architecture')}" if blas else "not OpenBLAS"
    rng = np.random.default_rng(42)
    with threadpool_limits(args.threads, user_api="blas"):
        for shape in args.shapes.split(","):
            m, k, n = (int(v) for v in shape.split("x"))
            for variant in args.variants.split(","):
                a, b = operands(m, k, n, variant, rng)
                out = np.empty((m, n), dtype=np.float32)
                sec = seconds_per_call(lambda: np.matmul(a, b, out=out), args.min_time)
                row = {"bench": "gemm", "m": m, "k": k, "n": n, "variant": variant, "threads": args.threads,
                       "gflops": round(2.0 * m * k * n / sec / 1e9, 3), "kernel": kernel}
                print(json.dumps(row) if args.json else f"{shape} {variant} {args.threads}: {row['gflops']} GFLOP/s ({kernel})",
                      flush=True)


if __name__ == "__main__":
    main()
