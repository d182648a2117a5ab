//! Behaviour of RFC 9605 §5.1 sender keys under loss, reordering,
//! duplication, forgery, generation changes and key retention.

use crate::common::{kid_of, seal};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Error, KeyId, RatchetBits, RatchetingReceiver, RatchetingSender,
    Retention, ratchet_forward,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

fn key(byte: u8) -> BaseKey {
    BaseKey::new(&[byte; 16]).expect("length")
}

fn bits(r: u32) -> RatchetBits {
    RatchetBits::new(r).expect("R")
}

/// A sender at generation 0 and a receiver holding its key.
fn pair(r: u32) -> (RatchetingSender, RatchetingReceiver<4>) {
    let sender = RatchetingSender::new(SUITE, bits(r), 0, key(1)).expect("sender");
    let mut receiver = RatchetingReceiver::new(SUITE, bits(r));
    receiver.install_key(0, 0, key(1), 0).expect("first key");
    (sender, receiver)
}

fn recv<const N: usize>(
    receiver: &mut RatchetingReceiver<N>,
    now: u64,
    frame: &[u8],
) -> Result<String, Error> {
    let mut out = vec![0; frame.len()];
    let decrypted = receiver.at(now).open(b"", frame, &mut out)?;
    Ok(String::from_utf8(out[decrypted.plaintext()].to_vec()).expect("utf-8"))
}

/// `frame` with its KID rewritten to `kid` (the tag no longer matches).
fn with_kid(frame: &[u8], kid: u64) -> Vec<u8> {
    let header = framecrypt::Header::parse(frame).expect("header");
    let body = &frame[header.len()..];
    let new = framecrypt::Header::new(KeyId(kid), header.ctr()).encode();
    [new.as_bytes(), body].concat()
}

#[test]
fn ratchet_consumes_the_base_key_and_moves_the_kid() {
    let (mut sender, _) = pair(4);
    let before = BaseKey::new(sender.share().expose_secret()).expect("copy");
    sender.ratchet();
    assert_eq!(sender.step(), 1);
    assert_eq!(sender.kid(), KeyId(1));
    assert_eq!(
        BaseKey::new(sender.share().expose_secret()).expect("key"),
        ratchet_forward(SUITE, before)
    );
    assert_eq!(sender.share().expose_secret().len(), 32, "Nh");
    assert_eq!(sender.next_counter().map(|c| c.0), Some(0), "fresh key");

    // Steps wrap modulo 2^R in the KID, the generation sits above them.
    for _ in 1..16 {
        sender.ratchet();
    }
    assert_eq!(sender.step(), 16);
    assert_eq!(sender.kid(), KeyId(0));
    sender.rekey(key(2)).expect("generation 1");
    assert_eq!((sender.generation(), sender.step()), (1, 0));
    assert_eq!(sender.kid(), KeyId(0x10));
    assert_eq!(
        BaseKey::new(sender.share().expose_secret()).expect("key"),
        key(2)
    );
}

#[test]
fn receiver_follows_the_sender_and_keeps_late_frames_of_earlier_steps() {
    let (mut sender, mut receiver) = pair(8);
    let a0 = seal(&mut sender, b"", "a0".as_bytes());
    let a1 = seal(&mut sender, b"", "a1".as_bytes());
    sender.ratchet();
    let b0 = seal(&mut sender, b"", "b0".as_bytes());
    let b1 = seal(&mut sender, b"", "b1".as_bytes());
    sender.ratchet();
    let c0 = seal(&mut sender, b"", "c0".as_bytes());

    // Reordered across two ratchet steps.
    assert_eq!(recv(&mut receiver, 0, &a0).as_deref(), Ok("a0"));
    assert_eq!(recv(&mut receiver, 1, &b0).as_deref(), Ok("b0"));
    assert_eq!(receiver.step(), Some(1));
    assert_eq!(recv(&mut receiver, 2, &c0).as_deref(), Ok("c0"));
    assert_eq!(receiver.step(), Some(2));
    assert_eq!(recv(&mut receiver, 3, &a1).as_deref(), Ok("a1"));
    assert_eq!(recv(&mut receiver, 4, &b1).as_deref(), Ok("b1"));
    assert_eq!(receiver.key_count(), 3);
    assert_eq!(receiver.stats().ok, 5);
}

