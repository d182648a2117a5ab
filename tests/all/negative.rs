//! What must be rejected, for every cipher suite: tampered frames and
//! metadata, truncations, unknown KIDs, the wrong suite, an exhausted
//! counter, short buffers and full key stores. Each rejection is checked
//! for its exact error.

use crate::common::{dup, kid_of};
use framecrypt::hazmat::Aead;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, FixedKeyStore, Header, KeyId, KeyStore, Receiver, Sender,
};

const KID: KeyId = KeyId(0x0123);
const CTR: Counter = Counter(0x4567);
const BASE_KEY: &[u8] = b"negative-tests base key!";
const METADATA: &[u8] = b"clear codec bytes";
/// Distinctive, so that a leak of it into an output buffer is visible.
const PLAINTEXT: &[u8] = b"PLAINTEXT that must never leak out";

fn base_key() -> BaseKey {
    BaseKey::new(BASE_KEY).expect("valid base key")
}

/// A frame of `suite` for `plaintext`, KID 0x123 and CTR 0x4567 (a 5-byte
/// header: config byte, 2 KID bytes, 2 CTR bytes).
fn frame(suite: CipherSuite, metadata: &[u8], plaintext: &[u8]) -> Vec<u8> {
    frame_with(suite, KID, CTR, metadata, plaintext)
}

fn frame_with(
    suite: CipherSuite,
    kid: KeyId,
    ctr: Counter,
    metadata: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut sender = Sender::resume(suite, kid, base_key(), ctr);
    let mut out = vec![0; sender.next_ciphertext_len(plaintext.len())];
    let sealed = sender.seal(metadata, plaintext, &mut out).expect("encrypt");
    assert_eq!(sealed.frame(), 0..out.len());
    out
}

/// A receiver that opens a frame as often as it is given. These tests send
/// one frame through every door and many forgeries of one CTR, so replay
/// protection (tested in tests/replay.rs) is off here.
fn any_times<S: KeyStore + Default>() -> Receiver<S> {
    Receiver::new().without_replay_protection()
}

fn receiver(suite: CipherSuite) -> Receiver<FixedKeyStore<4>> {
    let mut receiver = any_times();
    receiver
        .add_key(suite, KID, base_key())
        .expect("room for the key");
    receiver
}

/// Decrypts `frame` through every door the build has (into a slice, in
/// place, into a `Vec`), checks they agree, and returns the plaintext.
fn decrypt<S: KeyStore>(
    receiver: &mut Receiver<S>,
    metadata: &[u8],
    frame: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut out = vec![0; frame.len()];
    let slice = receiver
        .open(metadata, frame, &mut out)
        .map(|d| out[d.plaintext()].to_vec());

    let mut buf = frame.to_vec();
    let in_place = receiver
        .open_in_place(metadata, &mut buf)
        .map(|d| buf[d.plaintext()].to_vec());
    assert_eq!(slice, in_place, "slice and in-place doors disagree");

    #[cfg(feature = "alloc")]
    {
        let to_vec = receiver
            .open_to_vec(metadata, frame)
            .map(|(_, plaintext)| plaintext);
        assert_eq!(slice, to_vec, "slice and Vec doors disagree");
    }
    slice
}

