#!/usr/bin/env python3
"""Write HTLNet parity fixtures (Tests/Fixtures/models/htlnet*.json) from the PyTorch twin in
bench/torch_models.py.  Run from anywhere:  python3 scripts/make_htlnet_fixtures.py

Each fixture: a tiny HTLNet (vocab [5, 7, 3] + 4 numeric features, d 4, towers [8, 6, 4], d_l 3,
d_h 5, batch 16, tasks click -> long_view -> amount) in training mode with Gumbel noise drawn
exactly as Funnel draws it (xoshiro256** `SeededGenerator(seed)`, one [16, 2] tensor per label
embedding in task order, u in float64 clamped to [1e-10, 1 - 1e-10], g = -log(-log u)), then:
  heads.t / loss.t             training forward and per-task losses (core: MSE on the standardised amount)
  grad_task.t.<shared>         per-task gradients of the shared parameters (torch.autograd.grad)
  grad.<name>                  ordinary gradient of sum_t L_t for every task-specific parameter
  grad_sum.<shared>            sum of the per-task shared gradients (adjustment off)
  grad_htl.<shared>            HTLNet's adjusted shared gradient (htlnet.md §5, step by step)
  adam.<name>                  every parameter after one Adam(lr 0.01) step with grad_htl + grad
  eval_heads.t                 evaluation forward (expected label embedding) after that step
Format as scripts/make_parity_fixtures.py (float64 repr of float32 values).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from torch_models import HTLNet, htlnet_adjust  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
MASK = (1 << 64) - 1


class SeededGenerator:
    """Funnel's SeededGenerator: xoshiro256** seeded by SplitMix64 (Sources/FunnelCore/Random)."""

    def __init__(self, seed):
        z, state = seed, []
        for _ in range(4):
            z = (z + 0x9E3779B97F4A7C15) & MASK
            state.append(self.mix64(z))
        self.s = state

    @staticmethod
    def mix64(z):
        z ^= z >> 30
        z = (z * 0xBF58476D1CE4E5B9) & MASK
        z ^= z >> 27
        z = (z * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s0, s1, s2, s3 = self.s
        result = (self.rotl((s1 * 5) & MASK, 7) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = self.rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def gumbel(self, shape):
        n = int(np.prod(shape))
        values = []
        for _ in range(n):
            u = min(max((self.next() >> 11) * 2.0 ** -53, 1e-10), 1 - 1e-10)
            values.append(-math.log(-math.log(u)))
        return torch.tensor(np.array(values, dtype=np.float32).reshape(shape))


def entry(v):
    a = np.asarray(v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v)
    a = a.astype(np.float32).astype(np.float64)
    return {"shape": list(a.shape), "data": [float(x) for x in a.ravel()]}


def make(name, description, switches, model_seed, rng_seed=7, tau=1.5):
    torch.manual_seed(model_seed)
    vocab, n_dense, d, batch = [5, 7, 3], 4, 4, 16
    kinds = ["binary", "binary", "continuous"]
    model = HTLNet(vocab, n_dense, kinds, d=d, tower_dims=(8, 6, 4), d_label=3, d_fusion=5, **switches)
    with torch.no_grad():  # sharper attention than the default init, so the weights are not uniform
        for unit in list(model.representation_fusions.values()) + list(model.label_fusions.values()):
            unit.h2.weight.mul_(3)
            unit.h3.weight.mul_(3)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(vocab)[:-1]]), dtype=torch.int64)
    x_cat = torch.stack([torch.randint(0, v, (batch,)) for v in vocab], dim=1)
    x_dense = torch.randn(batch, n_dense)
    click = (torch.rand(batch) < 0.6).float()
    long_view = click * (torch.rand(batch) < 0.6).float()
    amount = long_view * torch.exp(torch.randn(batch))
    y = torch.stack([click, long_view, amount], dim=1)
    a64 = amount.double()
    if switches.get("core_activation") == "softplus":  # softplus predicts the original scale
        transform, core_target = {"kind": "none"}, amount
    else:
        mu, sd = float(a64.mean()), float(a64.std(unbiased=False))
        transform, core_target = {"kind": "standardize", "mean": mu, "std": sd}, ((a64 - mu) / sd).float()

    rng = SeededGenerator(rng_seed)
    noise = {t: rng.gumbel((batch, 2)) for t in range(len(kinds)) if str(t) in model.label_embeddings}
    named = list(model.named_parameters())
    tensors = {"x_cat": x_cat, "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})
    tensors.update({f"noise.{t}": g for t, g in noise.items()})

    model.train()
    heads = model(x_cat + offsets, x_dense, tau, noise)
    losses = [F.binary_cross_entropy_with_logits(heads[0], click),
              F.binary_cross_entropy_with_logits(heads[1], long_view),
              F.mse_loss(heads[2], core_target)]
    shared_names = ["embedding.weight", "dense_projection.weight", "dense_projection.bias"]
    params = [p for _, p in named]
    per_task = [torch.autograd.grad(L, params, retain_graph=True, allow_unused=True) for L in losses]
    ordinary = {}
    for i, (n, p) in enumerate(named):
        grads = [g[i] for g in per_task if g[i] is not None]
        if n in shared_names:
            for t, g in enumerate(per_task):
                tensors[f"grad_task.{t}.{n}"] = g[i] if g[i] is not None else torch.zeros_like(p)
            tensors[f"grad_sum.{n}"] = sum(grads)
        elif grads:
            ordinary[n] = sum(grads)
            tensors[f"grad.{n}"] = ordinary[n]
    no_gradient = [n for n, _ in named if n not in shared_names and n not in ordinary]
    for t, (h, L) in enumerate(zip(heads, losses)):
        tensors[f"heads.{t}"], tensors[f"loss.{t}"] = h, L

    index = {n: i for i, (n, _) in enumerate(named)}
    flat = [torch.cat([per_task[t][index[n]].reshape(-1) for n in shared_names]) for t in range(3)]
    adjusted, report = htlnet_adjust(flat, core=2)
    assert any(r["conflict"] for r in report), "pick a seed where a task conflicts with the core"
    start = 0
    with torch.no_grad():
        for n, p in named:
            if n in shared_names:
                p.grad = adjusted[start:start + p.numel()].reshape(p.shape).clone()
                tensors[f"grad_htl.{n}"] = p.grad
                start += p.numel()
            else:
                p.grad = ordinary.get(n)
    torch.optim.Adam(model.parameters(), lr=0.01).step()
    tensors.update({f"adam.{n}": p.detach().clone() for n, p in named})
    model.eval()
    with torch.no_grad():
        for t, h in enumerate(model(x_cat + offsets, x_dense, tau)):
            tensors[f"eval_heads.{t}"] = h

    config = {"vocab": vocab, "offsets": offsets.tolist(), "n_dense": n_dense, "d": d, "batch": batch,
              "tower_dims": [8, 6, 4], "d_label": 3, "d_fusion": 5, "tasks": ["click", "long_view", "amount"],
              "kinds": kinds, "switches": switches, "tau": tau, "rng_seed": rng_seed,
              "core_transform": transform,
              "adjustment": {"alpha": 1.0, "gamma": 0.1, "C": 10.0, "norm_source": "afterProjection",
                             "clip_mode": "symmetric", "core": 2, "report": report},
              "no_gradient": no_gradient, "adam": {"lr": 0.01}}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump({"description": description, "config": config,
                   "tensors": {k: entry(v) for k, v in tensors.items()}}, fh, indent=0)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors, {os.path.getsize(path)} bytes), "
          f"report {report}, no gradient: {no_gradient}")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    make("htlnet.json",
         "Default HTLNet switches (attention fusion, stop-gradient, Gumbel-softmax labels, rep = first layer). "
         "x_cat holds LOCAL ids; y = raw labels (click, long_view, amount); the core loss is MSE on "
         "(amount - mean) / std (population std over the batch, config.core_transform). See the script docstring.",
         {}, model_seed=0)
    make("htlnet_ablations.json",
         "Ablation switches together: concatenation fusion, no stop-gradient, rep = last layer, straight-through "
         "labels, the representation fusion includes the task's own ReLU(Linear(D -> rep)) of e, softplus core "
         "trained on the raw amount (core_transform none).",
         {"fusion": "concat", "stop_gradient": False, "rep_layer": "last", "label_sampling": "straightThrough",
          "ifu_includes_own": True, "core_activation": "softplus"}, model_seed=1)


if __name__ == "__main__":
    main()
