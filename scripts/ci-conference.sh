#!/usr/bin/env bash
# The conference demo in CI: a short call (fixed seed) through the embedded
# SFU for VP8 and for H.264, each inside its own network namespace (only
# loopback exists there), asserting the demo's invariants (its exit status)
# and checking the recordings with ffmpeg: every receiver's decrypted video
# decodes to exactly the source's pictures, what the SFU forwarded to none.
# Prints one summary line per codec. Runs as root (unshare -n).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_CALL=${CONFERENCE_SECONDS:-4}
command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; }
command -v ip >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
cargo build --release -q -p conference
BIN=$PWD/target/release/conference
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for codec in vp8 h264; do
  rec="$WORK/$codec"
  log="$WORK/$codec.log"
  if ! unshare -n sh -c "ip link set lo up && exec '$BIN' --codec $codec --seconds $SECONDS_PER_CALL --seed 7 --record '$rec'" >"$log" 2>&1; then
    cat "$log"
    echo "conference --codec $codec failed"
    exit 1
  fi
  if ! python3 scripts/check-recordings.py "$rec" "$codec" >"$log.check" 2>&1; then
    cat "$log" "$log.check"
    exit 1
  fi
  echo "$codec: $(grep '^VERDICT' "$log" | cut -c1-60)... | $(tail -1 "$log.check")"
done

# The browser signalling contract, with a native stand-in for the browser.
cargo test --release -q -p conference --test browser_contract --no-run
if ! unshare -n sh -c "ip link set lo up && exec cargo test --offline --release -q -p conference --test browser_contract -- --ignored" >"$WORK/browser.log" 2>&1; then
  cat "$WORK/browser.log"
  echo "the browser contract test failed"
  exit 1
fi
echo "browser contract (native stand-in): $(grep -E '^test result' "$WORK/browser.log")"
