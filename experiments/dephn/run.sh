#!/bin/sh
# Every run of experiments/dephn.md, in order, from the repository root: sh experiments/dephn/run.sh [synth|census]
# One process at a time, one kernel thread (FUNNEL_THREADS=1 and --threads 1).
set -e
export FUNNEL_THREADS=1
funnel=.build/release/funnel
d=experiments/dephn
stage=${1:-all}
if [ "$stage" != census ]; then
  # Synthetic DEPHN pairs (synthetic-data.md §6): 100,000 rows, data seed 0, 80/10/10 by row index; 5 models × 5 seeds.
  for pair in related unrelated; do
    $funnel compare --config $d/run-synth-$pair.yaml --threads 1 --quiet --out $d/synth-$pair 2>$d/synth-$pair.log
  done
fi
if [ "$stage" != synth ]; then
  # Census-Income groups 1 and 2 (MMoE protocol split); 4 models × 5 seeds and the DEPHN-without-VG ablation × 5 seeds
  # (group 1's ablation ran as seeds 0-2, then 3-4 in a later session; table.py merges the files by model and seed).
  $funnel compare --config $d/run-census-group1.yaml --models mmoe,ple,mt-phn,dephn --threads 1 --quiet \
    --out $d/census-group1 2>$d/census-group1.log
  $funnel compare --config $d/run-census-group1.yaml --models dephn-noVG=dephn --seeds 0,1,2 --threads 1 --quiet \
    --out $d/census-group1-noVG 2>$d/census-group1-noVG.log
  $funnel compare --config $d/run-census-group1.yaml --models dephn-noVG=dephn --seeds 3,4 --threads 1 --quiet \
    --out $d/census-group1-noVG-seeds34 2>$d/census-group1-noVG-seeds34.log
  $funnel compare --config $d/run-census-group2.yaml --models mmoe,ple,mt-phn,dephn --threads 1 --quiet \
    --out $d/census-group2 2>$d/census-group2.log
  $funnel compare --config $d/run-census-group2.yaml --models dephn-noVG=dephn --threads 1 --quiet \
    --out $d/census-group2-noVG 2>$d/census-group2-noVG.log
fi
