//! The `decrypt` target: frames from the fuzzer — raw bytes, or frames the
//! harness encrypted and the fuzzer then edits — go to receivers of every
//! suite that hold keys for several KIDs, ratchet forward, and keep replay
//! windows. Nothing may panic, and a decrypt may succeed only on a frame
//! the harness itself encrypts.
//!
//! Per suite there are five receivers:
//!
//! | kind | receiver | keys |
//! |---|---|---|
//! | 0 | `RatchetingReceiver`, R = 2 | generation 0 = `00..0f` and generation 1 as in `tests/data/ratchet-vectors.json`, then harness keys |
//! | 1 | `RatchetingReceiver`, R = 4 | generation 0x12 from step 3 = `00..0f`, so KID 0x123 is the RFC 9605 vectors' |
//! | 2 | `RatchetingReceiver`, R = 8 | generation 0x1234 = `00..0f`, as in the ratchet vectors |
//! | 3 | `EpochManager`, E = 2, 4 members | one harness key per epoch |
//! | 4 | `Receiver<FixedKeyStore<4>>` (no replay window) | KIDs 0, 7, 0x123 (`00..0f`) and `u64::MAX` |
//!
//! Each receiver has a paired sender the fuzzer can make encrypt, ratchet
//! and rekey. Senders stay within [`MAX_STEP`] ratchet steps and
//! [`MAX_GENERATIONS`] generations, so the keys the harness encrypts with
//! form a fixed, finite set. Encryption is deterministic, so "a frame the
//! harness encrypts" is decided by encrypting again: an accepted frame
//! must be byte for byte what the harness's own key for its KID makes of
//! the returned header, metadata and plaintext. (A set of the frames
//! produced in this input alone would not do: libFuzzer's comparison
//! tracing carries frames from one input into the next, and a frame the
//! harness made in an earlier input is still its own.) A receiver with
//! replay windows must also never accept the same frame twice.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use arbitrary::Arbitrary;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, EpochManager, Error, FixedKeyStore, Header, KeyId, MlsSender,
    RatchetBits, RatchetingReceiver, RatchetingSender, Receiver, Sender, ratchet_forward,
};

use crate::{Path, harness_key, seed_enum, seed_struct};

/// Receiver kinds per suite (see the module table).
pub const KINDS: usize = 5;
/// Receivers in all: every kind for every suite.
pub const RECEIVERS: usize = KINDS * 8;
/// The furthest ratchet step a harness sender reaches.
pub const MAX_STEP: u64 = 40;
/// Generations a harness sender may add after its first.
pub const MAX_GENERATIONS: u64 = 3;
/// The newest MLS epoch the harness adds (epochs 0..=6).
pub const MAX_EPOCH: u64 = 6;
/// Actions run per input at most.
pub const MAX_ACTIONS: usize = 256;

/// `00..0f`: the base key of the RFC 9605 and ratchet vectors.
pub const VECTOR_KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// Generation 1's base key in `tests/data/ratchet-vectors.json`.
pub const VECTOR_GENERATION_1_KEY: [u8; 32] = [
    0x6f, 0x70, 0xde, 0x44, 0x36, 0xc3, 0x83, 0x1f, 0x35, 0xdc, 0x30, 0x42, 0xe3, 0x27, 0x71, 0x97,
    0xd1, 0x30, 0x4b, 0xff, 0x51, 0x65, 0xce, 0xaa, 0xe8, 0x63, 0xa3, 0x28, 0x50, 0xac, 0x0f, 0xa8,
];
/// The core receiver's KIDs.
pub const CORE_KIDS: [u64; 4] = [0, 7, 0x123, u64::MAX];
/// MLS epoch bits and group size.
const MLS_EPOCH_BITS: u32 = 2;
const MLS_GROUP_SIZE: u64 = 4;

/// A sequence of actions.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct DecryptInput {
    /// What happens, in order.
    pub actions: Vec<Action>,
}
seed_struct!(DecryptInput { actions });

