//! The announcement byte format (version 2) and HPKE sealing and opening
//! of one base key (RFC 9180 §6.1, auth mode), with the receiver's
//! freshness checks.

use alloc::vec::Vec;
use core::fmt;

use hpke::aead::AeadTag;
use hpke::inout::InOutBuf;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::identity::{Identity, IdentityPublicKey, check_id};
use super::{Aead, Freshness, IdDebug, Kdf, Kem, LABEL, Session, VERSION};
use crate::error::Error;
use crate::keys::ratchet::{RatchetBits, RatchetShare, RatchetingReceiver};
use crate::secret::BaseKey;
use crate::suite::CipherSuite;

/// `Nenc` of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1).
pub(super) const ENC_LEN: usize = 32;
/// `Nt` of AES-128-GCM (RFC 9180 §7.3).
pub(super) const TAG_LEN: usize = 16;
/// Version, suite, R, generation, step, roster version and issue time.
const FIXED_LEN: usize = 1 + 2 + 1 + 8 + 8 + 8 + 8;

/// The clear part of an announcement (everything before `enc`), which is
/// also what HPKE binds as `info` after the protocol label.
///
/// [`Self::parse`] reads it without any key, so that an application can
/// route an announcement (which session, which sender) before opening it.
/// Nothing in it is authenticated until the announcement is opened.
///
/// ```
/// # use framecrypt::distribute::{Freshness, Identity, KeyDistributor, Participant, Session};
/// # use framecrypt::{CipherSuite, RatchetBits};
/// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// # let session = Session::new(b"m", CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?)?;
/// # let alice_identity = Identity::generate(&mut rng);
/// # let alice = Participant::new(b"alice", alice_identity.public_key())?;
/// # let bob_identity = Identity::generate(&mut rng);
/// # let bob = Participant::new(b"bob", bob_identity.public_key())?;
/// # let now_ms = 1_767_225_600_000;
/// use framecrypt::distribute::AnnouncementHeader;
///
/// let (_, sealed) =
///     KeyDistributor::start(session, b"alice", &alice_identity, vec![bob], 1, now_ms, &mut rng)?;
/// let header = AnnouncementHeader::parse(sealed[0].as_bytes())?;
/// assert_eq!((header.sender_id(), header.recipient_id()), (&b"alice"[..], &b"bob"[..]));
/// assert_eq!((header.generation(), header.roster_version()), (0, 1));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AnnouncementHeader<'a> {
    suite: CipherSuite,
    bits: RatchetBits,
    generation: u64,
    step: u64,
    roster_version: u64,
    issued_at_ms: u64,
    session_id: &'a [u8],
    sender_id: &'a [u8],
    recipient_id: &'a [u8],
}

impl<'a> AnnouncementHeader<'a> {
    /// The header of `announcement`, checking the whole announcement's
    /// layout (the version byte, every length, and that exactly `enc` and
    /// a sealed key of `Nh` bytes follow the header).
    ///
    /// # Errors
    /// [`Error::MalformedAnnouncement`] if any of that does not hold.
    pub fn parse(announcement: &'a [u8]) -> Result<Self, Error> {
        Ok(Self::split(announcement)?.0)
    }

    /// The header, its length, and the sealed body (`enc || ct || tag`).
    pub(super) fn split(announcement: &'a [u8]) -> Result<(Self, usize, &'a [u8]), Error> {
        let mut r = Reader(announcement);
        if r.u8()? != VERSION {
            return Err(Error::MalformedAnnouncement);
        }
        let suite = CipherSuite::from_id(r.u16()?).map_err(|_| Error::MalformedAnnouncement)?;
        let bits =
            RatchetBits::new(u32::from(r.u8()?)).map_err(|_| Error::MalformedAnnouncement)?;
        let generation = r.u64()?;
        let step = r.u64()?;
        let roster_version = r.u64()?;
        let issued_at_ms = r.u64()?;
        if generation > bits.max_generation() {
            return Err(Error::MalformedAnnouncement);
        }
        let header = Self {
            suite,
            bits,
            generation,
            step,
            roster_version,
            issued_at_ms,
            session_id: r.id()?,
            sender_id: r.id()?,
            recipient_id: r.id()?,
        };
        // Every key sent is `Nh` bytes (a fresh key, or a ratchet step's
        // output), so the length is fixed and a truncation is visible.
        let body = r.0;
        if body.len() != ENC_LEN + suite.hash_len() + TAG_LEN {
            return Err(Error::MalformedAnnouncement);
        }
        Ok((header, announcement.len() - body.len(), body))
    }

