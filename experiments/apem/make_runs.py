"""Writes the run files of the APEM-reconstruction comparison (experiments/apem.md).

One run file per dataset and group (baselines + APEM-reconstruction, then the ablations), so the two groups can
use different seed lists. Model sizes follow the experiment brief (embedding width 8, widths <= 64, <= 8 experts)
and are matched across models: K = 6 experts/patterns of MLP [64, 32], towers [32]. APEM-reconstruction uses one DGT
block (dgtLayers 1, spec default 2) to fit the CPU budget: the DGT is 3-4x the cost of the rest of the model.
Census runs: at most 4 epochs, patience 1; funnel: at most 8 epochs, patience 2. Ablations: seeds 0-2 in one file
and seeds 3-4 in a second (`-seeds34`, run in a later session); tables.py merges runs by model and seed.
Usage: python3 experiments/apem/make_runs.py  (from the repository root)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

APEM = {"embeddingWidth": 8, "dgtLayers": 1, "heads": 2, "inducingPoints": 4, "numPatterns": 6,
        "patternWidths": [64, 32], "towerWidths": [32]}
BASELINES = [
    {"name": "apem-reconstruction", "label": "APEM-reconstruction", "configuration": APEM},
    {"name": "mmoe", "label": "MMoE",
     "configuration": {"embeddingWidth": 8, "experts": 6, "expertWidths": [64, 32], "towerWidths": [32]}},
    {"name": "ple", "label": "PLE",
     "configuration": {"embeddingWidth": 8, "taskExperts": 2, "sharedExperts": 2, "expertDimsPerLevel": [[64], [32]],
                       "towerWidths": [32]}},
    {"name": "esmm", "label": "ESMM", "configuration": {"embeddingWidth": 8, "towerWidths": [64, 32]}},
    {"name": "aitm", "label": "AITM", "configuration": {"embeddingWidth": 8, "towerWidths": [64, 32, 16]}},
]
ABLATIONS = [
    ("APEM-reconstruction-noDGT", {"useDGT": False}),
    ("APEM-reconstruction-noSE", {"useSE": False}),
    ("APEM-reconstruction-uniformPS", {"patternSelector": "uniform"}),
    ("APEM-reconstruction-mmoeGatePS", {"patternSelector": "mmoeGate"}),
    ("APEM-reconstruction-staticPS", {"patternSelector": "static"}),
]

DATASETS = {
    # name: (data section, batch size, max epochs, patience)
    "funnel": ({"schema": "funnel-entire-space.yaml", "dataDir": "data"}, 1024, 8, 2),
    "census-group1": ({"schema": "../../recipes/census-income-mmoe.yaml", "dataDir": "../../../shared/data"}, 2048, 4, 1),
    "census-chain": ({"schema": "census-binary-chain.yaml", "dataDir": "../../../shared/data"}, 2048, 4, 1),
}


def training(batch, epochs, patience):
    return {"epochs": epochs, "batchSize": batch, "evaluationBatchSize": 8192,
            "optimizer": {"kind": "adam", "learningRate": 0.001, "weightDecay": 1e-6, "momentum": 0, "lazyEmbeddingRows": False},
            "earlyStopping": {"monitor": "mean(auc)", "patience": patience, "minDelta": 0, "restoreBest": True}, "threads": 1, "logEvery": 1000}


def write(path, data, models, schedule, seeds, output):
    run = {"data": data, "models": models, "training": training(*schedule), "seeds": seeds, "output": output}
    with open(path, "w") as f:
        json.dump(run, f, indent=1)
        f.write("\n")


ABLATION_MODELS = [{"name": "apem-reconstruction", "label": label, "configuration": {**APEM, **change}}
                   for label, change in ABLATIONS]
for name, (data, *schedule) in DATASETS.items():
    out = f"experiments/apem/{name}"
    if name == "census-group1":
        # income and marital status are not funnel steps: ESMM and AITM run last, in their own file.
        write(os.path.join(HERE, f"{name}-baselines.json"), data, BASELINES[:3], schedule, [0, 1, 2, 3, 4], f"{out}/baselines")
        write(os.path.join(HERE, f"{name}-chained.json"), data, BASELINES[3:], schedule, [0, 1, 2, 3, 4], f"{out}/chained")
    else:
        write(os.path.join(HERE, f"{name}-baselines.json"), data, BASELINES, schedule, [0, 1, 2, 3, 4], f"{out}/baselines")
    if name == "funnel":
        write(os.path.join(HERE, f"{name}-ablations.json"), data, ABLATION_MODELS, schedule, [0, 1, 2], f"{out}/ablations")
        write(os.path.join(HERE, f"{name}-ablations-seeds34.json"), data, ABLATION_MODELS, schedule, [3, 4],
              f"{out}/ablations-seeds34")
    else:
        # One file per ablation on the (slow) census data, so every finished ablation is written on its own.
        for model in ABLATION_MODELS:
            short = model["label"].removeprefix("APEM-reconstruction-")
            write(os.path.join(HERE, f"{name}-ablation-{short}.json"), data, [model], schedule, [0, 1, 2],
                  f"{out}/ablation-{short}")
            write(os.path.join(HERE, f"{name}-ablation-{short}-seeds34.json"), data, [model], schedule, [3, 4],
                  f"{out}/ablation-{short}-seeds34")
