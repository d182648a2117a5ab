//! The harnesses are not vacuous: the committed seeds reach the paths they
//! were built for (vector frames decrypt, replays and edits are refused),
//! and the roundtrip oracle agrees with the receiver on them.
//!
//! Run with `cargo test --manifest-path fuzz/Cargo.toml` after
//! `fuzz/make-corpus.sh`.

use std::fs;
use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use framecrypt::codec::Layout;
use framecrypt::{Error, KeyId};
use framecrypt_fuzz::announcement::{self, AnnouncementInput};
use framecrypt_fuzz::codec::{self, CodecInput};
use framecrypt_fuzz::decrypt::{self, DecryptInput};
use framecrypt_fuzz::roundtrip::{self, RoundtripInput};
use framecrypt_fuzz::rtp::{self, RtpInput};

fn seeds(target: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut seeds: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            (name, fs::read(&path).expect("seed"))
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no {target} seeds named {prefix}*");
    seeds
}

fn decode<T: for<'a> Arbitrary<'a>>(bytes: &[u8]) -> T {
    T::arbitrary_take_rest(Unstructured::new(bytes)).expect("a seed decodes")
}

#[test]
fn rfc9605_frames_decrypt_once_per_replay_protected_receiver() {
    for (name, bytes) in seeds("decrypt", "rfc9605-") {
        let outcomes = decrypt::run(&decode::<DecryptInput>(&bytes));
        // R = 4 receiver: the edited frame fails, the frame is accepted,
        // then refused as a replay; core receiver: accepted, then refused
        // as a replay too.
        assert_eq!(outcomes.accepted, 2, "{name}");
        assert_eq!(
            outcomes.rejected,
            [
                Error::AuthenticationFailed,
                Error::Replayed,
                Error::Replayed
            ],
            "{name}"
        );
    }
}

#[test]
fn ratchet_vector_sequences_decrypt_in_order() {
    for (name, bytes) in seeds("decrypt", "ratchet-") {
        let outcomes = decrypt::run(&decode::<DecryptInput>(&bytes));
        if name.ends_with("in-order") {
            assert!(outcomes.rejected.is_empty(), "{name}: {outcomes:?}");
            assert!(outcomes.accepted >= 11, "{name}: {outcomes:?}");
        } else {
            // Reversed: the newest steps first, older ones partly too late.
            assert!(outcomes.accepted >= 4, "{name}: {outcomes:?}");
            assert!(!outcomes.rejected.is_empty(), "{name}: {outcomes:?}");
        }
    }
}

#[test]
fn harness_frames_decrypt_and_edits_are_refused() {
    for (name, bytes) in seeds("decrypt", "harness-") {
        let outcomes = decrypt::run(&decode::<DecryptInput>(&bytes));
        assert!(outcomes.accepted >= 3, "{name}: {outcomes:?}");
        for refused in [Error::AuthenticationFailed, Error::BufferTooSmall] {
            assert!(outcomes.rejected.contains(&refused), "{name}: {outcomes:?}");
        }
    }
}

#[test]
fn roundtrip_sequences_in_order_all_decrypt() {
    for (name, bytes) in seeds("roundtrip", "ratchet-") {
        let results = roundtrip::run(&decode::<RoundtripInput>(&bytes));
        if name.ends_with("in-order") {
            assert!(results.len() >= 11, "{name}");
            assert!(results.iter().all(Result::is_ok), "{name}: {results:?}");
        } else {
            assert!(results.iter().any(Result::is_ok), "{name}: {results:?}");
            assert!(results.iter().any(Result::is_err), "{name}: {results:?}");
        }
    }
}

#[test]
fn roundtrip_rfc9605_scenarios_see_replays_and_flips() {
    for (name, bytes) in seeds("roundtrip", "rfc9605-") {
        let results = roundtrip::run(&decode::<RoundtripInput>(&bytes));
        for expected in [
            Ok(()),
            Err(Error::Replayed),
            Err(Error::AuthenticationFailed),
        ] {
            assert!(results.contains(&expected), "{name}: {results:?}");
        }
    }
}

