//! What the threads of a call share: the messages between participants,
//! the SFU and the schedule, and the checker's ledger of every frame sent
//! (who sent it, who may read it, a hash of its plaintext) against which
//! every receiver's outcome is judged.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Instant;

use sha2::{Digest, Sha256};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Mid;

use crate::e2ee::{FrameId, KeyMsg, MemberInfo, Peer};
use crate::media::Kind;

/// A message to a participant's thread.
#[derive(Debug)]
pub enum Control {
    /// Key management (announcements, MLS messages).
    Key(KeyMsg),
    /// A participant joined; the roster after the join has this version.
    Join(MemberInfo, u64),
    /// A participant left; `committer` says whether this member commits
    /// the MLS removal.
    Leave {
        /// Who left.
        peer: Peer,
        /// Commit the removal (MLS).
        committer: bool,
        /// The version of the roster after the leave.
        roster_version: u64,
    },
    /// This participant leaves: it stops sending, but its receiver keeps
    /// running as an eavesdropper.
    Depart,
    /// Through Janus, which cannot be made to inject: a forged copy of the
    /// next video frame of this sender is put in front of the receiver.
    InjectForged(Peer),
    /// Through Janus: a video frame of this sender received three frames
    /// ago is put in front of the receiver again.
    InjectReplay(Peer),
    /// The answer to this participant's publishing offer on `pc`.
    Answer {
        /// Which peer connection.
        pc: usize,
        /// The answer.
        answer: SdpAnswer,
    },
    /// An offer of other participants' streams, on `pc` (the embedded SFU
    /// renegotiates `pc` 0; Janus opens a connection per feed).
    Offer {
        /// Which peer connection (a new index opens one).
        pc: usize,
        /// The offer.
        offer: SdpOffer,
        /// Whose stream each offered m-line carries.
        streams: Vec<(Mid, Peer, Kind)>,
    },
    /// End of the call.
    Stop,
}

/// A message to the SFU side (the embedded SFU, or a participant's Janus
/// signalling thread).
#[derive(Debug)]
pub enum Up {
    /// A participant publishes (and subscribes): its offer.
    Publish {
        /// Who.
        peer: Peer,
        /// Its offer.
        offer: SdpOffer,
        /// A late joiner, to which the SFU also replays history (the
        /// demo's attack: it must not be readable).
        late: bool,
    },
    /// A participant's answer to an offer on `pc`.
    Answer {
        /// Who.
        peer: Peer,
        /// Which connection.
        pc: usize,
        /// The answer.
        answer: SdpAnswer,
    },
    /// A participant stops publishing (it left).
    Unpublish(Peer),
    /// The SFU injects a forged frame into every subscription of `from`.
    InjectForged(Peer),
    /// The SFU replays an already forwarded frame of `from`.
    InjectReplay(Peer),
    /// An event from Janus's long poll (`--sfu janus`).
    Janus(serde_json::Value),
    /// End of the call.
    Stop,
}

/// Delivers messages to participant threads by place.
#[derive(Debug, Default)]
pub struct Router {
    senders: Mutex<HashMap<Peer, mpsc::Sender<Control>>>,
}

/// Locks, ignoring poisoning (a panicked thread is reported elsewhere).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Router {
    /// Registers `peer`'s channel.
    pub fn add(&self, peer: Peer, tx: mpsc::Sender<Control>) {
        lock(&self.senders).insert(peer, tx);
    }

    /// Sends `msg` to `peer`; false if it is gone.
    pub fn send(&self, peer: Peer, msg: Control) -> bool {
        lock(&self.senders)
            .get(&peer)
            .is_some_and(|tx| tx.send(msg).is_ok())
    }

    /// Every registered place.
    pub fn peers(&self) -> Vec<Peer> {
        let mut v: Vec<Peer> = lock(&self.senders).keys().copied().collect();
        v.sort_unstable();
        v
    }
}

/// SHA-256 of a frame.
pub fn hash(frame: &[u8]) -> [u8; 32] {
    Sha256::digest(frame).into()
}

/// One frame as its sender sent it.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Index of the frame in the sample.
    pub source: usize,
    /// SHA-256 of the plaintext frame.
    pub hash: [u8; 32],
    /// SHA-256 of the protected frame as sent (what RTP carries of it).
    pub wire: [u8; 32],
    /// When it was sent.
    pub at: Instant,
    /// Who may read it: the members of the call when it was sent, as its
    /// sender knew them (with MLS, the group).
    pub audience: Vec<Peer>,
}

/// Every frame every participant sent, by sender, KID and CTR.
#[derive(Debug)]
pub struct Ledger {
    by_sender: Vec<Mutex<HashMap<FrameId, Sent>>>,
}

