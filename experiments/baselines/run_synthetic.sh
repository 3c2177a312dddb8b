#!/bin/sh
# MMoE's synthetic experiment: two regression tasks whose weight vectors have cosine p, Shared-Bottom / OMoE / MMoE.
# One replicate s = 0..4 draws fresh data (data seed s) and initialises the models with seed s, as the MMoE paper
# regenerates the data for every repetition. Run from the repository root after `swift build -c release`.
set -e
ROWS=${ROWS:-100000}
OUT=experiments/baselines/synthetic
mkdir -p "$OUT"
: > "$OUT/correlations.txt"
for s in 0 1 2 3 4; do
  echo "# data seed $s, $ROWS rows" >> "$OUT/correlations.txt"
  .build/release/funnel synth correlated --cosine 0.5,0.9,1.0 --rows "$ROWS" --seed $s >> "$OUT/correlations.txt"
done
cat "$OUT/correlations.txt"
for p in 0.5 0.9 1.0; do
  mkdir -p "$OUT/p$p"
  for s in 0 1 2 3 4; do
    FUNNEL_THREADS=1 .build/release/funnel compare --config experiments/baselines/synthetic-run.json \
      --synthetic correlated --cosine $p --rows "$ROWS" --data-seed $s --seeds $s --threads 1 --quiet \
      --out "$OUT/p$p/seed$s" > "$OUT/p$p/seed$s.log" 2>&1 || { cat "$OUT/p$p/seed$s.log"; exit 1; }
    tail -n 12 "$OUT/p$p/seed$s.log"
  done
done
python3 experiments/baselines/tables.py synthetic