#[test]
fn roundtrip_edges_reach_their_errors() {
    let results = |name: &str| {
        let (_, bytes) = seeds("roundtrip", name).remove(0);
        roundtrip::run(&decode::<RoundtripInput>(&bytes))
    };
    // The last two counters decrypt; the next generation's frame arrives
    // before its key: unknown. With R = 1, step 2 carries the KID bits of
    // step 0, so its frame is tried under step 0's key and fails.
    let exhaustion = results("edge-counter-exhaustion");
    assert_eq!(
        exhaustion[..4],
        [
            Ok(()),
            Ok(()),
            Err(Error::UnknownKeyId(KeyId(1 << 1))),
            Err(Error::AuthenticationFailed)
        ]
    );
    assert!(results("edge-one-step-bit").iter().any(Result::is_ok));
}

#[test]
fn media_frames_round_trip_codec_aware_and_their_protected_forms_unprotect() {
    for (name, bytes) in seeds("codec", "roundtrip-") {
        let input = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        let layout = codec::run(&input);
        if name.ends_with("-0") {
            // Keyframes, no flip: the whole round trip, codec-aware.
            assert_eq!(layout, Some(Layout::CodecAware), "{name}");
        }
    }
    for (name, bytes) in seeds("codec", "unprotect-") {
        let input = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        assert_eq!(codec::run(&input), Some(Layout::CodecAware), "{name}");
    }
}

#[test]
fn every_committed_seed_runs_clean() {
    for (_, bytes) in seeds("header_parse", "") {
        let _ = framecrypt::Header::parse(&bytes);
    }
    for (_, bytes) in seeds("decrypt", "") {
        decrypt::run(&decode::<DecryptInput>(&bytes));
    }
    for (_, bytes) in seeds("roundtrip", "") {
        roundtrip::run(&decode::<RoundtripInput>(&bytes));
    }
    for (_, bytes) in seeds("codec", "") {
        let input = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        codec::run(&input);
    }
    for (_, bytes) in seeds("sfu_inspect", "") {
        framecrypt_fuzz::sfu::run(&bytes);
    }
    for (_, bytes) in seeds("rtp_reassemble", "") {
        let input = RtpInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        rtp::run(&input);
    }
    for (_, bytes) in seeds("announcement", "") {
        let input =
            AnnouncementInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        let _ = announcement::run(&input);
    }
}

