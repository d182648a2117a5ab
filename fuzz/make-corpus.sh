#!/usr/bin/env bash
# Regenerates the committed seed corpus, fuzz/corpus/<target>/, from the
# test vectors in tests/data/ (see fuzz/README.md). Deterministic: running
# it on an up-to-date clone changes nothing.
#
#   fuzz/make-corpus.sh          rewrite fuzz/corpus/
#   fuzz/make-corpus.sh DIR      write the seeds to DIR instead
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-corpus}"
toolchain=(+nightly)
rustup toolchain list | grep -q '^nightly' || toolchain=()
cargo "${toolchain[@]}" build --quiet --example make_corpus
rm -rf "$out"
cargo "${toolchain[@]}" run --quiet --example make_corpus -- "$out"
