//! Key distribution without MLS (feature `distribute`): a roster of five,
//! joins and leaves, and every way an announcement can be wrong.
#![cfg(feature = "distribute")]

use crate::common::kid_of;
use framecrypt::distribute::{
    AnnouncementHeader, Freshness, Identity, IdentityPublicKey, KeyAnnouncement, KeyDistributor,
    LABEL, MAX_PENDING, Participant, Session, VERSION,
};
use framecrypt::prelude::*;
use framecrypt::{CipherSuite, Error, RatchetBits, RatchetingReceiver, Retention};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const SESSION_ID: &[u8] = b"meeting-9605";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn session() -> Session {
    Session::new(SESSION_ID, SUITE, RatchetBits::new(8).expect("R")).expect("session")
}

/// A receiver that knows no roster version, at `now_ms`.
const fn fresh(now_ms: u64) -> Freshness {
    Freshness {
        now_ms,
        min_roster_version: 0,
    }
}

/// A participant on the receiving side of one sender (Alice).
struct Member {
    name: &'static str,
    identity: Identity,
    rx: RatchetingReceiver<4, 2>,
    /// The highest roster version installed: what the member persists.
    roster_version: u64,
}

impl Member {
    fn new(name: &'static str, session: &Session, rng: &mut ChaCha20Rng) -> Self {
        Self {
            name,
            identity: Identity::generate(rng),
            rx: session.receiver(),
            roster_version: 0,
        }
    }

    fn participant(&self) -> Participant {
        Participant::new(self.name.as_bytes(), self.identity.public_key()).expect("id")
    }

    /// Opens `announcement` from `sender` at `now` and installs it, then
    /// raises its roster version to the key's (as the module documentation
    /// asks of the application).
    fn receive(
        &mut self,
        session: &Session,
        sender: &Participant,
        announcement: &[u8],
        now: u64,
    ) -> Result<(u64, u64), Error> {
        let key = session.open_announcement(
            announcement,
            self.name.as_bytes(),
            &self.identity,
            sender,
            Freshness {
                now_ms: now,
                min_roster_version: self.roster_version,
            },
        )?;
        let at = (key.generation(), key.step());
        let roster_version = key.roster_version();
        key.install(&mut self.rx, now)?;
        self.roster_version = self.roster_version.max(roster_version);
        Ok(at)
    }

    /// The member restarts: same identity, no receiver state, and only
    /// what it persisted (its roster version, if `persisted`).
    fn restart(&mut self, session: &Session, persisted: bool) {
        self.rx = session.receiver();
        if !persisted {
            self.roster_version = 0;
        }
    }

    fn decrypt(&mut self, now: u64, frame: &[u8]) -> Result<Vec<u8>, Error> {
        self.rx
            .at(now)
            .open_to_vec(b"", frame)
            .map(|(_, plaintext)| plaintext)
    }
}

/// Alice sends; everyone else receives. `members` holds every receiver
/// the test uses, present or not.
struct Meeting {
    rng: ChaCha20Rng,
    session: Session,
    alice_identity: Identity,
    alice: Participant,
    distributor: KeyDistributor,
    members: Vec<Member>,
    /// What `start` announced, as sent.
    started: Vec<KeyAnnouncement>,
    /// The roster version of the last change.
    roster_version: u64,
}

/// How Alice's distributor and the receivers are configured.
#[derive(Clone, Copy)]
struct Options {
    activation_delay_ms: u64,
    retention: Retention,
}

const DEFAULTS: Options = Options {
    activation_delay_ms: 0,
    retention: Retention::DEFAULT,
};

impl Meeting {
    /// Alice and `present` start; `absent` exist but are not in the roster.
    fn start(present: &[&'static str], absent: &[&'static str]) -> Self {
        Self::start_with(present, absent, DEFAULTS)
    }

    fn start_with(present: &[&'static str], absent: &[&'static str], options: Options) -> Self {
        let mut rng = rng(9605);
        let session = session();
        let alice_identity = Identity::generate(&mut rng);
        let alice = Participant::new(b"alice", alice_identity.public_key()).expect("id");
        let members: Vec<Member> = present
            .iter()
            .chain(absent)
            .map(|name| {
                let mut member = Member::new(name, &session, &mut rng);
                member.rx = session
                    .receiver()
                    .with_retention(options.retention)
                    .expect("fits N");
                member
            })
            .collect();
        let roster = members[..present.len()]
            .iter()
            .map(Member::participant)
            .collect();
        let (distributor, announcements) = KeyDistributor::start(
            session.clone(),
            b"alice",
            &alice_identity,
            roster,
            1,
            0,
            &mut rng,
        )
        .expect("start");
        assert_eq!(announcements.len(), present.len());
        let mut meeting = Self {
            rng,
            session,
            alice_identity,
            alice,
            distributor: distributor.with_activation_delay(options.activation_delay_ms),
            members,
            started: announcements.clone(),
            roster_version: 1,
        };
        meeting.deliver(&announcements, 0);
        meeting
    }

    fn member(&mut self, name: &str) -> &mut Member {
        self.members
            .iter_mut()
            .find(|m| m.name == name)
            .expect("known member")
    }

    /// Delivers each announcement to its recipient; all must install.
    fn deliver(&mut self, announcements: &[KeyAnnouncement], now: u64) {
        let session = self.session.clone();
        let alice = self.alice.clone();
        for announcement in announcements {
            let name = core::str::from_utf8(announcement.recipient_id()).expect("utf-8");
            let member = self.member(name);
            let at = member
                .receive(&session, &alice, announcement.as_bytes(), now)
                .unwrap_or_else(|e| panic!("{name} refused its announcement: {e}"));
            assert_eq!(at, (announcement.generation(), announcement.step()));
        }
    }

    /// `name` joins: the next roster version.
    fn join(&mut self, name: &str, now: u64) -> KeyAnnouncement {
        let participant = self.member(name).participant();
        self.roster_version += 1;
        self.distributor
            .join(
                &self.alice_identity,
                participant,
                self.roster_version,
                now,
                &mut self.rng,
            )
            .expect("join")
    }

    /// `name` leaves: the next roster version.
    fn leave(&mut self, name: &str, now: u64) -> Vec<KeyAnnouncement> {
        self.roster_version += 1;
        self.distributor
            .leave(
                &self.alice_identity,
                name.as_bytes(),
                self.roster_version,
                now,
                &mut self.rng,
            )
            .expect("leave")
    }

    fn send(&mut self, now: u64, text: &str) -> Vec<u8> {
        self.distributor
            .at(now)
            .seal_to_vec(b"", text.as_bytes())
            .expect("encrypt")
    }

    /// Which members decrypt `frame` at `now`, in roster order.
    fn readers(&mut self, now: u64, frame: &[u8], text: &str) -> Vec<&'static str> {
        self.members
            .iter_mut()
            .filter_map(|m| match m.decrypt(now, frame) {
                Ok(plaintext) => {
                    assert_eq!(plaintext, text.as_bytes(), "{} decrypted garbage", m.name);
                    Some(m.name)
                }
                Err(_) => None,
            })
            .collect()
    }
}

/// The roster of five: Alice, who sends, and these four.
const RECEIVERS: [&str; 4] = ["bob", "carol", "dave", "erin"];

// ---------------------------------------------------------------------
// The flow: start, join, leave.

#[test]
fn start_seals_generation_zero_to_every_member_and_all_decrypt() {
    let mut m = Meeting::start(&RECEIVERS, &[]);
    assert_eq!(m.distributor.generation(), 0);
    assert_eq!(m.distributor.step(), 0);
    assert_eq!(m.distributor.members().len(), 4);
    let frame = m.send(10, "hello");
    assert_eq!(m.readers(10, &frame, "hello"), RECEIVERS);
}

