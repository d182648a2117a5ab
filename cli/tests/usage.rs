//! How the tool is used: one key syntax everywhere, keys from a file or
//! standard input, `inspect` over a whole media file and refusing to guess
//! a frame's codec, and the exit codes in `--help` and the README.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{KEY, assert_usage_error, data, framecrypt, ok, path, stderr, stdout};
use serde_json::Value;

/// RFC 9605 Appendix C.5 (AES_128_GCM_SHA256_128), KID 0x123, CTR 0x4567.
const GCM_METADATA: &str = "4945544620534672616d65205747";
const GCM_PT: &str = "64726166742d696574662d736672616d652d656e63";
const GCM_CT: &str =
    "9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("usage-{name}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_framecrypt"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("the binary finishes")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn sample(file: &str) -> PathBuf {
    data(&format!("media/{file}"))
}

#[test]
fn one_key_syntax_kid_and_key_together_in_every_command() {
    let key = format!("0x123={KEY}");
    // encrypt and decrypt
    let ct = ok(&[
        "encrypt",
        "--suite",
        "4",
        "--ctr",
        "0x4567",
        "--key",
        &key,
        "--metadata",
        GCM_METADATA,
        GCM_PT,
    ]);
    assert_eq!(ct.trim_end(), GCM_CT);
    let pt = ok(&[
        "decrypt",
        "--suite",
        "4",
        "--key",
        &key,
        "--metadata",
        GCM_METADATA,
        GCM_CT,
    ]);
    assert_eq!(pt.trim_end(), GCM_PT);
    // protect and unprotect, the same --key on both sides
    let dir = scratch("one-syntax");
    let (protected, restored) = (dir.join("p.ivf"), dir.join("r.ivf"));
    let vp8 = sample("vp8.ivf");
    ok(&[
        "protect",
        "--codec",
        "vp8",
        "--suite",
        "4",
        "--key",
        &key,
        path(&vp8),
        path(&protected),
    ]);
    ok(&[
        "unprotect",
        "--codec",
        "vp8",
        "--suite",
        "4",
        "--key",
        &key,
        path(&protected),
        path(&restored),
    ]);
    assert_eq!(std::fs::read(&restored).ok(), std::fs::read(&vp8).ok());
    // A sender takes exactly one key; the old --kid is gone.
    assert_usage_error(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "0",
            "--key",
            &key,
            "--key",
            &format!("7={KEY}"),
            "00",
        ],
        &["a sender takes one key; 2 given"],
    );
    assert_usage_error(
        &["encrypt", "--suite", "4", "--ctr", "0", "00"],
        &["give a key: --key KID=HEX or --key-file"],
    );
    for command in ["encrypt", "protect"] {
        let output = framecrypt(&[command, "--kid", "1", "--help"]);
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(stderr(&output).contains("unexpected argument '--kid'"));
    }
}

