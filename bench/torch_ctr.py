"""PyTorch twins of Funnel's CTR interaction blocks (baselines.md §13, Sources/FunnelNN) and of the models built
from them (Sources/FunnelModels/CTR, MMoE with expert kinds), for the parity fixtures of
scripts/make_block_fixtures.py and scripts/make_model_fixtures.py. Parameter names and shapes equal Funnel's.
Blocks take the flattened field embeddings e [B, F*d] (field-major) unless noted.
"""
import torch
import torch.nn as nn

from torch_models import MLP, EmbeddingModel


class CrossLayer(nn.Module):
    """One layer of CrossNetwork; `form` in vector | full | lowRank | mixture | combined,
    `residual` in plain | gated | none. The mixture is written per expert (DeepCTR's CrossNetMix
    loop), independently of Funnel's stacked-GEMM form."""

    def __init__(self, d, form, rank=64, experts=4, residual="plain"):
        super().__init__()
        self.form, self.residual, self.rank, self.experts = form, residual, rank, experts
        if form == "vector":
            self.weight = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, d)))
        elif form in ("full", "combined"):
            self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(d, d)))
        if form == "combined":
            self.vector_weight = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, d)))
        if form == "lowRank":
            self.down = nn.Linear(d, rank, bias=False)
            self.up = nn.Linear(rank, d, bias=False)
        if form == "mixture":
            self.down = nn.Linear(d, experts * rank, bias=False)
            self.core = nn.Parameter(torch.randn(experts, rank, rank) * (1 / rank) ** 0.5)
            self.up = nn.Linear(experts * rank, d, bias=False)
            self.gate = nn.Linear(d, experts)
        self.bias = nn.Parameter(torch.zeros(d))
        if residual == "gated":
            self.residual_scale = nn.Parameter(torch.ones(1))

    def forward(self, x, x0):
        if self.form == "vector":
            crossed = x0 * (x @ self.weight.t()) + self.bias
        elif self.form == "full":
            crossed = x0 * (x @ self.weight.t() + self.bias)
        elif self.form == "lowRank":
            crossed = x0 * (self.up(self.down(x)) + self.bias)
        elif self.form == "combined":
            crossed = x0 * (x @ self.weight.t() + x @ self.vector_weight.t()) + self.bias
        else:
            g = torch.softmax(self.gate(x), dim=-1)
            r = self.rank
            crossed = 0
            for i in range(self.experts):
                v = torch.tanh(x @ self.down.weight[i * r:(i + 1) * r].t())
                c = torch.tanh(v @ self.core[i].t())
                u = c @ self.up.weight[:, i * r:(i + 1) * r].t()
                crossed = crossed + g[:, i:i + 1] * (x0 * (u + self.bias))
        if self.residual == "plain":
            return crossed + x
        if self.residual == "gated":
            return crossed + self.residual_scale * x
        return crossed


class CrossNetwork(nn.Module):
    def __init__(self, d, layers=3, form="full", rank=64, experts=4, residual="plain"):
        super().__init__()
        self.layers = nn.ModuleList(CrossLayer(d, form, rank, experts, residual) for _ in range(layers))

    def forward(self, x0):
        x = x0
        for layer in self.layers:
            x = layer(x, x0)
        return x


class BiInteraction(nn.Module):
    def __init__(self, fields, d):
        super().__init__()
        self.fields, self.d = fields, d

    def forward(self, e):
        v = e.view(e.shape[0], self.fields, self.d)
        return 0.5 * (v.sum(1) ** 2 - (v ** 2).sum(1))


class FirstOrderTerm(nn.Module):
    """w0 + sum_f w[offset_f + x_f] + <w_num, x_num>; x_cat holds GLOBAL ids."""

    def __init__(self, vocab, n_dense, bias=True):
        super().__init__()
        self.embedding = nn.Embedding(int(sum(vocab)), 1)
        nn.init.normal_(self.embedding.weight, std=1e-4)
        self.dense_projection = nn.Linear(n_dense, 1, bias=False) if n_dense > 0 else None
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None

    def forward(self, x_cat, x_dense):
        z = self.embedding(x_cat).sum(1).squeeze(-1)
        if self.bias is not None:
            z = z + self.bias
        if self.dense_projection is not None:
            z = z + self.dense_projection(x_dense).squeeze(-1)
        return z