#[test]
fn a_distributor_key_feeds_codec_aware_vp8_protection_through_the_roles() {
    // The distributor seals through `Seal` (`at(now)`), the members open
    // through `Open` (`at(now)`), with `codec::Protection` between them;
    // after a leave the one who left opens nothing new.
    use crate::media;
    use framecrypt::codec::{Codec, Fallback, Protection};

    let p = Protection::new(Codec::Vp8, Fallback::Reject);
    let frames = media::ivf_frames(&media::sample("vp8.ivf"));
    let mut m = Meeting::start(&RECEIVERS, &[]);
    for (i, frame) in frames.iter().take(3).enumerate() {
        let (_, protected) = p
            .protect_to_vec(&mut m.distributor.at(10), frame)
            .expect("protect");
        // The VP8 payload header stays readable for packetizers.
        assert_eq!(protected[..3], frame[..3], "frame {i}");
        for member in &mut m.members {
            let (_, plain) = p
                .unprotect_to_vec(&mut member.rx.at(10), &protected)
                .expect("unprotect");
            assert_eq!(&plain, frame, "{} frame {i}", member.name);
        }
    }

    let announcements = m.leave("carol", 20);
    m.deliver(&announcements, 20);
    let (_, protected) = p
        .protect_to_vec(&mut m.distributor.at(30), &frames[3])
        .expect("protect");
    for member in &mut m.members {
        let opened = p.unprotect_to_vec(&mut member.rx.at(30), &protected);
        if member.name == "carol" {
            assert!(opened.is_err(), "carol left and must not read");
        } else {
            assert_eq!(opened.expect("unprotect").1, frames[3], "{}", member.name);
        }
    }
}

#[test]
fn join_ratchets_and_seals_the_current_step_to_the_joiner_only() {
    let mut m = Meeting::start(&RECEIVERS, &["frank"]);
    let before = m.send(10, "before frank");
    assert_eq!(m.readers(10, &before, "before frank"), RECEIVERS);

    let announcement = m.join("frank", 20);
    assert_eq!(announcement.recipient_id(), b"frank");
    assert_eq!((announcement.generation(), announcement.step()), (0, 1));
    assert_eq!((m.distributor.generation(), m.distributor.step()), (0, 1));
    m.deliver(core::slice::from_ref(&announcement), 20);

    // The others ratchet forward by themselves on the first frame.
    let after = m.send(30, "with frank");
    assert_eq!(
        m.readers(30, &after, "with frank"),
        ["bob", "carol", "dave", "erin", "frank"]
    );
    // Frank holds step 1 and cannot go back to step 0.
    assert_eq!(
        m.member("frank").decrypt(40, &before),
        Err(Error::KeyExpired)
    );
    let frank = m.members.iter().find(|x| x.name == "frank").expect("frank");
    // Nor with a receiver that ratchets as far as it may: the ratchet is
    // one-way, so no step it can reach is step 0.
    let mut eager = m
        .session
        .receiver::<4, 2>()
        .with_max_forward(RatchetingReceiver::<4, 2>::MAX_FORWARD)
        .expect("R = 8");
    let key = m
        .session
        .open_announcement(
            announcement.as_bytes(),
            b"frank",
            &frank.identity,
            &m.alice,
            fresh(50),
        )
        .expect("open");
    key.install(&mut eager, 50).expect("install");
    assert!(eager.at(50).open_to_vec(b"", &before).is_err());
}

#[test]
fn leave_starts_a_new_generation_sealed_to_the_remaining_members_only() {
    let mut m = Meeting::start(&RECEIVERS, &[]);
    let before = m.send(10, "all five");
    assert_eq!(m.readers(10, &before, "all five"), RECEIVERS);

    let announcements = m.leave("carol", 20);
    let recipients: Vec<&[u8]> = announcements
        .iter()
        .map(KeyAnnouncement::recipient_id)
        .collect();
    assert_eq!(recipients, [&b"bob"[..], b"dave", b"erin"]);
    assert!(
        announcements
            .iter()
            .all(|a| (a.generation(), a.step()) == (1, 0))
    );
    assert_eq!((m.distributor.generation(), m.distributor.step()), (1, 0));

    // Carol can open none of them: not addressed to her, and re-addressed
    // copies do not authenticate (sealed to another key, bound to another ID).
    let (session, alice) = (m.session.clone(), m.alice.clone());
    for announcement in &announcements {
        let carol = m.member("carol");
        assert_eq!(
            carol.receive(&session, &alice, announcement.as_bytes(), 20),
            Err(Error::WrongRecipient)
        );
        let readdressed = rewrite(announcement.as_bytes(), |h| h.recipient = b"carol".to_vec());
        assert_eq!(
            carol.receive(&session, &alice, &readdressed, 20),
            Err(Error::AuthenticationFailed)
        );
    }
    m.deliver(&announcements, 20);

    let after = m.send(30, "without carol");
    assert_eq!(
        m.readers(30, &after, "without carol"),
        ["bob", "dave", "erin"]
    );
    assert_eq!(
        m.member("carol").decrypt(40, &after),
        Err(Error::UnknownKeyId(kid_of(&after)))
    );
}

/// Joins and leaves in sequence, including a rejoin: every frame is
/// decrypted by exactly the members present when it was sent.
#[test]
fn join_and_leave_sequence_each_frame_reaches_exactly_the_members_present() {
    let mut m = Meeting::start(&RECEIVERS, &["frank"]);
    let mut now = 0;
    let mut sent: Vec<(Vec<u8>, String)> = Vec::new();
    let mut check = |m: &mut Meeting, now: u64, label: &str, present: &[&str]| {
        let frame = m.send(now, label);
        assert_eq!(m.readers(now, &frame, label), present, "frame {label:?}");
        sent.push((frame, label.to_owned()));
    };

    now += 10;
    check(&mut m, now, "f1", &["bob", "carol", "dave", "erin"]);
    now += 10;
    let a = m.join("frank", now);
    m.deliver(&[a], now);
    check(
        &mut m,
        now,
        "f2",
        &["bob", "carol", "dave", "erin", "frank"],
    );
    now += 10;
    let a = m.leave("carol", now);
    m.deliver(&a, now);
    check(&mut m, now, "f3", &["bob", "dave", "erin", "frank"]);
    now += 10;
    let a = m.leave("bob", now);
    assert_eq!(a.len(), 3);
    m.deliver(&a, now);
    check(&mut m, now, "f4", &["dave", "erin", "frank"]);
    now += 10;
    let a = m.join("carol", now);
    assert_eq!((a.generation(), a.step()), (2, 1));
    m.deliver(&[a], now);
    check(&mut m, now, "f5", &["carol", "dave", "erin", "frank"]);
    now += 10;
    let a = m.join("bob", now);
    m.deliver(&[a], now);
    check(
        &mut m,
        now,
        "f6",
        &["bob", "carol", "dave", "erin", "frank"],
    );

    // Joiners cannot read what was sent before they (re)joined.
    now += 10;
    for (name, frames) in [("frank", &[0][..]), ("carol", &[2, 3, 4]), ("bob", &[3, 4])] {
        for &i in frames {
            assert!(
                m.member(name).decrypt(now, &sent[i].0).is_err(),
                "{name} decrypted {}",
                sent[i].1
            );
        }
    }
}

// ---------------------------------------------------------------------
// Announcements that must be refused.

/// The clear header fields, to rebuild an announcement with one changed
/// (the byte format of the module documentation).
struct Fields {
    version: u8,
    suite: u16,
    r: u8,
    generation: u64,
    step: u64,
    roster_version: u64,
    issued_at_ms: u64,
    session: Vec<u8>,
    sender: Vec<u8>,
    recipient: Vec<u8>,
}

