#!/usr/bin/env python3
"""The BENCHMARKS.md table of benches/forged.rs (issue 16, point 4).

Reads criterion's `**/new/{benchmark,estimates}.json` under one directory
per run and prints, per suite and receiver kind, the genuine decrypt and
the worst forged frame at 100 B and 1,200 B (the smallest median over the
runs), and the worst forged frame of either size divided by the genuine
decrypt of 1,200 B through the same receiver kind (the median over the runs
of that ratio, each taken within one run), against the 5x target.

Usage: python3 benches/forged-table.py RUN_DIR [RUN_DIR ...]
"""

import json
import sys
from pathlib import Path

TARGET = 5.0
SIZES = ["100", "1200"]
SUITES = [
    "AES_128_CTR_HMAC_SHA256_80",
    "AES_128_CTR_HMAC_SHA256_64",
    "AES_128_CTR_HMAC_SHA256_32",
    "AES_128_GCM_SHA256_128",
    "AES_256_GCM_SHA512_128",
    "AES_256_CTR_HMAC_SHA512_80",
    "AES_256_CTR_HMAC_SHA512_64",
    "AES_256_CTR_HMAC_SHA512_32",
]
# kind -> (genuine case, [forged cases, the worst of which counts])
KINDS = {
    "Receiver": ("Receiver genuine", ["Receiver forged"]),
    "RatchetingReceiver": (
        "RatchetingReceiver genuine",
        [
            "RatchetingReceiver forged, 64 steps ahead",
            "RatchetingReceiver forged, retained and ahead (R = 2)",
        ],
    ),
    "EpochManager, 2,048 leaves in 32 slots": (
        "EpochManager genuine",
        ["EpochManager forged, new member KID"],
    ),
    "EpochManager, 16 leaves in 32 slots": (
        "EpochManager (roster) genuine",
        [
            "EpochManager (roster) forged, member KID",
            "EpochManager (roster) forged, KID outside the roster",
        ],
    ),
    "codec, VP8 + whole-frame fallback, over a RatchetingReceiver": (
        "codec VP8 fallback genuine",
        ["codec VP8 fallback forged, two steps ahead"],
    ),
}

runs = []
for root in map(Path, sys.argv[1:]):
    run = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        run[(meta["group_id"], meta["function_id"])] = est["median"]["point_estimate"]
    if run:
        runs.append(run)
if not runs:
    sys.exit("no results")
backend = next(iter(runs[0]))[0].split("/")[1]


def group(suite, size):
    return f"forged/{backend}/{suite}/{size}"


def smallest(suite, size, case):
    values = [run[(group(suite, size), case)] for run in runs if (group(suite, size), case) in run]
    return min(values) if values else float("nan")


def worst(run, suite, size, cases):
    return max(run.get((group(suite, size), c), float("nan")) for c in cases)


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print(f"<!-- {len(runs)} run(s); times: smallest median; ratio: median over the runs -->")
print()
print("| suite | receiver | genuine 100 B | worst forged 100 B | genuine 1,200 B | worst forged 1,200 B | worst forged ÷ genuine 1,200 B | ≤ 5x |")
print("|---|---|---|---|---|---|---|---|")
misses = 0
for suite in SUITES:
    for kind, (genuine, forged) in KINDS.items():
        ratios = []
        for run in runs:
            base = run.get((group(suite, "1200"), genuine))
            if base:
                ratios.append(max(worst(run, suite, s, forged) for s in SIZES) / base)
        ratios.sort()
        ratio = ratios[len(ratios) // 2] if ratios else float("nan")
        met = ratio <= TARGET
        misses += not met
        cells = []
        for size in SIZES:
            cells.append(fmt(smallest(suite, size, genuine)))
            cells.append(fmt(max(smallest(suite, size, c) for c in forged)))
        print(f"| {suite} | {kind} | " + " | ".join(cells) + f" | {ratio:.2f}x | {'met' if met else '**not met**'} |")
print()
print(f"<!-- {misses} row(s) above the target -->")
