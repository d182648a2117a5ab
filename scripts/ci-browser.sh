#!/usr/bin/env bash
# framecrypt in real headless Chromium: builds the wasm crate for
# wasm32-unknown-unknown, generates its JavaScript with wasm-bindgen (and
# shrinks it with wasm-opt when installed), serves wasm/www on 127.0.0.1
# and runs wasm/tests/browser.py. As root it runs inside its own network
# namespace, so nothing leaves loopback.
#
#   scripts/ci-browser.sh [browser.py options...]
#   scripts/ci-browser.sh --build-only      (wasm/www/pkg only)
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

[ "${1:-}" = --build-only ] && exit 0

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

log=$(mktemp)
python3 wasm/tests/serve.py >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$log" ] && break; sleep 0.1; done
url=$(head -1 "$log")

# Tests 1-3 and the demo page, then test 4. Test 4 has the browser join the
# native conference demo (crate conference/: `--signal ADDR --www DIR`, one
# HTTP server for the API and the pages), started just before it, with a
# call long enough for the browser to join, publish and be read; without
# conference/ it runs against a mock of the API.
status=0
if [ "$#" -gt 0 ] && [[ " $* " == *" --only "* ]]; then
  python3 wasm/tests/browser.py --url "$url" "$@" || status=$?
  exit "$status"
fi
python3 wasm/tests/browser.py --url "$url" --only codec-vp8 --only codec-h264 --only legacy \
  --only rotation --only demo "$@" || status=$?
if [ -f conference/Cargo.toml ] && [ -z "${FRAMECRYPT_NO_CONFERENCE:-}" ]; then
  cargo build -q --release -p conference
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  demo_log=$(mktemp)
  # shellcheck disable=SC2086 # extra arguments, word-split on purpose
  target/release/conference --seconds "${FRAMECRYPT_CONFERENCE_SECONDS:-90}" \
    --signal "127.0.0.1:$port" --www wasm/www ${FRAMECRYPT_CONFERENCE_ARGS:-} >"$demo_log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/session')" 2>/dev/null && break
    sleep 0.2
  done
  if ! python3 wasm/tests/browser.py --url "$url" --only conference --conference "http://127.0.0.1:$port/"; then
    status=1
    echo "--- conference demo output ---"
    cat "$demo_log"
  fi
else
  python3 wasm/tests/browser.py --url "$url" --only conference-mock || status=$?
fi
exit "$status"