/// One step of the fuzzer's game against the receivers.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Arbitrary bytes, as a frame, to a receiver.
    Forge {
        /// Receiver (modulo [`RECEIVERS`]): `8 × kind + suite − 1`.
        to: u8,
        /// Which decrypt entry point.
        path: Path,
        /// Metadata to authenticate.
        metadata: Vec<u8>,
        /// The frame.
        frame: Vec<u8>,
    },
    /// The sender paired with a receiver encrypts a frame, which the
    /// harness keeps (it is not delivered).
    Encrypt {
        /// Receiver whose sender encrypts.
        to: u8,
        /// Which of its senders: MLS member or core KID.
        who: u8,
        /// Metadata.
        metadata: Vec<u8>,
        /// Payload.
        payload: Vec<u8>,
    },
    /// A frame the harness kept, edited, to any receiver.
    Deliver {
        /// Receiver.
        to: u8,
        /// Which kept frame (modulo their number).
        index: u8,
        /// Which decrypt entry point.
        path: Path,
        /// The edit.
        edit: Edit,
    },
    /// The paired sender ratchets (RFC 9605 §5.1); no-op for MLS and core.
    Ratchet {
        /// Receiver.
        to: u8,
    },
    /// The paired sender starts a new generation and the receiver gets
    /// its key; for MLS, a new epoch.
    Rekey {
        /// Receiver.
        to: u8,
    },
    /// Time passes.
    Wait {
        /// Milliseconds.
        ms: u16,
    },
}
seed_enum!(Action[
    Forge { to, path, metadata, frame },
    Encrypt { to, who, metadata, payload },
    Deliver { to, index, path, edit },
    Ratchet { to },
    Rekey { to },
    Wait { ms },
]);

/// How a kept frame is changed before delivery.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Unchanged.
    Keep,
    /// One byte XORed.
    Xor {
        /// Position (modulo the length).
        at: u16,
        /// The XOR mask.
        mask: u8,
    },
    /// Cut to a length.
    Truncate {
        /// New length (modulo the length).
        len: u16,
    },
    /// Bytes appended.
    Append {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The header replaced by a minimal one for other values, body kept.
    Rewrite {
        /// New KID.
        kid: u64,
        /// New CTR.
        ctr: u64,
    },
    /// Other metadata.
    Metadata {
        /// The metadata.
        metadata: Vec<u8>,
    },
}
seed_enum!(Edit[
    Keep,
    Xor { at, mask },
    Truncate { len },
    Append { bytes },
    Rewrite { kid, ctr },
    Metadata { metadata },
]);

/// The five receiver kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ratchet {
        bits: u32,
        generation: u64,
        step: u64,
    },
    Mls,
    Core,
}

impl Kind {
    fn of(kind: usize) -> Self {
        match kind {
            0 => Self::Ratchet {
                bits: 2,
                generation: 0,
                step: 0,
            },
            1 => Self::Ratchet {
                bits: 4,
                generation: 0x12,
                step: 3,
            },
            2 => Self::Ratchet {
                bits: 8,
                generation: 0x1234,
                step: 0,
            },
            3 => Self::Mls,
            _ => Self::Core,
        }
    }
}

/// Receiver `index`'s suite and kind.
fn receiver(index: usize) -> (usize, CipherSuite, Kind) {
    let kind = index / 8;
    (kind, CipherSuite::ALL[index % 8], Kind::of(kind))
}

/// The base key of generation `generation` of ratchet kind `kind`.
fn generation_key(kind: usize, suite: CipherSuite, generation: u64) -> Vec<u8> {
    match (kind, generation) {
        (0, 0) | (1, 0x12) | (2, 0x1234) => VECTOR_KEY.to_vec(),
        (0, 1) => VECTOR_GENERATION_1_KEY.to_vec(),
        _ => harness_key(u8::try_from(kind).expect("few kinds"), suite, generation),
    }
}

fn epoch_key(suite: CipherSuite, epoch: u64) -> Vec<u8> {
    harness_key(3, suite, epoch)
}

fn core_key(suite: CipherSuite, kid: u64) -> Vec<u8> {
    if kid == 0x123 {
        VECTOR_KEY.to_vec()
    } else {
        harness_key(4, suite, kid)
    }
}

fn base_key(bytes: &[u8]) -> BaseKey {
    BaseKey::new(bytes).expect("harness keys are short")
}

/// Base keys of ratchet steps up to [`MAX_STEP`] per (kind, suite id,
/// generation).
type Chains = HashMap<(usize, u16, u64), Vec<Vec<u8>>>;

thread_local! {
    /// Deterministic, so shared by all inputs.
    static CHAINS: RefCell<Chains> = RefCell::default();
}

/// The base key of `step` in `generation` of ratchet kind `kind`, whose
/// generation key is the key of step `first_step`.
fn step_key(
    kind: usize,
    suite: CipherSuite,
    generation: u64,
    first_step: u64,
    step: u64,
) -> Vec<u8> {
    CHAINS.with(|chains| {
        let mut chains = chains.borrow_mut();
        let chain = chains
            .entry((kind, suite.id(), generation))
            .or_insert_with(|| {
                let mut keys = vec![generation_key(kind, suite, generation)];
                let mut key = base_key(&keys[0]);
                for _ in first_step..MAX_STEP {
                    key = ratchet_forward(suite, key);
                    keys.push(key.expose_secret().to_vec());
                }
                keys
            });
        chain[usize::try_from(step - first_step).expect("small")].clone()
    })
}

