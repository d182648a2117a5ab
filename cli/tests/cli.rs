//! The `framecrypt` binary, run as a user would run it.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{KEY, assert_usage_error, data, data_json, framecrypt, ok, path, stderr, stdout};
use serde_json::Value;

/// RFC 9605 Appendix C.5 (AES_128_GCM_SHA256_128), KID 0x123, CTR 0x4567.
const GCM_METADATA: &str = "4945544620534672616d65205747";
const GCM_PT: &str = "64726166742d696574662d736672616d652d656e63";
const GCM_CT: &str =
    "9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb";

fn framecrypt_with_stdin(args: &[&str], stdin: &str) -> Output {
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

/// Runs a command that must succeed; returns its one line of output.
fn ok_line(args: &[&str]) -> String {
    let out = ok(args);
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    out.trim_end().to_owned()
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every SFrame case of both vector files.
fn sframe_cases() -> Vec<Value> {
    let mut cases = Vec::new();
    for (file, section) in [
        ("rfc9605-test-vectors.json", "sframe"),
        (
            "aes256-ctr-hmac-test-vectors.json",
            "sframe_aes_256_ctr_hmac",
        ),
    ] {
        let json = data_json(file);
        cases.extend(json[section].as_array().expect("array").iter().cloned());
    }
    assert_eq!(cases.len(), 8);
    cases
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().expect("hex field")
}

#[test]
fn encrypt_reproduces_every_vector_ciphertext() {
    for (i, case) in sframe_cases().iter().enumerate() {
        let suite_id = case["cipher_suite"].as_u64().expect("suite");
        // Alternate the suite's spellings and the integer bases.
        let suite = if i % 2 == 0 {
            suite_id.to_string()
        } else {
            framecrypt::CipherSuite::from_id(u16::try_from(suite_id).expect("u16"))
                .expect("known")
                .name()
                .to_owned()
        };
        let key = format!(
            "{:#x}={}",
            case["kid"].as_u64().expect("kid"),
            field(case, "base_key")
        );
        let ctr = case["ctr"].as_u64().expect("ctr").to_string();
        let ct = ok_line(&[
            "encrypt",
            "--suite",
            &suite,
            "--ctr",
            &ctr,
            "--key",
            &key,
            "--metadata",
            field(case, "metadata"),
            field(case, "pt"),
        ]);
        assert_eq!(ct, field(case, "ct"), "case {i}");
    }
}

#[test]
fn decrypt_recovers_every_vector_plaintext() {
    for case in &sframe_cases() {
        let key = format!("{}={}", case["kid"], field(case, "base_key"));
        let pt = ok_line(&[
            "decrypt",
            "--suite",
            &case["cipher_suite"].to_string(),
            "--key",
            "7=00ff",
            "--key",
            &key,
            "--metadata",
            field(case, "metadata"),
            field(case, "ct"),
        ]);
        assert_eq!(pt, field(case, "pt"));
    }
}

#[test]
fn encrypt_then_decrypt_round_trips_for_every_suite() {
    let plaintexts = ["", "00", &"5a".repeat(1000)];
    for suite in 1..=8 {
        for pt in plaintexts {
            let suite = suite.to_string();
            let key = format!("9={KEY}");
            let ct = ok_line(&[
                "encrypt", "--suite", &suite, "--ctr", "0x10000", "--key", &key, pt,
            ]);
            assert!(is_lower_hex(&ct));
            let back = ok_line(&[
                "decrypt",
                "--suite",
                &suite,
                "--key",
                &format!("9={KEY}"),
                &ct,
            ]);
            assert_eq!(back, pt);
        }
    }
}

#[test]
fn output_hex_is_lower_case_whatever_the_input_case() {
    let ct = ok_line(&[
        "encrypt",
        "--suite",
        "4",
        "--ctr",
        "0x4567",
        "--key",
        &format!("0X123={}", KEY.to_uppercase()),
        "--metadata",
        &GCM_METADATA.to_uppercase(),
        &GCM_PT.to_uppercase(),
    ]);
    assert_eq!(ct, GCM_CT);
}

/// `decrypt` with suite 4 and [`KEY`] under `kid`, then `rest`.
fn decrypt(kid: &str, rest: &[&str]) -> Output {
    let key = format!("{kid}={KEY}");
    framecrypt(&[&["decrypt", "--suite", "4", "--key", &key][..], rest].concat())
}

#[test]
fn hex_can_come_from_standard_input() {
    let output = framecrypt_with_stdin(
        &[
            "decrypt",
            "--suite",
            "4",
            "--key",
            &format!("0x123={KEY}"),
            "--metadata",
            GCM_METADATA,
            "-",
        ],
        &format!("{GCM_CT}\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("{GCM_PT}\n"));
}

#[test]
fn tampered_ciphertext_exits_1_with_an_error_and_no_plaintext() {
    let mut ct = hex::decode(GCM_CT).expect("hex");
    for bit in [5 * 8, 20 * 8 + 3, ct.len() * 8 - 1] {
        ct[bit / 8] ^= 1 << (bit % 8);
        let output = decrypt("0x123", &["--metadata", GCM_METADATA, &hex::encode(&ct)]);
        ct[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(stdout(&output), "", "no plaintext on failure");
        assert_eq!(stderr(&output), "error: decrypt: authentication failed\n");
    }
}

#[test]
fn wrong_metadata_fails_authentication() {
    let output = decrypt("0x123", &[GCM_CT]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("authentication failed"));
}

#[test]
fn decrypt_without_the_frames_key_names_its_kid() {
    let output = decrypt("1", &[GCM_CT]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("no key installed"), "{err}");
    assert!(err.contains("0x123"), "{err}");
}

#[test]
fn decrypt_of_a_malformed_or_short_frame_fails_cleanly() {
    for (frame, message) in [
        ("", "malformed SFrame header"),
        ("99", "malformed SFrame header"),
        ("990123", "malformed SFrame header"),
        ("9901234567", "frame too short"),
    ] {
        let output = decrypt("0x123", &[frame]);
        assert_eq!(output.status.code(), Some(1), "{frame:?}");
        assert!(
            stderr(&output).contains(message),
            "{frame:?}: {}",
            stderr(&output)
        );
    }
}

fn inspect(args: &[&str]) -> Value {
    serde_json::from_str(&ok_line(args)).expect("one JSON object")
}

#[test]
fn inspect_prints_the_header_as_json_without_a_key() {
    let json = inspect(&["inspect", "--codec", "plain", GCM_CT]);
    assert_eq!(json["kid"], 0x123);
    assert_eq!(json["ctr"], 0x4567);
    assert_eq!(json["header_len"], 5);
    assert_eq!(json["header"], "9901234567");
    assert_eq!(json["minimal"], true);
    assert_eq!(json["payload_len"], GCM_CT.len() / 2 - 5);
    assert_eq!(json["frame_len"], GCM_CT.len() / 2);
    assert!(json.get("tag").is_none(), "no suite, no tag split");
}

#[test]
fn inspect_with_a_suite_splits_off_the_tag() {
    let json = inspect(&[
        "inspect",
        "--codec",
        "plain",
        "--suite",
        "AES_128_GCM_SHA256_128",
        GCM_CT,
    ]);
    assert_eq!(json["suite"], 4);
    assert_eq!(json["suite_name"], "AES_128_GCM_SHA256_128");
    assert_eq!(json["tag_len"], 16);
    assert_eq!(json["tag"], &GCM_CT[GCM_CT.len() - 32..]);
    assert_eq!(json["plaintext_len"], GCM_PT.len() / 2);
}

#[test]
fn inspect_reports_64_bit_values_exactly_and_non_minimal_headers() {
    let json = inspect(&[
        "inspect",
        "--codec",
        "plain",
        "ffffffffffffffffffffffffffffffffff",
    ]);
    assert_eq!(json["kid"].as_u64(), Some(u64::MAX));
    assert_eq!(json["ctr"].as_u64(), Some(u64::MAX));
    assert_eq!(json["header_len"], 17);
    assert_eq!(json["payload_len"], 0);

    // KID 5 written in an extra byte: accepted, flagged as not minimal.
    let json = inspect(&["inspect", "--codec", "plain", "8005abcd"]);
    assert_eq!(json["kid"], 5);
    assert_eq!(json["ctr"], 0);
    assert_eq!(json["header"], "8005");
    assert_eq!(json["minimal"], false);
}

#[test]
fn inspect_of_a_truncated_header_exits_1() {
    let output = framecrypt(&["inspect", "--codec", "plain", "9901"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("malformed SFrame header"));
}

fn last_line(output: &Output) -> String {
    stdout(output).lines().last().unwrap_or_default().to_owned()
}

/// Runs `vectors` on a committed file that must pass with the last line
/// `summary`; returns the standard output.
fn vectors_pass(file: &str, summary: &str) -> String {
    let output = framecrypt(&["vectors", path(&data(file))]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(last_line(&output), summary);
    stdout(&output)
}

#[test]
fn vectors_pass_for_the_rfc_file() {
    let out = vectors_pass("rfc9605-test-vectors.json", "297 passed, 0 failed");
    assert!(out.contains("header: 289 passed, 0 failed"));
    assert!(out.contains("aes_ctr_hmac: 3 passed, 0 failed"));
    assert!(out.contains("sframe: 5 passed, 0 failed"));
}

#[test]
fn vectors_pass_for_the_aes256_file() {
    vectors_pass("aes256-ctr-hmac-test-vectors.json", "3 passed, 0 failed");
}

#[test]
fn vectors_report_and_count_a_wrong_case() {
    let mut json = data_json("rfc9605-test-vectors.json");
    json["header"][2]["encoded"] = "08fe".into();
    json["sframe"][4]["pt"] = "00".into();
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tampered-vectors.json");
    std::fs::write(&file, json.to_string()).expect("write temp file");

    let output = framecrypt(&["vectors", path(&file)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(last_line(&output), "295 passed, 2 failed");
    let out = stdout(&output);
    assert!(out.contains("FAIL header[2]"), "{out}");
    assert!(out.contains("FAIL sframe[4]"), "{out}");
    assert!(stderr(&output).contains("2 of 297 cases failed"));
}

#[test]
fn vectors_of_a_missing_file_fail_with_a_message() {
    let output = framecrypt(&["vectors", "/no/such/file.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read /no/such/file.json"));
}

#[test]
fn bad_hex_is_a_clear_usage_error() {
    assert_usage_error(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "1",
            "--key",
            &format!("1={KEY}"),
            "abc",
        ],
        &["<PLAINTEXT_HEX>", "odd number of digits"],
    );
    assert_usage_error(
        &[
            "encrypt", "--suite", "4", "--ctr", "1", "--key", "1=zz", "00",
        ],
        &["--key", "'z' at position 0 is not a hex digit"],
    );
    assert_usage_error(
        &["inspect", "--codec", "plain", "0g"],
        &["[FRAME_HEX]", "'g' at position 1"],
    );
    assert_usage_error(
        &["decrypt", "--suite", "4", "--key", KEY, GCM_CT],
        &["--key", "expected KID=HEX"],
    );
}

#[test]
fn unknown_suite_is_a_clear_usage_error() {
    for suite in ["0", "9", "0x10", "AES_512_GCM"] {
        assert_usage_error(
            &[
                "encrypt",
                "--suite",
                suite,
                "--ctr",
                "1",
                "--key",
                &format!("1={KEY}"),
                "00",
            ],
            &["--suite", "unknown cipher suite", "AES_128_GCM_SHA256_128"],
        );
    }
}

#[test]
fn bad_integers_and_key_lengths_are_usage_errors() {
    assert_usage_error(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "1",
            "--key",
            &format!("12g={KEY}"),
            "00",
        ],
        &["--key", "not an integer"],
    );
    assert_usage_error(
        &[
            "encrypt",
            "--suite",
            "4",
            "--ctr",
            "0x1ffffffffffffffff",
            "--key",
            &format!("1={KEY}"),
            "00",
        ],
        &["--ctr", "does not fit in 64 bits"],
    );
    assert_usage_error(
        &["encrypt", "--suite", "4", "--ctr", "1", "--key", "1=", "00"],
        &["--key", "1 to 128 bytes"],
    );
    assert_usage_error(
        &[
            "decrypt",
            "--suite",
            "4",
            "--key",
            &format!("1={KEY}"),
            "--key",
            &format!("0x1={KEY}"),
            GCM_CT,
        ],
        &["KID 0x1 given twice"],
    );
}
