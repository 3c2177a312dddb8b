#!/bin/sh
# The exact commands of experiments/htlnet.md, from this folder, one process at a time, one kernel thread.
# FUNNEL: the release binary (swift build -c release --product funnel). The funnel CSV comes from make-funnel-csv.sh.
set -eu
funnel=${FUNNEL:-../../.build/release/funnel}
for dataset in funnel census; do
    "$funnel" compare --config $dataset.yaml --seeds 0,1,2 --quiet --out $dataset/seeds012
done
for dataset in funnel census; do
    "$funnel" compare --config $dataset.yaml --models "HTLNet=htlnet,Shared-Bottom=shared-bottom,MMoE=mmoe,PLE=ple,ESMM=esmm,AITM=aitm" \
        --seeds 3,4 --quiet --out $dataset/seeds34
done
# Extra rows (seeds 0-2): HTLNet with τ = 1, the batch-norm baselines without batch norm.
for dataset in funnel census; do
    "$funnel" compare --config $dataset-extra.yaml --quiet --out $dataset/extra
done
