//! The work a forged frame can cause is bounded, for every receiver kind
//! and suite (issue 16, point 4): at most one key-and-salt expansion (the
//! two HKDF-Expands of RFC 9605 §4.4.2), none for a ratcheting receiver,
//! and no HKDF-Extract or ratchet step, however far ahead its KID points
//! and however often it is sent; and a failed call leaves every observable
//! part of the receiver as it was. Counted with the `test-hooks` counters, which are global to the
//! process: this file holds a single test.

use framecrypt::codec::{Codec, Fallback, Protection};
use framecrypt::prelude::*;
use framecrypt::test_hooks::{key_derivations, ratchet_steps, secret_extractions};
use framecrypt::{
    BaseKey, CipherSuite, EpochManager, Error, FixedKeyStore, Header, KeyId, MlsSender,
    RatchetBits, RatchetingReceiver, RatchetingSender, Receiver, Sender,
};

/// (HKDF-Extracts, key-and-salt expansions, ratchet steps) so far.
fn counts() -> (usize, usize, usize) {
    (secret_extractions(), key_derivations(), ratchet_steps())
}

/// What happened since `start`.
fn since(start: (usize, usize, usize)) -> (usize, usize, usize) {
    let now = counts();
    (now.0 - start.0, now.1 - start.1, now.2 - start.2)
}

/// `frame` under another KID: the same body and tag, which no longer
/// authenticate.
fn with_kid(frame: &[u8], kid: u64) -> Vec<u8> {
    let header = Header::parse(frame).expect("header");
    let new = Header::new(KeyId(kid), header.ctr()).encode();
    [new.as_bytes(), &frame[header.len()..]].concat()
}

#[test]
fn a_forged_frame_costs_at_most_one_key_expansion_and_changes_nothing() {
    for suite in CipherSuite::ALL {
        ratchet_forgeries_cost_no_ratchet_step(suite);
        epoch_forgeries_cost_one_expansion_per_new_kid(suite);
        epoch_forgeries_cost_no_expansion_with_a_roster(suite);
        receiver_forgeries_cost_nothing_but_the_tag_check(suite);
        codec_fallback_tries_at_most_twice(suite);
    }
}

