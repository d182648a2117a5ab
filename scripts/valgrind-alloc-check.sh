#!/usr/bin/env bash
# Zero allocations per frame, C code included (issue 3).
#
# tests/zero_alloc.rs counts allocations made through Rust's allocator; it
# cannot see malloc calls inside AWS-LC's C code. This runs that test under
# valgrind at two frame counts and requires the process-wide malloc totals
# (Rust and C alike) to be identical: any per-frame allocation anywhere
# would make the longer run allocate more.
#
# Usage: scripts/valgrind-alloc-check.sh [extra cargo args, e.g. --no-default-features --features std]
# Needs: valgrind (apt-get install -y valgrind).
set -euo pipefail

bin=$(cargo test -p framecrypt "$@" --test zero_alloc --no-run 2>&1 |
    grep -o '(target/[^)]*zero_alloc-[0-9a-f]*)' | tr -d '()' | tail -1)
[ -x "$bin" ] || { echo "zero_alloc test binary not found" >&2; exit 1; }

allocs() {
    local log
    log=$(mktemp)
    if ! FRAMECRYPT_ZERO_ALLOC_FRAMES=$1 valgrind --error-exitcode=99 "$bin" >"$log" 2>&1; then
        echo "FAIL: the zero_alloc test failed under valgrind at $1 frames/suite:" >&2
        grep -v '^==' "$log" | tail -20 >&2
        exit 1
    fi
    sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$log"
    rm -f "$log"
}

short=$(allocs 100)
long=$(allocs 1000)
echo "heap allocations, whole process: 100 frames/suite: $short; 1000 frames/suite: $long"
if [ -z "$short" ] || [ "$short" != "$long" ]; then
    echo "FAIL: allocations grow with the number of frames" >&2
    exit 1
fi
echo "OK: no allocation per frame (Rust and C)"
