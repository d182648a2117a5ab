//! Every call this crate makes into framecrypt, in one module: key holders,
//! codec-aware protection in place in a reused buffer, the SFU's view, and
//! roster membership with the HPKE announcements of `framecrypt::distribute`.
//!
//! Pure Rust: no JavaScript type appears here, randomness and time come in
//! as arguments, and the native tests at the bottom run all of it. Every
//! key holder goes through framecrypt's `Seal` / `Open` roles: a sender or
//! a `KeyDistributor` at the time of the frame seals, a receiver at the
//! time of the frame opens.

use framecrypt::codec::{
    Codec, Fallback, Protection, max_in_place_len, max_unprotect_in_place_len,
};
use framecrypt::distribute::{
    AnnouncementHeader, Freshness, Identity, IdentityPublicKey, KeyAnnouncement, KeyDistributor,
    Participant, Session,
};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, DecryptStats, Error, KeyId, RatchetBits, RatchetingReceiver,
    RatchetingSender, sfu,
};
use rand_core::CryptoRng;

/// The cipher suite numbered `id` (RFC 9605 §4.5).
///
/// # Errors
/// [`Error::UnsupportedCipherSuite`].
pub const fn suite(id: u16) -> Result<CipherSuite, Error> {
    CipherSuite::from_id(id)
}

/// `R`, the KID's ratchet step bits (RFC 9605 §5.1).
///
/// # Errors
/// [`Error::InvalidParameter`] outside 1..=63.
pub const fn ratchet_bits(r: u32) -> Result<RatchetBits, Error> {
    RatchetBits::new(r)
}

/// A base key from its bytes.
///
/// # Errors
/// [`Error::InvalidKeyLength`] outside 1..=128 bytes.
pub fn base_key(bytes: &[u8]) -> Result<BaseKey, Error> {
    BaseKey::new(bytes)
}

/// The receiver kept for each remote sender: four key slots and a
/// 128-frame replay window (framecrypt's defaults).
type KeyReceiver = RatchetingReceiver<4, 2>;

/// The buffer a frame is processed in: allocated once in WebAssembly memory
/// and reused for every frame. JavaScript copies a frame into it, one call
/// protects or restores it in place, and JavaScript copies the result out.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    bytes: Vec<u8>,
    /// A pristine copy of the input for [`Member::identify`], which tries
    /// several senders' keys on the same frame.
    spare: Vec<u8>,
}

impl FrameBuffer {
    /// An empty buffer; [`Self::reserve`] sizes it.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bytes: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The capacity that lets a frame of `len` bytes be protected or
    /// restored in place whatever its codec and cipher suite: the worst
    /// case is H.264 (escaping, and the in-place gather) with a 16-byte tag.
    #[must_use]
    pub fn room_for(len: usize) -> usize {
        CipherSuite::ALL
            .iter()
            .map(|&suite| max_in_place_len(Codec::H264, suite, len))
            .fold(max_unprotect_in_place_len(Codec::H264, len), usize::max)
    }

    /// Grows the buffer, if needed, so that a `len`-byte frame fits
    /// ([`Self::room_for`]). This is the only allocation on the frame path,
    /// and only when a frame is larger than every frame before it.
    pub fn reserve(&mut self, len: usize) {
        let need = Self::room_for(len);
        if self.bytes.len() < need {
            self.bytes.resize(need, 0);
        }
    }

    /// The bytes, for JavaScript to write the frame into and read it from.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

/// What one frame's processing tells the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// The length of the output frame, at the start of the buffer.
    pub len: usize,
    /// Whether the protected frame is a keyframe as its clear bytes say,
    /// which is all an RTP depacketizer or SFU can see: `None` where the
    /// codec leaves nothing to tell (VP9, whole-frame protection).
    pub keyframe: Option<bool>,
}

/// Counters of a sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendStats {
    /// Frames protected.
    pub frames: u64,
    /// Of those, keyframes by their clear bytes.
    pub keyframes: u64,
    /// Bytes in, before protection.
    pub bytes_in: u64,
    /// Bytes out, after protection.
    pub bytes_out: u64,
    /// Frames that could not be protected (malformed for their codec, or
    /// counters exhausted).
    pub failures: u64,
}

impl SendStats {
    fn record(&mut self, len_in: usize, result: &Result<Done, Error>) {
        match result {
            Ok(done) => {
                self.frames += 1;
                self.keyframes += u64::from(done.keyframe == Some(true));
                self.bytes_in += len_in as u64;
                self.bytes_out += done.len as u64;
            }
            Err(_) => self.failures += 1,
        }
    }
}

/// Counters of a receiver: framecrypt's per-sender [`DecryptStats`], plus
/// frames whose clear codec structure did not even parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Outcomes of decryption, by reason.
    pub decrypt: DecryptStats,
    /// Frames that do not parse as their codec ([`Error::MalformedFrame`]).
    pub malformed_frames: u64,
    /// Every failure: the decrypt failures and the malformed frames.
    pub failures: u64,
    /// The generation and step of the current key, if any.
    pub key: Option<(u64, u64)>,
}

fn protection(codec: Codec) -> Protection {
    // Known codecs are protected by their rule or not at all: a frame that
    // does not parse is dropped, never sent with the wrong layout. Frames
    // of a codec without a rule (PCMU, RED, ...) are protected whole.
    let fallback = if codec == Codec::Unknown {
        Fallback::WholeFrame
    } else {
        Fallback::Reject
    };
    Protection::new(codec, fallback)
}

fn keyframe_hint(codec: Codec, protected: &[u8]) -> Option<bool> {
    sfu::inspect_codec(codec, protected)
        .ok()
        .and_then(|view| view.hints().keyframe)
}

