"""Registry adapters for the twins written outside the baseline package: the single-task CTR models
(bench/torch_ctr.py), DEPHN and MT-PHN (bench/torch_dephn.py), APEM-reconstruction (apem.py) and HTLNet
(htlnet.py). Each takes (vocab, n_dense, tasks, cfg) with cfg the Swift Configuration as a camelCase dict (the
registry defaults of bench/model-defaults.json, written by Swift, merged with overrides) and returns an Output, so that
`build_model(name, …)` covers every twinned registry name. A Swift option the twin does not implement is an error,
never silently ignored. torch_ctr / torch_dephn import this package, so they are imported lazily here.
"""
import torch
import torch.nn as nn

from .apem import APEMReconstruction
from .htlnet import HTLNet
from .layers import Output, logit_output, task_head

CTR_MODELS = ["dcn", "dcn-v2", "nfm", "autoint", "fint", "xdeepfm"]

def _require(condition, name, what):
    if not condition:
        raise ValueError(f"{name}: the PyTorch twin does not implement {what}")


def _ctr_settings(name, cfg, width):
    """torch_ctr.TaskNetwork's (kind, cfg) for a Swift CTR configuration; width = D = F·d."""
    _require(not cfg["shareEmbedding"], name, "shareEmbedding")
    common = {"batch_norm": cfg["batchNorm"], "dropout": float(cfg["dropout"])}
    if name in ("dcn", "dcn-v2", "autoint", "xdeepfm"):
        _require(bool(cfg["deepWidths"]), name, "an empty deep part")
    if name == "dcn":
        return "dcn", {**common, "cross": {"layers": cfg["crossLayers"], "form": "vector"}, "deep": cfg["deepWidths"]}
    if name == "dcn-v2":
        c = cfg["cross"]
        form = c.get("form") or ("lowRank" if width > 512 else "full")
        _require(form in ("full", "lowRank", "mixture"), name, f"cross form {form}")
        rank = c.get("rank") or (32 if form == "mixture" else 64)
        cross = {"layers": c["layers"], "form": form, "rank": rank, "experts": c["experts"], "residual": c["residual"]}
        return "dcnV2", {**common, "cross": cross, "deep": cfg["deepWidths"], "stacked": cfg["structure"] == "stacked"}
    if name == "nfm":
        return "nfm", {**common, "tower": cfg["towerWidths"], "bi_norm": cfg["biInteractionNorm"]}
    if name == "autoint":
        a = cfg["attention"]
        autoint = {"layers": a["layers"], "heads": a["heads"], "d_k": a["headWidth"], "residual": a["residual"],
                   "scale_scores": a["scaleScores"]}
        return "autoIntPlus", {**common, "autoint": autoint, "deep": cfg["deepWidths"]}
    if name == "fint":
        i = cfg["interaction"]
        return "fint", {**common, "fint": {"layers": i["layers"], "mixing": i["mixing"]}, "tower": cfg["towerWidths"]}
    c = cfg["cin"]
    cin = {"sizes": tuple(c["layerSizes"]), "split_half": c["splitHalf"], "relu": c["activation"] == "relu"}
    _require(c["activation"] in ("identity", "relu"), name, f"CIN activation {c['activation']}")
    return "xDeepFM", {**common, "cin": cin, "deep": cfg["deepWidths"]}


class CTRModel(nn.Module):
    """A single-task CTR model (Funnel's PerTaskModel): networks.{t} = torch_ctr.TaskNetwork."""

    def __init__(self, name, vocab, n_dense, tasks, cfg):
        super().__init__()
        import torch_ctr
        d = cfg["embeddingWidth"]
        kind, settings = _ctr_settings(name, cfg, (len(vocab) + (1 if n_dense else 0)) * d)
        self.tasks = tasks
        self.networks = nn.ModuleList(torch_ctr.TaskNetwork(kind, vocab, n_dense, d, settings) for _ in tasks)

    def forward(self, x_cat, x_dense, y=None):
        return logit_output(torch.stack([net(x_cat, x_dense) for net in self.networks], dim=1), self.tasks)


def ctr_model(name):
    """The registry constructor of CTR model `name`."""
    return lambda vocab, n_dense, tasks, cfg: CTRModel(name, vocab, n_dense, tasks, cfg)


def _kinds(tasks, name, losses=("bce", "mse")):
    _require(all(t.get("loss", "bce" if t["kind"] == "binary" else "mse") in losses for t in tasks), name,
             f"losses other than {losses}")
    return [t["kind"] for t in tasks]