class MultiHeadAttention(nn.Module):
    """softmax(s * (X Wq)(Y Wk)^T) (Y Wv) per head, heads concatenated, optional output Linear."""

    def __init__(self, d_q, heads, d_k, d_kv=None, d_v=None, bias=False, scale_scores=True, out=None):
        super().__init__()
        d_kv, d_v = d_kv or d_q, d_v or d_k
        self.heads, self.d_k, self.d_v, self.scale_scores = heads, d_k, d_v, scale_scores
        self.query = nn.Linear(d_q, heads * d_k, bias=bias)
        self.key = nn.Linear(d_kv, heads * d_k, bias=bias)
        self.value = nn.Linear(d_kv, heads * d_v, bias=bias)
        self.output = nn.Linear(heads * d_v, out) if out else None

    def forward(self, x, y=None):
        y = x if y is None else y
        b, nq, nk, h = x.shape[0], x.shape[1], y.shape[1], self.heads
        q = self.query(x).view(b, nq, h, self.d_k).transpose(1, 2)
        k = self.key(y).view(b, nk, h, self.d_k).transpose(1, 2)
        v = self.value(y).view(b, nk, h, self.d_v).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if self.scale_scores:
            scores = scores / self.d_k ** 0.5
        o = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, nq, h * self.d_v)
        return self.output(o) if self.output is not None else o


class AutoIntLayer(nn.Module):
    def __init__(self, d_in, heads, d_k, residual=True, scale_scores=False):
        super().__init__()
        self.attention = MultiHeadAttention(d_in, heads, d_k, bias=False, scale_scores=scale_scores)
        self.residual = nn.Linear(d_in, heads * d_k, bias=False) if residual else None

    def forward(self, x):
        a = self.attention(x)
        return torch.relu(a + self.residual(x) if self.residual is not None else a)


class AutoInt(nn.Module):
    def __init__(self, fields, d, layers=3, heads=2, d_k=8, residual=True, scale_scores=False):
        super().__init__()
        self.fields, self.d = fields, d
        self.layers = nn.ModuleList(
            AutoIntLayer(d if l == 0 else heads * d_k, heads, d_k, residual, scale_scores) for l in range(layers))

    def forward(self, e):
        x = e.view(e.shape[0], self.fields, self.d)
        for layer in self.layers:
            x = layer(x)
        return x.reshape(e.shape[0], -1)


class FieldInteractionLayer(nn.Module):
    def __init__(self, fields):
        super().__init__()
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(fields, fields)))
        self.scale = nn.Parameter(torch.ones(fields))


class FieldInteraction(nn.Module):
    """FINT (mixing='input') or the PHN field layer (mixing='current')."""

    def __init__(self, fields, d, layers=3, mixing="input"):
        super().__init__()
        self.fields, self.d, self.mixing = fields, d, mixing
        self.layers = nn.ModuleList(FieldInteractionLayer(fields) for _ in range(layers))

    def forward(self, e):
        v0 = e.view(e.shape[0], self.fields, self.d)
        v = v0
        for layer in self.layers:
            u = layer.scale[None, :, None]
            if self.mixing == "input":
                v = v * torch.einsum("ij,bjd->bid", layer.weight, v0) + u * v
            else:
                v = v0 * torch.einsum("ij,bjd->bid", layer.weight, v) + u * v
        return v.reshape(e.shape[0], -1)


