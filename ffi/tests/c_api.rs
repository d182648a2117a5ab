//! The C entry points, called from Rust exactly as C would call them: the
//! official vectors, round trips for every suite and both kinds of sender
//! and receiver, and the boundary rules (NULL, lengths, overlap, kinds).
//! `cargo +nightly miri test -p framecrypt-ffi --test c_api` runs the same
//! calls under Miri, which checks the unsafe code for undefined behaviour.

// Each test's unsafe block groups calls under one stated contract.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ptr::{null, null_mut};

use framecrypt_ffi::*;

use framecrypt_codec::*;
use framecrypt_fallback::*;
use framecrypt_result::*;
use framecrypt_suite::*;

/// The suite with the registry value `n` (or a value that is none).
fn id(n: u16) -> SuiteId {
    SuiteId(n.into())
}

/// A sender or receiver freed when the test lets go of it.
struct Owned<T> {
    ptr: *mut T,
    free: unsafe extern "C" fn(*mut T),
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from the matching `_new` and is freed once.
        unsafe { (self.free)(self.ptr) }
    }
}

fn sender(suite: impl Into<SuiteId>, kid: u64, key: &[u8]) -> Owned<framecrypt_sender> {
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe { framecrypt_sender_new(suite.into(), kid, key.as_ptr(), key.len(), &mut ptr) };
    assert_eq!(r, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_sender_free,
    }
}

fn ratcheting_sender(
    suite: framecrypt_suite,
    bits: u32,
    generation: u64,
    key: &[u8],
) -> Owned<framecrypt_sender> {
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe {
        framecrypt_sender_new_ratcheting(
            suite.into(),
            bits,
            generation,
            key.as_ptr(),
            key.len(),
            &mut ptr,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_sender_free,
    }
}

fn receiver() -> Owned<framecrypt_receiver> {
    let mut ptr = null_mut();
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { framecrypt_receiver_new(&mut ptr) }, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_receiver_free,
    }
}

fn ratcheting_receiver(suite: framecrypt_suite, bits: u32) -> Owned<framecrypt_receiver> {
    let mut ptr = null_mut();
    // SAFETY: valid out-pointer.
    let r = unsafe { framecrypt_receiver_new_ratcheting(suite.into(), bits, &mut ptr) };
    assert_eq!(r, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_receiver_free,
    }
}

fn add_key(
    rx: &Owned<framecrypt_receiver>,
    suite: impl Into<SuiteId>,
    kid: u64,
    key: &[u8],
) -> framecrypt_result {
    // SAFETY: live receiver, valid key slice.
    unsafe { framecrypt_receiver_add_key(rx.ptr, suite.into(), kid, key.as_ptr(), key.len()) }
}

fn install(rx: &Owned<framecrypt_receiver>, generation: u64, key: &[u8]) -> framecrypt_result {
    // SAFETY: live receiver, valid key slice.
    unsafe { framecrypt_receiver_install_key(rx.ptr, 0, generation, 0, key.as_ptr(), key.len()) }
}

fn encrypt(
    tx: &Owned<framecrypt_sender>,
    metadata: &[u8],
    pt: &[u8],
) -> Result<Vec<u8>, framecrypt_result> {
    let mut cap = 0;
    // SAFETY: live sender, valid out-pointer.
    let r = unsafe { framecrypt_sender_encrypted_len(tx.ptr, pt.len(), &mut cap) };
    if r != FRAMECRYPT_OK {
        // An exhausted sender has no next frame, so no length for it.
        return Err(r);
    }
    let mut out = vec![0; cap];
    let mut len = usize::MAX;
    // SAFETY: live sender; slices valid for their lengths and disjoint.
    let r = unsafe {
        framecrypt_sender_encrypt(
            tx.ptr,
            metadata.as_ptr(),
            metadata.len(),
            pt.as_ptr(),
            pt.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    if r != FRAMECRYPT_OK {
        assert_eq!(len, usize::MAX, "a failed call wrote its length");
        return Err(r);
    }
    assert_eq!(len, cap, "ciphertext_len is exact");
    Ok(out)
}

fn decrypt(
    rx: &Owned<framecrypt_receiver>,
    metadata: &[u8],
    frame: &[u8],
) -> Result<(Vec<u8>, framecrypt_header), framecrypt_result> {
    let mut out = vec![0xAA; frame.len()];
    let mut len = usize::MAX;
    let mut header = framecrypt_header::default();
    // SAFETY: live receiver; slices valid for their lengths and disjoint.
    let r = unsafe {
        framecrypt_receiver_decrypt(
            rx.ptr,
            0,
            metadata.as_ptr(),
            metadata.len(),
            frame.as_ptr(),
            frame.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
            &mut header,
        )
    };
    if r != FRAMECRYPT_OK {
        assert_eq!(len, usize::MAX, "a failed call wrote its length");
        return Err(r);
    }
    out.truncate(len);
    Ok((out, header))
}

fn hex(value: &serde_json::Value, field: &str) -> Vec<u8> {
    hex::decode(value[field].as_str().expect("hex field")).expect("valid hex")
}

fn number(value: &serde_json::Value, field: &str) -> u64 {
    value[field].as_u64().expect("number field")
}

fn vector_cases() -> Vec<serde_json::Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/");
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(format!("{dir}{name}")).expect("vector file");
        serde_json::from_str(&text).expect("vector JSON")
    };
    let mut cases = read("rfc9605-test-vectors.json")["sframe"]
        .as_array()
        .expect("sframe cases")
        .clone();
    cases.extend(
        read("aes256-ctr-hmac-test-vectors.json")["sframe_aes_256_ctr_hmac"]
            .as_array()
            .expect("suite 6-8 cases")
            .iter()
            .cloned(),
    );
    cases
}

