//! `protect`, `unprotect` and `inspect --codec` on the committed media
//! samples (tests/data/media/), run as a user would run the binary.

mod common;

use std::path::{Path, PathBuf};

use common::{KEY, data, framecrypt, ok, path, stderr, stdout};
use serde_json::Value;

const SAMPLES: [(&str, &str); 7] = [
    ("vp8", "vp8.ivf"),
    ("vp9", "vp9.ivf"),
    ("av1", "av1.ivf"),
    ("h264", "h264.h264"),
    ("h264", "h264-slices.h264"),
    ("h265", "h265.h265"),
    ("opus", "opus.ogg"),
];

fn sample(name: &str) -> PathBuf {
    data("media").join(name)
}

/// A scratch directory for this test binary's outputs.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("media-{test}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn ok_json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("one JSON line")
}

/// `protect` with the key `kid=KEY`, then `options`, `input` and `output`.
fn protect_args<'a>(
    codec: &'a str,
    suite: &'a str,
    kid: &'a str,
    options: &[&'a str],
    input: &'a Path,
    output: &'a Path,
) -> Vec<&'a str> {
    // Leaked: a few short strings per test process.
    let key: &'a str = Box::leak(format!("{kid}={KEY}").into_boxed_str());
    let head = ["protect", "--codec", codec, "--suite", suite, "--key", key];
    [&head[..], options, &[path(input), path(output)]].concat()
}

/// `unprotect` with the receive key `kid_key` (KID=HEX), then `options`,
/// `input` and `output`.
fn unprotect_args<'a>(
    codec: &'a str,
    suite: &'a str,
    kid_key: &'a str,
    options: &[&'a str],
    input: &'a Path,
    output: &'a Path,
) -> Vec<&'a str> {
    let head = [
        "unprotect",
        "--codec",
        codec,
        "--suite",
        suite,
        "--key",
        kid_key,
    ];
    [&head[..], options, &[path(input), path(output)]].concat()
}

fn ogg_packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(bytes));
    let mut packets = Vec::new();
    while let Some(p) = reader.read_packet().expect("valid Ogg") {
        packets.push(p.data);
    }
    packets
}

#[test]
fn unprotect_restores_every_sample_byte_for_byte_for_every_suite() {
    let dir = scratch("round-trip");
    for suite in 1..=8 {
        for (codec, name) in SAMPLES {
            let original = std::fs::read(sample(name)).expect("sample");
            let protected = dir.join(format!("{suite}-p-{name}"));
            let restored = dir.join(format!("{suite}-r-{name}"));
            let suite = suite.to_string();
            let summary = ok_json(&protect_args(
                codec,
                &suite,
                "0x1234",
                &["--ctr", "1000"],
                &sample(name),
                &protected,
            ));
            let frames = summary["frames"].as_u64().expect("frames");
            assert!(frames >= 15, "{name}");
            assert_eq!(summary["whole_frames"], 0);
            assert_eq!(summary["next_ctr"].as_u64(), Some(1000 + frames));
            let protected_bytes = std::fs::read(&protected).expect("written");
            assert_ne!(protected_bytes, original);
            assert!(protected_bytes.len() > original.len());

            let summary = ok_json(&unprotect_args(
                codec,
                &suite,
                &format!("0x1234={KEY}"),
                &[],
                &protected,
                &restored,
            ));
            assert_eq!(summary["frames"].as_u64(), Some(frames));
            let restored_bytes = std::fs::read(&restored).expect("written");
            if codec == "opus" {
                // The contract for Ogg is the packets; the pages happen to
                // match too for this file.
                assert_eq!(ogg_packets(&restored_bytes), ogg_packets(&original));
            }
            assert!(
                restored_bytes == original,
                "{name} suite {suite} not byte-exact"
            );
        }
    }
}

#[test]
fn protected_files_keep_their_container() {
    let dir = scratch("container");
    let out = dir.join("p.ivf");
    ok_json(&protect_args(
        "vp8",
        "4",
        "1",
        &[],
        &sample("vp8.ivf"),
        &out,
    ));
    let bytes = std::fs::read(&out).expect("written");
    assert_eq!(&bytes[..4], b"DKIF");
    let original = std::fs::read(sample("vp8.ivf")).expect("sample");
    assert_eq!(bytes[..32], original[..32], "same IVF file header");

    let out = dir.join("p.ogg");
    ok_json(&protect_args(
        "opus",
        "4",
        "1",
        &[],
        &sample("opus.ogg"),
        &out,
    ));
    let packets = ogg_packets(&std::fs::read(&out).expect("written"));
    let original = ogg_packets(&std::fs::read(sample("opus.ogg")).expect("sample"));
    assert_eq!(packets.len(), original.len());
    assert_eq!(
        packets[..2],
        original[..2],
        "OpusHead and OpusTags stay clear"
    );
    // Each audio packet keeps its TOC byte in clear.
    assert!(
        packets[2..]
            .iter()
            .zip(&original[2..])
            .all(|(p, o)| p[0] == o[0] && p != o)
    );
}

