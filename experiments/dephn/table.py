#!/usr/bin/env python3
"""One Markdown table from several `funnel compare` results on the same data (e.g. the 5-seed models and a 3-seed
ablation run separately).

Usage: table.py comparison.json [comparison.json ...]

Columns: per task AUC and logloss (mean ± sample std over that model's seeds), seeds, best epochs, seconds per run.
A last block gives, per task, each model's paired AUC difference to `dephn` over the seeds both ran.
"""
import json
import statistics
import sys


def ms(values, digits=4):
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main():
    models, tasks, runs = [], [], {}
    for path in sys.argv[1:]:
        with open(path) as f:
            result = json.load(f)
        result = result.get("comparison", result)
        for task in result["tasks"]:
            if task not in tasks:
                tasks.append(task)
        for run in result["runs"]:
            if run["model"] not in models:
                models.append(run["model"])
            runs[(run["model"], run["seed"])] = run
    header = ["Model"] + [f"{t} {m}" for t in tasks for m in ("AUC", "logloss")] + ["seeds", "best epoch / epochs", "s/run"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for model in models:
        mine = [runs[key] for key in sorted(runs) if key[0] == model]
        cells = [ms([r["test"][t][m] for r in mine]) for t in tasks for m in ("auc", "logloss")]
        epochs = " ".join(f"{r['bestEpoch']}/{r['epochs']}" for r in mine)
        seconds = statistics.fmean(r["trainingSeconds"] for r in mine)
        seeds = ",".join(str(r["seed"]) for r in mine)
        print(f"| {model} | " + " | ".join(cells) + f" | {seeds} | {epochs} | {seconds:.0f} |")
    if "dephn" not in models:
        return
    print("\nPaired AUC difference model − dephn (same seeds; mean ± std; in how many seeds dephn is better):\n")
    print("| Model | " + " | ".join(f"Δ {t} AUC" for t in tasks) + " |")
    print("|---|" + "---:|" * len(tasks))
    for model in models:
        if model == "dephn":
            continue
        seeds = sorted(s for (m, s) in runs if m == model and ("dephn", s) in runs)
        cells = []
        for t in tasks:
            d = [runs[(model, s)]["test"][t]["auc"] - runs[("dephn", s)]["test"][t]["auc"] for s in seeds]
            cells.append(f"{ms(d, 5)} ({sum(x < 0 for x in d)}/{len(d)})")
        print(f"| {model} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
