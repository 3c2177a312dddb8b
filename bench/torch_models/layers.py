"""Shared layers of the PyTorch twins (baselines.md §1, PyTorch conventions).

Parameter names (state_dict keys) are the contract with the Swift side:
  embedding.weight, dense_projection.{weight,bias};
  MLP / tower: linears.{j}, norms.{j}, output.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """Per hidden layer: Linear -> BatchNorm1d -> ReLU -> Dropout; then an optional output
    Linear(dims[-1] -> w). `output` is False (no output layer), True (w = 1, squeezed to [B])
    or an int w (w = 3 for ZILN heads, output [B, 3]). `dropout` is one rate or one per layer."""

    def __init__(self, in_dim, dims, batch_norm=True, output=True, dropout=0.0):
        super().__init__()
        dims = list(dims)
        self.dropouts = list(dropout) if isinstance(dropout, (list, tuple)) else [dropout] * len(dims)
        assert len(self.dropouts) == len(dims), (self.dropouts, dims)
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList() if batch_norm else None
        prev = in_dim
        for h in dims:
            self.linears.append(nn.Linear(prev, h))
            if batch_norm:
                self.norms.append(nn.BatchNorm1d(h, eps=1e-5, momentum=0.1))
            prev = h
        width = int(output)
        self.output = nn.Linear(prev, width) if width else None
        self.out_dim = width if width else prev

    def forward(self, x):
        for j, linear in enumerate(self.linears):
            x = linear(x)
            if self.norms is not None:
                x = self.norms[j](x)
            x = F.relu(x)
            if self.dropouts[j] > 0:
                x = F.dropout(x, self.dropouts[j], self.training)
        if self.output is not None:
            x = self.output(x)
            if x.shape[-1] == 1:
                x = x.squeeze(-1)
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


def head_width(task):
    """Output width of a task's tower: 3 for a ZILN loss, else 1 (baselines.md §14)."""
    return 3 if task.get("loss") == "ziln" else 1


def tower(in_dim, dims, batch_norm, dropout, task):
    """A task tower: MLP + the output layer the task needs (Swift `TaskTower`)."""
    return MLP(in_dim, dims, batch_norm, output=head_width(task), dropout=dropout)


def task_head(raw, task):
    """("logit", z) for a binary task, ("value", y) or ("ziln", [B, 3]) for a continuous one."""
    if task["kind"] == "binary":
        return ("logit", raw)
    return ("ziln", raw) if task.get("loss") == "ziln" else ("value", raw)


class Output:
    """Per-task heads (("logit"|"value"|"ziln", tensor) or ("chain", [logits])), an optional
    auxiliary loss, and extra named predictions (Swift `ModelOutput`)."""

    def __init__(self, heads, aux=None, extras=None):
        self.heads, self.aux, self.extras = heads, aux, extras or {}


def logit_output(logits, tasks):
    """Output of a [B, T] tensor of per-task raw outputs (MMoE's forward)."""
    return Output([task_head(logits[:, t], task) for t, task in enumerate(tasks)])


def linear_macs(model):
    """Σ over every nn.Linear of in·out (multiply-accumulates per sample, forward)."""
    return sum(m.in_features * m.out_features for m in model.modules()
               if isinstance(m, nn.Linear))