const SUITES: [framecrypt_suite; 8] = [
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80,
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_64,
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_32,
    FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128,
    FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128,
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_80,
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_64,
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32,
];

#[test]
#[cfg_attr(
    miri,
    ignore = "eight key schedules; the round trips cover the same calls"
)]
fn every_official_vector_both_ways_through_the_c_api() {
    let cases = vector_cases();
    assert_eq!(cases.len(), 8, "5 RFC 9605 cases and 3 for suites 6-8");
    for case in &cases {
        let suite = id(u16::try_from(number(case, "cipher_suite")).expect("suite id"));
        let kid = number(case, "kid");
        let rx = receiver();
        assert_eq!(
            add_key(&rx, suite, kid, &hex(case, "base_key")),
            FRAMECRYPT_OK
        );
        let (pt, header) =
            decrypt(&rx, &hex(case, "metadata"), &hex(case, "ct")).expect("vector decrypts");
        assert_eq!(pt, hex(case, "pt"), "suite {suite:?}");
        assert_eq!(
            header,
            framecrypt_header {
                kid,
                ctr: number(case, "ctr")
            }
        );

        // The other direction: a sender resumed at the vector's counter
        // makes exactly the vector's frame.
        let key = hex(case, "base_key");
        let mut ptr = null_mut();
        // SAFETY: valid key slice and out-pointer.
        let r = unsafe {
            framecrypt_sender_resume(
                suite,
                kid,
                key.as_ptr(),
                key.len(),
                number(case, "ctr"),
                &mut ptr,
            )
        };
        assert_eq!(r, FRAMECRYPT_OK);
        let tx = Owned {
            ptr,
            free: framecrypt_sender_free,
        };
        let frame = encrypt(&tx, &hex(case, "metadata"), &hex(case, "pt")).expect("encrypt");
        assert_eq!(frame, hex(case, "ct"), "suite {suite:?}");
    }
}

#[test]
fn every_suite_round_trips_and_rejects_a_flipped_bit() {
    let key = [7u8; 16];
    for suite in SUITES {
        let tx = sender(suite, 5, &key);
        let rx = receiver();
        assert_eq!(add_key(&rx, suite, 5, &key), FRAMECRYPT_OK);
        for ctr in 0..2 {
            let frame = encrypt(&tx, b"meta", b"payload").expect("encrypt");
            // Forgeries first: they reach the tag check and change nothing.
            let mut forged = frame.clone();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            assert_eq!(
                decrypt(&rx, b"meta", &forged),
                Err(FRAMECRYPT_ERR_AUTHENTICATION_FAILED)
            );
            assert_eq!(
                decrypt(&rx, b"other", &frame),
                Err(FRAMECRYPT_ERR_AUTHENTICATION_FAILED)
            );
            assert_eq!(
                decrypt(&rx, b"meta", &frame),
                Ok((b"payload".to_vec(), framecrypt_header { kid: 5, ctr }))
            );
            // The plain receiver rejects replays, as the Rust one does.
            assert_eq!(decrypt(&rx, b"meta", &frame), Err(FRAMECRYPT_ERR_REPLAYED));
        }
    }
}