class CIN(nn.Module):
    """xDeepFM's CIN; layers.{k} is Conv1d(H*F, H_k, 1) stored as a Linear weight [H_k, H*F]."""

    def __init__(self, fields, d, sizes=(128, 128), split_half=True, relu=False):
        super().__init__()
        self.fields, self.d, self.split_half, self.relu = fields, d, split_half, relu
        self.layers = nn.ModuleList()
        hidden = fields
        for k, size in enumerate(sizes):
            self.layers.append(nn.Linear(hidden * fields, size))
            hidden = size // 2 if split_half and k < len(sizes) - 1 else size

    def forward(self, e):
        b = e.shape[0]
        x0 = e.view(b, self.fields, self.d)
        x, pooled = x0, []
        for k, layer in enumerate(self.layers):
            z = torch.einsum("bhd,bmd->bhmd", x, x0).reshape(b, -1, self.d)
            maps = torch.einsum("oc,bcd->bod", layer.weight, z) + layer.bias[None, :, None]
            if self.relu:
                maps = torch.relu(maps)
            if self.split_half and k < len(self.layers) - 1:
                half = maps.shape[1] // 2
                x, direct = maps[:, :half], maps[:, half:]
            else:
                x, direct = maps, maps
            pooled.append(direct.sum(-1))
        return torch.cat(pooled, dim=1)


class InteractionExpert(nn.Module):
    """An expert of a non-MLP kind: block (registered under its Funnel name), optional MLP, optional
    projection Linear(-> h)."""

    def __init__(self, block_name, block, block_width, mlp=None, project_to=None):
        super().__init__()
        if block_name is not None:
            setattr(self, block_name, block)
        self.__dict__["_block"] = block  # a reference only: registered above under its Funnel name
        self.mlp = mlp
        width = mlp.out_dim if mlp is not None else block_width
        self.projection = nn.Linear(width, project_to) if project_to and project_to != width else None

    def forward(self, e):
        h = self._block(e)
        if self.mlp is not None:
            h = self.mlp(h)
        return self.projection(h) if self.projection is not None else h


def make_expert(kind, fields, d, mlp_dims, batch_norm, dropout, settings, project_to):
    """Twin of ExpertKind.makeExpert (Sources/FunnelNN/ExpertKind.swift)."""
    width = fields * d
    if kind == "mlp":
        return MLP(width, list(mlp_dims), batch_norm, output=False, dropout=dropout)
    if kind == "nfm":
        mlp = MLP(d, list(settings.get("nfm_dims", [64])), batch_norm, output=False, dropout=dropout)
        return InteractionExpert(None, BiInteraction(fields, d), d, mlp, project_to)
    if kind in ("dcn", "dcnV2"):
        cross = dict(settings.get("cross", {}))
        if kind == "dcn":
            cross["form"] = "vector"
        return InteractionExpert("cross", CrossNetwork(width, **cross), width, None, project_to)
    if kind == "autoInt":
        a = AutoInt(fields, d, **settings.get("autoint", {}))
        heads, d_k = a.layers[-1].attention.heads, a.layers[-1].attention.d_k
        return InteractionExpert("autoint", a, fields * heads * d_k, None, project_to)
    if kind == "fint":
        return InteractionExpert("fint", FieldInteraction(fields, d, **settings.get("fint", {})), width, None, project_to)
    if kind == "cin":
        c = CIN(fields, d, **settings.get("cin", {}))
        return InteractionExpert("cin", c, sum(_cin_pooled(settings.get("cin", {}))), None, project_to)
    raise ValueError(kind)


