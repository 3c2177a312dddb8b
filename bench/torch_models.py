"""PyTorch reference models for Funnel parity fixtures and benchmarks.

Conventions follow baselines.md §1 (PyTorch ones). Parameter names (state_dict
keys) are the contract with the Swift side:
  embedding.weight, dense_projection.{weight,bias},
  MLP: linears.{j}, norms.{j}, output;  MMoE: experts.{i}.*, gates.{t}, towers.{t}.*
  HTLNet: towers.{t}.*, label_embeddings.{t}.weight, representation_fusions.{t}.h{1,2,3}.*,
          label_fusions.{t}.h{1,2,3}.*, own_representations.{t}.*, bottom.*

Every model's forward takes (x_cat, x_dense) where x_cat holds GLOBAL row ids
into the single embedding table (local id + offset of its field, int64) and
x_dense is float32 [B, n_dense]; it returns logits [B, T].

To add a model: write an nn.Module subclass of `EmbeddingModel` and register a
builder in MODELS (name -> builder(vocab, n_dense, **overrides)).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """Per hidden layer: Linear -> BatchNorm1d -> ReLU -> Dropout; then an optional
    Linear(dims[-1] -> 1) output (logit, squeezed to [B])."""

    def __init__(self, in_dim, dims, batch_norm=True, output=True, dropout=0.0):
        super().__init__()
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList() if batch_norm else None
        prev = in_dim
        for h in dims:
            self.linears.append(nn.Linear(prev, h))
            if batch_norm:
                self.norms.append(nn.BatchNorm1d(h, eps=1e-5, momentum=0.1))
            prev = h
        self.dropout = dropout
        self.output = nn.Linear(prev, 1) if output else None
        self.out_dim = 1 if output else prev

    def forward(self, x):
        for j, linear in enumerate(self.linears):
            x = linear(x)
            if self.norms is not None:
                x = self.norms[j](x)
            x = F.relu(x)
            if self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        if self.output is not None:
            x = self.output(x).squeeze(-1)
        return x


class EmbeddingModel(nn.Module):
    """Shared input layer: one concatenated embedding table (Xavier-uniform) for the
    categorical fields plus one extra field Linear(n_dense -> d) for the dense vector.
    embed() returns the field-major flattening e [B, (F_c + 1) * d]."""

    def __init__(self, vocab, n_dense, d):
        super().__init__()
        self.n_fields = len(vocab) + (1 if n_dense > 0 else 0)
        self.d = d
        self.embedding = nn.Embedding(int(sum(vocab)), d)
        nn.init.xavier_uniform_(self.embedding.weight)
        self.dense_projection = nn.Linear(n_dense, d) if n_dense > 0 else None

    @property
    def input_width(self):
        return self.n_fields * self.d

    def embed(self, x_cat, x_dense):
        b = x_cat.shape[0]
        parts = [self.embedding(x_cat).reshape(b, -1)]
        if self.dense_projection is not None:
            parts.append(self.dense_projection(x_dense))
        return torch.cat(parts, dim=1)


class MMoE(EmbeddingModel):
    """baselines.md §5: K expert MLPs (no output layer), one softmax gate per task,
    per-task tower on the gate-weighted mixture."""

    def __init__(self, vocab, n_dense, d=16, n_experts=8, expert_dims=(256, 128),
                 tower_dims=(64,), n_tasks=2, batch_norm=True, dropout=0.2):
        super().__init__(vocab, n_dense, d)
        width = self.input_width
        self.experts = nn.ModuleList(
            MLP(width, list(expert_dims), batch_norm, output=False, dropout=dropout)
            for _ in range(n_experts))
        self.gates = nn.ModuleList(nn.Linear(width, n_experts) for _ in range(n_tasks))
        self.towers = nn.ModuleList(
            MLP(expert_dims[-1], list(tower_dims), batch_norm, output=True, dropout=dropout)
            for _ in range(n_tasks))
        self.last_gates = None  # softmax outputs of the last forward, for fixtures

    def forward(self, x_cat, x_dense):
        e = self.embed(x_cat, x_dense)
        f = torch.stack([expert(e) for expert in self.experts], dim=1)  # [B, K, h]
        gates, logits = [], []
        for gate, tower in zip(self.gates, self.towers):
            g = torch.softmax(gate(e), dim=1)                             # [B, K]
            u = torch.bmm(g.unsqueeze(1), f).squeeze(1)                   # [B, h]
            gates.append(g)
            logits.append(tower(u))
        self.last_gates = gates
        return torch.stack(logits, dim=1)                                 # [B, T]


class LabelEmbedding(nn.Module):
    """htlnet.md §3.3: 2-row label table (row 0 = label 0) mixed by a sampled label of the
    task's own prediction. forward(z, tau, noise) -> [B, width]; noise [B, 2] Gumbel."""

    def __init__(self, width, sampling="gumbelSoftmax", inference="expected", stop_gradient=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(2, width))
        nn.init.xavier_uniform_(self.weight)
        self.sampling, self.inference, self.stop_gradient = sampling, inference, stop_gradient

    def label_weights(self, z, tau, noise=None):
        if self.stop_gradient:
            z = z.detach()
        p = torch.sigmoid(z).clamp(1e-7, 1 - 1e-7).unsqueeze(1)
        pi = torch.cat([1 - p, p], dim=1)
        if self.training:
            if self.sampling == "temperedSoftmax":
                return torch.softmax(torch.log(pi) * (1.0 / tau), dim=1)
            if noise is None:
                u = torch.rand_like(pi, dtype=torch.float64).clamp(1e-10, 1 - 1e-10)
                noise = (-torch.log(-torch.log(u))).float()
            soft = torch.softmax((torch.log(pi) + noise) * (1.0 / tau), dim=1)
            if self.sampling == "gumbelSoftmax":
                return soft
            hard = F.one_hot(soft.argmax(dim=1), 2).to(soft.dtype)
            return soft + (hard - soft).detach()
        if self.inference == "expected":
            return pi
        if self.inference == "tempered":
            return torch.softmax(torch.log(pi) * (1.0 / tau), dim=1)
        return F.one_hot(pi.argmax(dim=1), 2).to(pi.dtype)

    def forward(self, z, tau, noise=None):
        return self.label_weights(z, tau, noise) @ self.weight