#[test]
fn ratcheting_sender_and_receiver_follow_each_other() {
    let suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    let tx = ratcheting_sender(suite, 4, 1, b"generation one key");
    let rx = ratcheting_receiver(suite, 4);
    assert_eq!(install(&rx, 1, b"generation one key"), FRAMECRYPT_OK);

    let first = encrypt(&tx, b"", b"hello").expect("encrypt");
    assert_eq!(
        decrypt(&rx, b"", &first).map(|(pt, _)| pt),
        Ok(b"hello".to_vec())
    );
    assert_eq!(decrypt(&rx, b"", &first), Err(FRAMECRYPT_ERR_REPLAYED));

    // A join: the sender ratchets; the receiver follows with no new key.
    let mut kid = 0;
    assert_eq!(framecrypt_sender_ratchet(tx.ptr), FRAMECRYPT_OK);
    // SAFETY: live sender, valid out-pointer.
    let r = unsafe { framecrypt_sender_kid(tx.ptr, &mut kid) };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(kid, (1 << 4) | 1);
    let stepped = encrypt(&tx, b"", b"after join").expect("encrypt");
    assert_eq!(
        decrypt(&rx, b"", &stepped),
        Ok((b"after join".to_vec(), framecrypt_header { kid, ctr: 0 }))
    );

    // A leave: a fresh key for generation 2, unknown until installed.
    let fresh = b"generation two key";
    // SAFETY: live sender, valid key slice.
    let r = unsafe { framecrypt_sender_rekey(tx.ptr, fresh.as_ptr(), fresh.len()) };
    assert_eq!(r, FRAMECRYPT_OK);
    let rekeyed = encrypt(&tx, b"", b"after leave").expect("encrypt");
    assert!(decrypt(&rx, b"", &rekeyed).is_err());
    assert_eq!(install(&rx, 1, fresh), FRAMECRYPT_ERR_STALE_KEY);
    assert_eq!(install(&rx, 2, fresh), FRAMECRYPT_OK);
    assert_eq!(
        decrypt(&rx, b"", &rekeyed).map(|(pt, _)| pt),
        Ok(b"after leave".to_vec())
    );
}

#[test]
fn calls_for_the_other_kind_are_refused() {
    let suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    let plain_tx = sender(suite, 1, b"key");
    let plain_rx = receiver();
    let ratcheting_rx = ratcheting_receiver(suite, 4);
    // SAFETY: live objects and valid slices throughout.
    unsafe {
        assert_eq!(
            framecrypt_sender_ratchet(plain_tx.ptr),
            FRAMECRYPT_ERR_WRONG_KIND
        );
        assert_eq!(
            framecrypt_sender_rekey(plain_tx.ptr, b"k".as_ptr(), 1),
            FRAMECRYPT_ERR_WRONG_KIND
        );
        assert_eq!(
            framecrypt_receiver_remove_key(ratcheting_rx.ptr, 1, null_mut()),
            FRAMECRYPT_ERR_WRONG_KIND
        );
    }
    assert_eq!(
        add_key(&ratcheting_rx, suite, 1, b"key"),
        FRAMECRYPT_ERR_WRONG_KIND
    );
    assert_eq!(install(&plain_rx, 1, b"key"), FRAMECRYPT_ERR_WRONG_KIND);
}

