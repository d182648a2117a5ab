//! No byte of a removed, replaced, superseded or expired key survives in
//! memory a key holder owned or freed (issue 16, point 2).
//!
//! A global allocator (`tests/scan-alloc`) scans every block freed, and
//! every block `realloc` moves away from, for the bytes of every key the
//! scenario made: its AES round key 0 (the first 16 key bytes, stored as
//! they are by AES-NI), the next 16 bytes (AES-256's round key 1, or the
//! HMAC key), the salt as derived and as a frame key stores it (the low
//! 96 bits of a little-endian `u128`), base keys and extracted secrets.
//! Each scenario keeps its key holders in boxes and drops them at the end:
//! a holder zeroizes its keys when dropped, so any copy of a key still in
//! the box (a stale copy left by a move inside the holder) or in any block
//! freed on the way is a finding.
//!
//! Two controls first show that the scan finds what it looks for: a key
//! in a freed box, and the copy `Vec::remove` leaves in spare capacity
//! (the bug of the first `VecKeyStore`).
//!
//! Every finding must be the library's, so the test keeps its own copies
//! of keys (the bytes it builds base keys from, the keys it derives to
//! know what to watch) off the heap or in `Zeroizing` buffers, and wipes
//! them, and the stack below it, before it hands a key to the library: a
//! key holder built in stack memory the test left a key in would carry
//! that key in its unused bytes (a union's other half, an enum's longer
//! variant, padding) into the heap. Not covered: copies left on the stack
//! (no scan can tell them from live data), and AWS-LC's own `malloc`
//! (with AWS-LC, the default backend, its GCM context lives there; the
//! Rust side is still scanned, and `ffi/tests/c/test_freed_keys.c`, which
//! replaces `malloc` itself, scans those blocks through the C library).

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use framecrypt::distribute::{Freshness, Identity, KeyDistributor, Participant, Session};
use framecrypt::hazmat;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, EpochManager, FixedKeyStore, FrameKey, Header, KeyId, MlsSender,
    RatchetBits, RatchetingReceiver, RatchetingSender, Receiver, Retention, Sender, VecKeyStore,
    ratchet_forward,
};
use framecrypt_scan_alloc::{ScanAlloc, findings, reset, scanned, watch, watched};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use zeroize::Zeroizing;

#[global_allocator]
static GLOBAL: ScanAlloc = ScanAlloc;

fn main() {
    controls();
    for suite in CipherSuite::ALL {
        fixed_key_store(suite);
        vec_key_store(suite);
        ratcheting_receiver(suite);
        epoch_manager(suite);
    }
    key_distributor();
    let (blocks, bytes) = scanned();
    println!("freed_keys: no key bytes in {blocks} freed blocks ({bytes} bytes)");
}

/// Fails with every finding since the last check, then forgets the
/// scenario's patterns.
fn check(scenario: &str) {
    let (found, count) = findings();
    assert!(watched() > 0, "{scenario}: nothing watched");
    assert_eq!(
        count,
        0,
        "{scenario}: key bytes in freed memory, the first: {:?}",
        &found[..found.len().min(6)]
    );
    reset();
}

/// Overwrites the stack below the caller with zeros: the dead frames of
/// the test's own helpers, which held keys (derived to be watched). Left
/// there, a key holder built later in the same memory could pick them up
/// in its unused bytes and be blamed for them.
#[inline(never)]
fn scrub_stack() {
    let mut below = [0u8; 64 * 1024];
    zeroize::Zeroize::zeroize(&mut below[..]);
    core::hint::black_box(&below);
}

/// A recognisable base key: `tag`, `n`, then filler, 32 bytes.
fn key_bytes(tag: u8, n: u64) -> [u8; 32] {
    let mut bytes = *b"\x00........framecrypt-scan-key-!!!";
    bytes[0] = tag;
    bytes[1..9].copy_from_slice(&n.to_be_bytes());
    bytes
}

fn base_key(bytes: &[u8]) -> BaseKey {
    BaseKey::new(bytes).expect("base key")
}

