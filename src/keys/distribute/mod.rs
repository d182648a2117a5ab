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
//!   `R`; every announcement names them.
//! - [`KeyDistributor`]: one sender. It owns the sender's
//!   [`RatchetingSender`](crate::RatchetingSender) and the roster, and
//!   returns one [`KeyAnnouncement`] per recipient whenever keys change:
//!
//!   | event | sender's key | announced to |
//!   |---|---|---|
//!   | [`start`](KeyDistributor::start) | fresh, generation 0, step 0 | every member |
//!   | [`join`](KeyDistributor::join) | one ratchet step (§5.1) | the joiner only |
//!   | [`leave`](KeyDistributor::leave) | fresh, generation + 1, step 0 | the remaining members |
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
//!   recipient) without a key, for routing.
//!
//! ```
//! use framecrypt::distribute::{Identity, KeyDistributor, Participant, Session};
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
//!
//! // Alice starts sending and announces her key to the roster.
//! let (mut sender, announcements) =
//!     KeyDistributor::start(session.clone(), b"alice", &alice_identity, vec![bob], &mut rng)?;
//!
//! // Bob opens his announcement and installs it into his receiver for Alice.
//! let mut from_alice = session.receiver::<4, 2>();
//! session
//!     .open_announcement(announcements[0].as_bytes(), b"bob", &bob_identity, &alice)?
//!     .install(&mut from_alice, 0)?;
//!
//! let frame = sender.at(10).seal_to_vec(b"", b"hello")?;
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
//! # Byte format, version 1
//!
//! All integers are big-endian. `a`, `b`, `c` are 1 to 255. `Nh` is the
//! hash length of the SFrame cipher suite (32 or 64): every key sent is a
//! fresh `Nh`-byte key or a ratchet step's output, which is `Nh` bytes too
//! (RFC 9605 §5.1), so the length is fixed and truncation is visible.
//!
//! ```text
//! offset       size  field
//! 0            1     version = 0x01
//! 1            2     SFrame cipher suite (RFC 9605 §4.5)
//! 3            1     R, the KID's ratchet bits (RFC 9605 §5.1), 1..=63
//! 4            8     KID generation (fits 64 − R bits)
//! 12           8     ratchet step (the full value, not mod 2^R)
//! 20           1     a = length of the session ID
//! 21           a     session ID
//! 21+a         1     b = length of the sender's participant ID
//! 22+a         b     sender ID
//! 22+a+b       1     c = length of the recipient's participant ID
//! 23+a+b       c     recipient ID
//! 23+a+b+c     32    enc, the HPKE encapsulated key (Nenc of DHKEM(X25519))
//! 55+a+b+c     Nh+16 the base key sealed with AES-128-GCM, tag last
//! ```
//!
//! The first `23+a+b+c` bytes are the *header*. HPKE runs in mode_auth
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
//! cipher suite, `R`, the generation and the ratchet step. Change any of
//! them and the announcement no longer opens. Auth mode adds the sender's
//! and recipient's identity keys (RFC 9180 §4.1, `AuthEncap`).
//!
//! # What a receiver refuses
//!
//! | announcement | error |
//! |---|---|
//! | truncated, padded, unknown version | [`Error::MalformedAnnouncement`](crate::Error::MalformedAnnouncement) |
//! | for another session, suite or `R` | [`Error::WrongSession`](crate::Error::WrongSession) |
//! | for another recipient (misdirected) | [`Error::WrongRecipient`](crate::Error::WrongRecipient) |
//! | naming another sender | [`Error::WrongSender`](crate::Error::WrongSender) |
//! | any byte altered, re-addressed, or sealed by another identity | [`Error::AuthenticationFailed`](crate::Error::AuthenticationFailed) |
//! | the key already installed, again | [`Error::AnnouncementReplayed`](crate::Error::AnnouncementReplayed) |
//! | an older generation or step than installed | [`Error::StaleKey`](crate::Error::StaleKey) |
//!
//! HPKE itself has no replay protection; the last two rows come from the
//! receiver's state, because keys only move forward.
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
//! decrypt anything yet (it only holds the next step). A delay therefore
//! trades a bounded stretch of forward and post-compromise secrecy for no
//! gap at the remaining receivers. Keep it short (the announcement's
//! round trip, say hundreds of milliseconds) and below the receivers'
//! [`Retention::max_age_ms`](crate::Retention): receivers retire the old
//! key when they install the new one, and it must outlive the delay.
//! Switch with a key frame ([`KeyDistributor::poll`] says when).
//!
//! # Security notes
//!
//! - The header travels in the clear: relays see who announces to whom,
//!   in which session, and how often keys change (as SFrame KIDs already
//!   show, RFC 9605 §9.2).
//! - Auth mode authenticates the sender's identity key, but not against
//!   someone who holds the *recipient's* identity secret, who can forge
//!   announcements to that recipient (key-compromise impersonation, RFC
//!   9180 §9.1.1). Whoever later obtains a recipient's identity secret can
//!   open every announcement ever sealed to it: there is no forward
//!   secrecy against that. Rotate identity keys (e.g. per session) if that
//!   matters.
//! - Any member holding a sender's key can still forge that sender's
//!   frames (RFC 9605 §7.2): distribution authenticates keys, not media.

use core::fmt;

use alloc::vec::Vec;

use crate::error::Error;
use crate::keys::ratchet::{RatchetBits, RatchetingReceiver};
use crate::suite::CipherSuite;

mod announcement;
mod distributor;
mod identity;

pub use announcement::{AnnouncedKey, AnnouncementHeader};
pub use distributor::{KeyAnnouncement, KeyDistributor};
pub use identity::{Identity, IdentityPublicKey, Participant};

/// The version byte of the announcement format above.
pub const VERSION: u8 = 1;

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

/// A meeting as the key distribution sees it: its ID, and the SFrame
/// cipher suite and ratchet bits `R` every sender uses in it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Session {
    id: Vec<u8>,
    suite: CipherSuite,
    bits: RatchetBits,
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
        })
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
            .finish()
    }
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
