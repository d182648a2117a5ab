//! Every framecrypt call of the demo, in one place: codec-aware protection
//! of each frame before packetization and after depacketization, the keys
//! (HPKE distribution by default, an openmls group with `--mls`), and the
//! SFU's key-less view.
//!
//! Every key holder goes through framecrypt's roles: a `KeyDistributor` or
//! an `MlsSender` seals (`dist.at(now)`), a `RatchetingReceiver` or an
//! `EpochManager` opens (`rx.at(now)`).
//!
//! Times: the callers pass milliseconds since the call started; the HPKE
//! side adds the call's start in Unix milliseconds ([`CallParams::wall_epoch_ms`]),
//! because announcements carry the wall-clock time they were issued and a
//! browser member checks them against its own `Date.now()`.

use std::collections::HashMap;

use framecrypt::codec::{Codec, Fallback, Protection, max_protected_len};
use framecrypt::distribute::{
    Freshness, Identity, IdentityPublicKey, KeyDistributor, Participant, Session,
};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, EpochManager, Error, MlsExporter, MlsSender, RatchetBits,
    RatchetingReceiver, sfu,
};
use openmls::prelude::tls_codec::Deserialize as _;
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage, KeyPackageIn, LeafNodeIndex,
    MlsGroup, MlsGroupCreateConfig, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider,
    ProcessedMessageContent, ProtocolVersion, StagedWelcome,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroize;

use crate::media::{Kind, VideoCodec};

/// A participant's place in the call (0-based).
pub type Peer = usize;

/// `R`, the ratchet bits of every HPKE-distributed KID.
pub const RATCHET_BITS: u32 = 8;

/// The MLS cipher suite of `--mls` groups (MTI, RFC 9420 §17.1).
const MLS_SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// `E`: the low bits of the MLS epoch in the KID.
const EPOCH_BITS: u32 = 4;

/// Sender keys an MLS receiver can hold: every sender in four epochs.
const MLS_KEYS: usize = 256;

/// The protection of the call's video codec.
fn codec_of(video: VideoCodec) -> Codec {
    match video {
        VideoCodec::Vp8 => Codec::Vp8,
        VideoCodec::Vp9 => Codec::Vp9,
        VideoCodec::H264 => Codec::H264,
        VideoCodec::Av1 => Codec::Av1,
    }
}

/// The SFrame cipher suite named on the command line: its RFC 9605 number
/// (1 to 8) or its name.
///
/// # Errors
/// Neither a known number nor a name.
pub fn parse_suite(s: &str) -> Result<u16, String> {
    let all = (1..=8u16).filter_map(|n| CipherSuite::from_id(n).ok().map(|c| (n, c)));
    for (n, suite) in all {
        if s == n.to_string() || s.eq_ignore_ascii_case(&suite.to_string()) {
            return Ok(n);
        }
    }
    Err(format!(
        "unknown SFrame cipher suite {s:?} (1..=8 or a name such as AES_128_GCM_SHA256_128)"
    ))
}

/// The suite's RFC 9605 name.
pub fn suite_name(suite: u16) -> String {
    CipherSuite::from_id(suite).map_or_else(|_| format!("{suite}"), |s| s.to_string())
}

fn suite_of(suite: u16) -> Result<CipherSuite, Error> {
    CipherSuite::from_id(suite)
}

/// Why a frame was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// No key for the frame's KID (not a member, or no key yet).
    UnknownKey,
    /// The authentication tag did not verify.
    AuthFailed,
    /// Already received.
    Replayed,
    /// The KID's key was superseded and has expired, or ratchets too far.
    Expired,
    /// The frame does not parse.
    Malformed,
    /// Anything else.
    Other,
}

impl Reason {
    /// A short name for the table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UnknownKey => "no key",
            Self::AuthFailed => "auth",
            Self::Replayed => "replay",
            Self::Expired => "expired",
            Self::Malformed => "malformed",
            Self::Other => "other",
        }
    }

    fn of(e: Error) -> Self {
        match e {
            Error::UnknownKeyId(_) | Error::NoEpoch => Self::UnknownKey,
            Error::AuthenticationFailed => Self::AuthFailed,
            Error::Replayed => Self::Replayed,
            Error::KeyExpired | Error::TooFarAhead => Self::Expired,
            Error::MalformedHeader | Error::FrameTooShort | Error::MalformedFrame => {
                Self::Malformed
            }
            _ => Self::Other,
        }
    }
}

/// What identifies a protected frame without a key: its KID and CTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameId {
    /// The SFrame KID.
    pub kid: u64,
    /// The SFrame CTR.
    pub ctr: u64,
}

