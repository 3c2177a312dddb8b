#!/usr/bin/env bash
# Runs one libFuzzer harness of Fuzz/ (RELIABILITY.md, "Fuzzing") for a time or a number of executions, keeping its
# corpus in Fuzz/corpus/TARGET so that runs add up, and crashing inputs in Fuzz/crashes/TARGET.
#
#   bash scripts/fuzz.sh TARGET [SECONDS | RUNSr]     e.g. fuzz.sh FuzzCSV 480   or   fuzz.sh FuzzCSV 1000000r
#   bash scripts/fuzz.sh list
# Run it through `cpu` on the shared machine, in chunks of at most 8 minutes.
#
# Adding a harness: one executable target in Fuzz/Package.swift and Fuzz/Sources/NAME/Harness.swift defining
# `@_cdecl("LLVMFuzzerTestOneInput") func …(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt`; seeds go in
# Fuzz/seeds/NAME/ (optional). Nothing here needs to change.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
target=${1:?usage: fuzz.sh TARGET [SECONDS|RUNSr] (fuzz.sh list)}
if [ "$target" = list ]; then sed -n 's/.*executableTarget(name: "\([A-Za-z]*\)".*/\1/p' Package.swift; exit 0; fi
budget=${2:-60}
swift build -c release --product "$target" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    -Xcc -mavx2 -Xcc -mfma >&2
binary=$(swift build -c release --show-bin-path)/$target
mkdir -p "corpus/$target" "crashes/$target"
seeds=(); [ -d "seeds/$target" ] && seeds=("seeds/$target")
if [[ $budget == *r ]]; then limit=(-runs="${budget%r}"); else limit=(-max_total_time="$budget"); fi
# -seed is printed by libFuzzer ("Seed: N"); RELIABILITY.md records it with the execution counts.
"$binary" "corpus/$target" "${seeds[@]}" "${limit[@]}" -artifact_prefix="crashes/$target/" -print_final_stats=1 \
    -max_len=4096 -timeout=10 -rss_limit_mb=4096