/// With the roster's keys in the slots (derived when an epoch is added,
/// one per slot at most), a forged frame costs no expansion: a KID outside
/// the roster is refused unread, one inside finds its key ready. A sender
/// whose key found no slot costs one expansion on its first frame.
fn epoch_forgeries_cost_no_expansion_with_a_roster(suite: CipherSuite) {
    // 3 leaves (S = 2 bits) × 2 contexts = 6 keys per epoch, in 10 slots.
    let mut manager = EpochManager::<2, 10>::new(suite, 4)
        .expect("manager")
        .with_contexts(2)
        .expect("roster");
    let start = counts();
    manager
        .add_epoch_key(1, 3, BaseKey::new(&[0x44; 32]).expect("key"), 0)
        .expect("epoch");
    assert_eq!(
        since(start),
        (1, 6, 0),
        "{suite}: the roster, derived ahead"
    );
    assert_eq!(manager.key_count(), 0, "{suite}: none authenticated yet");
    let mut video = MlsSender::new(2, 1);
    video.enter_epoch(&manager).expect("in the roster");
    let genuine = video.seal_to_vec(b"", b"member 2, video").expect("seal");
    let mut out = vec![0; genuine.len()];
    let layout = manager.layout(1).expect("epoch 1");
    let kid = |context: u64, index: u64| layout.kid(context, index, 1).expect("fits").0;

    let start = counts();
    // In the roster: one tag check each, under keys derived ahead.
    for (context, index) in [(0, 0), (0, 2), (1, 1), (1, 0)] {
        assert_eq!(
            manager
                .at(1)
                .open(b"", &with_kid(&genuine, kid(context, index)), &mut out)
                .map(drop),
            Err(Error::AuthenticationFailed),
            "{suite}: ({context}, {index})"
        );
    }
    // Outside it: a sender index past the group, a context past the roster.
    for (context, index) in [(0, 3), (1, 3), (2, 0), (1000, 1)] {
        let kid = kid(context, index);
        assert_eq!(
            manager
                .at(1)
                .open(b"", &with_kid(&genuine, kid), &mut out)
                .map(drop),
            Err(Error::UnknownKeyId(KeyId(kid))),
            "{suite}: ({context}, {index})"
        );
    }
    assert_eq!(
        since(start),
        (0, 0, 0),
        "{suite}: no forged frame expanded a key"
    );
    assert_eq!(manager.unattributed_stats().failures(), 8, "{suite}");
    // The genuine frame opens under its key derived ahead.
    assert_eq!(
        manager.at(2).open_to_vec(b"", &genuine).map(|(_, pt)| pt),
        Ok(b"member 2, video".to_vec()),
        "{suite}"
    );
    assert_eq!(since(start), (0, 0, 0), "{suite}");
    assert_eq!(manager.key_count(), 1, "{suite}");
    assert_eq!(
        manager.stats(2).map(|s| (s.ok, s.failures())),
        Some((1, 0)),
        "{suite}"
    );

    // Epoch 2: 4 free slots, then 2 of the 5 keys of epoch 1 that never
    // authenticated; member 2's authentic key of epoch 1 stays.
    let start = counts();
    manager
        .add_epoch_key(2, 3, BaseKey::new(&[0x45; 32]).expect("key"), 3)
        .expect("epoch");
    assert_eq!(since(start), (1, 6, 0), "{suite}: epoch 2 derived ahead");
    assert_eq!(
        manager.at(4).open(b"", &genuine, &mut out).map(drop),
        Err(Error::Replayed),
        "{suite}: member 2's epoch-1 key and window kept"
    );
    // Epoch 3 with 6 leaves (S = 3), 12 keys: epoch 1 goes (one superseded
    // epoch is kept), freeing its 4 slots; the 6 of epoch 2 never
    // authenticated. 10 slots: context 0 (6 keys) and the first 4 of
    // context 1 fit.
    let start = counts();
    manager
        .add_epoch_key(3, 6, BaseKey::new(&[0x46; 32]).expect("key"), 5)
        .expect("epoch");
    assert_eq!(since(start), (1, 10, 0), "{suite}: one expansion per slot");
    let mut late = MlsSender::new(5, 1);
    late.enter_epoch(&manager).expect("in the roster");
    let frame = late.seal_to_vec(b"", b"member 5, video").expect("seal");
    let start = counts();
    assert_eq!(
        manager.at(6).open_to_vec(b"", &frame).map(|(_, pt)| pt),
        Ok(b"member 5, video".to_vec()),
        "{suite}"
    );
    assert_eq!(
        since(start),
        (0, 1, 0),
        "{suite}: a key that did not fit: one expansion"
    );
    assert_eq!(
        MlsSender::new(6, 0).enter_epoch(&manager),
        Err(Error::InvalidParameter),
        "{suite}: a sender outside the roster is told so"
    );
}

