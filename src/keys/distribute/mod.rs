//! Key distribution without MLS: each sender seals its RFC 9605 §5.1
//! sender key to every current member with HPKE (RFC 9180, auth mode),
//! ratchets on a join and starts a new generation on a leave (RFC 9605
//! §7.3: keys change when clients join or leave).
//!
//! Feature `distribute` (needs `alloc`; builds without `std`).
//!
//! # Pieces
//!
//! - [`Identity`]: a participant's long-term X25519 key pair (RFC 7748;
//!   `x25519-dalek`, wiped on drop), and [`IdentityPublicKey`], its 32-byte
//!   public key. A [`Participant`] pairs a public key with the ID the
//!   application knows the participant by; the application vouches for
//!   that binding (its login or directory service).
//! - [`Session`]: the meeting's ID, SFrame cipher suite and ratchet bits
//!   `R`, which every announcement names, and the maximum announcement age
//!   receivers accept.
//! - [`KeyDistributor`]: one sender. It owns the sender's
//!   [`RatchetingSender`](crate::RatchetingSender) and the roster, and
//!   returns one [`KeyAnnouncement`] per recipient whenever keys change:
//!
//!   | event | sender's key | announced to |
//!   |---|---|---|
//!   | [`start`](KeyDistributor::start) | fresh, generation 0, step 0 | every member |
//!   | [`join`](KeyDistributor::join) | one ratchet step (§5.1) | the joiner only |
//!   | [`leave`](KeyDistributor::leave) | fresh, generation + 1, step 0 | the remaining members |
//!   | [`reannounce`](KeyDistributor::reannounce) | unchanged | one member that lost its keys |
//!
//!   A joiner receives the *current* step's key, from which earlier steps
//!   cannot be derived: it cannot decrypt frames sent before it joined.
//!   The members already present need nothing: their
//!   [`RatchetingReceiver`](crate::RatchetingReceiver)s ratchet forward on
//!   the first frame of the new step. A departed member never receives the
//!   fresh key of the next generation.
//! - Receiving: [`Session::open_announcement`] checks and opens an
//!   announcement into an [`AnnouncedKey`], which
//!   [`AnnouncedKey::install`] puts into the receiver for that sender.
//!   [`AnnouncementHeader::parse`] reads the clear header (session, sender,
//!   recipient, roster version, issue time) without a key, for routing.
//!
//! ```
//! use framecrypt::distribute::{Freshness, Identity, KeyDistributor, Participant, Session};
//! use framecrypt::prelude::*;
//! use framecrypt::{CipherSuite, RatchetBits};
//!
//! # fn main() -> Result<(), framecrypt::Error> {
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng); // any CryptoRng
//! let session = Session::new(b"meeting-42", CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?)?;
//! let alice_identity = Identity::generate(&mut rng);
//! let alice = Participant::new(b"alice", alice_identity.public_key())?;
//! let bob_identity = Identity::generate(&mut rng);
//! let bob = Participant::new(b"bob", bob_identity.public_key())?;
//! let now_ms = 1_767_225_600_000; // the application's wall clock (Unix time, ms)
//! let roster_version = 1; // the application's number for this roster
//!
//! // Alice starts sending and announces her key to the roster.
//! let (mut sender, announcements) = KeyDistributor::start(
//!     session.clone(), b"alice", &alice_identity, vec![bob], roster_version, now_ms, &mut rng,
//! )?;
//!
//! // Bob opens his announcement and installs it into his receiver for Alice.
//! // He checks it against his clock and the newest roster version he knows.
//! let freshness = Freshness { now_ms: now_ms + 40, min_roster_version: 1 };
//! let mut from_alice = session.receiver::<4, 2>();
//! let key = session.open_announcement(
//!     announcements[0].as_bytes(), b"bob", &bob_identity, &alice, freshness,
//! )?;
//! let persist = key.roster_version(); // store the highest one with Bob's identity
//! key.install(&mut from_alice, 0)?;
//! # assert_eq!(persist, 1);
//!
//! let frame = sender.at(now_ms + 50).seal_to_vec(b"", b"hello")?;
//! let (_, plaintext) = from_alice.at(10).open_to_vec(b"", &frame)?;
//! assert_eq!(plaintext, b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! Randomness comes in as an argument: any `rand_core` 0.10
//! `CryptoRng` (the version `hpke` 0.15 and `x25519-dalek` 3 use). Time
//! comes in as `now_ms`.
//!
//! # Freshness: what the application supplies
//!
//! HPKE has no replay protection, and which key a receiver holds is
//! receiver state, lost when it restarts (a page reload). A relay that
//! replays a sender's announcement from before a removal, and withholds
//! the new one, would otherwise get a restarted receiver to install a key
//! the removed member also holds, and accept that member's forged frames
//! as the sender's. So every announcement carries two values in its
//! header, bound into what is sealed (HPKE's `info`):
//!
//! - **The roster version** of the change that made the key: `start`,
//!   `join` and `leave` take it from the application. It numbers the
//!   roster changes of the session, the same numbers at every participant
//!   (for example a counter kept by the server that orders joins and
//!   leaves), **one number per change and increasing**: two leaves at once
//!   take two numbers. A [`KeyDistributor`] refuses a number not above the
//!   previous one ([`Error::InvalidParameter`](crate::Error::InvalidParameter)).
//!   A reannounced key keeps the number it was made with.
//! - **The issue time**: the `now_ms` of the call that sealed it, the
//!   application's wall clock in milliseconds (Unix time, say), the same
//!   clock at every participant give or take their skew. The activation
//!   delay runs on it too.
//!
//! A receiver passes a [`Freshness`] to [`Session::open_announcement`],
//! which accepts an announcement only if
//!
//! ```text
//! roster_version ≥ freshness.min_roster_version
//! |issued_at_ms − freshness.now_ms| ≤ session.max_announcement_age_ms()
//! ```
//!
//! and then only if HPKE authenticates it; [`AnnouncedKey::install`] then
//! refuses a key that is not newer than the receiver's. The receiver's
//! application supplies:
//!
//! - `now_ms`: its wall clock, on the senders' scale.
//! - `min_roster_version`, **per sender**: the higher of the roster
//!   version of the newest key installed from that sender
//!   ([`AnnouncedKey::roster_version`]) and that of the newest removal the
//!   source the application trusts for the roster (the one that tells it
//!   who is in the meeting) reported. **Persist both with the identity**
//!   (where its secret is kept: the browser's IndexedDB, the device's key
//!   store) and never lower them. Keep the first per sender: announcements
//!   of different senders arrive in any order, and one sender's key for a
//!   join must not make another sender's earlier, still valid key look
//!   superseded. Raising the floor for joins too is safe for a receiver
//!   that restarts, but then it waits for each sender to announce a key of
//!   that change.
//! - the maximum age, on the [`Session`]
//!   ([`Session::with_max_announcement_age`], default
//!   [`DEFAULT_MAX_ANNOUNCEMENT_AGE_MS`]): above the time announcements
//!   take to arrive plus the clock skew between participants.
//!
//! What that guarantees:
//!
//! - A receiver that restarts with its persisted roster version refuses,
//!   with [`Error::AnnouncementSuperseded`](crate::Error::AnnouncementSuperseded),
//!   every announcement of a key made before the newest change it knew of,
//!   however recent: in particular the replayed pre-leave announcement.
//! - A receiver with nothing persisted (a new device, cleared storage)
//!   refuses, with [`Error::AnnouncementExpired`](crate::Error::AnnouncementExpired),
//!   every announcement sealed more than the maximum age ago (or that far
//!   in the future): a relay can make it install a superseded key only
//!   within the maximum age of that key's last announcement.
//!
//! And what it costs: announcements expire, so a member that restarts
//! needs the sender to [`reannounce`](KeyDistributor::reannounce) (it asks
//! through the application's signalling); a restarted receiver whose
//! roster version is above a sender's newest key (the sender has not
//! processed that change yet, or its key for it is still pending) cannot
//! read that sender until its next key, and one that restarts during a
//! leave's activation delay reads the sender only from the switch on.
//!
//! # Byte format, version 2
//!
//! All integers are big-endian. `a`, `b`, `c` are 1 to 255. `Nh` is the
//! hash length of the SFrame cipher suite (32 or 64): every key sent is a
//! fresh `Nh`-byte key or a ratchet step's output, which is `Nh` bytes too
//! (RFC 9605 §5.1), so the length is fixed and truncation is visible.
//!
//! ```text
//! offset       size  field
//! 0            1     version = 0x02
//! 1            2     SFrame cipher suite (RFC 9605 §4.5)
//! 3            1     R, the KID's ratchet bits (RFC 9605 §5.1), 1..=63
//! 4            8     KID generation (fits 64 − R bits)
//! 12           8     ratchet step (the full value, not mod 2^R)
//! 20           8     roster version of the change that made the key
//! 28           8     issue time, milliseconds on the sender's clock
//! 36           1     a = length of the session ID
//! 37           a     session ID
//! 37+a         1     b = length of the sender's participant ID
//! 38+a         b     sender ID
//! 38+a+b       1     c = length of the recipient's participant ID
//! 39+a+b       c     recipient ID
//! 39+a+b+c     32    enc, the HPKE encapsulated key (Nenc of DHKEM(X25519))
//! 71+a+b+c     Nh+16 the base key sealed with AES-128-GCM, tag last
//! ```
//!
//! Version 1 (without the roster version and issue time) is refused as
//! malformed: its announcements could be replayed to a restarted receiver.
//!
//! The first `39+a+b+c` bytes are the *header*. HPKE runs in mode_auth
//! (0x02, RFC 9180 §5.1.3) with DHKEM(X25519, HKDF-SHA256) (0x0020),
//! HKDF-SHA256 (0x0001) and AES-128-GCM (0x0001), one message per
//! encapsulation:
//!
//! ```text
//! info      = "framecrypt key announcement" || header
//! aad       = ""
//! plaintext = base key of (generation, step)
//! enc, ct   = SealAuth(pkR = recipient, info, aad, plaintext, skS = sender)
//! ```
//!
//! Binding the whole header as `info` puts every field into the key
//! schedule: the protocol label (no other use of the same identity keys
//! can produce an announcement), the version, the session, both IDs, the
//! cipher suite, `R`, the generation, the ratchet step, the roster version
//! and the issue time. Change any of them and the announcement no longer
//! opens. Auth mode adds the sender's and recipient's identity keys (RFC
//! 9180 §4.1, `AuthEncap`).
//!
//! # What a receiver refuses
//!
//! | announcement | error |
//! |---|---|
//! | truncated, padded, unknown version | [`Error::MalformedAnnouncement`](crate::Error::MalformedAnnouncement) |
//! | for another session, suite or `R` | [`Error::WrongSession`](crate::Error::WrongSession) |
//! | for another recipient (misdirected) | [`Error::WrongRecipient`](crate::Error::WrongRecipient) |
//! | naming another sender | [`Error::WrongSender`](crate::Error::WrongSender) |
//! | made for a roster older than the receiver's newest | [`Error::AnnouncementSuperseded`](crate::Error::AnnouncementSuperseded) |
//! | issued more than the maximum age before or after now | [`Error::AnnouncementExpired`](crate::Error::AnnouncementExpired) |
//! | any byte altered, re-addressed, or sealed by another identity | [`Error::AuthenticationFailed`](crate::Error::AuthenticationFailed) |
//! | the key already installed, again | [`Error::AnnouncementReplayed`](crate::Error::AnnouncementReplayed) |
//! | an older generation or step than installed | [`Error::StaleKey`](crate::Error::StaleKey) |
//!
//! The first six rows come from the clear header, checked in that order
//! before HPKE runs (altering those fields only gets an announcement
//! refused, as dropping it would); the last two from the receiver's state,
//! because keys only move forward.
//!
//! # Delayed activation: the trade-off
//!
//! Announcements travel on another path than media (RFC 9605 §6.2). If the
//! sender switches keys at once, frames under the new key can reach a
//! member before its announcement does; they fail with
//! [`Error::UnknownKeyId`](crate::Error::UnknownKeyId) and are lost (for
//! video, until the next key frame). With
//! [`KeyDistributor::with_activation_delay`] the sender announces at once
//! but keeps sending under the old key for the delay, so that members
//! have the new key before it is used.
//!
//! The price is RFC 9605 §7.3's reason for changing keys at all: for the
//! length of the delay, a member who has *left* can still decrypt what the
//! sender sends (the old generation is still in use), and a joiner cannot
//! decrypt anything yet (it only holds the next step). The stretch is
//! bounded by each change's own activation time, which later changes
//! never postpone: from a leave's activation time on, nothing is sealed
//! under a key the departed member holds ([`KeyDistributor`] states the
//! guarantee exactly). A delay therefore trades a bounded stretch of
//! forward and post-compromise secrecy for no gap at the remaining
//! receivers. Keep it short (the announcement's round trip, say hundreds
//! of milliseconds) and below the receivers'
//! [`Retention::max_age_ms`](crate::Retention): receivers retire the old
//! key when they install the new one, and it must outlive the delay.
//! Switch with a key frame ([`KeyDistributor::poll`] says when).
//!
//! # Security notes
//!
//! - The header travels in the clear: relays see who announces to whom,
//!   in which session, how often keys change (as SFrame KIDs already
//!   show, RFC 9605 §9.2), the roster version and when each announcement
//!   was sealed.
//! - Auth mode authenticates the sender's identity key, but not against
//!   someone who holds the *recipient's* identity secret, who can forge
//!   announcements to that recipient (key-compromise impersonation, RFC
//!   9180 §9.1.1). Whoever later obtains a recipient's identity secret can
//!   open every announcement ever sealed to it: there is no forward
//!   secrecy against that. Rotate identity keys (e.g. per session) if that
//!   matters.
//! - Any member holding a sender's key can still forge that sender's
//!   frames (RFC 9605 §7.2): distribution authenticates keys, not media.
//!   A receiver also keeps a superseded key for its retention time
//!   ([`Retention`](crate::Retention)) for late frames, during which a
//!   departed member can still forge frames under it.

