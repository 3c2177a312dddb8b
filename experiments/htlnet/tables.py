#!/usr/bin/env python3
"""Merges the comparison.json files `funnel compare --out` wrote for one dataset (seed batches run separately)
and prints one Markdown table: mean ± sample std over the seeds each model has, test split.

usage: tables.py CORE_TASK BINARY_TASK[,BINARY_TASK…] DIR [DIR…]
"""
import json
import statistics
import sys

core, binary, dirs = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
runs, models = [], []
for d in dirs:
    comparison = json.load(open(f"{d}/comparison.json"))["comparison"]
    runs += comparison["runs"]
    models += [m for m in comparison["models"] if m not in models]

columns = [(core, "nrmse", "NRMSE ↓"), (core, "nmae", "NMAE ↓"), (core, "gini", "Gini ↑"), (core, "spearman", "Spearman ↑")]
for task in binary:
    columns += [(task, "auc", "AUC ↑"), (task, "logloss", "logloss ↓")]


def cell(values):
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {std:.4f}"


print("| Model | seeds | " + " | ".join(f"{t} {label}" for t, _, label in columns) + " | best epoch | s/run |")
print("|---|---:|" + "---:|" * len(columns) + "---:|---:|")
for model in models:
    mine = [r for r in runs if r["model"] == model]
    seeds = ",".join(str(s) for s in sorted(r["seed"] for r in mine))
    cells = [cell([r["test"][t][m] for r in mine if m in r["test"].get(t, {})]) for t, m, _ in columns]
    epochs = statistics.mean(r["bestEpoch"] for r in mine)
    seconds = statistics.mean(r["trainingSeconds"] for r in mine)
    print(f"| {model} | {seeds} | " + " | ".join(cells) + f" | {epochs:.1f} | {seconds:.0f} |")
