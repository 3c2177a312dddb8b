"""PyTorch reference models for Funnel parity fixtures and benchmarks.

Conventions follow baselines.md §1 (PyTorch ones). Parameter names (state_dict keys) are the
contract with the Swift side; every model's docstring in Funnel lists its names.

Registry: `build_model(name, vocab, n_dense, tasks, config)` mirrors Swift's
`ModelRegistry.standard`: the same model names, and configurations are the Swift
`Configuration` structs as camelCase dicts (DEFAULTS[name], merged with a partial `config`).
tasks: [{"name", "kind": "binary"|"continuous", "loss": "bce"|"mse"|"ziln", "weight"}].
Each model's forward(x_cat, x_dense, y=None) takes GLOBAL ids (local id + field offset) and
returns an Output (heads, aux, extras); y (entire-space labels [B, T]) feeds auxiliary losses.
"""
import copy

from .chains import AITM, ESCM2, ESMM, AdaptiveInformationTransfer  # noqa: F401
from .layers import MLP, EmbeddingModel, Output, linear_macs  # noqa: F401
from .losses import chained_bce, multitask_bce, task_losses, total_loss, ziln_loss  # noqa: F401
from .mixtures import CGC, MMoE, MMoEModel, OMoE, PLE, SharedBottom, SingleTask  # noqa: F401
from .htlnet import AttentionFusion, HTLNet, LabelEmbedding, htlnet_adjust  # noqa: F401
from .apem import APEMReconstruction, InducedSetAttention, PatternSelector, SetAttentionBlock, SqueezeExcitation  # noqa: F401
from .twins import (APEM_DEFAULTS, CTR_DEFAULTS, DEPHN_DEFAULTS, HTLNET_DEFAULTS, MTPHN_DEFAULTS, APEMModel,  # noqa: F401
                    HTLNetModel, ctr_model, dephn_model, mtphn_model)

_BASE = {"embeddingWidth": 16, "batchNorm": True, "dropout": 0.0}
_ESCM2 = {**_BASE, "backbone": "towers", "towerWidths": [256, 128, 64], "experts": 8, "expertWidths": [16],
          "counterfactualWeight": 0.5, "minimumPropensity": 1 / 15, "imputationOutput": "softplus",
          "detachPropensityInDoublyRobust": True, "detachDoublyRobustTargets": True,
          "regressionHead": "direct"}
_AITM = {"variant": "official", "embeddingWidth": 16, "towerWidths": [128, 64, 32],
         "towerDropouts": [0.1, 0.3, 0.3], "transferDropout": 0.3, "batchNorm": False, "headWidths": [],
         "headDropout": 0.0, "calibratorWeight": 0.6, "l2Penalty": 1e-6, "regressionHead": "direct"}

# name -> (constructor, default configuration); the same names and defaults as Swift's registry (every name of
# ModelRegistry.standard is twinned; the CTR, HTLNet, DEPHN/MT-PHN and APEM adapters are in twins.py).
REGISTRY = {
    "single-task": (SingleTask, {**_BASE, "bottomWidths": [256, 128], "towerWidths": [64], "shareEmbedding": False}),
    "shared-bottom": (SharedBottom, {**_BASE, "bottomWidths": [256, 128], "towerWidths": [64]}),
    "omoe": (OMoE, {**_BASE, "experts": 8, "expertWidths": [256, 128], "towerWidths": [64]}),
    "mmoe": (MMoEModel, {**_BASE, "experts": 8, "expertWidths": [256, 128], "towerWidths": [64]}),
    "cgc": (CGC, {**_BASE, "taskExperts": 2, "sharedExperts": 2, "expertWidths": [256, 128], "towerWidths": [64]}),
    "ple": (PLE, {**_BASE, "taskExperts": 2, "sharedExperts": 2, "expertDimsPerLevel": [[256], [128]],
                  "towerWidths": [64]}),
    "esmm": (ESMM, {**_BASE, "towerWidths": [256, 128, 64], "regressionHead": "direct"}),
    "escm2-ips": (ESCM2, {**_ESCM2, "estimator": "ips"}),
    "escm2-dr": (ESCM2, {**_ESCM2, "estimator": "dr"}),
    "aitm": (AITM, _AITM),
    "aitm-mtreclib": (AITM, {**_AITM, "variant": "mtreclib", "towerWidths": [512, 256], "towerDropouts": [0.2, 0.2],
                             "batchNorm": True, "headWidths": [128, 64], "headDropout": 0.2,
                             "calibratorWeight": 0.0, "l2Penalty": 0.0}),
    **{name: (ctr_model(name), defaults) for name, defaults in CTR_DEFAULTS.items()},
    "htlnet": (HTLNetModel, HTLNET_DEFAULTS),
    "dephn": (dephn_model, DEPHN_DEFAULTS),
    "mt-phn": (mtphn_model, MTPHN_DEFAULTS),
    "apem-reconstruction": (APEMModel, APEM_DEFAULTS),
}
MODELS = list(REGISTRY)
DEFAULTS = {name: defaults for name, (_, defaults) in REGISTRY.items()}
TWO_BINARY_TASKS = [{"name": "ctr", "kind": "binary", "loss": "bce"},
                    {"name": "ctcvr", "kind": "binary", "loss": "bce"}]


def merged_config(name, config=None):
    """DEFAULTS[name] with `config`'s keys replaced; an unknown key is an error (as in Swift)."""
    cfg = copy.deepcopy(DEFAULTS[name])
    for key, value in (config or {}).items():
        if key not in cfg:
            raise KeyError(f"unknown configuration key '{key}' for {name}")
        cfg[key] = value
    return cfg


def build_model(name, vocab, n_dense, tasks=None, config=None):
    cls, _ = REGISTRY[name]
    return cls(vocab, n_dense, tasks or TWO_BINARY_TASKS, merged_config(name, config))
