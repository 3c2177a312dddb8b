#!/bin/sh
# Writes the funnel synthetic CSV read by funnel-synthetic-htlnet.yaml (smoke rates, 100,000 rows, seed 0) into
# $1 (default: /tmp/htlnet-data), with a leading 0-based `row` column for the row-index split.
set -eu
out=${1:-/tmp/htlnet-data}
funnel=${FUNNEL:-.build/release/funnel}
mkdir -p "$out"
"$funnel" synth funnel --preset smoke --rows 100000 --seed 0 --csv "$out/raw.csv"
awk 'NR == 1 { print "row," $0; next } { print (NR - 2) "," $0 }' "$out/raw.csv" > "$out/funnel-smoke-100k.csv"
rm "$out/raw.csv"
