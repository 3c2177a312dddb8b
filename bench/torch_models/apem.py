"""APEM-reconstruction twin (apem.md): set attention, squeeze-excitation, pattern selector, the model."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import MLP, EmbeddingModel


class SetAttentionBlock(nn.Module):
    """Set Transformer MAB, post-norm: M = LN(X + MHA(X, Y)), out = LN(M + rFF(M)).
    Bias-free projections, heads = contiguous column blocks of width d / heads."""

    def __init__(self, d, heads, ff, eps=1e-5):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(d, d, bias=False)
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.output = nn.Linear(d, d, bias=False)
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.feedforward = nn.ModuleList([nn.Linear(d, ff), nn.Linear(ff, d)])
        self.norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, y):
        b, nx, d = x.shape
        ny, h = y.shape[1], self.heads
        dk = d // h
        q = self.query(x).view(b, nx, h, dk).transpose(1, 2)
        k = self.key(y).view(b, ny, h, dk).transpose(1, 2)
        v = self.value(y).view(b, ny, h, dk).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dk), dim=-1)   # [B, H, nx, ny]
        o = (a @ v).transpose(1, 2).reshape(b, nx, d)
        m = self.norm1(x + self.output(o))
        return self.norm2(m + self.feedforward[1](F.relu(self.feedforward[0](m)))), a


class InducedSetAttention(nn.Module):
    """ISAB: G = MAB(I, X) over m inducing points, X' = MAB(X, G)."""

    def __init__(self, d, heads, m, ff):
        super().__init__()
        self.inducing_points = nn.Parameter(torch.empty(m, d))
        nn.init.xavier_uniform_(self.inducing_points)
        self.to_groups = SetAttentionBlock(d, heads, ff)
        self.to_fields = SetAttentionBlock(d, heads, ff)

    def forward(self, x):
        points = self.inducing_points.unsqueeze(0).expand(x.shape[0], -1, -1)
        groups, attention = self.to_groups(points, x)
        out, _ = self.to_fields(x, groups)
        return out, attention