#[test]
fn unprotect_with_the_wrong_key_fails_with_exit_code_1() {
    let dir = scratch("wrong-key");
    let protected = dir.join("p.h264");
    ok_json(&protect_args(
        "h264",
        "1",
        "5",
        &[],
        &sample("h264.h264"),
        &protected,
    ));
    let output = framecrypt(&unprotect_args(
        "h264",
        "1",
        "5=0f0e0d0c0b0a09080706050403020100",
        &[],
        &protected,
        &dir.join("r.h264"),
    ));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "error: frame 0: authentication failed\n");
    assert!(!dir.join("r.h264").exists(), "nothing written");
}

/// The first frame of an IVF file, in hex.
fn first_ivf_frame_hex(file: &Path) -> String {
    let bytes = std::fs::read(file).expect("IVF");
    let size = u32::from_le_bytes(bytes[32..36].try_into().expect("4 bytes")) as usize;
    hex::encode(&bytes[44..44 + size])
}

#[test]
fn inspect_with_a_codec_shows_the_sfu_view_of_a_protected_frame() {
    let dir = scratch("inspect");
    let protected = dir.join("p.ivf");
    ok_json(&protect_args(
        "vp8",
        "4",
        "0x99",
        &["--ctr", "7"],
        &sample("vp8.ivf"),
        &protected,
    ));
    let frame = first_ivf_frame_hex(&protected);
    let json = ok_json(&["inspect", "--codec", "vp8", "--suite", "4", &frame]);
    assert_eq!(json["kid"], 0x99);
    assert_eq!(json["ctr"], 7);
    assert_eq!(json["codec"], "vp8");
    assert_eq!(json["header_offset"], 10);
    assert_eq!(json["clear_len"], 10);
    assert_eq!(json["keyframe"], true);
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(320), Some(240))
    );
    let original = first_ivf_frame_hex(&sample("vp8.ivf"));
    assert_eq!(
        json["plaintext_len"].as_u64(),
        Some(original.len() as u64 / 2 - 10)
    );

    // H.264: the first access unit carries SPS/PPS and an IDR slice.
    let protected = dir.join("p.h264");
    ok_json(&protect_args(
        "h264",
        "4",
        "3",
        &[],
        &sample("h264.h264"),
        &protected,
    ));
    let stream = std::fs::read(&protected).expect("written");
    // The first access unit ends where the next picture's first slice
    // (type 1, first_mb_in_slice = 0) starts; those bytes are clear.
    let next = stream
        .windows(5)
        .position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 1 && w[4] & 0x80 != 0)
        .expect("a second picture");
    let end = if stream[next - 1] == 0 {
        next - 1
    } else {
        next
    };
    let json = ok_json(&["inspect", "--codec", "h264", &hex::encode(&stream[..end])]);
    assert_eq!(json["kid"], 3);
    assert_eq!(json["keyframe"], true);
    assert_eq!(json["parameter_sets"], true);

    // Without --codec the same VP8 frame would read as a plain SFrame
    // frame with a wrong KID: inspect refuses to guess.
    let output = framecrypt(&["inspect", &frame]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("inspect needs --codec"),
        "{}",
        stderr(&output)
    );
    // The H.264 frame too, and the message says what it looks like.
    let output = framecrypt(&["inspect", &hex::encode(&stream[..end])]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--codec h264 or h265"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn frames_that_do_not_parse_follow_the_fallback_policy() {
    let dir = scratch("fallback");
    let garbage = dir.join("garbage.h264");
    std::fs::write(&garbage, b"this is not an Annex B stream").expect("write");
    let protected = dir.join("p.h264");
    let output = framecrypt(&protect_args("h264", "4", "1", &[], &garbage, &protected));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: frame 0: frame does not parse as the given codec\n"
    );

    let summary = ok_json(&protect_args(
        "h264",
        "4",
        "1",
        &["--fallback", "whole-frame"],
        &garbage,
        &protected,
    ));
    assert_eq!(summary["whole_frames"], 1);
    let restored = dir.join("r.h264");
    ok_json(&unprotect_args(
        "h264",
        "4",
        &format!("1={KEY}"),
        &["--fallback", "whole-frame"],
        &protected,
        &restored,
    ));
    assert_eq!(
        std::fs::read(&restored).expect("written"),
        std::fs::read(&garbage).expect("read")
    );
}

#[test]
fn unknown_codecs_are_a_usage_error() {
    let output = framecrypt(&[
        "protect",
        "--codec",
        "mpeg2",
        "--suite",
        "4",
        "--key",
        &format!("1={KEY}"),
        "in",
        "out",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown codec 'mpeg2'"));
}