fn seal(
    sealer: &mut impl Seal,
    buf: &mut FrameBuffer,
    codec: Codec,
    len: usize,
) -> Result<Done, Error> {
    let done = protection(codec).protect_in_place(sealer, &mut buf.bytes, len)?;
    let keyframe = buf
        .bytes
        .get(..done.len())
        .and_then(|protected| keyframe_hint(codec, protected));
    Ok(Done {
        len: done.len(),
        keyframe,
    })
}

/// A sender whose keys the application manages: RFC 9605 §5.1 ratchet
/// steps and generations, exactly as a native `RatchetingSender`.
#[derive(Debug)]
pub struct FrameSender {
    key: RatchetingSender,
    stats: SendStats,
}

impl FrameSender {
    /// A sender at `generation`, step 0, with that generation's `key`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the generation does not fit the KID.
    pub fn new(
        suite: CipherSuite,
        bits: RatchetBits,
        generation: u64,
        key: BaseKey,
    ) -> Result<Self, Error> {
        Ok(Self {
            key: RatchetingSender::new(suite, bits, generation, key)?,
            stats: SendStats::default(),
        })
    }

    /// One ratchet step (§5.1): receivers follow by themselves.
    pub fn ratchet(&mut self) {
        self.key.ratchet();
    }

    /// The next generation with a fresh `key`, which receivers must be given.
    ///
    /// # Errors
    /// [`Error::KeyIdExhausted`] when no generation is left.
    pub fn rekey(&mut self, key: BaseKey) -> Result<(), Error> {
        self.key.rekey(key)
    }

    /// `(generation, step, KID)` of the key in use.
    #[must_use]
    pub const fn key_id(&self) -> (u64, u64, u64) {
        (self.key.generation(), self.key.step(), self.key.kid().0)
    }

    /// Protects the `len`-byte frame at the start of `buf` in place.
    ///
    /// # Errors
    /// As `codec::Protection::protect_in_place`: [`Error::MalformedFrame`],
    /// [`Error::CounterExhausted`], [`Error::BufferTooSmall`].
    pub fn protect(
        &mut self,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
    ) -> Result<Done, Error> {
        let result = seal(&mut self.key, buf, codec, len);
        self.stats.record(len, &result);
        result
    }

    /// The counters.
    #[must_use]
    pub const fn stats(&self) -> SendStats {
        self.stats
    }
}

/// One remote sender's keys, as a native `RatchetingReceiver`: it follows
/// ratchet steps by itself and takes new generations with
/// [`Self::install_key`].
#[derive(Debug)]
pub struct FrameReceiver {
    rx: KeyReceiver,
    malformed_frames: u64,
    /// Outcomes of [`Member::identify`]'s failed tries, which are no
    /// verdict on the frame and are left out of [`Self::stats`].
    tries: DecryptStats,
}

impl FrameReceiver {
    /// A receiver without keys yet.
    #[must_use]
    pub fn new(suite: CipherSuite, bits: RatchetBits) -> Self {
        Self::from(KeyReceiver::new(suite, bits))
    }

    /// Installs the key for `(generation, step)`; the key in use so far is
    /// retained for late frames.
    ///
    /// # Errors
    /// [`Error::StaleKey`] if not newer than the current key;
    /// [`Error::InvalidParameter`] if the generation does not fit the KID.
    pub fn install_key(
        &mut self,
        generation: u64,
        step: u64,
        key: BaseKey,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.rx.install_key(generation, step, key, now_ms)
    }

    /// Restores the protected `len`-byte frame at the start of `buf` in
    /// place. Only an authentic frame is restored; on any error the frame
    /// must be dropped.
    ///
    /// # Errors
    /// [`Error::MalformedFrame`]; as `RatchetingReceiver::decrypt`:
    /// [`Error::UnknownKeyId`], [`Error::AuthenticationFailed`],
    /// [`Error::Replayed`], [`Error::TooFarAhead`], [`Error::KeyExpired`],
    /// [`Error::MalformedHeader`], [`Error::FrameTooShort`];
    /// [`Error::BufferTooSmall`].
    pub fn unprotect(
        &mut self,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
        now_ms: u64,
    ) -> Result<Done, Error> {
        let keyframe = buf
            .bytes
            .get(..len)
            .and_then(|protected| keyframe_hint(codec, protected));
        let result =
            protection(codec).unprotect_in_place(&mut self.rx.at(now_ms), &mut buf.bytes, len);
        if matches!(result, Err(Error::MalformedFrame | Error::UnsupportedCodec)) {
            self.malformed_frames += 1;
        }
        Ok(Done {
            len: result?.len(),
            keyframe,
        })
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> ReceiveStats {
        let raw = self.rx.stats();
        let t = self.tries;
        let decrypt = DecryptStats {
            ok: raw.ok - t.ok,
            unknown_key_id: raw.unknown_key_id - t.unknown_key_id,
            too_far_ahead: raw.too_far_ahead - t.too_far_ahead,
            key_expired: raw.key_expired - t.key_expired,
            replayed: raw.replayed - t.replayed,
            authentication_failed: raw.authentication_failed - t.authentication_failed,
            malformed: raw.malformed - t.malformed,
        };
        ReceiveStats {
            decrypt,
            malformed_frames: self.malformed_frames,
            failures: decrypt.failures() + self.malformed_frames,
            key: self.rx.generation().zip(self.rx.step()),
        }
    }

    /// [`Self::unprotect`] as one try among several senders: a failure is
    /// not counted in [`Self::stats`].
    fn try_unprotect(
        &mut self,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
        now_ms: u64,
    ) -> Result<Done, Error> {
        let (before, malformed_before) = (self.rx.stats(), self.malformed_frames);
        let result = self.unprotect(buf, codec, len, now_ms);
        if result.is_err() {
            let after = self.rx.stats();
            let t = &mut self.tries;
            t.unknown_key_id += after.unknown_key_id - before.unknown_key_id;
            t.too_far_ahead += after.too_far_ahead - before.too_far_ahead;
            t.key_expired += after.key_expired - before.key_expired;
            t.replayed += after.replayed - before.replayed;
            t.authentication_failed += after.authentication_failed - before.authentication_failed;
            t.malformed += after.malformed - before.malformed;
            self.malformed_frames = malformed_before;
        }
        result
    }
}

impl From<KeyReceiver> for FrameReceiver {
    fn from(rx: KeyReceiver) -> Self {
        Self {
            rx,
            malformed_frames: 0,
            tries: DecryptStats::default(),
        }
    }
}

/// A sealed key for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The recipient's participant ID.
    pub to: Vec<u8>,
    /// The announcement bytes (the `distribute` byte format, version 1).
    pub data: Vec<u8>,
}

