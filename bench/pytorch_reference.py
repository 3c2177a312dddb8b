#!/usr/bin/env python3
"""PyTorch side of Funnel's benchmarks.

  python3 bench/pytorch_reference.py gemm --threads 1 [--json]
  python3 bench/pytorch_reference.py mmoe --threads 2 --batch 1024 --steps 30 --warmup 5 [--json]
  python3 bench/pytorch_reference.py ple --config '{"taskExperts": 1}' [--dropout 0.2]

Every model of the registry (torch_models.MODELS, the same names as Funnel's ModelRegistry) gets a
training-step subcommand on the parity benchmark data: two binary tasks (ctr, ctcvr; the labels are
nested for chained models: ctcvr := ctr * ctcvr), the model's defaults with the speed-run dropout
(--dropout, for models with a `dropout` option), then --config overrides (Swift configuration keys).
`--tasks amount` adds a third, continuous core task (amount = ctcvr · (1 + u), standardised, MSE) as Funnel's
`TrainingBenchmark` does; `--balancing htlnet` runs HTLNet's per-task-gradient step (one backward pass per task,
the shared gradients adjusted toward the core task's, htlnet.md §5) instead of summing the losses.
`funnel bench step --peer` calls these subcommands and compares parameter counts and throughput.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import funnel_synth as fs  # noqa: E402
import torch_models as tm  # noqa: E402

GEMM_SHAPES = [(1024, 656, 256), (1024, 256, 128), (1024, 128, 64),
               (256, 656, 256), (4096, 656, 256), (1, 656, 256)]
GEMM_VARIANTS = ("AB", "AtB", "ABt")


def gemm_operands(m, k, n, variant):
    """Returns (lhs, rhs) views for torch.mm; the stored tensors are contiguous."""
    if variant == "AtB":
        lhs = torch.randn(k, m).t()          # A stored [K, M]
    else:
        lhs = torch.randn(m, k)
    if variant == "ABt":
        rhs = torch.randn(n, k).t()          # B stored [N, K]
    else:
        rhs = torch.randn(k, n)
    return lhs, rhs


def time_reps(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return time.perf_counter() - t0


def bench_gemm(args):
    rows = []
    for m, k, n in GEMM_SHAPES:
        for variant in GEMM_VARIANTS:
            lhs, rhs = gemm_operands(m, k, n, variant)
            out = torch.empty(m, n)

            def fn():
                torch.mm(lhs, rhs, out=out)

            time_reps(fn, 3)                                  # warm-up
            reps = 1
            while True:                                       # calibrate to >= min_time
                t = time_reps(fn, reps)
                if t >= args.min_time:
                    break
                reps = max(reps * 2, int(reps * args.min_time / max(t, 1e-9) * 1.1))
            times = [time_reps(fn, reps) / reps for _ in range(5)]
            sec = statistics.median(times)
            gflops = 2.0 * m * k * n / sec / 1e9
            row = {"bench": "gemm", "m": m, "k": k, "n": n, "variant": variant,
                   "threads": args.threads, "gflops": round(gflops, 3)}
            rows.append(row)
            if args.json:
                print(json.dumps(row, separators=(",", ":")), flush=True)
            else:
                print(f"{m:>5}x{k:<4}x{n:<4} {variant:<4} threads={args.threads}  "
                      f"{gflops:8.2f} GFLOP/s  ({sec * 1e6:9.2f} us/call, {reps} reps)",
                      flush=True)
    return rows


def build_batches(gen, n_batches, batch):
    """All batches as tensors (x_cat global ids int64, x_dense f32, y f32)."""
    n_rows = min(n_batches * batch, gen.TRAIN_ROWS)
    x_cat, x_dense, y, _ = gen.rows(0, n_rows)
    x_cat = torch.from_numpy(x_cat + gen.offsets[None, :])
    x_dense = torch.from_numpy(x_dense.astype(np.float32))
    y = torch.from_numpy(y.astype(np.float32))
    per_epoch = n_rows // batch
    return [(x_cat[s:s + batch], x_dense[s:s + batch], y[s:s + batch])
            for s in ((i % per_epoch) * batch for i in range(n_batches))]


AMOUNT_TASK = {"name": "amount", "kind": "continuous", "loss": "mse"}


def with_amount(batches):
    """Adds the amount column (ctcvr · (1 + u), u = PortableRandom(0, 20, row in batch)), standardised with the
    mean and population deviation over all batches (Funnel's TargetScaling of the benchmark)."""
    raw = [y[:, 1] * (1 + torch.from_numpy(fs.uniform(0, 20, np.arange(len(y))).astype(np.float32)))
           for _, _, y in batches]
    values = torch.cat(raw).double()
    mean, scale = float(values.mean()), float(values.std(unbiased=False))
    return [(xc, xd, torch.cat([y, ((a - mean) / scale).unsqueeze(1)], dim=1))
            for (xc, xd, y), a in zip(batches, raw)]


def htlnet_step(model, opt, tasks):
    """One step of HTLNet's regime: per-task gradients of the shared parameters, adjusted toward the core (last)
    task's and summed; task-specific parameters take their ordinary gradients (Funnel's HTLNetBalancer)."""
    shared = model.shared_parameters()
    ids = {id(p) for p in shared}
    specific = [p for p in model.parameters() if id(p) not in ids]

    def step(xc, xd, y):
        opt.zero_grad(set_to_none=True)
        out = model(xc, xd, y)
        losses = tm.task_losses(out, y, tasks)
        flat = []
        for loss, task in zip(losses, tasks):
            grads = torch.autograd.grad(loss * task.get("weight", 1.0), shared + specific, retain_graph=True,
                                        allow_unused=True)
            for p, g in zip(specific, grads[len(shared):]):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad + g
            flat.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                   for p, g in zip(shared, grads[:len(shared)])]))
        combined, _ = tm.htlnet_adjust(flat, core=len(tasks) - 1)
        offset = 0
        for p in shared:
            p.grad = combined[offset:offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        if out.aux is not None:
            out.aux.backward()
        opt.step()
        return sum(loss.detach() for loss in losses)

    return step


def bench_model(args):
    torch.manual_seed(0)
    t0 = time.perf_counter()
    gen = fs.ParityGenerator(seed=0, n_fields=40, n_dense=10, rho=0.5)
    batches = build_batches(gen, args.warmup + args.steps, args.batch)
    config = {"dropout": args.dropout} if "dropout" in tm.DEFAULTS[args.model] else {}
    config.update(json.loads(args.config) if args.config else {})
    tasks = tm.TWO_BINARY_TASKS + ([AMOUNT_TASK] if args.tasks == "amount" else [])
    model = tm.build_model(args.model, gen.vocab.tolist(), gen.D, tasks, config)
    chained = getattr(model, "chained", False)
    if chained:
        batches = [(xc, xd, torch.stack([y[:, 0], y[:, 0] * y[:, 1]], dim=1)) for xc, xd, y in batches]
    if args.tasks == "amount":
        batches = with_amount(batches)
    data_s = time.perf_counter() - t0
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    flops_per_step = 6 * args.batch * tm.linear_macs(model)

    def summed_step(xc, xd, y):
        opt.zero_grad(set_to_none=True)
        loss = tm.total_loss(model(xc, xd, y), y, tasks)
        loss.backward()
        opt.step()
        return loss.detach()

    step = htlnet_step(model, opt, tasks) if args.balancing == "htlnet" else summed_step
    losses, step_ms = [], []
    for i, b in enumerate(batches):
        if hasattr(model, "set_step"):
            model.set_step(i)
        t = time.perf_counter()
        loss = step(*b)
        dt = time.perf_counter() - t
        losses.append(float(loss))
        if i >= args.warmup:
            step_ms.append(dt * 1e3)
    total_s = sum(step_ms) / 1e3
    med = statistics.median(step_ms)
    p90 = float(np.percentile(step_ms, 90))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    row = {"bench": args.model, "impl": "pytorch", "threads": args.threads,
           "batch": args.batch, "samples_per_s": round(args.steps * args.batch / total_s, 1),
           "ms_per_step_median": round(med, 3), "ms_per_step_p90": round(p90, 3),
           "gflops": round(flops_per_step / (total_s / args.steps) / 1e9, 3),
           "flops_per_step": flops_per_step, "peak_rss_mib": round(rss_mib, 1),
           "parameters": sum(p.numel() for p in model.parameters()), "chained": chained,
           "first_loss": losses[0], "last_loss": losses[-1]}
    k = max(1, min(5, len(losses) // 4))
    loss_msg = (f"loss mean of first {k} steps {np.mean(losses[:k]):.4f} -> "
                f"last {k} steps {np.mean(losses[-k:]):.4f}")
    if args.json:
        print(json.dumps(row, separators=(",", ":")), flush=True)
        print(loss_msg, file=sys.stderr)
    else:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{args.model}: pytorch {torch.__version__}, threads={args.threads}, "
              f"batch={args.batch}, steps={args.steps} (+{args.warmup} warm-up), "
              f"params={n_params:,}, data prep {data_s:.2f}s")
        print(f"  flops/step (6*B*sum in*out over Linear) {flops_per_step:,}")
        print(f"  samples/s   {row['samples_per_s']:12,.1f}")
        print(f"  ms/step     median {med:.2f}  p90 {p90:.2f}")
        print(f"  GFLOP/s     {row['gflops']:.2f}")
        print(f"  peak RSS    {rss_mib:.1f} MiB")
        print(f"  {loss_msg}")
        print("  losses: " + " ".join(f"{v:.4f}" for v in losses))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gemm", help="torch.mm throughput for Funnel's GEMM shapes")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--min-time", type=float, default=0.2,
                   help="seconds per measurement (median of 5)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=bench_gemm)
    for name in tm.MODELS:
        m = sub.add_parser(name, help=f"train-step benchmark of {name} (parity config)")
        m.add_argument("--config", default=None, help="JSON object of configuration overrides")
        m.add_argument("--dropout", type=float, default=0.2, help="speed-run dropout (models with a dropout option)")
        m.add_argument("--threads", type=int, default=1)
        m.add_argument("--batch", type=int, default=1024)
        m.add_argument("--steps", type=int, default=30)
        m.add_argument("--warmup", type=int, default=5)
        m.add_argument("--tasks", choices=("two", "amount"), default="two",
                       help="two binary tasks, or those plus a continuous core task 'amount'")
        m.add_argument("--balancing", choices=("fixed", "htlnet"), default="fixed",
                       help="summed losses, or HTLNet's per-task gradient adjustment (needs --tasks amount)")
        m.add_argument("--json", action="store_true")
        m.set_defaults(func=bench_model, model=name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.func(args)


if __name__ == "__main__":
    main()
