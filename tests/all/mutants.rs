//! Behaviour that mutation testing (cargo-mutants, issue 16 point 11)
//! showed no test pinned down: each test here fails under at least one
//! mutant of the library that the rest of the suite let through.

#![cfg(feature = "alloc")]

use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, EpochManager, Error, FixedKeyStore, Header, KeyId, RatchetBits,
    RatchetingReceiver, RatchetingSender, Receiver, ReplayWindow, Retention, Sender, VecKeyStore,
    max_overhead, ratchet_forward,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn key(byte: u8) -> BaseKey {
    BaseKey::new(&[byte; 16]).expect("length")
}

fn bits(r: u32) -> RatchetBits {
    RatchetBits::new(r).expect("R")
}

fn send(sender: &mut RatchetingSender, text: &str) -> Vec<u8> {
    sender.seal_to_vec(b"", text.as_bytes()).expect("seal")
}

fn recv<const N: usize>(
    receiver: &mut RatchetingReceiver<N>,
    now: u64,
    frame: &[u8],
) -> Result<String, Error> {
    let (_, plaintext) = receiver.at(now).open_to_vec(b"", frame)?;
    Ok(String::from_utf8(plaintext).expect("utf-8"))
}

/// `R = 2` (four KID values), four superseded keys kept, looking three
/// steps ahead: small enough that steps share KIDs.
fn small_ring() -> (RatchetingSender, RatchetingReceiver<4>) {
    let sender = RatchetingSender::new(SUITE, bits(2), 0, key(1)).expect("sender");
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(2))
        .with_retention(Retention {
            max_previous: 4,
            max_age_ms: 1_000_000,
        })
        .expect("4 <= N");
    receiver.install_key(0, 0, key(1), 0).expect("first key");
    (sender, receiver)
}

#[test]
fn a_key_whose_kid_the_new_current_key_takes_is_dropped() {
    // Steps 0..=11 one by one: step 11 current, 8..=10 retained (7 went
    // when 11, with the same KID bits, became current).
    let (mut sender, mut receiver) = small_ring();
    for step in 0..12u64 {
        let frame = send(&mut sender, &format!("{step}"));
        assert_eq!(recv(&mut receiver, 0, &frame), Ok(format!("{step}")));
        if step < 11 {
            sender.ratchet();
        }
    }
    assert_eq!((receiver.step(), receiver.previous_count()), (Some(11), 3));
    sender.ratchet();
    let late_12 = send(&mut sender, "12 late");
    let step_12 = send(&mut sender, "12");
    // Step 12 has the KID bits of step 8 (12 mod 4 = 8 mod 4): moving to
    // it retires 11 and drops 8, whose KID the current key now carries.
    // Steps above 2^R tell a masked comparison from an unmasked one.
    assert_eq!(recv(&mut receiver, 0, &step_12).as_deref(), Ok("12"));
    assert_eq!((receiver.step(), receiver.previous_count()), (Some(12), 3));
    assert_eq!(recv(&mut receiver, 0, &late_12).as_deref(), Ok("12 late"));
    // Then step 13: 12 retired, and its late frames still find it.
    sender.ratchet();
    let step_13 = send(&mut sender, "13");
    let late_12_again = {
        // A frame of step 12 sealed before the ratchet, delivered now.
        let mut again = RatchetingSender::new(SUITE, bits(2), 0, key(1)).expect("sender");
        for _ in 0..12 {
            again.ratchet();
        }
        // Counters 0 and 1 of step 12 are used; the third is new.
        let _ = send(&mut again, "");
        let _ = send(&mut again, "");
        send(&mut again, "12 later")
    };
    assert_eq!(recv(&mut receiver, 0, &step_13).as_deref(), Ok("13"));
    assert_eq!(
        recv(&mut receiver, 0, &late_12_again).as_deref(),
        Ok("12 later")
    );
    assert_eq!(receiver.previous_count(), 3);
}

#[test]
fn installing_a_later_step_drops_the_retained_key_it_shadows() {
    // Steps 0..=2 followed, then step 8 installed (a joiner's key): it
    // carries the KID bits of step 0 (R = 2), which must go.
    let (mut sender, mut receiver) = small_ring();
    for step in 0..3u64 {
        let frame = send(&mut sender, &format!("{step}"));
        assert!(recv(&mut receiver, 0, &frame).is_ok());
        sender.ratchet();
    }
    assert_eq!(receiver.previous_count(), 2);
    let mut step_8 = BaseKey::new(&[1; 16]).expect("key");
    for _ in 0..8 {
        step_8 = ratchet_forward(SUITE, step_8);
    }
    receiver.install_key(0, 8, step_8, 1).expect("later step");
    // 2 retired (3 kept: 0, 1, 2), then 0 dropped: its KID is step 8's.
    assert_eq!((receiver.step(), receiver.previous_count()), (Some(8), 2));
}

