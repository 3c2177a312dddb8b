#!/usr/bin/env python3
"""Write PyTorch parity fixtures for Funnel's CTR interaction blocks into Tests/Fixtures/blocks/.

Run from anywhere:  python3 scripts/make_block_fixtures.py
Each file (format of make_parity_fixtures.py) holds, for one block of bench/torch_ctr.py:
  inputs (e, or the named inputs), every parameter under its state_dict name, `output` = block(inputs),
  `seed` s (standard normal, shaped like the output), and the gradients of L = sum(s * output):
  grad.<parameter> and grad.<input>; f64.output and f64.grad.* are the same quantities computed in float64
  from the same (float32) parameters and inputs, stored with float64 precision.
Parameters that PyTorch initialises to constants (zero biases, unit scales) are perturbed first, so that a
wrongly placed bias or scale changes the output.
"""
import copy
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch_ctr as tm  # noqa: E402
from make_parity_fixtures import tensor_entry  # noqa: E402
import json  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "blocks")
B, F, D = 4, 3, 4  # batch, fields, embedding width


def perturb_constants(module):
    with torch.no_grad():
        for p in module.parameters():
            if p.numel() > 0 and torch.all(p == p.reshape(-1)[0]):
                p.add_(0.3 * torch.randn_like(p))


def write(name, description, config, module, inputs, forward):
    perturb_constants(module)
    leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    y = forward(module, **leaves)
    s = torch.randn_like(y)
    (s * y).sum().backward()
    tensors = {k: v.detach() for k, v in leaves.items()}
    tensors.update({n: p.detach().clone() for n, p in module.named_parameters()})
    tensors["output"], tensors["seed"] = y.detach(), s
    tensors.update({f"grad.{n}": p.grad for n, p in module.named_parameters()})
    tensors.update({f"grad.{k}": v.grad for k, v in leaves.items() if v.grad is not None})
    # The same computation in float64 from the same float32 values: the exact reference that tells which
    # float32 implementation is closer where an element is cancellation-limited.
    exact = copy.deepcopy(module).double()
    for p in exact.parameters():
        p.grad = None
    leaves64 = {k: v.detach().double().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    y64 = forward(exact, **leaves64)
    (s.double() * y64).sum().backward()
    tensors["f64.output"] = y64.detach()
    tensors.update({f"f64.grad.{n}": p.grad for n, p in exact.named_parameters()})
    tensors.update({f"f64.grad.{k}": v.grad for k, v in leaves64.items() if v.grad is not None})
    doc = {"description": description + " L = sum(seed * output); grad.* = dL/d*.",
           "config": {"batch": B, "fields": F, "d": D, **config},
           "tensors": {k: tensor_entry(v, float64=k.startswith("f64.")) for k, v in tensors.items()}}
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote Tests/Fixtures/blocks/{name}.json ({len(tensors)} tensors)")


def embeddings():
    return {"e": 0.7 * torch.randn(B, F * D)}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    block = lambda m, e: m(e)  # noqa: E731

    cross = {"cross_vector": ("vector", "plain", {}), "cross_full": ("full", "plain", {}),
             "cross_low_rank": ("lowRank", "plain", {"rank": 3}),
             "cross_mixture": ("mixture", "plain", {"rank": 2, "experts": 3}),
             "cross_combined_gated": ("combined", "gated", {})}
    for i, (name, (form, residual, extra)) in enumerate(cross.items()):
        torch.manual_seed(10 + i)
        m = tm.CrossNetwork(F * D, layers=2, form=form, residual=residual, **extra)
        write(name, f"CrossNetwork(D={F * D}, 2 layers, form {form}, residual {residual}) on e [B, D].",
              {"layers": 2, "form": form, "residual": residual, **extra}, m, embeddings(), block)

    torch.manual_seed(20)
    write("bi_interaction", "BiInteraction: 0.5*((sum_f v_f)^2 - sum_f v_f^2) [B, d].", {},
          tm.BiInteraction(F, D), embeddings(), block)

    torch.manual_seed(21)
    vocab, n_dense = [5, 7, 3], 2
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(vocab)[:-1]]))
    m = tm.FirstOrderTerm(vocab, n_dense)
    x_cat = torch.stack([torch.randint(0, v, (B,)) for v in vocab], dim=1)
    write("first_order", "FirstOrderTerm: w0 + sum_f w[offset_f + x_f] + <w_num, x_dense> [B]; x_cat holds "
          "LOCAL ids (as floats).", {"vocab": vocab, "n_dense": n_dense, "offsets": offsets.tolist()}, m,
          {"x_cat": x_cat.double(), "x_dense": torch.randn(B, n_dense)},
          lambda m, x_cat, x_dense: m(x_cat.long() + offsets, x_dense))

    torch.manual_seed(22)
    m = tm.MultiHeadAttention(4, heads=2, d_k=3, d_kv=5, d_v=2, bias=True, scale_scores=True, out=6)
    write("attention", "MultiHeadAttention(d_q 4, d_kv 5, 2 heads, d_k 3, d_v 2, biases, scaled, output 6): "
          "queries x [B, 2, 4] attend over y [B, 3, 5] -> [B, 2, 6].",
          {"d_q": 4, "d_kv": 5, "heads": 2, "d_k": 3, "d_v": 2, "bias": True, "scale_scores": True, "out": 6}, m,
          {"x": torch.randn(B, 2, 4), "y": torch.randn(B, 3, 5)}, lambda m, x, y: m(x, y))

    for name, residual, scale, seed in [("autoint", True, False, 23), ("autoint_scaled_plain", False, True, 24)]:
        torch.manual_seed(seed)
        m = tm.AutoInt(F, D, layers=2, heads=2, d_k=3, residual=residual, scale_scores=scale)
        write(name, f"AutoInt(F={F}, d={D}, 2 layers, 2 heads, d'=3, residual {residual}, scaled {scale}) -> "
              "[B, F*6].", {"layers": 2, "heads": 2, "head_width": 3, "residual": residual, "scale_scores": scale},
              m, embeddings(), block)

    for name, mixing, seed in [("fint", "input", 25), ("field_phn", "current", 26)]:
        torch.manual_seed(seed)
        m = tm.FieldInteraction(F, D, layers=2, mixing=mixing)
        write(name, f"FieldInteraction(F={F}, d={D}, 2 layers, mixing {mixing}) -> [B, F*d].",
              {"layers": 2, "mixing": mixing}, m, embeddings(), block)

    for name, sizes, split, relu, seed in [("cin", (4, 3), True, False, 27), ("cin_relu_full", (3, 2), False, True, 28)]:
        torch.manual_seed(seed)
        m = tm.CIN(F, D, sizes=sizes, split_half=split, relu=relu)
        write(name, f"CIN(F={F}, d={D}, sizes {list(sizes)}, split_half {split}, relu {relu}) -> sum-pooled maps.",
              {"layer_sizes": list(sizes), "split_half": split, "relu": relu}, m, embeddings(), block)


if __name__ == "__main__":
    main()
