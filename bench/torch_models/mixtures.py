"""PyTorch twins of the shared-representation baselines (baselines.md §2-6). Every model takes
(vocab, n_dense, tasks, cfg) with cfg the Swift Configuration as a camelCase dict, and its
forward(x_cat, x_dense, y=None) returns an Output. x_cat holds GLOBAL ids (local id + field offset)."""
import torch
import torch.nn as nn

from .layers import MLP, EmbeddingModel, Output, logit_output, task_head, tower


class MMoE(EmbeddingModel):
    """baselines.md §5: K expert MLPs (no output layer), one softmax gate per task,
    per-task tower on the gate-weighted mixture. forward returns logits [B, T]."""

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
        for gate, tower_ in zip(self.gates, self.towers):
            g = torch.softmax(gate(e), dim=1)                             # [B, K]
            u = torch.bmm(g.unsqueeze(1), f).squeeze(1)                   # [B, h]
            gates.append(g)
            logits.append(tower_(u))
        self.last_gates = gates
        return torch.stack(logits, dim=1)                                 # [B, T]


class MMoEModel(MMoE):
    """MMoE behind the registry interface (binary and MSE tasks)."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, d=cfg["embeddingWidth"], n_experts=cfg["experts"],
                         expert_dims=cfg["expertWidths"], tower_dims=cfg["towerWidths"],
                         n_tasks=len(tasks), batch_norm=cfg["batchNorm"], dropout=cfg["dropout"])
        self.tasks = tasks

    def forward(self, x_cat, x_dense, y=None):
        return logit_output(super().forward(x_cat, x_dense), self.tasks)


def mixture(gate_logits, experts):
    """Σ_i softmax(gate_logits)_i · experts[i]: [B, K] x K·[B, h] -> [B, h]."""
    g = torch.softmax(gate_logits, dim=1)
    return torch.bmm(g.unsqueeze(1), torch.stack(experts, dim=1)).squeeze(1)


class SingleTask(nn.Module):
    """§2: one embedding (unless shareEmbedding), bottom and tower per task."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__()
        d, n = cfg["embeddingWidth"], len(tasks)
        self.tasks, self.shared = tasks, cfg["shareEmbedding"]
        n_tables = 1 if self.shared else n
        tables = [nn.Embedding(int(sum(vocab)), d) for _ in range(n_tables)]
        for table in tables:
            nn.init.xavier_uniform_(table.weight)
        projections = [nn.Linear(n_dense, d) for _ in range(n_tables)] if n_dense > 0 else []
        if self.shared:
            self.embedding = tables[0]
            self.dense_projection = projections[0] if projections else None
        else:
            self.embeddings = nn.ModuleList(tables)
            self.dense_projections = nn.ModuleList(projections)
        self.tables, self.projections = tables, projections  # plain lists: views, not registered twice
        width = (len(vocab) + (1 if n_dense > 0 else 0)) * d
        self.bottoms = nn.ModuleList(
            MLP(width, cfg["bottomWidths"], cfg["batchNorm"], output=False, dropout=cfg["dropout"])
            for _ in tasks)
        self.towers = nn.ModuleList(
            tower(cfg["bottomWidths"][-1], cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task)
            for task in tasks)

    def embed(self, t, x_cat, x_dense):
        k = 0 if self.shared else t
        parts = [self.tables[k](x_cat).reshape(x_cat.shape[0], -1)]
        if self.projections:
            parts.append(self.projections[k](x_dense))
        return torch.cat(parts, dim=1)

    def forward(self, x_cat, x_dense, y=None):
        heads = []
        for t, task in enumerate(self.tasks):
            e = self.embed(t, x_cat, x_dense)
            heads.append(task_head(self.towers[t](self.bottoms[t](e)), task))
        return Output(heads)