/// What the SFU may know of a protected frame (`sfu::inspect_codec`).
#[derive(Clone, Copy, Debug)]
pub struct SfuView {
    /// KID and CTR.
    pub id: FrameId,
    /// The clear codec bytes say it is a keyframe.
    pub keyframe: bool,
    /// The clear codec bytes say whether it is a keyframe at all.
    pub keyframe_known: bool,
}

/// The SFU's view of a protected frame: no key is involved.
pub fn sfu_view(video: VideoCodec, kind: Kind, frame: &[u8]) -> Option<SfuView> {
    let codec = match kind {
        Kind::Audio => Codec::OPUS,
        Kind::Video => codec_of(video),
    };
    let view = sfu::inspect_codec(codec, frame).ok()?;
    Some(SfuView {
        id: FrameId {
            kid: view.header().kid().0,
            ctr: view.header().ctr().0,
        },
        keyframe: view.hints().keyframe == Some(true),
        keyframe_known: view.hints().keyframe.is_some(),
    })
}

/// The parameters every member shares.
#[derive(Clone, Debug)]
pub struct CallParams {
    /// The SFrame cipher suite number.
    pub suite: u16,
    /// The video codec.
    pub video: VideoCodec,
    /// The HPKE session ID (random per call).
    pub session_id: Vec<u8>,
    /// When the call started, in Unix milliseconds: added to the call's
    /// clock for everything the HPKE distribution dates.
    pub wall_epoch_ms: u64,
}

impl CallParams {
    fn session(&self) -> Result<Session, Error> {
        Session::new(
            &self.session_id,
            suite_of(self.suite)?,
            RatchetBits::new(RATCHET_BITS)?,
        )
    }
}

/// A membership change as every member sees it: the roster version after
/// it (the same number at every member) and when it happened on the
/// call's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The session's roster version after the change.
    pub roster_version: u64,
    /// Milliseconds since the call started.
    pub now_ms: u64,
}

/// Who a participant is, as every other member knows it.
#[derive(Clone, Debug)]
pub struct MemberInfo {
    /// Place in the call.
    pub peer: Peer,
    /// The participant ID (its name's bytes).
    pub id: Vec<u8>,
    /// Its X25519 identity public key (HPKE distribution).
    pub identity: [u8; 32],
}

/// Key-management messages between members, carried by the demo's
/// in-process signalling (or `/poll` and `/announce` for a browser). None
/// of them helps the SFU: announcements are HPKE-sealed, MLS messages are
/// MLS's own.
#[derive(Clone, Debug)]
pub enum KeyMsg {
    /// A sealed sender key (distribute's byte format).
    Announcement {
        /// The sender whose key it is.
        from: Peer,
        /// The announcement.
        bytes: Vec<u8>,
    },
    /// An MLS key package of a joiner, for the committer.
    MlsKeyPackage {
        /// The joiner.
        joiner: Peer,
        /// TLS-serialized key package.
        bytes: Vec<u8>,
    },
    /// An MLS commit (TLS-serialized `MlsMessageOut`).
    MlsCommit(Vec<u8>),
    /// An MLS welcome (TLS-serialized `MlsMessageOut`).
    MlsWelcome(Vec<u8>),
}

/// A key message and its recipient.
#[derive(Debug)]
pub struct Outgoing {
    /// The recipient.
    pub to: Peer,
    /// The message.
    pub msg: KeyMsg,
}

/// A frame a receiver opened.
#[derive(Debug)]
pub struct Opened {
    /// The frame as the sender's encoder made it.
    pub frame: Vec<u8>,
    /// KID and CTR it carried.
    pub id: FrameId,
}

/// A frame a sender protected.
#[derive(Debug)]
pub struct Sealed {
    /// What goes to the packetizer.
    pub frame: Vec<u8>,
    /// Its KID and CTR.
    pub id: FrameId,
}

/// One participant's end-to-end encryption: its sender, its receivers and
/// its side of key management.
pub struct E2ee {
    video: Protection,
    audio: Protection,
    keys: Keys,
}

impl std::fmt::Debug for E2ee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2ee")
            .field("mls", &matches!(self.keys, Keys::Mls(_)))
            .finish()
    }
}

enum Keys {
    Hpke(Box<Hpke>),
    Mls(Box<Mls>),
}

impl E2ee {
    fn new(params: &CallParams, keys: Keys) -> Self {
        Self {
            video: Protection::new(codec_of(params.video), Fallback::Reject),
            audio: Protection::new(Codec::OPUS, Fallback::Reject),
            keys,
        }
    }

    fn protection(&self, kind: Kind) -> &Protection {
        match kind {
            Kind::Audio => &self.audio,
            Kind::Video => &self.video,
        }
    }