#[test]
fn skipped_steps_are_derived_and_retained_for_their_late_frames() {
    let (mut sender, mut receiver) = pair(8);
    sender.ratchet();
    let step1 = seal(&mut sender, b"", "step 1".as_bytes());
    sender.ratchet();
    sender.ratchet();
    let step3 = seal(&mut sender, b"", "step 3".as_bytes());

    // The receiver jumps from step 0 to step 3 on the first frame it sees.
    assert_eq!(recv(&mut receiver, 0, &step3).as_deref(), Ok("step 3"));
    assert_eq!(receiver.step(), Some(3));
    // Steps 0 (superseded), 1 and 2 (skipped) are retained.
    assert_eq!(receiver.previous_count(), 3);
    assert_eq!(recv(&mut receiver, 1, &step1).as_deref(), Ok("step 1"));
}

#[test]
fn in_place_decryption_ratchets_too() {
    let (mut sender, mut receiver) = pair(8);
    sender.ratchet();
    let mut frame = seal(&mut sender, b"", "in place".as_bytes());
    let decrypted = receiver
        .at(0)
        .open_in_place(b"", &mut frame)
        .expect("decrypt");
    assert_eq!(&frame[decrypted.plaintext()], b"in place");
    assert_eq!(receiver.step(), Some(1));
}

#[test]
fn lost_steps_are_bridged_up_to_max_forward_and_no_further() {
    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver.with_max_forward(3).expect("limit");
    for _ in 0..4 {
        sender.ratchet();
    }
    let step4 = seal(&mut sender, b"", "step 4".as_bytes());
    assert_eq!(recv(&mut receiver, 0, &step4), Err(Error::TooFarAhead));
    assert_eq!(receiver.step(), Some(0), "nothing derived into the state");
    assert_eq!(receiver.key_count(), 1);
    assert_eq!(receiver.stats().too_far_ahead, 1);

    let (mut sender, mut receiver) = pair(8);
    for _ in 0..60 {
        sender.ratchet();
    }
    let step60 = seal(&mut sender, b"", "step 60".as_bytes());
    assert_eq!(recv(&mut receiver, 0, &step60).as_deref(), Ok("step 60"));
    assert_eq!(receiver.step(), Some(60));
}

#[test]
fn default_forward_limit_is_2_pow_r_minus_1_capped_at_64() {
    let small = RatchetingReceiver::<4>::new(SUITE, bits(3));
    assert_eq!(small.max_forward(), 7);
    let large = RatchetingReceiver::<4>::new(SUITE, bits(16));
    assert_eq!(large.max_forward(), 64);
    assert_eq!(
        RatchetingReceiver::<4>::DEFAULT_MAX_FORWARD_CAP,
        large.max_forward()
    );
    assert_eq!(
        small.with_max_forward(8).map(|r| r.max_forward()),
        Err(Error::InvalidParameter)
    );
}

#[test]
fn duplicates_are_accepted_once_under_every_retained_key() {
    let (mut sender, mut receiver) = pair(8);
    let a0 = seal(&mut sender, b"", "a0".as_bytes());
    sender.ratchet();
    let b0 = seal(&mut sender, b"", "b0".as_bytes());
    let b1 = seal(&mut sender, b"", "b1".as_bytes());

    assert!(recv(&mut receiver, 0, &a0).is_ok());
    assert!(recv(&mut receiver, 0, &b1).is_ok());
    assert!(recv(&mut receiver, 0, &b0).is_ok(), "reordered, first copy");
    assert_eq!(recv(&mut receiver, 0, &b0), Err(Error::Replayed));
    assert_eq!(recv(&mut receiver, 0, &b1), Err(Error::Replayed));
    assert_eq!(
        recv(&mut receiver, 0, &a0),
        Err(Error::Replayed),
        "retained key"
    );
    let stats = receiver.stats();
    assert_eq!((stats.ok, stats.replayed), (3, 3));
}