def dephn_model(vocab, n_dense, tasks, cfg):
    """torch_dephn.DEPHN (parameters at the top level, as Funnel's); the labels feed the virtual gradient."""
    import torch_dephn
    _require(cfg["outputCombination"] == "sumLogits", "dephn", "averageProbabilities heads in the benchmark")
    return _with_output(torch_dephn.DEPHN, takes_labels=True)(vocab, n_dense, _kinds(tasks, "dephn"), cfg, tasks)


def mtphn_model(vocab, n_dense, tasks, cfg):
    """torch_dephn.MTPHN."""
    import torch_dephn
    return _with_output(torch_dephn.MTPHN, takes_labels=False)(vocab, n_dense, _kinds(tasks, "mt-phn"), cfg, tasks)


def _with_output(base, takes_labels):
    """A subclass of `base` (forward -> raw [B, T]) whose forward returns an Output; state_dict names unchanged."""

    class Twin(base):
        def __init__(self, vocab, n_dense, kinds, cfg, tasks):
            super().__init__(vocab, n_dense, kinds, cfg)
            self.task_specs = tasks

        def forward(self, x_cat, x_dense, y=None):
            raw = super().forward(x_cat, x_dense, y) if takes_labels else super().forward(x_cat, x_dense)
            return logit_output(raw, self.task_specs)

    return Twin


class APEMModel(APEMReconstruction):
    """APEMReconstruction with Swift configuration keys; entire-space heads, calibrator as the auxiliary loss."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        _require(cfg["outputMode"] == "entireSpace", "apem-reconstruction", "outputMode chain")
        _kinds(tasks, "apem-reconstruction", losses=("bce",))
        super().__init__(vocab, n_dense, d=cfg["embeddingWidth"], use_dgt=cfg["useDGT"], attention=cfg["attention"],
                         inducing_points=cfg["inducingPoints"], heads=cfg["heads"], layers=cfg["dgtLayers"],
                         ff=cfg.get("feedForwardWidth"), use_se=cfg["useSE"], se_reduction=cfg["seReduction"],
                         se_activation=cfg["seActivation"], se_placement=cfg["sePlacement"],
                         n_patterns=cfg["numPatterns"], pattern_dims=tuple(cfg["patternWidths"]),
                         sharing=cfg["patternSharing"], task_specific=cfg["taskSpecificPatterns"],
                         selector=cfg["patternSelector"], adaptive_source=cfg["adaptiveSource"],
                         tower_dims=tuple(cfg["towerWidths"]), n_tasks=len(tasks), batch_norm=cfg["batchNorm"],
                         dropout=float(cfg["dropout"]), calibrator_weight=float(cfg["calibratorWeight"]))
        self.tasks = tasks

    def forward(self, x_cat, x_dense, y=None):
        logits = super().forward(x_cat, x_dense)
        aux = self.calibrator_loss(logits) if self.training and self.calibrator_weight > 0 else None
        return Output(logit_output(logits, self.tasks).heads, aux=aux)


class HTLNetModel(HTLNet):
    """HTLNet with Swift configuration keys. τ follows the Swift schedule (`set_step`); the core task is the last.
    `shared_parameters()` are what the gradient adjustment acts on (the embedding), as Funnel's sharedParameters."""

    def __init__(self, vocab, n_dense, tasks, cfg):
        _require(cfg["backbone"] == "htlnet", "htlnet", "the shared-bottom backbone")
        _require(not cfg["batchNorm"] and float(cfg["dropout"]) == 0, "htlnet", "batch norm or dropout in the towers")
        kinds = _kinds(tasks, "htlnet")
        super().__init__(vocab, n_dense, kinds, d=cfg["embeddingWidth"], tower_dims=tuple(cfg["towerWidths"]),
                         d_label=cfg["labelEmbeddingWidth"], d_fusion=cfg["fusionWidth"], rep_layer=cfg["repLayer"],
                         transfer_labels=cfg["transferLabels"], transfer_representations=cfg["transferRepresentations"],
                         fusion=cfg["fusion"], ifu_includes_own=cfg["ifuIncludesOwn"],
                         stop_gradient=cfg["stopGradientOnTransfer"], label_sampling=cfg["labelSampling"],
                         label_inference=cfg["labelInference"], core_activation=cfg["coreActivation"])
        self.tasks, self.schedule = tasks, cfg["temperature"]
        self.set_step(0)

    def set_step(self, step):
        s = self.schedule
        self.tau = max(s["minimum"], s["initial"] * s["decay"] ** (step // s["interval"]))

    def shared_parameters(self):
        return [p for n, p in self.named_parameters() if n.startswith(("embedding.", "dense_projection."))]

    def forward(self, x_cat, x_dense, y=None):
        # One tensor per head (not a stacked [B, T]): a per-task backward pass then reaches only that task's graph.
        return Output([task_head(z, task) for z, task in zip(super().forward(x_cat, x_dense, self.tau), self.tasks)])