    /// Starts an HPKE-distributing member `me` with `identity`: its own
    /// fresh key is sealed to each of `others` (the members present now).
    /// `directory` lists every participant the call may have, so that
    /// announcements from later joiners can be authenticated.
    ///
    /// # Errors
    /// A framecrypt error (an invalid ID, say).
    pub fn start_hpke(
        params: &CallParams,
        me: &MemberInfo,
        identity: Identity,
        others: &[MemberInfo],
        directory: &[MemberInfo],
        change: Change,
        rng: &mut ChaCha20Rng,
    ) -> Result<(Self, Vec<Outgoing>), Error> {
        let session = params.session()?;
        let roster = participants(others)?;
        let wall_epoch_ms = params.wall_epoch_ms;
        let (dist, announcements) = KeyDistributor::start(
            session.clone(),
            &me.id,
            &identity,
            roster,
            change.roster_version,
            wall_epoch_ms.saturating_add(change.now_ms),
            rng,
        )?;
        let hpke = Hpke {
            me: me.clone(),
            identity,
            session,
            dist,
            receivers: HashMap::new(),
            directory: directory.to_vec(),
            wall_epoch_ms,
            roster_floor: change.roster_version,
            sender_floor: HashMap::new(),
        };
        let out = hpke.route(announcements);
        Ok((Self::new(params, Keys::Hpke(Box::new(hpke))), out))
    }

    /// A new MLS member `me` (not in a group yet) and its key package.
    ///
    /// # Errors
    /// openmls could not make a signing key or key package.
    pub fn new_mls(
        params: &CallParams,
        me: &MemberInfo,
        directory: &[MemberInfo],
    ) -> Result<(Self, Vec<u8>), String> {
        let mls = Mls::new(params, me, directory)?;
        let package = mls.key_package()?;
        Ok((Self::new(params, Keys::Mls(Box::new(mls))), package))
    }

    /// MLS: starts the group with this member alone (epoch 0).
    ///
    /// # Errors
    /// openmls refused, or the epoch could not be entered.
    pub fn create_group(&mut self, now_ms: u64) -> Result<(), String> {
        match &mut self.keys {
            Keys::Mls(m) => m.create_group(now_ms),
            Keys::Hpke(_) => Err("not an MLS member".into()),
        }
    }

    /// The members this participant's frames are protected for now (its
    /// own roster view): who may read what it sends.
    pub fn audience(&self) -> Vec<Peer> {
        match &self.keys {
            Keys::Hpke(h) => h
                .dist
                .members()
                .iter()
                .filter_map(|p| h.peer_of(p.id()))
                .collect(),
            Keys::Mls(m) => m.members(),
        }
    }

    /// Protects one frame of `kind` at `now_ms`.
    ///
    /// # Errors
    /// A framecrypt error (no key yet, say).
    pub fn protect(&mut self, kind: Kind, frame: &[u8], now_ms: u64) -> Result<Sealed, Error> {
        let protection = *self.protection(kind);
        let mut out = Vec::new();
        let processed = match &mut self.keys {
            Keys::Hpke(h) => {
                out.resize(
                    max_protected_len(protection.codec(), h.session.suite(), frame.len()),
                    0,
                );
                let now = h.wall(now_ms);
                protection.protect(&mut h.dist.at(now), frame, &mut out)?
            }
            Keys::Mls(m) => {
                let sender = m.sender.as_mut().ok_or(Error::NoEpoch)?;
                out.resize(
                    max_protected_len(protection.codec(), suite_of(m.suite)?, frame.len()),
                    0,
                );
                protection.protect(sender, frame, &mut out)?
            }
        };
        out.truncate(processed.len());
        Ok(Sealed {
            frame: out,
            id: FrameId {
                kid: processed.header().kid().0,
                ctr: processed.header().ctr().0,
            },
        })
    }

    /// Opens a frame of `kind` from `from` at `now_ms`.
    ///
    /// # Errors
    /// Why it was not opened.
    pub fn unprotect(
        &mut self,
        from: Peer,
        kind: Kind,
        frame: &[u8],
        now_ms: u64,
    ) -> Result<Opened, Reason> {
        let protection = *self.protection(kind);
        let mut out = vec![0; frame.len()];
        let processed = match &mut self.keys {
            Keys::Hpke(h) => {
                let now = h.wall(now_ms);
                let rx = h.receivers.get_mut(&from).ok_or(Reason::UnknownKey)?;
                protection.unprotect(&mut rx.at(now), frame, &mut out)
            }
            Keys::Mls(m) => protection.unprotect(&mut m.epochs.at(now_ms), frame, &mut out),
        }
        .map_err(Reason::of)?;
        out.truncate(processed.len());
        Ok(Opened {
            frame: out,
            id: FrameId {
                kid: processed.header().kid().0,
                ctr: processed.header().ctr().0,
            },
        })
    }