#[test]
fn skipped_steps_of_a_later_generation_keep_their_kids() {
    // Generation 1, R = 4: the receiver jumps from step 0 to step 3, and
    // the late frames of the skipped steps 1 and 2 still open: their keys
    // were derived for generation 1's KIDs (0x11, 0x12).
    let mut sender = RatchetingSender::new(SUITE, bits(4), 1, key(2)).expect("sender");
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(4));
    receiver.install_share(sender.share(), 0).expect("key");
    sender.ratchet();
    let step_1 = send(&mut sender, "1");
    sender.ratchet();
    let step_2 = send(&mut sender, "2");
    sender.ratchet();
    let step_3 = send(&mut sender, "3");
    assert_eq!(Header::parse(&step_3).expect("header").kid(), KeyId(0x13));
    assert_eq!(recv(&mut receiver, 0, &step_3).as_deref(), Ok("3"));
    assert_eq!(receiver.previous_count(), 3);
    assert_eq!(recv(&mut receiver, 0, &step_2).as_deref(), Ok("2"));
    assert_eq!(recv(&mut receiver, 0, &step_1).as_deref(), Ok("1"));
}

#[test]
fn with_retention_takes_exactly_up_to_the_capacity() {
    let at_most = |n: usize| Retention {
        max_previous: n,
        max_age_ms: 10,
    };
    let ratchet = RatchetingReceiver::<3>::new(SUITE, bits(8));
    assert_eq!(
        ratchet.with_retention(at_most(3)).map(|r| r.retention()),
        Ok(at_most(3))
    );
    let ratchet = RatchetingReceiver::<3>::new(SUITE, bits(8));
    assert_eq!(
        ratchet.with_retention(at_most(4)).map(drop),
        Err(Error::InvalidParameter)
    );
    // An epoch manager keeps the newest epoch beside the superseded ones.
    let manager = || EpochManager::<3, 4>::new(SUITE, 4).expect("manager");
    assert_eq!(
        manager().with_retention(at_most(2)).map(|m| m.retention()),
        Ok(at_most(2))
    );
    assert_eq!(
        manager().with_retention(at_most(3)).map(drop),
        Err(Error::InvalidParameter)
    );
}

#[test]
fn with_replay_window_takes_exactly_up_to_full_width() {
    // Full width (64 × W) is accepted and works: 127 below the highest is
    // inside, 128 below outside.
    let mut sender = RatchetingSender::new(SUITE, bits(8), 0, key(3)).expect("sender");
    let mut ratchet = RatchetingReceiver::<4, 2>::new(SUITE, bits(8))
        .with_replay_window(128)
        .expect("full width");
    ratchet.install_share(sender.share(), 0).expect("key");
    let frames: Vec<Vec<u8>> = (0..130)
        .map(|i| send(&mut sender, &format!("{i}")))
        .collect();
    assert_eq!(recv(&mut ratchet, 0, &frames[129]).as_deref(), Ok("129"));
    assert_eq!(recv(&mut ratchet, 0, &frames[1]), Err(Error::Replayed));
    assert_eq!(recv(&mut ratchet, 0, &frames[2]).as_deref(), Ok("2"));
    for width in [0, 129] {
        assert_eq!(
            RatchetingReceiver::<4, 2>::new(SUITE, bits(8))
                .with_replay_window(width)
                .map(drop),
            Err(Error::InvalidParameter),
            "{width}"
        );
    }

    let (mut plain_sender, share) = Sender::with_share(SUITE, KeyId(4), key(4));
    let mut plain = Receiver::<FixedKeyStore<2>>::new()
        .with_replay_window(Receiver::<FixedKeyStore<2>>::MAX_REPLAY_WINDOW)
        .expect("full width");
    plain.add_share(share).expect("room");
    let frames: Vec<Vec<u8>> = (0..130)
        .map(|_| plain_sender.seal_to_vec(b"", b"x").expect("seal"))
        .collect();
    assert!(plain.open_to_vec(b"", &frames[129]).is_ok());
    assert_eq!(
        plain.open_to_vec(b"", &frames[1]).map(drop),
        Err(Error::Replayed)
    );
    assert!(plain.open_to_vec(b"", &frames[2]).is_ok());
    for width in [0, 129] {
        assert_eq!(
            Receiver::<FixedKeyStore<2>>::new()
                .with_replay_window(width)
                .map(drop),
            Err(Error::InvalidParameter),
            "{width}"
        );
    }

    let manager = || EpochManager::<2, 4, 2>::new(SUITE, 4).expect("manager");
    assert!(manager().with_replay_window(128).is_ok());
    for width in [0, 129] {
        assert_eq!(
            manager().with_replay_window(width).map(drop),
            Err(Error::InvalidParameter),
            "{width}"
        );
    }
}

