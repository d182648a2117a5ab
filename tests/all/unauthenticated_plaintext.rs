//! A frame that fails authentication never releases plaintext, on either
//! backend (RFC 9605 §4.4.4). AWS-LC's AES-GCM decrypts before it compares
//! the tag, so the crate zeroes the output of every failed decryption; these
//! tests hold both backends to that.

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use crate::common::seal;
use framecrypt::hazmat::Aead;
use framecrypt::prelude::*;
use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};

const PLAINTEXT_LEN: usize = 1000;

fn plaintext() -> Vec<u8> {
    (0..PLAINTEXT_LEN).map(|i| (i % 251) as u8 + 1).collect()
}

fn pair(suite: CipherSuite) -> (Sender, Receiver<FixedKeyStore<1>>) {
    let base_key = BaseKey::new(b"unauthenticated plaintext").expect("base key");
    let (sender, share) = Sender::with_share(suite, KeyId(3), base_key);
    let mut receiver = Receiver::new();
    receiver.add_share(share).expect("room for one key");
    (sender, receiver)
}

/// The ways a frame can be forged: flip a payload byte, a tag byte or the
/// header's CTR bits (still a valid header for KID 3), or authenticate
/// other metadata. Returns the frame and the metadata the receiver uses.
fn forgeries(frame: &[u8]) -> Vec<(Vec<u8>, &'static [u8])> {
    let mut out = Vec::new();
    for (at, bit) in [
        (0, 0x01),
        (1 + PLAINTEXT_LEN / 2, 0x40),
        (frame.len() - 1, 0x40),
    ] {
        let mut forged = frame.to_vec();
        forged[at] ^= bit;
        out.push((forged, b"meta".as_slice()));
    }
    out.push((frame.to_vec(), b"mEta".as_slice()));
    out
}

#[test]
fn failed_decrypt_into_a_slice_leaves_only_zeros() {
    for suite in CipherSuite::ALL {
        let (mut sender, mut receiver) = pair(suite);
        let pt = plaintext();
        let frame = seal(&mut sender, b"meta", &pt);
        for (forged, metadata) in forgeries(&frame) {
            let mut out = vec![0xAA; forged.len()];
            assert_eq!(
                receiver.open(metadata, &forged, &mut out),
                Err(Error::AuthenticationFailed),
                "{suite}"
            );
            assert!(
                out[..PLAINTEXT_LEN].iter().all(|&b| b == 0),
                "{suite}: output must be zeroed"
            );
        }
        // The untouched frame still decrypts: the key was not disturbed.
        let mut out = vec![0; frame.len()];
        let decrypted = receiver.open(b"meta", &frame, &mut out).expect("good");
        assert_eq!(&out[decrypted.plaintext()], pt, "{suite}");
    }
}

#[test]
fn failed_decrypt_in_place_leaves_only_zeros_in_the_payload() {
    for suite in CipherSuite::ALL {
        let (mut sender, mut receiver) = pair(suite);
        let pt = plaintext();
        let frame = seal(&mut sender, b"meta", &pt);
        let header_len = frame.len() - PLAINTEXT_LEN - suite.tag_len();
        for (mut forged, metadata) in forgeries(&frame) {
            assert_eq!(
                receiver.open_in_place(metadata, &mut forged),
                Err(Error::AuthenticationFailed),
                "{suite}"
            );
            let payload = &forged[header_len..header_len + PLAINTEXT_LEN];
            assert!(
                payload.iter().all(|&b| b == 0),
                "{suite}: payload must be zeroed"
            );
        }
    }
}

#[test]
fn failed_hazmat_decrypt_leaves_only_zeros() {
    for suite in CipherSuite::ALL {
        let key: Vec<u8> = (0..suite.key_len()).map(|i| i as u8).collect();
        let aead = Aead::new(suite, &key).expect("key length");
        let nonce = [9; 12];
        let pt = plaintext();
        let mut ct = vec![0; pt.len() + suite.tag_len()];
        aead.encrypt(&nonce, b"aad", &pt, &mut ct).expect("encrypt");
        ct[0] ^= 1;
        let mut out = vec![0xAA; pt.len()];
        assert_eq!(
            aead.decrypt(&nonce, b"aad", &ct, &mut out),
            Err(Error::AuthenticationFailed),
            "{suite}"
        );
        assert!(out.iter().all(|&b| b == 0), "{suite}");
    }
}
