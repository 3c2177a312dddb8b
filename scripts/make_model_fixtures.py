#!/usr/bin/env python3
"""Write PyTorch parity fixtures of Funnel's multi-task models into Tests/Fixtures/models/.

Run from anywhere:  python3 scripts/make_model_fixtures.py
One file per case: a small model (3 fields with vocabularies [5, 7, 6], 2 dense features, d = 4,
widths 8, batch 6, dropout 0) built by bench/torch_models.build_model from the registry name and
a partial configuration (the Swift test builds the same model through ModelRegistry.standard).
Tensors, in the parity format of make_parity_fixtures.py:
  x_cat (LOCAL ids, [6, 3]), x_dense [6, 2], y [6, T] (entire-space labels);
  <param> initial state; raw.{t} each task's own raw output (logit, value, [6, 3] ZILN logits;
  for a chained head the step's own logit) of the training-mode forward; extra.{key};
  loss.task.{t} (per-task loss from the spec formulas), loss.aux (auxiliary loss R), loss
  (Σ weight·L_t + R); grad.{param} of loss; after.{buffer} (BN running statistics after the
  forward); exact.grad.{param} the float64 gradient from the same state (config.zero_gradient
  lists the parameters whose exact gradient is 0, e.g. biases feeding a batch norm); adam.{param}
  after one Adam(lr = 0.01) step; eval.{t} raw outputs in evaluation mode afterwards.
  defaults.json holds, under "parameterCounts", each twin's parameter count at the registry defaults
  (bench/model-defaults.json, written by Swift) on the parity benchmark layout (40 fields of
  funnel_synth.ParityGenerator + 10 dense, two binary tasks; HTLNet with a third, continuous task).
  `--defaults-only` rewrites just defaults.json.
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch_models as tm  # noqa: E402
from make_parity_fixtures import set_nontrivial_bn, tensor_entry  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
VOCAB, N_DENSE, BATCH, LR = [5, 7, 6], 2, 6, 0.01


def task(name, kind="binary", loss=None, weight=1.0):
    return {"name": name, "kind": kind, "loss": loss or ("bce" if kind == "binary" else "mse"), "weight": weight}


TWO = [task("ctr"), task("ctcvr")]
THREE = [task("ctr"), task("ctcvr"), task("amount", "continuous")]
FUNNEL = [task("click"), task("conversion"), task("deep")]
SMALL = {"embeddingWidth": 4, "dropout": 0.0}
AITM_SMALL = {"embeddingWidth": 4, "towerWidths": [8, 8], "towerDropouts": [0.0, 0.0], "headDropout": 0.0}

# (file, registry name, tasks, partial configuration, output-bias shifts {param: delta})
CASES = [
    ("single_task", "single-task", TWO, {**SMALL, "bottomWidths": [8], "towerWidths": [8]}, {}),
    ("shared_bottom", "shared-bottom", THREE, {**SMALL, "bottomWidths": [8, 8], "towerWidths": [8]}, {}),
    ("omoe", "omoe", TWO, {**SMALL, "experts": 3, "expertWidths": [8], "towerWidths": [8]}, {}),
    ("cgc", "cgc", TWO, {**SMALL, "taskExperts": 2, "sharedExperts": 1, "expertWidths": [8], "towerWidths": [8]}, {}),
    ("ple", "ple", THREE, {**SMALL, "taskExperts": 1, "sharedExperts": 2, "expertDimsPerLevel": [[8], [8, 6]],
                           "towerWidths": [8]}, {}),
    ("esmm", "esmm", FUNNEL + [task("amount", "continuous")],
     {**SMALL, "towerWidths": [8, 8], "regressionHead": "expectedValue"}, {}),
    ("escm2_ips", "escm2-ips", [task("ctr"), task("ctcvr", weight=0.5)],
     {**SMALL, "backbone": "mmoe", "experts": 3, "expertWidths": [8], "towerWidths": [8]}, {}),
    # ctr output bias lowered so that some propensities fall below the clip 1/15.
    ("escm2_dr", "escm2-dr", FUNNEL, {**SMALL, "towerWidths": [8]}, {"towers.0.output.bias": -3.0}),
    ("escm2_dr_reference", "escm2-dr", FUNNEL,
     {**SMALL, "towerWidths": [8], "imputationOutput": "sigmoid", "detachPropensityInDoublyRobust": False,
      "detachDoublyRobustTargets": False}, {"towers.0.output.bias": -3.0}),
    ("aitm", "aitm", [task("click"), task("purchase"), task("amount", "continuous")],
     {**AITM_SMALL, "transferDropout": 0.0, "l2Penalty": 0.01, "regressionHead": "expectedValue"}, {}),
    ("aitm_mtreclib", "aitm-mtreclib", TWO, {**AITM_SMALL, "headWidths": [8]}, {}),
]


def funnel_labels(tasks):
    """Nested binary labels (each step 1 only where the previous is) and amounts > 0 only after the
    last binary step; every binary column has both classes."""
    y = torch.zeros(BATCH, len(tasks))
    previous = torch.ones(BATCH)
    for t, spec in enumerate(tasks):
        if spec["kind"] == "binary":
            col = previous * (torch.rand(BATCH) < 0.6).float()
            positives = previous.nonzero().flatten()
            col[positives[0]] = 1.0                      # at least one positive
            if col.sum() == BATCH:
                col[BATCH - 1] = 0.0                     # and one negative
            y[:, t] = previous = col
        else:
            y[:, t] = previous * torch.exp(torch.randn(BATCH) * 0.5)
    return y


def raw_outputs(output):
    """Each task's own raw output: the logit (the last one for a chain), value or ZILN logits."""
    return [head[-1] if kind == "chain" else head for kind, head in output.heads]