#[test]
fn keys_come_from_a_file_or_standard_input() {
    let dir = scratch("key-file");
    let keys = dir.join("keys.txt");
    std::fs::write(
        &keys,
        format!("# the receive keys of this call\n\n  7=00ff  \n0x123={KEY}\n"),
    )
    .expect("write");
    // decrypt with the file, and with the same keys on standard input
    let from_file = ok(&[
        "decrypt",
        "--suite",
        "4",
        "--key-file",
        path(&keys),
        "--metadata",
        GCM_METADATA,
        GCM_CT,
    ]);
    assert_eq!(from_file.trim_end(), GCM_PT);
    let text = std::fs::read_to_string(&keys).expect("read");
    let output = with_stdin(
        &[
            "decrypt",
            "--suite",
            "4",
            "--key-file",
            "-",
            "--metadata",
            GCM_METADATA,
            GCM_CT,
        ],
        &text,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim_end(), GCM_PT);

    // encrypt from standard input; --key and --key-file add up for a
    // receiver
    let output = with_stdin(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "0x4567",
            "--key-file",
            "-",
            "--metadata",
            GCM_METADATA,
            GCM_PT,
        ],
        &format!("0x123={KEY}\n"),
    );
    assert_eq!(stdout(&output).trim_end(), GCM_CT, "{}", stderr(&output));
    let one = dir.join("one.txt");
    std::fs::write(&one, "7=00ff\n").expect("write");
    let pt = ok(&[
        "decrypt",
        "--suite",
        "4",
        "--key-file",
        path(&one),
        "--key",
        &format!("0x123={KEY}"),
        "--metadata",
        GCM_METADATA,
        GCM_CT,
    ]);
    assert_eq!(pt.trim_end(), GCM_PT);

    // protect and unprotect from a file
    let sender_key = dir.join("sender.txt");
    std::fs::write(&sender_key, format!("5={KEY}\n")).expect("write");
    let (protected, restored) = (dir.join("p.ogg"), dir.join("r.ogg"));
    let opus = sample("opus.ogg");
    for (command, input, output) in [
        ("protect", &opus, &protected),
        ("unprotect", &protected, &restored),
    ] {
        ok(&[
            command,
            "--codec",
            "opus",
            "--suite",
            "1",
            "--key-file",
            path(&sender_key),
            path(input),
            path(output),
        ]);
    }
    // ratchet's base key from standard input
    let chain = with_stdin(
        &[
            "ratchet",
            "--suite",
            "1",
            "--base-key-file",
            "-",
            "--steps",
            "1",
        ],
        &format!("{KEY}\n"),
    );
    assert_eq!(
        stdout(&chain),
        ok(&["ratchet", "--suite", "1", "--base-key", KEY, "--steps", "1"])
    );

    // A bad line is a usage error that names the line; a missing file is
    // a failure; a sender file with two keys is refused.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "# ok\n7=00ff\n8:00ff\n").expect("write");
    assert_usage_error(
        &["decrypt", "--suite", "4", "--key-file", path(&bad), GCM_CT],
        &["bad.txt line 3", "expected KID=HEX"],
    );
    let output = framecrypt(&[
        "decrypt",
        "--suite",
        "4",
        "--key-file",
        "/no/such/keys",
        GCM_CT,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/no/such/keys"));
    assert_usage_error(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "0",
            "--key-file",
            path(&keys),
            "00",
        ],
        &["a sender takes one key; 2 given"],
    );
    // No key material in any message.
    assert!(!stderr(&output).contains(KEY));
}

/// Protects `sample` with KID 9 from counter 100; returns the protected
/// file and the summary.
fn protected(dir: &Path, codec: &str, sample_file: &str, out_name: &str) -> (PathBuf, Value) {
    let out = dir.join(out_name);
    let summary = ok(&[
        "protect",
        "--codec",
        codec,
        "--suite",
        "4",
        "--key",
        &format!("9={KEY}"),
        "--ctr",
        "100",
        path(&sample(sample_file)),
        path(&out),
    ]);
    (out, serde_json::from_str(&summary).expect("JSON"))
}