class SharedBottom(EmbeddingModel):
    """§3: shared bottom MLP, one tower per task."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks = tasks
        self.bottom = MLP(self.input_width, cfg["bottomWidths"], cfg["batchNorm"], output=False,
                          dropout=cfg["dropout"])
        self.towers = nn.ModuleList(
            tower(cfg["bottomWidths"][-1], cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task)
            for task in tasks)

    def forward(self, x_cat, x_dense, y=None):
        h = self.bottom(self.embed(x_cat, x_dense))
        return Output([task_head(tw(h), task) for tw, task in zip(self.towers, self.tasks)])


class OMoE(EmbeddingModel):
    """§4: K experts, one gate shared by all tasks."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks = tasks
        self.experts = nn.ModuleList(
            MLP(self.input_width, cfg["expertWidths"], cfg["batchNorm"], output=False, dropout=cfg["dropout"])
            for _ in range(cfg["experts"]))
        self.gate = nn.Linear(self.input_width, cfg["experts"])
        self.towers = nn.ModuleList(
            tower(cfg["expertWidths"][-1], cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task)
            for task in tasks)

    def forward(self, x_cat, x_dense, y=None):
        e = self.embed(x_cat, x_dense)
        u = mixture(self.gate(e), [expert(e) for expert in self.experts])
        return Output([task_head(tw(u), task) for tw, task in zip(self.towers, self.tasks)])


def make_extraction(owner, in_dim, dims, n_tasks, m, m_s, shared_gate, bn, dropout):
    """Adds one CGC level's modules to `owner`: task_experts.{k}.{i}, shared_experts.{i},
    task_gates.{k}, shared_gate (§6)."""
    def expert():
        return MLP(in_dim, dims, bn, output=False, dropout=dropout)
    owner.task_experts = nn.ModuleList(nn.ModuleList(expert() for _ in range(m)) for _ in range(n_tasks))
    owner.shared_experts = nn.ModuleList(expert() for _ in range(m_s))
    owner.task_gates = nn.ModuleList(nn.Linear(in_dim, m + m_s) for _ in range(n_tasks))
    owner.shared_gate = nn.Linear(in_dim, n_tasks * m + m_s) if shared_gate else None


def extract(owner, task_inputs, shared_input):
    """One extraction level: per-task mixtures of own + shared experts, and the shared mixture
    of all experts when the level has a shared gate."""
    shared = [expert(shared_input) for expert in owner.shared_experts]
    own = [[expert(x) for expert in experts] for experts, x in zip(owner.task_experts, task_inputs)]
    outputs = [mixture(gate(x), o + shared) for gate, o, x in zip(owner.task_gates, own, task_inputs)]
    nxt = None
    if owner.shared_gate is not None:
        nxt = mixture(owner.shared_gate(shared_input), [f for o in own for f in o] + shared)
    return outputs, nxt


class ExtractionLevel(nn.Module):
    def __init__(self, *args):
        super().__init__()
        make_extraction(self, *args)


class CGC(EmbeddingModel):
    """§6 with one level (no shared gate); the level's modules sit at the top level."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks = tasks
        make_extraction(self, self.input_width, cfg["expertWidths"], len(tasks), cfg["taskExperts"],
                        cfg["sharedExperts"], False, cfg["batchNorm"], cfg["dropout"])
        self.towers = nn.ModuleList(
            tower(cfg["expertWidths"][-1], cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task)
            for task in tasks)

    def forward(self, x_cat, x_dense, y=None):
        e = self.embed(x_cat, x_dense)
        u, _ = extract(self, [e] * len(self.tasks), e)
        return Output([task_head(tw(x), task) for tw, x, task in zip(self.towers, u, self.tasks)])


class PLE(EmbeddingModel):
    """§6: N extraction levels (shared gate at levels < N), towers on the last task outputs."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        super().__init__(vocab, n_dense, cfg["embeddingWidth"])
        self.tasks = tasks
        levels, width = [], self.input_width
        dims_per_level = cfg["expertDimsPerLevel"]
        for j, dims in enumerate(dims_per_level):
            levels.append(ExtractionLevel(width, dims, len(tasks), cfg["taskExperts"], cfg["sharedExperts"],
                                          j < len(dims_per_level) - 1, cfg["batchNorm"], cfg["dropout"]))
            width = dims[-1]
        self.levels = nn.ModuleList(levels)
        self.towers = nn.ModuleList(
            tower(width, cfg["towerWidths"], cfg["batchNorm"], cfg["dropout"], task) for task in tasks)

    def forward(self, x_cat, x_dense, y=None):
        e = self.embed(x_cat, x_dense)
        task_inputs, shared = [e] * len(self.tasks), e
        for level in self.levels:
            task_inputs, shared = extract(level, task_inputs, shared)
        return Output([task_head(tw(x), task) for tw, x, task in zip(self.towers, task_inputs, self.tasks)])
