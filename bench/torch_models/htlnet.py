"""HTLNet twin (htlnet.md): label embedding, attention fusion, the model and the gradient adjustment.
State-dict names: towers.{t}.*, label_embeddings.{t}.weight, representation_fusions.{t}.h{1,2,3}.*,
label_fusions.{t}.h{1,2,3}.*, own_representations.{t}.*, bottom.*"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import MLP, EmbeddingModel


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