#[test]
fn a_forged_kid_advances_nothing_and_evicts_nothing() {
    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver
        .with_retention(Retention {
            max_previous: 2,
            max_age_ms: 1_000,
        })
        .expect("retention");
    let mut frames = Vec::new();
    for step in 0..3 {
        frames.push(seal(&mut sender, b"", format!("step {step}").as_bytes()));
        sender.ratchet();
    }
    for frame in &frames {
        recv(&mut receiver, 0, frame).expect("genuine");
    }
    assert_eq!((receiver.step(), receiver.previous_count()), (Some(2), 2));

    // A genuine step-2 frame relabelled as step 3, 5 and 67: each would
    // make the receiver ratchet and retire keys if it were believed; 67 is
    // beyond the 64-step forward limit.
    for forged_step in [3, 5, 67] {
        let forged = with_kid(&frames[2], forged_step);
        let result = recv(&mut receiver, 5, &forged);
        let expected = if forged_step - 2 > 64 {
            Error::TooFarAhead
        } else {
            Error::AuthenticationFailed
        };
        assert_eq!(result, Err(expected), "step {forged_step}");
        assert_eq!(receiver.step(), Some(2));
        assert_eq!(receiver.previous_count(), 2);
    }
    // Garbage under a future generation's KID.
    let garbage = with_kid(&[0u8; 40], 1 << 8);
    assert_eq!(
        recv(&mut receiver, 5, &garbage),
        Err(Error::UnknownKeyId(kid_of(&garbage)))
    );

    // Everything genuine still works: the retained steps and the future.
    let next = seal(&mut sender, b"", "step 3".as_bytes());
    assert_eq!(recv(&mut receiver, 6, &next).as_deref(), Ok("step 3"));
    let stats = receiver.stats();
    assert_eq!(stats.authentication_failed, 2);
    assert_eq!(stats.too_far_ahead, 1);
    assert_eq!(stats.unknown_key_id, 1);
}

#[test]
fn a_forged_frame_does_not_burn_its_counter() {
    let (mut sender, mut receiver) = pair(8);
    let genuine = seal(&mut sender, b"", "genuine".as_bytes());
    let mut forged = genuine.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        recv(&mut receiver, 0, &forged),
        Err(Error::AuthenticationFailed)
    );
    // The window was not updated: the real frame with that CTR is accepted.
    assert_eq!(recv(&mut receiver, 0, &genuine).as_deref(), Ok("genuine"));
}

#[test]
fn retention_by_count_erases_the_oldest_steps() {
    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver
        .with_retention(Retention {
            max_previous: 2,
            max_age_ms: u64::MAX,
        })
        .expect("retention");
    let mut late = Vec::new();
    for step in 0..5 {
        let first = seal(&mut sender, b"", format!("step {step}").as_bytes());
        late.push(seal(&mut sender, b"", format!("late {step}").as_bytes()));
        recv(&mut receiver, 0, &first).expect("genuine");
        sender.ratchet();
    }
    assert_eq!(receiver.step(), Some(4));
    assert_eq!(receiver.key_count(), 3, "current + 2");
    // Steps 0..=1 are erased, 2..=3 retained, 4 current.
    for (step, frame) in late.iter().enumerate() {
        let expected = if step < 2 {
            Err(Error::KeyExpired)
        } else {
            Ok(format!("late {step}"))
        };
        assert_eq!(recv(&mut receiver, 0, frame), expected, "step {step}");
    }
}

