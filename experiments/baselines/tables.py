#!/usr/bin/env python3
"""Tables and the plot of experiments/baselines.md from the raw results in experiments/baselines/.

  python3 experiments/baselines/tables.py census      # census/parity.md: Funnel vs PyTorch test AUC per task
  python3 experiments/baselines/tables.py synthetic experiments/baselines/synthetic/lr0.01 [all]
      # <dir>/table.md and <dir>/mse-vs-correlation.svg (replicates 0–4), or table-all.md / …-all.svg

census: census/funnel/comparison.json (funnel compare) and census/pytorch/<model>.json (bench/pytorch_train.py).
synthetic: <dir>/p<p>/seed<s>/comparison.json (one compare per cosine p and replicate s: data seed = model
seed = s) and synthetic/correlations.txt (`funnel synth correlated` output per data seed).
"""
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CENSUS_MODELS = ["single-task", "shared-bottom", "omoe", "mmoe", "ple"]
SYNTHETIC_MODELS = ["shared-bottom", "omoe", "mmoe"]
COSINES = ["0.5", "0.9", "1.0"]
TOLERANCE = 0.002


def mean_std(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def census():
    with open(os.path.join(HERE, "census/funnel/comparison.json")) as f:
        funnel = json.load(f)["comparison"]
    tasks = funnel["tasks"]
    lines = ["| model | params (Funnel / PyTorch) | task | Funnel test AUC | PyTorch test AUC | Δ (Funnel − PyTorch) | Δ / SE | within ±0.002 |",
             "|---|---|---|---:|---:|---:|---:|:---:|"]
    epochs = ["| model | Funnel best epoch / epochs run (seeds 0–4) | PyTorch best epoch / epochs run |", "|---|---|---|"]
    worst = 0.0
    for model in CENSUS_MODELS:
        with open(os.path.join(HERE, f"census/pytorch/{model}.json")) as f:
            torch_runs = json.load(f)["runs"]
        funnel_runs = sorted((r for r in funnel["runs"] if r["model"] == model), key=lambda r: r["seed"])
        params = f"{funnel_runs[0]['parameters']:,} / {torch_runs[0]['parameters']:,}"
        for i, task in enumerate(tasks):
            fm, fs = mean_std([r["test"][task]["auc"] for r in funnel_runs])
            tm, ts = mean_std([r["test"][task]["auc"] for r in torch_runs])
            delta = fm - tm
            se = math.sqrt(fs ** 2 / len(funnel_runs) + ts ** 2 / len(torch_runs))
            ratio = f"{delta / se:+.1f}" if se > 0 else "—"
            worst = max(worst, abs(delta))
            ok = "yes" if abs(delta) <= TOLERANCE else "**no**"
            lines.append(f"| {model if i == 0 else ''} | {params if i == 0 else ''} | {task} | {fm:.4f} ± {fs:.4f} | "
                         f"{tm:.4f} ± {ts:.4f} | {delta:+.4f} | {ratio} | {ok} |")
        funnel_epochs = ", ".join("%d/%d" % (r["bestEpoch"], r["epochs"]) for r in funnel_runs)
        torch_epochs = ", ".join("%d/%d" % (r["best_epoch"], r["epochs"]) for r in torch_runs)
        epochs.append(f"| {model} | {funnel_epochs} | {torch_epochs} |")
    text = "\n".join(lines) + f"\n\nLargest |Δ|: {worst:.4f}. SE = √(s_F²/5 + s_P²/5), the standard error of the " \
        "difference of the two means (Welch).\n\n" + "\n".join(epochs) + "\n"
    with open(os.path.join(HERE, "census/parity.md"), "w") as f:
        f.write(text)
    print(text)


def correlations():
    """{(p, data seed): measured label correlation} from synthetic/correlations.txt."""
    found = {}
    seed = None
    with open(os.path.join(HERE, "synthetic/correlations.txt")) as f:
        for line in f:
            if m := re.match(r"# data seed (\d+)", line):
                seed = int(m.group(1))
            elif m := re.search(r"cosine p = ([0-9.]+), measured corr\(y\) = (-?[0-9.]+)", line):
                found[(f"{float(m.group(1)):.1f}", seed)] = float(m.group(2))
    return found


def replicates(directory):
    """The replicate seeds present under directory/p<p>/ for every cosine."""
    found = [{int(name[4:]) for name in os.listdir(os.path.join(directory, f"p{p}"))
              if name.startswith("seed") and os.path.isdir(os.path.join(directory, f"p{p}", name))} for p in COSINES]
    return sorted(set.intersection(*found))


def synthetic_results(directory, seeds):
    """{(p, model, task): [test mse per replicate]}."""
    results = {}
    for p in COSINES:
        for s in seeds:
            with open(os.path.join(directory, f"p{p}/seed{s}/comparison.json")) as f:
                comparison = json.load(f)["comparison"]
            for run in comparison["runs"]:
                for task, metrics in run["test"].items():
                    results.setdefault((p, run["model"], task), []).append(metrics["mse"])
    return results


def synthetic(directory, scope="first5"):
    """scope "first5": replicates 0–4 (the issue's table) → table.md, mse-vs-correlation.svg; "all": every replicate
    present → table-all.md, mse-vs-correlation-all.svg."""
    seeds = replicates(directory)
    seeds, suffix = (seeds, "-all") if scope == "all" else ([s for s in seeds if s < 5], "")
    results, corr = synthetic_results(directory, seeds), correlations()
    tasks = sorted({task for (_, _, task) in results})
    header = "| cosine p | measured corr(y₁, y₂) over data seeds " + f"{seeds[0]}–{seeds[-1]} | model | " + " | ".join(f"{t} test MSE" for t in tasks) + \
             " | mean test MSE | paired Δ vs shared-bottom | paired Δ vs omoe |"
    lines = [header, "|---|---|---|" + "---:|" * (len(tasks) + 3)]
    for p in COSINES:
        cs = [corr[(p, s)] for s in seeds]
        cm, csd = mean_std(cs)
        def averaged(model):
            return [sum(v) / len(tasks) for v in zip(*(results[(p, model, t)] for t in tasks))]

        def paired(model, reference):
            if model == reference or SYNTHETIC_MODELS.index(model) < SYNTHETIC_MODELS.index(reference):
                return "—"
            dm, ds = mean_std([a - b for a, b in zip(averaged(model), averaged(reference))])
            return f"{dm:+.4f} ± {ds:.4f}"
        for i, model in enumerate(SYNTHETIC_MODELS):
            cells = []
            for t in tasks:
                m, s = mean_std(results[(p, model, t)])
                cells.append(f"{m:.4f} ± {s:.4f}")
            mm, ms = mean_std(averaged(model))
            listed = f" ({', '.join(f'{c:.3f}' for c in cs)})" if len(cs) <= 5 else f", range {min(cs):.3f}–{max(cs):.3f}"
            corr_text = f"{cm:.3f} ± {csd:.3f}{listed}" if i == 0 else ""
            lines.append(f"| {p if i == 0 else ''} | {corr_text} | {model} | " + " | ".join(cells) +
                         f" | {mm:.4f} ± {ms:.4f} | {paired(model, 'shared-bottom')} | {paired(model, 'omoe')} |")
    text = "\n".join(lines) + f"\n\nMean ± sample std over {len(seeds)} replicates (data seed = model seed = " \
        f"{seeds[0]}–{seeds[-1]}); paired Δ: mean ± std of the per-replicate difference of the two-task mean test MSE.\n"
    with open(os.path.join(directory, f"table{suffix}.md"), "w") as f:
        f.write(text)
    print(text)
    plot(results, corr, tasks, directory, seeds, suffix)


def plot(results, corr, tasks, directory, seeds, suffix):
    """x = mean measured label correlation, y = mean over tasks of the test MSE, error bars = ±1 std over replicates."""
    points = {}
    for model in SYNTHETIC_MODELS:
        for p in COSINES:
            x = mean_std([corr[(p, s)] for s in seeds])[0]
            per_replicate = [sum(v) / len(tasks) for v in zip(*(results[(p, model, t)] for t in tasks))]
            points.setdefault(model, []).append((x, *mean_std(per_replicate)))
    width, height, left, right, top, bottom = 640, 420, 70, 150, 40, 55
    xs = [x for pts in points.values() for x, _, _ in pts]
    lows = [m - s for pts in points.values() for _, m, s in pts]
    highs = [m + s for pts in points.values() for _, m, s in pts]
    x0, x1 = 0.0, 1.05
    y0, y1 = min(lows), max(highs)
    pad = (y1 - y0) * 0.1 or 0.01
    y0, y1 = max(0.0, y0 - pad), y1 + pad

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y):
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    colors = {"shared-bottom": "#4477aa", "omoe": "#ee6677", "mmoe": "#228833"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" font-size="14" text-anchor="middle">MMoE synthetic data, {os.path.basename(directory)}, '
           f'{len(seeds)} replicates: test MSE vs label correlation</text>',
           f'<line x1="{left}" y1="{sy(y0)}" x2="{width - right}" y2="{sy(y0)}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{sy(y0)}" stroke="black"/>']
    for k in range(0, 11, 2):
        x = k / 10
        out.append(f'<line x1="{sx(x):.1f}" y1="{sy(y0)}" x2="{sx(x):.1f}" y2="{sy(y0) + 5}" stroke="black"/>'
                   f'<text x="{sx(x) - 8:.1f}" y="{sy(y0) + 18}">{x:.1f}</text>')
    for k in range(6):
        y = y0 + (y1 - y0) * k / 5
        out.append(f'<line x1="{left - 5}" y1="{sy(y):.1f}" x2="{left}" y2="{sy(y):.1f}" stroke="black"/>'
                   f'<text x="{left - 50}" y="{sy(y) + 4:.1f}">{y:.3f}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">measured label correlation corr(y₁, y₂) (mean over {len(seeds)} data seeds)</text>')
    out.append(f'<text x="16" y="{top + 200}" transform="rotate(-90 16 {top + 200})">test MSE, mean of 2 tasks (±1 std)</text>')
    for j, (model, pts) in enumerate(points.items()):
        color, shift = colors[model], (j - 1) * 0.006
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x + shift):.1f},{sy(m):.1f}" for i, (x, m, _) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, m, s in pts:
            cx = sx(x + shift)
            out.append(f'<line x1="{cx:.1f}" y1="{sy(m - s):.1f}" x2="{cx:.1f}" y2="{sy(m + s):.1f}" stroke="{color}"/>'
                       f'<line x1="{cx - 4:.1f}" y1="{sy(m - s):.1f}" x2="{cx + 4:.1f}" y2="{sy(m - s):.1f}" stroke="{color}"/>'
                       f'<line x1="{cx - 4:.1f}" y1="{sy(m + s):.1f}" x2="{cx + 4:.1f}" y2="{sy(m + s):.1f}" stroke="{color}"/>'
                       f'<circle cx="{cx:.1f}" cy="{sy(m):.1f}" r="3.5" fill="{color}"/>')
        ly = top + 20 + 22 * j
        out.append(f'<line x1="{width - right + 15}" y1="{ly}" x2="{width - right + 40}" y2="{ly}" stroke="{color}" stroke-width="2"/>'
                   f'<text x="{width - right + 46}" y="{ly + 4}">{model}</text>')
    out.append("</svg>")
    with open(os.path.join(directory, f"mse-vs-correlation{suffix}.svg"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "census":
        census()
    else:
        synthetic(*sys.argv[2:4])