impl From<KeyAnnouncement> for Announcement {
    fn from(a: KeyAnnouncement) -> Self {
        Self {
            to: a.recipient_id().to_vec(),
            data: a.into_bytes(),
        }
    }
}

/// What an opened announcement installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    /// The peer (sender) it came from.
    pub peer: usize,
    /// The generation and step of the key.
    pub generation: u64,
    /// The ratchet step.
    pub step: u64,
}

/// Our sending side in a roster: the distributor seals every frame itself
/// (`distributor.at(now_ms)`), so a key it switches to is used from the
/// next frame on, and no copy of its key exists.
struct Sending {
    distributor: KeyDistributor,
    stats: SendStats,
}

struct Peer {
    participant: Participant,
    receiver: FrameReceiver,
    /// The roster version of the newest key installed from this peer:
    /// its older announcements are refused. Per peer, because different
    /// peers' announcements arrive in any order, and one peer's key for a
    /// join must not make another's earlier, still valid key look
    /// superseded.
    roster_floor: u64,
}

/// A participant's long-term X25519 key pair (`distribute::Identity`),
/// wiped on drop.
pub struct MemberIdentity(Identity);

impl MemberIdentity {
    /// A fresh key pair from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(Identity::generate(rng))
    }

    /// The public key, for the other members.
    #[must_use]
    pub const fn public_key(&self) -> [u8; 32] {
        self.0.public_key().to_bytes()
    }
}

impl core::fmt::Debug for MemberIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("MemberIdentity").field(&self.0).finish()
    }
}

/// A participant of a roster keyed with `framecrypt::distribute`, as a
/// native member is: an X25519 identity, a sending key announced to the
/// other members with HPKE (ratcheted on a join, a new generation on a
/// leave), and one receiver per other member, keyed by their
/// announcements.
pub struct Member {
    session: Session,
    identity: Identity,
    own_id: Vec<u8>,
    /// Indexed by the handle [`Self::add_peer`] returns; a removed peer
    /// leaves `None`, so handles stay valid.
    peers: Vec<Option<Peer>>,
    sending: Option<Sending>,
    /// The highest roster version of a removal: announcements older than
    /// it are refused, from every peer (`distribute::Freshness`).
    roster_floor: u64,
}

impl core::fmt::Debug for Member {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Member")
            .field("session", &self.session)
            .field("peers", &self.peers.iter().flatten().count())
            .field("sending", &self.sending.is_some())
            .finish_non_exhaustive()
    }
}

impl Member {
    /// Participant `own_id` of session `session_id`, with `identity`
    /// (made before the ID is known, when signalling assigns the ID in
    /// exchange for the public key).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty or over-long session or
    /// participant ID.
    pub fn new(
        session_id: &[u8],
        suite: CipherSuite,
        bits: RatchetBits,
        own_id: &[u8],
        identity: MemberIdentity,
    ) -> Result<Self, Error> {
        let session = Session::new(session_id, suite, bits)?;
        let MemberIdentity(identity) = identity;
        // Checks the ID as the roster will.
        Participant::new(own_id, identity.public_key())?;
        Ok(Self {
            session,
            identity,
            own_id: own_id.to_vec(),
            peers: Vec::new(),
            sending: None,
            roster_floor: 0,
        })
    }

    /// Our public identity key, for the other members.
    #[must_use]
    pub const fn public_key(&self) -> [u8; 32] {
        self.identity.public_key().to_bytes()
    }