/// The error a receiver holding only the key of `kid` must give for a frame
/// that is not the one sent: what the (possibly changed) header says decides.
fn expected_error(suite: CipherSuite, kid: KeyId, tampered: &[u8]) -> Error {
    match Header::parse(tampered) {
        Err(e) => e,
        Ok(header) if header.kid() != kid => Error::UnknownKeyId(header.kid()),
        Ok(header) if tampered.len() - header.len() < suite.tag_len() => Error::FrameTooShort,
        Ok(_) => Error::AuthenticationFailed,
    }
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

#[test]
fn every_single_bit_flip_of_a_frame_is_rejected_with_the_exact_error() {
    // Config-byte flips change the header's shape; collect what they give
    // to show that every kind of rejection is exercised.
    let mut config_flip_errors = Vec::new();
    for suite in CipherSuite::ALL {
        // A 5-byte header (2-byte KID, 2-byte CTR) and a 1-byte one (KID 7,
        // CTR 0 inline); an empty payload lets header flips run off the end.
        for (kid, ctr, kid_bytes) in [(KID, CTR, 1..3), (KeyId(7), Counter(0), 1..1)] {
            for plaintext in [&b""[..], PLAINTEXT] {
                let mut receiver = any_times::<FixedKeyStore<1>>();
                receiver.add_key(suite, kid, base_key()).expect("room");
                let frame = frame_with(suite, kid, ctr, METADATA, plaintext);
                for bit in 0..frame.len() * 8 {
                    let tampered = flip(&frame, bit);
                    let byte = bit / 8;
                    let expected = if byte == 0 {
                        let error = expected_error(suite, kid, &tampered);
                        config_flip_errors.push(error);
                        error
                    } else if kid_bytes.contains(&byte) {
                        // Another KID, for which no key is installed.
                        Error::UnknownKeyId(Header::parse(&tampered).expect("header").kid())
                    } else {
                        // CTR bytes, payload and tag.
                        Error::AuthenticationFailed
                    };
                    assert_eq!(
                        decrypt(&mut receiver, METADATA, &tampered),
                        Err(expected),
                        "suite {suite}, kid {kid}, payload {} bytes, bit {bit}",
                        plaintext.len()
                    );
                }
                // Forgeries change nothing: the genuine frame still opens.
                assert_eq!(
                    decrypt(&mut receiver, METADATA, &frame).as_deref(),
                    Ok(plaintext)
                );
            }
        }
    }
    for (kind, seen) in [
        (
            "MalformedHeader",
            config_flip_errors.contains(&Error::MalformedHeader),
        ),
        (
            "UnknownKeyId",
            config_flip_errors
                .iter()
                .any(|e| matches!(e, Error::UnknownKeyId(_))),
        ),
        (
            "FrameTooShort",
            config_flip_errors.contains(&Error::FrameTooShort),
        ),
        (
            "AuthenticationFailed",
            config_flip_errors.contains(&Error::AuthenticationFailed),
        ),
    ] {
        assert!(seen, "no config-byte flip gives {kind}");
    }
}

#[test]
fn header_flips_onto_an_installed_kid_still_fail_authentication() {
    for suite in CipherSuite::ALL {
        let frame = frame(suite, METADATA, PLAINTEXT);
        for bit in 0..5 * 8 {
            let tampered = flip(&frame, bit);
            let Ok(header) = Header::parse(&tampered) else {
                continue;
            };
            // Install a key for whatever KID the flip produced.
            let mut receiver = receiver(suite);
            receiver
                .add_key(suite, header.kid(), base_key())
                .expect("room");
            let expected = if tampered.len() - header.len() < suite.tag_len() {
                Error::FrameTooShort
            } else {
                Error::AuthenticationFailed
            };
            assert_eq!(
                decrypt(&mut receiver, METADATA, &tampered),
                Err(expected),
                "suite {suite}, bit {bit}"
            );
        }
    }
}

#[test]
fn every_single_bit_flip_of_the_metadata_is_rejected() {
    for suite in CipherSuite::ALL {
        let mut receiver = receiver(suite);
        let frame = frame(suite, METADATA, PLAINTEXT);
        for bit in 0..METADATA.len() * 8 {
            assert_eq!(
                decrypt(&mut receiver, &flip(METADATA, bit), &frame),
                Err(Error::AuthenticationFailed),
                "suite {suite}, metadata bit {bit}"
            );
        }
        let shorter = &METADATA[..METADATA.len() - 1];
        let longer = [METADATA, b"!"].concat();
        for other in [&b""[..], shorter, &longer] {
            assert_eq!(
                decrypt(&mut receiver, other, &frame),
                Err(Error::AuthenticationFailed),
                "suite {suite}, metadata {other:?}"
            );
        }
        // A frame sent without metadata must not verify with some.
        let bare = frame_without_metadata(suite);
        assert_eq!(
            decrypt(&mut receiver, METADATA, &bare),
            Err(Error::AuthenticationFailed)
        );
    }
}

fn frame_without_metadata(suite: CipherSuite) -> Vec<u8> {
    frame(suite, b"", PLAINTEXT)
}

/// Metadata longer than the inline AAD buffer of the AES-GCM path.
#[cfg(feature = "alloc")]
#[test]
fn bit_flips_of_long_metadata_are_rejected() {
    let long: Vec<u8> = (0..framecrypt::INLINE_AAD_CAPACITY + 100)
        .map(|i| (i * 7).to_le_bytes()[0])
        .collect();
    for suite in CipherSuite::ALL {
        let mut receiver = receiver(suite);
        let frame = frame(suite, &long, PLAINTEXT);
        assert_eq!(
            decrypt(&mut receiver, &long, &frame).as_deref(),
            Ok(PLAINTEXT)
        );
        let boundary = framecrypt::INLINE_AAD_CAPACITY - 5; // the header is 5 bytes
        for byte in [0, boundary - 1, boundary, boundary + 1, long.len() - 1] {
            for bit in 0..8 {
                assert_eq!(
                    decrypt(&mut receiver, &flip(&long, byte * 8 + bit), &frame),
                    Err(Error::AuthenticationFailed),
                    "suite {suite}, metadata byte {byte} bit {bit}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_rejected_with_the_exact_error() {
    for suite in CipherSuite::ALL {
        let mut receiver = receiver(suite);
        let frame = frame(suite, METADATA, PLAINTEXT);
        let header_len = 5;
        for len in 0..frame.len() {
            let expected = if len < header_len {
                Error::MalformedHeader
            } else if len < header_len + suite.tag_len() {
                Error::FrameTooShort
            } else {
                Error::AuthenticationFailed
            };
            assert_eq!(
                decrypt(&mut receiver, METADATA, &frame[..len]),
                Err(expected),
                "suite {suite}, first {len} bytes"
            );
            // Losing the front instead must be rejected too (without panic).
            assert!(decrypt(&mut receiver, METADATA, &frame[frame.len() - len..]).is_err());
        }
    }
}

#[test]
fn a_frame_for_an_unknown_kid_is_rejected() {
    for suite in CipherSuite::ALL {
        let frame = frame(suite, METADATA, PLAINTEXT);
        let mut empty = any_times::<FixedKeyStore<4>>();
        assert_eq!(
            decrypt(&mut empty, METADATA, &frame),
            Err(Error::UnknownKeyId(kid_of(&frame)))
        );

        let mut other = any_times::<FixedKeyStore<4>>();
        for kid in [0, 0x122, 0x124, 0x0123_0000] {
            other.add_key(suite, KeyId(kid), base_key()).expect("room");
        }
        assert_eq!(
            decrypt(&mut other, METADATA, &frame),
            Err(Error::UnknownKeyId(kid_of(&frame)))
        );
    }
}

#[test]
fn a_key_installed_with_the_wrong_suite_fails_authentication() {
    for sent in CipherSuite::ALL {
        let frame = frame(sent, METADATA, PLAINTEXT);
        for installed in CipherSuite::ALL {
            let mut receiver = receiver(installed);
            let result = decrypt(&mut receiver, METADATA, &frame);
            if installed == sent {
                assert_eq!(result.as_deref(), Ok(PLAINTEXT));
            } else {
                assert_eq!(
                    result,
                    Err(Error::AuthenticationFailed),
                    "sent {sent}, installed {installed}"
                );
            }
        }
    }
}

#[test]
fn a_sender_resumed_at_the_last_counter_sends_one_frame_then_is_exhausted_for_good() {
    for suite in CipherSuite::ALL {
        let mut sender = Sender::resume(suite, KID, base_key(), Counter(u64::MAX));
        assert_eq!(sender.next_counter(), Some(Counter(u64::MAX)));
        let mut out = vec![0; sender.next_ciphertext_len(PLAINTEXT.len())];
        let n = sender
            .seal(METADATA, PLAINTEXT, &mut out)
            .expect("the last counter value is usable")
            .len();
        let frame = &out[..n];
        assert_eq!(
            Header::parse(frame).expect("header").header(),
            Header::new(KID, Counter(u64::MAX))
        );
        assert_eq!(
            decrypt(&mut receiver(suite), METADATA, frame).as_deref(),
            Ok(PLAINTEXT)
        );

        assert_eq!(sender.next_counter(), None);
        for _ in 0..3 {
            // Exhaustion wins over any other problem with the call.
            assert_eq!(
                sender.seal(METADATA, PLAINTEXT, &mut out),
                Err(Error::CounterExhausted)
            );
            assert_eq!(
                sender.seal(METADATA, PLAINTEXT, &mut []),
                Err(Error::CounterExhausted)
            );
            let mut buf = vec![0; 100];
            assert_eq!(
                sender.seal_in_place(METADATA, &mut buf, 20..40),
                Err(Error::CounterExhausted)
            );
            #[cfg(feature = "alloc")]
            assert_eq!(
                sender.seal_to_vec(METADATA, PLAINTEXT),
                Err(Error::CounterExhausted)
            );
            assert_eq!(sender.next_counter(), None);
        }
    }
}

#[test]
fn a_sender_counts_up_to_the_last_counter_without_wrapping() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let mut sender = Sender::resume(suite, KID, base_key(), Counter(u64::MAX - 1));
    let mut out = [0u8; 64];
    for expected in [u64::MAX - 1, u64::MAX] {
        let n = sender.seal(b"", b"x", &mut out).expect("encrypt").len();
        assert_eq!(
            Header::parse(&out[..n]).expect("header").ctr(),
            Counter(expected)
        );
    }
    assert_eq!(
        sender.seal(b"", b"x", &mut out),
        Err(Error::CounterExhausted)
    );
}

#[test]
fn encrypt_into_a_short_buffer_fails_without_using_a_counter() {
    for suite in CipherSuite::ALL {
        let expected = frame(suite, METADATA, PLAINTEXT);
        let mut sender = Sender::resume(suite, KID, base_key(), CTR);
        for short in [0, 1, 5, expected.len() - 1] {
            let mut out = vec![0xAA; short];
            assert_eq!(
                sender.seal(METADATA, PLAINTEXT, &mut out),
                Err(Error::BufferTooSmall),
                "suite {suite}, {short}-byte output"
            );
            assert_eq!(sender.next_counter(), Some(CTR), "no counter used");
            assert!(out.iter().all(|&b| b == 0xAA), "nothing written");
        }
        // The counter the failed calls did not use goes to the next frame.
        let mut out = vec![0; expected.len()];
        let n = sender
            .seal(METADATA, PLAINTEXT, &mut out)
            .expect("exact size")
            .len();
        assert_eq!(&out[..n], expected);
    }
}

#[test]
fn encrypt_in_place_without_headroom_or_tailroom_fails_without_using_a_counter() {
    for suite in CipherSuite::ALL {
        let expected = frame(suite, METADATA, PLAINTEXT);
        let (head, tail, len) = (5, suite.tag_len(), PLAINTEXT.len());
        let mut sender = Sender::resume(suite, KID, base_key(), CTR);

        // (buffer length, plaintext range) that do not fit.
        let cases = [
            (head - 1 + len + tail, head - 1..head - 1 + len), // headroom 1 short
            (head + len + tail - 1, head..head + len),         // tailroom 1 short
            (0, 0..0),                                         // nothing at all
            (head + len + tail, head + len..head),             // reversed range
            (head + len + tail, head..usize::MAX),             // range past the end
        ];
        for (buf_len, range) in cases {
            let mut buf = vec![0xAA; buf_len];
            for (i, &b) in PLAINTEXT.iter().enumerate() {
                if let Some(slot) = buf.get_mut(range.start + i) {
                    *slot = b;
                }
            }
            let before = buf.clone();
            assert_eq!(
                sender.seal_in_place(METADATA, &mut buf, range.clone()),
                Err(Error::BufferTooSmall),
                "suite {suite}, buffer {buf_len}, range {range:?}"
            );
            assert_eq!(buf, before, "a failed call writes nothing");
            assert_eq!(sender.next_counter(), Some(CTR), "no counter used");
        }

        // Exactly enough room works and matches the slice door.
        let mut buf = vec![0; head + len + tail];
        buf[head..head + len].copy_from_slice(PLAINTEXT);
        let range = sender
            .seal_in_place(METADATA, &mut buf, head..head + len)
            .expect("exact room")
            .frame();
        assert_eq!(range, 0..buf.len());
        assert_eq!(buf, expected);
    }
}

#[test]
fn decrypt_into_a_short_buffer_is_rejected() {
    for suite in CipherSuite::ALL {
        let mut receiver = receiver(suite);
        let frame = frame(suite, METADATA, PLAINTEXT);
        for short in [0, PLAINTEXT.len() - 1] {
            let mut out = vec![0; short];
            assert_eq!(
                receiver.open(METADATA, &frame, &mut out),
                Err(Error::BufferTooSmall)
            );
        }
        let mut out = vec![0; PLAINTEXT.len()];
        let decrypted = receiver
            .open(METADATA, &frame, &mut out)
            .expect("exact size");
        assert_eq!(&out[decrypted.plaintext()], PLAINTEXT);

        // An empty payload needs no output at all.
        let empty = self::frame(suite, METADATA, b"");
        let decrypted = receiver
            .open(METADATA, &empty, &mut [])
            .expect("empty plaintext");
        assert!(decrypted.plaintext().is_empty());
    }
}

#[test]
fn hazmat_aead_and_header_write_reject_short_buffers() {
    let nonce = [7u8; 12];
    for suite in CipherSuite::ALL {
        let aead = Aead::new(suite, &vec![1; suite.key_len()]).expect("key length");
        let needed = PLAINTEXT.len() + suite.tag_len();
        let mut out = vec![0; needed - 1];
        assert_eq!(
            aead.encrypt(&nonce, METADATA, PLAINTEXT, &mut out),
            Err(Error::BufferTooSmall)
        );
        let mut ct = vec![0; needed];
        aead.encrypt(&nonce, METADATA, PLAINTEXT, &mut ct)
            .expect("encrypt");
        let mut pt = vec![0; PLAINTEXT.len() - 1];
        assert_eq!(
            aead.decrypt(&nonce, METADATA, &ct, &mut pt),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            aead.decrypt(&nonce, METADATA, &ct[..suite.tag_len() - 1], &mut pt),
            Err(Error::FrameTooShort)
        );
        assert_eq!(
            Aead::new(suite, &vec![1; suite.key_len() + 1]).map(|_| ()),
            Err(Error::InvalidKeyLength)
        );
    }
    let header = Header::new(KID, CTR);
    assert_eq!(header.write(&mut [0; 4]), Err(Error::BufferTooSmall));
    assert_eq!(header.write(&mut [0; 5]), Ok(5));
}

#[test]
fn a_full_fixed_store_refuses_new_kids_but_replaces_existing_ones() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let key = base_key();
    let mut receiver = any_times::<FixedKeyStore<2>>();
    receiver.add_key(suite, KeyId(1), dup(&key)).expect("room");
    receiver.add_key(suite, KeyId(2), dup(&key)).expect("room");
    assert_eq!(
        receiver.add_key(suite, KeyId(3), dup(&key)),
        Err(Error::StoreFull)
    );
    assert_eq!(receiver.key_count(), 2);
    assert!(!receiver.has_key(KeyId(3)));
    // Same KID: a replacement, which needs no room.
    receiver
        .add_key(suite, KeyId(1), dup(&key))
        .expect("replace when full");
    assert_eq!(receiver.key_count(), 2);
    // Room again after a removal.
    assert!(receiver.remove_key(KeyId(2)));
    receiver
        .add_key(suite, KeyId(3), dup(&key))
        .expect("room again");
    assert!(receiver.has_key(KeyId(1)) && receiver.has_key(KeyId(3)));

    let mut none = any_times::<FixedKeyStore<0>>();
    assert_eq!(
        none.add_key(suite, KeyId(1), dup(&key)),
        Err(Error::StoreFull)
    );
}

/// Installs KIDs 1..=5, removes 3, and checks the others still decrypt.
fn check_remove_key<S: KeyStore + Default>() {
    let suite = CipherSuite::Aes128CtrHmacSha256_80;
    let key = base_key();
    let frames: Vec<Vec<u8>> = (1..=5)
        .map(|kid| {
            let mut sender = Sender::new(suite, KeyId(kid), dup(&key));
            let mut out = vec![0; sender.next_ciphertext_len(PLAINTEXT.len())];
            sender.seal(METADATA, PLAINTEXT, &mut out).expect("encrypt");
            out
        })
        .collect();
    let mut receiver = any_times::<S>();
    // Out of order, to exercise the sorted insert.
    for kid in [4, 1, 5, 3, 2] {
        receiver
            .add_key(suite, KeyId(kid), dup(&key))
            .expect("room");
    }
    assert!(receiver.remove_key(KeyId(3)));
    assert!(!receiver.remove_key(KeyId(3)), "already removed");
    assert!(!receiver.remove_key(KeyId(9)), "never installed");
    assert_eq!(receiver.key_count(), 4);
    for (kid, frame) in (1..=5).zip(&frames) {
        let result = decrypt(&mut receiver, METADATA, frame);
        if kid == 3 {
            assert_eq!(result, Err(Error::UnknownKeyId(KeyId(3))));
        } else {
            assert_eq!(result.as_deref(), Ok(PLAINTEXT), "kid {kid}");
        }
    }
}

#[test]
fn a_removed_key_no_longer_decrypts_and_the_others_still_do() {
    check_remove_key::<FixedKeyStore<5>>();
    #[cfg(feature = "alloc")]
    check_remove_key::<framecrypt::VecKeyStore>();
}

#[test]
fn replacing_a_key_for_the_same_kid_takes_effect() {
    for suite in CipherSuite::ALL {
        let frame = frame(suite, METADATA, PLAINTEXT);
        let wrong = BaseKey::new(b"some other base key").expect("valid");
        let other_suite = if suite == CipherSuite::Aes128GcmSha256_128 {
            CipherSuite::Aes256GcmSha512_128
        } else {
            CipherSuite::Aes128GcmSha256_128
        };
        let mut receiver = any_times::<FixedKeyStore<1>>();
        receiver.add_key(suite, KID, dup(&wrong)).expect("room");
        assert_eq!(
            decrypt(&mut receiver, METADATA, &frame),
            Err(Error::AuthenticationFailed)
        );
        receiver
            .add_key(other_suite, KID, base_key())
            .expect("replace");
        assert_eq!(
            decrypt(&mut receiver, METADATA, &frame),
            Err(Error::AuthenticationFailed)
        );
        receiver.add_key(suite, KID, base_key()).expect("replace");
        assert_eq!(receiver.key_count(), 1);
        assert_eq!(
            decrypt(&mut receiver, METADATA, &frame).as_deref(),
            Ok(PLAINTEXT)
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_failed_decrypt_leaves_no_plaintext_in_the_output() {
    for suite in CipherSuite::ALL {
        let mut receiver = receiver(suite);
        let frame = frame(suite, METADATA, PLAINTEXT);
        let tampered_tag = flip(&frame, frame.len() * 8 - 1);
        let tampered_body = flip(&frame, 6 * 8);
        let cases = [
            (&tampered_tag[..], METADATA),
            (&tampered_body[..], METADATA),
            (&frame[..], b"wrong metadata"),
        ];
        for (bytes, metadata) in cases {
            let mut out = vec![0xEE; frame.len()];
            assert_eq!(
                receiver.open(metadata, bytes, &mut out),
                Err(Error::AuthenticationFailed)
            );
            assert!(
                !contains(&out, PLAINTEXT),
                "suite {suite}: plaintext in output"
            );

            let mut buf = bytes.to_vec();
            assert_eq!(
                receiver.open_in_place(metadata, &mut buf),
                Err(Error::AuthenticationFailed)
            );
            assert!(
                !contains(&buf, PLAINTEXT),
                "suite {suite}: plaintext in buffer"
            );
        }
    }
}

/// Without `alloc`, AES-GCM binds at most `INLINE_AAD_CAPACITY` bytes of
/// header and metadata; longer metadata is refused, and refusing it must not
/// use up a counter value.
#[cfg(not(feature = "alloc"))]
#[test]
fn without_alloc_over_long_metadata_is_refused_for_gcm_without_using_a_counter() {
    let long = [0x4d; framecrypt::INLINE_AAD_CAPACITY];
    for suite in CipherSuite::ALL {
        let mut sender = Sender::resume(suite, KID, base_key(), CTR);
        let mut out = vec![0; sender.next_ciphertext_len(PLAINTEXT.len())];
        let mut buf = vec![0; 5 + PLAINTEXT.len() + suite.tag_len()];
        let gcm = suite.tag_len() == 16;
        if gcm {
            assert_eq!(
                sender.seal(&long, PLAINTEXT, &mut out),
                Err(Error::MetadataTooLong)
            );
            assert_eq!(
                sender.seal_in_place(&long, &mut buf, 5..5 + PLAINTEXT.len()),
                Err(Error::MetadataTooLong)
            );
            assert_eq!(sender.next_counter(), Some(CTR), "no counter used");
            let frame = frame(suite, METADATA, PLAINTEXT);
            assert_eq!(
                receiver(suite).open(&long, &frame, &mut out),
                Err(Error::MetadataTooLong)
            );
        } else {
            // The CTR+HMAC suites stream the AAD: no limit.
            let n = sender
                .seal(&long, PLAINTEXT, &mut out)
                .expect("no limit")
                .len();
            assert_eq!(
                decrypt(&mut receiver(suite), &long, &out[..n]).as_deref(),
                Ok(PLAINTEXT)
            );
        }
    }
}
