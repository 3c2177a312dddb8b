"""PyTorch reference models for Funnel parity fixtures and benchmarks.

Conventions follow baselines.md §1 (PyTorch ones). Parameter names (state_dict keys) are the
contract with the Swift side; every model's docstring in Funnel lists its names.

Registry: `build_model(name, vocab, n_dense, tasks, config)` mirrors Swift's
`ModelRegistry.standard`: the same model names, and configurations are the Swift
`Configuration` structs as camelCase dicts (DEFAULTS[name], merged with a partial `config`). DEFAULTS is read
from bench/model-defaults.json, which Swift writes (`funnel compare --list-models --json`); a Swift test keeps
that file equal to the registry's defaults, so no default is written twice.
tasks: [{"name", "kind": "binary"|"continuous", "loss": "bce"|"mse"|"ziln", "weight"}].
Each model's forward(x_cat, x_dense, y=None) takes GLOBAL ids (local id + field offset) and
returns an Output (heads, aux, extras); y (entire-space labels [B, T]) feeds auxiliary losses.
"""
import copy
import json
import os

from .chains import AITM, ESCM2, ESMM, AdaptiveInformationTransfer  # noqa: F401
from .layers import MLP, EmbeddingModel, Output, linear_macs  # noqa: F401
from .losses import chained_bce, multitask_bce, task_losses, total_loss, ziln_loss  # noqa: F401
from .mixtures import CGC, MMoE, MMoEModel, OMoE, PLE, SharedBottom, SingleTask  # noqa: F401
from .htlnet import AttentionFusion, HTLNet, LabelEmbedding, htlnet_adjust  # noqa: F401
from .apem import APEMReconstruction, InducedSetAttention, PatternSelector, SetAttentionBlock, SqueezeExcitation  # noqa: F401
from .twins import CTR_MODELS, APEMModel, HTLNetModel, ctr_model, dephn_model, mtphn_model  # noqa: F401

# name -> constructor; the same names as Swift's registry (every name of ModelRegistry.standard is twinned; the CTR,
# HTLNet, DEPHN/MT-PHN and APEM adapters are in twins.py).
REGISTRY = {
    "single-task": SingleTask,
    "shared-bottom": SharedBottom,
    "omoe": OMoE,
    "mmoe": MMoEModel,
    "cgc": CGC,
    "ple": PLE,
    "esmm": ESMM,
    "escm2-ips": ESCM2,
    "escm2-dr": ESCM2,
    "aitm": AITM,
    "aitm-mtreclib": AITM,
    **{name: ctr_model(name) for name in CTR_MODELS},
    "htlnet": HTLNetModel,
    "dephn": dephn_model,
    "mt-phn": mtphn_model,
    "apem-reconstruction": APEMModel,
}
MODELS = list(REGISTRY)
with open(os.path.join(os.path.dirname(__file__), "..", "model-defaults.json")) as _fh:
    DEFAULTS = json.load(_fh)
TWO_BINARY_TASKS = [{"name": "ctr", "kind": "binary", "loss": "bce"},
                    {"name": "ctcvr", "kind": "binary", "loss": "bce"}]


def _merged(base, overrides, path):
    """`overrides` merged into `base`: dicts key by key (recursively), anything else replaced; a key `base` lacks is
    an error (as in Swift's JSONValue.merging)."""
    if not isinstance(base, dict) or not isinstance(overrides, dict):
        return copy.deepcopy(overrides)
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if key not in base:
            raise KeyError(f"unknown configuration key '{path}{key}'")
        merged[key] = _merged(base[key], value, f"{path}{key}.")
    return merged


def merged_config(name, config=None):
    """DEFAULTS[name] with `config` merged over it; an unknown key is an error (as in Swift)."""
    return _merged(DEFAULTS[name], config or {}, f"{name}: ")


def build_model(name, vocab, n_dense, tasks=None, config=None):
    return REGISTRY[name](vocab, n_dense, tasks or TWO_BINARY_TASKS, merged_config(name, config))