fn encode(f: &Fields) -> Vec<u8> {
    let mut out = vec![f.version];
    out.extend_from_slice(&f.suite.to_be_bytes());
    out.push(f.r);
    out.extend_from_slice(&f.generation.to_be_bytes());
    out.extend_from_slice(&f.step.to_be_bytes());
    out.extend_from_slice(&f.roster_version.to_be_bytes());
    out.extend_from_slice(&f.issued_at_ms.to_be_bytes());
    for id in [&f.session, &f.sender, &f.recipient] {
        out.push(u8::try_from(id.len()).expect("short id"));
        out.extend_from_slice(id);
    }
    out
}

/// `announcement` with its header rewritten by `change`; the sealed part
/// is kept as it is.
fn rewrite(announcement: &[u8], change: impl FnOnce(&mut Fields)) -> Vec<u8> {
    let header = AnnouncementHeader::parse(announcement).expect("well-formed");
    let mut fields = Fields {
        version: VERSION,
        suite: header.suite().id(),
        r: u8::try_from(header.bits().get()).expect("R"),
        generation: header.generation(),
        step: header.step(),
        roster_version: header.roster_version(),
        issued_at_ms: header.issued_at_ms(),
        session: header.session_id().to_vec(),
        sender: header.sender_id().to_vec(),
        recipient: header.recipient_id().to_vec(),
    };
    // The rebuilt header is byte-identical before any change.
    assert_eq!(encode(&fields), announcement[..header.len()]);
    change(&mut fields);
    [encode(&fields), announcement[header.len()..].to_vec()].concat()
}

/// A started meeting and Bob's announcement of generation 0.
fn bobs_announcement() -> (Meeting, Vec<u8>) {
    let mut rng = rng(1);
    let session = session();
    let alice_identity = Identity::generate(&mut rng);
    let alice = Participant::new(b"alice", alice_identity.public_key()).expect("id");
    let members: Vec<Member> = RECEIVERS
        .iter()
        .map(|n| Member::new(n, &session, &mut rng))
        .collect();
    let roster = members.iter().map(Member::participant).collect();
    let (distributor, announcements) = KeyDistributor::start(
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
        rng,
        session,
        alice_identity,
        alice,
        distributor,
        members,
        started: announcements,
        roster_version: 1,
    };
    (meeting, bobs)
}

fn open_as_bob(m: &mut Meeting, announcement: &[u8]) -> Result<(u64, u64), Error> {
    let (session, alice) = (m.session.clone(), m.alice.clone());
    m.member("bob").receive(&session, &alice, announcement, 0)
}

#[test]
fn the_byte_format_is_as_documented() {
    let (m, bobs) = bobs_announcement();
    let suite = SUITE.id().to_be_bytes();
    assert_eq!(bobs[0], 0x02, "version");
    assert_eq!(bobs[1..3], suite, "suite");
    assert_eq!(bobs[3], 8, "R");
    assert_eq!(bobs[4..12], 0u64.to_be_bytes(), "generation");
    assert_eq!(bobs[12..20], 0u64.to_be_bytes(), "step");
    assert_eq!(bobs[20..28], 1u64.to_be_bytes(), "roster version");
    assert_eq!(bobs[28..36], 0u64.to_be_bytes(), "issue time");
    let a = SESSION_ID.len();
    assert_eq!(usize::from(bobs[36]), a);
    assert_eq!(&bobs[37..37 + a], SESSION_ID);
    assert_eq!(bobs[37 + a], 5);
    assert_eq!(&bobs[38 + a..43 + a], b"alice");
    assert_eq!(bobs[43 + a], 3);
    assert_eq!(&bobs[44 + a..47 + a], b"bob");
    let header_len = 39 + a + 5 + 3;
    // enc (32) and the Nh-byte base key sealed with a 16-byte tag.
    assert_eq!(bobs.len(), header_len + 32 + SUITE.hash_len() + 16);
    let header = AnnouncementHeader::parse(&bobs).expect("parse");
    assert_eq!(header.len(), header_len);
    assert_eq!(header.session_id(), m.session.id());
    assert_eq!((header.roster_version(), header.issued_at_ms()), (1, 0));
    assert_eq!(LABEL, b"framecrypt key announcement");
    assert_eq!(VERSION, 2);
}

/// Every bit of the header, and the lowest and highest bit of every byte
/// of `enc`, ciphertext and tag (all bits of those cost an HPKE open each
/// and teach nothing more: the AEAD covers every bit alike).
#[test]
fn single_bit_flips_are_refused() {
    let (mut m, bobs) = bobs_announcement();
    let header_len = AnnouncementHeader::parse(&bobs).expect("parse").len();
    for byte in 0..bobs.len() {
        let bits: &[u32] = if byte < header_len {
            &[0, 1, 2, 3, 4, 5, 6, 7]
        } else {
            &[0, 7]
        };
        for &bit in bits {
            let mut tampered = bobs.clone();
            tampered[byte] ^= 1 << bit;
            let result = open_as_bob(&mut m, &tampered);
            assert!(result.is_err(), "flip of byte {byte} bit {bit} accepted");
            // The step, the roster version (Bob knows none yet) and
            // everything sealed only fail authentication; the issue time
            // too, unless the flip moves it more than a minute.
            if (12..28).contains(&byte) || byte >= header_len {
                assert_eq!(result, Err(Error::AuthenticationFailed), "byte {byte}");
            }
            if (28..36).contains(&byte) {
                let shift = 8 * (35 - u32::try_from(byte).expect("small")) + bit;
                let moved = (1u64 << shift) > 60_000;
                let expected = if moved {
                    Error::AnnouncementExpired
                } else {
                    Error::AuthenticationFailed
                };
                assert_eq!(result, Err(expected), "byte {byte} bit {bit}");
            }
        }
    }
    // The original still opens: refusals change nothing.
    assert_eq!(open_as_bob(&mut m, &bobs), Ok((0, 0)));
}

#[test]
fn truncated_or_padded_announcements_are_malformed() {
    let (mut m, bobs) = bobs_announcement();
    for len in 0..bobs.len() {
        assert_eq!(
            open_as_bob(&mut m, &bobs[..len]),
            Err(Error::MalformedAnnouncement),
            "prefix of {len} bytes"
        );
    }
    let padded = [&bobs[..], &[0]].concat();
    assert_eq!(
        open_as_bob(&mut m, &padded),
        Err(Error::MalformedAnnouncement)
    );
    for version in [0, 1, 3] {
        let other = [&[version][..], &bobs[1..]].concat();
        assert_eq!(
            open_as_bob(&mut m, &other),
            Err(Error::MalformedAnnouncement)
        );
    }
    // A suite with another `Nh` (64) needs another sealed length.
    let longer = rewrite(&bobs, |f| f.suite = CipherSuite::Aes256GcmSha512_128.id());
    assert_eq!(
        open_as_bob(&mut m, &longer),
        Err(Error::MalformedAnnouncement)
    );
}

#[test]
fn tampered_header_fields_are_refused() {
    let (mut m, bobs) = bobs_announcement();
    // Fields whose change keeps the header well-formed and addressed to Bob
    // in his session: HPKE's info no longer matches.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("generation", rewrite(&bobs, |f| f.generation = 1)),
        ("step", rewrite(&bobs, |f| f.step = 3)),
        ("roster version", rewrite(&bobs, |f| f.roster_version = 9)),
        ("issue time", rewrite(&bobs, |f| f.issued_at_ms = 30_000)),
    ];
    for (what, tampered) in cases {
        assert_eq!(
            open_as_bob(&mut m, &tampered),
            Err(Error::AuthenticationFailed),
            "{what}"
        );
    }
    // Swapping the sealed part of two announcements does not work either.
    let (_, other) = bobs_announcement_with_seed(2);
    let header_len = AnnouncementHeader::parse(&bobs).expect("parse").len();
    let swapped = [&bobs[..header_len], &other[header_len..]].concat();
    assert_eq!(
        open_as_bob(&mut m, &swapped),
        Err(Error::AuthenticationFailed)
    );
}