    /// `joiner` joins at `now_ms`. HPKE: this sender ratchets and seals the
    /// new step to the joiner only. MLS: the committer (the member with
    /// the lowest place) waits for the joiner's key package; others wait
    /// for the commit.
    ///
    /// # Errors
    /// A framecrypt error.
    pub fn on_join(
        &mut self,
        joiner: &MemberInfo,
        roster_version: u64,
        now_ms: u64,
        rng: &mut ChaCha20Rng,
    ) -> Result<Vec<Outgoing>, String> {
        match &mut self.keys {
            Keys::Hpke(h) => {
                if !h.directory.iter().any(|m| m.peer == joiner.peer) {
                    h.directory.push(joiner.clone());
                }
                let participant = participant(joiner).map_err(|e| e.to_string())?;
                let now = h.wall(now_ms);
                let announcement = h
                    .dist
                    .join(&h.identity, participant, roster_version, now, rng)
                    .map_err(|e| format!("join: {e}"))?;
                Ok(h.route(vec![announcement]))
            }
            Keys::Mls(m) => {
                if !m.directory.iter().any(|d| d.peer == joiner.peer) {
                    m.directory.push(joiner.clone());
                }
                Ok(Vec::new())
            }
        }
    }

    /// `leaver` leaves at `now_ms`. HPKE: a new generation sealed to the
    /// remaining members. MLS: the committer commits the removal.
    ///
    /// # Errors
    /// A framecrypt or openmls error.
    pub fn on_leave(
        &mut self,
        leaver: Peer,
        committer: bool,
        roster_version: u64,
        now_ms: u64,
        rng: &mut ChaCha20Rng,
    ) -> Result<Vec<Outgoing>, String> {
        match &mut self.keys {
            Keys::Hpke(h) => {
                let id = h
                    .directory
                    .iter()
                    .find(|m| m.peer == leaver)
                    .map(|m| m.id.clone())
                    .ok_or("unknown leaver")?;
                // Keys made before the removal are superseded, from
                // every sender.
                h.roster_floor = h.roster_floor.max(roster_version);
                let now = h.wall(now_ms);
                let announcements = h
                    .dist
                    .leave(&h.identity, &id, roster_version, now, rng)
                    .map_err(|e| format!("leave: {e}"))?;
                Ok(h.route(announcements))
            }
            Keys::Mls(m) if committer => m.remove(leaver, now_ms),
            Keys::Mls(_) => Ok(Vec::new()),
        }
    }

    /// Handles a key message from signalling.
    ///
    /// # Errors
    /// The message was refused (which the caller reports: no honest
    /// participant should send one that is).
    pub fn on_key_msg(&mut self, msg: KeyMsg, now_ms: u64) -> Result<Vec<Outgoing>, String> {
        match (&mut self.keys, msg) {
            (Keys::Hpke(h), KeyMsg::Announcement { from, bytes }) => {
                h.install(from, &bytes, now_ms)
                    .map_err(|e| format!("announcement from {from}: {e}"))?;
                Ok(Vec::new())
            }
            (Keys::Mls(m), KeyMsg::MlsKeyPackage { joiner, bytes }) => {
                m.add(joiner, &bytes, now_ms)
            }
            (Keys::Mls(m), KeyMsg::MlsCommit(bytes)) => {
                m.process_commit(&bytes, now_ms).map(|()| Vec::new())
            }
            (Keys::Mls(m), KeyMsg::MlsWelcome(bytes)) => {
                m.join(&bytes, now_ms).map(|()| Vec::new())
            }
            (_, msg) => Err(format!("unexpected key message {msg:?}")),
        }
    }

    /// Whether keys come from an MLS group.
    pub const fn is_mls(&self) -> bool {
        matches!(self.keys, Keys::Mls(_))
    }

    /// Whether it has a key to send with (an MLS joiner has none until
    /// its welcome).
    pub fn ready(&self) -> bool {
        match &self.keys {
            Keys::Hpke(_) => true,
            Keys::Mls(m) => m.sender.as_ref().is_some_and(|s| s.epoch().is_some()),
        }
    }
}

/// A fresh X25519 identity from `rng`.
pub fn new_identity(rng: &mut ChaCha20Rng) -> (Identity, [u8; 32]) {
    let identity = Identity::generate(rng);
    let public = identity.public_key().to_bytes();
    (identity, public)
}

