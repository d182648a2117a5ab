#!/usr/bin/env python3
"""The codec table of BENCHMARKS.md, from criterion results of
`cargo bench -p framecrypt-bench --bench codec` (issue 17).

For every codec and frame: protect and unprotect (slice doors) next to a
plain seal and open of the same frame, their ratios, the in-place round
trip next to the plain one, and `sfu::inspect_codec`. Given several result
directories (one per run, as scripts/bench-repeat.sh keeps them), each
ratio is the median over the runs of the ratio taken within one run, and
each time the smallest median.

Usage: python3 benches/codec-table.py BACKEND [DIR ...]   (default DIR: target/criterion)
"""

import json
import sys
from pathlib import Path

backend = sys.argv[1] if len(sys.argv) > 1 else "aws-lc"
roots = [Path(p) for p in sys.argv[2:] if Path(p).is_dir()] or [Path("target/criterion")]

runs = []
for root in roots:
    run = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        parts = meta["group_id"].split("/")
        if parts[0] != "codec" or parts[1] != backend:
            continue
        est = json.loads((bench.parent / "estimates.json").read_text())
        run[(parts[2], parts[3], meta["function_id"])] = est["median"]["point_estimate"]
    runs.append(run)

keys = set().union(*runs)
ORDER = ["opus", "vp8", "vp9", "h264", "h265", "av1", "h264 00 00 in the header"]
frames = sorted({(c, f) for c, f, _ in keys}, key=lambda k: (
    ORDER.index(k[0]) if k[0] in ORDER else len(ORDER), int(k[1].split()[0])))


def best(codec, frame, row):
    values = [r[(codec, frame, row)] for r in runs if (codec, frame, row) in r]
    return min(values) if values else None


def ratio(codec, frame, num, den):
    values = sorted(r[(codec, frame, num)] / r[(codec, frame, den)] for r in runs
                    if (codec, frame, num) in r and (codec, frame, den) in r)
    return values[len(values) // 2] if values else float("nan")


def fmt(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def target(codec, frame):
    size = int(frame.split()[0])
    if codec.startswith(("h264", "h265")):
        return 2.5 if size < 10_000 else 2.0
    return 1.2


print(f"<!-- {backend}: {len(runs)} run(s); times: smallest median; ratios: median of per-run ratios -->")
print()
print("| codec | frame | protect | seal | ÷ | unprotect | open | ÷ | target | "
      "round trip in place | seal + open in place | ÷ | inspect | peek |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
for codec, frame in frames:
    p = ratio(codec, frame, "protect", "seal")
    u = ratio(codec, frame, "unprotect", "open")
    t = target(codec, frame)
    met = "met" if max(p, u) <= t else "**not met**"
    print(f"| {codec} | {frame} | {fmt(best(codec, frame, 'protect'))} | "
          f"{fmt(best(codec, frame, 'seal'))} | {p:.2f} | "
          f"{fmt(best(codec, frame, 'unprotect'))} | {fmt(best(codec, frame, 'open'))} | "
          f"{u:.2f} | ≤ {t}: {met} | "
          f"{fmt(best(codec, frame, 'round trip in place'))} | "
          f"{fmt(best(codec, frame, 'seal + open in place'))} | "
          f"{ratio(codec, frame, 'round trip in place', 'seal + open in place'):.2f} | "
          f"{fmt(best(codec, frame, 'inspect'))} | {fmt(best(codec, frame, 'peek'))} |")