#[test]
fn retention_by_time_erases_superseded_keys() {
    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver
        .with_retention(Retention {
            max_previous: 3,
            max_age_ms: 100,
        })
        .expect("retention");
    let a0 = seal(&mut sender, b"", "a0".as_bytes());
    let a1 = seal(&mut sender, b"", "a1".as_bytes());
    let a2 = seal(&mut sender, b"", "a2".as_bytes());
    sender.ratchet();
    let b0 = seal(&mut sender, b"", "b0".as_bytes());

    recv(&mut receiver, 1_000, &a0).expect("genuine");
    recv(&mut receiver, 1_010, &b0).expect("step 0 superseded at 1010");
    assert_eq!(recv(&mut receiver, 1_109, &a1).as_deref(), Ok("a1"));
    assert_eq!(receiver.key_count(), 2);
    assert_eq!(recv(&mut receiver, 1_110, &a2), Err(Error::KeyExpired));
    assert_eq!(receiver.key_count(), 1, "the expired key is gone");
    assert_eq!(receiver.stats().key_expired, 1);
}

#[test]
fn expire_erases_keys_without_traffic() {
    let (mut sender, mut receiver) = pair(8);
    for _ in 0..3 {
        let frame = seal(&mut sender, b"", "x".as_bytes());
        recv(&mut receiver, 0, &frame).expect("genuine");
        sender.ratchet();
    }
    assert_eq!(receiver.key_count(), 3);
    receiver.expire(Retention::DEFAULT.max_age_ms - 1);
    assert_eq!(receiver.key_count(), 3);
    receiver.expire(Retention::DEFAULT.max_age_ms);
    assert_eq!(receiver.key_count(), 1, "only the current key is left");

    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver.with_retention(Retention::NONE).expect("none");
    let a = seal(&mut sender, b"", "a".as_bytes());
    sender.ratchet();
    let b = seal(&mut sender, b"", "b".as_bytes());
    recv(&mut receiver, 0, &b).expect("genuine");
    assert_eq!(receiver.key_count(), 1);
    assert_eq!(recv(&mut receiver, 0, &a), Err(Error::KeyExpired));
}

#[test]
fn a_new_generation_keeps_the_old_one_for_a_while() {
    let (mut sender, mut receiver) = pair(8);
    let old = seal(&mut sender, b"", "old".as_bytes());
    let old_late = seal(&mut sender, b"", "old late".as_bytes());
    recv(&mut receiver, 0, &old).expect("genuine");

    sender.rekey(key(9)).expect("generation 1");
    let new = seal(&mut sender, b"", "new".as_bytes());
    // The new generation's key has not arrived yet.
    assert_eq!(
        recv(&mut receiver, 10, &new),
        Err(Error::UnknownKeyId(kid_of(&new)))
    );
    receiver.install_key(1, 0, key(9), 20).expect("newer");
    assert_eq!(receiver.generation(), Some(1));
    assert_eq!(recv(&mut receiver, 30, &new).as_deref(), Ok("new"));
    assert_eq!(
        recv(&mut receiver, 40, &old_late).as_deref(),
        Ok("old late")
    );
    assert_eq!(receiver.key_count(), 2);

    // Generation 0 expires like any superseded key.
    receiver.expire(20 + Retention::DEFAULT.max_age_ms);
    assert_eq!(receiver.key_count(), 1);
    assert_eq!(
        recv(&mut receiver, 20 + Retention::DEFAULT.max_age_ms, &old),
        Err(Error::KeyExpired)
    );
}