/// Checks a browser's identity public key.
///
/// # Errors
/// Not a valid X25519 public key.
pub fn check_identity(bytes: [u8; 32]) -> Result<(), Error> {
    IdentityPublicKey::from_bytes(bytes).map(|_| ())
}

/// The sender an announcement names in its clear header (no key).
pub fn announcement_sender(bytes: &[u8]) -> Option<Vec<u8>> {
    framecrypt::distribute::AnnouncementHeader::parse(bytes)
        .ok()
        .map(|h| h.sender_id().to_vec())
}

fn participant(m: &MemberInfo) -> Result<Participant, Error> {
    Participant::new(&m.id, IdentityPublicKey::from_bytes(m.identity)?)
}

fn participants(members: &[MemberInfo]) -> Result<Vec<Participant>, Error> {
    members.iter().map(participant).collect()
}

/// HPKE distribution: a `KeyDistributor` that seals our frames itself and
/// one `RatchetingReceiver` per other sender.
struct Hpke {
    me: MemberInfo,
    identity: Identity,
    session: Session,
    dist: KeyDistributor,
    receivers: HashMap<Peer, RatchetingReceiver<4, 2>>,
    directory: Vec<MemberInfo>,
    /// The call's start in Unix milliseconds.
    wall_epoch_ms: u64,
    /// The roster version of this member's own start or join, raised to
    /// every removal it hears of: announcements of older rosters are
    /// refused (a removal has superseded them).
    roster_floor: u64,
    /// Per sender, the roster version of the newest key installed from
    /// it: that sender's older announcements are refused too. Kept per
    /// sender because announcements of different senders race: one
    /// sender's key for a join must not make another sender's earlier,
    /// still valid key look superseded.
    sender_floor: HashMap<Peer, u64>,
}

impl Hpke {
    /// The call's clock as the wall clock the announcements are dated by.
    const fn wall(&self, now_ms: u64) -> u64 {
        self.wall_epoch_ms.saturating_add(now_ms)
    }

    fn peer_of(&self, id: &[u8]) -> Option<Peer> {
        self.directory.iter().find(|m| m.id == id).map(|m| m.peer)
    }

    fn route(&self, announcements: Vec<framecrypt::distribute::KeyAnnouncement>) -> Vec<Outgoing> {
        announcements
            .into_iter()
            .filter_map(|a| {
                let to = self.peer_of(a.recipient_id())?;
                Some(Outgoing {
                    to,
                    msg: KeyMsg::Announcement {
                        from: self.me.peer,
                        bytes: a.into_bytes(),
                    },
                })
            })
            .collect()
    }

    fn install(&mut self, from: Peer, bytes: &[u8], now_ms: u64) -> Result<(), Error> {
        let sender = self
            .directory
            .iter()
            .find(|m| m.peer == from)
            .ok_or(Error::WrongSender)?;
        let now = self.wall(now_ms);
        let floor = self
            .sender_floor
            .get(&from)
            .copied()
            .unwrap_or(0)
            .max(self.roster_floor);
        let freshness = Freshness {
            now_ms: now,
            min_roster_version: floor,
        };
        let key = self.session.open_announcement(
            bytes,
            &self.me.id,
            &self.identity,
            &participant(sender)?,
            freshness,
        )?;
        let roster_version = key.roster_version();
        let rx = self
            .receivers
            .entry(from)
            .or_insert_with(|| self.session.receiver::<4, 2>());
        key.install(rx, now)?;
        let floor = self.sender_floor.entry(from).or_insert(0);
        *floor = (*floor).max(roster_version);
        Ok(())
    }
}

/// framecrypt's exporter over an openmls group (RFC 9605 §5.2).
struct GroupExporter<'a> {
    group: &'a MlsGroup,
    provider: &'a OpenMlsRustCrypto,
}

impl MlsExporter for GroupExporter<'_> {
    fn export(&self, label: &str, context: &[u8], len: usize) -> Result<BaseKey, Error> {
        let mut secret = self
            .group
            .export_secret(self.provider.crypto(), label, context, len)
            .map_err(|_| Error::ExportFailed)?;
        let key = BaseKey::new(&secret);
        secret.zeroize();
        key
    }
}

/// An openmls group member with framecrypt's `EpochManager` (receiving)
/// and `MlsSender` (sending).
struct Mls {
    suite: u16,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
    epochs: EpochManager<4, MLS_KEYS>,
    sender: Option<MlsSender>,
    directory: Vec<MemberInfo>,
}

fn group_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(MLS_SUITE)
        .use_ratchet_tree_extension(true)
        .build()
}

