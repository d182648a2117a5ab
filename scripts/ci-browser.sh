#!/usr/bin/env bash
# framecrypt in real headless Chromium: builds the wasm crate for
# wasm32-unknown-unknown, generates its JavaScript with wasm-bindgen (and
# shrinks it with wasm-opt when installed), serves wasm/www on 127.0.0.1
# and runs wasm/tests/browser.py. As root it runs inside its own network
# namespace, so nothing leaves loopback.
#
#   scripts/ci-browser.sh [browser.py options...]
#     e.g. --only codec-vp8   --bench bench.json   --screenshot docs/x.png
#
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli at the
# version of the wasm-bindgen crate in Cargo.lock, chromium, python3 with
# websocket-client (.ci/run installs them when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${FRAMECRYPT_IN_NETNS:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  exec unshare -n env FRAMECRYPT_IN_NETNS=1 sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$want" != "$have" ]; then
  echo "wasm-bindgen-cli $have does not match the wasm-bindgen crate $want in Cargo.lock" >&2
  exit 1
fi

cargo build -q -p framecrypt-wasm --target wasm32-unknown-unknown --release
module=target/wasm32-unknown-unknown/release/framecrypt_wasm.wasm
pkg=wasm/www/pkg
rm -rf "$pkg"
# wasm-opt runs before wasm-bindgen: Debian's binaryen 108 rewrites the
# externref table wasm-bindgen adds into one browsers refuse to fill.
if [ -z "${FRAMECRYPT_NO_WASM_OPT:-}" ] && command -v wasm-opt >/dev/null; then
  mkdir -p target/wasm-opt
  wasm-opt -Oz "$module" -o target/wasm-opt/framecrypt_wasm.wasm
  module=target/wasm-opt/framecrypt_wasm.wasm
  optimised="after wasm-opt -Oz"
else
  optimised="without wasm-opt"
fi
wasm-bindgen --target web --no-typescript --out-dir "$pkg" "$module"
echo "framecrypt_wasm_bg.wasm: $(stat -c %s "$pkg/framecrypt_wasm_bg.wasm") bytes $optimised" \
  "($(gzip -9 -c "$pkg/framecrypt_wasm_bg.wasm" | wc -c) gzipped)"

log=$(mktemp)
python3 wasm/tests/serve.py >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do [ -s "$log" ] && break; sleep 0.1; done
url=$(head -1 "$log")
python3 wasm/tests/browser.py --url "$url" "$@"
