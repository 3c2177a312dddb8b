#!/bin/sh
# MMoE's synthetic experiment: two regression tasks whose weight vectors have cosine p, Shared-Bottom / OMoE / MMoE.
# One replicate s = 0..4 draws fresh data (data seed s) and initialises the models with seed s, as the MMoE paper
# regenerates the data for every repetition. Run from the repository root after `swift build -c release`.
set -e
# Usage: [SEEDS="0 1 2 3 4"] run_synthetic.sh LR   (results in experiments/baselines/synthetic/lrLR/)
LR=${1:?learning rate}
SEEDS=${SEEDS:-0 1 2 3 4}
ROWS=${ROWS:-100000}
BASE=experiments/baselines/synthetic
OUT=$BASE/lr$LR
mkdir -p "$OUT"
touch "$BASE/correlations.txt"
for s in $SEEDS; do
  if ! grep -q "^# data seed $s," "$BASE/correlations.txt"; then
    echo "# data seed $s, $ROWS rows" >> "$BASE/correlations.txt"
    .build/release/funnel synth correlated --cosine 0.5,0.9,1.0 --rows "$ROWS" --seed $s >> "$BASE/correlations.txt"
  fi
done
cat "$BASE/correlations.txt"
for p in 0.5 0.9 1.0; do
  mkdir -p "$OUT/p$p"
  for s in $SEEDS; do
    FUNNEL_THREADS=1 .build/release/funnel compare --config experiments/baselines/synthetic-run.json \
      --synthetic correlated --cosine $p --rows "$ROWS" --data-seed $s --seeds $s --lr "$LR" --threads 1 --quiet \
      --out "$OUT/p$p/seed$s" > "$OUT/p$p/seed$s.log" 2>&1 || { cat "$OUT/p$p/seed$s.log"; exit 1; }
    tail -n 12 "$OUT/p$p/seed$s.log"
  done
done
python3 experiments/baselines/tables.py synthetic "$OUT"
