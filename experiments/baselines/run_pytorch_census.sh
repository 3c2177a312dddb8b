#!/bin/sh
# PyTorch twins on the exact rows Funnel trains on (Census-Income, MMoE group 1), 5 seeds, Funnel's protocol.
# Run from the repository root after `swift build -c release`.
set -e
EXPORT=${EXPORT:-/tmp/baselines/census-export}
OUT=experiments/baselines/census/pytorch
mkdir -p "$OUT"
.build/release/funnel data export --schema recipes/census-income-mmoe.yaml --data-dir ../shared/data --out "$EXPORT"
for model in single-task shared-bottom omoe mmoe ple; do
  python3 bench/pytorch_train.py --data "$EXPORT" --model $model --config-file experiments/baselines/census-run.json \
    --seeds 0 1 2 3 4 --epochs 8 --patience 2 --batch 2048 --lr 1e-3 --threads 1 --out "$OUT/$model.json"
done