fn ser(message: &impl openmls::prelude::tls_codec::Serialize) -> Result<Vec<u8>, String> {
    message
        .tls_serialize_detached()
        .map_err(|e| format!("serialize: {e}"))
}

impl Mls {
    fn new(params: &CallParams, me: &MemberInfo, directory: &[MemberInfo]) -> Result<Self, String> {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(MLS_SUITE.signature_algorithm())
            .map_err(|e| format!("signing key: {e:?}"))?;
        signer
            .store(provider.storage())
            .map_err(|e| format!("store: {e:?}"))?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(me.id.clone()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        let epochs = EpochManager::new(
            suite_of(params.suite).map_err(|e| e.to_string())?,
            EPOCH_BITS,
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            suite: params.suite,
            provider,
            signer,
            credential,
            group: None,
            epochs,
            sender: None,
            directory: directory.to_vec(),
        })
    }

    fn key_package(&self) -> Result<Vec<u8>, String> {
        let bundle = KeyPackage::builder()
            .build(
                MLS_SUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .map_err(|e| format!("key package: {e:?}"))?;
        ser(bundle.key_package())
    }

    fn create_group(&mut self, now_ms: u64) -> Result<(), String> {
        let group = MlsGroup::new(
            &self.provider,
            &self.signer,
            &group_config(),
            self.credential.clone(),
        )
        .map_err(|e| format!("new group: {e:?}"))?;
        self.group = Some(group);
        self.enter_epoch(now_ms)
    }

    /// RFC 9605 §5.2 on every epoch change: export the epoch's base key
    /// into the epoch manager and move the sender to it.
    fn enter_epoch(&mut self, now_ms: u64) -> Result<(), String> {
        let group = self.group.as_ref().ok_or("not in a group")?;
        let epoch = group.epoch().as_u64();
        // Removed members leave blank leaves: S comes from the highest index.
        let leaves = group
            .members()
            .map(|m| u64::from(m.index.u32()) + 1)
            .max()
            .unwrap_or(1);
        let exporter = GroupExporter {
            group,
            provider: &self.provider,
        };
        self.epochs
            .add_epoch(epoch, leaves, &exporter, now_ms)
            .map_err(|e| format!("add epoch: {e}"))?;
        let index = u64::from(group.own_leaf_index().u32());
        self.sender
            .get_or_insert_with(|| MlsSender::new(index, 0))
            .enter_epoch(&self.epochs)
            .map_err(|e| format!("enter epoch: {e}"))
    }

    fn members(&self) -> Vec<Peer> {
        let Some(group) = &self.group else {
            return Vec::new();
        };
        let own = group.own_leaf_index();
        group
            .members()
            .filter(|m| m.index != own)
            .filter_map(|m| {
                let id = BasicCredential::try_from(m.credential)
                    .ok()?
                    .identity()
                    .to_vec();
                self.directory.iter().find(|d| d.id == id).map(|d| d.peer)
            })
            .collect()
    }

    fn leaf_of(&self, peer: Peer) -> Option<u32> {
        let id = &self.directory.iter().find(|d| d.peer == peer)?.id;
        self.group.as_ref()?.members().find_map(|m| {
            let cid = BasicCredential::try_from(m.credential)
                .ok()?
                .identity()
                .to_vec();
            (&cid == id).then_some(m.index.u32())
        })
    }

    /// Commits the addition of `joiner`: the commit to every other member,
    /// the welcome to the joiner.
    fn add(&mut self, joiner: Peer, package: &[u8], now_ms: u64) -> Result<Vec<Outgoing>, String> {
        let package = KeyPackageIn::tls_deserialize_exact(package)
            .map_err(|e| format!("key package: {e}"))?
            .validate(self.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|e| format!("key package: {e:?}"))?;
        let others = self.members();
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().ok_or("not in a group")?;
        let (commit, welcome, _) = group
            .add_members(provider, signer, &[package])
            .map_err(|e| format!("add: {e:?}"))?;
        group
            .merge_pending_commit(provider)
            .map_err(|e| format!("merge: {e:?}"))?;
        self.enter_epoch(now_ms)?;
        let commit = ser(&commit)?;
        let mut out: Vec<Outgoing> = others
            .into_iter()
            .map(|to| Outgoing {
                to,
                msg: KeyMsg::MlsCommit(commit.clone()),
            })
            .collect();
        out.push(Outgoing {
            to: joiner,
            msg: KeyMsg::MlsWelcome(ser(&welcome)?),
        });
        Ok(out)
    }

    /// Commits the removal of `leaver`, sent to the remaining members.
    fn remove(&mut self, leaver: Peer, now_ms: u64) -> Result<Vec<Outgoing>, String> {
        let leaf = self.leaf_of(leaver).ok_or("leaver not in the group")?;
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().ok_or("not in a group")?;
        let (commit, _, _) = group
            .remove_members(provider, signer, &[LeafNodeIndex::new(leaf)])
            .map_err(|e| format!("remove: {e:?}"))?;
        let group = self.group.as_mut().ok_or("not in a group")?;
        group
            .merge_pending_commit(provider)
            .map_err(|e| format!("merge: {e:?}"))?;
        self.enter_epoch(now_ms)?;
        let commit = ser(&commit)?;
        Ok(self
            .members()
            .into_iter()
            .map(|to| Outgoing {
                to,
                msg: KeyMsg::MlsCommit(commit.clone()),
            })
            .collect())
    }

    fn join(&mut self, welcome: &[u8], now_ms: u64) -> Result<(), String> {
        let message =
            MlsMessageIn::tls_deserialize_exact(welcome).map_err(|e| format!("welcome: {e}"))?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err("not a welcome".into());
        };
        let group = StagedWelcome::new_from_welcome(
            &self.provider,
            group_config().join_config(),
            welcome,
            None,
        )
        .map_err(|e| format!("welcome: {e:?}"))?
        .into_group(&self.provider)
        .map_err(|e| format!("join: {e:?}"))?;
        self.group = Some(group);
        self.enter_epoch(now_ms)
    }

