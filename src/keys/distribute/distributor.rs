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
///     KeyDistributor::start(session, b"alice", &alice_identity, vec![bob], 1, now_ms, &mut rng)?;
/// assert_eq!(sealed[0].recipient_id(), b"bob");
/// assert_eq!((sealed[0].generation(), sealed[0].step()), (0, 0));
/// assert!(format!("{:?}", sealed[0]).len() < sealed[0].as_bytes().len() * 2, "no hex dump");
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyAnnouncement {
    recipient_id: Vec<u8>,
    generation: u64,
    step: u64,
    roster_version: u64,
    issued_at_ms: u64,
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

    /// The roster version of the change that made the key.
    #[must_use]
    pub const fn roster_version(&self) -> u64 {
        self.roster_version
    }

    /// When it was sealed, on the sender's clock (milliseconds).
    #[must_use]
    pub const fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
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
            .field("roster_version", &self.roster_version)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The most announced keys that wait for their activation time at once
/// (see [`KeyDistributor`] for what happens to one more).
pub const MAX_PENDING: usize = 8;

/// A key that has been announced but is not yet used for sending.
struct PendingKey {
    generation: u64,
    step: u64,
    roster_version: u64,
    base_key: BaseKey,
    activate_at: u64,
}

/// A key in use or pending: what an announcement of it names.
#[derive(Clone, Copy)]
struct Stamp {
    generation: u64,
    step: u64,
    roster_version: u64,
}

impl Stamp {
    const fn id(self) -> (u64, u64) {
        (self.generation, self.step)
    }
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
///   remaining members only;
/// - [`Self::reannounce`]: the keys a member holds, sealed again with a
///   new issue time, for a member that lost them (a restart).
///
/// Every change carries the application's *roster version* (one number
/// per change, increasing within the session) and every announcement its
/// *issue time*, so that receivers can refuse what a removal has
/// superseded; the module documentation says what the application
/// supplies and what receivers check.
///
/// # Delayed activation, and what it guarantees
///
/// With an activation delay ([`Self::with_activation_delay`]) a new key is
/// announced at once but used for sending only once the delay has passed;
/// [`Self::poll`] (and every `encrypt`) makes the switch. Each change keeps
/// its own activation time, `now_ms` of the change plus the delay then
/// configured; later changes never move it. The guarantee, for every
/// change (and so for every leave):
///
/// **From its activation time on, every frame is sealed under that
/// change's key or a newer one.** For a leave: once the leave's activation
/// time has passed, no frame is sealed under a key the departed member
/// holds or can derive, whatever joins and leaves came after it. Time is the `now_ms`
/// the application passes; the switch happens in the first `poll` or
/// `encrypt` at or after the activation time.
///
/// A change can go into use *earlier* than its own activation time, never
/// later: when a newer change's time comes first (the delay was
/// shortened), or when [`MAX_PENDING`] keys are already pending, in which
/// case the newest pending key is replaced by the new one, which takes the
/// earlier of the two activation times. Its recipients then have less time
/// to receive its announcement before frames use it. The keys waiting are
/// thus at most `MAX_PENDING`, each in a fixed slot inside the distributor,
/// wiped when it goes into use or is superseded.
///
/// A join announced while a leave is pending builds on the leave's key
/// (a ratchet step of the new generation), so the departed member cannot
/// derive it either; the joiner can decrypt from the join's own activation
/// time (not before: it holds only the new step). The module documentation
/// discusses the trade-off of a delay.
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
/// # let carol_identity = Identity::generate(&mut rng);
/// # let carol = Participant::new(b"carol", carol_identity.public_key())?;
/// let (mut alice_sends, to_bob) =
///     KeyDistributor::start(session, b"alice", &alice_identity, vec![bob], 1, now_ms, &mut rng)?;
/// assert_eq!(to_bob.len(), 1);
/// // Carol joins (roster version 2): a ratchet step, sealed to Carol only.
/// let to_carol = alice_sends.join(&alice_identity, carol, 2, now_ms, &mut rng)?;
/// assert_eq!((to_carol.recipient_id(), to_carol.step()), (&b"carol"[..], 1));
/// // Bob leaves (roster version 3): a new generation, sealed to Carol.
/// let after_bob = alice_sends.leave(&alice_identity, b"bob", 3, now_ms, &mut rng)?;
/// assert_eq!(after_bob.len(), 1);
/// assert_eq!(alice_sends.generation(), 1);
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct KeyDistributor {
    session: Session,
    own_id: Vec<u8>,
    own_key: IdentityPublicKey,
    members: Vec<Participant>,
    /// Per member, in the order of `members`: the first key it was given.
    since: Vec<(u64, u64)>,
    sender: RatchetingSender,
    /// The roster version of the key in use.
    roster_version: u64,
    activation_delay_ms: u64,
    /// Announced keys not yet in use, in no particular order (their
    /// `(generation, step)` orders them).
    pending: [Option<PendingKey>; MAX_PENDING],
}

impl KeyDistributor {
    /// Starts sending in `session` as participant `own_id` with
    /// `identity`: a fresh base key (`Nh` bytes from `rng`) at generation 0,
    /// step 0, in use at once, and one announcement of it for each of
    /// `members` (the other participants; `own_id` is not among them),
    /// issued at `now_ms` for roster version `roster_version`.
    ///
    /// `now_ms` is the application's wall clock in milliseconds (such as
    /// Unix time), the clock receivers check issue times against; every
    /// later call takes the same clock.
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
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(Self, Vec<KeyAnnouncement>), Error> {
        check_id(own_id)?;
        for (i, member) in members.iter().enumerate() {
            if member.id() == own_id || members[..i].iter().any(|m| m.id() == member.id()) {
                return Err(Error::InvalidParameter);
            }
        }
        let base_key = fresh_base_key(&session, rng);
        let stamp = Stamp {
            generation: 0,
            step: 0,
            roster_version,
        };
        let announcements = seal_to(
            &session, own_id, identity, &members, stamp, now_ms, &base_key, rng,
        )?;
        let sender = RatchetingSender::new(session.suite(), session.bits(), 0, base_key)?;
        let distributor = Self {
            session,
            own_id: own_id.to_vec(),
            own_key: identity.public_key(),
            since: alloc::vec![(0, 0); members.len()],
            members,
            sender,
            roster_version,
            activation_delay_ms: 0,
            pending: [const { None }; MAX_PENDING],
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
    /// [`Self::with_activation_delay`]); keys already pending keep their
    /// activation times.
    pub const fn set_activation_delay(&mut self, delay_ms: u64) {
        self.activation_delay_ms = delay_ms;
    }

    /// `participant` joins at `now_ms`, the roster change numbered
    /// `roster_version`: the key is ratcheted one step (RFC 9605 §5.1) and
    /// only the joiner gets the new step's key, so it cannot decrypt
    /// anything sent under earlier steps. The members already present need
    /// no announcement: their receivers ratchet forward on the first frame
    /// of the new step.
    ///
    /// The step builds on the newest announced key, which may still be
    /// pending.
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`]: `identity` is not the one the
    ///   distributor started with, the participant's ID is already in
    ///   the roster or is the sender's own, or `roster_version` is not
    ///   greater than that of every earlier change.
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
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<KeyAnnouncement, Error> {
        self.check_identity(identity)?;
        if participant.id() == self.own_id.as_slice()
            || self.members.iter().any(|m| m.id() == participant.id())
        {
            return Err(Error::InvalidParameter);
        }
        self.check_roster_version(roster_version)?;
        self.poll(now_ms);
        let (newest, base_key) = self.newest();
        let stamp = Stamp {
            generation: newest.generation,
            step: newest.step.checked_add(1).ok_or(Error::KeyIdExhausted)?,
            roster_version,
        };
        let base_key = next_base_key(self.session.suite(), base_key);
        let announcement = seal_to(
            &self.session,
            &self.own_id,
            identity,
            core::slice::from_ref(&participant),
            stamp,
            now_ms,
            &base_key,
            rng,
        )?
        .pop()
        .ok_or(Error::InvalidParameter)?;
        self.members.push(participant);
        self.since.push(stamp.id());
        self.schedule(stamp, base_key, now_ms);
        Ok(announcement)
    }

    /// The participant `id` leaves at `now_ms`, the roster change numbered
    /// `roster_version`: a fresh base key (`Nh` bytes from `rng`) starts
    /// the next generation and is announced to the remaining members only,
    /// so the departed member cannot derive it (RFC 9605 §5.1, §7.3).
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`]: `identity` is not the one the
    ///   distributor started with, `id` is not in the roster, or
    ///   `roster_version` is not greater than that of every earlier
    ///   change.
    /// - [`Error::KeyIdExhausted`]: the next generation does not fit the
    ///   `64 − R` generation bits of the KID.
    ///
    /// On error the roster and keys are unchanged, apart from a switch
    /// that was due anyway ([`Self::poll`] runs first).
    pub fn leave<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        id: &[u8],
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<KeyAnnouncement>, Error> {
        self.check_identity(identity)?;
        let index = self
            .members
            .iter()
            .position(|m| m.id() == id)
            .ok_or(Error::InvalidParameter)?;
        self.check_roster_version(roster_version)?;
        self.poll(now_ms);
        let stamp = Stamp {
            generation: self
                .newest()
                .0
                .generation
                .checked_add(1)
                .filter(|&g| g <= self.session.bits().max_generation())
                .ok_or(Error::KeyIdExhausted)?,
            step: 0,
            roster_version,
        };
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
            stamp,
            now_ms,
            &base_key,
            rng,
        )?;
        self.members = remaining;
        self.since.remove(index);
        self.schedule(stamp, base_key, now_ms);
        Ok(announcements)
    }

    /// The member `id` lost its keys (a restart, a page reload): seals
    /// again, issued at `now_ms`, every key it was given that is still in
    /// use or pending, each with the roster version it was announced
    /// with. The announcements are in key order; install them in that
    /// order (a receiver refuses an older key after a newer one).
    ///
    /// A member gets no key older than the one it was first given: a
    /// joiner still gets nothing sent before it joined. Announcements
    /// expire (the receivers' maximum age), so an application that stores
    /// them to hand out again must reannounce instead once they are old.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`]: `identity` is not the one the
    /// distributor started with, or `id` is not in the roster.
    ///
    /// [`Self::poll`] runs first.
    pub fn reannounce<R: CryptoRng + ?Sized>(
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
        let member = core::slice::from_ref(&self.members[index]);
        let since = self.since[index];
        let mut keys: Vec<(Stamp, &BaseKey)> = self
            .pending
            .iter()
            .flatten()
            .map(|p| (p.stamp(), &p.base_key))
            .chain([(self.current(), self.sender.current_base_key())])
            .filter(|(stamp, _)| stamp.id() >= since)
            .collect();
        keys.sort_unstable_by_key(|(stamp, _)| stamp.id());
        let mut announcements = Vec::with_capacity(keys.len());
        for (stamp, base_key) in keys {
            announcements.extend(seal_to(
                &self.session,
                &self.own_id,
                identity,
                member,
                stamp,
                now_ms,
                base_key,
                rng,
            )?);
        }
        Ok(announcements)
    }

    /// Switches to the newest announced key whose activation time has
    /// come, if any; returns whether it switched. Older pending keys go
    /// with it. A switch is a good moment for a video key frame (RFC 9605
    /// §6.2): receivers that had to wait for the new key can decode from
    /// it.
    pub fn poll(&mut self, now_ms: u64) -> bool {
        let due = self
            .pending
            .iter()
            .flatten()
            .filter(|p| now_ms >= p.activate_at)
            .map(|p| p.stamp().id())
            .max();
        let Some(due) = due else {
            return false;
        };
        let mut switched = false;
        for slot in &mut self.pending {
            let Some(pending) = slot.as_ref() else {
                continue;
            };
            let id = pending.stamp().id();
            if id == due {
                // The key has never been used, so its counter starts at 0.
                // The generation was checked to fit when it was announced
                // (`leave`), so `resume` cannot fail. A copy goes into the
                // sender, and the slot is wiped where it is.
                let mut base_key = BaseKey::zeroed(pending.base_key.expose_secret().len());
                base_key
                    .expose_secret_mut()
                    .copy_from_slice(pending.base_key.expose_secret());
                if let Ok(sender) = RatchetingSender::resume(
                    self.session.suite(),
                    self.session.bits(),
                    pending.generation,
                    pending.step,
                    base_key,
                    Counter(0),
                ) {
                    self.sender = sender;
                    self.roster_version = pending.roster_version;
                    switched = true;
                }
            }
            if id <= due {
                // Dropped in place: `BaseKey` wipes itself.
                *slot = None;
            }
        }
        switched
    }

    /// The earliest activation time of a pending key: when [`Self::poll`]
    /// will next switch, if any key is pending.
    #[must_use]
    pub fn pending_activation(&self) -> Option<u64> {
        self.pending.iter().flatten().map(|p| p.activate_at).min()
    }

    /// How many announced keys wait for their activation time (at most
    /// [`MAX_PENDING`]).
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    /// The newest announced `(generation, step)`: the newest pending key's,
    /// else the key in use.
    #[must_use]
    pub fn announced_key_id(&self) -> (u64, u64) {
        self.newest().0.id()
    }

    /// The roster version of the newest change (the start, or the last
    /// join or leave).
    #[must_use]
    pub fn roster_version(&self) -> u64 {
        self.newest().0.roster_version
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

    /// Roster versions increase with every change.
    fn check_roster_version(&self, roster_version: u64) -> Result<(), Error> {
        if roster_version <= self.roster_version() {
            return Err(Error::InvalidParameter);
        }
        Ok(())
    }

    /// The key in use.
    const fn current(&self) -> Stamp {
        Stamp {
            generation: self.sender.generation(),
            step: self.sender.step(),
            roster_version: self.roster_version,
        }
    }

    /// The newest announced key: the newest pending one, else the one in
    /// use.
    fn newest(&self) -> (Stamp, &BaseKey) {
        self.pending
            .iter()
            .flatten()
            .max_by_key(|p| p.stamp().id())
            .map_or_else(
                || (self.current(), self.sender.current_base_key()),
                |p| (p.stamp(), &p.base_key),
            )
    }

    /// Makes `stamp` the newest announced key, used from `now_ms + delay`
    /// (with no delay, at once). It takes a free slot; when none is free it
    /// replaces the newest pending key, whose key is wiped, and keeps the
    /// earlier of the two activation times, so that no change is ever
    /// postponed.
    fn schedule(&mut self, stamp: Stamp, base_key: BaseKey, now_ms: u64) {
        let mut activate_at = now_ms.saturating_add(self.activation_delay_ms);
        let newest = self
            .pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.stamp().id())))
            .max_by_key(|&(_, id)| id)
            .map(|(i, _)| i);
        let free = self.pending.iter().position(Option::is_none);
        let slot = match (free, newest) {
            (Some(free), _) => free,
            (None, Some(newest)) => {
                if let Some(p) = &self.pending[newest] {
                    activate_at = activate_at.min(p.activate_at);
                }
                newest
            }
            // Every slot is free when none is pending.
            (None, None) => 0,
        };
        // Assigning drops the replaced key in place, which wipes it.
        self.pending[slot] = Some(PendingKey {
            generation: stamp.generation,
            step: stamp.step,
            roster_version: stamp.roster_version,
            base_key,
            activate_at,
        });
        self.poll(now_ms);
    }
}

