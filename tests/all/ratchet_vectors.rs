//! The RFC 9605 §5.1 ratchet vectors of `tests/data/ratchet-vectors.json`
//! (made by the independent Python implementation next to it), through the
//! public API: the ratchet itself, the KIDs, and full SFrame ciphertexts
//! from a `RatchetingSender`, decrypted by a `RatchetingReceiver`.

use framecrypt::hazmat::derive_key_and_salt;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Header, KeyId, RatchetBits, RatchetingReceiver,
    RatchetingSender, ratchet_forward,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(transparent)]
struct Hex(#[serde(with = "hex::serde")] Vec<u8>);

#[derive(Deserialize)]
struct RatchetCase {
    cipher_suite: u16,
    base_key: Hex,
    steps: Vec<Hex>,
}

#[derive(Deserialize)]
struct FrameCase {
    cipher_suite: u16,
    ratchet_bits: u32,
    generation: u64,
    step: u64,
    kid: u64,
    ctr: u64,
    generation_base_key: Hex,
    step_base_key: Hex,
    metadata: Hex,
    pt: Hex,
    sframe_key: Hex,
    sframe_salt: Hex,
    aad: Hex,
    ct: Hex,
}

#[derive(Deserialize)]
struct Sequence {
    cipher_suite: u16,
    ratchet_bits: u32,
    frames: Vec<FrameCase>,
}

#[derive(Deserialize)]
struct Vectors {
    ratchet: Vec<RatchetCase>,
    sequences: Vec<Sequence>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../data/ratchet-vectors.json")).expect("vector file parses")
}

fn base_key(hex: &Hex) -> BaseKey {
    BaseKey::new(&hex.0).expect("base key length")
}

#[test]
fn ratchet_chains_match_for_every_suite() {
    let vectors = vectors();
    let suites: Vec<u16> = vectors.ratchet.iter().map(|c| c.cipher_suite).collect();
    assert_eq!(
        suites,
        (1..=8).collect::<Vec<_>>(),
        "every suite is covered"
    );
    for case in &vectors.ratchet {
        let suite = CipherSuite::from_id(case.cipher_suite).expect("known suite");
        assert_eq!(case.steps.len(), 11, "steps 0 to 10");
        assert_eq!(case.steps[0].0, case.base_key.0);
        let mut key = base_key(&case.base_key);
        for (step, expected) in case.steps.iter().enumerate().skip(1) {
            key = ratchet_forward(suite, key);
            assert_eq!(key.expose_secret(), expected.0, "suite {suite} step {step}");
            assert_eq!(key.expose_secret().len(), suite.hash_len(), "Nh bytes");
        }
    }
}

#[test]
fn ratcheting_sender_reproduces_every_ciphertext() {
    let vectors = vectors();
    assert_eq!(vectors.sequences.len(), 16);
    let mut frames = 0;
    let mut generation_changes = 0;
    for sequence in &vectors.sequences {
        let suite = CipherSuite::from_id(sequence.cipher_suite).expect("known suite");
        let bits = RatchetBits::new(sequence.ratchet_bits).expect("R");
        let first = &sequence.frames[0];
        let mut sender = RatchetingSender::new(
            suite,
            bits,
            first.generation,
            base_key(&first.generation_base_key),
        )
        .expect("generation fits");
        for case in &sequence.frames {
            assert_eq!(case.cipher_suite, sequence.cipher_suite);
            assert_eq!(case.ratchet_bits, sequence.ratchet_bits);
            if case.generation > sender.generation() {
                sender
                    .rekey(base_key(&case.generation_base_key))
                    .expect("next generation");
                generation_changes += 1;
            }
            while sender.step() < case.step {
                sender.ratchet();
            }
            assert_eq!(sender.generation(), case.generation);
            assert_eq!(sender.step(), case.step);
            assert_eq!(
                sender.kid(),
                KeyId(case.kid),
                "KID of {suite} step {}",
                case.step
            );
            assert_eq!(bits.kid(case.generation, case.step), Ok(KeyId(case.kid)));
            let share = sender.share();
            assert_eq!(share.expose_secret(), case.step_base_key.0);
            assert_eq!(sender.next_counter(), Some(Counter(case.ctr)));

            // Intermediate values, to localise a failure.
            let step_key = BaseKey::new(share.expose_secret()).expect("valid");
            let derived = derive_key_and_salt(suite, KeyId(case.kid), &step_key);
            assert_eq!(derived.key(), case.sframe_key.0);
            assert_eq!(derived.salt().as_slice(), case.sframe_salt.0);

            let mut out = vec![0; sender.next_ciphertext_len(case.pt.0.len())];
            let sealed = sender
                .seal(&case.metadata.0, &case.pt.0, &mut out)
                .expect("encrypt");
            assert_eq!(
                &out[sealed.frame()],
                case.ct.0,
                "ciphertext, suite {suite} R {} generation {} step {} ctr {}",
                case.ratchet_bits,
                case.generation,
                case.step,
                case.ctr
            );
            let header = Header::parse(&case.ct.0).expect("header");
            assert_eq!([header.as_bytes(), &case.metadata.0].concat(), case.aad.0);
            frames += 1;
        }
    }
    assert_eq!(frames, 8 * (22 + 3 + 11));
    assert_eq!(generation_changes, 8);
}

#[test]
fn ratcheting_receiver_decrypts_every_ciphertext_in_order() {
    let vectors = vectors();
    for sequence in &vectors.sequences {
        let suite = CipherSuite::from_id(sequence.cipher_suite).expect("known suite");
        let bits = RatchetBits::new(sequence.ratchet_bits).expect("R");
        let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
        let mut now = 0;
        for case in &sequence.frames {
            if receiver.generation() != Some(case.generation) {
                receiver
                    .install_key(case.generation, 0, base_key(&case.generation_base_key), now)
                    .expect("newer generation");
            }
            let mut out = vec![0; case.ct.0.len()];
            let decrypted = receiver
                .at(now)
                .open(&case.metadata.0, &case.ct.0, &mut out)
                .expect("decrypt");
            assert_eq!(&out[decrypted.plaintext()], case.pt.0);
            assert_eq!(receiver.step(), Some(case.step), "the receiver followed");
            now += 10;
        }
        let stats = receiver.stats();
        assert_eq!(stats.ok, sequence.frames.len() as u64);
        assert_eq!(stats.failures(), 0);
    }
}