#[test]
fn bad_parameters_are_refused_and_nothing_is_handed_out() {
    let mut tx = null_mut();
    let mut rx = null_mut();
    let key = [1u8; 16];
    // SAFETY: valid slices and out-pointers throughout.
    unsafe {
        for suite in [0, 9, u16::MAX].map(id) {
            let r = framecrypt_sender_new(suite, 1, key.as_ptr(), key.len(), &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
            let r = framecrypt_receiver_new_ratcheting(suite, 4, &mut rx);
            assert_eq!(r, FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
        }
        let long = [0u8; 129];
        for (ptr, len) in [(key.as_ptr(), 0), (null(), 0), (long.as_ptr(), long.len())] {
            let r = framecrypt_sender_new(id(1), 1, ptr, len, &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
        }
        for bits in [0, 64, u32::MAX] {
            let r =
                framecrypt_sender_new_ratcheting(id(1), bits, 0, key.as_ptr(), key.len(), &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_INVALID_PARAMETER);
        }
        // Generation 2^60 does not fit above 4 ratchet bits.
        let r =
            framecrypt_sender_new_ratcheting(id(1), 4, 1 << 60, key.as_ptr(), key.len(), &mut tx);
        assert_eq!(r, FRAMECRYPT_ERR_INVALID_PARAMETER);
        assert_eq!(
            framecrypt_sender_new(id(1), 1, key.as_ptr(), key.len(), null_mut()),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            framecrypt_sender_new(id(1), 1, null(), 16, &mut tx),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            framecrypt_receiver_new(null_mut()),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        // Freeing NULL is a no-op.
        framecrypt_sender_free(null_mut());
        framecrypt_receiver_free(null_mut());
    }
    assert!(
        tx.is_null() && rx.is_null(),
        "a refused call handed out an object"
    );
}

#[test]
fn null_buffers_are_empty_only_with_length_zero_and_refusals_use_no_counter() {
    let tx = sender(id(1), 3, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, id(1), 3, b"key"), FRAMECRYPT_OK);
    let mut out = [0u8; 64];
    let mut len = 0;
    // SAFETY: live objects; every non-NULL pointer is valid for its length.
    unsafe {
        let enc =
            |md: *const u8, md_len, pt: *const u8, pt_len, out: *mut u8, cap, len: *mut usize| {
                framecrypt_sender_encrypt(tx.ptr, md, md_len, pt, pt_len, out, cap, len)
            };
        let o = out.as_mut_ptr();
        assert_eq!(
            enc(null(), 1, null(), 0, o, 64, &mut len),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            enc(null(), 0, null(), 1, o, 64, &mut len),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            enc(null(), 0, null(), 0, null_mut(), 64, &mut len),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            enc(null(), 0, null(), 0, o, 64, null_mut()),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            enc(null(), 0, null(), 0, o, 1, &mut len),
            FRAMECRYPT_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(
            enc(null(), 0, null(), 0, o, usize::MAX, &mut len),
            FRAMECRYPT_ERR_LENGTH_TOO_LARGE
        );
        assert_eq!(
            framecrypt_sender_encrypt(null_mut(), null(), 0, null(), 0, o, 64, &mut len),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        // An empty frame with NULL metadata and plaintext; counter 0 is
        // still unused after all the refusals above.
        assert_eq!(enc(null(), 0, null(), 0, o, 64, &mut len), FRAMECRYPT_OK);
    }
    assert_eq!(
        decrypt(&rx, b"", &out[..len]),
        Ok((Vec::new(), framecrypt_header { kid: 3, ctr: 0 }))
    );
}

#[test]
fn overlapping_buffers_are_refused_before_any_work() {
    let tx = sender(id(4), 1, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, id(4), 1, b"key"), FRAMECRYPT_OK);
    let mut buf = [0u8; 128];
    let mut len = 0;
    let p = buf.as_mut_ptr();
    // SAFETY: every pointer is into `buf` and in bounds for its length;
    // the calls refuse the overlap before making any slice.
    unsafe {
        let r = framecrypt_sender_encrypt(tx.ptr, null(), 0, p.add(10), 20, p, 64, &mut len);
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        let r = framecrypt_sender_encrypt(tx.ptr, p.add(63), 1, p.add(64), 20, p, 64, &mut len);
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        let r = framecrypt_receiver_decrypt(
            rx.ptr,
            0,
            null(),
            0,
            p,
            64,
            p.add(32),
            64,
            &mut len,
            null_mut(),
        );
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        let r = framecrypt_sender_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8.into(),
            FRAMECRYPT_FALLBACK_REJECT.into(),
            p,
            40,
            p.add(39),
            80,
            &mut len,
            null_mut(),
        );
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        let r = framecrypt_receiver_unprotect(
            rx.ptr,
            0,
            FRAMECRYPT_CODEC_VP8.into(),
            FRAMECRYPT_FALLBACK_REJECT.into(),
            p,
            40,
            p.add(20),
            40,
            &mut len,
            null_mut(),
        );
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    }
    // Adjacent buffers are fine, and counter 0 was not used by the refusals.
    let (input, output) = buf.split_at_mut(64);
    input[..5].copy_from_slice(b"hello");
    // SAFETY: two disjoint halves of `buf`.
    let r = unsafe {
        framecrypt_sender_encrypt(
            tx.ptr,
            null(),
            0,
            input.as_ptr(),
            5,
            output.as_mut_ptr(),
            64,
            &mut len,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(
        decrypt(&rx, b"", &output[..len]),
        Ok((b"hello".to_vec(), framecrypt_header { kid: 1, ctr: 0 }))
    );
}

#[test]
fn a_failed_decrypt_leaves_no_plaintext() {
    let tx = sender(id(1), 2, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, id(1), 2, b"key"), FRAMECRYPT_OK);
    let secret = [0x5Au8; 48];
    let mut frame = encrypt(&tx, b"", &secret).expect("encrypt");
    frame[5] ^= 0x80;
    let mut out = vec![0u8; frame.len()];
    let mut len = 0;
    // SAFETY: live receiver; disjoint slices valid for their lengths.
    let r = unsafe {
        framecrypt_receiver_decrypt(
            rx.ptr,
            0,
            null(),
            0,
            frame.as_ptr(),
            frame.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
            null_mut(),
        )
    };
    assert_eq!(r, FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    assert!(
        !out.windows(4).any(|w| w == [0x5A; 4]),
        "plaintext left in the output"
    );
}

#[test]
fn codec_aware_frames_round_trip_and_the_sfu_reads_them_without_a_key() {
    // A VP8 keyframe: frame tag (keyframe bit 0), start code, 320x240.
    let mut frame = vec![0x50, 0x2A, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00];
    frame.extend((0u8..100).map(|i| i.wrapping_mul(37)));
    let tx = sender(id(4), 9, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, id(4), 9, b"key"), FRAMECRYPT_OK);
    let mut cap = 0;
    // SAFETY: valid out-pointer.
    let r = unsafe {
        framecrypt_sender_max_protected_len(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8.into(),
            frame.len(),
            &mut cap,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    let mut protected = vec![0; cap];
    let (mut len, mut whole) = (0, true);
    // SAFETY: live sender; disjoint slices valid for their lengths.
    let r = unsafe {
        framecrypt_sender_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8.into(),
            FRAMECRYPT_FALLBACK_REJECT.into(),
            frame.as_ptr(),
            frame.len(),
            protected.as_mut_ptr(),
            cap,
            &mut len,
            &mut whole,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert!(!whole);
    protected.truncate(len);
    assert_eq!(
        protected[..10],
        frame[..10],
        "the VP8 payload header stays clear"
    );

    let mut view = framecrypt_sfu_view::default();
    // SAFETY: valid slice and out-pointer.
    let r = unsafe {
        framecrypt_sfu_inspect(
            FRAMECRYPT_CODEC_VP8.into(),
            protected.as_ptr(),
            len,
            &mut view,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(
        (view.header, view.clear_len),
        (framecrypt_header { kid: 9, ctr: 0 }, 10)
    );
    assert_eq!((view.keyframe, view.width, view.height), (1, 320, 240));
    assert_eq!((view.temporal_id, view.opus_toc), (-1, -1));

    let mut restored = vec![0; len];
    let mut header = framecrypt_header::default();
    // SAFETY: live receiver; disjoint slices valid for their lengths.
    let r = unsafe {
        framecrypt_receiver_unprotect(
            rx.ptr,
            0,
            FRAMECRYPT_CODEC_VP8.into(),
            FRAMECRYPT_FALLBACK_REJECT.into(),
            protected.as_ptr(),
            len,
            restored.as_mut_ptr(),
            len,
            &mut len,
            &mut header,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(&restored[..len], frame.as_slice());
    assert_eq!(header, framecrypt_header { kid: 9, ctr: 0 });

    // Unknown codec and fallback numbers are refused.
    // SAFETY: valid out-pointers.
    unsafe {
        assert_eq!(
            framecrypt_sender_max_protected_len(tx.ptr, CodecId(99), 1, &mut cap),
            FRAMECRYPT_ERR_INVALID_PARAMETER
        );
        assert_eq!(
            framecrypt_sfu_inspect(CodecId(99), null(), 0, &mut view),
            FRAMECRYPT_ERR_INVALID_PARAMETER
        );
        let r = framecrypt_sender_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8.into(),
            FallbackId(2),
            frame.as_ptr(),
            frame.len(),
            protected.as_mut_ptr(),
            0,
            &mut len,
            null_mut(),
        );
        assert_eq!(r, FRAMECRYPT_ERR_INVALID_PARAMETER);
    }
}

#[test]
fn header_parse_reads_kid_and_counter() {
    let tx = sender(id(1), 0x1234, b"key");
    let frame = encrypt(&tx, b"", b"x").expect("encrypt");
    let mut header = framecrypt_header::default();
    let mut header_len = 0;
    // SAFETY: valid slice and out-pointers.
    unsafe {
        assert_eq!(
            framecrypt_header_parse(frame.as_ptr(), frame.len(), &mut header, &mut header_len),
            FRAMECRYPT_OK
        );
        // The config byte (CTR 0 fits in it, RFC 9605 §4.3), two KID bytes.
        assert_eq!(header_len, 3);
        assert_eq!(
            header,
            framecrypt_header {
                kid: 0x1234,
                ctr: 0
            }
        );
        assert_eq!(
            framecrypt_header_parse(frame.as_ptr(), 2, &mut header, &mut header_len),
            FRAMECRYPT_ERR_MALFORMED_HEADER
        );
        assert_eq!(
            framecrypt_header_parse(null(), 0, &mut header, &mut header_len),
            FRAMECRYPT_ERR_MALFORMED_HEADER
        );
        assert_eq!(
            framecrypt_header_parse(frame.as_ptr(), frame.len(), null_mut(), &mut header_len),
            FRAMECRYPT_ERR_NULL_POINTER
        );
    }
}

#[test]
fn version_and_messages_are_c_strings() {
    // SAFETY: both return static NUL-terminated strings.
    let (version, auth) = unsafe {
        (
            core::ffi::CStr::from_ptr(framecrypt_version()),
            core::ffi::CStr::from_ptr(framecrypt_result_message(
                FRAMECRYPT_ERR_AUTHENTICATION_FAILED.into(),
            )),
        )
    };
    assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    assert_eq!(auth.to_str(), Ok("authentication failed"));
}

#[test]
fn a_joiner_gets_the_current_step_and_a_resumed_sender_keeps_its_counter() {
    let suite = FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80;
    let tx = ratcheting_sender(suite, 8, 3, b"generation three");
    assert_eq!(framecrypt_sender_ratchet(tx.ptr), FRAMECRYPT_OK);
    assert_eq!(framecrypt_sender_ratchet(tx.ptr), FRAMECRYPT_OK);
    let mut key = [0u8; 128];
    let (mut len, mut generation, mut step) = (0, 0, 0);
    // SAFETY: live sender; valid buffer and out-pointers.
    let r = unsafe {
        framecrypt_sender_current_key(
            tx.ptr,
            key.as_mut_ptr(),
            5,
            &mut len,
            &mut generation,
            &mut step,
        )
    };
    assert_eq!(r, FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    // SAFETY: as above.
    let r = unsafe {
        framecrypt_sender_current_key(
            tx.ptr,
            key.as_mut_ptr(),
            key.len(),
            &mut len,
            &mut generation,
            &mut step,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(
        (len, generation, step),
        (32, 3, 2),
        "SHA-256 suites ratchet to 32-byte keys"
    );
    // The ratcheted key is what the library's ratchet gives.
    let base = framecrypt::BaseKey::new(b"generation three").expect("key");
    let suite_rs = framecrypt_ffi::suite(suite.into()).expect("suite");
    let twice = framecrypt::ratchet_forward(suite_rs, framecrypt::ratchet_forward(suite_rs, base));
    assert_eq!(&key[..len], twice.expose_secret());

    // The joiner installs that step and reads the sender's frames.
    let joiner = ratcheting_receiver(suite, 8);
    // SAFETY: live receiver, valid key slice.
    let r = unsafe {
        framecrypt_receiver_install_key(joiner.ptr, 0, generation, step, key.as_ptr(), len)
    };
    assert_eq!(r, FRAMECRYPT_OK);
    let frame = encrypt(&tx, b"", b"welcome").expect("encrypt");
    assert_eq!(
        decrypt(&joiner, b"", &frame),
        Ok((
            b"welcome".to_vec(),
            framecrypt_header {
                kid: (3 << 8) | 2,
                ctr: 0
            }
        ))
    );

    // The ratcheting sender persisted (key, generation, step, counter) and
    // restarted continues where it was, and the joiner reads it.
    let mut next = 0;
    // SAFETY: live sender, valid out-pointer.
    let r = unsafe { framecrypt_sender_next_counter(tx.ptr, &mut next) };
    assert_eq!((r, next), (FRAMECRYPT_OK, 1));
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe {
        framecrypt_sender_resume_ratcheting(
            suite.into(),
            8,
            generation,
            step,
            key.as_ptr(),
            len,
            next,
            &mut ptr,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    let restarted = Owned {
        ptr,
        free: framecrypt_sender_free,
    };
    let frame = encrypt(&restarted, b"", b"after a restart").expect("encrypt");
    assert_eq!(
        decrypt(&joiner, b"", &frame),
        Ok((
            b"after a restart".to_vec(),
            framecrypt_header {
                kid: (3 << 8) | 2,
                ctr: 1
            }
        ))
    );
    let r = framecrypt_sender_ratchet(restarted.ptr);
    assert_eq!(r, FRAMECRYPT_OK);
    let frame = encrypt(&restarted, b"", b"next step").expect("encrypt");
    assert_eq!(
        decrypt(&joiner, b"", &frame).map(|(_, h)| h.kid),
        Ok((3 << 8) | 3)
    );

    // Persist the next counter, restart, carry on without reusing one.
    let plain = sender(suite, 9, b"key");
    let _ = encrypt(&plain, b"", b"one").expect("encrypt");
    let mut next = 0;
    // SAFETY: live sender, valid out-pointer.
    let r = unsafe { framecrypt_sender_next_counter(plain.ptr, &mut next) };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(next, 1);
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r =
        unsafe { framecrypt_sender_resume(suite.into(), 9, b"key".as_ptr(), 3, next, &mut ptr) };
    assert_eq!(r, FRAMECRYPT_OK);
    let resumed = Owned {
        ptr,
        free: framecrypt_sender_free,
    };
    let rx = receiver();
    assert_eq!(add_key(&rx, suite, 9, b"key"), FRAMECRYPT_OK);
    let frame = encrypt(&resumed, b"", b"two").expect("encrypt");
    assert_eq!(decrypt(&rx, b"", &frame).map(|(_, h)| h.ctr), Ok(1));

    // The last counter value, then exhaustion.
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe {
        framecrypt_sender_resume(suite.into(), 9, b"key".as_ptr(), 3, u64::MAX, &mut ptr)
    };
    assert_eq!(r, FRAMECRYPT_OK);
    let last = Owned {
        ptr,
        free: framecrypt_sender_free,
    };
    assert!(encrypt(&last, b"", b"last").is_ok());
    // SAFETY: live sender, valid out-pointer.
    let r = unsafe { framecrypt_sender_next_counter(last.ptr, &mut next) };
    assert_eq!(r, FRAMECRYPT_ERR_COUNTER_EXHAUSTED);
    assert_eq!(
        encrypt(&last, b"", b"one more"),
        Err(FRAMECRYPT_ERR_COUNTER_EXHAUSTED)
    );
}

#[test]
fn handles_of_the_other_type_or_freed_are_refused_without_being_read() {
    let suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    let tx = sender(suite, 1, b"key");
    let rx = receiver();
    let mut freed_tx = null_mut();
    // SAFETY: a valid key slice and out-pointer.
    let r = unsafe { framecrypt_sender_new(suite.into(), 2, b"k".as_ptr(), 1, &mut freed_tx) };
    assert_eq!(r, FRAMECRYPT_OK);
    framecrypt_sender_free(freed_tx);
    let not_an_object = [0u64; 4];
    let (mut kid, mut len, mut removed) = (7, 7, false);
    let mut out = [0u8; 64];
    // SAFETY: valid out-pointers and buffers; the handles are checked
    // before any use, which is what this test is about.
    unsafe {
        let as_sender = rx.ptr.cast::<framecrypt_sender>();
        assert_eq!(
            framecrypt_sender_kid(as_sender, &mut kid),
            FRAMECRYPT_ERR_WRONG_OBJECT
        );
        assert_eq!(
            framecrypt_sender_kid(freed_tx, &mut kid),
            FRAMECRYPT_ERR_INVALID_HANDLE
        );
        assert_eq!(
            framecrypt_sender_kid(not_an_object.as_ptr().cast(), &mut kid),
            FRAMECRYPT_ERR_INVALID_HANDLE
        );
        assert_eq!(
            framecrypt_sender_encrypt(
                freed_tx,
                null(),
                0,
                null(),
                0,
                out.as_mut_ptr(),
                64,
                &mut len
            ),
            FRAMECRYPT_ERR_INVALID_HANDLE
        );
        let as_receiver = tx.ptr.cast::<framecrypt_receiver>();
        assert_eq!(
            framecrypt_receiver_remove_key(as_receiver, 1, &mut removed),
            FRAMECRYPT_ERR_WRONG_OBJECT
        );
        // Freeing twice, or as the other type, does nothing.
        framecrypt_sender_free(freed_tx);
        framecrypt_receiver_free(as_receiver);
        framecrypt_sender_free(as_sender);
    }
    assert_eq!((kid, len, removed), (7, 7, false));
    assert_eq!(not_an_object, [0; 4]);
    // Both live objects still work.
    assert_eq!(add_key(&rx, suite, 1, b"key"), FRAMECRYPT_OK);
    let frame = encrypt(&tx, b"", b"still here").expect("encrypt");
    assert_eq!(
        decrypt(&rx, b"", &frame).map(|(pt, h)| (pt, h.ctr)),
        Ok((b"still here".to_vec(), 0))
    );
}

/// A raw handle that may cross threads: the C API's objects lock
/// themselves.
struct Shared<T>(*mut T);
impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY: every entry point locks the object it is given.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

const PER_THREAD: usize = if cfg!(miri) { 8 } else { 2_000 };

#[test]
fn two_threads_on_one_sender_never_share_a_counter() {
    let tx = sender(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128, 1, b"key");
    let shared = Shared(tx.ptr);
    let counters: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(move || {
                    let shared = shared;
                    let mut out = [0u8; 64];
                    let mut seen = Vec::with_capacity(PER_THREAD);
                    for _ in 0..PER_THREAD {
                        let mut len = 0;
                        // SAFETY: a live sender (the test frees it after
                        // the scope); valid buffers.
                        let r = unsafe {
                            framecrypt_sender_encrypt(
                                shared.0,
                                null(),
                                0,
                                b"frame".as_ptr(),
                                5,
                                out.as_mut_ptr(),
                                out.len(),
                                &mut len,
                            )
                        };
                        assert_eq!(r, FRAMECRYPT_OK);
                        let mut header = framecrypt_header::default();
                        let mut header_len = 0;
                        // SAFETY: valid buffer and out-pointers.
                        let r = unsafe {
                            framecrypt_header_parse(out.as_ptr(), len, &mut header, &mut header_len)
                        };
                        assert_eq!(r, FRAMECRYPT_OK);
                        seen.push(header.ctr);
                    }
                    seen
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let mut sorted = counters.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 2 * PER_THREAD, "a counter was used twice");
    let mut next = 0;
    // SAFETY: a live sender and a valid out-pointer.
    let r = unsafe { framecrypt_sender_next_counter(tx.ptr, &mut next) };
    assert_eq!((r, next), (FRAMECRYPT_OK, 2 * PER_THREAD as u64));
}

#[test]
fn keys_change_on_one_thread_while_another_decrypts() {
    let suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    let tx = sender(suite, 1, b"key one");
    let frames: Vec<Vec<u8>> = (0..PER_THREAD)
        .map(|i| encrypt(&tx, b"", format!("frame {i:05}").as_bytes()).expect("encrypt"))
        .collect();
    let rx = receiver();
    assert_eq!(add_key(&rx, suite, 1, b"key one"), FRAMECRYPT_OK);
    let shared = Shared(rx.ptr);
    std::thread::scope(|s| {
        s.spawn(move || {
            let shared = shared;
            // Other keys come and go (the store grows and shrinks), and the
            // frames' key is replaced by itself.
            for i in 0..PER_THREAD as u64 {
                let kid = 2 + i % 16;
                // SAFETY: a live receiver; valid key slices.
                unsafe {
                    let r = framecrypt_receiver_add_key(
                        shared.0,
                        suite.into(),
                        kid,
                        b"other".as_ptr(),
                        5,
                    );
                    assert_eq!(r, FRAMECRYPT_OK);
                    if i % 3 == 0 {
                        let r = framecrypt_receiver_remove_key(shared.0, kid, null_mut());
                        assert_eq!(r, FRAMECRYPT_OK);
                    }
                }
            }
        });
        s.spawn(move || {
            let shared = shared;
            for (i, frame) in frames.iter().enumerate() {
                let mut out = [0u8; 64];
                let mut len = 0;
                // SAFETY: a live receiver; valid, disjoint buffers.
                let r = unsafe {
                    framecrypt_receiver_decrypt(
                        shared.0,
                        0,
                        null(),
                        0,
                        frame.as_ptr(),
                        frame.len(),
                        out.as_mut_ptr(),
                        out.len(),
                        &mut len,
                        null_mut(),
                    )
                };
                assert_eq!(r, FRAMECRYPT_OK, "frame {i}");
                assert_eq!(&out[..len], format!("frame {i:05}").as_bytes());
            }
        });
    });
}

#[test]
fn an_output_of_exactly_the_needed_size_is_accepted() {
    // SPS, PPS and an IDR slice with 700 bytes of slice data.
    let mut au = vec![
        0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88,
        0x84,
    ];
    au.extend((0..700u32).map(|i| u8::try_from(1 + i * 37 % 255).unwrap_or(1)));
    au.push(0x80);
    let suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    let protect = |tx: &Owned<framecrypt_sender>, cap: usize| {
        let mut out = vec![0u8; cap];
        let mut len = 0;
        // SAFETY: a live sender; valid, disjoint buffers.
        let r = unsafe {
            framecrypt_sender_protect(
                tx.ptr,
                FRAMECRYPT_CODEC_H264.into(),
                FRAMECRYPT_FALLBACK_REJECT.into(),
                au.as_ptr(),
                au.len(),
                out.as_mut_ptr(),
                cap,
                &mut len,
                null_mut(),
            )
        };
        out.truncate(len.min(cap));
        (r, len, out)
    };
    let first = sender(suite, 9, b"key");
    let mut max = 0;
    // SAFETY: a live sender and a valid out-pointer.
    let r = unsafe {
        framecrypt_sender_max_protected_len(
            first.ptr,
            FRAMECRYPT_CODEC_H264.into(),
            au.len(),
            &mut max,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    let (r, exact, reference) = protect(&first, max);
    assert_eq!(r, FRAMECRYPT_OK);
    assert!(
        exact < max - au.len() / 4,
        "{exact} is not well below {max}"
    );
    // A second sender at counter 0 makes the same frame, in exactly its
    // length.
    let second = sender(suite, 9, b"key");
    let (r, len, out) = protect(&second, exact);
    assert_eq!((r, len), (FRAMECRYPT_OK, exact));
    assert_eq!(out, reference);
    // A third, one byte short, learns the length.
    let third = sender(suite, 9, b"key");
    let (r, needed, _) = protect(&third, exact - 1);
    assert_eq!((r, needed), (FRAMECRYPT_ERR_BUFFER_TOO_SMALL, exact));

    // In place, in exactly the protected frame's bytes.
    let rx = receiver();
    assert_eq!(add_key(&rx, suite, 9, b"key"), FRAMECRYPT_OK);
    let mut buf = reference.clone();
    let (mut len, mut header) = (0, framecrypt_header::default());
    // SAFETY: a live receiver; a buffer valid for its length.
    let r = unsafe {
        framecrypt_receiver_unprotect_in_place(
            rx.ptr,
            0,
            FRAMECRYPT_CODEC_H264.into(),
            FRAMECRYPT_FALLBACK_REJECT.into(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            &mut header,
        )
    };
    assert_eq!(r, FRAMECRYPT_OK);
    assert_eq!(&buf[..len], au.as_slice());
    assert_eq!(header, framecrypt_header { kid: 9, ctr: 0 });
}