class AttentionFusion(nn.Module):
    """htlnet.md §3.4: v = h1(u), q = h2(u), k = h3(u); w = softmax_j(<q_j, k_j>/sqrt(width));
    f = sum_j w_j v_j. One input: f = h1(u_1) (h2, h3 unused)."""

    def __init__(self, in_dim, width):
        super().__init__()
        self.h1, self.h2, self.h3 = nn.Linear(in_dim, width), nn.Linear(in_dim, width), nn.Linear(in_dim, width)
        self.width = width

    def forward(self, items):
        if len(items) == 1:
            return self.h1(items[0])
        u = torch.stack(items, dim=1)                                     # [B, n, in]
        scores = (self.h2(u) * self.h3(u)).sum(-1) * (1.0 / self.width ** 0.5)
        w = torch.softmax(scores, dim=1)                                  # [B, n]
        return torch.bmm(w.unsqueeze(1), self.h1(u)).squeeze(1)


class HTLNet(EmbeddingModel):
    """htlnet.md §3: towers (ReLU MLP + Linear(->1)) on h_t = [e | IFU_rep(sg(rep_<t)) | IFU_le(le_<t)];
    LEU on every binary task but the last. kinds: 'binary' per task except a 'continuous' core.
    forward(x_cat, x_dense, tau, noise=None) -> list of heads ([B] logits or core values)."""

    def __init__(self, vocab, n_dense, kinds, d=10, tower_dims=(128, 64, 32), d_label=10, d_fusion=128,
                 rep_layer="first", transfer_labels=True, transfer_representations=True, fusion="attention",
                 ifu_includes_own=False, stop_gradient=True, label_sampling="gumbelSoftmax",
                 label_inference="expected", core_activation="identity"):
        super().__init__(vocab, n_dense, d)
        self.kinds, self.rep_layer, self.fusion = list(kinds), rep_layer, fusion
        self.stop_gradient, self.core_activation = stop_gradient, core_activation
        self.transfer_labels, self.transfer_representations = transfer_labels, transfer_representations
        D, rep = self.input_width, (tower_dims[0] if rep_layer == "first" else tower_dims[-1])
        self.towers = nn.ModuleList()
        self.label_embeddings, self.label_fusions = nn.ModuleDict(), nn.ModuleDict()
        self.representation_fusions, self.own_representations = nn.ModuleDict(), nn.ModuleDict()
        for t in range(len(kinds)):
            own = transfer_representations and ifu_includes_own and t > 0
            if own:
                self.own_representations[str(t)] = nn.Linear(D, rep)
            width = D
            if transfer_representations and t > 0:
                if fusion == "attention":
                    self.representation_fusions[str(t)] = AttentionFusion(rep, d_fusion)
                    width += d_fusion
                else:
                    width += (t + (1 if own else 0)) * rep
            if transfer_labels and t > 0:
                if fusion == "attention":
                    self.label_fusions[str(t)] = AttentionFusion(d_label, d_fusion)
                    width += d_fusion
                else:
                    width += t * d_label
            self.towers.append(MLP(width, list(tower_dims), batch_norm=False, output=True))
            if transfer_labels and t < len(kinds) - 1:
                self.label_embeddings[str(t)] = LabelEmbedding(d_label, label_sampling, label_inference, stop_gradient)

    def _fuse(self, items, key, units):
        return units[key](items) if key in units else torch.cat(items, dim=1)

    def forward(self, x_cat, x_dense, tau, noise=None):
        e = self.embed(x_cat, x_dense)
        reps, labels, heads = [], [], []
        for t, tower in enumerate(self.towers):
            parts = [e]
            if self.transfer_representations and t > 0:
                own = [F.relu(self.own_representations[str(t)](e))] if str(t) in self.own_representations else []
                parts.append(self._fuse(reps + own, str(t), self.representation_fusions))
            if self.transfer_labels and t > 0:
                parts.append(self._fuse(labels, str(t), self.label_fusions))
            h = torch.cat(parts, dim=1) if len(parts) > 1 else e
            hidden = []
            for linear in tower.linears:
                h = F.relu(linear(h))
                hidden.append(h)
            out = tower.output(h).squeeze(-1)
            rep = hidden[0] if self.rep_layer == "first" else hidden[-1]
            reps.append(rep.detach() if self.stop_gradient else rep)
            if str(t) in self.label_embeddings:
                labels.append(self.label_embeddings[str(t)](out, tau, None if noise is None else noise[t]))
            if self.kinds[t] == "continuous" and self.core_activation == "softplus":
                out = F.softplus(out)
            heads.append(out)
        return heads


