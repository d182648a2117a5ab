//! Key announcements (feature `distribute`) against an independent RFC 9180
//! implementation, `hpke-rs`: it opens what framecrypt seals, and
//! framecrypt opens what it seals to the documented byte format. The rest
//! of the `distribute` tests, which need no second HPKE, are in the main
//! crate's `tests/all/distribute.rs`.

use framecrypt::distribute::{
    AnnouncementHeader, Freshness, Identity, KeyDistributor, LABEL, Participant, Session,
};
use framecrypt::{CipherSuite, RatchetBits};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const SESSION_ID: &[u8] = b"meeting-9605";

/// Alice, who sends, and Bob, her one receiver.
struct Meeting {
    session: Session,
    alice_identity: Identity,
    alice: Participant,
    bob: Identity,
}

/// A started meeting and Bob's announcement of generation 0.
fn bobs_announcement() -> (Meeting, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let session =
        Session::new(SESSION_ID, SUITE, RatchetBits::new(8).expect("R")).expect("session");
    let alice_identity = Identity::generate(&mut rng);
    let alice = Participant::new(b"alice", alice_identity.public_key()).expect("id");
    let bob = Identity::generate(&mut rng);
    let roster = vec![Participant::new(b"bob", bob.public_key()).expect("id")];
    // Roster version 1, issued at time 0 (both bound into the announcement).
    let (_, announcements) = KeyDistributor::start(
        session.clone(),
        b"alice",
        &alice_identity,
        roster,
        1,
        0,
        &mut rng,
    )
    .expect("start");
    let bobs = announcements[0].as_bytes().to_vec();
    let meeting = Meeting {
        session,
        alice_identity,
        alice,
        bob,
    };
    (meeting, bobs)
}

/// The base key Bob opens from `announcement`.
fn open_key(m: &Meeting, announcement: &[u8]) -> Vec<u8> {
    m.session
        .open_announcement(
            announcement,
            b"bob",
            &m.bob,
            &m.alice,
            Freshness {
                now_ms: 0,
                min_roster_version: 0,
            },
        )
        .expect("open")
        .expose_secret()
        .to_vec()
}

fn hpke_rs() -> hpke_rs::Hpke<hpke_rs_rust_crypto::HpkeRustCrypto> {
    hpke_rs::Hpke::new(
        hpke_rs::Mode::Auth,
        hpke_rs::hpke_types::KemAlgorithm::DhKem25519,
        hpke_rs::hpke_types::KdfAlgorithm::HkdfSha256,
        hpke_rs::hpke_types::AeadAlgorithm::Aes128Gcm,
    )
}

#[test]
fn hpke_rs_opens_an_announcement_from_the_documented_format() {
    let (m, bobs) = bobs_announcement();
    let header_len = AnnouncementHeader::parse(&bobs).expect("parse").len();
    let (enc, ct) = bobs[header_len..].split_at(32);
    let info = [LABEL, &bobs[..header_len]].concat();
    let bob_secret = m.bob.expose_secret().to_vec();
    let plaintext = hpke_rs()
        .open(
            enc,
            &hpke_rs::HpkePrivateKey::new(bob_secret),
            &info,
            b"",
            ct,
            None,
            None,
            Some(&hpke_rs::HpkePublicKey::new(
                m.alice.public_key().to_bytes().to_vec(),
            )),
        )
        .expect("hpke-rs opens it");
    let key = open_key(&m, &bobs);
    assert_eq!(plaintext, key);
}

#[test]
fn an_announcement_sealed_by_hpke_rs_to_the_documented_format_opens() {
    let (m, bobs) = bobs_announcement();
    let header_len = AnnouncementHeader::parse(&bobs).expect("parse").len();
    // The documented header: version (1 byte), suite (2), R (1), then the
    // generation (8, big-endian); announce generation 5 instead of 0.
    let mut header = bobs[..header_len].to_vec();
    header[4..12].copy_from_slice(&5u64.to_be_bytes());
    let info = [LABEL, &header].concat();
    let base_key = [0x42; 32];
    let bob_key = m.bob.public_key().to_bytes().to_vec();
    let (enc, ct) = hpke_rs()
        .seal(
            &hpke_rs::HpkePublicKey::new(bob_key),
            &info,
            b"",
            &base_key,
            None,
            None,
            Some(&hpke_rs::HpkePrivateKey::new(
                m.alice_identity.expose_secret().to_vec(),
            )),
        )
        .expect("seal");
    let announcement = [&header[..], &enc, &ct].concat();
    let parsed = AnnouncementHeader::parse(&announcement).expect("parse");
    assert_eq!((parsed.generation(), parsed.step()), (5, 0));
    assert_eq!(open_key(&m, &announcement), base_key);
}
