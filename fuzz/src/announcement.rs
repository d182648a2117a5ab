//! The `announcement` target: key announcements of `framecrypt::distribute`
//! (X25519 identities, HPKE auth mode) — arbitrary bytes, and genuine
//! announcements edited — opened by a member. Never panics; opens only
//! what the sender sealed to that member, refusing everything else with
//! the documented error in the documented order (malformed, wrong
//! session, wrong recipient, wrong sender, superseded, expired,
//! authentication); a genuine announcement too old for the receiver's
//! clock or roster version is refused as such; and the key an untouched,
//! fresh announcement carries decrypts the sender's frames.
//!
//! The world is deterministic (fixed identities, a seeded RNG, a fixed
//! clock): Alice starts sending to Bob and Carol (roster version 1), Dave
//! joins (2: a ratchet step announced to him alone), Carol leaves (3: a new
//! generation announced to Bob and Dave).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use arbitrary::Arbitrary;
use framecrypt::distribute::{
    AnnouncementHeader, Freshness, Identity, KeyDistributor, Participant, Session,
};
use framecrypt::prelude::*;
use framecrypt::{CipherSuite, Error, RatchetBits, RatchetingReceiver};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::{seed_enum, seed_struct};

/// One case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct AnnouncementInput<'a> {
    /// What to do.
    pub mode: AnnouncementMode,
    /// What the receiver knows.
    pub receiver: Receiving,
    /// The announcement, or the bytes XORed into a genuine one.
    pub data: &'a [u8],
}

impl crate::seed::Seed for AnnouncementInput<'_> {
    fn seed(&self, out: &mut Vec<u8>) {
        self.mode.seed(out);
        self.receiver.seed(out);
        out.extend_from_slice(self.data);
    }
}

/// The receiver's [`Freshness`].
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receiving {
    /// Its clock: [`START_MS`] plus this many 10-second steps.
    pub clock: i8,
    /// The lowest roster version it accepts (the world's are 1 to 3).
    pub floor: u8,
}
seed_struct!(Receiving { clock, floor });

impl Receiving {
    /// What it knows, as `open_announcement` takes it.
    #[must_use]
    pub fn freshness(self) -> Freshness {
        let offset = i64::from(self.clock) * 10_000;
        Freshness {
            now_ms: START_MS.saturating_add_signed(offset),
            min_roster_version: u64::from(self.floor),
        }
    }
}

/// Forged or edited.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum AnnouncementMode {
    /// `data` is an announcement to Bob.
    Forge {
        /// The session's suite, modulo 8.
        suite: u8,
        /// The session's `R`, `1 + bits % 63`.
        bits: u8,
    },
    /// A genuine announcement with `data` XORed in from `at`, then maybe
    /// cut short.
    Edit {
        /// The session's suite, modulo 8.
        suite: u8,
        /// The session's `R`, `1 + bits % 63`.
        bits: u8,
        /// Which genuine announcement (modulo their number).
        which: u8,
        /// Where the XOR starts (modulo the length).
        at: u16,
        /// The length it is cut to (modulo the length plus one).
        cut: Option<u16>,
    },
}
seed_enum!(AnnouncementMode[
    Forge { suite, bits },
    Edit { suite, bits, which, at, cut },
]);

const SESSION_ID: &[u8] = b"fuzz session";
const SENDER_ID: &[u8] = b"alice";
/// When Alice starts, on the world's clock (2026-01-01, Unix time in ms);
/// Dave joins 10 ms later and Carol leaves 20 ms later.
pub const START_MS: u64 = 1_767_225_600_000;

/// A member's name and fixed identity.
fn member(name: &[u8]) -> (Identity, Participant) {
    let identity = Identity::from_secret_bytes([name[0]; 32]);
    let participant = Participant::new(name, identity.public_key()).expect("short ID");
    (identity, participant)
}

/// One genuine announcement, and a frame the key it carries decrypts.
struct Genuine {
    bytes: Vec<u8>,
    recipient: &'static [u8],
    at: (u64, u64),
    frame: Vec<u8>,
}

