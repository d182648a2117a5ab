//! RFC 9605 §5.2 with a real MLS group (`openmls`): three members exchange
//! frames; a fourth joins (new epoch, everyone decrypts everyone); one is
//! removed (new epoch) and can decrypt nothing of it.

#[path = "../examples/support/mls_member.rs"]
mod mls_member;

use framecrypt::{Error, Header, KeyId};
use mls_member::{EPOCH_BITS, Member, Processed};

/// Every member sends one frame; every other member must decrypt it.
fn everyone_hears_everyone(members: &mut [&mut Member], now: u64) {
    let frames: Vec<(usize, String, Vec<u8>)> = members
        .iter_mut()
        .enumerate()
        .map(|(i, m)| {
            let text = format!("{} at epoch {}", m.name, m.epoch());
            let frame = m.send(&text);
            (i, text, frame)
        })
        .collect();
    for (from, text, frame) in &frames {
        for (to, member) in members.iter_mut().enumerate() {
            if to != *from {
                assert_eq!(
                    member.receive(now, frame).as_deref(),
                    Ok(text.as_str()),
                    "{} decrypts {text:?}",
                    member.name
                );
            }
        }
    }
}

fn kid_of(frame: &[u8]) -> KeyId {
    Header::parse(frame).expect("header").kid()
}

#[test]
fn a_real_mls_group_keys_sframe_through_joins_and_a_removal() {
    let mut alice = Member::new("alice");
    let mut bob = Member::new("bob");
    let mut carol = Member::new("carol");
    let mut dave = Member::new("dave");

    // Three members: epoch 1.
    alice.create_group(0);
    assert_eq!(alice.epoch(), 0);
    let (_, welcome) = alice.add(&[bob.key_package(), carol.key_package()], 10);
    bob.join(welcome.clone(), 10);
    carol.join(welcome, 10);
    for m in [&alice, &bob, &carol] {
        assert_eq!(m.epoch(), 1, "{}", m.name);
    }
    let indices = [alice.index(), bob.index(), carol.index()];
    assert_eq!(indices, [0, 1, 2]);
    everyone_hears_everyone(&mut [&mut alice, &mut bob, &mut carol], 20);

    // The KID carries the sender's index above E epoch bits (S = 2 for
    // three leaves).
    let probe = bob.send("probe");
    assert_eq!(kid_of(&probe), KeyId((1 << EPOCH_BITS) | 1));
    let late_from_epoch_1 = carol.send("late from epoch 1");

    // Dave joins: epoch 2.
    let (commit, welcome) = alice.add(&[dave.key_package()], 30);
    assert_eq!(bob.process(&commit, 30), Processed::NewEpoch(2));
    assert_eq!(carol.process(&commit, 30), Processed::NewEpoch(2));
    dave.join(welcome, 30);
    assert_eq!(dave.index(), 3);
    everyone_hears_everyone(&mut [&mut alice, &mut bob, &mut carol, &mut dave], 40);
    // Epoch 1 is retained for late frames.
    assert_eq!(
        bob.receive(45, &late_from_epoch_1).as_deref(),
        Ok("late from epoch 1")
    );
    // Dave was not in epoch 1: its frames are not his to read.
    assert!(dave.receive(45, &late_from_epoch_1).is_err());

    // Carol (index 2) is removed: epoch 3.
    let commit = alice.remove(carol.index(), 50);
    assert_eq!(bob.process(&commit, 50), Processed::NewEpoch(3));
    assert_eq!(dave.process(&commit, 50), Processed::NewEpoch(3));
    assert_eq!(carol.process(&commit, 50), Processed::Removed);
    everyone_hears_everyone(&mut [&mut alice, &mut bob, &mut dave], 60);

    // Carol holds epochs 1 and 2 only: nothing of epoch 3 decrypts.
    let after_removal = [
        alice.send("alice after carol left"),
        bob.send("bob after carol left"),
        dave.send("dave after carol left"),
    ];
    for frame in &after_removal {
        let kid = Header::parse(frame).expect("header").kid();
        assert_eq!(carol.receive(70, frame), Err(Error::UnknownKeyId(kid)));
    }
    assert!(!carol.epochs.has_epoch(3));
    assert_eq!(carol.epochs.newest_epoch(), Some(2));
    // ...and she cannot get the key: her group no longer exports.
    assert_eq!(carol.enter_current_epoch(70), Err(Error::ExportFailed));
    assert_eq!(carol.epochs.newest_epoch(), Some(2));

    // The remaining members' counters name who sent what.
    let carol_at_bob = bob.epochs.stats(2).expect("carol's frames were seen");
    assert_eq!(carol_at_bob.ok, 3, "epochs 1 and 2, plus the late frame");
    let alice_at_dave = dave.epochs.stats(0).expect("alice seen");
    assert_eq!(alice_at_dave.ok, 2);
    assert_eq!(alice_at_dave.failures(), 0);
}
