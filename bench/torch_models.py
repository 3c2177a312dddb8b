"""PyTorch reference models for Funnel parity fixtures and benchmarks.

Conventions follow baselines.md §1 (PyTorch ones). Parameter names (state_dict
keys) are the contract with the Swift side:
  embedding.weight, dense_projection.{weight,bias},
  MLP: linears.{j}, norms.{j}, output;  MMoE: experts.{i}.*, gates.{t}, towers.{t}.*

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
def _dephn_family(name):
    """Builders of torch_dephn's twins (imported late: torch_dephn imports this module). Keyword overrides:
    tasks (list of "binary" | "continuous", default two binary) and config (partial Swift Configuration)."""
    def build(vocab, n_dense, tasks=("binary", "binary"), config=None):
        import torch_dephn
        cls = torch_dephn.DEPHN if name == "dephn" else torch_dephn.MTPHN
        return cls(vocab, n_dense, list(tasks), config)
    return build


MODELS = {
    "mmoe": lambda vocab, n_dense, **kw: MMoE(vocab, n_dense, **{
        "d": 16, "n_experts": 8, "expert_dims": (256, 128), "tower_dims": (64,),
        "n_tasks": 2, "batch_norm": True, "dropout": 0.2, **kw}),
    "dephn": _dephn_family("dephn"),
    "mt-phn": _dephn_family("mt-phn"),
}