    /// The header for a new announcement; IDs are checked by the caller's
    /// types ([`Session`], [`super::Participant`]).
    pub(super) fn new(
        session: &'a Session,
        sender_id: &'a [u8],
        recipient_id: &'a [u8],
        generation: u64,
        step: u64,
        roster_version: u64,
        issued_at_ms: u64,
    ) -> Self {
        Self {
            suite: session.suite(),
            bits: session.bits(),
            generation,
            step,
            roster_version,
            issued_at_ms,
            session_id: session.id(),
            sender_id,
            recipient_id,
        }
    }

    /// The encoded length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        FIXED_LEN + 3 + self.session_id.len() + self.sender_id.len() + self.recipient_id.len()
    }

    /// Always `false`: a header has at least its fixed fields.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Appends the encoding (the module documentation's table).
    fn write(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        // R <= 63 by construction of `RatchetBits`.
        out.push(u8::try_from(self.bits.get()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.step.to_be_bytes());
        out.extend_from_slice(&self.roster_version.to_be_bytes());
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        for id in [self.session_id, self.sender_id, self.recipient_id] {
            // IDs are 1..=255 bytes by construction (`check_id`).
            out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(id);
        }
    }

    /// The SFrame cipher suite the key is for.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// `R`, the ratchet bits of the sender's KIDs.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.bits
    }

    /// The KID generation of the key.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The ratchet step of the key (the full value).
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.step
    }

    /// The roster version of the change that made the key (supplied by
    /// the sender's application).
    #[must_use]
    pub const fn roster_version(&self) -> u64 {
        self.roster_version
    }

    /// When the announcement was sealed, on the sender's clock
    /// (milliseconds, the application's wall clock).
    #[must_use]
    pub const fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
    }

    /// The session (meeting) ID.
    #[must_use]
    pub const fn session_id(&self) -> &'a [u8] {
        self.session_id
    }

    /// The sender's participant ID.
    #[must_use]
    pub const fn sender_id(&self) -> &'a [u8] {
        self.sender_id
    }

    /// The recipient's participant ID.
    #[must_use]
    pub const fn recipient_id(&self) -> &'a [u8] {
        self.recipient_id
    }
}

impl fmt::Debug for AnnouncementHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnnouncementHeader")
            .field("suite", &self.suite)
            .field("bits", &self.bits)
            .field("generation", &self.generation)
            .field("step", &self.step)
            .field("roster_version", &self.roster_version)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("session_id", &IdDebug(self.session_id))
            .field("sender_id", &IdDebug(self.sender_id))
            .field("recipient_id", &IdDebug(self.recipient_id))
            .finish()
    }
}

/// A bounds-checked cursor; every shortfall is a malformed announcement.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, tail) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(Error::MalformedAnnouncement)?;
        self.0 = tail;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.take()?))
    }

    /// A length byte and that many bytes, 1 to 255.
    fn id(&mut self) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u8()?);
        if len > self.0.len() {
            return Err(Error::MalformedAnnouncement);
        }
        let (id, rest) = self.0.split_at(len);
        check_id(id).map_err(|_| Error::MalformedAnnouncement)?;
        self.0 = rest;
        Ok(id)
    }
}

/// `info` for HPKE: the protocol label, then the header bytes (which begin
/// with the version byte).
fn info(header: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(LABEL.len() + header.len());
    info.extend_from_slice(LABEL);
    info.extend_from_slice(header);
    info
}

/// Seals `base_key` to `recipient` under `header` (RFC 9180 §6.1
/// `SealAuth(pkR, info, aad = "", pt, skS)`).
pub(super) fn seal<R: CryptoRng + ?Sized>(
    header: &AnnouncementHeader<'_>,
    sender: &Identity,
    recipient: &IdentityPublicKey,
    base_key: &BaseKey,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let key = base_key.expose_secret();
    // The format carries exactly `Nh` key bytes.
    if key.len() != header.suite.hash_len() {
        return Err(Error::InvalidKeyLength);
    }
    let mut out = Vec::with_capacity(header.len() + ENC_LEN + key.len() + TAG_LEN);
    header.write(&mut out);
    let info = info(&out);
    let mode = OpModeS::Auth((sender.hpke_private_key()?, sender.public_key().hpke()?));
    // `&mut R` is itself a `CryptoRng`, and sized, as `hpke` needs.
    let mut rng = rng;
    // Encapsulation fails only for a low-order recipient key, which
    // `IdentityPublicKey::from_bytes` refuses.
    let (enc, mut context) =
        hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&mode, &recipient.hpke()?, &info, &mut rng)
            .map_err(|_| Error::InvalidParameter)?;
    out.extend_from_slice(&enc.to_bytes());
    let start = out.len();
    // The capacity was reserved above: no reallocation leaves a copy of
    // the key behind.
    out.extend_from_slice(key);
    match context.seal_inout_detached(InOutBuf::from(&mut out[start..]), b"") {
        Ok(tag) => {
            out.extend_from_slice(&tag.to_bytes());
            Ok(out)
        }
        Err(_) => {
            // A fresh context cannot hit its message limit; should it fail
            // anyway, the buffer may still hold the key.
            out.zeroize();
            Err(Error::InvalidParameter)
        }
    }
}

