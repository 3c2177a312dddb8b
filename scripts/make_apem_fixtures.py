#!/usr/bin/env python3
"""Write the PyTorch parity fixtures of APEM-reconstruction into Tests/Fixtures/models/.

Run from anywhere:  python3 scripts/make_apem_fixtures.py
Same file format and recording as scripts/make_parity_fixtures.py (whose helpers this reuses): a training-mode
forward (logits, selection weights, SE field weights, inducing-point attention), the loss, gradients, batch-norm
running statistics, parameters after one Adam(lr=0.01) step, and evaluation-mode logits afterwards.
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_parity_fixtures import binary_labels, set_nontrivial_bn, tensor_entry, train_step_record  # noqa: E402
from torch_models import APEMReconstruction, multitask_bce  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
VOCAB, N_DENSE, BATCH = [5, 7, 3], 4, 16
CALIBRATOR_SHIFT = 0.6

# Both fixtures: F = 4 fields (3 categorical + the numeric field), d = 4, H = 2 heads, 3 shared patterns
# MLP(16, [8, 6]) with BN, towers MLP(6, [4]) + output with BN, 2 binary tasks, dropout 0.
COMMON = {"d": 4, "heads": 2, "n_patterns": 3, "pattern_dims": (8, 6), "tower_dims": (4,), "n_tasks": 2,
          "batch_norm": True, "dropout": 0.0}
VARIANTS = {
    "apem.json": ("defaults at small size: ISAB (m = 2), 2 DGT blocks, SE after attention (sigmoid, r = 3), "
                  "adaptive indicators on the flattened DGT output, shared patterns, beta = 0",
                  {"use_dgt": True, "attention": "isab", "inducing_points": 2, "layers": 2, "use_se": True,
                   "se_activation": "sigmoid", "se_placement": "afterAttention", "selector": "adaptive",
                   "adaptive_source": "flat", "sharing": "shared", "calibrator_weight": 0.0}),
    "apem_variant.json": ("alternatives: full set attention (SAB), 1 DGT block, SE before attention (ReLU), "
                          "adaptive indicators on the field-pooled DGT output, 1 task-specific pattern per "
                          "task, calibrator beta = 0.6 added to the loss",
                          {"use_dgt": True, "attention": "sab", "layers": 1, "use_se": True,
                           "se_activation": "relu", "se_placement": "beforeAttention", "selector": "adaptive",
                           "adaptive_source": "pooled", "sharing": "sharedPlusTaskSpecific", "task_specific": 1,
                           "calibrator_weight": 0.6}),
}


def perturb(model):
    """Non-trivial LayerNorm/BatchNorm affine parameters and non-zero adapters, so every path carries signal."""
    set_nontrivial_bn(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(1 + 0.1 * torch.randn_like(m.weight))
                m.bias.copy_(0.1 * torch.randn_like(m.bias))
        for a in getattr(model.selector, "adapters", []):
            a.weight.copy_(0.2 * torch.randn_like(a.weight))
        if model.dgt is not None:
            for block in model.dgt.blocks:
                if block.se is not None and block.se.activation == "relu":  # mostly active ReLU excitation
                    block.se.expand.bias.add_(0.5)
        if model.calibrator_weight > 0:  # the later step predicted above the earlier one on some rows
            model.towers[1].output.bias.add_(CALIBRATOR_SHIFT)


def make(name, description, options):
    torch.manual_seed(0)
    model = APEMReconstruction(VOCAB, N_DENSE, **COMMON, **options)
    perturb(model)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(VOCAB)[:-1]]), dtype=torch.int64)
    x_cat = torch.stack([torch.randint(0, v, (BATCH,)) for v in VOCAB], dim=1)
    x_dense = torch.randn(BATCH, N_DENSE)
    y = binary_labels((BATCH, 2))
    named = list(model.named_parameters())
    tensors = {"x_cat": x_cat, "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})
    seen = {}

    def forward():
        logits = model(x_cat + offsets, x_dense)
        loss = multitask_bce(logits, y)
        if model.training:
            seen.update({k: [t.detach().clone() for t in v] for k, v in model.last.items()})
            if model.calibrator_weight > 0:
                calibrator = model.calibrator_loss(logits)
                seen["calibrator"] = [calibrator.detach().clone()]
                loss = loss + calibrator
        return logits, loss

    rec = train_step_record(model, forward, named)
    for key, values in seen.items():
        for i, v in enumerate(values):
            tensors[f"{key}.{i}"] = v
    tensors.update(rec)
    config = {"vocab": VOCAB, "offsets": offsets.tolist(), "n_dense": N_DENSE, "batch": BATCH,
              **{k: list(v) if isinstance(v, tuple) else v for k, v in {**COMMON, **options}.items()},
              "loss": "sum_t bce_with_logits_mean(task t)" + (" + calibrator" if options["calibrator_weight"] else ""),
              "adam": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}}
    doc = {"description": f"APEM-reconstruction, {description}. Train-mode forward: logits, selection.t "
                          f"(alpha per task), se.l (SE field weights per block), groups.l (inducing-point "
                          f"attention [B,H,m,F]); x_cat holds LOCAL ids; grad.*, after.* (BN running stats), "
                          f"adam.* (one Adam lr=0.01 step), eval_logits.",
           "config": config, "tensors": {k: tensor_entry(v) for k, v in tensors.items()}}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors, {os.path.getsize(path) // 1024} KiB)")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name, (description, options) in VARIANTS.items():
        make(name, description, options)


if __name__ == "__main__":
    main()