#[test]
fn forged_kids_across_a_generation_change_change_nothing() {
    let (mut sender, mut receiver) = pair(8);
    let old = seal(&mut sender, b"", "old".as_bytes());
    recv(&mut receiver, 0, &old).expect("genuine");
    sender.rekey(key(9)).expect("generation 1");
    receiver.install_key(1, 0, key(9), 0).expect("newer");
    let new = seal(&mut sender, b"", "new".as_bytes());

    // Generation-1 frame relabelled to generation 0 step 1 (a forward step
    // of the old generation) and to generation 2.
    for kid in [1, 2 << 8] {
        let forged = with_kid(&new, kid);
        assert!(recv(&mut receiver, 1, &forged).is_err());
        assert_eq!((receiver.generation(), receiver.step()), (Some(1), Some(0)));
        assert_eq!(receiver.key_count(), 2);
    }
    assert_eq!(recv(&mut receiver, 2, &new).as_deref(), Ok("new"));
}

#[test]
fn stale_keys_are_refused() {
    let (_, mut receiver) = pair(8);
    receiver.install_key(2, 5, key(3), 0).expect("newer");
    for (generation, step) in [(1, 9), (2, 4), (2, 5)] {
        assert_eq!(
            receiver.install_key(generation, step, key(4), 0),
            Err(Error::StaleKey),
            "({generation}, {step})"
        );
    }
    assert_eq!((receiver.generation(), receiver.step()), (Some(2), Some(5)));
    // A later step of the same generation (e.g. announced to a joiner) is
    // fine.
    receiver.install_key(2, 6, key(5), 0).expect("newer step");
    assert_eq!(
        receiver.install_key(1 << 56, 0, key(5), 0),
        Err(Error::InvalidParameter),
        "generation beyond 64 - R bits"
    );
}

#[test]
fn a_receiver_without_a_key_knows_no_kid() {
    let (mut sender, _) = pair(8);
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
    let frame = seal(&mut sender, b"", "x".as_bytes());
    assert_eq!(
        recv(&mut receiver, 0, &frame),
        Err(Error::UnknownKeyId(kid_of(&frame)))
    );
    assert_eq!(receiver.key_count(), 0);
}

