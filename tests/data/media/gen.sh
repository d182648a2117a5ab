#!/bin/sh
# Regenerates the media samples in this folder (see README.md). Needs ffmpeg
# with libvpx, libx264, libx265, libaom and libopus (Debian: apt-get install ffmpeg).
set -eu
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -y"
V="-f lavfi -i testsrc=duration=2:size=320x240:rate=15 -pix_fmt yuv420p"
$FF $V -c:v libvpx -b:v 200k -g 15 -auto-alt-ref 0 vp8.ivf
$FF $V -c:v libvpx-vp9 -b:v 200k -g 15 vp9.ivf
$FF $V -c:v libx264 -preset veryfast -tune zerolatency -b:v 200k -g 15 -bsf:v h264_mp4toannexb -f h264 h264.h264
$FF -f lavfi -i testsrc=duration=1:size=320x240:rate=15 -pix_fmt yuv420p -c:v libx264 -preset veryfast -tune zerolatency -b:v 200k -g 15 -x264-params slices=4 -bsf:v h264_mp4toannexb -f h264 h264-slices.h264
$FF $V -c:v libx265 -preset veryfast -b:v 200k -x265-params keyint=15:log-level=error -f hevc h265.h265
$FF $V -c:v libaom-av1 -cpu-used 8 -b:v 200k -g 15 av1.ivf
$FF -f lavfi -i sine=frequency=440:duration=2:sample_rate=48000 -c:a libopus -b:a 32k opus.ogg
