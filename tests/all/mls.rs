//! RFC 9605 §5.2: MLS KIDs (Figure 9), the epoch manager (rollover,
//! retention, zeroizing removal) and MLS senders, with a stand-in exporter.
//! `interop/tests/mls_openmls.rs` runs the same machinery over a real MLS
//! group.

use crate::common::{kid_of, seal};
use core::cell::RefCell;

use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, EpochManager, Error, KeyId, MLS_BASE_KEY_LABEL, MlsExporter,
    MlsKidLayout, MlsSender, Retention, mls_base_key,
};

const SUITE: CipherSuite = CipherSuite::Aes128CtrHmacSha256_80;

/// An exporter whose secret depends on the epoch only; records its calls.
struct StandIn {
    epoch: u64,
    calls: RefCell<Vec<(String, Vec<u8>, usize)>>,
}

impl StandIn {
    fn at(epoch: u64) -> Self {
        Self {
            epoch,
            calls: RefCell::new(Vec::new()),
        }
    }
}

impl MlsExporter for StandIn {
    fn export(&self, label: &str, context: &[u8], len: usize) -> Result<BaseKey, Error> {
        self.calls
            .borrow_mut()
            .push((label.to_owned(), context.to_vec(), len));
        let seed = self.epoch.to_le_bytes()[0].wrapping_mul(31);
        let bytes: Vec<u8> = (0..len).map(|i| seed ^ i.to_le_bytes()[0]).collect();
        BaseKey::new(&bytes)
    }
}

struct Failing;

impl MlsExporter for Failing {
    fn export(&self, _: &str, _: &[u8], _: usize) -> Result<BaseKey, Error> {
        Err(Error::ExportFailed)
    }
}

type Manager = EpochManager<4, 16>;

fn manager(epoch_bits: u32) -> Manager {
    Manager::new(SUITE, epoch_bits).expect("manager")
}

fn add(manager: &mut Manager, epoch: u64, group_size: u64, now: u64) {
    manager
        .add_epoch(epoch, group_size, &StandIn::at(epoch), now)
        .expect("newer epoch");
}

fn recv<const E: usize, const K: usize>(
    manager: &mut EpochManager<E, K>,
    now: u64,
    frame: &[u8],
) -> Result<String, Error> {
    let mut out = vec![0; frame.len()];
    let decrypted = manager.at(now).open(b"meta", frame, &mut out)?;
    Ok(String::from_utf8(out[decrypted.plaintext()].to_vec()).expect("utf-8"))
}

/// RFC 9605 Figure 9 (E = 4, S = 6 for 64 members), every KID.
const FIGURE_9: [(u64, u64, u64, u64); 9] = [
    // (epoch, sender index, context, KID)
    (14, 3, 0, 0x3e),
    (14, 7, 0, 0x7e),
    (14, 20, 0, 0x14e),
    (15, 3, 0, 0x3f),
    (15, 5, 0, 0x5f),
    (16, 2, 2, 0x820),
    (16, 2, 3, 0xc20),
    (17, 33, 0, 0x211),
    (17, 51, 0, 0x331),
];

#[test]
fn figure_9_kids_are_reproduced() {
    let layout = MlsKidLayout::for_group_size(4, 64).expect("layout");
    assert_eq!((layout.epoch_bits(), layout.sender_bits()), (4, 6));
    for (epoch, index, context, kid) in FIGURE_9 {
        assert_eq!(
            layout.kid(context, index, epoch),
            Ok(KeyId(kid)),
            "epoch {epoch} index {index} context {context}"
        );
        let fields = layout.fields(KeyId(kid));
        assert_eq!(
            (fields.context, fields.sender_index, fields.epoch_bits),
            (context, index, epoch % 16)
        );
    }
}

#[test]
fn figure_9_frames_carry_those_kids_and_decrypt() {
    // Figure 9 uses contexts 0, 2 and 3.
    let mut receiver = manager(4).with_contexts(4).expect("contexts");
    let mut checked = 0;
    for epoch in 14..=17 {
        add(&mut receiver, epoch, 64, epoch);
        for (_, index, context, kid) in FIGURE_9.iter().filter(|f| f.0 == epoch) {
            let mut sender = MlsSender::new(*index, *context);
            sender.enter_epoch(&receiver).expect("epoch");
            assert_eq!(sender.kid(), Some(KeyId(*kid)));
            let frame = seal(&mut sender, b"meta", "hello".as_bytes());
            assert_eq!(kid_of(&frame), KeyId(*kid));
            assert_eq!(recv(&mut receiver, epoch, &frame).as_deref(), Ok("hello"));
            checked += 1;
        }
    }
    assert_eq!(checked, FIGURE_9.len());
}