class SqueezeExcitation(nn.Module):
    """Field-wise SE: a = act(W2 relu(W1 mean_k X + b1) + b2), X_f <- a_f X_f."""

    def __init__(self, fields, reduction=3, activation="sigmoid"):
        super().__init__()
        bottleneck = max(1, -(-fields // reduction))
        self.reduce = nn.Linear(fields, bottleneck)
        self.expand = nn.Linear(bottleneck, fields)
        self.activation = activation

    def forward(self, x):
        a = self.expand(F.relu(self.reduce(x.mean(dim=2))))
        a = torch.sigmoid(a) if self.activation == "sigmoid" else F.relu(a)
        return x * a.unsqueeze(-1), a


class DGTBlock(nn.Module):
    def __init__(self, attention, se):
        super().__init__()
        self.attention = attention
        self.se = se


class PatternSelector(nn.Module):
    """alpha_t = softmax_k(<v_t + U_t s, W_K P_k> / sqrt(h)); modes adaptive/static/mmoeGate/uniform."""

    def __init__(self, mode, counts, h, source_width):
        super().__init__()
        self.mode, self.counts, self.h = mode, counts, h
        if mode in ("adaptive", "static"):
            self.indicators = nn.ParameterList(
                nn.Parameter(torch.randn(h) / math.sqrt(h)) for _ in counts)
            if mode == "adaptive":
                self.adapters = nn.ModuleList(nn.Linear(source_width, h, bias=False) for _ in counts)
                for a in self.adapters:
                    nn.init.zeros_(a.weight)
            self.key = nn.Linear(h, h, bias=False)
        elif mode == "mmoeGate":
            self.gates = nn.ModuleList(nn.Linear(source_width, n) for n in counts)

    def forward(self, shared, specific, source):
        b = shared.shape[0]
        mixed, weights = [], []
        for t, n in enumerate(self.counts):
            cand = shared if specific[t] is None else torch.cat([shared, specific[t]], dim=1)
            if self.mode in ("adaptive", "static"):
                v = self.indicators[t].expand(b, -1)
                if self.mode == "adaptive":
                    v = v + self.adapters[t](source)
                keys = self.key(cand)
                w = torch.softmax((keys @ v.unsqueeze(-1)).squeeze(-1) / math.sqrt(self.h), dim=1)
            elif self.mode == "mmoeGate":
                w = torch.softmax(self.gates[t](source), dim=1)
            else:
                w = torch.full((b, n), 1.0 / n)
            mixed.append(torch.bmm(w.unsqueeze(1), cand).squeeze(1))
            weights.append(w)
        return mixed, weights


class APEMReconstruction(EmbeddingModel):
    """APEM-reconstruction (specs/apem.md): embedding -> DGT (ISAB/SAB + field SE, L blocks) -> K pattern
    MLPs -> pattern selector with (adaptive) task indicators -> towers. Binary entire-space logits [B, T];
    calibrator (beta > 0) via calibrator_loss(logits)."""

    def __init__(self, vocab, n_dense, d=16, use_dgt=True, attention="isab", inducing_points=4, heads=2,
                 layers=2, ff=None, use_se=True, se_reduction=3, se_activation="sigmoid",
                 se_placement="afterAttention", n_patterns=6, pattern_dims=(256, 128), sharing="shared",
                 task_specific=2, selector="adaptive", adaptive_source="flat", tower_dims=(64,), n_tasks=2,
                 batch_norm=True, dropout=0.1, calibrator_weight=0.0):
        super().__init__(vocab, n_dense, d)
        fields, width, ff = self.n_fields, self.input_width, ff or 2 * d
        self.se_first = se_placement == "beforeAttention"
        self.calibrator_weight = calibrator_weight
        self.dgt = None
        if use_dgt:
            blocks = []
            for _ in range(layers):
                att = (InducedSetAttention(d, heads, inducing_points, ff) if attention == "isab" else
                       SetAttentionBlock(d, heads, ff) if attention == "sab" else None)
                se = SqueezeExcitation(fields, se_reduction, se_activation) if use_se else None
                blocks.append(DGTBlock(att, se))
            self.dgt = nn.Module()
            self.dgt.blocks = nn.ModuleList(blocks)
        h = pattern_dims[-1]
        self.patterns = nn.ModuleList(
            MLP(width, list(pattern_dims), batch_norm, output=False, dropout=dropout) for _ in range(n_patterns))
        k_t = task_specific if sharing == "sharedPlusTaskSpecific" else 0
        if k_t:
            self.task_patterns = nn.ModuleList(nn.ModuleList(
                MLP(width, list(pattern_dims), batch_norm, output=False, dropout=dropout) for _ in range(k_t))
                for _ in range(n_tasks))
        self.k_t = k_t
        self.pooled = selector == "adaptive" and adaptive_source == "pooled"
        self.selector = PatternSelector(selector, [n_patterns + k_t] * n_tasks, h, d if self.pooled else width)
        self.towers = nn.ModuleList(
            MLP(h, list(tower_dims), batch_norm, output=True, dropout=dropout) for _ in range(n_tasks))
        self.last = {}

    def forward(self, x_cat, x_dense):
        e = self.embed(x_cat, x_dense)
        b = e.shape[0]
        r, se_weights, groups = e, [], []
        if self.dgt is not None:
            x = e.view(b, self.n_fields, self.d)
            for block in self.dgt.blocks:
                if self.se_first and block.se is not None:
                    x, a = block.se(x)
                    se_weights.append(a)
                if isinstance(block.attention, InducedSetAttention):
                    x, att = block.attention(x)
                    groups.append(att)
                elif block.attention is not None:
                    x, _ = block.attention(x, x)
                if not self.se_first and block.se is not None:
                    x, a = block.se(x)
                    se_weights.append(a)
            r = x.reshape(b, -1)
        shared = torch.stack([p(r) for p in self.patterns], dim=1)
        specific = [torch.stack([p(r) for p in ps], dim=1) for ps in self.task_patterns] if self.k_t else \
            [None] * len(self.towers)
        source = r.view(b, self.n_fields, self.d).mean(dim=1) if self.pooled else r
        mixed, weights = self.selector(shared, specific, source)
        self.last = {"selection": weights, "se": se_weights, "groups": groups}
        return torch.stack([tower(u) for tower, u in zip(self.towers, mixed)], dim=1)

    def calibrator_loss(self, logits):
        """beta * sum_{t>=2} mean relu(p_t - p_{t-1}) on entire-space probabilities."""
        p = torch.sigmoid(logits)
        return self.calibrator_weight * sum(F.relu(p[:, t] - p[:, t - 1]).mean() for t in range(1, p.shape[1]))