#[test]
fn inspect_reads_every_frame_of_a_media_file_as_protect_writes_it() {
    let dir = scratch("inspect-file");
    for (codec, file, out) in [
        ("h264", "h264.h264", "p.h264"),
        ("vp8", "vp8.ivf", "p.ivf"),
        ("av1", "av1.ivf", "p-av1.ivf"),
        ("opus", "opus.ogg", "p.ogg"),
    ] {
        let (protected, summary) = protected(&dir, codec, file, out);
        let lines = json_lines(&ok(&[
            "inspect",
            "--codec",
            codec,
            "--suite",
            "4",
            "--file",
            path(&protected),
        ]));
        assert_eq!(
            Some(lines.len() as u64),
            summary["frames"].as_u64(),
            "{codec}"
        );
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["frame"], i, "{codec}");
            assert_eq!(line["kid"], 9, "{codec}");
            assert_eq!(line["ctr"], 100 + i, "{codec}: consecutive counters");
            assert_eq!(line["codec"], codec);
            assert!(line["frame_len"].as_u64() > line["payload_len"].as_u64());
            assert!(line["plaintext_len"].as_u64().is_some(), "{codec}");
        }
        let sizes: u64 = lines.iter().filter_map(|l| l["frame_len"].as_u64()).sum();
        match codec {
            // Annex B: the access units are the file.
            "h264" => assert_eq!(Some(sizes), summary["output_bytes"].as_u64()),
            // IVF: a 32-byte file header and 12 bytes before each frame.
            "vp8" | "av1" => assert_eq!(
                Some(sizes + 32 + 12 * lines.len() as u64),
                summary["output_bytes"].as_u64()
            ),
            _ => assert!(sizes > 0),
        }
        // The first video frame is a keyframe, as the clear bytes say.
        if codec != "opus" {
            assert_eq!(lines[0]["keyframe"], true, "{codec}");
        } else {
            assert!(lines[0]["opus_toc"].as_u64().is_some());
        }
    }
    // VP8 keyframes carry their size in the clear.
    let (protected, _) = protected(&dir, "vp8", "vp8.ivf", "p2.ivf");
    let lines = json_lines(&ok(&[
        "inspect",
        "--codec",
        "vp8",
        "--file",
        path(&protected),
    ]));
    assert_eq!(
        (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert!(lines.iter().any(|l| l["keyframe"] == false));

    // A file of another codec fails at its first frame (exit 1).
    let output = framecrypt(&["inspect", "--codec", "h264", "--file", path(&protected)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: frame 0:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn inspect_refuses_to_guess_the_codec() {
    let dir = scratch("guess");
    // A plain SFrame frame needs --codec plain...
    assert_usage_error(&["inspect", GCM_CT], &["inspect needs --codec", "plain"]);
    let plain = ok(&["inspect", "--codec", "plain", GCM_CT]);
    assert!(plain.contains("\"kid\":291"));
    // ...and a media file its codec, with a hint from its first bytes.
    let (h264, _) = protected(&dir, "h264", "h264.h264", "p.h264");
    assert_usage_error(
        &["inspect", "--file", path(&h264)],
        &[
            "inspect needs --codec",
            "Annex B start code",
            "--codec h264 or h265",
        ],
    );
    let (ivf, _) = protected(&dir, "vp8", "vp8.ivf", "p.ivf");
    assert_usage_error(
        &["inspect", "--file", path(&ivf)],
        &["IVF file", "--codec vp8, vp9 or av1"],
    );
    let (ogg, _) = protected(&dir, "opus", "opus.ogg", "p.ogg");
    assert_usage_error(
        &["inspect", "--file", path(&ogg)],
        &["Ogg file", "--codec opus"],
    );
    assert_usage_error(
        &["inspect", "--codec", "plain", "--file", path(&ivf)],
        &["--file reads a codec's container", "not plain"],
    );
}

#[test]
fn exit_codes_are_documented_in_help_and_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("cli/README.md");
    let mut commands = vec![vec!["--help"]];
    for command in [
        "encrypt",
        "decrypt",
        "inspect",
        "vectors",
        "ratchet",
        "mls-kid",
        "protect",
        "unprotect",
    ] {
        commands.push(vec![command, "--help"]);
        assert!(
            readme.lines().any(|l| l.starts_with("## ")
                && l.split(' ').any(|w| w.trim_end_matches(':') == command)),
            "README: no section for {command}"
        );
    }
    for args in commands {
        let help = ok(&args);
        for line in [
            "Exit codes:",
            "  0  success",
            "  1  the operation failed",
            "  2  a bad command line",
        ] {
            assert!(help.contains(line), "{args:?} --help lacks {line:?}");
        }
    }
    // The README gives the same list, and each code happens as it says.
    for line in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(readme.contains(line), "README lacks the row {line}");
    }
    let tampered = GCM_CT.replace("eb", "ec");
    let output = framecrypt(&[
        "decrypt",
        "--suite",
        "4",
        "--key",
        &format!("0x123={KEY}"),
        &tampered,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let output = framecrypt(&["decrypt", "--suite", "4", GCM_CT]);
    assert_eq!(output.status.code(), Some(2));
}