/// Opens the sealed body under `header_bytes` (RFC 9180 §6.1
/// `OpenAuth(enc, skR, info, aad = "", ct, pkS)`). The plaintext is
/// decrypted straight into a [`BaseKey`], so it lives only in memory that
/// is wiped on drop, whether or not it authenticates.
fn open(
    header_bytes: &[u8],
    body: &[u8],
    recipient: &Identity,
    sender: &IdentityPublicKey,
) -> Result<BaseKey, Error> {
    let (enc, sealed) = body
        .split_at_checked(ENC_LEN)
        .ok_or(Error::MalformedAnnouncement)?;
    let (ciphertext, tag) = sealed
        .split_at_checked(sealed.len().saturating_sub(TAG_LEN))
        .ok_or(Error::MalformedAnnouncement)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| Error::MalformedAnnouncement)?;
    let tag = AeadTag::<Aead>::from_bytes(tag).map_err(|_| Error::MalformedAnnouncement)?;
    let mode = OpModeR::Auth(sender.hpke()?);
    // A low-order `enc` (all-zero DH) fails here: no detail is given.
    let mut context = hpke::setup_receiver::<Aead, Kdf, Kem>(
        &mode,
        &recipient.hpke_private_key()?,
        &enc,
        &info(header_bytes),
    )
    .map_err(|_| Error::AuthenticationFailed)?;
    // `split` checked `Nh` bytes, which a `BaseKey` holds.
    let mut key = BaseKey::zeroed(ciphertext.len());
    key.expose_secret_mut().copy_from_slice(ciphertext);
    context
        .open_inout_detached(InOutBuf::from(key.expose_secret_mut()), b"", &tag)
        .map_err(|_| Error::AuthenticationFailed)?;
    Ok(key)
}

impl Session {
    /// Opens `announcement`, addressed to `recipient_id` (with identity
    /// `recipient`) by `sender`, and returns the key it carries, if it is
    /// fresh by `freshness` (what this receiver knows: its clock and the
    /// newest roster version; see the module documentation).
    ///
    /// The clear header is checked first, so that a misrouted or stale
    /// announcement gets a precise error without costing an HPKE open;
    /// then HPKE authenticates all of it: the sealed key, every header
    /// field (bound as `info`) and the sender's identity key (auth mode).
    ///
    /// # Errors
    /// In this order:
    /// - [`Error::MalformedAnnouncement`]: see [`AnnouncementHeader::parse`].
    /// - [`Error::WrongSession`]: the session ID, cipher suite or ratchet
    ///   bits differ from this session's.
    /// - [`Error::WrongRecipient`]: addressed to another participant.
    /// - [`Error::WrongSender`]: it names another sender than `sender`.
    /// - [`Error::AnnouncementSuperseded`]: its roster version is below
    ///   [`Freshness::min_roster_version`].
    /// - [`Error::AnnouncementExpired`]: its issue time is more than
    ///   [`Self::max_announcement_age_ms`] before or after
    ///   [`Freshness::now_ms`].
    /// - [`Error::AuthenticationFailed`]: anything was altered, it was not
    ///   sealed to `recipient`, or not by `sender`'s identity key. No
    ///   detail is given.
    ///
    /// Whether the key is newer than the one in use is checked when it is
    /// installed ([`AnnouncedKey::install`]).
    pub fn open_announcement(
        &self,
        announcement: &[u8],
        recipient_id: &[u8],
        recipient: &Identity,
        sender: &super::Participant,
        freshness: Freshness,
    ) -> Result<AnnouncedKey, Error> {
        let (header, header_len, body) = AnnouncementHeader::split(announcement)?;
        if header.session_id != self.id()
            || header.suite != self.suite()
            || header.bits != self.bits()
        {
            return Err(Error::WrongSession);
        }
        if header.recipient_id != recipient_id {
            return Err(Error::WrongRecipient);
        }
        if header.sender_id != sender.id() {
            return Err(Error::WrongSender);
        }
        if header.roster_version < freshness.min_roster_version {
            return Err(Error::AnnouncementSuperseded);
        }
        if header.issued_at_ms.abs_diff(freshness.now_ms) > self.max_announcement_age_ms() {
            return Err(Error::AnnouncementExpired);
        }
        let base_key = open(
            &announcement[..header_len],
            body,
            recipient,
            &sender.public_key(),
        )?;
        Ok(AnnouncedKey {
            share: RatchetShare::new(
                header.suite,
                header.bits,
                header.generation,
                header.step,
                base_key,
            ),
            roster_version: header.roster_version,
            issued_at_ms: header.issued_at_ms,
        })
    }
}