#[test]
fn a_kid_behind_is_expired_exactly_when_its_step_existed() {
    // R = 4 (16 KID values), two steps ahead at most, nothing retained.
    let mut sender = RatchetingSender::new(SUITE, bits(4), 0, key(5)).expect("sender");
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(4))
        .with_max_forward(2)
        .expect("limit")
        .with_retention(Retention::NONE)
        .expect("none");
    receiver.install_share(sender.share(), 0).expect("key");
    let step_0 = send(&mut sender, "0");
    for step in 1..=5u64 {
        sender.ratchet();
        let frame = send(&mut sender, &format!("{step}"));
        assert!(recv(&mut receiver, 0, &frame).is_ok());
    }
    assert_eq!(receiver.step(), Some(5));
    // Step 0 is 5 behind (bits 0): it existed and is gone.
    assert_eq!(recv(&mut receiver, 0, &step_0), Err(Error::KeyExpired));
    // Bits 15 would be 6 behind, before step 0: no such step, so it can
    // only be a step too far ahead (10 ahead).
    let bits_15 = with_kid(&step_0, 15);
    assert_eq!(recv(&mut receiver, 0, &bits_15), Err(Error::TooFarAhead));
    // Bits 8: 3 ahead (one more than max_forward), or 13 behind.
    let bits_8 = with_kid(&step_0, 8);
    assert_eq!(recv(&mut receiver, 0, &bits_8), Err(Error::TooFarAhead));
    let stats = receiver.stats();
    assert_eq!((stats.key_expired, stats.too_far_ahead), (1, 2));
}

#[test]
fn a_replay_window_ignores_a_counter_one_past_its_full_width() {
    // At full width, the counter exactly `width` below the highest is the
    // first one outside: recording it must neither panic (there is no bit
    // for it) nor make it, or anything, acceptable again.
    let mut window = ReplayWindow::<2>::new();
    window.record(Counter(500));
    window.record(Counter(500 - 128));
    assert_eq!(window.check(Counter(500 - 128)), Err(Error::Replayed));
    assert_eq!(window.check(Counter(500 - 127)), Ok(()));
    assert_eq!(window.highest(), Some(Counter(500)));
    // The same, one word wide.
    let mut narrow = ReplayWindow::<1>::new();
    narrow.record(Counter(64));
    narrow.record(Counter(0));
    assert_eq!(narrow.check(Counter(0)), Err(Error::Replayed));
    assert_eq!(narrow.check(Counter(1)), Ok(()));
}

#[test]
fn max_overhead_is_the_longest_header_and_the_tag() {
    for suite in CipherSuite::ALL {
        assert_eq!(
            max_overhead(suite),
            Header::MAX_LEN + suite.tag_len(),
            "{suite}"
        );
        // And it is enough: the longest header, a full tag.
        let mut sender = Sender::resume(suite, KeyId(u64::MAX), key(6), Counter(u64::MAX));
        let frame = sender.seal_to_vec(b"", b"12345").expect("seal");
        assert_eq!(frame.len(), 5 + max_overhead(suite), "{suite}");
    }
    assert_eq!(max_overhead(CipherSuite::Aes128GcmSha256_128), 17 + 16);
    assert_eq!(max_overhead(CipherSuite::Aes128CtrHmacSha256_32), 17 + 4);
}

#[test]
fn ids_convert_from_their_integers() {
    assert_eq!(KeyId::from(0xdead_beef), KeyId(0xdead_beef));
    assert_eq!(KeyId::from(u64::MAX).0, u64::MAX);
    assert_eq!(Counter::from(42), Counter(42));
    assert_eq!(Counter::from(u64::MAX).0, u64::MAX);
    assert_ne!(KeyId::from(1), KeyId::default());
    assert_ne!(Counter::from(1), Counter::default());
}

