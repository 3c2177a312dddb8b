#!/usr/bin/env bash
# Runs the APEM-reconstruction comparison of experiments/apem.md, in priority order, one process at a time,
# one kernel thread. From the repository root, after `swift build -c release --product funnel`.
set -euo pipefail
FUNNEL=${FUNNEL:-.build/release/funnel}
DIR=experiments/apem
mkdir -p "$DIR/data"
[ -f "$DIR/data/funnel-50k.csv" ] || "$FUNNEL" synth funnel --preset smoke --rows 50000 --cross 1 --seed 0 --csv "$DIR/data/funnel-50k.csv"
for run in ${RUNS:-funnel-baselines funnel-ablations census-group1-baselines census-chain-baselines census-chain-ablation-noDGT census-chain-ablation-staticPS census-chain-ablation-uniformPS census-chain-ablation-noSE census-chain-ablation-mmoeGatePS census-group1-chained census-group1-ablation-noDGT census-group1-ablation-staticPS census-group1-ablation-uniformPS census-group1-ablation-noSE census-group1-ablation-mmoeGatePS funnel-ablations-seeds34 census-group1-ablation-noDGT-seeds34 census-group1-ablation-staticPS-seeds34 census-group1-ablation-uniformPS-seeds34 census-group1-ablation-noSE-seeds34 census-group1-ablation-mmoeGatePS-seeds34 census-chain-ablation-noDGT-seeds34 census-chain-ablation-staticPS-seeds34 census-chain-ablation-uniformPS-seeds34 census-chain-ablation-noSE-seeds34 census-chain-ablation-mmoeGatePS-seeds34}; do
    out=$(python3 -c "import json,sys; print(json.load(open('$DIR/$run.json'))['output'])")
    mkdir -p "$out"
    echo "== $run ($(date +%H:%M:%S))"
    "$FUNNEL" compare --config "$DIR/$run.json" --quiet > "$out/table.md" 2> "$out/progress.log"
done
echo "== done ($(date +%H:%M:%S))"
