#!/usr/bin/env python3
"""Markdown tables of criterion medians (issue 3).

Reads criterion's `**/new/{benchmark,estimates}.json` under one or more
result directories and prints, per backend, operation and suite, the median
time of every contender and framecrypt's ratio to the raw AEAD and to
`sframe`. Given several directories (one per run, as written by
scripts/bench-repeat.sh), each benchmark's figure is the smallest of its
medians across the runs.

Usage: python3 scripts/bench-table.py BACKEND [DIR ...]   (default DIR: target/criterion)
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

only_backend = sys.argv[1] if len(sys.argv) > 1 else None
roots = [Path(p) for p in sys.argv[2:] if Path(p).is_dir()] or [Path("target/criterion")]

# (group, function, value) -> smallest median ns over the runs
medians = {}
# run index -> (group, function, value) -> median ns
per_run = []
for root in roots:
    run = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        key = (meta["group_id"], meta["function_id"], meta.get("value_str"))
        median = est["median"]["point_estimate"]
        medians[key] = min(median, medians.get(key, median))
        run[key] = median
    per_run.append(run)


def median_ratio(group, num, den, value):
    """The median over runs of num/den, each ratio taken within one run."""
    ratios = sorted(
        run[(group, num, value)] / run[(group, den, value)]
        for run in per_run
        if (group, num, value) in run and (group, den, value) in run
    )
    return ratios[len(ratios) // 2] if ratios else float("nan")
print(f"<!-- smallest median of {len(roots)} run(s) per benchmark -->")


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_cell(ns, size):
    if size >= 10_000:
        return f"{fmt_time(ns)} ({size / ns:.2f} GB/s)"
    return fmt_time(ns)


groups = defaultdict(dict)
for (group, function, value), ns in medians.items():
    groups[group][(function, value)] = ns

for group in sorted(groups):
    parts = group.split("/")
    # Header parsing runs no cipher: it belongs to every backend's report.
    if only_backend and parts[0] != "header" and parts[1] != only_backend:
        continue
    entries = groups[group]
    print(f"\n#### {group}\n")
    if parts[0] in ("encrypt", "decrypt"):
        functions = sorted({f for f, _ in entries}, key=lambda f: (
            0 if f == "framecrypt in place" else
            1 if f == "framecrypt slice" else
            2 if f.startswith("raw") else 3))
        raw = next(f for f in functions if f.startswith("raw"))
        other = next((f for f in functions if f.startswith("sframe")), None)
        header = ["size"] + functions + ["in place ÷ raw", "slice ÷ raw"]
        if len(per_run) > 1:
            header.append("in place ÷ raw, per-run median")
        if other:
            header.append(f"{other} ÷ in place")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        sizes = sorted({int(v) for _, v in entries})
        for size in sizes:
            v = str(size)
            row = [f"{size:,} B"]
            for f in functions:
                ns = entries.get((f, v))
                row.append(fmt_cell(ns, size) if ns else "–")
            base = entries[(raw, v)]
            row.append(f"{entries[('framecrypt in place', v)] / base:.3f}")
            row.append(f"{entries[('framecrypt slice', v)] / base:.3f}")
            if len(per_run) > 1:
                row.append(f"{median_ratio(group, 'framecrypt in place', raw, v):.3f}")
            if other:
                row.append(f"{entries[(other, v)] / entries[('framecrypt in place', v)]:.2f}×")
            print("| " + " | ".join(row) + " |")
    else:
        first = None
        print("| case | median | ratio to first |")
        print("|---|---|---|")
        # The reference case first: one key, a good frame, the shortest header.
        order = sorted(entries, key=lambda k: (k[0] not in ("1 key", "good", "1 byte"), k[0]))
        for function, value in order:
            ns = entries[(function, value)]
            name = function if value is None else f"{function} {value}"
            if first is None:
                first = ns
            print(f"| {name} | {fmt_time(ns) if ns >= 10 else f'{ns:.2f} ns'} | {ns / first:.3f} |")