/// A sender's base key for `(generation, step)`, opened from an
/// announcement: install it into that sender's [`RatchetingReceiver`]. It
/// is the sender's [`RatchetShare`] with the announcement's freshness
/// stamp.
///
/// Wiped on drop (the share wipes itself), not `Clone`, redacted in
/// `Debug`.
///
/// ```
/// # use framecrypt::distribute::{Freshness, Identity, KeyDistributor, Participant, Session};
/// # use framecrypt::{CipherSuite, RatchetBits};
/// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// # let session = Session::new(b"m", CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?)?;
/// # let alice_identity = Identity::generate(&mut rng);
/// # let alice = Participant::new(b"alice", alice_identity.public_key())?;
/// # let bob_identity = Identity::generate(&mut rng);
/// # let bob = Participant::new(b"bob", bob_identity.public_key())?;
/// # let now_ms = 1_767_225_600_000;
/// let (_, sealed) =
///     KeyDistributor::start(session.clone(), b"alice", &alice_identity, vec![bob], 3, now_ms, &mut rng)?;
/// let fresh = Freshness { now_ms: now_ms + 20, min_roster_version: 3 };
/// let key = session.open_announcement(sealed[0].as_bytes(), b"bob", &bob_identity, &alice, fresh)?;
/// assert_eq!((key.generation(), key.step(), key.roster_version()), (0, 0, 3));
/// let mut from_alice = session.receiver::<4, 2>();
/// key.install(&mut from_alice, 20)?;
/// assert_eq!(from_alice.generation(), Some(0));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Debug)]
pub struct AnnouncedKey {
    share: RatchetShare,
    roster_version: u64,
    issued_at_ms: u64,
}

impl ZeroizeOnDrop for AnnouncedKey {}

impl Zeroize for AnnouncedKey {
    fn zeroize(&mut self) {
        self.share.zeroize();
    }
}

impl AnnouncedKey {
    /// The KID generation.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.share.generation()
    }

    /// The ratchet step.
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.share.step()
    }

    /// The roster version of the change that made the key. Persist the
    /// highest one installed from each sender as part of the receiver's
    /// [`Freshness::min_roster_version`] for that sender (see the module
    /// documentation).
    #[must_use]
    pub const fn roster_version(&self) -> u64 {
        self.roster_version
    }

    /// When the announcement was sealed, on the sender's clock.
    #[must_use]
    pub const fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.share.suite()
    }

    /// `R`.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.share.bits()
    }

    /// The key as receivers install it, without the freshness stamp (for
    /// [`RatchetingReceiver::install_share`]; [`Self::install`] also
    /// refuses the same key twice).
    #[must_use]
    pub fn into_share(self) -> RatchetShare {
        self.share
    }

    /// The base key's bytes. Whatever they are copied into must be
    /// zeroized by its owner.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.share.expose_secret()
    }

    /// Installs the key into `receiver` (the receiver for the sender that
    /// announced it) at time `now_ms`: it becomes the current key and the
    /// one in use so far is retained for late frames
    /// ([`RatchetingReceiver::install_share`]).
    ///
    /// # Errors
    /// - [`Error::AnnouncementReplayed`]: the receiver already uses exactly
    ///   this `(generation, step)`, e.g. the same announcement delivered
    ///   twice.
    /// - [`Error::StaleKey`]: the receiver already uses a newer
    ///   `(generation, step)` (an old announcement, replayed or late).
    /// - [`Error::InvalidParameter`]: the receiver's cipher suite or `R`
    ///   differ from the announcement's.
    ///
    /// On any error the receiver is unchanged and the key is wiped.
    pub fn install<const N: usize, const W: usize>(
        self,
        receiver: &mut RatchetingReceiver<N, W>,
        now_ms: u64,
    ) -> Result<(), Error> {
        if receiver.suite() != self.suite() || receiver.bits() != self.bits() {
            return Err(Error::InvalidParameter);
        }
        if receiver.generation() == Some(self.generation()) && receiver.step() == Some(self.step())
        {
            return Err(Error::AnnouncementReplayed);
        }
        receiver.install_share(self.share, now_ms)
    }
}