fn bobs_announcement_with_seed(seed: u64) -> (Identity, Vec<u8>) {
    let mut rng = rng(seed);
    let alice = Identity::generate(&mut rng);
    let bob = Identity::generate(&mut rng);
    let roster = vec![Participant::new(b"bob", bob.public_key()).expect("id")];
    let (_, announcements) =
        KeyDistributor::start(session(), b"alice", &alice, roster, 1, 0, &mut rng).expect("start");
    (bob, announcements[0].as_bytes().to_vec())
}

#[test]
fn misdirected_announcements_are_refused() {
    let (mut m, bobs) = bobs_announcement();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let dave = m.member("dave");
    assert_eq!(
        dave.receive(&session, &alice, &bobs, 0),
        Err(Error::WrongRecipient)
    );
    let readdressed = rewrite(&bobs, |f| f.recipient = b"dave".to_vec());
    assert_eq!(
        dave.receive(&session, &alice, &readdressed, 0),
        Err(Error::AuthenticationFailed)
    );
    // Bob's own ID with Dave's identity key: sealed to Bob's key.
    let key = session.open_announcement(&bobs, b"bob", &dave.identity, &alice, fresh(0));
    assert_eq!(key.map(|_| ()), Err(Error::AuthenticationFailed));
}

#[test]
fn announcements_of_another_session_suite_or_r_are_refused() {
    let (mut m, bobs) = bobs_announcement();
    let alice = m.alice.clone();
    let bob = m.member("bob");
    let bits = RatchetBits::new(8).expect("R");
    let others = [
        Session::new(b"meeting-9606", SUITE, bits).expect("session"),
        // Same `Nh` (32), so only the suite number differs.
        Session::new(SESSION_ID, CipherSuite::Aes128CtrHmacSha256_80, bits).expect("session"),
        Session::new(SESSION_ID, SUITE, RatchetBits::new(16).expect("R")).expect("session"),
    ];
    for other in &others {
        let result = other.open_announcement(&bobs, b"bob", &bob.identity, &alice, fresh(0));
        assert_eq!(result.map(|_| ()), Err(Error::WrongSession), "{other:?}");
    }
    // Claiming the other session in the header does not authenticate.
    let moved = rewrite(&bobs, |f| f.session = b"meeting-9606".to_vec());
    let result = others[0].open_announcement(&moved, b"bob", &bob.identity, &alice, fresh(0));
    assert_eq!(result.map(|_| ()), Err(Error::AuthenticationFailed));
    let moved = rewrite(&bobs, |f| {
        f.suite = CipherSuite::Aes128CtrHmacSha256_80.id()
    });
    let result = others[1].open_announcement(&moved, b"bob", &bob.identity, &alice, fresh(0));
    assert_eq!(result.map(|_| ()), Err(Error::AuthenticationFailed));
    let moved = rewrite(&bobs, |f| f.r = 16);
    let result = others[2].open_announcement(&moved, b"bob", &bob.identity, &alice, fresh(0));
    assert_eq!(result.map(|_| ()), Err(Error::AuthenticationFailed));
}

#[test]
fn announcements_from_another_sender_or_forged_ones_are_refused() {
    let (mut m, bobs) = bobs_announcement();
    let session = m.session.clone();
    let dave = m.member("dave").participant();
    let bob = m.member("bob");
    // Opened as if from Dave: the header names Alice.
    let result = session.open_announcement(&bobs, b"bob", &bob.identity, &dave, fresh(0));
    assert_eq!(result.map(|_| ()), Err(Error::WrongSender));

    // Dave, a member, seals a key to Bob claiming to be Alice. Auth mode
    // binds the sender's identity key, which Dave does not have.
    let mut rng = rng(7);
    let dave_identity = Identity::generate(&mut rng);
    let roster = vec![bob.participant()];
    let (_, forged) = KeyDistributor::start(
        session.clone(),
        b"alice",
        &dave_identity,
        roster,
        1,
        0,
        &mut rng,
    )
    .expect("start");
    let alice = m.alice.clone();
    let bob = m.member("bob");
    let result = session.open_announcement(
        forged[0].as_bytes(),
        b"bob",
        &bob.identity,
        &alice,
        fresh(0),
    );
    assert_eq!(result.map(|_| ()), Err(Error::AuthenticationFailed));
}

#[test]
fn replayed_announcements_are_refused() {
    let mut m = Meeting::start(&RECEIVERS, &["frank"]);
    let (session, alice) = (m.session.clone(), m.alice.clone());
    // The same announcement again: the key is already in use.
    let join = m.join("frank", 10);
    m.deliver(core::slice::from_ref(&join), 10);
    let frank = m.member("frank");
    assert_eq!(
        frank.receive(&session, &alice, join.as_bytes(), 11),
        Err(Error::AnnouncementReplayed)
    );
    // After a leave, the old one is superseded (its roster version is
    // older than Frank's), and stale by the receiver's state as well.
    let leave = m.leave("carol", 20);
    m.deliver(&leave, 20);
    let frank = m.member("frank");
    assert_eq!(
        frank.receive(&session, &alice, join.as_bytes(), 21),
        Err(Error::AnnouncementSuperseded)
    );
    frank.roster_version = 0;
    assert_eq!(
        frank.receive(&session, &alice, join.as_bytes(), 21),
        Err(Error::StaleKey)
    );
    // A replay changes nothing: Frank still decrypts the current key.
    let frame = m.send(30, "still fine");
    assert_eq!(
        m.member("frank").decrypt(30, &frame).as_deref(),
        Ok(&b"still fine"[..])
    );
}

#[test]
fn a_stale_announcement_is_refused_and_changes_nothing() {
    let mut m = Meeting::start(&RECEIVERS, &["frank"]);
    let (session, alice) = (m.session.clone(), m.alice.clone());
    // Frank's join announcement (0, 1) is overtaken by the leave's (1, 0).
    let join = m.join("frank", 10);
    let leave = m.leave("carol", 20);
    let for_frank = leave
        .iter()
        .find(|a| a.recipient_id() == b"frank")
        .expect("frank is a member");
    let frank = m.member("frank");
    assert_eq!(
        frank.receive(&session, &alice, for_frank.as_bytes(), 20),
        Ok((1, 0))
    );
    assert_eq!(
        frank.receive(&session, &alice, join.as_bytes(), 21),
        Err(Error::AnnouncementSuperseded)
    );
    frank.roster_version = 0;
    assert_eq!(
        frank.receive(&session, &alice, join.as_bytes(), 21),
        Err(Error::StaleKey)
    );
    assert_eq!(frank.rx.generation(), Some(1));
    assert_eq!(frank.rx.step(), Some(0));
}

#[test]
fn an_announced_key_refuses_a_receiver_of_another_suite() {
    let (mut m, bobs) = bobs_announcement();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let bob = m.member("bob");
    let key = session
        .open_announcement(&bobs, b"bob", &bob.identity, &alice, fresh(0))
        .expect("open");
    let mut wrong = RatchetingReceiver::<4, 2>::new(
        CipherSuite::Aes256GcmSha512_128,
        RatchetBits::new(8).expect("R"),
    );
    assert_eq!(key.install(&mut wrong, 0), Err(Error::InvalidParameter));
    assert_eq!(wrong.generation(), None);
}

// ---------------------------------------------------------------------
// Delayed activation (RFC 9605 §6.2 versus §7.3).

