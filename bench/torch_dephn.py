"""PyTorch twins of Funnel's DEPHN and MT-PHN (dephn.md), for parity fixtures.

State_dict keys equal Funnel's parameter names (see Sources/FunnelModels/DEPHN.swift, MTPHN.swift and
HeterogeneousExperts.swift). Configuration keys are the Swift `Configuration` keys (camelCase). The forward
takes GLOBAL ids (local id + field offset) like the other twins in torch_models.py; DEPHN's forward also
takes the batch labels y [B, T] in training mode for the virtual gradient.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_models import DEFAULTS, EmbeddingModel

MAPPINGS = {"rmTm": ["raw", "sine"], "rm": ["raw"], "tm": ["sine"], "rmSinCos": ["raw", "sine", "cosine"]}
GAMMA = {
    "mulCos": lambda x, y: math.cos(2 * math.pi * x * y) + 1,
    "mulAbs": lambda x, y: 2 * abs(2 * x * y - 1),
    "mulSquare": lambda x, y: 2 * (2 * x * y - 1) ** 2,
    "mulSqrt": lambda x, y: 2 * math.sqrt(abs(2 * x * y - 1)),
    "addCos": lambda x, y: math.cos(math.pi * (x + y)) + 1,
    "addAbs": lambda x, y: 2 * abs(x + y - 1),
    "addSquare": lambda x, y: 2 * (x + y - 1) ** 2,
    "addSqrt": lambda x, y: 2 * math.sqrt(abs(x + y - 1)),
}


class LeakyMLP(nn.Module):
    def __init__(self, d_in, dims, slope=0.01, output=False):
        super().__init__()
        self.linears = nn.ModuleList()
        for h in dims:
            self.linears.append(nn.Linear(d_in, h))
            d_in = h
        self.slope = slope
        self.output = nn.Linear(d_in, 1) if output else None

    def forward(self, x):
        for linear in self.linears:
            x = F.leaky_relu(linear(x), self.slope)
        return self.output(x).squeeze(-1) if self.output is not None else x


class Attention(nn.Module):
    """Funnel's MultiHeadAttention as DEPHN uses it: no Q/K/V biases, scores / sqrt(d_k), W_O without bias."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.dk = heads, d // heads
        self.query, self.key, self.value = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.output = nn.Linear(d, d, bias=False)

    def forward(self, x):  # [B, F, d]
        b, f, _ = x.shape
        split = lambda t: t.reshape(b, f, self.heads, self.dk).transpose(1, 2)  # [B, H, F, dk]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1 / math.sqrt(self.dk)), dim=-1)
        return self.output(torch.matmul(a, v).transpose(1, 2).reshape(b, f, -1))


class SSG(nn.Module):
    def __init__(self, fields, d, heads, own_attention):
        super().__init__()
        self.fields = fields
        self.gate = nn.Parameter(torch.zeros(fields * d))
        self.attention = Attention(d, heads) if own_attention else None

    def difference(self, e, attention):
        b = e.shape[0]
        return attention(e.reshape(b, self.fields, -1)).reshape(b, -1) - e

    def forward(self, e, difference=None):
        if difference is None:
            difference = self.difference(e, self.attention)
        return e + torch.sigmoid(self.gate) * difference


class CrossLayer(nn.Module):
    """PHN's combined cross layer (Funnel CrossNetwork form .combined)."""

    def __init__(self, d, residual):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d, d))
        nn.init.xavier_uniform_(self.weight)
        self.vector_weight = nn.Parameter(torch.empty(1, d))
        nn.init.xavier_normal_(self.vector_weight)
        self.bias = nn.Parameter(torch.zeros(d))
        self.residual = residual
        if residual == "gated":
            self.residual_scale = nn.Parameter(torch.ones(1))

    def forward(self, x, x0):
        crossed = x0 * (F.linear(x, self.weight) + F.linear(x, self.vector_weight)) + self.bias
        if self.residual == "plain":
            return crossed + x
        if self.residual == "gated":
            return crossed + x * self.residual_scale
        return crossed