use core::fmt;

use alloc::vec::Vec;

use crate::error::Error;
use crate::keys::ratchet::{RatchetBits, RatchetingReceiver};
use crate::suite::CipherSuite;

mod announcement;
mod distributor;
mod identity;

pub use announcement::{AnnouncedKey, AnnouncementHeader};
pub use distributor::{KeyAnnouncement, KeyDistributor, MAX_PENDING};
pub use identity::{Identity, IdentityPublicKey, Participant};

/// The version byte of the announcement format above.
pub const VERSION: u8 = 2;

/// The maximum announcement age of a new [`Session`], in milliseconds
/// (one minute).
pub const DEFAULT_MAX_ANNOUNCEMENT_AGE_MS: u64 = 60_000;

/// The protocol label that starts HPKE's `info`.
pub const LABEL: &[u8] = b"framecrypt key announcement";

/// The longest session or participant ID, in bytes (one length byte).
pub const MAX_ID_LEN: usize = 255;

/// DHKEM(X25519, HKDF-SHA256), RFC 9180 §7.1.
type Kem = hpke::kem::X25519HkdfSha256;
/// HKDF-SHA256, RFC 9180 §7.2.
type Kdf = hpke::kdf::HkdfSha256;
/// AES-128-GCM, RFC 9180 §7.3.
type Aead = hpke::aead::AesGcm128;