    /// Adds the member `id` with identity `public_key`: a receiver for its
    /// frames, and, once we send, our current key sealed to it (a ratchet
    /// step for everyone, as native members do on a join). Returns the
    /// peer's handle and the announcements to deliver. `roster_version` is
    /// the session's number for the roster with `id` in it (the signalling
    /// gives it, the same for every member); `now_ms` the wall clock (Unix
    /// milliseconds), which dates the announcements.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `id` is ours, already present, empty
    /// or too long; [`Error::InvalidKeyLength`] (not a valid X25519 public
    /// key); [`Error::KeyIdExhausted`].
    pub fn add_peer<R: CryptoRng + ?Sized>(
        &mut self,
        id: &[u8],
        public_key: [u8; 32],
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(usize, Vec<Announcement>), Error> {
        let participant = Participant::new(id, IdentityPublicKey::from_bytes(public_key)?)?;
        if id == self.own_id.as_slice() || self.peer_index(id).is_some() {
            return Err(Error::InvalidParameter);
        }
        let mut announcements = Vec::new();
        if let Some(sending) = &mut self.sending {
            let a = sending.distributor.join(
                &self.identity,
                participant.clone(),
                roster_version,
                now_ms,
                rng,
            )?;
            announcements.push(a.into());
        }
        self.peers.push(Some(Peer {
            participant,
            receiver: FrameReceiver::from(self.session.receiver::<4, 2>()),
            roster_floor: 0,
        }));
        Ok((self.peers.len() - 1, announcements))
    }

    /// Removes the peer `peer`: its receiver is dropped (keys wiped) and,
    /// once we send, a new generation is sealed to the remaining members.
    /// `roster_version` and `now_ms` as for [`Self::add_peer`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown handle;
    /// [`Error::KeyIdExhausted`].
    pub fn remove_peer<R: CryptoRng + ?Sized>(
        &mut self,
        peer: usize,
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<Announcement>, Error> {
        let id = self.peer(peer)?.participant.id().to_vec();
        // Keys made before the removal are superseded, from every peer.
        self.roster_floor = self.roster_floor.max(roster_version);
        let mut announcements = Vec::new();
        if let Some(sending) = &mut self.sending {
            let sealed =
                sending
                    .distributor
                    .leave(&self.identity, &id, roster_version, now_ms, rng)?;
            announcements.extend(sealed.into_iter().map(Announcement::from));
        }
        self.peers[peer] = None;
        Ok(announcements)
    }

    /// Starts sending: a fresh key at generation 0, sealed to every peer.
    /// `roster_version` and `now_ms` as for [`Self::add_peer`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if we send already.
    pub fn start<R: CryptoRng + ?Sized>(
        &mut self,
        roster_version: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<Announcement>, Error> {
        if self.sending.is_some() {
            return Err(Error::InvalidParameter);
        }
        let members = self
            .peers
            .iter()
            .flatten()
            .map(|p| p.participant.clone())
            .collect();
        let (distributor, announcements) = KeyDistributor::start(
            self.session.clone(),
            &self.own_id,
            &self.identity,
            members,
            roster_version,
            now_ms,
            rng,
        )?;
        self.sending = Some(Sending {
            distributor,
            stats: SendStats::default(),
        });
        Ok(announcements.into_iter().map(Announcement::from).collect())
    }

    /// Opens an announcement addressed to us and installs its key into the
    /// receiver of the peer that sealed it. `now_ms` is the wall clock
    /// (Unix milliseconds): an announcement issued more than the session's
    /// maximum age away from it, or for a roster older than the newest key
    /// installed from that peer or than the newest removal, is refused.
    ///
    /// # Errors
    /// [`Error::WrongSender`] if it names no known peer; as
    /// `Session::open_announcement` and `AnnouncedKey::install`
    /// ([`Error::MalformedAnnouncement`], [`Error::WrongSession`],
    /// [`Error::WrongRecipient`], [`Error::AuthenticationFailed`],
    /// [`Error::AnnouncementReplayed`], [`Error::StaleKey`]).
    pub fn open(&mut self, announcement: &[u8], now_ms: u64) -> Result<Installed, Error> {
        let header = AnnouncementHeader::parse(announcement)?;
        let peer = self
            .peer_index(header.sender_id())
            .ok_or(Error::WrongSender)?;
        let removals = self.roster_floor;
        let Some(Some(p)) = self.peers.get_mut(peer) else {
            return Err(Error::WrongSender);
        };
        let freshness = Freshness {
            now_ms,
            min_roster_version: removals.max(p.roster_floor),
        };
        let key = self.session.open_announcement(
            announcement,
            &self.own_id,
            &self.identity,
            &p.participant,
            freshness,
        )?;
        let (generation, step, roster_version) =
            (key.generation(), key.step(), key.roster_version());
        key.install(&mut p.receiver.rx, now_ms)?;
        p.roster_floor = p.roster_floor.max(roster_version);
        Ok(Installed {
            peer,
            generation,
            step,
        })
    }

    /// Protects our `len`-byte frame in `buf` in place, under the key the
    /// distributor has made current by `now_ms`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] before [`Self::start`]; as
    /// [`FrameSender::protect`].
    pub fn protect(
        &mut self,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
        now_ms: u64,
    ) -> Result<Done, Error> {
        let sending = self.sending.as_mut().ok_or(Error::InvalidParameter)?;
        let result = seal(&mut sending.distributor.at(now_ms), buf, codec, len);
        sending.stats.record(len, &result);
        result
    }

    /// Restores a frame from peer `peer`; see [`FrameReceiver::unprotect`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown handle; as
    /// [`FrameReceiver::unprotect`].
    pub fn unprotect(
        &mut self,
        peer: usize,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
        now_ms: u64,
    ) -> Result<Done, Error> {
        self.peer_mut(peer)?
            .receiver
            .unprotect(buf, codec, len, now_ms)
    }

    /// Restores a frame from an unknown peer by trying each peer's keys in
    /// turn (for a track whose sender the signalling did not name); returns
    /// the peer whose key authenticated it. Failed tries are not counted
    /// against the peers.
    ///
    /// # Errors
    /// Peers share KIDs, so another peer's key failing on a frame says
    /// nothing while the sender's key has not come yet: the first error
    /// of a peer that could not check the frame (in peer order), e.g.
    /// [`Error::UnknownKeyId`] with the frame's KID (also when there are
    /// no peers); else [`Error::Replayed`] if a peer's replay window holds
    /// its KID and CTR; else [`Error::AuthenticationFailed`]: no peer's
    /// key authenticates it.
    pub fn identify(
        &mut self,
        buf: &mut FrameBuffer,
        codec: Codec,
        len: usize,
        now_ms: u64,
    ) -> Result<(usize, Done), Error> {
        let input = buf.bytes.get(..len).ok_or(Error::BufferTooSmall)?;
        buf.spare.clear();
        buf.spare.extend_from_slice(input);
        let kid =
            sfu::inspect_codec(codec, &buf.spare).map_or(KeyId(0), |view| view.header().kid());
        // Another peer's key failing, or its replay window holding the
        // same KID and CTR, says nothing about the frame; a peer without
        // the key may be its sender.
        let (mut unchecked, mut replayed, mut unauthentic) = (None, false, false);
        for (index, peer) in self.peers.iter_mut().enumerate() {
            let Some(peer) = peer else { continue };
            buf.bytes[..len].copy_from_slice(&buf.spare);
            match peer.receiver.try_unprotect(buf, codec, len, now_ms) {
                Ok(done) => return Ok((index, done)),
                Err(Error::AuthenticationFailed) => unauthentic = true,
                Err(Error::Replayed) => replayed = true,
                Err(e) => {
                    unchecked.get_or_insert(e);
                }
            }
        }
        Err(match unchecked {
            Some(e) => e,
            None if replayed => Error::Replayed,
            None if unauthentic => Error::AuthenticationFailed,
            None => Error::UnknownKeyId(kid),
        })
    }

    /// Our sending counters and `(generation, step, KID)`, once we send.
    #[must_use]
    pub fn send_stats(&self) -> Option<(SendStats, (u64, u64, u64))> {
        self.sending.as_ref().map(|s| {
            let d = &s.distributor;
            (s.stats, (d.generation(), d.step(), d.kid().0))
        })
    }

    /// The counters of peer `peer`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown handle.
    pub fn peer_stats(&self, peer: usize) -> Result<ReceiveStats, Error> {
        Ok(self.peer(peer)?.receiver.stats())
    }

    /// The handle of the peer with ID `id`.
    #[must_use]
    pub fn peer_index(&self, id: &[u8]) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.participant.id() == id))
    }

