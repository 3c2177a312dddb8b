#!/usr/bin/env python3
"""Train a PyTorch twin of a Funnel model on splits exported by Funnel (`NumPyExport`), with the protocol
Funnel's trainer uses: Adam, shuffled batches, evaluation on the validation split after every epoch, early
stopping on the mean validation AUC with restore of the best weights, then test metrics.

  python3 bench/pytorch_train.py --data runs/census/export --model mmoe --seeds 0 1 2 3 4 \
      [--model-args '{"d": 4}'] [--epochs 50] [--batch 1024] [--lr 1e-3] [--patience 3] [--json]

Used for EXPERIMENTS.md's Funnel-vs-PyTorch table: same architecture (torch_models.MODELS), same rows.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import MODELS  # noqa: E402


def load(directory, split):
    ids = np.load(os.path.join(directory, f"{split}_ids.npy"))
    numeric = np.load(os.path.join(directory, f"{split}_numeric.npy"))
    labels = np.load(os.path.join(directory, f"{split}_labels.npy"))
    return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(numeric), torch.from_numpy(labels)


def auc(scores, labels):
    """Exact tie-aware ROC AUC (Mann-Whitney with average ranks), Float64."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("single-class labels")
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def logits_of(model, x_cat, x_num):
    out = model(x_cat, x_num)
    return out if out.dim() == 2 else out.unsqueeze(1)


def evaluate(model, data, batch):
    model.eval()
    x_cat, x_num, y = data
    outs = []
    with torch.no_grad():
        for start in range(0, len(y), batch):
            outs.append(torch.sigmoid(logits_of(model, x_cat[start:start + batch], x_num[start:start + batch])))
    p = torch.cat(outs).numpy()
    yn = y.numpy()
    return [{"auc": auc(p[:, t], yn[:, t]),
             "logloss": float(F.binary_cross_entropy(torch.from_numpy(p[:, t]).clamp(1e-7, 1 - 1e-7),
                                                     torch.from_numpy(yn[:, t])))}
            for t in range(yn.shape[1])]


def train_one(args, meta, splits, seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    vocab = meta["layout"]["vocabularySizes"]
    n_dense = meta["layout"]["numericCount"]
    kwargs = json.loads(args.model_args) if args.model_args else {}
    model = MODELS[args.model](vocab, n_dense, n_tasks=len(meta["tasks"]), **kwargs)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    x_cat, x_num, y = splits["train"]
    generator = torch.Generator().manual_seed(seed)
    best, best_state, stale, epochs_run = None, None, 0, 0
    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), args.batch):
            rows = order[start:start + args.batch]
            if len(rows) < 2:
                continue
            logits = logits_of(model, x_cat[rows], x_num[rows])
            loss = sum(F.binary_cross_entropy_with_logits(logits[:, t], y[rows, t]) for t in range(y.shape[1]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs_run = epoch + 1
        validation = evaluate(model, splits["validation"], 8192)
        monitor = float(np.mean([m["auc"] for m in validation]))
        if best is None or monitor > best:
            best, stale = monitor, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:
                break
    model.load_state_dict(best_state)
    test = evaluate(model, splits["test"], 8192)
    return {"seed": seed, "epochs": epochs_run, "validation_mean_auc": best, "seconds": time.perf_counter() - started,
            "test": {task["name"]: metrics for task, metrics in zip(meta["tasks"], test)}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--model-args", default="")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    splits = {name: load(args.data, name) for name in ("train", "validation", "test")}
    runs = [train_one(args, meta, splits, seed) for seed in args.seeds]
    if args.json:
        print(json.dumps({"model": args.model, "runs": runs}))
        return
    for run in runs:
        tests = "  ".join(f"{name} auc {m['auc']:.4f}" for name, m in run["test"].items())
        print(f"{args.model} seed {run['seed']}: {run['epochs']} epochs, {run['seconds']:.1f}s, test {tests}")
    for name in runs[0]["test"]:
        values = np.array([run["test"][name]["auc"] for run in runs])
        print(f"{args.model} {name} test auc {values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0:.4f}")


if __name__ == "__main__":
    main()