/// Every (KID, base key) of receiver `index`'s universe that a frame with
/// `kid` could have been encrypted under.
fn candidate_keys(index: usize, kid: u64) -> Vec<Vec<u8>> {
    let (kind_index, suite, kind) = receiver(index);
    match kind {
        Kind::Ratchet {
            bits,
            generation: first,
            step: first_step,
        } => {
            let generation = kid >> bits;
            if generation < first || generation > first + MAX_GENERATIONS {
                return Vec::new();
            }
            let start = if generation == first { first_step } else { 0 };
            let mask = (1u64 << bits) - 1;
            (start..=MAX_STEP)
                .filter(|s| s & mask == kid & mask)
                .map(|s| step_key(kind_index, suite, generation, start, s))
                .collect()
        }
        Kind::Mls => (0..=MAX_EPOCH)
            .filter(|e| e & 3 == kid & 3)
            .map(|e| epoch_key(suite, e))
            .collect(),
        Kind::Core => CORE_KIDS
            .iter()
            .filter(|&&k| k == kid)
            .map(|&k| core_key(suite, k))
            .collect(),
    }
}

/// Whether `frame` is exactly what receiver `index`'s universe encrypts
/// for this header, metadata and plaintext.
fn harness_encrypts(
    index: usize,
    header: Header,
    metadata: &[u8],
    plaintext: &[u8],
    frame: &[u8],
) -> bool {
    let suite = receiver(index).1;
    candidate_keys(index, header.kid().0).iter().any(|key| {
        let mut sender = Sender::resume(suite, header.kid(), base_key(key), header.ctr());
        sender
            .seal_to_vec(metadata, plaintext)
            .is_ok_and(|encrypted| encrypted == frame)
    })
}

/// A receiver and its paired senders.
enum Slot {
    Ratchet {
        rx: Box<RatchetingReceiver<4, 2>>,
        tx: Box<RatchetingSender>,
    },
    Mls {
        rx: Box<EpochManager<4, 16, 2>>,
        tx: Vec<MlsSender>,
    },
    Core {
        rx: Box<Receiver<FixedKeyStore<4>>>,
        tx: Vec<Sender>,
    },
}

impl Slot {
    fn new(index: usize) -> Self {
        let (kind_index, suite, kind) = receiver(index);
        match kind {
            Kind::Ratchet {
                bits,
                generation,
                step,
            } => {
                let bits = RatchetBits::new(bits).expect("valid R");
                let key = generation_key(kind_index, suite, generation);
                let tx = RatchetingSender::resume(
                    suite,
                    bits,
                    generation,
                    step,
                    base_key(&key),
                    Counter(0),
                )
                .expect("generation fits");
                let mut rx = RatchetingReceiver::new(suite, bits);
                rx.install_key(generation, step, base_key(&key), 0)
                    .expect("first key");
                Self::Ratchet {
                    rx: Box::new(rx),
                    tx: Box::new(tx),
                }
            }
            Kind::Mls => {
                let mut rx = EpochManager::new(suite, MLS_EPOCH_BITS).expect("valid E");
                rx.add_epoch_key(0, MLS_GROUP_SIZE, base_key(&epoch_key(suite, 0)), 0)
                    .expect("first epoch");
                let tx = (0..MLS_GROUP_SIZE).map(|i| MlsSender::new(i, 0)).collect();
                Self::Mls {
                    rx: Box::new(rx),
                    tx,
                }
            }
            Kind::Core => {
                let mut rx = Receiver::<FixedKeyStore<4>>::new();
                let mut tx = Vec::new();
                for kid in CORE_KIDS {
                    let (sender, share) =
                        Sender::with_share(suite, KeyId(kid), base_key(&core_key(suite, kid)));
                    rx.add_share(share).expect("room for 4");
                    tx.push(sender);
                }
                Self::Core {
                    rx: Box::new(rx),
                    tx,
                }
            }
        }
    }

    fn has_replay_windows(&self) -> bool {
        !matches!(self, Self::Core { .. })
    }