#[test]
fn base_key_comes_from_the_rfc_exporter_call() {
    let exporter = StandIn::at(3);
    for suite in CipherSuite::ALL {
        let key = mls_base_key(&exporter, suite).expect("export");
        assert_eq!(key.expose_secret().len(), suite.key_len(), "Nk of {suite}");
    }
    for (label, context, len) in exporter.calls.borrow().iter() {
        assert_eq!(label, "SFrame 1.0 Base Key");
        assert_eq!(label, MLS_BASE_KEY_LABEL);
        assert!(context.is_empty());
        assert!([16, 32, 48, 96].contains(len));
    }
    let mut receiver = manager(4);
    assert_eq!(
        receiver.add_epoch(1, 2, &Failing, 0),
        Err(Error::ExportFailed)
    );
    assert_eq!(receiver.epoch_count(), 0);
}

#[test]
fn members_decrypt_each_other_under_the_shared_epoch_key() {
    let mut alice_epochs = manager(8);
    let mut bob_epochs = manager(8);
    add(&mut alice_epochs, 1, 2, 0);
    add(&mut bob_epochs, 1, 2, 0);
    let mut alice = MlsSender::new(0, 0);
    let mut bob = MlsSender::new(1, 0);
    alice.enter_epoch(&alice_epochs).expect("epoch");
    bob.enter_epoch(&bob_epochs).expect("epoch");
    assert_ne!(alice.kid(), bob.kid(), "one KID per member");

    let from_alice = seal(&mut alice, b"meta", "from alice".as_bytes());
    let from_bob = seal(&mut bob, b"meta", "from bob".as_bytes());
    assert_eq!(
        recv(&mut bob_epochs, 0, &from_alice).as_deref(),
        Ok("from alice")
    );
    assert_eq!(
        recv(&mut alice_epochs, 0, &from_bob).as_deref(),
        Ok("from bob")
    );
    assert_eq!(bob_epochs.stats(0).map(|s| s.ok), Some(1));
    assert_eq!(alice_epochs.stats(1).map(|s| s.ok), Some(1));
}

#[test]
fn rollover_removes_the_old_epoch_with_the_same_low_bits() {
    // E = 2: epoch 4 has the low bits of epoch 0.
    let mut receiver = manager(2)
        .with_retention(Retention {
            max_previous: 3,
            max_age_ms: u64::MAX,
        })
        .expect("retention");
    let mut sender = MlsSender::new(1, 0);
    let mut first_frames = Vec::new();
    for epoch in 0..4 {
        add(&mut receiver, epoch, 2, 0);
        sender.enter_epoch(&receiver).expect("epoch");
        let frame = seal(&mut sender, b"meta", format!("epoch {epoch}").as_bytes());
        assert!(recv(&mut receiver, 0, &frame).is_ok());
        first_frames.push(seal(
            &mut sender,
            b"meta",
            format!("late {epoch}").as_bytes(),
        ));
    }
    assert_eq!((receiver.epoch_count(), receiver.key_count()), (4, 4));

    add(&mut receiver, 4, 2, 0);
    assert!(!receiver.has_epoch(0), "§5.2 MUST remove epoch 0");
    assert_eq!(receiver.epoch_count(), 4);
    assert_eq!(receiver.key_count(), 3, "epoch 0's sender key is erased");
    // Epoch 0's late frame now names epoch 4 and fails to authenticate.
    assert_eq!(
        recv(&mut receiver, 0, &first_frames[0]),
        Err(Error::AuthenticationFailed)
    );
    for (epoch, frame) in first_frames.iter().enumerate().skip(1) {
        assert_eq!(recv(&mut receiver, 0, frame), Ok(format!("late {epoch}")));
    }
}

