#!/usr/bin/env python3
"""Checks a `conference --record DIR` folder with ffmpeg.

Every receiver's decrypted video must decode to exactly the source's
pictures, frame for frame: the N-th decoded picture of `R/from-S.ivf` (or
`.h264`) has the MD5 of the source picture whose index is the N-th line of
`R/from-S.idx`. Every receiver's audio must decode. What the SFU forwarded
(`sfu/`) must decode to no picture of the source at all.

Usage: check-recordings.py DIR CODEC  (CODEC: vp8, vp9, h264, av1)
Prints one line per file and a summary; exits 1 on any mismatch.
"""
import pathlib
import subprocess
import sys

SAMPLES = {"vp8": "vp8.ivf", "vp9": "vp9.ivf", "h264": "h264.h264", "av1": "av1.ivf"}


def framemd5(path):
    """MD5 of each picture (or audio frame) ffmpeg decodes from `path`."""
    out = subprocess.run(
        ["ffmpeg", "-v", "quiet", "-i", str(path), "-f", "framemd5", "-"],
        capture_output=True, text=True, check=False,
    ).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines()
            if line and not line.startswith("#")]


def main():
    root, codec = pathlib.Path(sys.argv[1]), sys.argv[2]
    ext = "h264" if codec == "h264" else "ivf"
    repo = pathlib.Path(__file__).resolve().parent.parent
    source = framemd5(repo / "tests/data/media" / SAMPLES[codec])
    if len(source) < 2:
        sys.exit(f"ffmpeg decoded {len(source)} pictures of the source: cannot check")
    reference = set(source)
    bad, receivers, pictures = 0, 0, 0
    for video in sorted(root.glob(f"*/from-*.{ext}")):
        idx = [int(x) for x in video.with_suffix(".idx").read_text().split()]
        decoded = framemd5(video)
        expected = [source[i] for i in idx]
        ok = len(decoded) > 0 and decoded == expected
        first_bad = next((n for n, (a, b) in enumerate(zip(decoded, expected)) if a != b), None)
        print(f"{video.relative_to(root)}: {len(decoded)} pictures decoded, {len(idx)} frames recorded, "
              f"{'all equal to the source' if ok else f'MISMATCH (first at {first_bad})'}")
        bad += not ok
        receivers += 1
        pictures += len(decoded)
    for audio in sorted(root.glob("*/from-*.ogg")):
        if audio.parent.name == "sfu":
            continue
        frames = framemd5(audio)
        if not frames:
            print(f"{audio.relative_to(root)}: does not decode")
            bad += 1
    sfu_correct, sfu_decoded, sfu_files = 0, 0, 0
    for video in sorted((root / "sfu").glob(f"*.{ext}")):
        decoded = framemd5(video)
        correct = sum(h in reference for h in decoded)
        print(f"sfu/{video.name}: {len(decoded)} pictures decoded, {correct} equal to a source picture")
        sfu_correct += correct
        sfu_decoded += len(decoded)
        sfu_files += 1
        bad += correct > 0
    if receivers == 0 or sfu_files == 0:
        print("nothing recorded: the check proved nothing")
        bad += 1
    print(f"{codec}: {receivers} receiver recordings, {pictures} pictures all equal to the source's; "
          f"SFU: {sfu_files} recordings, {sfu_decoded} pictures decoded, {sfu_correct} equal to the source's"
          + ("" if bad == 0 else f"; {bad} FAILED"))
    sys.exit(1 if bad else 0)


main()
