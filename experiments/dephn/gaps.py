#!/usr/bin/env python3
"""Related-vs-unrelated gap tables from two `funnel compare` results on the DEPHN synthetic pairs.

Usage: gaps.py RELATED/comparison.json UNRELATED/comparison.json [ORDER...]

Both comparisons share features, base label (click), data seed and model seeds; only the second label differs.
Per model and seed s it pairs the two runs and computes
  gap2(s)  = AUC(related task, s)  - AUC(unrelated task, s)       how much harder the unrelated label is
  dbase(s) = AUC(base | related pair, s) - AUC(base | unrelated pair, s)   negative transfer onto the base task
and reports mean ± sample std over seeds, plus the paired difference of each model against DEPHN
(mean ± std over seeds of model(s) - DEPHN(s), and how many seeds DEPHN is better).
"""
import json
import statistics
import sys


def load(path):
    with open(path) as f:
        result = json.load(f)
    result = result.get("comparison", result)
    runs = {}
    for run in result["runs"]:
        runs[(run["model"], run["seed"])] = run["test"]
    return result, runs


def ms(values, digits=4):
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main():
    rel_result, rel = load(sys.argv[1])
    unrel_result, unrel = load(sys.argv[2])
    models = sys.argv[3:] or rel_result["models"]
    seeds = sorted(set(rel_result["seeds"]) & set(unrel_result["seeds"]))
    series = {}
    for model in models:
        rows = []
        for seed in seeds:
            r, u = rel.get((model, seed)), unrel.get((model, seed))
            if r is None or u is None:
                continue
            rows.append({
                "base_rel": r["base"]["auc"], "base_unrel": u["base"]["auc"],
                "second_rel": r["related"]["auc"], "second_unrel": u["unrelated"]["auc"],
                "ll_rel": r["related"]["logloss"], "ll_unrel": u["unrelated"]["logloss"],
            })
        series[model] = rows

    print(f"Seeds: {', '.join(map(str, seeds))}. Test AUC; mean ± sample std over seeds; gaps are paired per seed.\n")
    print("| Model | base AUC (related pair) | base AUC (unrelated pair) | Δbase | related AUC | unrelated AUC "
          "| gap = related − unrelated | related logloss | unrelated logloss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model, rows in series.items():
        if not rows:
            continue
        col = lambda key: [row[key] for row in rows]
        gap = [row["second_rel"] - row["second_unrel"] for row in rows]
        dbase = [row["base_rel"] - row["base_unrel"] for row in rows]
        print(f"| {model} | {ms(col('base_rel'))} | {ms(col('base_unrel'))} | {ms(dbase)} | {ms(col('second_rel'))} "
              f"| {ms(col('second_unrel'))} | {ms(gap)} | {ms(col('ll_rel'))} | {ms(col('ll_unrel'))} |")

    reference = "dephn"
    if reference in series and series[reference]:
        print(f"\nPaired differences model − {reference} (per seed, then mean ± std; wins = seeds where {reference} is better).\n")
        print("| Model | Δ unrelated AUC | DEPHN wins | Δ gap | DEPHN smaller gap | Δ related AUC | Δ base AUC (unrelated pair) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        ref = series[reference]
        for model, rows in series.items():
            if model == reference or len(rows) != len(ref):
                continue
            d_unrel = [a["second_unrel"] - b["second_unrel"] for a, b in zip(rows, ref)]
            d_gap = [(a["second_rel"] - a["second_unrel"]) - (b["second_rel"] - b["second_unrel"]) for a, b in zip(rows, ref)]
            d_rel = [a["second_rel"] - b["second_rel"] for a, b in zip(rows, ref)]
            d_base = [a["base_unrel"] - b["base_unrel"] for a, b in zip(rows, ref)]
            wins_unrel = sum(d < 0 for d in d_unrel)
            wins_gap = sum(d > 0 for d in d_gap)
            print(f"| {model} | {ms(d_unrel, 5)} | {wins_unrel}/{len(rows)} | {ms(d_gap, 5)} | {wins_gap}/{len(rows)} "
                  f"| {ms(d_rel, 5)} | {ms(d_base, 5)} |")


if __name__ == "__main__":
    main()
