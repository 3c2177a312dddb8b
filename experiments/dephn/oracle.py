#!/usr/bin/env python3
"""Reference AUCs on the test rows (last 10 %) of the DEPHN synthetic pairs, from `funnel synth dephn --csv --ground-truth`.

Usage: oracle.py pair.csv

Prints, on the test split (rows 90 %..100 %, synthetic-data.md §8), the AUC of
  - the true click logit c as a score for each label (c is the Bayes score for `base`; the related and unrelated
    labels are functions of c, so c ranks them only as far as they are monotone in c),
  - y_related / y_unrelated (the noise-free values the labels threshold) for their own labels (= 1 when exact).
"""
import csv
import sys


def auc(scores, labels):
    """Tie-aware AUC (average ranks)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def main():
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    test = rows[int(0.9 * len(rows)):]
    c = [float(r["confidence"]) for r in test]
    for label in ("click", "related", "unrelated"):
        y = [int(r[label]) for r in test]
        print(f"AUC(c -> {label}) = {auc(c, y):.4f}   positive rate {sum(y) / len(y):.4f}")
    for label, value in (("related", "y_related"), ("unrelated", "y_unrelated")):
        y = [int(r[label]) for r in test]
        print(f"AUC({value} -> {label}) = {auc([float(r[value]) for r in test], y):.4f}")
    # Unrelated label = 1 exactly when 0 < c < c* or c < -c* (c* ≈ π + 0.05); how many test rows fall in each part.
    big = sum(abs(x) > 3.1916 for x in c)
    print(f"rows with |c| > 3.19 (where the unrelated label flips against sign(c)): {big} of {len(c)}")


if __name__ == "__main__":
    main()