#[test]
fn delayed_leave_keeps_the_old_key_for_the_grace_period_then_locks_out() {
    let mut m = Meeting::start_with(&RECEIVERS, &[], delay(500));
    let announcements = m.leave("carol", 1_000);
    assert_eq!(m.distributor.pending_activation(), Some(1_500));
    assert_eq!(m.distributor.announced_key_id(), (1, 0));
    assert_eq!(m.distributor.generation(), 0, "still the old key");
    m.deliver(&announcements, 1_000);

    // During the grace period: the old key. The remaining members decrypt
    // with their retained key; Carol still can too (the documented price).
    let grace = m.send(1_200, "grace");
    assert_eq!(
        m.readers(1_200, &grace, "grace"),
        ["bob", "carol", "dave", "erin"]
    );
    assert!(!m.distributor.poll(1_499));
    assert!(m.distributor.poll(1_500));
    assert_eq!(m.distributor.pending_activation(), None);
    let after = m.send(1_510, "after");
    assert_eq!(m.readers(1_510, &after, "after"), ["bob", "dave", "erin"]);
}

#[test]
fn delayed_join_gives_the_joiner_nothing_before_the_switch() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(300));
    let announcement = m.join("frank", 1_000);
    m.deliver(&[announcement], 1_000);
    let grace = m.send(1_100, "grace");
    assert_eq!(m.readers(1_100, &grace, "grace"), RECEIVERS);
    // `encrypt` switches by itself once due.
    let after = m.send(1_300, "after");
    assert_eq!(m.distributor.step(), 1);
    assert_eq!(
        m.readers(1_300, &after, "after"),
        ["bob", "carol", "dave", "erin", "frank"]
    );
}

#[test]
fn a_grace_period_longer_than_receiver_retention_loses_frames() {
    // The documented constraint: receivers retire the old key when they
    // install the new one; if it expires before the sender switches, the
    // grace-period frames are lost.
    let mut m = Meeting::start_with(
        &RECEIVERS,
        &[],
        Options {
            activation_delay_ms: 500,
            retention: Retention {
                max_previous: 3,
                max_age_ms: 200,
            },
        },
    );
    let announcements = m.leave("carol", 1_000);
    m.deliver(&announcements, 1_000);
    let early = m.send(1_100, "early");
    assert_eq!(
        m.readers(1_100, &early, "early"),
        ["bob", "carol", "dave", "erin"]
    );
    let late = m.send(1_300, "late in the grace period");
    assert_eq!(
        m.member("bob").decrypt(1_300, &late),
        Err(Error::KeyExpired)
    );
}

fn delay(ms: u64) -> Options {
    Options {
        activation_delay_ms: ms,
        ..DEFAULTS
    }
}

#[test]
fn without_a_delay_frames_can_outrun_their_announcement() {
    let mut m = Meeting::start(&RECEIVERS, &[]);
    let announcements = m.leave("carol", 1_000);
    let frame = m.send(1_000, "too early");
    // Bob has not got the new key yet: the frame is refused, not misread.
    assert_eq!(
        m.member("bob").decrypt(1_001, &frame),
        Err(Error::UnknownKeyId(kid_of(&frame)))
    );
    m.deliver(&announcements, 1_002);
    assert_eq!(
        m.member("bob").decrypt(1_003, &frame).as_deref(),
        Ok(&b"too early"[..])
    );
}

#[test]
fn a_join_during_a_pending_leave_builds_on_the_pending_key() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let join = m.join("frank", 1_100);
    assert_eq!((join.generation(), join.step()), (1, 1));
    // The leave keeps its activation time; the join has its own.
    assert_eq!(m.distributor.pending_activation(), Some(1_500));
    assert_eq!(m.distributor.pending_count(), 2);
    m.deliver(&[join], 1_100);

    let grace = m.send(1_300, "grace");
    assert_eq!(
        m.readers(1_300, &grace, "grace"),
        ["bob", "carol", "dave", "erin"]
    );
    // From the leave's time on, its key; Frank holds only the next step.
    let left = m.send(1_500, "carol has left");
    assert_eq!((m.distributor.generation(), m.distributor.step()), (1, 0));
    assert_eq!(m.distributor.pending_activation(), Some(1_600));
    assert_eq!(
        m.readers(1_500, &left, "carol has left"),
        ["bob", "dave", "erin"]
    );
    let after = m.send(1_600, "after");
    assert_eq!((m.distributor.generation(), m.distributor.step()), (1, 1));
    assert_eq!(
        m.readers(1_600, &after, "after"),
        ["bob", "dave", "erin", "frank"]
    );
}

#[test]
fn a_new_change_never_postpones_a_switch_that_is_due() {
    let mut m = Meeting::start_with(&RECEIVERS, &[], delay(500));
    let first = m.leave("carol", 1_000);
    m.deliver(&first, 1_000);
    // No frame and no poll until well after the first switch was due.
    let second = m.leave("bob", 2_000);
    assert_eq!(m.distributor.generation(), 1, "the first switch happened");
    assert_eq!(m.distributor.announced_key_id(), (2, 0));
    m.deliver(&second, 2_000);
    let frame = m.send(2_100, "carol is out");
    assert_eq!(
        m.readers(2_100, &frame, "carol is out"),
        ["bob", "dave", "erin"]
    );
}

// ---------------------------------------------------------------------
// Parameters.