    fn process_commit(&mut self, commit: &[u8], now_ms: u64) -> Result<(), String> {
        let message = MlsMessageIn::tls_deserialize_exact(commit)
            .map_err(|e| format!("commit: {e}"))?
            .try_into_protocol_message()
            .map_err(|e| format!("commit: {e:?}"))?;
        let provider = &self.provider;
        let group = self.group.as_mut().ok_or("not in a group")?;
        let processed = group
            .process_message(provider, message)
            .map_err(|e| format!("process: {e:?}"))?;
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            return Err("expected a commit".into());
        };
        group
            .merge_staged_commit(provider, *staged)
            .map_err(|e| format!("merge: {e:?}"))?;
        if !group.is_active() {
            // Removed: no new epoch; the old keys stay (an eavesdropper).
            return Ok(());
        }
        self.enter_epoch(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{VideoCodec, load_video};
    use rand_core::SeedableRng;

    fn params() -> CallParams {
        CallParams {
            suite: 4,
            video: VideoCodec::Vp8,
            session_id: b"test-session".to_vec(),
            wall_epoch_ms: 1_767_225_600_000,
        }
    }

    const fn change(roster_version: u64, now_ms: u64) -> Change {
        Change {
            roster_version,
            now_ms,
        }
    }

    fn info(peer: Peer, identity: [u8; 32]) -> MemberInfo {
        MemberInfo {
            peer,
            id: format!("p{peer}").into_bytes(),
            identity,
        }
    }

    /// Delivers key messages until none is left.
    fn deliver(members: &mut [E2ee], mut queue: Vec<Outgoing>, now: u64) {
        while let Some(o) = queue.pop() {
            queue.extend(members[o.to].on_key_msg(o.msg, now).expect("key message"));
        }
    }

    #[test]
    fn hpke_join_and_leave_decide_who_reads() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut ids: Vec<(Identity, [u8; 32])> = (0..3).map(|_| new_identity(&mut rng)).collect();
        let dir: Vec<MemberInfo> = ids
            .iter()
            .enumerate()
            .map(|(i, (_, p))| info(i, *p))
            .collect();
        let (joiner_identity, _) = ids.pop().expect("three");
        let mut members = Vec::new();
        let mut queue = Vec::new();
        for (i, (identity, _)) in ids.into_iter().enumerate() {
            let others: Vec<MemberInfo> =
                dir[..2].iter().filter(|m| m.peer != i).cloned().collect();
            let (e, out) = E2ee::start_hpke(
                &params(),
                &dir[i],
                identity,
                &others,
                &dir,
                change(1, 0),
                &mut rng,
            )
            .expect("start");
            members.push(e);
            queue.extend(out);
        }
        deliver(&mut members, queue, 0);
        let frame = load_video(VideoCodec::Vp8).expect("sample").frames[0]
            .data
            .clone();
        let before = members[0].protect(Kind::Video, &frame, 1).expect("protect");
        assert_eq!(
            members[1]
                .unprotect(0, Kind::Video, &before.frame, 1)
                .expect("open")
                .frame,
            frame
        );
        assert_eq!(
            members[1].unprotect(0, Kind::Video, &before.frame, 1).err(),
            Some(Reason::Replayed)
        );

        // p2 joins: it cannot read what p0 sent before.
        let (joiner, out) = E2ee::start_hpke(
            &params(),
            &dir[2],
            joiner_identity,
            &dir[..2],
            &dir,
            change(2, 2),
            &mut rng,
        )
        .expect("joiner");
        members.push(joiner);
        let mut queue = out;
        for m in &mut members[..2] {
            queue.extend(m.on_join(&dir[2], 2, 2, &mut rng).expect("join"));
        }
        deliver(&mut members, queue, 2);
        // The step before the joiner's: behind its key, never derivable.
        assert_eq!(
            members[2].unprotect(0, Kind::Video, &before.frame, 3).err(),
            Some(Reason::Expired)
        );
        let after = members[0].protect(Kind::Video, &frame, 3).expect("protect");
        assert_eq!(
            members[2]
                .unprotect(0, Kind::Video, &after.frame, 3)
                .expect("joiner reads")
                .frame,
            frame
        );
        assert_eq!(
            members[1]
                .unprotect(0, Kind::Video, &after.frame, 3)
                .expect("member reads")
                .frame,
            frame
        );

        // p1 leaves: it cannot read what p0 sends next.
        let mut queue = Vec::new();
        for i in [0, 2] {
            queue.extend(
                members[i]
                    .on_leave(1, i == 0, 3, 4, &mut rng)
                    .expect("leave"),
            );
        }
        deliver(&mut members, queue, 4);
        let later = members[0].protect(Kind::Video, &frame, 5).expect("protect");
        assert!(
            members[1]
                .unprotect(0, Kind::Video, &later.frame, 5)
                .is_err()
        );
        assert_eq!(
            members[2]
                .unprotect(0, Kind::Video, &later.frame, 5)
                .expect("stays")
                .frame,
            frame
        );
        assert_eq!(members[0].audience(), vec![2]);
    }

