#!/usr/bin/env python3
"""Write PyTorch parity fixtures for Funnel's Swift tests into Tests/Fixtures/parity/.

Run from anywhere:  python3 scripts/make_parity_fixtures.py
Format of every file:
  {"description": str, "config": {...}, "tensors": {name: {"shape": [...], "data": [flat row-major]}}}
Floats are written as the float64 repr of float32 values (exact float32 round trip);
generator outputs in parity_generator.json are float64 (the generator works in Double).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import funnel_synth as fs  # noqa: E402
from torch_models import MLP, MMoE, multitask_bce  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "parity")


def tensor_entry(v, float64=False):
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    a = a.astype(np.float64) if float64 else a.astype(np.float32).astype(np.float64)
    return {"shape": list(a.shape), "data": [float(x) for x in a.ravel()]}


def write(name, description, config, tensors, float64=()):
    doc = {"description": description, "config": config,
           "tensors": {k: tensor_entry(v, k in float64) for k, v in tensors.items()}}
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors)")


def set_nontrivial_bn(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.weight.copy_(1 + 0.1 * torch.randn_like(m.weight))
                m.bias.copy_(0.1 * torch.randn_like(m.bias))


def binary_labels(shape):
    y = torch.randint(0, 2, shape).float()
    y2 = y.reshape(shape[0], -1)
    for t in range(y2.shape[1]):  # make sure both classes occur in every task
        if y2[:, t].min() == y2[:, t].max():
            y2[0, t] = 1 - y2[0, t]
    return y2.reshape(shape)


def train_step_record(model, forward, params_named):
    """forward() -> (logits, loss). Records logits, loss, grads, BN running stats after the
    train-mode forward, params after one Adam(lr=0.01) step, and eval-mode logits."""
    rec = {}
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    opt.zero_grad(set_to_none=True)
    logits, loss = forward()
    loss.backward()
    rec["logits"], rec["loss"] = logits, loss
    for n, p in params_named:
        rec[f"grad.{n}"] = p.grad.clone()
    for n, b in model.named_buffers():
        if n.endswith("running_mean") or n.endswith("running_var"):
            rec[f"after.{n}"] = b.clone()
    opt.step()
    for n, p in params_named:
        rec[f"adam.{n}"] = p.detach().clone()
    model.eval()
    with torch.no_grad():
        rec["eval_logits"], _ = forward()
    return rec


def make_mlp():
    torch.manual_seed(0)
    model = MLP(6, [8, 4], batch_norm=True, output=True, dropout=0.0)
    set_nontrivial_bn(model)
    x = torch.randn(16, 6).requires_grad_(True)
    y = binary_labels((16,))
    named = list(model.named_parameters())
    tensors = {"x": x, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})

    def forward():
        logits = model(x)
        return logits, F.binary_cross_entropy_with_logits(logits, y)

    rec = train_step_record(model, forward, named)
    rec["grad.x"] = x.grad.clone()
    tensors.update(rec)
    write("mlp.json",
          "MLP(6,[8,4],BN,output) in train mode: Linear->BatchNorm1d->ReLU per hidden layer, "
          "then Linear(4->1). loss = BCEWithLogits mean over 16 rows. grad.* after backward; "
          "after.* = BN running stats after the train forward; adam.* = params after one "
          "Adam(lr=0.01) step; eval_logits = eval-mode forward with updated params/stats.",
          {"in": 6, "dims": [8, 4], "batch_norm": True, "output": True, "dropout": 0.0,
           "batch": 16, "bn_eps": 1e-5, "bn_momentum": 0.1,
           "loss": "bce_with_logits_mean",
           "adam": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}},
          tensors)


def make_mmoe():
    torch.manual_seed(0)
    vocab, n_dense, d, batch = [5, 7, 3], 4, 4, 16
    model = MMoE(vocab, n_dense, d=d, n_experts=3, expert_dims=(8, 6), tower_dims=(4,),
                 n_tasks=2, batch_norm=True, dropout=0.0)
    set_nontrivial_bn(model)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(vocab)[:-1]]), dtype=torch.int64)
    x_cat = torch.stack([torch.randint(0, v, (batch,)) for v in vocab], dim=1)
    x_dense = torch.randn(batch, n_dense)
    y = binary_labels((batch, 2))
    named = list(model.named_parameters())
    tensors = {"x_cat": x_cat, "x_dense": x_dense, "y": y}
    tensors.update({n: p.detach().clone() for n, p in named})
    gates_train = []

    def forward():
        logits = model(x_cat + offsets, x_dense)
        if model.training:
            gates_train[:] = [g.detach().clone() for g in model.last_gates]
        return logits, multitask_bce(logits, y)

    rec = train_step_record(model, forward, named)
    for t, g in enumerate(gates_train):
        tensors[f"gates_out.{t}"] = g
    tensors.update(rec)
    write("mmoe.json",
          "Small MMoE in train mode (dropout 0). e = concat(E_cat.reshape(B,12), "
          "dense_projection(x_dense)) [B,16] field-major; embedding rows = offset_f + local id "
          "with offsets [0,5,12]; 3 experts MLP(16,[8,6],BN,no output); per-task gate "
          "softmax(Linear(16->3)) (gates_out.t, train forward); tower MLP(6,[4],BN,output). "
          "loss = sum over 2 tasks of BCEWithLogits mean. x_cat holds LOCAL ids as floats. "
          "grad.*, after.* (BN running stats after train forward), adam.* (one Adam lr=0.01 "
          "step), eval_logits (eval mode, updated params/stats).",
          {"vocab": vocab, "offsets": offsets.tolist(), "n_dense": n_dense, "d": d,
           "batch": batch, "n_experts": 3, "expert_dims": [8, 6], "tower_dims": [4],
           "n_tasks": 2, "batch_norm": True, "dropout": 0.0, "bn_eps": 1e-5,
           "bn_momentum": 0.1, "embedding_init": "xavier_uniform over the whole [15,4] table",
           "loss": "sum_t bce_with_logits_mean(task t)",
           "adam": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}},
          tensors)


OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "sgd_momentum_wd": ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    "sgd_dampening": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_wd": ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    "adamw": ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    "adagrad": ("Adagrad", {"lr": 0.1}),
    "adagrad_wd": ("Adagrad", {"lr": 0.1, "weight_decay": 0.01}),
    "adagrad_lr_decay": ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
}
DEFAULTS = {
    "SGD": {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    "Adam": {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
             "note": "weight_decay is coupled L2 (added to the gradient)"},
    "AdamW": {"betas": [0.9, 0.999], "eps": 1e-8,
              "note": "decoupled: p *= 1 - lr*weight_decay before the Adam update"},
    "Adagrad": {"lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
                "eps": 1e-10, "note": "clr = lr / (1 + (step-1)*lr_decay)"},
}


def make_optimizers():
    torch.manual_seed(0)
    p0 = torch.randn(6)
    grads = [torch.randn(6) for _ in range(3)]
    tensors = {"p0": p0, "g1": grads[0], "g2": grads[1], "g3": grads[2]}
    config = {"steps": 3, "optimizers": {}}
    for key, (cls, hp) in OPTIMIZERS.items():
        p = torch.nn.Parameter(p0.clone())
        opt = getattr(torch.optim, cls)([p], **hp)
        for g in grads:
            p.grad = g.clone()
            opt.step()
        tensors[key] = p.detach().clone()
        config["optimizers"][key] = {"class": cls, **{**DEFAULTS[cls], **hp}}
    a_in, b_in = torch.randn(3, 2) * 3, torch.randn(4) * 3
    pa, pb = torch.nn.Parameter(torch.zeros(3, 2)), torch.nn.Parameter(torch.zeros(4))
    pa.grad, pb.grad = a_in.clone(), b_in.clone()
    total = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=1.0)
    tensors.update({"clip.a_in": a_in, "clip.b_in": b_in, "clip.a_out": pa.grad,
                    "clip.b_out": pb.grad, "clip.total_norm": total})
    config["clip"] = {"max_norm": 1.0, "norm_type": 2.0,
                      "note": "total_norm = L2 norm over all grads (before clipping); "
                              "coef = min(1, max_norm / (total_norm + 1e-6)); grads *= coef"}
    write("optimizers.json",
          "Each optimizer starts from p0 and takes 3 steps with p.grad = g1, g2, g3; the final "
          "parameter is stored under the optimizer key (hyperparameters in config.optimizers). "
          "clip.*: torch.nn.utils.clip_grad_norm_ on gradients a [3,2], b [4].",
          config, tensors)


def make_generator():
    u = fs.uniform(0, 1, np.arange(4))
    n = fs.normal(0, 2, np.arange(4))
    ref_u = [0.7497482413580301, 0.37239342287916577, 0.4382839062845528, 0.9541167159066205]
    ref_n = [0.6043777850667446, -0.017570676519781232, 1.0479965827031512, -1.8912257137556459]
    assert np.allclose(u, ref_u, rtol=1e-9, atol=0), u
    assert np.allclose(n, ref_n, rtol=1e-9, atol=0), n
    assert int(fs.mix64(np.uint64(0))) == 0
    gen = fs.ParityGenerator(seed=0, n_fields=40, n_dense=10, rho=0.5)
    assert gen.vocab[:5].tolist() == [584, 72, 11, 874, 16], gen.vocab[:5]
    assert gen.total_vocab == 9429, gen.total_vocab
    x_cat, x_dense, y, logits = gen.rows(0, 8)
    _, _, y_train, _ = gen.rows(0, gen.TRAIN_ROWS)
    rate = y_train.mean(axis=0)
    print(f"parity generator: sum V = {gen.total_vocab}, positive rates over "
          f"{gen.TRAIN_ROWS} training rows: task0 {rate[0]:.6f}, task1 {rate[1]:.6f}")
    write("parity_generator.json",
          "Census-like parity generator (synthetic-data.md §7), seed 0, F=40, D=10, rho=0.5. "
          "Rows 0..7 of x_cat (local ids), x_dense, y, and logit_t (before the Bernoulli draw); "
          "positive_rate over training rows 0..131071. float64 values (generator is Double); "
          "also the §1 RNG reference values.",
          {"seed": 0, "n_fields": 40, "n_dense": 10, "rho": 0.5, "bias": [-0.3, -1.0],
           "train_rows": gen.TRAIN_ROWS, "total_vocab": gen.total_vocab,
           "offsets": gen.offsets.tolist()},
          {"vocab": gen.vocab, "offsets": gen.offsets, "x_cat": x_cat, "x_dense": x_dense,
           "y": y, "logits": logits, "positive_rate": rate,
           "rng.uniform_0_1": u, "rng.normal_0_2": n},
          float64={"x_dense", "logits", "positive_rate", "rng.uniform_0_1", "rng.normal_0_2"})


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    make_mlp()
    make_mmoe()
    make_optimizers()
    make_generator()


if __name__ == "__main__":
    main()