#[test]
fn retention_by_count_keeps_the_newest_epochs() {
    let mut receiver = manager(8)
        .with_retention(Retention {
            max_previous: 1,
            max_age_ms: u64::MAX,
        })
        .expect("retention");
    let mut sender = MlsSender::new(0, 0);
    let mut frames = Vec::new();
    for epoch in 1..=3 {
        add(&mut receiver, epoch, 1, 0);
        sender.enter_epoch(&receiver).expect("epoch");
        frames.push(seal(
            &mut sender,
            b"meta",
            format!("epoch {epoch}").as_bytes(),
        ));
    }
    assert_eq!(receiver.epoch_count(), 2);
    assert_eq!(recv(&mut receiver, 0, &frames[0]), Err(Error::KeyExpired));
    assert_eq!(recv(&mut receiver, 0, &frames[1]).as_deref(), Ok("epoch 2"));
    assert_eq!(recv(&mut receiver, 0, &frames[2]).as_deref(), Ok("epoch 3"));
    assert_eq!(
        Manager::new(SUITE, 8)
            .and_then(|m| m.with_retention(Retention {
                max_previous: 4,
                max_age_ms: 0
            }))
            .map(|_| ()),
        Err(Error::InvalidParameter),
        "EPOCHS - 1 superseded epochs at most"
    );
}

#[test]
fn retention_by_time_erases_superseded_epochs_and_their_keys() {
    let mut receiver = manager(8)
        .with_retention(Retention {
            max_previous: 3,
            max_age_ms: 500,
        })
        .expect("retention");
    let mut sender = MlsSender::new(0, 0);
    add(&mut receiver, 1, 1, 0);
    sender.enter_epoch(&receiver).expect("epoch");
    let first = seal(&mut sender, b"meta", "first".as_bytes());
    let late = seal(&mut sender, b"meta", "late".as_bytes());
    let too_late = seal(&mut sender, b"meta", "too late".as_bytes());
    assert!(recv(&mut receiver, 0, &first).is_ok());

    add(&mut receiver, 2, 1, 1_000);
    assert_eq!(recv(&mut receiver, 1_499, &late).as_deref(), Ok("late"));
    assert_eq!((receiver.epoch_count(), receiver.key_count()), (2, 1));
    receiver.expire(1_500);
    assert_eq!((receiver.epoch_count(), receiver.key_count()), (1, 0));
    assert_eq!(
        recv(&mut receiver, 1_500, &too_late),
        Err(Error::KeyExpired)
    );
    // The erased epoch no longer says who the sender was.
    assert_eq!(
        receiver.stats(0).map(|s| (s.ok, s.key_expired)),
        Some((2, 0))
    );
    assert_eq!(receiver.unattributed_stats().key_expired, 1);
}

#[test]
fn stale_epochs_are_refused_and_change_nothing() {
    let mut receiver = manager(4);
    add(&mut receiver, 5, 2, 0);
    for epoch in [4, 5] {
        assert_eq!(
            receiver.add_epoch(epoch, 2, &StandIn::at(epoch), 0),
            Err(Error::StaleKey)
        );
    }
    assert_eq!(receiver.newest_epoch(), Some(5));
    assert_eq!(receiver.epoch_count(), 1);
    assert_eq!(
        receiver.add_epoch(6, 0, &StandIn::at(6), 0),
        Err(Error::InvalidParameter),
        "empty group"
    );

    let mut sender = MlsSender::new(0, 0);
    assert_eq!(sender.seal(b"", b"x", &mut [0; 64]), Err(Error::NoEpoch));
    sender.enter_epoch(&receiver).expect("epoch");
    assert_eq!(sender.enter_epoch(&receiver), Err(Error::StaleKey));
    let mut outsider = MlsSender::new(2, 0);
    assert_eq!(
        outsider.enter_epoch(&receiver),
        Err(Error::InvalidParameter),
        "index 2 does not fit S = 1"
    );
}

#[test]
fn frames_of_the_next_epoch_are_unknown_until_it_is_added() {
    let mut alice_epochs = manager(4);
    let mut bob_epochs = manager(4);
    add(&mut alice_epochs, 7, 2, 0);
    add(&mut bob_epochs, 7, 2, 0);
    add(&mut alice_epochs, 8, 2, 0);
    let mut alice = MlsSender::new(0, 0);
    alice.enter_epoch(&alice_epochs).expect("epoch");
    let early = seal(&mut alice, b"meta", "early".as_bytes());
    assert_eq!(
        recv(&mut bob_epochs, 0, &early),
        Err(Error::UnknownKeyId(kid_of(&early)))
    );
    add(&mut bob_epochs, 8, 2, 0);
    assert_eq!(recv(&mut bob_epochs, 0, &early).as_deref(), Ok("early"));
}