#[test]
fn debug_output_names_what_a_holder_holds() {
    // Stores list their KIDs in order.
    let mut fixed = Receiver::<FixedKeyStore<4>>::new();
    let mut growable = Receiver::<VecKeyStore>::new();
    for kid in [42, 7] {
        fixed.add_key(SUITE, KeyId(kid), key(1)).expect("room");
        growable.add_key(SUITE, KeyId(kid), key(1)).expect("room");
    }
    for debug in [format!("{fixed:?}"), format!("{growable:?}")] {
        assert!(debug.contains("[KeyId(7), KeyId(42)]"), "{debug}");
        assert!(debug.contains("Some(128)"), "{debug}");
    }
    // A window shows its highest counter and width.
    let mut window = ReplayWindow::<1>::with_width(40).expect("width");
    window.record(Counter(5));
    let debug = format!("{window:?}");
    assert!(
        debug.contains("Some(Counter(5))") && debug.contains("40"),
        "{debug}"
    );
    // Ratchet holders show where they are, and never the key.
    let mut sender = RatchetingSender::new(SUITE, bits(4), 3, key(2)).expect("sender");
    sender.ratchet();
    let debug = format!("{sender:?}");
    assert!(
        debug.contains("generation: 3") && debug.contains("step: 1"),
        "{debug}"
    );
    let share = format!("{:?}", sender.share());
    assert!(
        share.contains("generation: 3") && share.contains("BaseKey(<redacted>)"),
        "{share}"
    );
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(4));
    receiver.install_share(sender.share(), 0).expect("key");
    let debug = format!("{receiver:?}");
    for field in [
        "max_forward: 15",
        "generation: Some(3)",
        "step: Some(1)",
        "previous: 0",
    ] {
        assert!(debug.contains(field), "{debug} lacks {field}");
    }
}

#[test]
fn sealed_and_opened_report_their_ranges_and_lengths() {
    let (mut sender, share) = Sender::with_share(SUITE, KeyId(1), key(9));
    let mut receiver = Receiver::<FixedKeyStore<2>>::new();
    receiver.add_share(share).expect("room");
    let mut wire = [0u8; 64];
    let sealed = sender.seal(b"", b"frame", &mut wire).expect("seal");
    assert_eq!((sealed.frame(), sealed.len()), (0..22, 22));
    assert!(!sealed.is_empty());
    let mut out = [0u8; 64];
    let opened = receiver.open(b"", &wire[..22], &mut out).expect("open");
    assert_eq!((opened.plaintext(), opened.len()), (0..5, 5));
    assert!(!opened.is_empty());

    // In place, the plaintext starts after the header.
    let mut buf = [0u8; 64];
    buf[17..22].copy_from_slice(b"again");
    let sealed = sender.seal_in_place(b"", &mut buf, 17..22).expect("seal");
    assert_eq!((sealed.frame(), sealed.len()), (16..38, 22));
    let opened = receiver
        .open_in_place(b"", &mut buf[sealed.frame()])
        .expect("open");
    assert_eq!((opened.plaintext(), opened.len()), (1..6, 5));

    // An empty frame opens to nothing.
    let empty = sender.seal_to_vec(b"", b"").expect("seal");
    let (opened, plaintext) = receiver.open_to_vec(b"", &empty).expect("open");
    assert!(opened.is_empty() && plaintext.is_empty());
    assert_eq!(opened.len(), 0);
}

#[test]
fn a_receiver_says_whether_it_rejects_replays() {
    let receiver: Receiver<FixedKeyStore<1>> = Receiver::new();
    assert!(
        receiver.rejects_replays(),
        "replay protection is on by default"
    );
    assert!(!receiver.without_replay_protection().rejects_replays());
    let widened: Receiver<FixedKeyStore<1>> =
        Receiver::new().with_replay_window(64).expect("width");
    assert!(widened.rejects_replays());
}

#[test]
fn both_stores_answer_whether_they_hold_a_key() {
    let mut fixed: Receiver<FixedKeyStore<2>> = Receiver::new();
    let mut growing: Receiver<VecKeyStore> = Receiver::new();
    fixed.add_key(SUITE, KeyId(7), key(7)).expect("add");
    growing.add_key(SUITE, KeyId(7), key(7)).expect("add");
    assert!(fixed.has_key(KeyId(7)) && growing.has_key(KeyId(7)));
    assert!(!fixed.has_key(KeyId(8)) && !growing.has_key(KeyId(8)));
    assert!(fixed.remove_key(KeyId(7)) && growing.remove_key(KeyId(7)));
    assert!(!fixed.has_key(KeyId(7)) && !growing.has_key(KeyId(7)));
}

