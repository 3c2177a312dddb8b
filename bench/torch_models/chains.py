"""PyTorch twins of the funnel-chained baselines (baselines.md §7-9, §14): ESMM, ESCM² and AITM,
with the same (vocab, n_dense, tasks, cfg) constructor and Output as mixtures.py."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import MLP, EmbeddingModel, Output, task_head, tower
from .mixtures import mixture


def binary_steps(tasks):
    return [t for t, task in enumerate(tasks) if task["kind"] == "binary"]


def joint_probability(logits):
    p = torch.sigmoid(logits[0])
    for z in logits[1:]:
        p = p * torch.sigmoid(z)
    return p


def continuous_head(raw, task, regression_head, probability):
    """§14: identity (or ZILN) head; scaled by the preceding step's probability for expectedValue."""
    if regression_head == "expectedValue":
        assert task.get("loss") != "ziln" and probability is not None
        return ("value", raw * probability)
    return task_head(raw, task)


def chained_heads(raw, tasks, regression_head):
    """§7: step 1 logit, step s >= 2 chain of logits; extras '<task>.conditional' (and 'cvr')."""
    heads, extras, logits = [], {}, []
    for t, task in enumerate(tasks):
        if task["kind"] != "binary":
            p = joint_probability(logits) if logits else None
            heads.append(continuous_head(raw[t], task, regression_head, p))
            continue
        logits.append(raw[t])
        if len(logits) == 1:
            heads.append(("logit", raw[t]))
        else:
            heads.append(("chain", list(logits)))
            conditional = torch.sigmoid(raw[t])
            extras[task["name"] + ".conditional"] = conditional
            if len(logits) == 2:
                extras["cvr"] = conditional
    return heads, extras


class ESMM(EmbeddingModel):
    chained = True

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks, self.cfg = tasks, cfg
        self.towers = nn.ModuleList(
            tower(self.input_width, cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task) for task in tasks)

    def forward(self, x_cat, x_dense, y=None):
        e = self.embed(x_cat, x_dense)
        heads, extras = chained_heads([tw(e) for tw in self.towers], self.tasks, self.cfg["regressionHead"])
        return Output(heads, extras=extras)


def counterfactual_risk(cfg, o, r, propensity, z, imputed):
    """§8 for one step pair (unscaled by λ_c): IPS, or DR's R_DR + L_imp."""
    rows, floor = o.shape[0], cfg["minimumPropensity"]
    delta = F.softplus(z) - z * r
    if cfg["estimator"] == "ips" or cfg["detachPropensityInDoublyRobust"]:
        clipped = torch.clamp(propensity.detach(), min=floor)
    else:
        clipped = torch.clamp(propensity, min=floor)

    def weighted(x):
        return x * o / clipped

    if cfg["estimator"] == "ips":
        return weighted(delta).sum() * (1 / rows)
    detach = cfg["detachDoublyRobustTargets"]
    imputed_target = imputed.detach() if detach else imputed
    error_target = delta.detach() if detach else delta
    risk = (imputed_target + weighted(delta - imputed_target)).sum() * (1 / rows)
    imputation = weighted((error_target - imputed) ** 2).sum() * (1 / rows)
    return risk + imputation


class ESCM2(EmbeddingModel):
    chained = True

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks, self.cfg = tasks, cfg
        width, mixed = self.input_width, cfg["backbone"] == "mmoe"
        bn, p = cfg["batchNorm"], cfg["dropout"]
        self.steps = binary_steps(tasks)
        if mixed:
            self.experts = nn.ModuleList(MLP(width, cfg["expertWidths"], bn, output=False, dropout=p)
                                         for _ in range(cfg["experts"]))
            self.gates = nn.ModuleList(nn.Linear(width, cfg["experts"]) for _ in tasks)
        tower_in = cfg["expertWidths"][-1] if mixed else width
        self.towers = nn.ModuleList(tower(tower_in, cfg["towerWidths"], bn, p, task) for task in tasks)
        imputed = self.steps[1:] if cfg["estimator"] == "dr" else []
        if mixed and imputed:
            self.imputation_gates = nn.ModuleList(nn.Linear(width, cfg["experts"]) for _ in imputed)
        if imputed:
            self.imputation_towers = nn.ModuleList(tower(tower_in, cfg["towerWidths"], bn, p, tasks[t]) for t in imputed)

    def forward(self, x_cat, x_dense, y=None):
        cfg = self.cfg
        e = self.embed(x_cat, x_dense)
        mixed = cfg["backbone"] == "mmoe"
        experts = [expert(e) for expert in self.experts] if mixed else []

        def inp(gate):
            return mixture(gate(e), experts) if mixed else e

        raw = [tw(inp(self.gates[t] if mixed else None)) for t, tw in enumerate(self.towers)]
        heads, extras = chained_heads(raw, self.tasks, cfg["regressionHead"])
        if not self.training or cfg["counterfactualWeight"] == 0 or len(self.steps) < 2:
            return Output(heads, extras=extras)
        total = None
        for s in range(1, len(self.steps)):
            previous, current = self.steps[s - 1], self.steps[s]
            imputed = None
            if cfg["estimator"] == "dr":
                out = self.imputation_towers[s - 1](inp(self.imputation_gates[s - 1] if mixed else None))
                imputed = F.softplus(out) if cfg["imputationOutput"] == "softplus" else torch.sigmoid(out)
            risk = counterfactual_risk(cfg, y[:, previous], y[:, current],
                                       joint_probability([raw[t] for t in self.steps[:s]]), raw[current], imputed)
            total = risk if total is None else total + risk
        return Output(heads, aux=total * cfg["counterfactualWeight"], extras=extras)


