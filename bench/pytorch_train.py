#!/usr/bin/env python3
"""Train a PyTorch twin of a Funnel model on splits exported by Funnel (`NumPyExport`), with the protocol
Funnel's trainer uses: Adam, shuffled batches, evaluation on the validation split after every epoch, early
stopping on the mean validation AUC with restore of the best weights, then test metrics.

  funnel data export --schema recipes/census-income-mmoe.yaml --data-dir DATA --out runs/census/export
  python3 bench/pytorch_train.py --data runs/census/export --model mmoe --seeds 0 1 2 3 4 \
      [--model-args '{"embeddingWidth": 4}' | --config-file models.json] [--epochs 10] [--batch 2048] \
      [--lr 1e-3] [--patience 2] [--threads 1] [--json] [--out runs.json]

Defaults are those of Funnel's TrainingConfiguration (epochs 10, batch 2048, Adam lr 1e-3, patience 2 on the
mean validation AUC, best weights restored). --config-file is a Funnel run file in JSON (`models: [{name,
configuration}]`, the file `funnel compare --config` reads) or {model name: partial configuration}: the same JSON
Funnel's registry takes. The data summary (rows, label rates, vocabulary sizes) and the parameter count are
printed so they can be checked against Funnel's.

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
from torch_models import MODELS, build_model, total_loss  # noqa: E402


def load(directory, split, offsets):
    """(global ids, numeric, labels) of a split; global id = per-field id + the field's table offset."""
    ids = np.load(os.path.join(directory, f"{split}_ids.npy")) + offsets
    numeric = np.load(os.path.join(directory, f"{split}_numeric.npy"))
    labels = np.load(os.path.join(directory, f"{split}_labels.npy"))
    return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(numeric), torch.from_numpy(labels)


def auc(scores, labels):
    """Exact tie-aware ROC AUC (Mann-Whitney with average ranks), Float64."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]   # average 1-based rank of each tie group
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("single-class labels")
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def probabilities(output):
    """[B, T] probabilities of binary heads (logit: σ(z); chain: Π σ(z_s))."""
    columns = []
    for kind, head in output.heads:
        if kind == "logit":
            columns.append(torch.sigmoid(head))
        elif kind == "chain":
            columns.append(torch.stack([torch.sigmoid(z) for z in head]).prod(dim=0))
        else:
            raise ValueError(f"pytorch_train.py evaluates binary tasks only, got a {kind} head")
    return torch.stack(columns, dim=1)


def evaluate(model, data, batch):
    model.eval()
    x_cat, x_num, y = data
    outs = []
    with torch.no_grad():
        for start in range(0, len(y), batch):
            outs.append(probabilities(model(x_cat[start:start + batch], x_num[start:start + batch])))
    p = torch.cat(outs).numpy()
    yn = y.numpy()
    return [{"auc": auc(p[:, t], yn[:, t]),
             "logloss": float(F.binary_cross_entropy(torch.from_numpy(p[:, t]).clamp(1e-7, 1 - 1e-7),
                                                     torch.from_numpy(yn[:, t])))}
            for t in range(yn.shape[1])]


def model_configuration(args):
    """The partial configuration of --model-args, or of --model in --config-file, or None (defaults)."""
    if args.model_args:
        return json.loads(args.model_args)
    if args.config_file:
        with open(args.config_file) as f:
            document = json.load(f)
        if isinstance(document.get("models"), list):   # a Funnel run file (funnel compare --config run.json)
            for entry in document["models"]:
                if isinstance(entry, dict) and entry["name"] == args.model and entry.get("label", args.model) == args.model:
                    return entry.get("configuration")
            return None
        return document.get(args.model)
    return None


def data_summary(meta, splits):
    """Rows and per-task positive rates per split, vocabulary sizes: to compare with `funnel data prepare`."""
    lines = [f"fields {len(meta['layout']['vocabularySizes'])} categorical (vocabulary sizes "
             f"{meta['layout']['vocabularySizes']}, Σ {sum(meta['layout']['vocabularySizes'])}), "
             f"{meta['layout']['numericCount']} numeric"]
    for name, (_, _, y) in splits.items():
        rates = "  ".join(f"{task['name']} {float(y[:, t].mean()):.4f}" for t, task in enumerate(meta["tasks"]))
        lines.append(f"{name}: {len(y)} rows, label means {rates}")
    return "\n".join(lines)


def train_one(args, meta, splits, seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    vocab = meta["layout"]["vocabularySizes"]
    n_dense = meta["layout"]["numericCount"]
    tasks = [{"name": t["name"], "kind": t["kind"], "loss": "bce" if t["kind"] == "binary" else "mse",
              "weight": t.get("weight", 1.0)} for t in meta["tasks"]]
    config = model_configuration(args)
    model = build_model(args.model, vocab, n_dense, tasks, config)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    x_cat, x_num, y = splits["train"]
    generator = torch.Generator().manual_seed(seed)
    best, best_state, best_epoch, stale, epochs_run = None, None, 0, 0, 0
    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), args.batch):
            rows = order[start:start + args.batch]
            if len(rows) < 2:
                continue
            loss = total_loss(model(x_cat[rows], x_num[rows], y[rows]), y[rows], tasks)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs_run = epoch + 1
        validation = evaluate(model, splits["validation"], 8192)
        monitor = float(np.mean([m["auc"] for m in validation]))
        if best is None or monitor > best:
            best, best_epoch, stale = monitor, epoch + 1, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:
                break
    model.load_state_dict(best_state)
    test = evaluate(model, splits["test"], 8192)
    return {"seed": seed, "epochs": epochs_run, "best_epoch": best_epoch, "validation_mean_auc": best,
            "parameters": parameters, "seconds": time.perf_counter() - started,
            "test": {task["name"]: metrics for task, metrics in zip(meta["tasks"], test)}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--model-args", default="")
    parser.add_argument("--config-file", default="", help="Funnel run file (JSON) or {model name: partial configuration}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    parser.add_argument("--out", default="", help="also write the JSON object to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    offsets = np.concatenate([[0], np.cumsum(meta["layout"]["vocabularySizes"])[:-1]]).astype(np.int32)
    splits = {name: load(args.data, name, offsets) for name in ("train", "validation", "test")}
    summary = data_summary(meta, splits)
    if not args.json:
        print(summary)
    runs = []
    for seed in args.seeds:
        runs.append(train_one(args, meta, splits, seed))
        if not args.json:
            run = runs[-1]
            tests = "  ".join(f"{name} auc {m['auc']:.4f}" for name, m in run["test"].items())
            print(f"{args.model} seed {seed}: best epoch {run['best_epoch']}/{run['epochs']}, {run['seconds']:.1f}s, "
                  f"{run['parameters']} parameters, test {tests}", flush=True)
    result = {"model": args.model, "configuration": model_configuration(args), "data": summary,
              "training": {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "weight_decay": args.weight_decay,
                           "patience": args.patience, "monitor": "mean(auc)"}, "runs": runs}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    if args.json:
        print(json.dumps(result))
        return
    for name in runs[0]["test"]:
        values = np.array([run["test"][name]["auc"] for run in runs])
        print(f"{args.model} {name} test auc {values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0:.4f}")


if __name__ == "__main__":
    main()