class CrossNetwork(nn.Module):
    def __init__(self, d, layers, residual):
        super().__init__()
        self.layers = nn.ModuleList(CrossLayer(d, residual) for _ in range(layers))

    def forward(self, x0):
        x = x0
        for layer in self.layers:
            x = layer(x, x0)
        return x


class FieldLayer(nn.Module):
    def __init__(self, fields):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fields, fields))
        nn.init.xavier_uniform_(self.weight)
        self.scale = nn.Parameter(torch.ones(fields))


class FieldInteraction(nn.Module):
    """PHN's field-interaction layer: V_{l+1} = V_0 ⊙ (W V_l) + u ⊙ V_l (Funnel mixing .current)."""

    def __init__(self, fields, layers):
        super().__init__()
        self.fields = fields
        self.layers = nn.ModuleList(FieldLayer(fields) for _ in range(layers))

    def forward(self, e):
        b = e.shape[0]
        v0 = e.reshape(b, self.fields, -1)
        v = v0
        for layer in self.layers:
            v = v0 * torch.einsum("fj,bjd->bfd", layer.weight, v) + v * layer.scale[:, None]
        return v.reshape(b, -1)


def _branches(module_factory, public, tasks):
    return module_factory() if public else nn.ModuleList(module_factory() for _ in range(tasks))


class HeterogeneousExperts:
    """Funnel's HeterogeneousExperts; registers its modules on `owner` so names have no prefix."""

    def __init__(self, owner, fields, d, tasks, c, dnn_experts):
        self.placement, self.fields, self.use_ssg = c["placement"], fields, c["useSSG"]
        self.dnn_public = self.placement != "dnnPrivateCFPublic"
        self.cf_public = self.placement != "dnnPublicCFPrivate"
        width, heads = fields * d, c["attentionHeads"]
        shared = c["useSSG"] and c["sharedAttention"]
        owner.attention = Attention(d, heads) if shared else None
        if c["useSSG"]:
            owner.ssg = nn.ModuleDict({
                "dnn": _branches(lambda: SSG(fields, d, heads, not shared), self.dnn_public, tasks),
                "cf": _branches(lambda: SSG(fields, d, heads, not shared), self.cf_public, tasks)})
        expert_set = lambda: nn.ModuleList(
            LeakyMLP(width, c["expertWidths"], c["leakySlope"]) for _ in range(dnn_experts))
        owner.dnn = expert_set() if self.dnn_public else nn.ModuleList(expert_set() for _ in range(tasks))
        owner.cross = _branches(lambda: CrossNetwork(width, c["crossLayers"], c["residual"]), self.cf_public, tasks)
        owner.field = _branches(lambda: FieldInteraction(fields, c["fieldLayers"]), self.cf_public, tasks)
        self.owner = owner

    def __call__(self, e):
        o, diff = self.owner, None
        if o.attention is not None:
            b = e.shape[0]
            diff = o.attention(e.reshape(b, self.fields, -1)).reshape(b, -1) - e
        as_list = lambda m: [m] if not isinstance(m, nn.ModuleList) else list(m)
        view = lambda ssg: e if ssg is None else ssg(e, diff)
        dnn_ssg = as_list(o.ssg["dnn"]) if self.use_ssg else [None] * (1 if self.dnn_public else len(o.dnn))
        cf_ssg = as_list(o.ssg["cf"]) if self.use_ssg else [None] * len(as_list(o.cross))
        dnn_views = [view(s) for s in dnn_ssg]
        cf_views = [view(s) for s in cf_ssg]
        dnn_sets = [o.dnn] if self.dnn_public else list(o.dnn)
        dnn_out = [[expert(v) for expert in experts] for experts, v in zip(dnn_sets, dnn_views)]
        cf_out = [(cross(v), field(v)) for cross, field, v in zip(as_list(o.cross), as_list(o.field), cf_views)]
        public_view = dnn_views[0] if self.dnn_public else cf_views[0]
        return dnn_out, cf_out, public_view


def _embedding_init(model, c):
    if c["embeddingInit"] == "smallNormal":
        nn.init.normal_(model.embedding.weight, 0.0, 1e-4)


