//! One sender's key announcements as the roster changes: start, join,
//! leave, and the optional delayed switch to the announced key.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;

use super::announcement::{AnnouncementHeader, seal};
use super::identity::{Identity, IdentityPublicKey, Participant, check_id};
use super::{IdDebug, Session};
use crate::error::Error;
use crate::ids::{Counter, KeyId};
use crate::keys::ratchet::{RatchetingSender, next_base_key};
use crate::roles::{Seal, SealAt};
use crate::secret::BaseKey;
use crate::sender::Sender;

/// One sealed base key for one recipient: send [`Self::as_bytes`] to the
/// participant [`Self::recipient_id`] over any channel (the signalling
/// server may read and relay it; it cannot open or alter it).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyAnnouncement {
    recipient_id: Vec<u8>,
    generation: u64,
    step: u64,
    bytes: Vec<u8>,
}

impl KeyAnnouncement {
    /// Whom it is for.
    #[must_use]
    pub fn recipient_id(&self) -> &[u8] {
        &self.recipient_id
    }

    /// The KID generation of the key it carries.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The ratchet step of the key it carries.
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.step
    }

    /// The announcement in the byte format of the module documentation.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The announcement bytes, owned.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl fmt::Debug for KeyAnnouncement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAnnouncement")
            .field("recipient_id", &IdDebug(&self.recipient_id))
            .field("generation", &self.generation)
            .field("step", &self.step)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A key that has been announced but is not yet used for sending.
struct PendingKey {
    generation: u64,
    step: u64,
    base_key: BaseKey,
    activate_at: u64,
}

/// One sender's side of key distribution: owns its [`RatchetingSender`]
/// and the roster of current recipients, and produces the
/// [`KeyAnnouncement`]s each membership change needs (RFC 9605 §5.1 keys,
/// rotated as §7.3 asks):
///
/// - [`Self::start`]: a fresh base key, generation 0, to every member;
/// - [`Self::join`]: one ratchet step; the new step's key goes to the
///   joiner only (the others derive it themselves; the joiner cannot go
///   back);
/// - [`Self::leave`]: a fresh base key for the next generation, to the
///   remaining members only.
///
/// With an activation delay ([`Self::with_activation_delay`]) a new key is
/// announced at once but used for sending only once the delay has passed;
/// [`Self::poll`] (and every `encrypt`) makes the switch. The module
/// documentation discusses the trade-off.
pub struct KeyDistributor {
    session: Session,
    own_id: Vec<u8>,
    own_key: IdentityPublicKey,
    members: Vec<Participant>,
    sender: RatchetingSender,
    activation_delay_ms: u64,
    pending: Option<PendingKey>,
}

impl KeyDistributor {
    /// Starts sending in `session` as participant `own_id` with
    /// `identity`: a fresh base key (`Nh` bytes from `rng`) at generation 0,
    /// step 0, in use at once, and one announcement of it for each of
    /// `members` (the other participants; `own_id` is not among them).
    ///
    /// A sender always starts at generation 0. One that restarts in the
    /// same session (and lost its state) is refused by receivers that hold
    /// a key of this sender already ([`Error::StaleKey`] or
    /// [`Error::AnnouncementReplayed`]): join under a new participant ID
    /// or session ID instead.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `own_id` is empty or longer than 255
    /// bytes, or `members` holds `own_id` or an ID twice.
    pub fn start<R: CryptoRng + ?Sized>(
        session: Session,
        own_id: &[u8],
        identity: &Identity,
        members: Vec<Participant>,
        rng: &mut R,
    ) -> Result<(Self, Vec<KeyAnnouncement>), Error> {
        check_id(own_id)?;
        for (i, member) in members.iter().enumerate() {
            if member.id() == own_id || members[..i].iter().any(|m| m.id() == member.id()) {
                return Err(Error::InvalidParameter);
            }
        }
        let base_key = fresh_base_key(&session, rng);
        let announcements = seal_to(&session, own_id, identity, &members, 0, 0, &base_key, rng)?;
        let sender = RatchetingSender::new(session.suite(), session.bits(), 0, base_key)?;
        let distributor = Self {
            session,
            own_id: own_id.to_vec(),
            own_key: identity.public_key(),
            members,
            sender,
            activation_delay_ms: 0,
            pending: None,
        };
        Ok((distributor, announcements))
    }

    /// Announced keys are used for sending only `delay_ms` milliseconds
    /// after they were announced (0, the default, switches at once). Keep
    /// it below the receivers' [`crate::Retention::max_age_ms`]: a
    /// receiver retires its old key when it installs the new one, and the
    /// sender keeps using the old key for `delay_ms` more.
    #[must_use]
    pub const fn with_activation_delay(mut self, delay_ms: u64) -> Self {
        self.activation_delay_ms = delay_ms;
        self
    }