#[test]
fn stats_count_every_failure_kind_separately() {
    let (mut sender, receiver) = pair(8);
    let mut receiver = receiver.with_max_forward(2).expect("limit");
    let frame = seal(&mut sender, b"", "x".as_bytes());
    let second = seal(&mut sender, b"", "y".as_bytes());
    recv(&mut receiver, 0, &frame).expect("ok");
    let _ = recv(&mut receiver, 0, &frame); // replayed
    let _ = recv(&mut receiver, 0, &[]); // malformed
    let _ = recv(&mut receiver, 0, &frame[..2]); // too short: malformed
    let _ = recv(&mut receiver, 0, &with_kid(&frame, 1)); // authentication
    let _ = recv(&mut receiver, 0, &with_kid(&frame, 100)); // too far ahead
    let _ = recv(&mut receiver, 0, &with_kid(&frame, 7 << 8)); // unknown
    let stats = receiver.stats();
    assert_eq!(stats.ok, 1);
    assert_eq!(stats.replayed, 1);
    assert_eq!(stats.malformed, 2);
    assert_eq!(stats.authentication_failed, 1);
    assert_eq!(stats.too_far_ahead, 1);
    assert_eq!(stats.unknown_key_id, 1);
    assert_eq!(stats.failures(), 6);
    // A caller's own mistake is not the sender's failure.
    let mut tiny = [0u8; 0];
    assert_eq!(
        receiver.at(0).open(b"", &second, &mut tiny),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(receiver.stats(), stats);
    // ...and it did not burn the counter.
    assert_eq!(recv(&mut receiver, 0, &second).as_deref(), Ok("y"));
}

#[test]
fn with_few_step_bits_the_authenticating_key_decides() {
    // R = 1: step 2 carries the same KID bits as step 0. A late step-0
    // frame and a new step-2 frame must both be told apart.
    let (mut sender, mut receiver) = pair(1);
    let a0 = seal(&mut sender, b"", "a0".as_bytes());
    let a1 = seal(&mut sender, b"", "a1".as_bytes());
    sender.ratchet();
    let b0 = seal(&mut sender, b"", "b0".as_bytes());
    sender.ratchet();
    let c0 = seal(&mut sender, b"", "c0".as_bytes());

    assert!(recv(&mut receiver, 0, &a0).is_ok());
    assert!(recv(&mut receiver, 0, &b0).is_ok());
    assert_eq!(
        recv(&mut receiver, 0, &a1).as_deref(),
        Ok("a1"),
        "late step 0"
    );
    assert_eq!(recv(&mut receiver, 0, &c0).as_deref(), Ok("c0"), "step 2");
    assert_eq!(receiver.step(), Some(2));
    assert_eq!(
        recv(&mut receiver, 0, &a1),
        Err(Error::AuthenticationFailed)
    );
}

#[test]
fn the_replay_window_edge_holds_through_the_receiver() {
    let (mut sender, _) = pair(8);
    let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(8))
        .with_replay_window(16)
        .expect("width");
    receiver.install_key(0, 0, key(1), 0).expect("first key");
    let frames: Vec<Vec<u8>> = (0..40)
        .map(|i| seal(&mut sender, b"", format!("{i}").as_bytes()))
        .collect();
    // The first frame may be any counter: here CTR 39 arrives first.
    assert_eq!(recv(&mut receiver, 0, &frames[39]).as_deref(), Ok("39"));
    // 39 - 16 = 23 is just outside a 16-frame window, 24 just inside.
    assert_eq!(recv(&mut receiver, 0, &frames[23]), Err(Error::Replayed));
    assert_eq!(recv(&mut receiver, 0, &frames[24]).as_deref(), Ok("24"));
    assert_eq!(recv(&mut receiver, 0, &frames[24]), Err(Error::Replayed));
    assert_eq!(
        RatchetingReceiver::<4>::new(SUITE, bits(8))
            .with_replay_window(129)
            .map(|_| ()),
        Err(Error::InvalidParameter)
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Frames of four ratchet steps, in order: (step, frame).
    fn frames(per_step: &[usize]) -> Vec<(u64, Vec<u8>)> {
        let (mut sender, _) = pair(8);
        let mut frames = Vec::new();
        for (step, &n) in per_step.iter().enumerate() {
            for i in 0..n {
                frames.push((
                    step as u64,
                    seal(&mut sender, b"", format!("{step}.{i}").as_bytes()),
                ));
            }
            sender.ratchet();
        }
        frames
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Within the retention bounds (3 superseded steps kept), any
        /// delivery order with any duplicates decrypts every frame exactly
        /// once and ends at the newest step.
        #[test]
        fn any_order_with_duplicates_accepts_each_frame_once(
            per_step in proptest::collection::vec(1usize..5, 4),
            order in Just((0..20usize).collect::<Vec<_>>()).prop_shuffle(),
            duplicates in proptest::collection::vec(0usize..20, 0..10),
        ) {
            let frames = frames(&per_step);
            let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits(8));
            receiver.install_key(0, 0, key(1), 0).expect("first key");
            let mut delivered = vec![0u32; frames.len()];
            let schedule = order
                .iter()
                .chain(duplicates.iter())
                .map(|i| i % frames.len());
            for i in schedule {
                let result = recv(&mut receiver, 0, &frames[i].1);
                if delivered[i] == 0 {
                    prop_assert!(result.is_ok(), "frame {} of step {}: {:?}", i, frames[i].0, result);
                } else {
                    prop_assert_eq!(result, Err(Error::Replayed));
                }
                delivered[i] += 1;
            }
            // Every frame was delivered at least once by the shuffled order
            // (it covers 0..20, which wraps onto every index).
            prop_assert!(delivered.iter().all(|&n| n > 0));
            prop_assert_eq!(receiver.step(), Some(3));
            let stats = receiver.stats();
            prop_assert_eq!(stats.ok, frames.len() as u64);
            prop_assert_eq!(stats.failures(), stats.replayed);
        }
    }
}
