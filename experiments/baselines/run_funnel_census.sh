#!/bin/sh
# Funnel side of the Census-Income comparison (MMoE protocol, group 1): 5 models × seeds 0–4.
# Run from the repository root after `swift build -c release`.
set -e
FUNNEL_THREADS=1 .build/release/funnel compare --config experiments/baselines/census-run.json \
  --data recipes/census-income-mmoe.yaml --data-dir ../shared/data --threads 1 --quiet \
  --out experiments/baselines/census/funnel