    /// The handles and IDs of the current peers.
    pub fn peers(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.participant.id())))
    }

    fn peer(&self, peer: usize) -> Result<&Peer, Error> {
        self.peers
            .get(peer)
            .and_then(Option::as_ref)
            .ok_or(Error::InvalidParameter)
    }

    fn peer_mut(&mut self, peer: usize) -> Result<&mut Peer, Error> {
        self.peers
            .get_mut(peer)
            .and_then(Option::as_mut)
            .ok_or(Error::InvalidParameter)
    }
}

/// The key-less view of a protected frame, as an SFU sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireView {
    /// The SFrame KID.
    pub kid: u64,
    /// The SFrame CTR.
    pub ctr: u64,
    /// Where the SFrame header starts.
    pub header_offset: usize,
    /// Bytes the codec rule left clear.
    pub clear_len: usize,
    /// Encrypted bytes and tag.
    pub sealed_len: usize,
    /// The codec hints the clear bytes give.
    pub keyframe: Option<bool>,
    /// Picture width, where a keyframe's clear bytes say.
    pub width: Option<u16>,
    /// Picture height.
    pub height: Option<u16>,
}

/// What an SFU can read of the protected `len`-byte frame in `buf`.
///
/// # Errors
/// As `sfu::inspect_codec`: [`Error::MalformedFrame`],
/// [`Error::MalformedHeader`].
pub fn inspect(buf: &FrameBuffer, codec: Codec, len: usize) -> Result<WireView, Error> {
    let frame = buf.bytes.get(..len).ok_or(Error::BufferTooSmall)?;
    let view = sfu::inspect_codec(codec, frame)?;
    let hints = view.hints();
    Ok(WireView {
        kid: view.header().kid().0,
        ctr: view.header().ctr().0,
        header_offset: view.header_offset(),
        clear_len: view.clear_len(),
        sealed_len: view.sealed_len(),
        keyframe: hints.keyframe,
        width: hints.width,
        height: hints.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

    fn bits() -> RatchetBits {
        RatchetBits::new(8).expect("8 bits are valid")
    }

    /// A member of session `s` with a fresh identity.
    fn member(name: &[u8], rng: &mut ChaCha20Rng) -> Member {
        Member::new(b"s", SUITE, bits(), name, MemberIdentity::generate(rng)).expect("member")
    }

    fn key(byte: u8) -> BaseKey {
        BaseKey::new(&[byte; 16]).expect("16 bytes are a valid key")
    }

    /// A VP8 keyframe (frame tag, start code, 320x240) and a delta frame.
    fn vp8(keyframe: bool, fill: u64) -> Vec<u8> {
        let fill = fill.to_le_bytes()[0];
        let mut frame = if keyframe {
            vec![0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]
        } else {
            vec![0x31, 0x2c, 0x00]
        };
        frame.extend(core::iter::repeat_n(fill, 300));
        frame
    }

    /// An H.264 access unit: SPS, PPS and an IDR slice, Annex B.
    fn h264_idr() -> Vec<u8> {
        let mut f = vec![
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8,
        ];
        f.extend([0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80]);
        f.extend([0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00]);
        // Slice data with bytes that need escaping once encrypted or not.
        f.extend((0..400u32).map(|i| if i % 7 == 0 { 0 } else { (i % 251) as u8 }));
        f
    }

    fn load(buf: &mut FrameBuffer, frame: &[u8]) {
        buf.reserve(frame.len());
        buf.bytes_mut()[..frame.len()].copy_from_slice(frame);
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::from_seed([9; 32])
    }

    #[test]
    fn vp8_round_trip_in_place_keeps_the_payload_header_clear() {
        let mut tx = FrameSender::new(SUITE, bits(), 0, key(1)).expect("sender");
        let mut rx = FrameReceiver::new(SUITE, bits());
        rx.install_key(0, 0, key(1), 0).expect("install");
        let mut buf = FrameBuffer::new();
        for (i, keyframe) in (0..).zip([true, false, false, true]) {
            let frame = vp8(keyframe, i);
            load(&mut buf, &frame);
            let sealed = tx
                .protect(&mut buf, Codec::Vp8, frame.len())
                .expect("protect");
            assert_eq!(sealed.keyframe, Some(keyframe));
            let clear = if keyframe { 10 } else { 3 };
            assert_eq!(buf.bytes()[..clear], frame[..clear]);
            assert_ne!(buf.bytes()[clear..sealed.len], frame[clear..]);
            let opened = rx
                .unprotect(&mut buf, Codec::Vp8, sealed.len, 10)
                .expect("open");
            assert_eq!(opened.keyframe, Some(keyframe));
            assert_eq!(&buf.bytes()[..opened.len], frame.as_slice());
        }
        assert_eq!(tx.stats().frames, 4);
        assert_eq!(tx.stats().keyframes, 2);
        assert_eq!(rx.stats().decrypt.ok, 4);
    }

    #[test]
    fn h264_round_trip_in_place() {
        let mut tx = FrameSender::new(SUITE, bits(), 0, key(1)).expect("sender");
        let mut rx = FrameReceiver::new(SUITE, bits());
        rx.install_key(0, 0, key(1), 0).expect("install");
        let mut buf = FrameBuffer::new();
        let frame = h264_idr();
        load(&mut buf, &frame);
        let sealed = tx
            .protect(&mut buf, Codec::H264, frame.len())
            .expect("protect");
        assert_eq!(sealed.keyframe, Some(true));
        let wire = inspect(&buf, Codec::H264, sealed.len).expect("view");
        assert_eq!((wire.kid, wire.ctr), (0, 0));
        let opened = rx
            .unprotect(&mut buf, Codec::H264, sealed.len, 0)
            .expect("open");
        assert_eq!(&buf.bytes()[..opened.len], frame.as_slice());
    }

    #[test]
    fn wrong_key_and_missing_key_are_counted_by_reason() {
        let mut tx = FrameSender::new(SUITE, bits(), 0, key(1)).expect("sender");
        let mut wrong = FrameReceiver::new(SUITE, bits());
        wrong.install_key(0, 0, key(2), 0).expect("install");
        let mut none = FrameReceiver::new(SUITE, bits());
        let mut buf = FrameBuffer::new();
        let frame = vp8(true, 7);
        load(&mut buf, &frame);
        let sealed = tx
            .protect(&mut buf, Codec::Vp8, frame.len())
            .expect("protect");
        let protected = buf.bytes()[..sealed.len].to_vec();
        let err = wrong.unprotect(&mut buf, Codec::Vp8, sealed.len, 0);
        assert_eq!(err, Err(Error::AuthenticationFailed));
        load(&mut buf, &protected);
        assert!(matches!(
            none.unprotect(&mut buf, Codec::Vp8, sealed.len, 0),
            Err(Error::UnknownKeyId(_))
        ));
        assert_eq!(wrong.stats().decrypt.authentication_failed, 1);
        assert_eq!(none.stats().decrypt.unknown_key_id, 1);
        // A frame that is not VP8 at all is counted apart.
        load(&mut buf, &[0x50]);
        assert_eq!(
            wrong.unprotect(&mut buf, Codec::Vp8, 1, 0),
            Err(Error::MalformedFrame)
        );
        assert_eq!(wrong.stats().malformed_frames, 1);
    }

    #[test]
    fn ratchet_is_followed_and_a_new_generation_needs_its_key() {
        let mut tx = FrameSender::new(SUITE, bits(), 0, key(1)).expect("sender");
        let mut current = FrameReceiver::new(SUITE, bits());
        let mut stale = FrameReceiver::new(SUITE, bits());
        current.install_key(0, 0, key(1), 0).expect("install");
        stale.install_key(0, 0, key(1), 0).expect("install");
        let mut buf = FrameBuffer::new();
        let frame = vp8(false, 3);
        let send = |tx: &mut FrameSender, buf: &mut FrameBuffer| {
            load(buf, &frame);
            let n = tx
                .protect(buf, Codec::Vp8, frame.len())
                .expect("protect")
                .len;
            buf.bytes()[..n].to_vec()
        };
        tx.ratchet();
        assert_eq!(tx.key_id(), (0, 1, 1));
        let wire = send(&mut tx, &mut buf);
        for rx in [&mut current, &mut stale] {
            load(&mut buf, &wire);
            rx.unprotect(&mut buf, Codec::Vp8, wire.len(), 1)
                .expect("ratchet followed");
        }
        tx.rekey(key(5)).expect("rekey");
        current.install_key(1, 0, key(5), 2).expect("install");
        let wire = send(&mut tx, &mut buf);
        load(&mut buf, &wire);
        current
            .unprotect(&mut buf, Codec::Vp8, wire.len(), 3)
            .expect("new generation");
        load(&mut buf, &wire);
        assert!(matches!(
            stale.unprotect(&mut buf, Codec::Vp8, wire.len(), 3),
            Err(Error::UnknownKeyId(_))
        ));
        assert_eq!(current.stats().key, Some((1, 0)));
        assert_eq!(stale.stats().key, Some((0, 1)));
    }

    #[test]
    fn members_exchange_announcements_and_follow_joins_and_leaves() {
        let mut rng = rng();
        let mut alice = member(b"alice", &mut rng);
        let mut bob = member(b"bob", &mut rng);
        let (a_at_b, _) = bob
            .add_peer(b"alice", alice.public_key(), 1, 0, &mut rng)
            .expect("add");
        let (b_at_a, none) = alice
            .add_peer(b"bob", bob.public_key(), 1, 0, &mut rng)
            .expect("add");
        assert!(none.is_empty(), "nothing to announce before sending");
        let announcements = alice.start(1, 0, &mut rng).expect("start");
        assert_eq!(announcements.len(), 1);
        assert_eq!(announcements[0].to, b"bob");
        let installed = bob.open(&announcements[0].data, 0).expect("open");
        assert_eq!(
            installed,
            Installed {
                peer: a_at_b,
                generation: 0,
                step: 0
            }
        );
        // A replayed announcement is refused.
        assert_eq!(
            bob.open(&announcements[0].data, 0),
            Err(Error::AnnouncementReplayed)
        );

        let mut buf = FrameBuffer::new();
        let mut send_and_check = |alice: &mut Member, bob: &mut Member, t: u64| {
            let frame = vp8(t.is_multiple_of(2), t);
            load(&mut buf, &frame);
            let sealed = alice
                .protect(&mut buf, Codec::Vp8, frame.len(), t)
                .expect("protect");
            let opened = bob.unprotect(a_at_b, &mut buf, Codec::Vp8, sealed.len, t);
            opened.map(|done| buf.bytes()[..done.len] == frame[..])
        };
        assert_eq!(send_and_check(&mut alice, &mut bob, 1), Ok(true));

        // Carol joins: Alice ratchets and seals the new step to Carol only.
        let mut carol = member(b"carol", &mut rng);
        let (a_at_c, _) = carol
            .add_peer(b"alice", alice.public_key(), 1, 0, &mut rng)
            .expect("add");
        let (c_at_a, to_carol) = alice
            .add_peer(b"carol", carol.public_key(), 3, 2, &mut rng)
            .expect("add");
        assert_eq!(to_carol.len(), 1);
        assert_eq!(carol.open(&to_carol[0].data, 2).expect("open").step, 1);
        assert_eq!(alice.send_stats().expect("sending").1, (0, 1, 1));
        assert_eq!(
            send_and_check(&mut alice, &mut bob, 3),
            Ok(true),
            "Bob ratchets"
        );

        // Bob leaves: a new generation, sealed to Carol alone.
        let to_rest = alice.remove_peer(b_at_a, 5, 4, &mut rng).expect("leave");
        assert_eq!(
            to_rest.iter().map(|a| a.to.as_slice()).collect::<Vec<_>>(),
            [b"carol"]
        );
        carol.open(&to_rest[0].data, 4).expect("open");
        assert!(
            matches!(
                send_and_check(&mut alice, &mut bob, 5),
                Err(Error::UnknownKeyId(_))
            ),
            "Bob cannot read the new generation"
        );
        let frame = vp8(true, 9);
        load(&mut buf, &frame);
        let sealed = alice
            .protect(&mut buf, Codec::Vp8, frame.len(), 6)
            .expect("protect");
        // Carol finds the sender by trying her peers' keys.
        let (peer, done) = carol
            .identify(&mut buf, Codec::Vp8, sealed.len, 6)
            .expect("identify");
        assert_eq!(peer, a_at_c);
        assert_eq!(&buf.bytes()[..done.len], frame.as_slice());
        let _ = c_at_a;
    }

    #[test]
    fn identify_does_not_count_failed_tries() {
        let mut rng = rng();
        let mut alice = member(b"alice", &mut rng);
        let mut dave = member(b"dave", &mut rng);
        let mut carol = member(b"carol", &mut rng);
        // Carol knows Dave first, then Alice; only Alice's key is installed.
        let (d, _) = carol
            .add_peer(b"dave", dave.public_key(), 1, 0, &mut rng)
            .expect("add");
        let (a, _) = carol
            .add_peer(b"alice", alice.public_key(), 1, 0, &mut rng)
            .expect("add");
        alice
            .add_peer(b"carol", carol.public_key(), 1, 0, &mut rng)
            .expect("add");
        dave.add_peer(b"carol", carol.public_key(), 1, 0, &mut rng)
            .expect("add");
        let from_alice = alice.start(1, 0, &mut rng).expect("start");
        let from_dave = dave.start(1, 0, &mut rng).expect("start");
        carol.open(&from_alice[0].data, 0).expect("open");
        carol.open(&from_dave[0].data, 0).expect("open");

        let mut buf = FrameBuffer::new();
        let frame = vp8(true, 1);
        load(&mut buf, &frame);
        let sealed = alice
            .protect(&mut buf, Codec::Vp8, frame.len(), 1)
            .expect("protect");
        let (peer, done) = carol
            .identify(&mut buf, Codec::Vp8, sealed.len, 1)
            .expect("identify");
        assert_eq!((peer, &buf.bytes()[..done.len]), (a, frame.as_slice()));
        // Dave's receiver was tried first (same KID 0, other key) and
        // failed: that is no authentication failure of Dave's.
        assert_eq!(
            carol.peer_stats(d).expect("dave").decrypt,
            DecryptStats::default()
        );
        assert_eq!(carol.peer_stats(a).expect("alice").decrypt.ok, 1);
    }

    #[test]
    fn identify_blames_no_key_for_a_sender_whose_key_has_not_come() {
        // Test 4's race: Carol (a browser) knows Alice, Bob and Dave, all
        // at the same KID; Bob's frame comes before Bob's announcement.
        // Alice's and Dave's keys fail on it, which says nothing about the
        // frame: it is unverifiable (no key yet), not unauthentic.
        let mut rng = rng();
        let mut carol = member(b"carol", &mut rng);
        let mut senders = Vec::new();
        for name in [&b"alice"[..], b"bob", b"dave"] {
            let mut m = member(name, &mut rng);
            m.add_peer(b"carol", carol.public_key(), 1, 0, &mut rng)
                .expect("add");
            carol
                .add_peer(name, m.public_key(), 1, 0, &mut rng)
                .expect("add");
            let to_carol = m.start(1, 0, &mut rng).expect("start");
            senders.push((m, to_carol));
        }
        let [(alice, a), (bob, b), (dave, d)] = &mut senders[..] else {
            unreachable!("three senders")
        };
        carol.open(&a[0].data, 0).expect("open");
        carol.open(&d[0].data, 0).expect("open");
        let mut buf = FrameBuffer::new();
        let mut sealed_by = |m: &mut Member, t: u64| {
            let frame = vp8(true, t);
            load(&mut buf, &frame);
            let n = m
                .protect(&mut buf, Codec::Vp8, frame.len(), t)
                .expect("protect")
                .len;
            buf.bytes()[..n].to_vec()
        };
        let from_bob = sealed_by(bob, 1);
        let from_alice = sealed_by(alice, 1);
        let _ = sealed_by(dave, 1);
        // Alice's second frame: a CTR no receiver has seen.
        let mut forged = sealed_by(alice, 2);
        *forged.last_mut().expect("not empty") ^= 1;
        assert_eq!(
            wire_ids(&from_bob),
            wire_ids(&from_alice),
            "the senders share a KID, and start at the same CTR"
        );
        let mut buf = FrameBuffer::new();
        // Alice's frame opens: her replay window now holds that KID and CTR.
        load(&mut buf, &from_alice);
        let (peer, _) = carol
            .identify(&mut buf, Codec::Vp8, from_alice.len(), 1)
            .expect("identify");
        assert_eq!(carol.peer_index(b"alice"), Some(peer));
        // Bob's: Alice's receiver calls it a replay, Dave's key fails on it;
        // neither says anything about Bob's frame.
        load(&mut buf, &from_bob);
        assert!(
            matches!(
                carol.identify(&mut buf, Codec::Vp8, from_bob.len(), 1),
                Err(Error::UnknownKeyId(_))
            ),
            "no key for Bob yet: unknown KID, not an authentication failure"
        );
        // Once Bob's key is there, the same frame opens as Bob's.
        carol.open(&b[0].data, 2).expect("open");
        load(&mut buf, &from_bob);
        let (peer, _) = carol
            .identify(&mut buf, Codec::Vp8, from_bob.len(), 2)
            .expect("identify");
        assert_eq!(carol.peer_index(b"bob"), Some(peer));
        // With every key there, a frame seen before is a replay...
        load(&mut buf, &from_bob);
        assert_eq!(
            carol.identify(&mut buf, Codec::Vp8, from_bob.len(), 2),
            Err(Error::Replayed)
        );
        // ... and a forged frame fails authentication.
        load(&mut buf, &forged);
        assert_eq!(
            carol.identify(&mut buf, Codec::Vp8, forged.len(), 2),
            Err(Error::AuthenticationFailed)
        );
    }

    fn wire_ids(frame: &[u8]) -> (u64, u64) {
        let mut buf = FrameBuffer::new();
        load(&mut buf, frame);
        let view = inspect(&buf, Codec::Vp8, frame.len()).expect("view");
        (view.kid, view.ctr)
    }

    #[test]
    fn the_distributors_key_is_what_seals() {
        // The copy that seals must be the distributor's key: a receiver
        // keyed only by the announcement opens what `Member::protect`
        // sealed, with counters that never repeat.
        let mut rng = rng();
        let mut alice = member(b"alice", &mut rng);
        let mut bob = member(b"bob", &mut rng);
        let (a, _) = bob
            .add_peer(b"alice", alice.public_key(), 1, 0, &mut rng)
            .expect("add");
        alice
            .add_peer(b"bob", bob.public_key(), 1, 0, &mut rng)
            .expect("add");
        let announcements = alice.start(1, 0, &mut rng).expect("start");
        bob.open(&announcements[0].data, 0).expect("open");
        let mut buf = FrameBuffer::new();
        let mut last_ctr = None;
        for t in 0..3 {
            let frame = vp8(false, t);
            load(&mut buf, &frame);
            let sealed = alice
                .protect(&mut buf, Codec::Vp8, frame.len(), t)
                .expect("protect");
            let view = inspect(&buf, Codec::Vp8, sealed.len).expect("view");
            assert!(
                last_ctr.is_none_or(|c| view.ctr > c),
                "counters never repeat"
            );
            last_ctr = Some(view.ctr);
            bob.unprotect(a, &mut buf, Codec::Vp8, sealed.len, t)
                .expect("open");
        }
    }

    #[test]
    fn room_covers_every_codec_and_suite() {
        for len in [0, 1, 100, 65_536] {
            let room = FrameBuffer::room_for(len);
            for suite in CipherSuite::ALL {
                for codec in [
                    Codec::OPUS,
                    Codec::Vp8,
                    Codec::Vp9,
                    Codec::H264,
                    Codec::H265,
                    Codec::Av1,
                    Codec::Unknown,
                ] {
                    assert!(room >= max_in_place_len(codec, suite, len));
                    assert!(room >= max_unprotect_in_place_len(codec, len));
                }
            }
        }
    }
}