/// Everything sealed in one session.
struct World {
    session: Session,
    genuine: Vec<Genuine>,
}

thread_local! {
    /// Worlds by (suite, R): deterministic, so shared by all inputs.
    static WORLDS: RefCell<HashMap<(u16, u32), Rc<World>>> = RefCell::default();
}

fn world(suite: CipherSuite, bits: RatchetBits) -> Rc<World> {
    WORLDS.with(|worlds| {
        Rc::clone(
            worlds
                .borrow_mut()
                .entry((suite.id(), bits.get()))
                .or_insert_with(|| Rc::new(build(suite, bits))),
        )
    })
}

fn build(suite: CipherSuite, bits: RatchetBits) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(9605);
    let session = Session::new(SESSION_ID, suite, bits).expect("valid session");
    let (alice, _) = member(SENDER_ID);
    let (_, bob) = member(b"bob");
    let (_, carol) = member(b"carol");
    let (_, dave) = member(b"dave");
    let mut genuine = Vec::new();
    let (mut distributor, start) = KeyDistributor::start(
        session.clone(),
        SENDER_ID,
        &alice,
        vec![bob, carol],
        1,
        START_MS,
        &mut rng,
    )
    .expect("start");
    let frame = distributor
        .at(START_MS)
        .seal_to_vec(b"", b"step 0")
        .expect("encrypt");
    for (announcement, recipient) in start.iter().zip([&b"bob"[..], b"carol"]) {
        genuine.push(Genuine {
            bytes: announcement.as_bytes().to_vec(),
            recipient,
            at: (0, 0),
            frame: frame.clone(),
        });
    }
    let join = distributor
        .join(&alice, dave, 2, START_MS + 10, &mut rng)
        .expect("join");
    let frame = distributor
        .at(START_MS + 10)
        .seal_to_vec(b"", b"step 1")
        .expect("encrypt");
    genuine.push(Genuine {
        bytes: join.as_bytes().to_vec(),
        recipient: b"dave",
        at: (0, 1),
        frame,
    });
    match distributor.leave(&alice, b"carol", 3, START_MS + 20, &mut rng) {
        Ok(leave) => {
            let frame = distributor
                .at(START_MS + 20)
                .seal_to_vec(b"", b"generation 1")
                .expect("encrypt");
            for (announcement, recipient) in leave.iter().zip([&b"bob"[..], b"dave"]) {
                genuine.push(Genuine {
                    bytes: announcement.as_bytes().to_vec(),
                    recipient,
                    at: (1, 0),
                    frame: frame.clone(),
                });
            }
        }
        // R = 63 leaves one generation bit: generation 1 still fits.
        Err(e) => panic!("leave: {e:?}"),
    }
    World { session, genuine }
}

/// The error `open_announcement` must give `bytes` addressed to
/// `recipient`, by its documented order, when it is not genuine.
fn expected_error(
    session: &Session,
    bytes: &[u8],
    recipient: &[u8],
    freshness: Freshness,
) -> Error {
    let Ok(header) = AnnouncementHeader::parse(bytes) else {
        return Error::MalformedAnnouncement;
    };
    if header.session_id() != session.id()
        || header.suite() != session.suite()
        || header.bits() != session.bits()
    {
        Error::WrongSession
    } else if header.recipient_id() != recipient {
        Error::WrongRecipient
    } else if header.sender_id() != SENDER_ID {
        Error::WrongSender
    } else {
        stale(session, &header, freshness).unwrap_or(Error::AuthenticationFailed)
    }
}

/// Why a receiver that knows `freshness` refuses an announcement with
/// `header`, whatever else is right with it: the two rules of the module
/// documentation, in its order.
fn stale(
    session: &Session,
    header: &AnnouncementHeader<'_>,
    freshness: Freshness,
) -> Option<Error> {
    if header.roster_version() < freshness.min_roster_version {
        Some(Error::AnnouncementSuperseded)
    } else if header.issued_at_ms().abs_diff(freshness.now_ms) > session.max_announcement_age_ms() {
        Some(Error::AnnouncementExpired)
    } else {
        None
    }
}

