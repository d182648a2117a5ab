//! Keys are derived and cipher state built once per KID, on install, and
//! never per frame (issue: cached keys). The `test-hooks` feature counts
//! both; this file holds a single test because the counts are global to the
//! process.

use framecrypt::prelude::*;
use framecrypt::test_hooks::{cipher_constructions, key_derivations};
use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};

/// Frames per suite; Miri is far slower, and a few frames prove as much.
const FRAMES: usize = if cfg!(miri) { 3 } else { 1000 };
const KEYS: usize = 32;

fn counts() -> (usize, usize) {
    (key_derivations(), cipher_constructions())
}

#[test]
fn keys_are_derived_and_built_once_per_kid_never_per_frame() {
    let base_key = BaseKey::new(b"key schedule once").expect("base key");
    let metadata = b"codec bytes";
    for suite in CipherSuite::ALL {
        let start = counts();
        let mut sender = Sender::new(suite, KeyId(1), dup(&base_key));
        assert_eq!(counts(), (start.0 + 1, start.1 + 1), "{suite}: Sender::new");

        let mut receiver = Receiver::<FixedKeyStore<KEYS>>::new();
        for kid in 0..KEYS as u64 {
            receiver
                .add_key(suite, KeyId(kid), dup(&base_key))
                .expect("room");
        }
        let installed = counts();
        assert_eq!(
            installed,
            (start.0 + KEYS + 1, start.1 + KEYS + 1),
            "{suite}: one derivation and one cipher per installed KID"
        );

        let pt = vec![0x5A; 300];
        let mut frame = vec![0; pt.len() + framecrypt::max_overhead(suite)];
        let mut out = vec![0; frame.len()];
        let mut buf = vec![0; frame.len()];
        for _ in 0..FRAMES {
            let n = sender
                .seal(metadata, &pt, &mut frame)
                .expect("encrypt")
                .len();
            // A rejected frame does not rebuild anything either (forged
            // before the genuine one, so that it reaches the tag check).
            frame[n - 1] ^= 1;
            assert_eq!(
                receiver.open(metadata, &frame[..n], &mut out),
                Err(Error::AuthenticationFailed)
            );
            frame[n - 1] ^= 1;
            let decrypted = receiver
                .open(metadata, &frame[..n], &mut out)
                .expect("decrypt");
            assert_eq!(&out[decrypted.plaintext()], pt);

            buf[17..17 + pt.len()].copy_from_slice(&pt);
            let range = sender
                .seal_in_place(metadata, &mut buf, 17..17 + pt.len())
                .expect("encrypt in place")
                .frame();
            let decrypted = receiver
                .open_in_place(metadata, &mut buf[range.clone()])
                .expect("decrypt in place");
            assert_eq!(&buf[range][decrypted.plaintext()], pt);
        }
        assert_eq!(
            counts(),
            installed,
            "{suite}: {FRAMES} frames each way must not derive or build keys"
        );
    }
}

/// The same key again, as another party holding the same secret has it.
fn dup(key: &BaseKey) -> BaseKey {
    BaseKey::new(key.expose_secret()).expect("valid key")
}