    /// Sets the activation delay for changes from now on (see
    /// [`Self::with_activation_delay`]); a key already pending keeps its
    /// activation time.
    pub const fn set_activation_delay(&mut self, delay_ms: u64) {
        self.activation_delay_ms = delay_ms;
    }

    /// `participant` joins at `now_ms`: the key is ratcheted one step
    /// (RFC 9605 §5.1) and only the joiner gets the new step's key, so it
    /// cannot decrypt anything sent under earlier steps. The members
    /// already present need no announcement: their receivers ratchet
    /// forward on the first frame of the new step.
    ///
    /// The step builds on the newest announced key, which may still be
    /// pending.
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`]: `identity` is not the one the
    ///   distributor started with, or the participant's ID is already in
    ///   the roster or is the sender's own.
    /// - [`Error::KeyIdExhausted`]: the ratchet step counter is at its
    ///   maximum.
    ///
    /// On error the roster and keys are unchanged, apart from a switch
    /// that was due anyway ([`Self::poll`] runs first, so that a change
    /// never postpones an earlier one).
    pub fn join<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        participant: Participant,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<KeyAnnouncement, Error> {
        self.check_identity(identity)?;
        if participant.id() == self.own_id.as_slice()
            || self.members.iter().any(|m| m.id() == participant.id())
        {
            return Err(Error::InvalidParameter);
        }
        self.poll(now_ms);
        let (generation, step, base_key) = self.announced();
        let step = step.checked_add(1).ok_or(Error::KeyIdExhausted)?;
        let base_key = next_base_key(self.session.suite(), base_key);
        let announcement = seal_to(
            &self.session,
            &self.own_id,
            identity,
            core::slice::from_ref(&participant),
            generation,
            step,
            &base_key,
            rng,
        )?
        .pop()
        .ok_or(Error::InvalidParameter)?;
        self.members.push(participant);
        self.schedule(generation, step, base_key, now_ms);
        Ok(announcement)
    }

    /// The participant `id` leaves at `now_ms`: a fresh base key (`Nh`
    /// bytes from `rng`) starts the next generation and is announced to
    /// the remaining members only, so the departed member cannot derive
    /// it (RFC 9605 §5.1, §7.3).
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`]: `identity` is not the one the
    ///   distributor started with, or `id` is not in the roster.
    /// - [`Error::KeyIdExhausted`]: the next generation does not fit the
    ///   `64 − R` generation bits of the KID.
    ///
    /// On error the roster and keys are unchanged, apart from a switch
    /// that was due anyway ([`Self::poll`] runs first).
    pub fn leave<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        id: &[u8],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<KeyAnnouncement>, Error> {
        self.check_identity(identity)?;
        let index = self
            .members
            .iter()
            .position(|m| m.id() == id)
            .ok_or(Error::InvalidParameter)?;
        self.poll(now_ms);
        let generation = self
            .announced()
            .0
            .checked_add(1)
            .filter(|&g| g <= self.session.bits().max_generation())
            .ok_or(Error::KeyIdExhausted)?;
        let base_key = fresh_base_key(&self.session, rng);
        let remaining: Vec<Participant> = self
            .members
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != index)
            .map(|(_, m)| m.clone())
            .collect();
        let announcements = seal_to(
            &self.session,
            &self.own_id,
            identity,
            &remaining,
            generation,
            0,
            &base_key,
            rng,
        )?;
        self.members = remaining;
        self.schedule(generation, 0, base_key, now_ms);
        Ok(announcements)
    }

    /// Switches to the announced key if its activation time has come;
    /// returns whether it switched. A switch is a good moment for a video
    /// key frame (RFC 9605 §6.2): receivers that had to wait for the new
    /// key can decode from it.
    pub fn poll(&mut self, now_ms: u64) -> bool {
        let due = matches!(&self.pending, Some(p) if now_ms >= p.activate_at);
        if !due {
            return false;
        }
        let Some(pending) = self.pending.take() else {
            return false;
        };
        let PendingKey {
            generation,
            step,
            base_key,
            ..
        } = pending;
        // The key has never been used, so its counter starts at 0. The
        // generation was checked to fit when it was announced (`leave`),
        // so `resume` cannot fail.
        match RatchetingSender::resume(
            self.session.suite(),
            self.session.bits(),
            generation,
            step,
            base_key,
            Counter(0),
        ) {
            Ok(sender) => {
                self.sender = sender;
                true
            }
            Err(_) => false,
        }
    }

    /// When the announced key will be used, if it is not used yet.
    #[must_use]
    pub fn pending_activation(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.activate_at)
    }

    /// The newest announced `(generation, step)`: the pending key's, else
    /// the key in use.
    #[must_use]
    pub fn announced_key_id(&self) -> (u64, u64) {
        let (generation, step, _) = self.announced();
        (generation, step)
    }

    /// The generation used for sending now.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.sender.generation()
    }

    /// The ratchet step used for sending now.
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.sender.step()
    }

    /// The KID of the key used for sending now.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.sender.kid()
    }

    /// The sender in use (read-only: ratcheting or rekeying it directly
    /// would skip the announcements).
    #[must_use]
    pub const fn sender(&self) -> &RatchetingSender {
        &self.sender
    }

    /// The session.
    #[must_use]
    pub const fn session(&self) -> &Session {
        &self.session
    }

    /// The sender's own participant ID.
    #[must_use]
    pub fn own_id(&self) -> &[u8] {
        &self.own_id
    }

    /// The current recipients, in the order they were added.
    #[must_use]
    pub fn members(&self) -> &[Participant] {
        &self.members
    }

    /// The configured activation delay.
    #[must_use]
    pub const fn activation_delay_ms(&self) -> u64 {
        self.activation_delay_ms
    }

    fn check_identity(&self, identity: &Identity) -> Result<(), Error> {
        if identity.public_key() != self.own_key {
            return Err(Error::InvalidParameter);
        }
        Ok(())
    }

    /// The newest announced key: pending, else in use.
    fn announced(&self) -> (u64, u64, &BaseKey) {
        match &self.pending {
            Some(p) => (p.generation, p.step, &p.base_key),
            None => (
                self.sender.generation(),
                self.sender.step(),
                self.sender.current_base_key(),
            ),
        }
    }

    /// Makes `(generation, step)` the newest announced key, used from
    /// `now_ms + delay`; with no delay, at once. A newer change replaces
    /// a pending one (whose key is wiped), restarting the delay: its
    /// recipients need the time too.
    fn schedule(&mut self, generation: u64, step: u64, base_key: BaseKey, now_ms: u64) {
        self.pending = Some(PendingKey {
            generation,
            step,
            base_key,
            activate_at: now_ms.saturating_add(self.activation_delay_ms),
        });
        self.poll(now_ms);
    }
}