def exact_gradients(name, tasks, config, state, x_cat, x_dense, y):
    """Float64 gradients of the same loss from the same initial state (the exact values both float32
    implementations approximate; a gradient that is exactly zero here is float32 noise there)."""
    model = tm.build_model(name, VOCAB, N_DENSE, tasks, config).double()
    model.load_state_dict({**model.state_dict(), **{n: v.double() for n, v in state.items()}})
    model.train()
    loss = tm.total_loss(model(x_cat, x_dense.double(), y.double()), y.double(), tasks)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def make_case(file, name, tasks, config, shifts):
    torch.manual_seed(sum(map(ord, file)))
    model = tm.build_model(name, VOCAB, N_DENSE, tasks, config)
    set_nontrivial_bn(model)
    with torch.no_grad():
        for key, delta in shifts.items():
            dict(model.named_parameters())[key].add_(delta)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(VOCAB)[:-1]]), dtype=torch.int64)
    x_cat = torch.stack([torch.randint(0, v, (BATCH,)) for v in VOCAB], dim=1)
    x_dense = torch.randn(BATCH, N_DENSE)
    y = funnel_labels(tasks)
    named = list(model.named_parameters())
    tensors = {"x_cat": x_cat, "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})

    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    opt.zero_grad(set_to_none=True)
    output = model(x_cat + offsets, x_dense, y)
    losses = tm.task_losses(output, y, tasks)
    loss = tm.total_loss(output, y, tasks)
    loss.backward()
    for t, raw in enumerate(raw_outputs(output)):
        tensors[f"raw.{t}"] = raw
    for key, value in output.extras.items():
        tensors[f"extra.{key}"] = value
    for t, value in enumerate(losses):
        tensors[f"loss.task.{t}"] = value
    if output.aux is not None:
        tensors["loss.aux"] = output.aux
    tensors["loss"] = loss
    for n, p in named:
        assert p.grad is not None, f"{file}: {n} has no gradient"
        tensors[f"grad.{n}"] = p.grad.clone()
    for n, b in model.named_buffers():
        if n.endswith("running_mean") or n.endswith("running_var"):
            tensors[f"after.{n}"] = b.clone()
    exact = exact_gradients(name, tasks, config, {n: tensors[n] for n, _ in named}, x_cat + offsets, x_dense, y)
    zero = sorted(n for n, g in exact.items() if g.abs().max() < 1e-12)
    for n, g in exact.items():
        tensors[f"exact.grad.{n}"] = g
    opt.step()
    for n, p in named:
        tensors[f"adam.{n}"] = p.detach().clone()
    model.eval()
    with torch.no_grad():
        for t, raw in enumerate(raw_outputs(model(x_cat + offsets, x_dense))):
            tensors[f"eval.{t}"] = raw

    description = f"{name} parity case (see scripts/make_model_fixtures.py for the tensor names)."
    config = {"model": name, "configuration": config, "tasks": tasks, "vocab": VOCAB, "offsets": offsets.tolist(),
              "n_dense": N_DENSE, "batch": BATCH, "shifts": shifts, "zero_gradient": zero,
              "adam": {"lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}}
    entries = {k: tensor_entry(v, float64=k.startswith("exact.")) for k, v in tensors.items()}
    path = os.path.join(OUT, file + ".json")
    with open(path, "w") as fh:  # one line per tensor: small, and diffs stay readable
        fh.write("{\n" + f' "description": {json.dumps(description)},\n "config": {json.dumps(config)},\n')
        fh.write(' "tensors": {\n' + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in entries.items()))
        fh.write("\n }\n}\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors, loss {loss.item():.6f})")


def parameter_counts():
    """Each twin's parameter count at its defaults on the parity benchmark layout."""
    import funnel_synth as fs
    vocab = fs.ParityGenerator(seed=0, n_fields=40, n_dense=10, rho=0.5).vocab.tolist()
    amount = {"name": "amount", "kind": "continuous", "loss": "mse"}
    counts = {}
    for name in tm.MODELS:
        tasks = tm.TWO_BINARY_TASKS + ([amount] if name == "htlnet" else [])
        counts[name] = sum(p.numel() for p in tm.build_model(name, vocab, 10, tasks).parameters())
    return counts


def write_defaults():
    with open(os.path.join(OUT, "defaults.json"), "w") as fh:
        json.dump({"description": "parameterCounts: the twins' at the registry defaults (bench/model-defaults.json) "
                                  "on the parity benchmark layout.",
                   "parameterCounts": parameter_counts()}, fh, indent=1, sort_keys=True)
    print("wrote Tests/Fixtures/models/defaults.json")


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    if "--defaults-only" not in sys.argv[1:]:
        for case in CASES:
            make_case(*case)
    write_defaults()


if __name__ == "__main__":
    main()