/// The salt as a frame key holds it: `u128::from_be_bytes(salt || 0^4)`,
/// stored little-endian, so the salt reversed in the top 12 bytes.
fn salt_as_stored(salt: &[u8; 12]) -> [u8; 12] {
    let mut wide = [0u8; 16];
    wide[..12].copy_from_slice(salt);
    let le = u128::from_be_bytes(wide).to_le_bytes();
    let mut stored = [0u8; 12];
    stored.copy_from_slice(&le[4..]);
    stored
}

/// Watches the frame key of `kid` under `base` (RFC 9605 §4.4.2): key
/// bytes and salt in every form they are kept in.
fn watch_frame_key(label: &'static str, id: u64, suite: CipherSuite, kid: KeyId, base: &[u8]) {
    let derived = hazmat::derive_key_and_salt(suite, kid, &base_key(base));
    watch(label, id, &derived.key()[..16]);
    if derived.key().len() >= 32 {
        watch(label, id, &derived.key()[16..32]);
    }
    watch(label, id | 1 << 40, derived.salt());
    watch(label, id | 1 << 41, &salt_as_stored(derived.salt()));
}

/// Watches a base key and its extracted secret (`sframe_secret`).
fn watch_base_key(label: &'static str, id: u64, suite: CipherSuite, base: &[u8]) {
    watch(label, id, &base[..base.len().min(32)]);
    let secret = hazmat::sframe_secret(suite, &base_key(base));
    watch(label, id | 1 << 42, &secret.expose_secret()[..32]);
}

fn controls() {
    // A key in a box freed without zeroizing is found.
    let bytes = key_bytes(0xc0, 1);
    watch("control: plain box", 1, &bytes[..16]);
    drop(Box::new(bytes));
    let (found, count) = findings();
    assert_eq!(count, 1, "the scan must find a key in a freed box");
    assert_eq!(found[0].label, "control: plain box");
    reset();

    // `Vec::remove` shifts the keys after the removed one down and leaves
    // a copy of the last in the spare capacity: what the first
    // `VecKeyStore` did. Dropping the vector zeroizes the keys in use,
    // not that copy.
    let suite = CipherSuite::Aes128GcmSha256_128;
    let mut keys: Vec<FrameKey> = Vec::with_capacity(4);
    for n in 0..4 {
        let bytes = key_bytes(0xc1, n);
        watch_frame_key("control: Vec::remove", n, suite, KeyId(n), &bytes);
        keys.push(FrameKey::derive(suite, KeyId(n), &base_key(&bytes)));
    }
    drop(keys.remove(0));
    drop(keys);
    let (found, count) = findings();
    assert!(count >= 1, "the scan must find what Vec::remove leaves");
    assert!(
        found.iter().all(|f| f.id & 0xffff_ffff == 3),
        "the last key's copy: {found:?}"
    );
    reset();
}

/// Frames sealed by `sender`, opened by `receiver`.
fn round_trip(sender: &mut Sender, receiver: &mut impl Open) {
    let frame = sender.seal_to_vec(b"", b"scan me").expect("seal");
    let (_, pt) = receiver.open_to_vec(b"", &frame).expect("open");
    assert_eq!(pt, b"scan me");
}

/// A fixed store: keys added until full, removed, replaced and added
/// again into the freed slots.
fn fixed_key_store(suite: CipherSuite) {
    let mut receiver = Box::new(Receiver::<FixedKeyStore<6>>::new());
    let mut senders: Vec<Box<Sender>> = Vec::new();
    let add = |receiver: &mut Receiver<FixedKeyStore<6>>, kid: u64, n: u64| {
        let mut bytes = Zeroizing::new(key_bytes(0xf1, n));
        watch_frame_key("FixedKeyStore", n, suite, KeyId(kid), &*bytes);
        watch("FixedKeyStore base key", n, &*bytes);
        let key = base_key(&*bytes);
        zeroize::Zeroize::zeroize(&mut *bytes);
        scrub_stack();
        let (sender, share) = Sender::with_share(suite, KeyId(kid), key);
        receiver.add_share(share).expect("room");
        Box::new(sender)
    };
    for (n, kid) in [60, 10, 40, 20, 50, 30].into_iter().enumerate() {
        senders.push(add(&mut receiver, kid, n as u64));
    }
    for sender in &mut senders {
        round_trip(sender, &mut *receiver);
    }
    // Remove two, replace one (same KID, new key), fill the slots again.
    assert!(receiver.remove_key(KeyId(20)));
    assert!(receiver.remove_key(KeyId(50)));
    senders.push(add(&mut receiver, 40, 6));
    senders.push(add(&mut receiver, 15, 7));
    senders.push(add(&mut receiver, 55, 8));
    assert_eq!(receiver.key_count(), 6);
    for sender in senders.iter_mut().skip(6) {
        round_trip(sender, &mut *receiver);
    }
    assert!(receiver.remove_key(KeyId(60)));
    assert!(receiver.remove_key(KeyId(15)));
    drop(senders);
    drop(receiver);
    check("FixedKeyStore");
}