/// Sealed as `distributor.at(now_ms)`: switches to the announced key if
/// its activation time has come ([`KeyDistributor::poll`]), then seals with
/// the key in use. Take the frame size from the same `at(now_ms)` (its
/// [`crate::Seal::next_frame_len`]): a switch can change the KID and so the
/// header length.
impl SealAt for KeyDistributor {
    fn current_sender_at(&mut self, now_ms: u64) -> Result<&mut Sender, Error> {
        self.poll(now_ms);
        self.sender.current_sender()
    }
}

impl fmt::Debug for KeyDistributor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyDistributor")
            .field("session", &self.session)
            .field("own_id", &IdDebug(&self.own_id))
            .field("own_key", &self.own_key)
            .field("members", &self.members)
            .field("sender", &self.sender)
            .field("activation_delay_ms", &self.activation_delay_ms)
            .field(
                "pending",
                &self
                    .pending
                    .as_ref()
                    .map(|p| (p.generation, p.step, p.activate_at)),
            )
            .finish()
    }
}

/// `Nh` random bytes: the length a ratchet step produces (RFC 9605 §5.1).
fn fresh_base_key<R: CryptoRng + ?Sized>(session: &Session, rng: &mut R) -> BaseKey {
    let mut base_key = BaseKey::zeroed(session.suite().hash_len());
    rng.fill_bytes(base_key.expose_secret_mut());
    base_key
}

/// One announcement of `base_key` for each of `recipients`.
#[allow(clippy::too_many_arguments)]
fn seal_to<R: CryptoRng + ?Sized>(
    session: &Session,
    own_id: &[u8],
    identity: &Identity,
    recipients: &[Participant],
    generation: u64,
    step: u64,
    base_key: &BaseKey,
    rng: &mut R,
) -> Result<Vec<KeyAnnouncement>, Error> {
    recipients
        .iter()
        .map(|recipient| {
            let header = AnnouncementHeader::new(session, own_id, recipient.id(), generation, step);
            Ok(KeyAnnouncement {
                recipient_id: recipient.id().to_vec(),
                generation,
                step,
                bytes: seal(&header, identity, &recipient.public_key(), base_key, rng)?,
            })
        })
        .collect()
}
