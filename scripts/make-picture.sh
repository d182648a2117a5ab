#!/usr/bin/env bash
# Makes docs/receiver-vs-sfu.png from a recorded call (not drawn by hand):
# the same source picture (frame 0 of alice's H.264 video) as bob decrypted
# it, beside the first picture ffmpeg can make of the copy the SFU forwarded.
# Needs ffmpeg (with drawtext and the DejaVu fonts for the captions).
set -euo pipefail
cd "$(dirname "$0")/.."
REC=$(mktemp -d)
trap 'rm -rf "$REC"' EXIT
cargo build --release -q -p conference
target/release/conference --codec h264 --seconds 4 --seed 7 --record "$REC" | grep '^VERDICT'
# The first picture of bob's copy that is frame 0 of the sample.
K=$(grep -n '^0$' "$REC/bob/from-alice.idx" | head -1 | cut -d: -f1)
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
label() { echo "drawtext=fontfile=$FONT:text='$1':x=8:y=h-28:fontsize=18:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4"; }
ffmpeg -v error -y -i "$REC/bob/from-alice.h264" -vf "select=eq(n\,$((K - 1))),$(label 'bob decrypted')" -vframes 1 "$REC/left.png"
ffmpeg -v quiet -y -i "$REC/sfu/alice.h264" -vf "$(label 'what the SFU forwarded')" -vframes 1 "$REC/right.png" || true
[ -s "$REC/right.png" ] || { echo "ffmpeg made no picture of the SFU copy"; exit 1; }
ffmpeg -v error -y -i "$REC/left.png" -i "$REC/right.png" \
  -filter_complex "[0]pad=iw+8:ih:0:0:white[l];[l][1]hstack" docs/receiver-vs-sfu.png
echo "wrote docs/receiver-vs-sfu.png"