/// A meeting as the key distribution sees it: its ID, the SFrame cipher
/// suite and ratchet bits `R` every sender uses in it, and how old an
/// announcement its receivers accept.
///
/// ```
/// use framecrypt::distribute::Session;
/// use framecrypt::{CipherSuite, RatchetBits};
///
/// let session = Session::new(b"meeting-42", CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?)?
///     .with_max_announcement_age(30_000);
/// assert_eq!(session.id(), b"meeting-42");
/// let receiver = session.receiver::<4, 2>(); // one per remote sender
/// assert_eq!(receiver.bits(), session.bits());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Session {
    id: Vec<u8>,
    suite: CipherSuite,
    bits: RatchetBits,
    max_announcement_age_ms: u64,
}

impl Session {
    /// The session `id` (1 to 255 bytes; unique per meeting, so that an
    /// announcement of one meeting is refused in another).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `id` is empty or longer than 255
    /// bytes.
    pub fn new(id: &[u8], suite: CipherSuite, bits: RatchetBits) -> Result<Self, Error> {
        identity::check_id(id)?;
        Ok(Self {
            id: id.to_vec(),
            suite,
            bits,
            max_announcement_age_ms: DEFAULT_MAX_ANNOUNCEMENT_AGE_MS,
        })
    }

    /// Receivers accept announcements issued at most `max_age_ms` before
    /// or after their clock (default [`DEFAULT_MAX_ANNOUNCEMENT_AGE_MS`]).
    /// Allow for the time announcements take to arrive and for the clock
    /// skew between participants; the smaller it is, the shorter a
    /// receiver with no persisted roster version can be fooled by a replay
    /// (see the module documentation).
    #[must_use]
    pub const fn with_max_announcement_age(mut self, max_age_ms: u64) -> Self {
        self.max_announcement_age_ms = max_age_ms;
        self
    }