#[test]
fn the_group_size_sets_each_epochs_sender_bits() {
    let mut receiver = manager(4);
    add(&mut receiver, 1, 4, 0);
    let mut old = MlsSender::new(3, 0);
    old.enter_epoch(&receiver).expect("epoch");
    add(&mut receiver, 2, 5, 0);
    let mut new = MlsSender::new(4, 0);
    new.enter_epoch(&receiver).expect("epoch");
    assert_eq!(receiver.layout(1).map(|l| l.sender_bits()), Some(2));
    assert_eq!(receiver.layout(2).map(|l| l.sender_bits()), Some(3));
    assert_eq!(old.kid(), Some(KeyId((3 << 4) | 1)));
    assert_eq!(new.kid(), Some(KeyId((4 << 4) | 2)));
    let a = seal(&mut old, b"meta", "old layout".as_bytes());
    let b = seal(&mut new, b"meta", "new layout".as_bytes());
    assert_eq!(recv(&mut receiver, 0, &a).as_deref(), Ok("old layout"));
    assert_eq!(recv(&mut receiver, 0, &b).as_deref(), Ok("new layout"));
    assert_eq!(receiver.stats(3).map(|s| s.ok), Some(1));
    assert_eq!(receiver.stats(4).map(|s| s.ok), Some(1));
}