#[test]
fn ids_must_be_one_to_255_bytes_and_unique() {
    let mut rng = rng(3);
    let identity = Identity::generate(&mut rng);
    let key = identity.public_key();
    let bits = RatchetBits::new(8).expect("R");
    assert_eq!(
        Participant::new(b"", key).map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        Participant::new(&[b'x'; 256], key).map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert!(Participant::new(&[b'x'; 255], key).is_ok());
    assert_eq!(
        Session::new(b"", SUITE, bits).map(|_| ()),
        Err(Error::InvalidParameter)
    );

    let bob = Participant::new(b"bob", key).expect("id");
    let start = |own: &[u8], roster: Vec<Participant>, rng: &mut ChaCha20Rng| {
        KeyDistributor::start(session(), own, &identity, roster, 1, 0, rng).map(|_| ())
    };
    assert_eq!(
        start(b"alice", vec![bob.clone(), bob.clone()], &mut rng),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        start(b"bob", vec![bob.clone()], &mut rng),
        Err(Error::InvalidParameter)
    );
    assert_eq!(start(b"", vec![], &mut rng), Err(Error::InvalidParameter));
}

#[test]
fn join_and_leave_refuse_bad_requests_and_change_nothing() {
    let mut m = Meeting::start(&RECEIVERS, &["frank"]);
    let bob = m.member("bob").participant();
    let frank = m.member("frank").participant();
    let mut rng = rng(4);
    let stranger = Identity::generate(&mut rng);
    let d = &mut m.distributor;
    assert_eq!(
        d.join(&m.alice_identity, bob, 2, 10, &mut rng).map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        d.join(&stranger, frank.clone(), 2, 10, &mut rng)
            .map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        d.leave(&m.alice_identity, b"frank", 2, 10, &mut rng)
            .map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        d.leave(&stranger, b"bob", 2, 10, &mut rng).map(|_| ()),
        Err(Error::InvalidParameter)
    );
    // A roster version not above the last change's (1, the start's).
    for version in [0, 1] {
        assert_eq!(
            d.join(&m.alice_identity, frank.clone(), version, 10, &mut rng)
                .map(|_| ()),
            Err(Error::InvalidParameter)
        );
        assert_eq!(
            d.leave(&m.alice_identity, b"bob", version, 10, &mut rng)
                .map(|_| ()),
            Err(Error::InvalidParameter)
        );
    }
    assert_eq!(d.members().len(), 4);
    assert_eq!((d.generation(), d.step()), (0, 0));
}

#[test]
fn leave_refuses_a_generation_that_does_not_fit_the_kid() {
    // R = 63 leaves one generation bit: generations 0 and 1.
    let mut rng = rng(5);
    let session = Session::new(b"tiny", SUITE, RatchetBits::new(63).expect("R")).expect("session");
    let alice = Identity::generate(&mut rng);
    let roster: Vec<Participant> = ["bob", "carol", "dave"]
        .iter()
        .map(|n| {
            Participant::new(n.as_bytes(), Identity::generate(&mut rng).public_key()).expect("id")
        })
        .collect();
    let (mut d, _) =
        KeyDistributor::start(session, b"alice", &alice, roster, 1, 0, &mut rng).expect("start");
    assert_eq!(
        d.leave(&alice, b"bob", 2, 10, &mut rng).map(|a| a.len()),
        Ok(2)
    );
    assert_eq!(
        d.leave(&alice, b"carol", 3, 20, &mut rng).map(|_| ()),
        Err(Error::KeyIdExhausted)
    );
    assert_eq!(d.roster_version(), 2, "the refused change is not counted");
    assert_eq!(d.members().len(), 2, "carol is still in the roster");
    assert_eq!(d.generation(), 1);
}

#[test]
fn low_order_public_keys_are_refused() {
    // The small-order points of Curve25519 and their non-canonical
    // encodings (RFC 7748 §6.1 asks for the all-zero check they all fail).
    let hex = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for h in hex {
        let bytes: [u8; 32] = hex::decode(h).expect("hex").try_into().expect("32 bytes");
        assert_eq!(
            IdentityPublicKey::from_bytes(bytes),
            Err(Error::InvalidParameter),
            "{h}"
        );
    }
    let mut rng = rng(6);
    let good = Identity::generate(&mut rng).public_key();
    assert_eq!(IdentityPublicKey::from_bytes(good.to_bytes()), Ok(good));
    let mut nine = [0; 32];
    nine[0] = 9; // the base point
    assert!(IdentityPublicKey::from_bytes(nine).is_ok());
}

#[test]
fn an_identity_restored_from_its_secret_is_the_same_identity() {
    let mut rng = rng(8);
    let identity = Identity::generate(&mut rng);
    let restored = Identity::from_secret_bytes(*identity.expose_secret());
    assert_eq!(restored.public_key(), identity.public_key());
}

// ---------------------------------------------------------------------
// Interoperability with an independent RFC 9180 implementation (hpke-rs):
// interop/tests/hpke_rs.rs, so that this crate does not build hpke-rs.

/// The base key Bob opens from `announcement`.
fn open_key(m: &mut Meeting, announcement: &[u8]) -> Vec<u8> {
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let bob = m.member("bob");
    session
        .open_announcement(announcement, b"bob", &bob.identity, &alice, fresh(0))
        .expect("open")
        .expose_secret()
        .to_vec()
}

// ---------------------------------------------------------------------
// Secrets: zeroized, never printed, never cloned.

/// Hex (either case) and decimal renderings of every 4-byte window.
fn renderings(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![format!("{secret:?}"), format!("{secret:#?}")];
    for window in secret.windows(4) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        forms.push(hex.to_uppercase());
        forms.push(hex);
        let decimal: Vec<String> = window.iter().map(u8::to_string).collect();
        forms.push(decimal.join(", "));
        forms.push(decimal.join(",\n"));
    }
    forms
}

fn assert_hides(what: &str, value: &impl core::fmt::Debug, secrets: &[&[u8]]) {
    for debug in [format!("{value:?}"), format!("{value:#?}")] {
        for secret in secrets {
            for form in renderings(secret) {
                assert!(
                    !debug.contains(&form),
                    "{what} Debug output {debug:?} shows {form:?}"
                );
            }
        }
    }
}

#[test]
fn debug_output_shows_no_identity_secret_or_base_key() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(1_000));
    let join = m.join("frank", 10); // pending: a second base key inside
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let frank = m.member("frank");
    let announced = session
        .open_announcement(
            join.as_bytes(),
            b"frank",
            &frank.identity,
            &alice,
            fresh(10),
        )
        .expect("open");
    let pending_key = announced.expose_secret().to_vec();
    let current_key = m.distributor.sender().share().expose_secret().to_vec();
    let alice_secret = m.alice_identity.expose_secret().to_vec();
    let frank_secret = m.member("frank").identity.expose_secret().to_vec();
    let secrets: [&[u8]; 4] = [&pending_key, &current_key, &alice_secret, &frank_secret];

    assert_hides("Identity", &m.alice_identity, &secrets);
    assert_hides("AnnouncedKey", &announced, &secrets);
    assert_hides("KeyDistributor", &m.distributor, &secrets);
    assert_hides("KeyAnnouncement", &join, &secrets);
    assert_hides("Session", &m.session, &secrets);
    assert_hides("Participant", &m.alice, &secrets);
    // And the Debug output still says what things are.
    let identity = format!("{:?}", m.alice_identity);
    assert!(identity.contains("redacted") && identity.contains("IdentityPublicKey"));
    assert!(format!("{announced:?}").contains("BaseKey(<redacted>)"));
}

#[test]
fn the_leak_check_would_see_a_printed_secret() {
    let mut rng = rng(10);
    let identity = Identity::generate(&mut rng);
    let secret = identity.expose_secret();
    let printed = format!("secret: {secret:?}");
    let caught = std::panic::catch_unwind(|| assert_hides("probe", &printed, &[secret]));
    assert!(caught.is_err());
}

#[test]
fn sealed_announcements_do_not_contain_the_key() {
    let (mut m, bobs) = bobs_announcement();
    let key = open_key(&mut m, &bobs);
    assert!(!bobs.windows(8).any(|w| key.windows(8).any(|k| k == w)));
}

fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}

#[test]
fn identity_secrets_announced_keys_and_base_keys_are_zeroized() {
    use zeroize::Zeroize;
    // Wiped on drop: the identity (its `StaticSecret`), an opened key (its
    // `BaseKey`, into which the sealed plaintext is decrypted directly) and
    // base keys.
    zeroized_on_drop::<Identity>();
    zeroized_on_drop::<x25519_dalek::StaticSecret>();
    zeroized_on_drop::<framecrypt::distribute::AnnouncedKey>();
    zeroized_on_drop::<framecrypt::BaseKey>();

    let mut rng = rng(11);
    let mut identity = Identity::generate(&mut rng);
    assert!(identity.expose_secret().iter().any(|&b| b != 0));
    identity.zeroize();
    assert_eq!(identity.expose_secret(), &[0; 32]);

    let (mut m, bobs) = bobs_announcement();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let bob = m.member("bob");
    let mut key = session
        .open_announcement(&bobs, b"bob", &bob.identity, &alice, fresh(0))
        .expect("open");
    assert!(key.expose_secret().iter().any(|&b| b != 0));
    key.zeroize();
    assert!(key.expose_secret().iter().all(|&b| b == 0));
}

/// Compiles only if `T` is not `Clone`.
macro_rules! assert_not_clone {
    ($($t:ty),* $(,)?) => {{
        trait AmbiguousIfClone<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfClone<()> for T {}
        struct IsClone;
        impl<T: ?Sized + Clone> AmbiguousIfClone<IsClone> for T {}
        $( <$t as AmbiguousIfClone<_>>::check(); )*
    }};
}

#[test]
fn secret_holders_are_not_clone() {
    assert_not_clone!(
        Identity,
        framecrypt::distribute::AnnouncedKey,
        KeyDistributor
    );
}

// ---------------------------------------------------------------------
// Issue 16: a leave takes effect by its own activation time, whatever
// follows it.

