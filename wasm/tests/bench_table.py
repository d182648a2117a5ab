#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table of the browser speed case from several
runs (`scripts/ci-browser.sh --only bench --bench runN.json`): per frame
and operation, the smallest of the runs' medians, as for the native
benchmarks.

    python3 wasm/tests/bench_table.py run1.json run2.json ...
"""
import json
import sys

LABELS = {
    "key": "VP8 keyframe, 1280x720",
    "delta": "VP8 delta frame, 1280x720",
    "audio": "Opus frame",
    "key padded to 100 kB": "VP8 keyframe padded to 100 kB",
}


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    rows = {}
    for run in runs:
        for r in run["results"]:
            rows.setdefault(r["kind"], []).append(r)
    print("| frame | bytes | framecrypt protect | framecrypt unprotect "
          "| WebCrypto AES-GCM encrypt | WebCrypto AES-GCM decrypt |")
    print("|---|---|---|---|---|---|")
    for kind in ["key", "delta", "key padded to 100 kB", "audio"]:
        rs = rows.get(kind)
        if not rs:
            continue
        size = sorted(r["bytes"] for r in rs)[len(rs) // 2]
        best = {k: min(r[k] for r in rs) for k in
                ("protectUs", "unprotectUs", "webcryptoEncryptUs", "webcryptoDecryptUs")}
        assert all(r["intact"] and r["heapDelta"] == 0 for r in rs)
        mb = lambda us: f"{size / us:,.0f} MB/s" if size >= 1000 else ""
        cells = [f"{best[k]:,.1f} µs" + (f" ({mb(best[k])})" if mb(best[k]) else "")
                 for k in ("protectUs", "unprotectUs", "webcryptoEncryptUs", "webcryptoDecryptUs")]
        print(f"| {LABELS.get(kind, kind)} | {size:,} | " + " | ".join(cells) + " |")
    agents = {r.get("userAgent", "") for r in runs}
    print(f"\n{len(runs)} runs; {', '.join(sorted(agents))}; "
          f"{runs[0].get('cores')} logical cores reported")


if __name__ == "__main__":
    main(sys.argv[1:])