/// A ratcheting receiver keeps the keys of the steps in reach, so a forged
/// KID of any step ahead costs no derivation at all; in the first version
/// it cost one ratchet step per step ahead, up to `max_forward` (64 by
/// default), and a key derivation, every time.
fn ratchet_forgeries_cost_no_ratchet_step(suite: CipherSuite) {
    let bits = RatchetBits::new(8).expect("R");
    let base_key = BaseKey::new(&[0x5a; 32]).expect("key");
    let mut sender = RatchetingSender::new(suite, bits, 0, base_key).expect("sender");
    let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
    receiver.install_share(sender.share(), 0).expect("key");
    assert_eq!(receiver.max_forward(), 64, "{suite}");
    let genuine = sender.seal_to_vec(b"", b"step 0").expect("seal");
    let mut out = vec![0; genuine.len()];

    let start = counts();
    for round in 0..3 {
        for step in 1..=255u64 {
            let forged = with_kid(&genuine, step);
            let expected = if step <= 64 {
                Err(Error::AuthenticationFailed)
            } else {
                Err(Error::TooFarAhead)
            };
            assert_eq!(
                receiver.at(round).open(b"", &forged, &mut out).map(drop),
                expected,
                "{suite}: step {step}"
            );
        }
    }
    assert_eq!(
        since(start),
        (0, 0, 0),
        "{suite}: forged frames derive nothing"
    );
    // Nothing moved: the step, the keys, the window (CTR 0 is still new).
    assert_eq!(receiver.step(), Some(0), "{suite}");
    assert_eq!(receiver.key_count(), 1, "{suite}");
    let stats = receiver.stats();
    assert_eq!((stats.ok, stats.failures()), (0, 3 * 255), "{suite}");
    assert_eq!(
        receiver.at(5).open_to_vec(b"", &genuine).map(|(_, pt)| pt),
        Ok(b"step 0".to_vec()),
        "{suite}"
    );

    // The keys kept are the right ones: the farthest step in reach opens,
    // and so do the skipped steps retained. The 64 steps now in reach are
    // paid for here, by an authentic frame: a ratchet step, an extraction
    // and a key derivation each.
    for _ in 0..64 {
        sender.ratchet();
    }
    let far = sender.seal_to_vec(b"", b"step 64").expect("seal");
    let start = counts();
    assert_eq!(
        receiver.at(6).open_to_vec(b"", &far).map(|(_, pt)| pt),
        Ok(b"step 64".to_vec()),
        "{suite}"
    );
    assert_eq!(receiver.step(), Some(64), "{suite}");
    assert_eq!(since(start), (64, 64, 64), "{suite}");
    assert_eq!(receiver.previous_count(), 3, "{suite}");
    for _ in 0..63 {
        sender.ratchet();
    }
    let next = sender.seal_to_vec(b"", b"step 127").expect("seal");
    assert_eq!(
        receiver.at(7).open_to_vec(b"", &next).map(|(_, pt)| pt),
        Ok(b"step 127".to_vec()),
        "{suite}: the chain was extended right"
    );
}

/// An epoch manager extracts each epoch's secret once; a KID in the roster
/// with no cached key (more senders than slots) costs one expansion, and
/// the same forged KID again costs none (the speculative entry). The first
/// version extracted and expanded again for every forged frame.
fn epoch_forgeries_cost_one_expansion_per_new_kid(suite: CipherSuite) {
    let mut manager = EpochManager::<4, 8>::new(suite, 4).expect("manager");
    // 64 leaves, 8 slots: the keys of members 0 to 7 are derived ahead.
    let start = counts();
    manager
        .add_epoch_key(1, 64, BaseKey::new(&[0x33; 32]).expect("key"), 0)
        .expect("epoch");
    assert_eq!(
        since(start),
        (1, 8, 0),
        "{suite}: one extraction per epoch, one expansion per slot"
    );
    let mut alice = MlsSender::new(30, 0);
    alice.enter_epoch(&manager).expect("epoch");
    let mut bob_sender = MlsSender::new(35, 0);
    bob_sender.enter_epoch(&manager).expect("epoch");
    let genuine = alice.seal_to_vec(b"", b"alice").expect("seal");
    let from_bob = bob_sender.seal_to_vec(b"", b"bob").expect("seal");
    let mut out = vec![0; genuine.len()];
    let kid = |index: u64| {
        manager
            .layout(1)
            .expect("epoch 1")
            .kid(0, index, 1)
            .expect("fits")
            .0
    };
    let (bob, others): (u64, Vec<u64>) = (kid(35), (40..50).map(kid).collect());

    // The same forged KID, twenty times: one expansion.
    let start = counts();
    for now in 0..20 {
        let forged = with_kid(&genuine, bob);
        assert_eq!(
            manager.at(now).open(b"", &forged, &mut out).map(drop),
            Err(Error::AuthenticationFailed),
            "{suite}"
        );
    }
    assert_eq!(since(start), (0, 1, 0), "{suite}: a repeated forged KID");
    assert_eq!(
        (manager.key_count(), manager.stats(35)),
        (0, None),
        "{suite}"
    );
    // Bob's own first frame finds the key ready.
    let start = counts();
    assert_eq!(
        manager.at(21).open_to_vec(b"", &from_bob).map(|(_, pt)| pt),
        Ok(b"bob".to_vec()),
        "{suite}"
    );
    assert_eq!(since(start), (0, 0, 0), "{suite}: bob's first frame");
    assert_eq!(manager.key_count(), 1, "{suite}");
    assert_eq!(
        manager.stats(35).map(|s| (s.ok, s.failures())),
        Some((1, 0))
    );
    // Ten new KIDs, ten expansions at most.
    let start = counts();
    for &other in &others {
        let forged = with_kid(&genuine, other);
        assert!(manager.at(30).open(b"", &forged, &mut out).is_err());
    }
    assert_eq!(since(start), (0, others.len(), 0), "{suite}: new KIDs");

    // Nothing observable moved: no key cached, no sender row.
    assert_eq!(manager.key_count(), 1, "{suite}");
    assert_eq!(manager.stats(30), None, "{suite}");
    assert_eq!(manager.unattributed_stats().failures(), 30, "{suite}");
    let start = counts();
    assert_eq!(
        manager.at(40).open_to_vec(b"", &genuine).map(|(_, pt)| pt),
        Ok(b"alice".to_vec()),
        "{suite}"
    );
    assert_eq!(since(start), (0, 1, 0), "{suite}: alice's first frame");
    assert_eq!(manager.key_count(), 2, "{suite}");
    assert_eq!(manager.stats(30).map(|s| s.ok), Some(1), "{suite}");
    // Its window holds the counter now.
    assert_eq!(
        manager.at(41).open(b"", &genuine, &mut out).map(drop),
        Err(Error::Replayed),
        "{suite}"
    );
}