/// Runs one case; panics on a library panic or a broken rule. Returns
/// what opening gave: the key's `(generation, step)` or the error.
///
/// # Errors
/// The refusal, as `open_announcement` (or `install`) gave it.
///
/// # Panics
/// As above.
pub fn run(input: &AnnouncementInput<'_>) -> Result<(u64, u64), Error> {
    let freshness = input.receiver.freshness();
    match input.mode {
        AnnouncementMode::Forge { suite, bits } => {
            let world = world(crate::suite(suite), ratchet_bits(bits));
            let genuine = world
                .genuine
                .iter()
                .find(|g| g.recipient == b"bob" && g.bytes == input.data);
            open(&world, input.data, b"bob", genuine, freshness)
        }
        AnnouncementMode::Edit {
            suite,
            bits,
            which,
            at,
            cut,
        } => {
            let world = world(crate::suite(suite), ratchet_bits(bits));
            let original = &world.genuine[usize::from(which) % world.genuine.len()];
            let mut edited = original.bytes.clone();
            let start = usize::from(at) % edited.len();
            for (byte, x) in edited[start..].iter_mut().zip(input.data) {
                *byte ^= x;
            }
            if let Some(cut) = cut {
                edited.truncate(usize::from(cut) % (edited.len() + 1));
            }
            let genuine = (edited == original.bytes).then_some(original);
            open(&world, &edited, original.recipient, genuine, freshness)
        }
    }
}

/// The genuine announcements of the session for `(suite, bits)` (as
/// [`AnnouncementMode`] chooses them), for the seed corpus.
#[must_use]
pub fn genuine_announcements(suite: u8, bits: u8) -> Vec<Vec<u8>> {
    let world = world(crate::suite(suite), ratchet_bits(bits));
    world.genuine.iter().map(|g| g.bytes.clone()).collect()
}

fn ratchet_bits(choice: u8) -> RatchetBits {
    RatchetBits::new(1 + u32::from(choice) % 63).expect("1..=63")
}

/// Opens `bytes` as `recipient` knowing `freshness`: it must open exactly
/// when it is `genuine` and fresh, and then carry the key that decrypts
/// the sender's frame; a genuine one that is not fresh is refused as such.
fn open(
    world: &World,
    bytes: &[u8],
    recipient: &'static [u8],
    genuine: Option<&Genuine>,
    freshness: Freshness,
) -> Result<(u64, u64), Error> {
    let header = AnnouncementHeader::parse(bytes);
    let (identity, _) = member(recipient);
    let (_, alice) = member(SENDER_ID);
    let result = world
        .session
        .open_announcement(bytes, recipient, &identity, &alice, freshness);
    match (genuine, result) {
        (Some(g), Ok(key)) => {
            assert_eq!((key.generation(), key.step()), g.at);
            assert_eq!(
                header
                    .ok()
                    .and_then(|h| stale(&world.session, &h, freshness)),
                None
            );
            let mut receiver: RatchetingReceiver<4, 2> = world.session.receiver();
            key.install(&mut receiver, 0)
                .expect("a fresh receiver installs");
            receiver
                .at(0)
                .open_to_vec(b"", &g.frame)
                .expect("the announced key decrypts the sender's frame");
            Ok(g.at)
        }
        (Some(_), Err(e)) => {
            let why = header
                .ok()
                .and_then(|h| stale(&world.session, &h, freshness));
            assert_eq!(Some(e), why, "a genuine, fresh announcement was refused");
            Err(e)
        }
        (None, Ok(key)) => panic!(
            "opened an announcement the sender did not seal to {}: {key:?}",
            String::from_utf8_lossy(recipient)
        ),
        (None, Err(e)) => {
            assert_eq!(
                e,
                expected_error(&world.session, bytes, recipient, freshness),
                "error order"
            );
            Err(e)
        }
    }
}
