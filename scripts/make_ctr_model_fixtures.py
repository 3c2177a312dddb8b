#!/usr/bin/env python3
"""Write PyTorch parity fixtures for Funnel's CTR models and MMoE with mixed experts into Tests/Fixtures/models/.

Run from anywhere:  python3 scripts/make_ctr_model_fixtures.py
Each file (format of make_parity_fixtures.py): inputs x_cat (LOCAL ids, as floats), x_dense, y [B, 2]
(task 0 binary, task 1 continuous), every parameter under its state_dict name, then, for one train-mode
forward: `outputs` [B, 2] (task 0 logit, task 1 value), `loss` = BCEWithLogits mean (task 0) + MSE mean
(task 1), grad.<parameter>; f64.* = the same from the same float32 values in float64. Constant-initialised
parameters (zero biases, unit scales, BatchNorm affine) are perturbed first.
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch_ctr as tm  # noqa: E402
from make_block_fixtures import perturb_constants  # noqa: E402
from make_parity_fixtures import tensor_entry  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
VOCAB, N_DENSE, D, B = [5, 7, 3], 2, 4, 16


def loss_of(outputs, y):
    return F.binary_cross_entropy_with_logits(outputs[:, 0], y[:, 0]) + F.mse_loss(outputs[:, 1], y[:, 1])


def write(name, description, config, model, seed):
    torch.manual_seed(seed)
    perturb_constants(model)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(VOCAB)[:-1]]))
    x_cat = torch.stack([torch.randint(0, v, (B,)) for v in VOCAB], dim=1)
    x_dense = torch.randn(B, N_DENSE)
    y = torch.stack([torch.randint(0, 2, (B,)).float(), 2 * torch.rand(B)], dim=1)
    exact = copy.deepcopy(model).double()
    tensors = {"x_cat": x_cat.double(), "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in model.named_parameters()})
    model.train()
    outputs = model(x_cat + offsets, x_dense)
    loss = loss_of(outputs, y)
    loss.backward()
    tensors.update({"outputs": outputs.detach(), "loss": loss.detach()})
    tensors.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    exact.train()
    outputs64 = exact(x_cat + offsets, x_dense.double())
    loss64 = loss_of(outputs64, y.double())
    loss64.backward()
    tensors.update({"f64.outputs": outputs64.detach(), "f64.loss": loss64.detach()})
    tensors.update({f"f64.grad.{n}": p.grad for n, p in exact.named_parameters()})
    doc = {"description": description, "config": {"vocab": VOCAB, "offsets": offsets.tolist(), "n_dense": N_DENSE, "d": D,
                                                  "batch": B, **config},
           "tensors": {k: tensor_entry(v, float64=k.startswith("f64.")) for k, v in tensors.items()}}
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote Tests/Fixtures/models/{name}.json ({len(tensors)} tensors, "
          f"{os.path.getsize(os.path.join(OUT, name + '.json')) // 1024} KB)")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    models = {
        "dcn": ("dcn", {"cross": {"layers": 2, "form": "vector"}, "deep": [6]}),
        "dcnv2_stacked_low_rank": ("dcnV2", {"cross": {"layers": 2, "form": "lowRank", "rank": 3}, "deep": [6], "stacked": True}),
        "nfm": ("nfm", {"tower": [6]}),
        "autoint_plus": ("autoIntPlus", {"autoint": {"layers": 2, "heads": 2, "d_k": 2}, "deep": [6]}),
        "fint": ("fint", {"fint": {"layers": 2}, "tower": [6, 5]}),
        "xdeepfm": ("xDeepFM", {"cin": {"sizes": (4, 3)}, "deep": [6]}),
    }
    for i, (name, (kind, cfg)) in enumerate(models.items()):
        torch.manual_seed(100 + i)
        model = tm.PerTaskModel(kind, VOCAB, N_DENSE, D, cfg, n_tasks=2)
        write(name, f"Single-task {kind}: two independent networks (task 0 binary logit, task 1 value), BN on, "
              "dropout 0, train-mode forward and backward.", {"kind": kind, **cfg}, model, 200 + i)

    torch.manual_seed(120)
    kinds = ["mlp", "dcn", "dcnV2", "nfm", "autoInt", "fint", "cin"]
    settings = {"cross": {"layers": 2, "form": "lowRank", "rank": 3}, "nfm_dims": [4],
                "autoint": {"layers": 1, "heads": 2, "d_k": 2}, "fint": {"layers": 2}, "cin": {"sizes": (4, 2)}}
    model = tm.MixedMMoE(VOCAB, N_DENSE, D, kinds, (8, 6), (4,), 2, settings)
    write("mmoe_mixed", "MMoE with experts of kinds " + ", ".join(kinds) + ", projected to h = 6; towers MLP(6, [4]) "
          "+ output; BN on, dropout 0; task 0 logit, task 1 value.",
          {"kinds": kinds, "expert_dims": [8, 6], "tower_dims": [4], "settings": settings}, model, 220)


if __name__ == "__main__":
    main()