def similarities(y, kind):
    """|similarity| matrix of the label columns (float64), None where undefined."""
    y = np.asarray(y, dtype=np.float64)
    t = y.shape[1]
    out = [[None] * t for _ in range(t)]
    for i in range(t):
        for j in range(i, t):
            a, b = y[:, i], y[:, j]
            if kind == "pearson":
                if np.all(a == a[0]) or np.all(b == b[0]):
                    continue
                da, db = a - a.mean(), b - b.mean()
                s = (da * db).sum() / math.sqrt((da * da).sum() * (db * db).sum())
            else:
                if not a.any() or not b.any():
                    continue
                s = (a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum())
            out[i][j] = out[j][i] = abs(min(1.0, max(-1.0, s)))
    return out


def coefficients(task, gates, sims, c):
    """Γ^task for every gate element (gates: float32 numpy arrays of one shape per task), float32."""
    gamma, own = GAMMA[c["vgFunction"]], gates[task].astype(np.float64)
    result = np.ones_like(own)
    for idx in np.ndindex(own.shape):
        coefficient = 1.0
        for j in range(len(gates)):
            if j == task:
                continue
            x = sims[j][task]
            if x is None:
                if c["constantLabelPolicy"] == "skip":
                    continue
                x = 0.0
            y = min(1.0, abs(own[idx] - float(gates[j][idx])))
            coefficient *= gamma(x, y)
        if c["virtualGradientClip"] is not None:
            coefficient = min(coefficient, c["virtualGradientClip"])
        result[idx] = coefficient
    return result.astype(np.float32)


class DEPHN(EmbeddingModel):
    def __init__(self, vocab, n_dense, tasks, config=None):
        """tasks: list of "binary" | "continuous"; config: partial Swift Configuration (camelCase)."""
        c = {**DEFAULTS["dephn"], **(config or {})}
        super().__init__(vocab, n_dense, c["embeddingWidth"])
        self.c, self.kinds = c, tasks
        _embedding_init(self, c)
        fields, d, t = self.n_fields, c["embeddingWidth"], len(tasks)
        self.experts = HeterogeneousExperts(self, fields, d, t, c, c["publicExperts"])
        h, width, k = c["expertWidths"][-1], fields * d, c["publicExperts"]
        self.mappings = MAPPINGS[c["mappings"]]
        widths = ([h] * k if self.experts.dnn_public else []) + ([width, width] if self.experts.cf_public else [])
        self.stream_widths = [w for w in widths for _ in self.mappings]
        n_experts, p = len(widths), len(self.mappings)
        if c["gating"] == "trainableValue":
            self.gates = nn.ParameterList(nn.Parameter(torch.ones(n_experts, p)) for _ in range(t))
        else:
            self.gates = nn.ModuleList(nn.Linear(width, n_experts * p) for _ in range(t))
        hidden = c["towerHidden"]
        if hidden:
            self.towers = nn.ModuleList(
                nn.ModuleList(LeakyMLP(w, hidden, c["leakySlope"]) for w in self.stream_widths) for _ in range(t))
        readout = len(self.stream_widths) * hidden[-1] if hidden else sum(self.stream_widths)
        self.public_heads = nn.ModuleList(nn.Linear(readout, 1) for _ in range(t))
        private = (0 if self.experts.dnn_public else h * k) + (0 if self.experts.cf_public else 2 * width)
        self.private_heads = nn.ModuleList(nn.Linear(private, 1) for _ in range(t)) if private else None
        expansion = torch.zeros(len(self.stream_widths), sum(self.stream_widths))
        col = 0
        for s, w in enumerate(self.stream_widths):
            expansion[s, col:col + w] = 1
            col += w
        self.register_buffer("expansion", expansion, persistent=False)
        self.last_coefficients, self.last_similarities = None, None

    def raw_gates(self, public_view):
        if self.c["gating"] == "trainableValue":
            rows = [g.reshape(1, -1) for g in self.gates]
            return [torch.softmax(r, dim=-1) for r in rows] if self.c["gateNormalization"] == "softmax" else rows
        return [torch.softmax(g(public_view), dim=-1) for g in self.gates]

    def forward(self, x_cat, x_dense, y=None):
        """Returns [B, T]: logits (sumLogits, binary), values (continuous) or probabilities
        (averageProbabilities, binary)."""
        e = self.embed(x_cat, x_dense)
        dnn_out, cf_out, public_view = self.experts(e)
        ex = self.experts
        public = (dnn_out[0] if ex.dnn_public else []) + (list(cf_out[0]) if ex.cf_public else [])
        funcs = {"raw": lambda o: o, "sine": torch.sin, "cosine": torch.cos}
        mapped = torch.cat([funcs[m](o) for o in public for m in self.mappings], dim=1)
        gates = self.raw_gates(public_view)
        if self.training and self.c["virtualGradient"]:
            sims = similarities(y.detach().numpy(), self.c["vgSimilarity"])
            values = [g.detach().numpy().copy() for g in gates]
            coefs = [torch.from_numpy(coefficients(t, values, sims, self.c)) for t in range(len(gates))]
            gates = [g.detach() + k * (g - g.detach()) for g, k in zip(gates, coefs)]
            self.last_coefficients, self.last_similarities = coefs, sims
        outputs = []
        for t, kind in enumerate(self.kinds):
            gated = mapped * (gates[t] @ self.expansion)
            if self.c["towerHidden"]:
                parts = torch.split(gated, self.stream_widths, dim=1)
                gated = torch.cat([tower(part) for tower, part in zip(self.towers[t], parts)], dim=1)
            z_pub = self.public_heads[t](gated).squeeze(-1)
            z_pri = None
            if self.private_heads is not None:
                private = (dnn_out[t] if not ex.dnn_public else []) + (list(cf_out[t]) if not ex.cf_public else [])
                z_pri = self.private_heads[t](torch.cat(private, dim=1)).squeeze(-1)
            if kind == "binary" and self.c["outputCombination"] == "averageProbabilities":
                outputs.append(torch.sigmoid(z_pub) if z_pri is None else (torch.sigmoid(z_pub) + torch.sigmoid(z_pri)) * 0.5)
            else:
                outputs.append(z_pub if z_pri is None else z_pub + z_pri)
        return torch.stack(outputs, dim=1)