    /// The maximum announcement age, in milliseconds.
    #[must_use]
    pub const fn max_announcement_age_ms(&self) -> u64 {
        self.max_announcement_age_ms
    }

    /// The session ID.
    #[must_use]
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The SFrame cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// `R`.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.bits
    }

    /// A receiver for one sender of this session, with no key yet and the
    /// defaults of [`RatchetingReceiver::new`].
    #[must_use]
    pub fn receiver<const N: usize, const W: usize>(&self) -> RatchetingReceiver<N, W> {
        RatchetingReceiver::new(self.suite, self.bits)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &IdDebug(&self.id))
            .field("suite", &self.suite)
            .field("bits", &self.bits)
            .field("max_announcement_age_ms", &self.max_announcement_age_ms)
            .finish()
    }
}

/// What a receiver knows when it opens an announcement
/// ([`Session::open_announcement`]): its clock, and the newest roster
/// version it has seen. The module documentation says where each comes
/// from.
///
/// ```
/// # use framecrypt::distribute::{Identity, KeyDistributor, Participant, Session};
/// # use framecrypt::{CipherSuite, Error, RatchetBits};
/// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// # let session = Session::new(b"m", CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?)?;
/// # let alice_identity = Identity::generate(&mut rng);
/// # let alice = Participant::new(b"alice", alice_identity.public_key())?;
/// # let bob_identity = Identity::generate(&mut rng);
/// # let bob = Participant::new(b"bob", bob_identity.public_key())?;
/// use framecrypt::distribute::Freshness;
///
/// let issued = 1_767_225_600_000; // Unix ms
/// let (_, sealed) =
///     KeyDistributor::start(session.clone(), b"alice", &alice_identity, vec![bob], 4, issued, &mut rng)?;
/// let open = |freshness| {
///     session.open_announcement(sealed[0].as_bytes(), b"bob", &bob_identity, &alice, freshness)
/// };
/// // A receiver that knows of roster version 5 refuses a key of version 4...
/// let newer = Freshness { now_ms: issued, min_roster_version: 5 };
/// assert_eq!(open(newer).err(), Some(Error::AnnouncementSuperseded));
/// // ...and everyone refuses one older than the session's maximum age.
/// let later = Freshness { now_ms: issued + 3_600_000, min_roster_version: 0 };
/// assert_eq!(open(later).err(), Some(Error::AnnouncementExpired));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Freshness {
    /// The receiver's wall clock in milliseconds, on the scale of the
    /// senders' `now_ms` (Unix time, say).
    pub now_ms: u64,
    /// For the sender whose announcement is opened: the higher of the
    /// roster version of the newest key installed from it and that of the
    /// newest removal the roster source reported, persisted with the
    /// identity and never lowered (see the module documentation).
    /// Announcements of an older roster are refused.
    pub min_roster_version: u64,
}

/// Shows an ID as text when it is printable UTF-8, else as hex.
struct IdDebug<'a>(&'a [u8]);

impl fmt::Debug for IdDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.0) {
            Ok(text) if !text.chars().any(char::is_control) => write!(f, "{text:?}"),
            _ => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}