#[test]
fn an_encoded_header_shows_its_bytes() {
    let encoded = Header::new(KeyId(0x123), Counter(0x4567)).encode();
    assert_eq!(
        format!("{encoded:?}"),
        "EncodedHeader([153, 1, 35, 69, 103])"
    );
}

#[test]
fn a_share_names_its_generation_and_step_and_wipes_its_key() {
    use zeroize::Zeroize;

    let mut sender = RatchetingSender::new(SUITE, bits(4), 0, key(1)).expect("sender");
    sender.rekey(key(2)).expect("rekey");
    sender.rekey(key(3)).expect("rekey");
    sender.ratchet();
    sender.ratchet();
    let mut share = sender.share();
    assert_eq!((share.generation(), share.step()), (2, 2));
    assert!(share.expose_secret().iter().any(|&b| b != 0));
    share.zeroize();
    assert!(
        share.expose_secret().iter().all(|&b| b == 0),
        "zeroize wipes the base key"
    );
}

#[test]
fn max_forward_is_capped_at_exactly_max_forward() {
    // R = 8 lets the step bits tell 255 steps apart: the cap is the
    // documented MAX_FORWARD, not the KID width.
    let max = RatchetingReceiver::<4>::MAX_FORWARD;
    assert!(max < 255);
    let receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
    assert!(receiver.with_max_forward(max).is_ok());
    let receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
    assert_eq!(
        receiver.with_max_forward(max + 1).err(),
        Some(Error::InvalidParameter)
    );
    // R = 6: 63 steps are told apart, and 63 is allowed; 64 is not.
    assert!(
        RatchetingReceiver::<4>::new(SUITE, bits(6))
            .with_max_forward(63)
            .is_ok()
    );
    assert_eq!(
        RatchetingReceiver::<4>::new(SUITE, bits(6))
            .with_max_forward(64)
            .err(),
        Some(Error::InvalidParameter)
    );
}

#[test]
fn a_share_for_another_suite_or_r_is_refused() {
    let sender = RatchetingSender::new(SUITE, bits(4), 0, key(1)).expect("sender");
    let mut other_suite = RatchetingReceiver::<4>::new(CipherSuite::Aes256GcmSha512_128, bits(4));
    assert_eq!(
        other_suite.install_share(sender.share(), 0),
        Err(Error::InvalidParameter)
    );
    let mut other_r = RatchetingReceiver::<4>::new(SUITE, bits(5));
    assert_eq!(
        other_r.install_share(sender.share(), 0),
        Err(Error::InvalidParameter)
    );
    let mut same = RatchetingReceiver::<4>::new(SUITE, bits(4));
    assert_eq!(same.install_share(sender.share(), 0), Ok(()));
}

#[test]
fn the_chain_keeps_every_step_in_reach_after_moving_forward() {
    // A receiver moved forward a step at a time still holds the key of the
    // step `max_forward` ahead: moving on wipes only the steps it passed.
    for moves in 1..=3 {
        let mut sender = RatchetingSender::new(SUITE, bits(8), 0, key(5)).expect("sender");
        let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
        receiver.install_share(sender.share(), 0).expect("key");
        for step in 1..=moves {
            sender.ratchet();
            let frame = send(&mut sender, "next");
            assert_eq!(
                recv(&mut receiver, 0, &frame).as_deref(),
                Ok("next"),
                "step {step}"
            );
        }
        for _ in 0..RatchetingReceiver::<4>::MAX_FORWARD {
            sender.ratchet();
        }
        let far = send(&mut sender, "far");
        assert_eq!(
            recv(&mut receiver, 0, &far).as_deref(),
            Ok("far"),
            "after {moves} moves"
        );
    }
}

#[test]
fn a_holder_at_a_time_reports_it() {
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
    assert_eq!(receiver.at(1_234).now_ms(), 1_234);
    let mut manager = EpochManager::<2, 4>::new(SUITE, 4).expect("manager");
    assert_eq!(manager.at(77).now_ms(), 77);
}

/// `frame` with its KID rewritten to `kid` (the tag no longer matches).
fn with_kid(frame: &[u8], kid: u64) -> Vec<u8> {
    let header = Header::parse(frame).expect("header");
    let new = Header::new(KeyId(kid), header.ctr()).encode();
    [new.as_bytes(), &frame[header.len()..]].concat()
}