class AdaptiveInformationTransfer(nn.Module):
    """§9: attention over {p, q}, each element scored against itself."""

    def __init__(self, k, bias):
        super().__init__()
        self.k = k
        self.query, self.key, self.value = (nn.Linear(k, k, bias=bias) for _ in range(3))

    def forward(self, p, q):
        b = q.shape[0]
        u = torch.cat([p, q], dim=0)                                      # [2B, k]
        scores = (self.query(u) * self.key(u)).sum(dim=1) * (1 / math.sqrt(self.k))
        w = torch.softmax(scores.reshape(2, b), dim=0)
        return (w.reshape(2, b, 1) * self.value(u).reshape(2, b, self.k)).sum(dim=0)


class AITM(EmbeddingModel):
    chained = True

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks, self.cfg = tasks, cfg
        official = cfg["variant"] == "official"
        k, bn = cfg["towerWidths"][-1], cfg["batchNorm"]
        self.towers = nn.ModuleList(MLP(self.input_width, cfg["towerWidths"], bn, output=False,
                                        dropout=cfg["towerDropouts"]) for _ in tasks)
        self.transfers = nn.ModuleList(nn.Linear(k, k) for _ in tasks[1:])
        self.attention = AdaptiveInformationTransfer(k, bias=not official)
        self.heads = nn.ModuleList(tower(k, cfg["headWidths"], bn, cfg["headDropout"], task) for task in tasks)
        if official:
            nn.init.normal_(self.embedding.weight, 0.0, 0.01)
            for m in (self.attention.query, self.attention.key, self.attention.value):
                nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x_cat, x_dense, y=None):
        cfg = self.cfg
        official = cfg["variant"] == "official"
        e = self.embed(x_cat, x_dense)
        q = [tw(e) for tw in self.towers]
        z = [q[0]]
        for t in range(1, len(q)):
            p = self.transfers[t - 1](z[t - 1])
            if official:
                p = F.dropout(F.relu(p), cfg["transferDropout"], self.training)
            z.append(self.attention(p, q[t]))
        raw = [head(x) for head, x in zip(self.heads, z)]
        steps = binary_steps(self.tasks)
        heads = []
        for t, task in enumerate(self.tasks):
            if task["kind"] == "binary":
                heads.append(task_head(raw[t], task))
            else:
                before = [s for s in steps if s < t]
                p = torch.sigmoid(raw[before[-1]]) if before else None
                heads.append(continuous_head(raw[t], task, cfg["regressionHead"], p))
        return Output(heads, aux=self.regularization(raw, steps) if self.training else None)

    def regularization(self, raw, steps):
        cfg, terms = self.cfg, []
        if cfg["calibratorWeight"] != 0 and len(steps) >= 2:
            probs = [torch.sigmoid(raw[s]) for s in steps]
            violations = [torch.relu(later - earlier).mean() for later, earlier in zip(probs[1:], probs)]
            terms.append(sum(violations[1:], violations[0]) * cfg["calibratorWeight"])
        if cfg["l2Penalty"] != 0:
            tensors = [self.embedding.weight, self.attention.query.weight, self.attention.key.weight,
                       self.attention.value.weight]
            squares = [(w ** 2).sum() for w in tensors]
            terms.append(sum(squares[1:], squares[0]) * (cfg["l2Penalty"] / 2))
        return sum(terms[1:], terms[0]) if terms else None