def _cin_pooled(cfg):
    sizes, split = cfg.get("sizes", (128, 128)), cfg.get("split_half", True)
    return [size - size // 2 if split and k < len(sizes) - 1 else size for k, size in enumerate(sizes)]


class MixedMMoE(EmbeddingModel):
    """MMoE whose experts are of the given kinds (MMoE.Configuration.expertKinds), projected to h =
    expert_dims[-1]; binary tasks output logits, continuous ones values (identity tower output)."""

    def __init__(self, vocab, n_dense, d, kinds, expert_dims, tower_dims, n_tasks, settings, batch_norm=True):
        super().__init__(vocab, n_dense, d)
        h = expert_dims[-1]
        self.experts = nn.ModuleList(make_expert(k, self.n_fields, d, expert_dims, batch_norm, 0.0, settings, h)
                                     for k in kinds)
        self.gates = nn.ModuleList(nn.Linear(self.input_width, len(kinds)) for _ in range(n_tasks))
        self.towers = nn.ModuleList(MLP(h, list(tower_dims), batch_norm, output=True) for _ in range(n_tasks))

    def forward(self, x_cat, x_dense):
        e = self.embed(x_cat, x_dense)
        f = torch.stack([expert(e) for expert in self.experts], dim=1)
        return torch.stack([tower(torch.bmm(torch.softmax(gate(e), 1).unsqueeze(1), f).squeeze(1))
                            for gate, tower in zip(self.gates, self.towers)], dim=1)


class TaskNetwork(EmbeddingModel):
    """One task's network of a single-task CTR model (PerTaskModel): own embedding, then `kind`'s
    layers (dcn, dcnV2, nfm, autoIntPlus, fint, xDeepFM) -> [B]. cfg["dropout"] (default 0) is the rate after
    every hidden MLP layer and, for NFM, on the pooled vector before its batch norm (as Funnel's networks)."""

    def __init__(self, kind, vocab, n_dense, d, cfg):
        super().__init__(vocab, n_dense, d)
        self.kind, f, width = kind, self.n_fields, self.input_width
        bn, p = cfg.get("batch_norm", True), cfg.get("dropout", 0.0)
        self.dropout = p
        if kind in ("dcn", "dcnV2"):
            self.stacked = cfg.get("stacked", False)
            self.cross = CrossNetwork(width, **cfg["cross"])
            self.deep = MLP(width, cfg["deep"], bn, output=False, dropout=p)
            self.output = nn.Linear(self.deep.out_dim if self.stacked else width + self.deep.out_dim, 1)
        elif kind == "nfm":
            self.linear = FirstOrderTerm(vocab, n_dense, bias=False)
            self.bi_norm = nn.BatchNorm1d(d) if cfg.get("bi_norm", True) else None
            self.pooling = BiInteraction(f, d)
            self.tower = MLP(d, cfg["tower"], bn, output=True, dropout=p)
        elif kind == "autoIntPlus":
            self.autoint = AutoInt(f, d, **cfg["autoint"])
            a = self.autoint.layers[-1].attention
            self.attention_output = nn.Linear(f * a.heads * a.d_k, 1)
            self.deep = MLP(width, cfg["deep"], bn, output=True, dropout=p)
        elif kind == "fint":
            self.fint = FieldInteraction(f, d, **cfg["fint"])
            self.tower = MLP(width, cfg["tower"], bn, output=True, dropout=p)
        elif kind == "xDeepFM":
            self.linear = FirstOrderTerm(vocab, n_dense)
            self.cin = CIN(f, d, **cfg["cin"])
            self.cin_output = nn.Linear(sum(_cin_pooled(cfg["cin"])), 1)
            self.deep = MLP(width, cfg["deep"], bn, output=True, dropout=p)

    def forward(self, x_cat, x_dense):
        e = self.embed(x_cat, x_dense)
        if self.kind in ("dcn", "dcnV2"):
            crossed = self.cross(e)
            h = self.deep(crossed) if self.stacked else torch.cat([crossed, self.deep(e)], dim=1)
            return self.output(h).squeeze(-1)
        if self.kind == "nfm":
            pooled = self.pooling(e)
            if self.dropout > 0:
                pooled = nn.functional.dropout(pooled, self.dropout, self.training)
            if self.bi_norm is not None:
                pooled = self.bi_norm(pooled)
            return self.linear(x_cat, x_dense) + self.tower(pooled)
        if self.kind == "autoIntPlus":
            return self.attention_output(self.autoint(e)).squeeze(-1) + self.deep(e)
        if self.kind == "fint":
            return self.tower(self.fint(e))
        return self.linear(x_cat, x_dense) + self.cin_output(self.cin(e)).squeeze(-1) + self.deep(e)


class PerTaskModel(nn.Module):
    """T independent TaskNetworks: networks.{t}.*; forward -> [B, T]."""

    def __init__(self, kind, vocab, n_dense, d, cfg, n_tasks):
        super().__init__()
        self.networks = nn.ModuleList(TaskNetwork(kind, vocab, n_dense, d, cfg) for _ in range(n_tasks))

    def forward(self, x_cat, x_dense):
        return torch.stack([net(x_cat, x_dense) for net in self.networks], dim=1)
