#!/usr/bin/env python3
"""Reference rows for the funnel table: the generator's ground truth and constant predictors on the test split
(rows 90,000–99,999 of the CSV `funnel synth funnel --preset smoke --rows 100000 --seed 0 --ground-truth` writes).
Gini: metrics.md §8 (ZILN convention); Spearman with average ranks; AUC by rank sum.

usage: reference.py GROUND_TRUTH_CSV
"""
import csv
import math
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
train, test = rows[:80_000], rows[90_000:]
y = [float(r["amount"]) for r in test]
mean = sum(y) / len(y)
train_mean = sum(float(r["amount"]) for r in train) / len(train)


def ranks(v):
    order = sorted(range(len(v)), key=v.__getitem__)
    r, i = [0.0] * len(v), 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(p):
    a, b = ranks(p), ranks(y)
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (z - mb) for x, z in zip(a, b))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((z - mb) ** 2 for z in b))


def gini(p):
    def raw(score):
        total, cum, area = sum(y), 0.0, 0.0
        for i in sorted(range(len(y)), key=lambda i: -score[i]):
            cum += y[i]
            area += cum / total
        return 2 * area / len(y) - 1
    return raw(p) / raw(y)


def auc(scores, labels):
    r, positives = ranks(scores), sum(labels)
    negatives = len(labels) - positives
    return (sum(ri + 1 for ri, l in zip(r, labels) if l) - positives * (positives + 1) / 2) / (positives * negatives)


def errors(p):
    rmse = math.sqrt(sum((a - b) ** 2 for a, b in zip(p, y)) / len(y))
    mae = sum(abs(a - b) for a, b in zip(p, y)) / len(y)
    return rmse / mean, mae / mean


oracle = [float(r["expected_amount"]) for r in test]
print("| Reference | amount NRMSE | amount NMAE | amount Gini | amount Spearman | ctr AUC | ctcvr AUC |")
print("|---|---:|---:|---:|---:|---:|---:|")
nrmse, nmae = errors(oracle)
print(f"| oracle (true E[amount], p_click, p_ctcvr) | {nrmse:.4f} | {nmae:.4f} | {gini(oracle):.4f} | {spearman(oracle):.4f} | "
      f"{auc([float(r['p_click']) for r in test], [int(r['click']) for r in test]):.4f} | "
      f"{auc([float(r['p_ctcvr']) for r in test], [int(r['conv']) for r in test]):.4f} |")
nrmse, nmae = errors([train_mean] * len(y))
print(f"| constant: training mean | {nrmse:.4f} | {nmae:.4f} | – | – | – | – |")
nrmse, nmae = errors([0.0] * len(y))
print(f"| constant: 0 | {nrmse:.4f} | {nmae:.4f} | – | – | – | – |")
