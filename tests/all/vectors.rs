//! Every case of the official vector files, through the public API.

use crate::common;
use crate::common::dup;

use framecrypt::hazmat::{Aead, derive_key_and_salt, sframe_secret};
use framecrypt::prelude::*;
use framecrypt::{BaseKey, CipherSuite, Counter, FixedKeyStore, Header, KeyId, Receiver, Sender};

use common::SframeCase;

#[test]
fn header_cases_encode_and_parse_exactly() {
    let vectors = common::rfc9605();
    assert_eq!(vectors.header.len(), 289);
    for case in &vectors.header {
        let header = Header::new(KeyId(case.kid), Counter(case.ctr));
        assert_eq!(
            header.encode().as_bytes(),
            case.encoded.0,
            "encode kid={} ctr={}",
            case.kid,
            case.ctr
        );
        assert_eq!(header.encoded_len(), case.encoded.0.len());

        let parsed = Header::parse(&case.encoded.0).expect("vector header parses");
        assert_eq!(parsed.kid(), KeyId(case.kid));
        assert_eq!(parsed.ctr(), Counter(case.ctr));
        assert_eq!(parsed.len(), case.encoded.0.len(), "parse uses every byte");
        assert!(parsed.is_minimal());
    }
}

#[test]
fn aes_ctr_hmac_aead_cases_match() {
    let vectors = common::rfc9605();
    assert_eq!(vectors.aes_ctr_hmac.len(), 3);
    for case in &vectors.aes_ctr_hmac {
        let suite = CipherSuite::from_id(case.cipher_suite).expect("known suite");
        assert_eq!(
            [case.enc_key.0.as_slice(), &case.auth_key.0].concat(),
            case.key.0
        );
        let aead = Aead::new(suite, &case.key.0).expect("key length");
        let nonce: [u8; 12] = case.nonce.0.as_slice().try_into().expect("12-byte nonce");

        let mut ct = vec![0; case.pt.0.len() + suite.tag_len()];
        let n = aead
            .encrypt(&nonce, &case.aad.0, &case.pt.0, &mut ct)
            .expect("encrypt");
        assert_eq!(&ct[..n], case.ct.0, "suite {suite}");

        let mut pt = vec![0; case.ct.0.len()];
        let n = aead
            .decrypt(&nonce, &case.aad.0, &case.ct.0, &mut pt)
            .expect("decrypt");
        assert_eq!(&pt[..n], case.pt.0);
    }
}

fn check_sframe_case(case: &SframeCase) {
    let suite = CipherSuite::from_id(case.cipher_suite).expect("known suite");
    let base_key = BaseKey::new(&case.base_key.0).expect("base key");
    let kid = KeyId(case.kid);

    // Intermediate values, to localise a failure.
    assert_eq!(
        sframe_secret(suite, &base_key).expose_secret(),
        case.sframe_secret.0,
        "sframe_secret, suite {suite}"
    );
    let derived = derive_key_and_salt(suite, kid, &base_key);
    assert_eq!(
        derived.key(),
        case.sframe_key.0,
        "sframe_key, suite {suite}"
    );
    assert_eq!(
        derived.salt().as_slice(),
        case.sframe_salt.0,
        "sframe_salt, suite {suite}"
    );

    // Encrypt through the Sender, resumed at the vector's counter.
    let mut sender = Sender::resume(suite, kid, dup(&base_key), Counter(case.ctr));
    let mut out = vec![0; sender.next_ciphertext_len(case.pt.0.len())];
    let sealed = sender
        .seal(&case.metadata.0, &case.pt.0, &mut out)
        .expect("encrypt");
    assert_eq!(&out[sealed.frame()], case.ct.0, "ciphertext, suite {suite}");
    assert_eq!(sealed.header(), Header::new(kid, Counter(case.ctr)));
    assert_eq!(sender.next_counter(), Some(Counter(case.ctr + 1)));

    // The header the sender wrote is the start of the vector's AAD.
    let header = Header::parse(&case.ct.0).expect("header");
    assert_eq!([header.as_bytes(), &case.metadata.0].concat(), case.aad.0);

    // Decrypt through a Receiver.
    let mut receiver = Receiver::<FixedKeyStore<4>>::new();
    receiver.add_key(suite, kid, dup(&base_key)).expect("room");
    let mut pt = vec![0; case.ct.0.len()];
    let decrypted = receiver
        .open(&case.metadata.0, &case.ct.0, &mut pt)
        .expect("decrypt");
    assert_eq!(&pt[decrypted.plaintext()], case.pt.0);
    assert_eq!(decrypted.header(), Header::new(kid, Counter(case.ctr)));
}

#[test]
fn sframe_cases_of_rfc9605_match() {
    let vectors = common::rfc9605();
    assert_eq!(vectors.sframe.len(), 5);
    for case in &vectors.sframe {
        check_sframe_case(case);
    }
}

#[test]
fn sframe_cases_of_aes256_ctr_hmac_match() {
    let vectors = common::aes256();
    assert_eq!(vectors.sframe_aes_256_ctr_hmac.len(), 3);
    for case in &vectors.sframe_aes_256_ctr_hmac {
        check_sframe_case(case);
    }
}