    fn encrypt(&mut self, who: u8, metadata: &[u8], payload: &[u8]) -> Vec<u8> {
        let result = match self {
            Self::Ratchet { tx, .. } => tx.seal_to_vec(metadata, payload),
            Self::Mls { rx, tx } => {
                let len = tx.len();
                let sender = &mut tx[usize::from(who) % len];
                if sender.epoch() != rx.newest_epoch() {
                    sender.enter_epoch(rx).expect("a newer epoch");
                }
                sender.seal_to_vec(metadata, payload)
            }
            Self::Core { tx, .. } => {
                let len = tx.len();
                tx[usize::from(who) % len].seal_to_vec(metadata, payload)
            }
        };
        // Counters start at 0 and inputs are short: never exhausted.
        result.expect("harness senders encrypt")
    }

    fn ratchet(&mut self) {
        if let Self::Ratchet { tx, .. } = self
            && tx.step() < MAX_STEP
        {
            tx.ratchet();
        }
    }

    fn rekey(&mut self, index: usize, now: u64) {
        let (kind_index, suite, kind) = receiver(index);
        match (self, kind) {
            (
                Self::Ratchet { rx, tx },
                Kind::Ratchet {
                    generation: first, ..
                },
            ) => {
                let generation = tx.generation() + 1;
                if generation > first + MAX_GENERATIONS {
                    return;
                }
                let key = generation_key(kind_index, suite, generation);
                tx.rekey(base_key(&key)).expect("generation fits");
                rx.install_key(generation, 0, base_key(&key), now)
                    .expect("a newer generation installs");
            }
            (Self::Mls { rx, .. }, _) => {
                let epoch = rx.newest_epoch().map_or(0, |e| e + 1);
                if epoch <= MAX_EPOCH {
                    rx.add_epoch_key(
                        epoch,
                        MLS_GROUP_SIZE,
                        base_key(&epoch_key(suite, epoch)),
                        now,
                    )
                    .expect("a newer epoch adds");
                }
            }
            _ => {}
        }
    }

    /// Decrypts through `path`; returns the header and plaintext. Checks
    /// that a failed call leaves no plaintext: the output slice untouched
    /// (all zero), the in-place frame untouched or its payload zeroed.
    fn decrypt(
        &mut self,
        now: u64,
        path: Path,
        metadata: &[u8],
        frame: &[u8],
        tag_len: usize,
    ) -> Result<(Header, Vec<u8>), Error> {
        match path {
            Path::Copy { short } => {
                let mut out = vec![0; frame.len().saturating_sub(usize::from(short))];
                let result = match self {
                    Self::Ratchet { rx, .. } => rx.at(now).open(metadata, frame, &mut out),
                    Self::Mls { rx, .. } => rx.at(now).open(metadata, frame, &mut out),
                    Self::Core { rx, .. } => rx.open(metadata, frame, &mut out),
                };
                match result {
                    Ok(d) => Ok((d.header(), out[d.plaintext()].to_vec())),
                    Err(e) => {
                        assert!(out.iter().all(|&b| b == 0), "output written on {e:?}");
                        Err(e)
                    }
                }
            }
            Path::InPlace => {
                let mut buf = frame.to_vec();
                let result = match self {
                    Self::Ratchet { rx, .. } => rx.at(now).open_in_place(metadata, &mut buf),
                    Self::Mls { rx, .. } => rx.at(now).open_in_place(metadata, &mut buf),
                    Self::Core { rx, .. } => rx.open_in_place(metadata, &mut buf),
                };
                match result {
                    Ok(d) => Ok((d.header(), buf[d.plaintext()].to_vec())),
                    Err(e) => {
                        assert!(
                            unchanged_or_zeroed(frame, &buf, tag_len),
                            "buffer after {e:?}"
                        );
                        Err(e)
                    }
                }
            }
            Path::ToVec => match self {
                Self::Ratchet { rx, .. } => rx.at(now).open_to_vec(metadata, frame),
                Self::Mls { rx, .. } => rx.at(now).open_to_vec(metadata, frame),
                Self::Core { rx, .. } => rx.open_to_vec(metadata, frame),
            }
            .map(|(opened, plaintext)| (opened.header(), plaintext)),
        }
    }
}

struct Harness {
    now: u64,
    slots: Vec<Option<Slot>>,
    /// Frames the harness encrypted in this input, with their metadata.
    kept: Vec<(Vec<u8>, Vec<u8>)>,
    /// Frames each replay-protected receiver accepted.
    accepted: HashSet<(usize, Vec<u8>)>,
    outcomes: Outcomes,
}