/// A growable store: enough keys, added out of order, for the vector to
/// grow and shift many times; then removals and replacements.
fn vec_key_store(suite: CipherSuite) {
    let mut receiver = Box::new(Receiver::<VecKeyStore>::new());
    let kids: Vec<u64> = (0..40).map(|i| (i * 37) % 101).collect();
    for (n, &kid) in kids.iter().enumerate() {
        let mut bytes = Zeroizing::new(key_bytes(0xf2, n as u64));
        watch_frame_key("VecKeyStore", n as u64, suite, KeyId(kid), &*bytes);
        let key = base_key(&*bytes);
        zeroize::Zeroize::zeroize(&mut *bytes);
        scrub_stack();
        receiver.add_key(suite, KeyId(kid), key).expect("growable");
    }
    let mut sender = Sender::new(
        suite,
        KeyId(kids[3]),
        base_key(&*Zeroizing::new(key_bytes(0xf2, 3))),
    );
    round_trip(&mut sender, &mut *receiver);
    for &kid in kids.iter().step_by(2) {
        assert!(receiver.remove_key(KeyId(kid)));
    }
    for (n, &kid) in kids.iter().enumerate().skip(1).step_by(4) {
        let mut bytes = Zeroizing::new(key_bytes(0xf3, n as u64));
        watch_frame_key("VecKeyStore replaced", n as u64, suite, KeyId(kid), &*bytes);
        let key = base_key(&*bytes);
        zeroize::Zeroize::zeroize(&mut *bytes);
        scrub_stack();
        receiver.add_key(suite, KeyId(kid), key).expect("growable");
    }
    for &kid in kids.iter().skip(1).step_by(2) {
        assert!(receiver.remove_key(KeyId(kid)));
    }
    assert_eq!(receiver.key_count(), 0);
    drop(sender);
    drop(receiver);
    check("VecKeyStore");
}

/// A ratcheting receiver that moves forward, skips steps, retains and
/// expires keys, and takes a new generation; and its sender.
fn ratcheting_receiver(suite: CipherSuite) {
    let bits = RatchetBits::new(6).expect("R");
    const STEPS: u64 = 40;
    const FORWARD: u64 = 16;
    // Every key of both generations, watched before anything is built.
    for generation in 0..2u64 {
        let mut step_key = base_key(&key_bytes(0xa0 + generation as u8, 0));
        for step in 0..=STEPS + FORWARD {
            let id = generation << 32 | step;
            let kid = bits.kid(generation, step).expect("fits");
            watch_frame_key(
                "RatchetingReceiver",
                id,
                suite,
                kid,
                step_key.expose_secret(),
            );
            watch_base_key(
                "RatchetingReceiver base key",
                id,
                suite,
                step_key.expose_secret(),
            );
            step_key = ratchet_forward(suite, step_key);
        }
    }
    scrub_stack();
    let first = key_bytes(0xa0, 0);
    let mut sender = Box::new(RatchetingSender::new(suite, bits, 0, base_key(&first)).expect("s"));
    let mut receiver = Box::new(
        RatchetingReceiver::<3>::new(suite, bits)
            .with_max_forward(FORWARD)
            .expect("limit"),
    );
    receiver.install_share(sender.share(), 0).expect("key");
    let mut late = Vec::new();
    let mut now = 0;
    for step in 0..STEPS {
        let frame = sender.seal_to_vec(b"", b"step").expect("seal");
        // Skip some steps entirely, keep some frames for later.
        if step % 5 != 3 {
            receiver.at(now).open_to_vec(b"", &frame).expect("open");
        } else {
            late.push(frame);
        }
        if step % 7 == 6 {
            let late_frame = late.remove(0);
            let _ = receiver.at(now).open_to_vec(b"", &late_frame);
        }
        sender.ratchet();
        now += if step % 11 == 10 { 10_000 } else { 10 };
    }
    // A new generation, installed and then followed.
    sender.rekey(base_key(&key_bytes(0xa1, 0))).expect("rekey");
    receiver
        .install_share(sender.share(), now)
        .expect("new generation");
    for _ in 0..5 {
        let frame = sender.seal_to_vec(b"", b"gen 1").expect("seal");
        receiver.at(now).open_to_vec(b"", &frame).expect("open");
        sender.ratchet();
        sender.ratchet();
        now += 10;
    }
    receiver.expire(now + 60_000);
    drop(late);
    drop(sender);
    drop(receiver);
    check("RatchetingReceiver");
}