    #[test]
    fn a_joiners_announcement_arriving_first_does_not_supersede_an_earlier_key() {
        // p0 and p1 start at roster version 1; p0's announcement to p1 is
        // late, and p2's (version 2, its join) reaches p1 first. p1 must
        // still install p0's key: a join supersedes nothing.
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let ids: Vec<(Identity, [u8; 32])> = (0..3).map(|_| new_identity(&mut rng)).collect();
        let dir: Vec<MemberInfo> = ids
            .iter()
            .enumerate()
            .map(|(i, (_, p))| info(i, *p))
            .collect();
        let mut members = Vec::new();
        let mut late = Vec::new();
        let mut queue = Vec::new();
        for (i, (identity, _)) in ids.into_iter().enumerate() {
            let (others, at) = if i < 2 {
                let others = dir[..2].iter().filter(|m| m.peer != i).cloned().collect();
                (others, change(1, 0))
            } else {
                (dir[..2].to_vec(), change(2, 1))
            };
            let (e, out) =
                E2ee::start_hpke(&params(), &dir[i], identity, &others, &dir, at, &mut rng)
                    .expect("start");
            members.push(e);
            for o in out {
                if i == 0 && o.to == 1 {
                    late.push(o);
                } else {
                    queue.push(o);
                }
            }
        }
        for m in &mut members[..2] {
            queue.extend(m.on_join(&dir[2], 2, 1, &mut rng).expect("join"));
        }
        deliver(&mut members, queue, 1);
        deliver(&mut members, late, 2);
        let frame = load_video(VideoCodec::Vp8).expect("sample").frames[0]
            .data
            .clone();
        let sent = members[0].protect(Kind::Video, &frame, 3).expect("protect");
        assert_eq!(
            members[1]
                .unprotect(0, Kind::Video, &sent.frame, 3)
                .expect("p1 reads p0")
                .frame,
            frame
        );
    }

    #[test]
    fn sfu_view_reads_kid_and_keyframe_but_frame_is_not_plaintext() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (identity, public) = new_identity(&mut rng);
        let me = info(0, public);
        let (mut e, _) = E2ee::start_hpke(
            &params(),
            &me,
            identity,
            &[],
            std::slice::from_ref(&me),
            change(1, 0),
            &mut rng,
        )
        .expect("start");
        let frame = load_video(VideoCodec::Vp8).expect("sample").frames[0]
            .data
            .clone();
        let sealed = e.protect(Kind::Video, &frame, 0).expect("protect");
        let view = sfu_view(VideoCodec::Vp8, Kind::Video, &sealed.frame).expect("view");
        assert!(view.keyframe);
        assert_eq!(view.id, sealed.id);
        assert_eq!(sealed.frame[..10], frame[..10]);
        assert_ne!(&sealed.frame[12..44], &frame[10..42]);
    }
}