/// What the receivers did with one input's frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Frames accepted (each checked to be the harness's own).
    pub accepted: usize,
    /// Frames rejected, by error.
    pub rejected: Vec<Error>,
}

/// Runs one input; panics on a library panic or a broken rule.
///
/// # Panics
/// As above.
pub fn run(input: &DecryptInput) -> Outcomes {
    let mut harness = Harness {
        now: 0,
        slots: (0..RECEIVERS).map(|_| None).collect(),
        kept: Vec::new(),
        accepted: HashSet::new(),
        outcomes: Outcomes::default(),
    };
    for action in input.actions.iter().take(MAX_ACTIONS) {
        harness.apply(action);
    }
    harness.outcomes
}

impl Harness {
    fn slot(&mut self, to: u8) -> (usize, &mut Slot) {
        let index = usize::from(to) % RECEIVERS;
        (
            index,
            self.slots[index].get_or_insert_with(|| Slot::new(index)),
        )
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::Forge {
                to,
                path,
                metadata,
                frame,
            } => self.deliver(*to, *path, metadata, frame),
            Action::Encrypt {
                to,
                who,
                metadata,
                payload,
            } => {
                let (_, slot) = self.slot(*to);
                let frame = slot.encrypt(*who, metadata, payload);
                self.kept.push((frame, metadata.clone()));
            }
            Action::Deliver {
                to,
                index,
                path,
                edit,
            } => {
                if self.kept.is_empty() {
                    return;
                }
                let (mut frame, mut metadata) =
                    self.kept[usize::from(*index) % self.kept.len()].clone();
                edit.apply(&mut frame, &mut metadata);
                self.deliver(*to, *path, &metadata, &frame);
            }
            Action::Ratchet { to } => self.slot(*to).1.ratchet(),
            Action::Rekey { to } => {
                let now = self.now;
                let (index, slot) = self.slot(*to);
                slot.rekey(index, now);
            }
            Action::Wait { ms } => self.now += u64::from(*ms),
        }
    }

    fn deliver(&mut self, to: u8, path: Path, metadata: &[u8], frame: &[u8]) {
        let now = self.now;
        let (index, slot) = self.slot(to);
        let replay_protected = slot.has_replay_windows();
        let tag_len = receiver(index).1.tag_len();
        let (header, plaintext) = match slot.decrypt(now, path, metadata, frame, tag_len) {
            Ok(decrypted) => decrypted,
            Err(e) => {
                self.outcomes.rejected.push(e);
                return;
            }
        };
        self.outcomes.accepted += 1;
        let parsed = Header::parse(frame).expect("an accepted frame parses");
        assert_eq!(parsed.header(), header, "decrypted header");
        assert!(
            harness_encrypts(index, header, metadata, &plaintext, frame),
            "receiver {index} accepted a frame the harness does not encrypt: {header:?}"
        );
        if replay_protected {
            assert!(
                self.accepted.insert((index, frame.to_vec())),
                "receiver {index} accepted the same frame twice: {header:?}"
            );
        }
    }
}

/// A frame decrypted in place that failed: either untouched, or (once a
/// key was tried on it) with the payload between header and tag zeroed,
/// so that no unauthenticated plaintext is left.
fn unchanged_or_zeroed(frame: &[u8], buf: &[u8], tag_len: usize) -> bool {
    if buf == frame {
        return true;
    }
    let Ok(header) = Header::parse(frame) else {
        return false;
    };
    let (h, end) = (header.len(), frame.len().saturating_sub(tag_len));
    end >= h
        && buf.len() == frame.len()
        && buf[..h] == frame[..h]
        && buf[end..] == frame[end..]
        && buf[h..end].iter().all(|&b| b == 0)
}

impl Edit {
    fn apply(&self, frame: &mut Vec<u8>, metadata: &mut Vec<u8>) {
        match self {
            Self::Keep => {}
            Self::Xor { at, mask } => {
                if !frame.is_empty() {
                    let len = frame.len();
                    frame[usize::from(*at) % len] ^= mask;
                }
            }
            Self::Truncate { len } => {
                let keep = usize::from(*len) % (frame.len() + 1);
                frame.truncate(keep);
            }
            Self::Append { bytes } => frame.extend_from_slice(bytes),
            Self::Rewrite { kid, ctr } => {
                let body = Header::parse(frame).map_or(0, |h| h.len());
                let header = Header::new(KeyId(*kid), Counter(*ctr)).encode();
                frame.splice(..body, header.as_bytes().iter().copied());
            }
            Self::Metadata { metadata: new } => metadata.clone_from(new),
        }
    }
}