#[test]
fn replays_and_forgeries_are_counted_per_sender_and_cache_nothing() {
    let mut receiver = manager(4);
    add(&mut receiver, 1, 8, 0);
    let mut sender = MlsSender::new(5, 0);
    sender.enter_epoch(&receiver).expect("epoch");
    let frame = seal(&mut sender, b"meta", "x".as_bytes());

    let mut forged = frame.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    assert_eq!(
        recv(&mut receiver, 0, &forged),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(
        receiver.key_count(),
        0,
        "a forged first frame caches no key"
    );
    assert_eq!(recv(&mut receiver, 0, &frame).as_deref(), Ok("x"));
    assert_eq!(receiver.key_count(), 1);
    assert_eq!(recv(&mut receiver, 0, &frame), Err(Error::Replayed));
    assert_eq!(recv(&mut receiver, 0, &[0x0f]), Err(Error::MalformedHeader));

    // The forgery came before any authentic frame of sender 5, so its KID
    // proved nothing: it counts as unattributed. Once sender 5 has a row,
    // its failures count there.
    let stats = receiver.stats(5).expect("sender 5 seen");
    assert_eq!(
        (stats.ok, stats.authentication_failed, stats.replayed),
        (1, 0, 1)
    );
    assert_eq!(recv(&mut receiver, 0, &forged), Err(Error::Replayed));
    let mut late_forgery = seal(&mut sender, b"meta", "y".as_bytes());
    late_forgery[last] ^= 0x80;
    assert_eq!(
        recv(&mut receiver, 0, &late_forgery),
        Err(Error::AuthenticationFailed)
    );
    let stats = receiver.stats(5).expect("sender 5 seen");
    assert_eq!((stats.authentication_failed, stats.replayed), (1, 2));
    let unattributed = receiver.unattributed_stats();
    assert_eq!(
        (unattributed.malformed, unattributed.authentication_failed),
        (1, 1)
    );
    assert_eq!(receiver.stats(6), None);
}

#[test]
fn forged_frames_naming_absent_members_cannot_take_over_the_stats_table() {
    // Four stats rows (KEYS = 4) and a group of 16 (S = 4).
    let mut receiver = EpochManager::<2, 4>::new(SUITE, 4).expect("manager");
    receiver
        .add_epoch(1, 16, &StandIn::at(1), 0)
        .expect("epoch");
    let layout = receiver.layout(1).expect("layout");
    for index in 10..14 {
        // A frame under the KID of member `index`, with a tag nobody made.
        let kid = layout.kid(0, index, 1).expect("fits");
        let header = framecrypt::Header::new(kid, framecrypt::Counter(0)).encode();
        let forged = [header.as_bytes(), &[0x55; 40]].concat();
        assert_eq!(
            recv(&mut receiver, 0, &forged),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(receiver.stats(index), None, "no row for member {index}");
    }
    assert_eq!(receiver.unattributed_stats().authentication_failed, 4);

    // The genuine sender still gets its own row.
    let mut sender = MlsSender::new(2, 0);
    sender.enter_epoch(&receiver).expect("epoch");
    let frame = seal(&mut sender, b"meta", "genuine".as_bytes());
    assert_eq!(recv(&mut receiver, 0, &frame).as_deref(), Ok("genuine"));
    assert_eq!(receiver.stats(2).map(|s| s.ok), Some(1));
}

#[test]
fn a_full_key_table_refuses_new_senders_without_evicting() {
    let mut receiver = EpochManager::<2, 2>::new(SUITE, 4).expect("manager");
    receiver.add_epoch(1, 4, &StandIn::at(1), 0).expect("epoch");
    let mut frames = Vec::new();
    for index in 0..3 {
        let mut sender = MlsSender::new(index, 0);
        sender.enter_epoch(&receiver).expect("epoch");
        frames.push((
            seal(&mut sender, b"meta", "a".as_bytes()),
            seal(&mut sender, b"meta", "b".as_bytes()),
        ));
    }
    let mut out = vec![0; 128];
    for (first, _) in &frames[..2] {
        receiver.at(0).open(b"meta", first, &mut out).expect("room");
    }
    out.fill(0);
    assert_eq!(
        receiver.at(0).open(b"meta", &frames[2].0, &mut out),
        Err(Error::StoreFull)
    );
    assert!(out.iter().all(|&b| b == 0), "no plaintext released");
    // The two cached senders keep their windows.
    assert_eq!(
        receiver.at(0).open(b"meta", &frames[0].0, &mut out),
        Err(Error::Replayed)
    );
    assert!(receiver.at(0).open(b"meta", &frames[1].1, &mut out).is_ok());
}

#[test]
fn removing_an_epoch_erases_its_keys() {
    let mut receiver = manager(4);
    add(&mut receiver, 1, 2, 0);
    let mut sender = MlsSender::new(1, 0);
    sender.enter_epoch(&receiver).expect("epoch");
    let a = seal(&mut sender, b"meta", "a".as_bytes());
    let b = seal(&mut sender, b"meta", "b".as_bytes());
    assert!(recv(&mut receiver, 0, &a).is_ok());
    assert!(receiver.remove_epoch(1));
    assert!(!receiver.remove_epoch(1));
    assert_eq!((receiver.epoch_count(), receiver.key_count()), (0, 0));
    assert_eq!(recv(&mut receiver, 0, &b), Err(Error::KeyExpired));
}

#[test]
fn in_place_decryption_works_under_epochs() {
    let mut receiver = manager(4).with_contexts(10).expect("contexts");
    add(&mut receiver, 1, 2, 0);
    let mut sender = MlsSender::new(1, 9);
    sender.enter_epoch(&receiver).expect("epoch");
    let mut frame = seal(&mut sender, b"meta", "in place".as_bytes());
    let decrypted = receiver
        .at(0)
        .open_in_place(b"meta", &mut frame)
        .expect("decrypt");
    assert_eq!(&frame[decrypted.plaintext()], b"in place");
    assert_eq!(decrypted.header().kid(), KeyId((9 << 5) | (1 << 4) | 1));
}

#[test]
fn the_roster_is_context_0_unless_told_and_never_empty() {
    assert_eq!(manager(4).contexts(), 1);
    assert_eq!(
        manager(4).with_contexts(0).map(|m| m.contexts()),
        Err(Error::InvalidParameter)
    );
    let mut receiver = manager(4).with_contexts(3).expect("contexts");
    assert_eq!(receiver.contexts(), 3);
    add(&mut receiver, 1, 4, 0);
    // Context 2 is in a roster of three; context 3 is not.
    let mut inside = MlsSender::new(3, 2);
    inside.enter_epoch(&receiver).expect("in the roster");
    let frame = seal(&mut inside, b"meta", "ctx 2".as_bytes());
    assert_eq!(recv(&mut receiver, 0, &frame).as_deref(), Ok("ctx 2"));
    assert_eq!(
        MlsSender::new(3, 3).enter_epoch(&receiver),
        Err(Error::InvalidParameter)
    );
}