/// An epoch manager through epochs that roll over (E = 2), with senders
/// cached, forged KIDs held speculatively, and epochs expiring.
fn epoch_manager(suite: CipherSuite) {
    const MEMBERS: u64 = 4;
    let mut manager = Box::new(
        EpochManager::<3, 16>::new(suite, 2)
            .expect("manager")
            .with_retention(Retention {
                max_previous: 2,
                max_age_ms: 1_000,
            })
            .expect("retention"),
    );
    let mut senders: Vec<Box<MlsSender>> = (0..MEMBERS)
        .map(|i| Box::new(MlsSender::new(i, 0)))
        .collect();
    for epoch in 1..=7u64 {
        let mut bytes = Zeroizing::new(key_bytes(0xe0, epoch));
        watch_base_key("EpochManager base key", epoch, suite, &*bytes);
        let layout = framecrypt::MlsKidLayout::for_group_size(2, 8).expect("layout");
        for index in 0..8 {
            let kid = layout.kid(0, index, epoch).expect("fits");
            watch_frame_key("EpochManager", epoch << 8 | index, suite, kid, &*bytes);
        }
        let key = base_key(&*bytes);
        zeroize::Zeroize::zeroize(&mut *bytes);
        scrub_stack();
        let now = epoch * 400;
        manager.add_epoch_key(epoch, 8, key, now).expect("epoch");
        assert_eq!(manager.layout(epoch), Some(layout));
        for sender in &mut senders {
            sender.enter_epoch(&manager).expect("newer");
            let frame = sender.seal_to_vec(b"", b"mls").expect("seal");
            manager.at(now).open_to_vec(b"", &frame).expect("open");
            // A forged frame naming member 4 + epoch % 4: kept as the
            // speculative entry until the next one replaces it.
            let header = Header::parse(&frame).expect("header");
            let forged_kid = layout.kid(0, 4 + epoch % 4, epoch).expect("fits");
            let forged = [
                Header::new(forged_kid, header.ctr()).encode().as_bytes(),
                &frame[header.len()..],
            ]
            .concat();
            assert!(manager.at(now).open_to_vec(b"", &forged).is_err());
        }
    }
    manager.expire(100_000);
    drop(senders);
    drop(manager);
    check("EpochManager");
}

/// A key distributor through joins, a leave with an activation delay
/// (pending keys superseded), and the receivers that install its keys.
/// Its base keys come from its random generator, so the scenario runs
/// twice from one seed: once to learn the keys, once watching them.
fn key_distributor() {
    let learned = distributor_run(None);
    distributor_run(Some(&learned));
    check("KeyDistributor");
}

/// The keys announced, by (generation, step), in a buffer zeroized on drop.
type Learned = Zeroizing<Vec<(u64, u64, [u8; 64], usize)>>;