/// The plain receiver holds derived keys only; a forged frame costs the
/// tag check and nothing else, known KID or not.
fn receiver_forgeries_cost_nothing_but_the_tag_check(suite: CipherSuite) {
    let (mut sender, share) =
        Sender::with_share(suite, KeyId(7), BaseKey::new(&[7; 16]).expect("key"));
    let mut receiver = Receiver::<FixedKeyStore<2>>::new();
    receiver.add_share(share).expect("room");
    let genuine = sender.seal_to_vec(b"", b"plain").expect("seal");
    let mut tampered = genuine.clone();
    *tampered.last_mut().expect("tag") ^= 1;
    let mut out = vec![0; genuine.len()];
    let start = counts();
    for _ in 0..10 {
        assert_eq!(
            receiver.open(b"", &tampered, &mut out).map(drop),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            receiver
                .open(b"", &with_kid(&genuine, 8), &mut out)
                .map(drop),
            Err(Error::UnknownKeyId(KeyId(8)))
        );
    }
    assert_eq!(since(start), (0, 0, 0), "{suite}");
    assert!(receiver.open(b"", &genuine, &mut out).is_ok(), "{suite}");
}

/// Codec-aware protection with the whole-frame fallback tries a frame
/// twice, each try bounded as above: over a ratcheting receiver, no
/// derivation at all.
fn codec_fallback_tries_at_most_twice(suite: CipherSuite) {
    let bits = RatchetBits::new(8).expect("R");
    let mut sender =
        RatchetingSender::new(suite, bits, 0, BaseKey::new(&[9; 16]).expect("key")).expect("s");
    let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
    receiver.install_share(sender.share(), 0).expect("key");
    let protection = Protection::new(Codec::Vp8, Fallback::WholeFrame);
    // A VP8 key frame: 10 bytes stay clear, the rest is sealed.
    let mut frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
    frame.extend_from_slice(&[0x77; 200]);
    let (_, protected) = protection
        .protect_to_vec(&mut sender, &frame)
        .expect("protect");
    let mut out = vec![0; protected.len()];
    let start = counts();
    for step in 1..=64u64 {
        // Every byte that could be read as a KID in either layout names a
        // step ahead: the worst a forger can do.
        let forged: Vec<u8> = protected
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if i < 10 {
                    b
                } else {
                    b ^ u8::try_from(step).expect("small")
                }
            })
            .collect();
        assert!(
            protection
                .unprotect(&mut receiver.at(0), &forged, &mut out)
                .is_err()
        );
    }
    assert_eq!(since(start), (0, 0, 0), "{suite}");
    assert_eq!(receiver.step(), Some(0), "{suite}");
    assert_eq!(
        protection
            .unprotect_to_vec(&mut receiver.at(1), &protected)
            .map(|(_, f)| f),
        Ok(frame),
        "{suite}"
    );
}