/// Before the fix, each join restarted the delay of the pending leave:
/// Carol, who left at 1,000 ms, still decrypted at 1,500, 1,800, ...,
/// 5,801 ms.
#[test]
fn joins_every_400_ms_cannot_postpone_a_leave_with_a_500_ms_delay() {
    let names = [
        "j0", "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8", "j9", "j10", "j11",
    ];
    let mut m = Meeting::start_with(&RECEIVERS, &names, delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let mut now = 1_000;
    let mut carol_read_at = Vec::new();
    for name in names {
        now += 400;
        let join = m.join(name, now);
        m.deliver(&[join], now);
        // A frame right after each join, and one at the leave's deadline.
        for at in [now, now + 1, 1_500].into_iter().filter(|&at| at >= now) {
            let frame = m.send(at, "after the leave");
            if at >= 1_500 && m.member("carol").decrypt(at, &frame).is_ok() {
                carol_read_at.push(at);
            }
        }
        assert!(m.distributor.pending_count() <= 2);
    }
    assert!(
        carol_read_at.is_empty(),
        "carol left at 1000 ms (deadline 1500 ms) and still decrypted at {carol_read_at:?}"
    );
    // Every joiner gets in at its own activation time.
    let frame = m.send(now + 500, "everyone");
    let mut expected = vec!["bob", "dave", "erin"];
    expected.extend(names);
    assert_eq!(m.readers(now + 500, &frame, "everyone"), expected);
}

#[test]
fn each_pending_change_switches_at_its_own_activation_time() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank", "gina"], delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    for (name, at) in [("frank", 1_100), ("gina", 1_200)] {
        let join = m.join(name, at);
        m.deliver(&[join], at);
    }
    let d = &mut m.distributor;
    assert_eq!(
        (d.pending_count(), d.pending_activation()),
        (3, Some(1_500))
    );
    assert_eq!(d.announced_key_id(), (1, 2));
    for (at, switched, key) in [
        (1_499, false, (0, 0)),
        (1_500, true, (1, 0)),
        (1_599, false, (1, 0)),
        (1_600, true, (1, 1)),
        (1_700, true, (1, 2)),
        (1_800, false, (1, 2)),
    ] {
        assert_eq!(d.poll(at), switched, "at {at}");
        assert_eq!((d.generation(), d.step()), key, "at {at}");
    }
    assert_eq!((d.pending_count(), d.pending_activation()), (0, None));
}

#[test]
fn a_late_poll_skips_to_the_newest_key_that_is_due() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank", "gina"], delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let frank = m.join("frank", 1_100);
    let gina = m.join("gina", 1_200);
    m.deliver(&[frank, gina], 1_200);
    // Nothing sent until 1,650: the leave's and Frank's keys are both due.
    let frame = m.send(1_650, "late");
    let d = &m.distributor;
    assert_eq!((d.generation(), d.step()), (1, 1));
    assert_eq!(
        (d.pending_count(), d.pending_activation()),
        (1, Some(1_700))
    );
    assert_eq!(
        m.readers(1_650, &frame, "late"),
        ["bob", "dave", "erin", "frank"]
    );
}

#[test]
fn a_shorter_delay_can_bring_a_switch_forward_but_never_back() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(1_000));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    m.distributor.set_activation_delay(0);
    let join = m.join("frank", 1_010);
    m.deliver(&[join], 1_010);
    // The join's key builds on the leave's and is due at once: it
    // supersedes the leave's key, which is never used.
    let d = &m.distributor;
    assert_eq!((d.generation(), d.step()), (1, 1));
    assert_eq!(d.pending_count(), 0);
    let frame = m.send(1_010, "early");
    assert_eq!(
        m.readers(1_010, &frame, "early"),
        ["bob", "dave", "erin", "frank"]
    );
    // A longer delay afterwards does not postpone what is pending.
    m.distributor.set_activation_delay(300);
    let leave = m.leave("bob", 1_100);
    m.deliver(&leave, 1_100);
    m.distributor.set_activation_delay(10_000);
    let join = m.join("carol", 1_200);
    m.deliver(&[join], 1_200);
    assert_eq!(m.distributor.pending_activation(), Some(1_400));
    let frame = m.send(1_400, "bob has left");
    assert_eq!(
        m.readers(1_400, &frame, "bob has left"),
        ["dave", "erin", "frank"]
    );
}

#[test]
fn a_full_queue_merges_the_newest_change_and_postpones_nothing() {
    let joiners: Vec<&'static str> = [
        "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11",
    ]
    .into_iter()
    .take(MAX_PENDING + 3)
    .collect();
    let mut m = Meeting::start_with(&RECEIVERS, &joiners, delay(1_000));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let mut due = vec![(1_000, (1, 0))];
    for (i, name) in joiners.iter().enumerate() {
        let at = 1_010 + 10 * i as u64;
        let join = m.join(name, at);
        due.push((at, (join.generation(), join.step())));
        m.deliver(&[join], at);
        assert!(m.distributor.pending_count() <= MAX_PENDING);
    }
    assert_eq!(m.distributor.pending_count(), MAX_PENDING);
    // Every change is in use (it or a newer key) by its own activation
    // time; the merged ones earlier.
    for &(at, key) in &due {
        m.distributor.poll(at + 1_000);
        let d = &m.distributor;
        assert!(
            (d.generation(), d.step()) >= key,
            "{key:?} not in use at {}",
            at + 1_000
        );
    }
    let last = due.last().expect("changes").0 + 1_000;
    let frame = m.send(last, "all in");
    let mut expected = vec!["bob", "dave", "erin"];
    expected.extend(&joiners);
    assert_eq!(m.readers(last, &frame, "all in"), expected);
}

// ---------------------------------------------------------------------
// Issue 16: announcements carry freshness.

/// The world of the replay: Carol leaves at 1,000 ms; Bob got the new
/// key, Carol kept her old one and can forge Alice's frames under it.
struct Replay {
    m: Meeting,
    bobs_pre_leave: Vec<u8>,
    forged: Vec<u8>,
}

fn replay_after_carol_leaves() -> Replay {
    let mut m = Meeting::start(&RECEIVERS, &[]);
    let announced_to = |m: &Meeting, name: &str| {
        m.started
            .iter()
            .find(|a| a.recipient_id() == name.as_bytes())
            .expect("a member at the start")
            .as_bytes()
            .to_vec()
    };
    let (bobs_pre_leave, carols) = (announced_to(&m, "bob"), announced_to(&m, "carol"));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let carol = m.member("carol");
    let key = session
        .open_announcement(&carols, b"carol", &carol.identity, &alice, fresh(0))
        .expect("carol's own announcement");
    let mut forger = framecrypt::RatchetingSender::new(
        SUITE,
        session.bits(),
        0,
        framecrypt::BaseKey::new(key.expose_secret()).expect("key"),
    )
    .expect("sender");
    let forged = forger
        .seal_to_vec(b"", b"forged by carol")
        .expect("encrypt");
    Replay {
        m,
        bobs_pre_leave,
        forged,
    }
}

/// Before the fix, Bob installed the pre-leave key and accepted Carol's
/// forgery as Alice's frame.
#[test]
fn a_restarted_receiver_refuses_the_pre_leave_announcement_replayed() {
    let Replay {
        mut m,
        bobs_pre_leave,
        forged,
    } = replay_after_carol_leaves();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    // Bob reloads his page two seconds later, well within the maximum age:
    // same identity, no receiver state, his persisted roster version (2).
    // The relay replays his pre-leave announcement and withholds the new
    // one.
    let bob = m.member("bob");
    bob.restart(&session, true);
    assert_eq!(bob.roster_version, 2);
    assert_eq!(
        bob.receive(&session, &alice, &bobs_pre_leave, 2_000),
        Err(Error::AnnouncementSuperseded)
    );
    assert!(
        bob.decrypt(2_000, &forged).is_err(),
        "carol's forgery accepted"
    );
    // Alice reannounces what Bob holds: the new generation only.
    let again = m
        .distributor
        .reannounce(&m.alice_identity, b"bob", 2_100, &mut m.rng)
        .expect("bob is a member");
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].generation(),
            again[0].roster_version(),
            again[0].issued_at_ms()
        ),
        (1, 2, 2_100)
    );
    m.deliver(&again, 2_150);
    let frame = m.send(2_200, "welcome back");
    assert_eq!(
        m.readers(2_200, &frame, "welcome back"),
        ["bob", "dave", "erin"]
    );
    assert!(m.member("bob").decrypt(2_200, &forged).is_err());
}

