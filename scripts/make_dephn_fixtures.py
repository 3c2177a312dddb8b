#!/usr/bin/env python3
"""Write the DEPHN / MT-PHN PyTorch parity fixtures into Tests/Fixtures/models/ (twins: bench/torch_dephn.py).

Run from anywhere:  python3 scripts/make_dephn_fixtures.py
Format as scripts/make_parity_fixtures.py. Per fixture: inputs (x_cat LOCAL ids, x_dense, y), initial
parameters under their Funnel names, the training-mode forward ("outputs" [B, T]: logits, values or
probabilities per the configuration) and loss, the virtual-gradient similarities ("vg.similarities", -1 where
undefined) and coefficients ("vg.coefficients.{t}"), grad.* of one backward of the summed task losses,
plain_grad.gates.{t} (same step with the virtual gradient off; raw trainable-value gates only, where
grad = Γ ⊙ plain_grad), adam.* after one
Adam(lr=0.01) step, and eval_outputs (evaluation forward with the updated parameters).
"""
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_parity_fixtures import binary_labels, tensor_entry  # noqa: E402
from torch_dephn import DEPHN, MTPHN  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
VOCAB, N_DENSE, BATCH = [5, 7, 3], 4, 16
SMALL = {"embeddingWidth": 4, "attentionHeads": 2, "expertWidths": [8, 6], "crossLayers": 2, "fieldLayers": 2}