/// The `announcement` seeds open or are refused as their names say: the
/// genuine ones open (also for a receiver that knows exactly their roster
/// version, a minute later), and are refused as superseded or expired by
/// a receiver that knows a newer roster or whose clock is too late; edited
/// ones are refused (a generation byte is in the header).
#[test]
fn announcement_seeds_reach_each_freshness_outcome() {
    let mut seen = [0; 5];
    for (name, bytes) in seeds("announcement", "edit-") {
        let input =
            AnnouncementInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        let outcome = announcement::run(&input);
        let (expected, i) = match name.rsplit('-').next() {
            Some("untouched" | "current") => (outcome.is_ok(), 0),
            Some("superseded") => (outcome == Err(Error::AnnouncementSuperseded), 1),
            Some("expired") => (outcome == Err(Error::AnnouncementExpired), 2),
            // A generation too large for R = 62 is malformed.
            Some("generation") => (
                matches!(
                    outcome,
                    Err(Error::AuthenticationFailed | Error::MalformedAnnouncement)
                ),
                3,
            ),
            Some("sealed") => (outcome == Err(Error::AuthenticationFailed), 4),
            _ => panic!("unexpected seed {name}"),
        };
        assert!(expected, "{name}: {outcome:?}");
        seen[i] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    for (name, bytes) in seeds("announcement", "forge-") {
        let input =
            AnnouncementInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        let outcome = announcement::run(&input);
        // Raw genuine bytes: Bob's open; the others are not addressed to him.
        assert!(
            outcome.is_ok() || outcome == Err(Error::WrongRecipient),
            "{name}: {outcome:?}"
        );
    }
}

/// The `ffi` seeds reach every success path of the C API and every
/// boundary refusal, with the C results equal to the safe API's (the
/// harness asserts that on each call).
#[test]
fn ffi_seeds_reach_each_success_and_each_refusal() {
    use framecrypt_ffi::framecrypt_result::{self, *};
    use framecrypt_fuzz::ffi::{self, FfiInput};
    let run = |bytes: &[u8]| ffi::run(&decode::<FfiInput>(bytes));
    let ok = |n: usize| vec![FRAMECRYPT_OK; n];

    let vectors = seeds("ffi", "rfc9605-");
    assert_eq!(vectors.len(), 8, "every suite");
    for (name, bytes) in vectors {
        // New receiver, add key, decrypt, parse the header, inspect.
        assert_eq!(run(&bytes), ok(5), "{name}");
    }
    for (name, bytes) in seeds("ffi", "roundtrip-") {
        // Sender, receiver, add key, encrypt; a forgery, the frame; a
        // short buffer, encrypt, the second frame; the first again.
        let mut expected = ok(4);
        expected.extend([FRAMECRYPT_ERR_AUTHENTICATION_FAILED, FRAMECRYPT_OK]);
        expected.push(FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
        expected.extend(ok(2));
        expected.push(FRAMECRYPT_ERR_REPLAYED);
        assert_eq!(run(&bytes), expected, "{name}");
    }
    for (name, bytes) in seeds("ffi", "media-") {
        // New sender and receiver, add key, protect, inspect, unprotect;
        // protect, unprotect in place.
        assert_eq!(run(&bytes), ok(8), "{name}");
    }
    for (name, bytes) in seeds("ffi", "exact-") {
        // Exactly the protected length is accepted; a byte less is
        // refused (the harness checks the length it reports).
        let mut expected = ok(3);
        expected.push(FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
        assert_eq!(run(&bytes), expected, "{name}");
    }
    let [(_, ratchet)] = seeds("ffi", "ratchet")
        .try_into()
        .expect("one ratchet seed");
    // Sender, receiver, install, encrypt, ratchet, encrypt, current key,
    // next counter, decrypt.
    let mut expected = ok(9);
    expected.extend([
        FRAMECRYPT_ERR_REPLAYED,
        FRAMECRYPT_OK,
        FRAMECRYPT_OK,
        FRAMECRYPT_OK,
    ]);
    expected.extend([FRAMECRYPT_ERR_UNKNOWN_KEY_ID, FRAMECRYPT_OK, FRAMECRYPT_OK]);
    expected.push(FRAMECRYPT_ERR_WRONG_KIND);
    assert_eq!(run(&ratchet), expected, "ratchet");

    let [(_, boundary)] = seeds("ffi", "boundary")
        .try_into()
        .expect("one boundary seed");
    let expected: Vec<framecrypt_result> = vec![
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_OK,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_BUFFERS_OVERLAP,
        FRAMECRYPT_ERR_LENGTH_TOO_LARGE,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_WRONG_KIND,
        // Counter 0 after all the refusals: the harness checks the bytes
        // against a fresh Rust sender's first frame.
        FRAMECRYPT_OK,
    ];
    assert_eq!(run(&boundary), expected, "boundary");

    let [(_, handles)] = seeds("ffi", "handles")
        .try_into()
        .expect("one handles seed");
    // A sender passed as a receiver; a freed receiver; a freed sender,
    // twice.
    let mut expected = ok(2);
    expected.extend([
        FRAMECRYPT_ERR_WRONG_OBJECT,
        FRAMECRYPT_ERR_INVALID_HANDLE,
        FRAMECRYPT_ERR_INVALID_HANDLE,
        FRAMECRYPT_ERR_INVALID_HANDLE,
    ]);
    assert_eq!(run(&handles), expected, "handles");

    let [(_, swapped)] = seeds("ffi", "swapped")
        .try_into()
        .expect("one swapped seed");
    // Codec and fallback swapped, a suite as a codec, a fallback as a
    // codec, a codec as a suite; then the right call, at counter 0.
    let expected = vec![
        FRAMECRYPT_OK,
        FRAMECRYPT_ERR_INVALID_PARAMETER,
        FRAMECRYPT_ERR_INVALID_PARAMETER,
        FRAMECRYPT_ERR_INVALID_PARAMETER,
        FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
        FRAMECRYPT_OK,
    ];
    assert_eq!(run(&swapped), expected, "swapped");
}
