"""Combined tables of the APEM-reconstruction comparison (experiments/apem.md) from the comparison.json files that
`funnel compare --out` wrote: per dataset, every entry with mean ± sample std over its seeds, and the paired
difference of each entry from APEM-reconstruction over the seeds both ran.
Usage: python3 experiments/apem/tables.py > experiments/apem/tables.md
"""
import glob
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = [("funnel", "Synthetic funnel (50k rows, cross 1)", [("ctr", "auc"), ("ctcvr", "auc"), ("ctr", "logloss"),
                                                                  ("ctcvr", "logloss"), ("amount", "gini")]),
            ("census-group1", "Census-Income group 1", [("income", "auc"), ("marital", "auc"), ("income", "logloss"),
                                                         ("marital", "logloss")]),
            ("census-chain", "Census-Income binary chain", [("worked", "auc"), ("high_income", "auc"),
                                                             ("has_dividends", "auc"), ("high_income", "logloss"),
                                                             ("has_dividends", "logloss")])]
# `worked` is a deterministic function of the feature num_emp (AUC 1 for every model), so the mean AUC and the
# paired differences of the chain use its two informative steps only.
EXCLUDED_FROM_MEAN = {"worked"}
REFERENCE = "APEM-reconstruction"


def runs_of(name):
    runs, order = {}, []
    for path in sorted(glob.glob(os.path.join(HERE, name, "*", "comparison.json"))):
        comparison = json.load(open(path))["comparison"]
        for model in comparison["models"]:
            if model not in order:
                order.append(model)
        for run in comparison["runs"]:
            runs.setdefault(run["model"], {})[run["seed"]] = run
    preferred = ["APEM-reconstruction", "MMoE", "PLE", "ESMM", "AITM"]
    return sorted(order, key=lambda m: (preferred.index(m) if m in preferred else len(preferred))), runs


def metric(run, task, name):
    return run["test"].get(task, {}).get(name)


def cell(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


for name, title, columns in DATASETS:
    models, runs = runs_of(name)
    if not models:
        continue
    print(f"### {title}\n")
    print("| Model | seeds | " + " | ".join(f"{t} {m}" for t, m in columns) + " | mean AUC | median mean AUC | s/run |")
    print("|---|---|" + "---:|" * (len(columns) + 3))
    binary = [t for t, m in columns if m == "auc" and t not in EXCLUDED_FROM_MEAN]
    for model in models:
        seeds = sorted(runs[model])
        cells = [cell([metric(runs[model][s], t, m) for s in seeds]) for t, m in columns]
        mean_auc = [statistics.mean(metric(runs[model][s], t, "auc") for t in binary) for s in seeds]
        seconds = statistics.mean(runs[model][s]["trainingSeconds"] for s in seeds)
        print(f"| {model} | {','.join(map(str, seeds))} | " + " | ".join(cells) + f" | {cell(mean_auc)} | {statistics.median(mean_auc):.4f} | {seconds:.0f} |")
    print(f"\nPaired difference from {REFERENCE} (entry − {REFERENCE}, same seeds; mean ± std of the per-seed "
          "differences; AUC in points of 0.001):\n")
    print("| Model | seeds | " + " | ".join(f"Δ {t} AUC" for t in binary) + " | Δ mean AUC |")
    print("|---|---|" + "---:|" * (len(binary) + 1))
    for model in models:
        if model == REFERENCE:
            continue
        seeds = sorted(set(runs[model]) & set(runs[REFERENCE]))
        diffs = lambda t: [1000 * (metric(runs[model][s], t, "auc") - metric(runs[REFERENCE][s], t, "auc")) for s in seeds]
        mean_diff = [statistics.mean(1000 * (metric(runs[model][s], t, "auc") - metric(runs[REFERENCE][s], t, "auc"))
                                     for t in binary) for s in seeds]
        print(f"| {model} | {','.join(map(str, seeds))} | " + " | ".join(cell(diffs(t), 1) for t in binary)
              + f" | {cell(mean_diff, 1)} |")
    print()