fn distributor_run(watching: Option<&Learned>) -> Learned {
    let suite = CipherSuite::Aes128CtrHmacSha256_80;
    let bits = RatchetBits::new(8).expect("R");
    let session = Session::new(b"scan", suite, bits).expect("session");
    if let Some(learned) = watching {
        for (n, (generation, step, bytes, len)) in learned.iter().enumerate() {
            let id = generation << 32 | step;
            let kid = bits.kid(*generation, *step).expect("fits");
            watch_frame_key("KeyDistributor", id, suite, kid, &bytes[..*len]);
            watch_base_key("KeyDistributor base key", n as u64, suite, &bytes[..*len]);
        }
        scrub_stack();
    }
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let alice_identity = Identity::generate(&mut rng);
    let alice = Participant::new(b"alice", alice_identity.public_key()).expect("id");
    let names: [&[u8]; 4] = [b"bob", b"carol", b"dave", b"erin"];
    let identities: Vec<Identity> = names.iter().map(|_| Identity::generate(&mut rng)).collect();
    let participant =
        |i: usize| Participant::new(names[i], identities[i].public_key()).expect("id");
    let mut receivers: Vec<Box<RatchetingReceiver<4>>> =
        names.iter().map(|_| Box::new(session.receiver())).collect();
    // Room for every key up front: growing would free a buffer with keys
    // in it, which `Zeroizing` cannot wipe.
    let mut learned: Learned = Zeroizing::new(Vec::with_capacity(64));
    let mut deliver = |announcements: &[framecrypt::distribute::KeyAnnouncement],
                       receivers: &mut [Box<RatchetingReceiver<4>>],
                       now: u64| {
        for announcement in announcements {
            let i = names
                .iter()
                .position(|n| *n == announcement.recipient_id())
                .expect("a member");
            let key = session
                .open_announcement(
                    announcement.as_bytes(),
                    names[i],
                    &identities[i],
                    &alice,
                    Freshness {
                        now_ms: now,
                        min_roster_version: 0,
                    },
                )
                .expect("open");
            let mut bytes = [0u8; 64];
            bytes[..key.expose_secret().len()].copy_from_slice(key.expose_secret());
            learned.push((
                key.generation(),
                key.step(),
                bytes,
                key.expose_secret().len(),
            ));
            let _ = key.install(&mut receivers[i], now);
        }
    };
    let (distributor, announcements) = KeyDistributor::start(
        session.clone(),
        b"alice",
        &alice_identity,
        vec![participant(0), participant(1)],
        1,
        1_000,
        &mut rng,
    )
    .expect("start");
    let mut distributor = Box::new(distributor.with_activation_delay(50));
    deliver(&announcements, &mut receivers, 1_000);
    let send_all = |distributor: &mut KeyDistributor,
                    receivers: &mut [Box<RatchetingReceiver<4>>],
                    now: u64| {
        let frame = distributor
            .at(now)
            .seal_to_vec(b"", b"to all")
            .expect("seal");
        for receiver in receivers.iter_mut() {
            let _ = receiver.at(now).open_to_vec(b"", &frame);
        }
    };
    send_all(&mut distributor, &mut receivers, 1_010);
    let a = distributor
        .join(&alice_identity, participant(2), 2, 1_020, &mut rng)
        .expect("join");
    deliver(&[a], &mut receivers, 1_020);
    let b = distributor
        .join(&alice_identity, participant(3), 3, 1_030, &mut rng)
        .expect("join");
    deliver(&[b], &mut receivers, 1_030);
    // A leave while the joins are pending supersedes them.
    let left = distributor
        .leave(&alice_identity, b"carol", 4, 1_040, &mut rng)
        .expect("leave");
    deliver(&left, &mut receivers, 1_040);
    for now in [1_060, 1_100, 1_200] {
        distributor.poll(now);
        send_all(&mut distributor, &mut receivers, now);
    }
    let again = distributor
        .leave(&alice_identity, b"dave", 5, 1_300, &mut rng)
        .expect("leave");
    deliver(&again, &mut receivers, 1_300);
    distributor.poll(2_000);
    send_all(&mut distributor, &mut receivers, 2_000);
    for receiver in &mut receivers {
        receiver.expire(100_000);
    }
    drop(receivers);
    drop(distributor);
    learned
}
