//! `framecrypt ratchet`, `encrypt --ratchet-bits/--step` and
//! `framecrypt mls-kid`, run as a user would run them, against the ratchet
//! vectors and RFC 9605 Figure 9.

mod common;

use common::{KEY, assert_usage_error, data_json, ok};
use serde_json::Value;

fn text(value: &Value, name: &str) -> String {
    match &value[name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("{name}: {other}"),
    }
}

#[test]
fn ratchet_prints_every_vector_chain_step_0_first() {
    let vectors = data_json("ratchet-vectors.json");
    let cases = vectors["ratchet"].as_array().expect("cases");
    assert_eq!(cases.len(), 8);
    for case in cases {
        let suite = text(case, "cipher_suite");
        let out = ok(&[
            "ratchet",
            "--suite",
            &suite,
            "--base-key",
            &text(case, "base_key"),
            "--steps",
            "10",
        ]);
        let expected: Vec<&str> = case["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s.as_str().expect("hex"))
            .collect();
        assert_eq!(out.lines().collect::<Vec<_>>(), expected, "suite {suite}");
    }
    let zero = ok(&[
        "ratchet",
        "--suite",
        "5",
        "--base-key",
        "0011",
        "--steps",
        "0",
    ]);
    assert_eq!(zero, "0011\n", "K = 0 prints the key itself");
}

#[test]
fn encrypt_with_a_ratchet_position_reproduces_every_vector_frame() {
    let vectors = data_json("ratchet-vectors.json");
    let mut frames = 0;
    for sequence in vectors["sequences"].as_array().expect("sequences") {
        for case in sequence["frames"].as_array().expect("frames") {
            // The key of the generation's first KID, G << R.
            let bits: u32 = text(case, "ratchet_bits").parse().expect("R");
            let generation: u64 = text(case, "generation").parse().expect("G");
            let key = format!(
                "{:#x}={}",
                generation << bits,
                text(case, "generation_base_key")
            );
            let out = ok(&[
                "encrypt",
                "--suite",
                &text(case, "cipher_suite"),
                "--ctr",
                &text(case, "ctr"),
                "--key",
                &key,
                "--ratchet-bits",
                &text(case, "ratchet_bits"),
                "--step",
                &text(case, "step"),
                "--metadata",
                &text(case, "metadata"),
                &text(case, "pt"),
            ]);
            assert_eq!(out.trim_end(), text(case, "ct"));
            frames += 1;
        }
    }
    assert_eq!(frames, 288);
}

#[test]
fn a_ratcheted_frame_decrypts_with_the_key_ratchet_prints() {
    let frame = ok(&[
        "encrypt",
        "--suite",
        "1",
        "--ctr",
        "7",
        "--key",
        &format!("0x30={KEY}"), // generation 3's first KID: 3 << 4
        "--ratchet-bits",
        "4",
        "--step",
        "18",
        "00112233",
    ]);
    let chain = ok(&[
        "ratchet",
        "--suite",
        "1",
        "--base-key",
        KEY,
        "--steps",
        "18",
    ]);
    let step_18 = chain.lines().last().expect("19 lines");
    // KID = (3 << 4) + (18 mod 16) = 0x32.
    let plaintext = ok(&[
        "decrypt",
        "--suite",
        "1",
        "--key",
        &format!("0x32={step_18}"),
        frame.trim_end(),
    ]);
    assert_eq!(plaintext, "00112233\n");
}

/// RFC 9605 Figure 9 (E = 4, S = 6): (epoch, index, context, KID).
const FIGURE_9: [(u64, u64, u64, u64); 9] = [
    (14, 3, 0, 0x3e),
    (14, 7, 0, 0x7e),
    (14, 20, 0, 0x14e),
    (15, 3, 0, 0x3f),
    (15, 5, 0, 0x5f),
    (16, 2, 2, 0x820),
    (16, 2, 3, 0xc20),
    (17, 33, 0, 0x211),
    (17, 51, 0, 0x331),
];

#[test]
fn mls_kid_prints_every_kid_of_figure_9_in_decimal_and_hex() {
    for (epoch, index, context, kid) in FIGURE_9 {
        let expected = format!("{kid} {kid:#x}\n");
        for s in [["--sender-bits", "6"], ["--group-size", "64"]] {
            let out = ok(&[
                "mls-kid",
                "--epoch-bits",
                "4",
                s[0],
                s[1],
                "--context",
                &context.to_string(),
                "--sender-index",
                &index.to_string(),
                "--epoch",
                &epoch.to_string(),
            ]);
            assert_eq!(out, expected, "epoch {epoch} index {index} {s:?}");
        }
    }
}

#[test]
fn ratchet_arguments_out_of_range_are_usage_errors() {
    /// `encrypt` with a suite, counter and the key of KID 0, then `rest`.
    fn encrypt<'a>(key: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        [
            &["encrypt", "--suite", "4", "--ctr", "0", "--key", key][..],
            rest,
        ]
        .concat()
    }
    let kid_0 = format!("0={KEY}");
    assert_usage_error(
        &[
            "ratchet",
            "--suite",
            "1",
            "--base-key",
            KEY,
            "--steps",
            "1000001",
        ],
        &["--steps", "at most 1000000"],
    );
    for bits in ["0", "64"] {
        assert_usage_error(
            &encrypt(&kid_0, &["--ratchet-bits", bits, "--step", "0", "00"]),
            &["--ratchet-bits", "from 1 to 63"],
        );
    }
    // The key's KID must be its generation's first (low R bits 0).
    let kid_0x31 = format!("0x31={KEY}");
    assert_usage_error(
        &encrypt(&kid_0x31, &["--ratchet-bits", "4", "--step", "2", "00"]),
        &["generation's first", "did you mean 0x30"],
    );
    assert_usage_error(
        &encrypt(&kid_0, &["--ratchet-bits", "2", "00"]),
        &["--step"],
    );
    assert_usage_error(
        &encrypt(&kid_0, &["--step", "1", "00"]),
        &["--ratchet-bits"],
    );
    // The old spellings are gone: the KID goes with its key.
    assert_usage_error(
        &encrypt(&kid_0, &["--kid", "1", "00"]),
        &["unexpected argument '--kid'"],
    );
    assert_usage_error(
        &["ratchet", "--suite", "1", "--key", KEY, "--steps", "1"],
        &["unexpected argument '--key'"],
    );
}

#[test]
fn mls_kid_fields_that_do_not_fit_are_usage_errors() {
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["mls-kid", "--epoch-bits", "4", "--epoch", "1"][..], extra].concat()
    }
    assert_usage_error(
        &with(&["--sender-bits", "6", "--sender-index", "64"]),
        &["--sender-index", "S = 6"],
    );
    assert_usage_error(
        &with(&[
            "--sender-bits",
            "60",
            "--context",
            "1",
            "--sender-index",
            "0",
        ]),
        &["--context", "0 bits"],
    );
    assert_usage_error(
        &with(&["--sender-bits", "61", "--sender-index", "0"]),
        &["bad KID layout"],
    );
    assert_usage_error(
        &with(&["--group-size", "0", "--sender-index", "0"]),
        &["bad KID layout"],
    );
    assert_usage_error(
        &with(&["--sender-index", "0"]),
        &["--sender-bits", "--group-size"],
    );
    assert_usage_error(
        &with(&[
            "--sender-bits",
            "2",
            "--group-size",
            "4",
            "--sender-index",
            "0",
        ]),
        &["cannot be used with"],
    );
}