def htlnet_adjust(per_task, core, alpha=1.0, gamma=0.1, clip=10.0, norm_source="afterProjection",
                  clip_mode="symmetric", projection=True, magnitude=True):
    """htlnet.md §5 step by step on flattened float32 vectors (dots and norms in float64,
    eps 1e-12): project conflicting classification gradients onto the normal plane of the
    core gradient, rescale toward its norm, sum. Returns (G_shared, per-task report)."""
    eps = 1e-12
    gc = per_task[core]
    nc2 = float(gc.double().dot(gc.double()))
    total, report = gc.clone(), []
    for t, g in enumerate(per_task):
        if t == core:
            continue
        before = float(g.double().norm())
        d = float(g.double().dot(gc.double()))
        conflict = projection and nc2 >= 1e-20 and d < 0
        if conflict:
            g = g - (alpha * d / (nc2 + eps)) * gc
        w, factor = 1.0, 1.0
        if magnitude:
            source = float(g.double().norm()) if norm_source == "afterProjection" else before
            w = nc2 ** 0.5 / (source + eps)
            w = min(max(w, 1.0 / clip), clip) if clip_mode == "symmetric" else min(w, clip)
            factor = gamma * w + (1 - gamma)
        total = total + factor * g
        report.append({"task": t, "conflict": conflict, "w": w, "factor": factor})
    return total, report


def multitask_bce(logits, y):
    """Sum over tasks of the per-task mean BCE-with-logits."""
    return sum(F.binary_cross_entropy_with_logits(logits[:, t], y[:, t])
               for t in range(logits.shape[1]))


def linear_macs(model):
    """Σ over every nn.Linear of in·out (multiply-accumulates per sample, forward)."""
    return sum(m.in_features * m.out_features for m in model.modules()
               if isinstance(m, nn.Linear))


# Parity benchmark configuration (baselines.md §1.8). Builders take the generator's
# vocab list and n_dense; keyword overrides replace the defaults.
MODELS = {
    "mmoe": lambda vocab, n_dense, **kw: MMoE(vocab, n_dense, **{
        "d": 16, "n_experts": 8, "expert_dims": (256, 128), "tower_dims": (64,),
        "n_tasks": 2, "batch_norm": True, "dropout": 0.2, **kw}),
}