impl Ledger {
    /// A ledger for up to `peers` senders.
    pub fn new(peers: usize) -> Self {
        Self {
            by_sender: (0..peers).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Records a frame.
    pub fn record(&self, from: Peer, id: FrameId, sent: Sent) {
        if let Some(m) = self.by_sender.get(from) {
            lock(m).insert(id, sent);
        }
    }

    /// Looks a frame up.
    pub fn get(&self, from: Peer, id: FrameId) -> Option<Sent> {
        self.by_sender
            .get(from)
            .and_then(|m| lock(m).get(&id).cloned())
    }
}

/// What the SFU injected, so that receivers can tell an expected
/// rejection from a failure.
#[derive(Debug, Default)]
pub struct Injections {
    forged: Mutex<HashSet<(Peer, Peer, FrameId)>>,
    replayed: Mutex<HashSet<(Peer, Peer, FrameId)>>,
    /// Forged frames injected.
    pub forged_count: AtomicU64,
    /// Replayed frames injected.
    pub replayed_count: AtomicU64,
    /// Frames from before a join handed to the joiner.
    pub history_count: AtomicU64,
}

/// An injection the SFU made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// A tampered copy sent ahead of the genuine frame.
    Forged,
    /// A second copy of a frame already forwarded.
    Replayed,
}

impl Injections {
    /// Registers an injection to `to` of a frame of `from`.
    pub fn add(&self, what: Injected, to: Peer, from: Peer, id: FrameId) {
        match what {
            Injected::Forged => {
                lock(&self.forged).insert((to, from, id));
                self.forged_count.fetch_add(1, Ordering::Relaxed);
            }
            Injected::Replayed => {
                lock(&self.replayed).insert((to, from, id));
                self.replayed_count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether `to` was sent a forged copy of `id` from `from`.
    pub fn forged(&self, to: Peer, from: Peer, id: FrameId) -> bool {
        lock(&self.forged).contains(&(to, from, id))
    }

    /// Whether `to` was sent a replayed copy of `id` from `from`.
    pub fn replayed(&self, to: Peer, from: Peer, id: FrameId) -> bool {
        lock(&self.replayed).contains(&(to, from, id))
    }
}

/// Counters the progress line reads.
#[derive(Debug, Default)]
pub struct Live {
    /// Frames protected and sent.
    pub sent: AtomicU64,
    /// Frames opened by entitled receivers.
    pub decrypted: AtomicU64,
    /// Frames rejected as they had to be (injections, not entitled).
    pub rejected: AtomicU64,
    /// Frames that should have opened and did not.
    pub failures: AtomicU64,
    /// Frames read by someone who must not read them.
    pub violations: AtomicU64,
    /// RTP packets the SFU sent.
    pub sfu_packets: AtomicU64,
    /// Bytes of those packets.
    pub sfu_bytes: AtomicU64,
}

impl Live {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// SHA-256 of the frames each (receiver, sender) pair opened.
pub type OpenedHashes = std::collections::BTreeMap<(Peer, Peer), Vec<[u8; 32]>>;

/// What every thread of a call shares.
#[derive(Debug)]
pub struct Shared {
    /// Start of the call.
    pub epoch: Instant,
    /// Participants' channels.
    pub router: Router,
    /// Frames sent.
    pub ledger: Ledger,
    /// The SFU's injections.
    pub injections: Injections,
    /// Progress counters.
    pub live: Live,
    /// Events for the progress line ("p3 joined"...).
    pub events: Mutex<Vec<String>>,
    /// Native participants: places from here on are browsers.
    pub natives: usize,
    /// Browsers' names.
    pub browser_names: Mutex<HashMap<Peer, String>>,
    /// The members now, with their identities (for signalling).
    pub members: Mutex<Vec<MemberInfo>>,
    /// SHA-256 of every frame each receiver opened, by sender.
    pub opened: Mutex<OpenedHashes>,
    /// The session's roster version: one more at every membership change,
    /// the same number at every member (`distribute` binds it into each
    /// announcement; a receiver refuses one older than a key it holds).
    roster_version: AtomicU64,
}

impl Shared {
    /// State for a call of up to `peers` participants.
    pub fn new(peers: usize, members: Vec<MemberInfo>) -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            router: Router::default(),
            ledger: Ledger::new(peers),
            injections: Injections::default(),
            live: Live::default(),
            events: Mutex::new(Vec::new()),
            natives: peers,
            browser_names: Mutex::new(HashMap::new()),
            members: Mutex::new(members),
            opened: Mutex::new(std::collections::BTreeMap::new()),
            roster_version: AtomicU64::new(0),
        })
    }

    /// The roster version now.
    pub fn roster_version(&self) -> u64 {
        self.roster_version.load(Ordering::SeqCst)
    }

    /// A membership change: the next roster version.
    pub fn next_roster_version(&self) -> u64 {
        self.roster_version.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Milliseconds since the call started.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Notes an event for the next progress line.
    pub fn event(&self, text: String) {
        lock(&self.events).push(text);
    }

    /// Whether `p` is a browser (joined through signalling).
    pub fn is_external(&self, p: Peer) -> bool {
        p >= self.natives
    }

    /// A browser's name.
    pub fn name_of(&self, p: Peer) -> String {
        lock(&self.browser_names)
            .get(&p)
            .cloned()
            .unwrap_or_else(|| format!("p{p}"))
    }

    /// Notes that `receiver` opened a frame of `from` with this hash.
    pub fn record_opened(&self, receiver: Peer, from: Peer, hash: [u8; 32]) {
        lock(&self.opened)
            .entry((receiver, from))
            .or_default()
            .push(hash);
    }

    /// The current members.
    pub fn members(&self) -> Vec<MemberInfo> {
        lock(&self.members).clone()
    }

    /// Sets the current members.
    pub fn set_members(&self, members: Vec<MemberInfo>) {
        *lock(&self.members) = members;
    }

    /// Adds a member.
    pub fn add_member(&self, member: MemberInfo) {
        lock(&self.members).push(member);
    }

    /// Removes a member.
    pub fn remove_member(&self, peer: Peer) {
        lock(&self.members).retain(|m| m.peer != peer);
    }

    /// Takes the events noted since the last call.
    pub fn take_events(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.events))
    }
}
