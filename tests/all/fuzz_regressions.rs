//! Bugs the fuzz targets in `fuzz/` found, each pinned by the scenario that
//! showed it, through the public API only.

use crate::common::seal;
use framecrypt::prelude::*;
use framecrypt::{BaseKey, CipherSuite, Error, RatchetBits, RatchetingReceiver, RatchetingSender};

fn key() -> BaseKey {
    BaseKey::new(b"fuzz regression base key").expect("key")
}

/// A receiver at step 1 that retains step 0, and the sender's frames of
/// steps 1 and 2, with R = 1: step 2 carries the KID bits of step 0.
fn retained_step_and_step_ahead(suite: CipherSuite) -> (RatchetingReceiver<4>, Vec<u8>, Vec<u8>) {
    let bits = RatchetBits::new(1).expect("R = 1");
    let mut sender = RatchetingSender::new(suite, bits, 0, key()).expect("sender");
    let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
    receiver.install_key(0, 0, key(), 0).expect("first key");
    let step0 = seal(&mut sender, b"", b"step 0, late");
    sender.ratchet();
    let step1 = seal(&mut sender, b"", b"step 1");
    let mut out = vec![0; step1.len()];
    receiver
        .at(0)
        .open(b"", &step1, &mut out)
        .expect("ratchets to step 1");
    assert_eq!((receiver.step(), receiver.previous_count()), (Some(1), 1));
    sender.ratchet();
    let step2 = seal(&mut sender, b"", b"step 2");
    (receiver, step0, step2)
}

/// Found by `roundtrip`: a frame of a step ahead whose KID bits are those
/// of a retained step was refused when decrypted in place (the slice door
/// accepted it). The failed try under the retained key zeroed the payload,
/// and the key of the step ahead was then tried on zeros. Now a try that
/// another key follows leaves the frame as it was.
#[test]
fn in_place_frame_of_a_step_ahead_sharing_kid_bits_with_a_retained_step_decrypts() {
    for suite in CipherSuite::ALL {
        let (mut receiver, _, step2) = retained_step_and_step_ahead(suite);
        let mut buf = step2.clone();
        let decrypted = receiver
            .at(0)
            .open_in_place(b"", &mut buf)
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(&buf[decrypted.plaintext()], b"step 2", "{suite}");
        assert_eq!(receiver.step(), Some(2), "{suite}");
    }
}

/// The same ambiguity the other way: the late frame of the retained step
/// still decrypts in place, and a forged frame with those KID bits fails
/// with its payload zeroed and the receiver unchanged.
#[test]
fn in_place_retained_step_and_forgery_under_shared_kid_bits() {
    for suite in CipherSuite::ALL {
        let (mut receiver, step0, step2) = retained_step_and_step_ahead(suite);
        let mut forged = step2.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let header_len = framecrypt::Header::parse(&forged).expect("header").len();
        let payload = header_len..forged.len() - suite.tag_len();
        assert_eq!(
            receiver.at(0).open_in_place(b"", &mut forged),
            Err(Error::AuthenticationFailed),
            "{suite}"
        );
        assert!(forged[payload].iter().all(|&b| b == 0), "{suite}: zeroed");
        assert_eq!((receiver.step(), receiver.previous_count()), (Some(1), 1));

        let mut buf = step0.clone();
        let decrypted = receiver
            .at(0)
            .open_in_place(b"", &mut buf)
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(&buf[decrypted.plaintext()], b"step 0, late", "{suite}");
        assert_eq!(receiver.step(), Some(1), "{suite}: no ratchet");
    }
}