#[test]
fn a_receiver_with_nothing_persisted_refuses_announcements_older_than_the_maximum_age() {
    let Replay {
        mut m,
        bobs_pre_leave,
        forged,
    } = replay_after_carol_leaves();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    assert_eq!(session.max_announcement_age_ms(), 60_000);
    let bob = m.member("bob");
    // A new device: no roster version. The pre-leave announcement was
    // issued at 0: refused once a minute has passed...
    bob.restart(&session, false);
    assert_eq!(
        bob.receive(&session, &alice, &bobs_pre_leave, 60_001),
        Err(Error::AnnouncementExpired)
    );
    assert!(bob.decrypt(60_001, &forged).is_err());
    // ...and within the minute accepted: the documented bound for a
    // receiver that persisted nothing.
    assert_eq!(
        bob.receive(&session, &alice, &bobs_pre_leave, 60_000),
        Ok((0, 0))
    );
    // Issued too far in the future for the receiver's clock.
    let late_session = session.clone().with_max_announcement_age(500);
    let bob = m.member("bob");
    bob.restart(&session, false);
    let early_clock = Freshness {
        now_ms: 0,
        min_roster_version: 0,
    };
    let leave_for_bob = m
        .distributor
        .reannounce(&m.alice_identity, b"bob", 1_000, &mut m.rng)
        .expect("member");
    let bob = m.member("bob");
    let result = late_session.open_announcement(
        leave_for_bob[0].as_bytes(),
        b"bob",
        &bob.identity,
        &alice,
        early_clock,
    );
    assert_eq!(result.map(|_| ()), Err(Error::AnnouncementExpired));
    let result = late_session.open_announcement(
        leave_for_bob[0].as_bytes(),
        b"bob",
        &bob.identity,
        &alice,
        Freshness {
            now_ms: 500,
            ..early_clock
        },
    );
    assert_eq!(result.map(|k| k.generation()), Ok(1));
}

#[test]
fn announcements_carry_the_roster_version_of_their_change_and_the_issue_time() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(500));
    assert!(
        m.started
            .iter()
            .all(|a| (a.roster_version(), a.issued_at_ms()) == (1, 0))
    );
    let leave = m.leave("carol", 1_000);
    assert!(
        leave
            .iter()
            .all(|a| (a.roster_version(), a.issued_at_ms()) == (2, 1_000))
    );
    let join = m.join("frank", 1_100);
    assert_eq!((join.roster_version(), join.issued_at_ms()), (3, 1_100));
    let header = AnnouncementHeader::parse(join.as_bytes()).expect("parse");
    assert_eq!((header.roster_version(), header.issued_at_ms()), (3, 1_100));
    assert_eq!(m.distributor.roster_version(), 3);
    m.deliver(&leave, 1_000);
    m.deliver(&[join], 1_100);
    assert_eq!(m.member("frank").roster_version, 3);
    assert_eq!(m.member("bob").roster_version, 2);
}

#[test]
fn reannounce_seals_again_what_the_member_holds_and_nothing_older() {
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let join = m.join("frank", 1_100);
    m.deliver(&[join], 1_100);
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let again = |m: &mut Meeting, name: &str, now: u64| {
        m.distributor
            .reannounce(&m.alice_identity, name.as_bytes(), now, &mut m.rng)
            .expect("member")
    };
    // Bob, there from the start: the key in use (generation 0) and both
    // pending keys, oldest first, each with its own roster version.
    let bobs = again(&mut m, "bob", 1_200);
    let keys: Vec<_> = bobs
        .iter()
        .map(|a| {
            (
                a.generation(),
                a.step(),
                a.roster_version(),
                a.issued_at_ms(),
            )
        })
        .collect();
    assert_eq!(keys, [(0, 0, 1, 1_200), (1, 0, 2, 1_200), (1, 1, 3, 1_200)]);
    // Frank joined at (1, 1): nothing older.
    let franks = again(&mut m, "frank", 1_200);
    let keys: Vec<_> = franks.iter().map(|a| (a.generation(), a.step())).collect();
    assert_eq!(keys, [(1, 1)]);
    // Restarted without his roster version, Bob installs all three in
    // order and reads the grace period's frames and then the new ones.
    let bob = m.member("bob");
    bob.restart(&session, false);
    for (announcement, at) in bobs.iter().zip([(0, 0), (1, 0), (1, 1)]) {
        assert_eq!(
            bob.receive(&session, &alice, announcement.as_bytes(), 1_250),
            Ok(at)
        );
    }
    let frame = m.send(1_300, "grace");
    assert_eq!(
        m.member("bob").decrypt(1_300, &frame).as_deref(),
        Ok(&b"grace"[..])
    );
    let frame = m.send(1_600, "after");
    assert_eq!(
        m.readers(1_600, &frame, "after"),
        ["bob", "dave", "erin", "frank"]
    );
    // After the switches, only the key in use.
    let bobs = again(&mut m, "bob", 1_700);
    let keys: Vec<_> = bobs.iter().map(|a| (a.generation(), a.step())).collect();
    assert_eq!(keys, [(1, 1)]);
    // With his roster version persisted (3), a restarted Bob refuses the
    // reannounced pre-leave key and takes the rest.
    let mut m = Meeting::start_with(&RECEIVERS, &["frank"], delay(500));
    let leave = m.leave("carol", 1_000);
    m.deliver(&leave, 1_000);
    let bobs = again(&mut m, "bob", 1_100);
    let bob = m.member("bob");
    bob.restart(&session, true);
    assert_eq!(
        bob.receive(&session, &alice, bobs[0].as_bytes(), 1_150),
        Err(Error::AnnouncementSuperseded)
    );
    assert_eq!(
        bob.receive(&session, &alice, bobs[1].as_bytes(), 1_150),
        Ok((1, 0))
    );
    // Not a member, or not Alice.
    let mut rng = rng(12);
    let stranger = Identity::generate(&mut rng);
    let d = &mut m.distributor;
    assert_eq!(
        d.reannounce(&m.alice_identity, b"carol", 1_200, &mut rng)
            .map(|_| ()),
        Err(Error::InvalidParameter)
    );
    assert_eq!(
        d.reannounce(&stranger, b"bob", 1_200, &mut rng).map(|_| ()),
        Err(Error::InvalidParameter)
    );
}

#[test]
fn the_freshness_checks_come_after_the_routing_checks_and_before_hpke() {
    let (m, bobs) = bobs_announcement();
    let (session, alice) = (m.session.clone(), m.alice.clone());
    let bob = m.members.iter().find(|x| x.name == "bob").expect("bob");
    let stale = Freshness {
        now_ms: 1_000_000,
        min_roster_version: 2,
    };
    let open = |bytes: &[u8], id: &[u8], freshness| {
        session
            .open_announcement(bytes, id, &bob.identity, &alice, freshness)
            .map(|_| ())
    };
    assert_eq!(open(&bobs, b"dave", stale), Err(Error::WrongRecipient));
    assert_eq!(
        open(&bobs, b"bob", stale),
        Err(Error::AnnouncementSuperseded)
    );
    assert_eq!(
        open(
            &bobs,
            b"bob",
            Freshness {
                min_roster_version: 1,
                ..stale
            }
        ),
        Err(Error::AnnouncementExpired)
    );
    // A forged header that claims a newer roster and time is refused by
    // HPKE, as any altered byte.
    let forged = rewrite(&bobs, |f| {
        f.roster_version = 2;
        f.issued_at_ms = 1_000_000;
    });
    assert_eq!(
        open(&forged, b"bob", stale),
        Err(Error::AuthenticationFailed)
    );
}