impl PendingKey {
    const fn stamp(&self) -> Stamp {
        Stamp {
            generation: self.generation,
            step: self.step,
            roster_version: self.roster_version,
        }
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
        let mut pending: Vec<_> = self
            .pending
            .iter()
            .flatten()
            .map(|p| (p.generation, p.step, p.roster_version, p.activate_at))
            .collect();
        pending.sort_unstable();
        f.debug_struct("KeyDistributor")
            .field("session", &self.session)
            .field("own_id", &IdDebug(&self.own_id))
            .field("own_key", &self.own_key)
            .field("members", &self.members)
            .field("sender", &self.sender)
            .field("roster_version", &self.roster_version)
            .field("activation_delay_ms", &self.activation_delay_ms)
            .field("pending", &pending)
            .finish()
    }
}

/// `Nh` random bytes: the length a ratchet step produces (RFC 9605 §5.1).
fn fresh_base_key<R: CryptoRng + ?Sized>(session: &Session, rng: &mut R) -> BaseKey {
    let mut base_key = BaseKey::zeroed(session.suite().hash_len());
    rng.fill_bytes(base_key.expose_secret_mut());
    base_key
}

/// One announcement of `base_key` for each of `recipients`, issued at
/// `now_ms`.
#[allow(clippy::too_many_arguments)]
fn seal_to<R: CryptoRng + ?Sized>(
    session: &Session,
    own_id: &[u8],
    identity: &Identity,
    recipients: &[Participant],
    stamp: Stamp,
    now_ms: u64,
    base_key: &BaseKey,
    rng: &mut R,
) -> Result<Vec<KeyAnnouncement>, Error> {
    recipients
        .iter()
        .map(|recipient| {
            let header = AnnouncementHeader::new(
                session,
                own_id,
                recipient.id(),
                stamp.generation,
                stamp.step,
                stamp.roster_version,
                now_ms,
            );
            Ok(KeyAnnouncement {
                recipient_id: recipient.id().to_vec(),
                generation: stamp.generation,
                step: stamp.step,
                roster_version: stamp.roster_version,
                issued_at_ms: now_ms,
                bytes: seal(&header, identity, &recipient.public_key(), base_key, rng)?,
            })
        })
        .collect()
}
