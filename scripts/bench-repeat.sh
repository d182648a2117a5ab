#!/usr/bin/env bash
# Run the whole benchmark N times in criterion's quick mode and keep each
# run's results, so that scripts/bench-table.py can take, per benchmark, the
# minimum of the N medians (BENCHMARKS.md explains why on a shared machine).
#
# Usage: scripts/bench-repeat.sh N OUTDIR [cargo bench args, e.g. --no-default-features for RustCrypto]
set -euo pipefail
n=$1 out=$2
shift 2
cargo bench -p framecrypt-bench --bench frame "$@" --no-run
mkdir -p "$out"
for i in $(seq 1 "$n"); do
    rm -rf target/criterion
    cargo bench -p framecrypt-bench --bench frame "$@" -- --quick > "$out/run$i.log" 2>&1
    rm -rf "$out/run$i"
    cp -r target/criterion "$out/run$i"
    echo "run $i of $n done"
done