def write(name, description, config, tensors):
    doc = {"description": description, "config": config,
           "tensors": {k: tensor_entry(v) for k, v in tensors.items()}}
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors, {os.path.getsize(path) // 1024} KiB)")


def perturb(model):
    """Move every parameter away from its initial constant so that each term of the model is exercised."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "embedding.weight":
                p.copy_(0.5 * torch.randn_like(p))
            elif re.fullmatch(r"gates\.\d+", name):
                p.copy_(1 + 0.4 * torch.randn_like(p))  # trainable-value gates
            elif re.fullmatch(r"gates\.\d+\.weight", name):
                p.copy_(torch.randn_like(p))  # mapping gates: rows that differ between tasks
            elif name.endswith(".gate"):
                p.copy_(0.8 * torch.randn_like(p))
            elif name.endswith("residual_scale") or name.endswith(".scale"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias") and name.startswith("cross"):
                p.copy_(0.1 * torch.randn_like(p))


def losses(outputs, y, kinds, config):
    total = 0
    for t, kind in enumerate(kinds):
        if kind == "continuous":
            total = total + F.mse_loss(outputs[:, t], y[:, t])
        elif config.get("outputCombination") == "averageProbabilities":
            total = total + F.binary_cross_entropy(outputs[:, t], y[:, t])
        else:
            total = total + F.binary_cross_entropy_with_logits(outputs[:, t], y[:, t])
    return total


def record(name, cls, kinds, config, description, y=None, seed=0):
    torch.manual_seed(seed)
    model = cls(VOCAB, N_DENSE, kinds, config)
    perturb(model)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(VOCAB)[:-1]]), dtype=torch.int64)
    x_cat = torch.stack([torch.randint(0, v, (BATCH,)) for v in VOCAB], dim=1)
    x_dense = torch.randn(BATCH, N_DENSE)
    if y is None:
        y = binary_labels((BATCH, len(kinds)))
    named = list(model.named_parameters())
    tensors = {"x_cat": x_cat, "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})
    initial = {n: p.detach().clone() for n, p in named}

    def step(virtual):
        model.train()
        if hasattr(model, "c"):
            model.c["virtualGradient"] = virtual and config.get("virtualGradient", True)
        model.zero_grad(set_to_none=True)
        outputs = model(x_cat + offsets, x_dense, y)
        loss = losses(outputs, y, kinds, config)
        loss.backward()
        return outputs, loss

    raw_gates = isinstance(model, DEPHN) and model.c["gating"] == "trainableValue" and model.c["gateNormalization"] == "none"
    if raw_gates and config.get("virtualGradient", True):
        step(False)
        for t, g in enumerate(model.gates):
            tensors[f"plain_grad.gates.{t}"] = g.grad.clone()
    outputs, loss = step(True)
    tensors["outputs"], tensors["loss"] = outputs, loss
    if isinstance(model, DEPHN) and model.last_coefficients is not None:
        sims = [[-1.0 if v is None else v for v in row] for row in model.last_similarities]
        tensors["vg.similarities"] = torch.tensor(sims, dtype=torch.float64).float()
        for t, k in enumerate(model.last_coefficients):
            tensors[f"vg.coefficients.{t}"] = k
    for n, p in named:
        tensors[f"grad.{n}"] = p.grad.clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    optimizer.step()
    for n, p in named:
        tensors[f"adam.{n}"] = p.detach().clone()
    model.eval()
    with torch.no_grad():
        tensors["eval_outputs"] = model(x_cat + offsets, x_dense, y)
    for n, p in named:
        assert not torch.equal(initial[n], tensors[f"adam.{n}"]), f"{name}: {n} did not move"
    write(name, description, {"vocab": VOCAB, "n_dense": N_DENSE, "batch": BATCH, "tasks": kinds,
                              "configuration": config, "adam": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8}},
          tensors)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    record("dephn.json", DEPHN, ["binary", "binary"], dict(SMALL),
           "DEPHN defaults (placement dnnPublicCFPrivate, shared MSA, rmTm, trainable-value gates, virtual "
           "gradient addSqrt + Pearson, sumLogits) at toy sizes: d=4, F=4, K=3 experts [8,6], L_c=L_f=2.")
    torch.manual_seed(1)
    y3 = binary_labels((BATCH, 3))
    y3[:, 2] = 0  # a constant label column: undefined similarity, constantLabelPolicy applies
    record("dephn_mapping.json", DEPHN, ["binary", "binary", "binary"],
           {**SMALL, "placement": "dnnPublicCFPublic", "mappings": "rmSinCos", "gating": "mapping",
            "sharedAttention": False, "towerHidden": [3], "residual": "plain", "vgFunction": "addAbs",
            "vgSimilarity": "cosine", "virtualGradientClip": 1.9},
           "DEPHN variant: all experts public (3 DNN + cross + field, 5 experts x 3 mappings), mapping gates "
           "(per-row virtual gradient), one MSA per SSG branch, stream towers [3], plain cross residual, addAbs + "
           "cosine similarity, clip 1.9; 3 tasks, task 2 labels all 0 (its similarity is undefined).",
           y=y3, seed=1)
    torch.manual_seed(2)
    y_mixed = torch.stack([binary_labels((BATCH,)), torch.randn(BATCH)], dim=1)
    record("dephn_private_dnn.json", DEPHN, ["binary", "continuous"],
           {**SMALL, "placement": "dnnPrivateCFPublic", "useSSG": False, "gateNormalization": "softmax",
            "outputCombination": "averageProbabilities", "vgFunction": "addCos", "residual": "none"},
           "DEPHN variant: DNN experts private per task, public cross + field mapped and gated, no SSG, "
           "softmax-normalised trainable gates, averageProbabilities (task 0 output is a probability, BCE), "
           "task 1 continuous (value, MSE), addCos, cross residual none.",
           y=y_mixed, seed=2)
    record("mtphn.json", MTPHN, ["binary", "binary"],
           {k: v for k, v in SMALL.items()} | {"dnnExperts": 3, "towerWidths": [4]},
           "MT-PHN (placement dnnPublicCFPrivate): SSG-fed heterogeneous experts, C&F projected to h, "
           "softmax gates on the raw embedding over public + own experts, LeakyReLU towers [4] + output.",
           seed=3)


if __name__ == "__main__":
    main()
