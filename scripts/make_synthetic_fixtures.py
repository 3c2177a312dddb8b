#!/usr/bin/env python3
"""Write the synthetic-data parity fixtures (bench/funnel_synth.py, the Python twin of Funnel's generators) into
Tests/Fixtures/synthetic/. NumPy only.  Run from anywhere:  python3 scripts/make_synthetic_fixtures.py

Format (as Tests/FunnelTestSupport/ParityFixture.swift reads it):
  {"description": str, "config": {...}, "tensors": {name: {"shape": [...], "data": [flat row-major float64]}}}
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import funnel_synth as fs  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "synthetic")


def write(name, description, config, tensors):
    doc = {"description": description, "config": config,
           "tensors": {k: {"shape": list(np.shape(v)), "data": [float(x) for x in np.ravel(np.asarray(v, dtype=np.float64))]}
                       for k, v in tensors.items()}}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=0)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def two(p, **kw):
    return fs.correlated_tasks(10_000, [[1, p], [p, 1]], seed=0, **kw)


def make_correlated():
    t = {}
    base = two(0.5)
    t["p05.alpha"], t["p05.beta"], t["p05.L"] = base["alpha"], base["beta"], base["L"]
    t["p05.w_head"] = base["w"][:, :8]
    t["p05.x_head"] = base["x"][:2, :8]
    t["p05.y_head"] = base["y"][:16]
    t["p05.corr"] = base["corr"]
    t["p00.corr"] = two(0.0)["corr"]
    t["p09.corr"] = two(0.9)["corr"]
    for p, key in [(0.5, "05"), (0.9, "09"), (1.0, "10")]:
        t[f"c03.p{key}.corr"] = two(p, c=0.3)["corr"]
    t["p10.L"] = two(1.0, c=0.3)["L"]
    k3 = fs.correlated_tasks(10_000, [[1, 0.8, 0.3], [0.8, 1, 0.5], [0.3, 0.5, 1]], seed=0)
    t["k3.L"], t["k3.corr"], t["k3.y_head"] = k3["L"], k3["corr"], k3["y"][:8]
    y = base["y"]
    rank = np.stack([fs.threshold_rank(y[:, 0], 0.3), fs.threshold_rank(y[:, 1], 0.1)], axis=1)
    bern = np.stack([fs.threshold_bernoulli(y[:, 0], 0.3, 0, 0), fs.threshold_bernoulli(y[:, 1], 0.1, 0, 1)], axis=1)
    nested = fs.nest(np.stack([fs.threshold_rank(y[:, 0], 0.5), fs.threshold_rank(y[:, 1], 0.2)], axis=1))
    for name, labels in [("rank", rank), ("bernoulli", bern), ("nested", nested)]:
        t[f"{name}.head"] = labels[:64]
        t[f"{name}.positives"] = labels.sum(axis=0)
        t[f"{name}.phi"] = [np.corrcoef(labels[:, 0], labels[:, 1])[0, 1]]
    write("correlated_tasks.json",
          "MMoE correlation-controlled generator (synthetic-data.md §2-4), seed 0, n=10000, d=100, m=10, sigma=0.1; "
          "c=1 unless c03.*; two tasks with cosine p (p05/p00/p09/p10), K=3 with P=[[1,.8,.3],[.8,1,.5],[.3,.5,1]]. "
          "rank: rates (0.3, 0.1); bernoulli: rates (0.3, 0.1), kappa 2; nested: rank (0.5, 0.2) then nest. "
          "*.head are the first rows; corr is the Pearson matrix of the continuous labels.",
          {"n": 10_000, "d": 100, "m": 10, "c": 1.0, "sigma": 0.1, "seed": 0}, t)


def make_funnel():
    t = {}
    o = fs.funnel(0, **fs.FUNNEL_SMOKE)
    t["V"], t["offsets"] = o["V"], o["offsets"]
    t["x_cat_head"], t["x_dense_head"], t["U_head"] = o["x_cat"][:8], o["x_dense"][:8], o["U"][:8]
    t["bias"] = [o["b_c"], o["b_v"]]
    t["p_click_head"], t["p_cvr_head"] = o["p_click"][:64], o["p_cvr"][:64]
    t["mu_head"], t["amount_head"] = o["mu_amount"][:64], o["amount"][:64]
    t["click"], t["conv"] = o["click"], o["conv"]
    t["amount_sum"] = [o["amount"].sum()]
    x = fs.funnel(0, **dict(fs.FUNNEL_SMOKE, cross=0.5))
    t["cross.U_head"], t["cross.bias"] = x["U"][:8], [x["b_c"], x["b_v"]]
    t["cross.counts"] = [x["click"].sum(), x["conv"].sum()]
    c = o["b_c"] + o["U"][:, 0]
    yr, yu, lr, lu = fs.dephn_labels(c, 0)
    t["dephn.c_head"], t["dephn.y_rel_head"], t["dephn.y_unrel_head"] = c[:32], yr[:32], yu[:32]
    t["dephn.related"], t["dephn.unrelated"] = lr, lu
    t["dephn.stats"] = [np.corrcoef(c, yr)[0, 1], np.corrcoef(c, yu)[0, 1], np.corrcoef(o["click"], lr)[0, 1],
                        np.corrcoef(o["click"], lu)[0, 1]]
    yr_log, _, br, bu = fs.dephn_labels(c, 0, sign="log", rule="bernoulli")
    t["dephn.log.y_rel_head"], t["dephn.bernoulli.counts"] = yr_log[:32], [br.sum(), bu.sum()]
    t["permutation.20"] = fs.permutation(20, 0)
    t["permutation.1000.seed3"] = fs.permutation(1000, 3)
    write("funnel.json",
          "Funnel generator (synthetic-data.md §5), smoke preset (n=4096, F=16, D=8, r_click=r_cvr=0.30), seed 0; "
          "cross.* with crossStrength 0.5. dephn.* (§6) with c = b_c + U_0 of the smoke data, base = click, "
          "threshold 0, sigma 0.1; dephn.log/bernoulli the alternatives. dephn.stats = corr(c, y_rel), "
          "corr(c, y_unrel), phi(click, related), phi(click, unrelated). permutation.* are §8 Fisher-Yates orders.",
          {"n": 4096, "seed": 0}, t)


if __name__ == "__main__":
    make_correlated()
    make_funnel()
