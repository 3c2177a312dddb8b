"""Oracle metrics of the synthetic funnel test split (experiments/apem.md): the generator's ground-truth
probabilities used as scores, on exactly the rows `funnel-entire-space.yaml` puts in the test split.

Needs the ground-truth CSV:
  funnel synth funnel --preset smoke --rows 50000 --cross 1 --seed 0 --ground-truth --csv experiments/apem/data/funnel-50k-truth.csv
Usage: python3 experiments/apem/oracle.py   (numpy only; bench/funnel_synth.py supplies the portable random numbers)
"""
import csv
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from funnel_synth import uniform  # noqa: E402


def permutation(count, seed):
    """DatasetSplit.permutation: Fisher-Yates with j = floor(uniform(seed, 99, i) * (i + 1))."""
    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = min(int(uniform(seed, 99, i) * (i + 1)), i)
        order[i], order[j] = order[j], order[i]
    return order


def auc(score, label):
    """Tie-aware ROC AUC (average ranks)."""
    score, label = np.asarray(score, float), np.asarray(label, float)
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    s = score[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = label.sum()
    return (ranks[label == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(label) - pos))


def logloss(p, y):
    p = np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


rows = list(csv.DictReader(open(os.path.join(HERE, "data", "funnel-50k-truth.csv"))))
n = len(rows)
order = permutation(n, 0)
train_end, validation_end = round(n * 0.8), round(n * 0.9)
test = sorted(order[validation_end:])
col = lambda name: np.array([float(rows[r][name]) for r in test])
click, conv = col("click"), col("conv")
p_click, p_ctcvr = col("p_click"), col("p_ctcvr")
clicked = click == 1
print(f"test rows {len(test)}: clicks {int(click.sum())}, conversions {int(conv.sum())}")
print(f"oracle ctr   AUC {auc(p_click, click):.4f}  logloss {logloss(p_click, click):.4f}")
print(f"oracle ctcvr AUC {auc(p_ctcvr, conv):.4f}  logloss {logloss(p_ctcvr, conv):.4f}")
print(f"oracle cvr AUC on clicked rows {auc(col('p_cvr')[clicked], conv[clicked]):.4f}")
