//! The C entry points, called from Rust exactly as C would call them: the
//! official vectors, round trips for every suite and both kinds of sender
//! and receiver, and the boundary rules (NULL, lengths, overlap, kinds).
//! `cargo +nightly miri test -p framecrypt-ffi --test c_api` runs the same
//! calls under Miri, which checks the unsafe code for undefined behaviour.

// Each test's unsafe block groups calls under one stated contract.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ptr::{null, null_mut};

use framecrypt_ffi::*;

use framecrypt_result::*;

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

fn sender(suite: u16, kid: u64, key: &[u8]) -> Owned<framecrypt_sender> {
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe { framecrypt_sender_new(suite, kid, key.as_ptr(), key.len(), &mut ptr) };
    assert_eq!(r, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_sender_free,
    }
}

fn ratcheting_sender(
    suite: u16,
    bits: u32,
    generation: u64,
    key: &[u8],
) -> Owned<framecrypt_sender> {
    let mut ptr = null_mut();
    // SAFETY: valid key slice and out-pointer.
    let r = unsafe {
        framecrypt_sender_new_ratcheting(suite, bits, generation, key.as_ptr(), key.len(), &mut ptr)
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

fn ratcheting_receiver(suite: u16, bits: u32) -> Owned<framecrypt_receiver> {
    let mut ptr = null_mut();
    // SAFETY: valid out-pointer.
    let r = unsafe { framecrypt_receiver_new_ratcheting(suite, bits, &mut ptr) };
    assert_eq!(r, FRAMECRYPT_OK);
    Owned {
        ptr,
        free: framecrypt_receiver_free,
    }
}

fn add_key(rx: &Owned<framecrypt_receiver>, suite: u16, kid: u64, key: &[u8]) -> framecrypt_result {
    // SAFETY: live receiver, valid key slice.
    unsafe { framecrypt_receiver_add_key(rx.ptr, suite, kid, key.as_ptr(), key.len()) }
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
    let r = unsafe { framecrypt_sender_ciphertext_len(tx.ptr, pt.len(), &mut cap) };
    assert_eq!(r, FRAMECRYPT_OK);
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

const SUITES: [u16; 8] = [
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
        let suite = u16::try_from(number(case, "cipher_suite")).expect("suite id");
        let kid = number(case, "kid");
        let rx = receiver();
        assert_eq!(
            add_key(&rx, suite, kid, &hex(case, "base_key")),
            FRAMECRYPT_OK
        );
        let (pt, header) =
            decrypt(&rx, &hex(case, "metadata"), &hex(case, "ct")).expect("vector decrypts");
        assert_eq!(pt, hex(case, "pt"), "suite {suite}");
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
        assert_eq!(frame, hex(case, "ct"), "suite {suite}");
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
    // SAFETY: live sender.
    assert_eq!(unsafe { framecrypt_sender_ratchet(tx.ptr) }, FRAMECRYPT_OK);
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
        for suite in [0, 9, u16::MAX] {
            let r = framecrypt_sender_new(suite, 1, key.as_ptr(), key.len(), &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
            let r = framecrypt_receiver_new_ratcheting(suite, 4, &mut rx);
            assert_eq!(r, FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
        }
        let long = [0u8; 129];
        for (ptr, len) in [(key.as_ptr(), 0), (null(), 0), (long.as_ptr(), long.len())] {
            let r = framecrypt_sender_new(1, 1, ptr, len, &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
        }
        for bits in [0, 64, u32::MAX] {
            let r = framecrypt_sender_new_ratcheting(1, bits, 0, key.as_ptr(), key.len(), &mut tx);
            assert_eq!(r, FRAMECRYPT_ERR_INVALID_PARAMETER);
        }
        // Generation 2^60 does not fit above 4 ratchet bits.
        let r = framecrypt_sender_new_ratcheting(1, 4, 1 << 60, key.as_ptr(), key.len(), &mut tx);
        assert_eq!(r, FRAMECRYPT_ERR_INVALID_PARAMETER);
        assert_eq!(
            framecrypt_sender_new(1, 1, key.as_ptr(), key.len(), null_mut()),
            FRAMECRYPT_ERR_NULL_POINTER
        );
        assert_eq!(
            framecrypt_sender_new(1, 1, null(), 16, &mut tx),
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
    let tx = sender(1, 3, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, 1, 3, b"key"), FRAMECRYPT_OK);
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
    let tx = sender(4, 1, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, 4, 1, b"key"), FRAMECRYPT_OK);
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
        let r = framecrypt_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8,
            0,
            p,
            40,
            p.add(39),
            80,
            &mut len,
            null_mut(),
        );
        assert_eq!(r, FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        let r = framecrypt_unprotect(
            rx.ptr,
            0,
            FRAMECRYPT_CODEC_VP8,
            0,
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
    let tx = sender(1, 2, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, 1, 2, b"key"), FRAMECRYPT_OK);
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
    let tx = sender(4, 9, b"key");
    let rx = receiver();
    assert_eq!(add_key(&rx, 4, 9, b"key"), FRAMECRYPT_OK);
    let mut cap = 0;
    // SAFETY: valid out-pointer.
    let r = unsafe { framecrypt_max_protected_len(FRAMECRYPT_CODEC_VP8, 4, frame.len(), &mut cap) };
    assert_eq!(r, FRAMECRYPT_OK);
    let mut protected = vec![0; cap];
    let (mut len, mut whole) = (0, true);
    // SAFETY: live sender; disjoint slices valid for their lengths.
    let r = unsafe {
        framecrypt_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8,
            FRAMECRYPT_FALLBACK_REJECT,
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
    let r =
        unsafe { framecrypt_sfu_inspect(FRAMECRYPT_CODEC_VP8, protected.as_ptr(), len, &mut view) };
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
        framecrypt_unprotect(
            rx.ptr,
            0,
            FRAMECRYPT_CODEC_VP8,
            FRAMECRYPT_FALLBACK_REJECT,
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
            framecrypt_max_protected_len(99, 4, 1, &mut cap),
            FRAMECRYPT_ERR_INVALID_PARAMETER
        );
        assert_eq!(
            framecrypt_sfu_inspect(99, null(), 0, &mut view),
            FRAMECRYPT_ERR_INVALID_PARAMETER
        );
        let r = framecrypt_protect(
            tx.ptr,
            FRAMECRYPT_CODEC_VP8,
            2,
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
    let tx = sender(1, 0x1234, b"key");
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
                FRAMECRYPT_ERR_AUTHENTICATION_FAILED as u32,
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
    // SAFETY: live sender.
    unsafe {
        assert_eq!(framecrypt_sender_ratchet(tx.ptr), FRAMECRYPT_OK);
        assert_eq!(framecrypt_sender_ratchet(tx.ptr), FRAMECRYPT_OK);
    }
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
    let suite_rs = framecrypt::CipherSuite::from_id(suite).expect("suite");
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
            suite,
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
    // SAFETY: live sender.
    let r = unsafe { framecrypt_sender_ratchet(restarted.ptr) };
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
    let r = unsafe { framecrypt_sender_resume(suite, 9, b"key".as_ptr(), 3, next, &mut ptr) };
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
    let r = unsafe { framecrypt_sender_resume(suite, 9, b"key".as_ptr(), 3, u64::MAX, &mut ptr) };
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