class MTPHN(EmbeddingModel):
    def __init__(self, vocab, n_dense, tasks, config=None):
        c = {**DEFAULTS["mt-phn"], **(config or {})}
        super().__init__(vocab, n_dense, c["embeddingWidth"])
        self.c, self.kinds = c, tasks
        _embedding_init(self, c)
        fields, d, t = self.n_fields, c["embeddingWidth"], len(tasks)
        self.experts = HeterogeneousExperts(self, fields, d, t, c, c["dnnExperts"])
        h, width = c["expertWidths"][-1], fields * d
        self.cf_projection = _branches(lambda: nn.Linear(2 * width, h), self.experts.cf_public, t)
        self.gates = nn.ModuleList(nn.Linear(width, c["dnnExperts"] + 1) for _ in range(t))
        self.towers = nn.ModuleList(LeakyMLP(h, c["towerWidths"], c["leakySlope"], output=True) for _ in range(t))

    def forward(self, x_cat, x_dense, y=None):
        e = self.embed(x_cat, x_dense)
        dnn_out, cf_out, _ = self.experts(e)
        ex = self.experts
        projections = [self.cf_projection] if ex.cf_public else list(self.cf_projection)
        cf = [proj(torch.cat(pair, dim=1)) for proj, pair in zip(projections, cf_out)]
        shared = (dnn_out[0] if ex.dnn_public else []) + ([cf[0]] if ex.cf_public else [])
        outputs = []
        for t in range(len(self.kinds)):
            own = (dnn_out[t] if not ex.dnn_public else []) + ([cf[t]] if not ex.cf_public else [])
            g = torch.softmax(self.gates[t](e), dim=-1)
            u = torch.bmm(g.unsqueeze(1), torch.stack(shared + own, dim=1)).squeeze(1)
            outputs.append(self.towers[t](u))
        return torch.stack(outputs, dim=1)
