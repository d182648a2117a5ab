//! The `roundtrip` target: one RFC 9605 §5.1 sender and its
//! `RatchetingReceiver`, driven by a list of operations (encrypt, ratchet,
//! rekey, key installs, reorder, duplicate, drop, flip a bit, deliver,
//! time passing). Every decrypt result is compared with
//! [`RatchetModel`](crate::model::RatchetModel): an untouched frame must
//! give back exactly its plaintext, and every other outcome must be the
//! exact error the documented rules give — a touched, replayed, expired or
//! unknown frame is rejected, and rejected for the documented reason. The
//! receiver's step, key counts and stats must match the model after every
//! operation.

use std::collections::{HashMap, HashSet, VecDeque};

use arbitrary::Arbitrary;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, Counter, DecryptStats, Error, Header, RatchetBits, RatchetingReceiver,
    RatchetingSender, ReplayWindow, Retention,
};

use crate::model::{Delivery, RatchetModel, parse_header};
use crate::{Path, harness_key, seed_enum, seed_struct};

/// Superseded keys the receiver can hold (`RatchetingReceiver<N, W>`).
pub const N: usize = 4;
/// Replay window words: 128 counters.
pub const W: usize = 2;
/// Operations run per input at most.
pub const MAX_OPS: usize = 512;
/// Frames in flight at most; encrypting beyond loses the new frame.
pub const MAX_IN_FLIGHT: usize = 64;

/// The scenario: the sender's suite and KID (from `R`, generation and
/// step), its first counter, the receiver's configuration, a default
/// metadata and payload, and the operations.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct RoundtripInput {
    /// Cipher suite, modulo 8.
    pub suite: u8,
    /// `R = 1 + ratchet_bits % 63`.
    pub ratchet_bits: u8,
    /// Starting generation, modulo the largest that fits `64 − R` bits.
    pub generation: u64,
    /// Starting ratchet step (the KID carries its low `R` bits).
    pub step: u64,
    /// The sender's first counter.
    pub counter: u64,
    /// The receiver's forward limit, capped at `2^R − 1`.
    pub max_forward: u8,
    /// Superseded keys retained, modulo `N + 1`.
    pub max_previous: u8,
    /// Their lifetime in milliseconds (`u16::MAX`: forever).
    pub max_age_ms: u16,
    /// Replay window width, `1 + window % 128`.
    pub window: u8,
    /// Picks the base keys.
    pub key_seed: u8,
    /// Metadata of frames whose operation gives none.
    pub metadata: Vec<u8>,
    /// Payload of frames whose operation gives none.
    pub payload: Vec<u8>,
    /// What happens, in order.
    pub ops: Vec<Op>,
}
seed_struct!(RoundtripInput {
    suite,
    ratchet_bits,
    generation,
    step,
    counter,
    max_forward,
    max_previous,
    max_age_ms,
    window,
    key_seed,
    metadata,
    payload,
    ops,
});

/// One operation of a scenario.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The sender encrypts a frame, which joins the back of the queue.
    Encrypt {
        /// Metadata, or the scenario's.
        metadata: Option<Vec<u8>>,
        /// Payload, or the scenario's.
        payload: Option<Vec<u8>>,
        /// Through `encrypt_in_place` instead of `encrypt`.
        in_place: bool,
    },
    /// The sender ratchets (a join).
    Ratchet,
    /// The sender starts the next generation (a leave).
    Rekey {
        /// Whether the receiver gets the new key now or later.
        install: Install,
    },
    /// The receiver gets the oldest generation key not installed yet.
    InstallPending,
    /// The receiver installs the sender's current step key (a rejoin).
    Rejoin,
    /// Two queued frames swap places.
    Reorder {
        /// One queue position (modulo the queue length).
        a: u8,
        /// The other.
        b: u8,
    },
    /// A queued frame is copied to the back of the queue.
    Duplicate {
        /// Queue position.
        index: u8,
    },
    /// A queued frame is lost.
    Drop {
        /// Queue position.
        index: u8,
    },
    /// One bit of a queued frame, or of its metadata, flips.
    FlipBit {
        /// Queue position.
        index: u8,
        /// Bit position over frame then metadata.
        bit: u16,
    },
    /// The front of the queue is decrypted.
    Deliver {
        /// Which decrypt entry point.
        path: Path,
    },
    /// Time passes.
    Wait {
        /// Milliseconds.
        ms: u16,
    },
    /// The receiver erases expired keys.
    Expire,
}
seed_enum!(Op[
    Encrypt { metadata, payload, in_place },
    Ratchet,
    Rekey { install },
    InstallPending,
    Rejoin,
    Reorder { a, b },
    Duplicate { index },
    Drop { index },
    FlipBit { index, bit },
    Deliver { path },
    Wait { ms },
    Expire,
]);

/// When a rekeyed generation's key reaches the receiver.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Install {
    /// At once.
    Now,
    /// With a later [`Op::InstallPending`], if any.
    Later,
}
seed_enum!(Install[Now, Later]);

/// A frame the sender produced.
struct Produced {
    generation: u64,
    step: u64,
    payload: Vec<u8>,
}

/// A frame in flight, maybe altered.
#[derive(Clone)]
struct InFlight {
    bytes: Vec<u8>,
    metadata: Vec<u8>,
}

/// The sender's state as its documentation defines it.
struct SenderModel {
    generation: u64,
    step: u64,
    next_ctr: Option<u64>,
}

struct Harness {
    suite: framecrypt::CipherSuite,
    bits: RatchetBits,
    key_seed: u8,
    now: u64,
    sender: RatchetingSender,
    expected_sender: SenderModel,
    receiver: RatchetingReceiver<N, W>,
    model: RatchetModel,
    /// Every frame produced, by (bytes, metadata).
    produced: HashMap<(Vec<u8>, Vec<u8>), Produced>,
    /// Every (generation, step, CTR) used: a nonce is never reused
    /// under one key (RFC 9605 §4.4.3, §9.1).
    nonces: HashSet<(u64, u64, u64)>,
    queue: VecDeque<InFlight>,
    pending: VecDeque<u64>,
    results: Vec<Result<(), Error>>,
}

/// Runs one scenario; panics on any disagreement with the model. Returns
/// every decrypt result, as the model predicted and the receiver gave it.
///
/// # Panics
/// On a library panic, or a result other than the model's.
pub fn run(input: &RoundtripInput) -> Vec<Result<(), Error>> {
    let mut harness = Harness::new(input);
    for op in input.ops.iter().take(MAX_OPS) {
        harness.apply(op, input);
        harness.check_state();
    }
    while !harness.queue.is_empty() {
        harness.deliver(Path::Copy { short: 0 });
        harness.check_state();
    }
    harness.results
}

impl Harness {
    fn new(input: &RoundtripInput) -> Self {
        let suite = crate::suite(input.suite);
        let bits = RatchetBits::new(1 + u32::from(input.ratchet_bits) % 63).expect("1..=63");
        let generation = input.generation % (bits.max_generation() + 1);
        let max_forward = u64::from(input.max_forward)
            .min(bits.step_mask())
            .min(RatchetingReceiver::<N, W>::MAX_FORWARD);
        let retention = Retention {
            max_previous: usize::from(input.max_previous) % (N + 1),
            max_age_ms: match input.max_age_ms {
                u16::MAX => u64::MAX,
                ms => u64::from(ms),
            },
        };
        let width = 1 + usize::from(input.window) % ReplayWindow::<W>::CAPACITY;
        let key = |g| generation_key(input.key_seed, suite, g);

        let sender = RatchetingSender::resume(
            suite,
            bits,
            generation,
            input.step,
            key(generation),
            Counter(input.counter),
        )
        .expect("generation fits");
        let mut receiver = RatchetingReceiver::<N, W>::new(suite, bits)
            .with_max_forward(max_forward)
            .expect("max_forward < 2^R")
            .with_retention(retention)
            .expect("max_previous <= N")
            .with_replay_window(width)
            .expect("width within the window");
        let mut model = RatchetModel::new(bits.get(), max_forward, retention, N, width as u64);
        receiver
            .install_key(generation, input.step, key(generation), 0)
            .expect("first key");
        model.install(generation, input.step, 0).expect("first key");
        Self {
            suite,
            bits,
            key_seed: input.key_seed,
            now: 0,
            sender,
            expected_sender: SenderModel {
                generation,
                step: input.step,
                next_ctr: Some(input.counter),
            },
            receiver,
            model,
            produced: HashMap::new(),
            nonces: HashSet::new(),
            queue: VecDeque::new(),
            pending: VecDeque::new(),
            results: Vec::new(),
        }
    }

    fn key(&self, generation: u64) -> BaseKey {
        generation_key(self.key_seed, self.suite, generation)
    }

    fn apply(&mut self, op: &Op, input: &RoundtripInput) {
        match op {
            Op::Encrypt {
                metadata,
                payload,
                in_place,
            } => {
                let metadata = metadata.as_ref().unwrap_or(&input.metadata);
                let payload = payload.as_ref().unwrap_or(&input.payload);
                self.encrypt(metadata, payload, *in_place);
            }
            Op::Ratchet => {
                self.sender.ratchet();
                let s = &mut self.expected_sender;
                s.step = s.step.wrapping_add(1);
                s.next_ctr = Some(0);
            }
            Op::Rekey { install } => self.rekey(*install),
            Op::InstallPending => {
                if let Some(generation) = self.pending.pop_front() {
                    self.install(generation, 0, self.key(generation));
                }
            }
            Op::Rejoin => {
                let s = &self.expected_sender;
                let (generation, step) = (s.generation, s.step);
                let key =
                    BaseKey::new(self.sender.share().expose_secret()).expect("a valid key copies");
                self.install(generation, step, key);
            }
            Op::Reorder { a, b } => {
                if !self.queue.is_empty() {
                    let len = self.queue.len();
                    self.queue
                        .swap(usize::from(*a) % len, usize::from(*b) % len);
                }
            }
            Op::Duplicate { index } => {
                if !self.queue.is_empty() && self.queue.len() < MAX_IN_FLIGHT {
                    let copy = self.queue[usize::from(*index) % self.queue.len()].clone();
                    self.queue.push_back(copy);
                }
            }
            Op::Drop { index } => {
                if !self.queue.is_empty() {
                    let i = usize::from(*index) % self.queue.len();
                    self.queue.remove(i);
                }
            }
            Op::FlipBit { index, bit } => {
                if !self.queue.is_empty() {
                    let len = self.queue.len();
                    let frame = &mut self.queue[usize::from(*index) % len];
                    let total = 8 * (frame.bytes.len() + frame.metadata.len());
                    let bit = usize::from(*bit) % total;
                    let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
                    match frame.bytes.get_mut(byte) {
                        Some(b) => *b ^= mask,
                        None => frame.metadata[byte - frame.bytes.len()] ^= mask,
                    }
                }
            }
            Op::Deliver { path } => {
                if !self.queue.is_empty() {
                    self.deliver(*path);
                }
            }
            Op::Wait { ms } => self.now += u64::from(*ms),
            Op::Expire => {
                self.receiver.expire(self.now);
                self.model.expire(self.now);
            }
        }
    }

    fn encrypt(&mut self, metadata: &[u8], payload: &[u8], in_place: bool) {
        let result = if in_place {
            let head = Header::MAX_LEN;
            let mut buf = vec![0; head + payload.len() + self.suite.tag_len()];
            buf[head..head + payload.len()].copy_from_slice(payload);
            self.sender
                .seal_in_place(metadata, &mut buf, head..head + payload.len())
                .map(|sealed| buf[sealed.frame()].to_vec())
        } else {
            let mut out = vec![0; self.sender.next_ciphertext_len(payload.len())];
            self.sender.seal(metadata, payload, &mut out).map(|sealed| {
                assert_eq!(sealed.len(), out.len(), "next_ciphertext_len is exact");
                out
            })
        };
        let s = &mut self.expected_sender;
        let Some(ctr) = s.next_ctr else {
            assert_eq!(
                result.err(),
                Some(Error::CounterExhausted),
                "exhausted sender"
            );
            return;
        };
        let frame = result.expect("encrypt succeeds while counters remain");
        s.next_ctr = ctr.checked_add(1);
        let kid = self
            .bits
            .kid(s.generation, s.step)
            .expect("generation fits");
        let header = Header::new(kid, Counter(ctr));
        assert_eq!(
            &frame[..header.encoded_len()],
            header.encode().as_bytes(),
            "frame header"
        );
        assert_eq!(
            frame.len(),
            framecrypt::ciphertext_len(self.suite, header, payload.len())
        );
        assert!(
            self.nonces.insert((s.generation, s.step, ctr)),
            "CTR {ctr} used twice under one key"
        );
        let previous = self.produced.insert(
            (frame.clone(), metadata.to_vec()),
            Produced {
                generation: s.generation,
                step: s.step,
                payload: payload.to_vec(),
            },
        );
        assert!(previous.is_none(), "a (KID, CTR) pair was used twice");
        if self.queue.len() < MAX_IN_FLIGHT {
            self.queue.push_back(InFlight {
                bytes: frame,
                metadata: metadata.to_vec(),
            });
        }
    }

    fn rekey(&mut self, install: Install) {
        let s = &mut self.expected_sender;
        let next = s
            .generation
            .checked_add(1)
            .filter(|&g| g <= self.bits.max_generation());
        let result = self.sender.rekey(match next {
            Some(g) => generation_key(self.key_seed, self.suite, g),
            None => BaseKey::new(b"never used").expect("valid"),
        });
        let Some(generation) = next else {
            assert_eq!(result, Err(Error::KeyIdExhausted));
            return;
        };
        result.expect("rekey within the generation bits");
        s.generation = generation;
        s.step = 0;
        s.next_ctr = Some(0);
        match install {
            Install::Now => self.install(generation, 0, self.key(generation)),
            Install::Later => self.pending.push_back(generation),
        }
    }

    fn install(&mut self, generation: u64, step: u64, key: BaseKey) {
        let actual = self.receiver.install_key(generation, step, key, self.now);
        let expected = self.model.install(generation, step, self.now);
        assert_eq!(actual, expected, "install_key({generation}, {step})");
    }

    fn deliver(&mut self, path: Path) {
        let frame = self.queue.pop_front().expect("a queued frame");
        let tag_len = self.suite.tag_len();
        let parsed = parse_header(&frame.bytes);
        let header = match parsed {
            None => Err(Error::MalformedHeader),
            Some((_, _, len)) if frame.bytes.len() - len < tag_len => Err(Error::FrameTooShort),
            Some((kid, ctr, _)) => Ok((kid, ctr)),
        };
        let out_len = match path {
            Path::Copy { short } => frame.bytes.len().saturating_sub(usize::from(short)),
            Path::InPlace | Path::ToVec => frame.bytes.len(),
        };
        let room = parsed
            .is_none_or(|(_, _, len)| out_len >= frame.bytes.len().saturating_sub(len + tag_len));
        let produced = self
            .produced
            .get(&(frame.bytes.clone(), frame.metadata.clone()));
        let genuine = |generation, step| {
            produced.is_some_and(|p| (p.generation, p.step) == (generation, step))
        };
        let expected = self
            .model
            .decrypt(self.now, Delivery { header, room }, &genuine);

        let (now, md) = (self.now, frame.metadata.as_slice());
        let actual = match path {
            Path::Copy { .. } => {
                let mut out = vec![0; out_len];
                let result = self.receiver.at(now).open(md, &frame.bytes, &mut out);
                match result {
                    Ok(d) => Ok((d.header(), out[d.plaintext()].to_vec())),
                    Err(e) => {
                        assert!(out.iter().all(|&b| b == 0), "output written on {e:?}");
                        Err(e)
                    }
                }
            }
            Path::InPlace => {
                let mut buf = frame.bytes.clone();
                let result = self.receiver.at(now).open_in_place(md, &mut buf);
                match result {
                    Ok(d) => Ok((d.header(), buf[d.plaintext()].to_vec())),
                    Err(e) => {
                        // A failed decryption zeroes the payload between
                        // header and tag, once a key was tried on it.
                        let mut expected = frame.bytes.clone();
                        if self.model.tried_a_key
                            && let Some((_, _, len)) = parsed
                        {
                            let end = expected.len() - tag_len;
                            expected[len..end].fill(0);
                        }
                        assert_eq!(buf, expected, "in-place buffer after {e:?}");
                        Err(e)
                    }
                }
            }
            Path::ToVec => self
                .receiver
                .at(now)
                .open_to_vec(md, &frame.bytes)
                .map(|(opened, plaintext)| (opened.header(), plaintext)),
        };
        self.results.push(expected.map(|_| ()));
        match (expected, actual) {
            (Ok(key), Ok((header, plaintext))) => {
                let p = produced.expect("the model accepts produced frames only");
                assert_eq!(key, (p.generation, p.step));
                let (kid, ctr) = header_values(&frame.bytes);
                assert_eq!((header.kid().0, header.ctr().0), (kid, ctr));
                assert_eq!(plaintext, p.payload, "plaintext of an untouched frame");
            }
            (Err(e), Err(a)) => assert_eq!(a, e, "decrypt error ({path:?})"),
            (expected, actual) => panic!(
                "decrypt ({path:?}): expected {expected:?}, got {:?}",
                actual.map(|(h, p)| (h, p.len()))
            ),
        }
    }

    fn check_state(&self) {
        let r = &self.receiver;
        let current = self.model.current();
        assert_eq!(r.generation(), current.map(|c| c.0), "generation");
        assert_eq!(r.step(), current.map(|c| c.1), "step");
        assert_eq!(r.previous_count(), self.model.previous_count(), "previous");
        assert_eq!(r.key_count(), self.model.previous_count() + 1, "key count");
        let stats: DecryptStats = r.stats();
        assert_eq!(stats, self.model.stats, "stats");
        let s = &self.expected_sender;
        assert_eq!(
            (self.sender.generation(), self.sender.step()),
            (s.generation, s.step)
        );
        assert_eq!(self.sender.next_counter().map(|c| c.0), s.next_ctr);
    }
}

/// KID and CTR of a frame known to parse.
fn header_values(frame: &[u8]) -> (u64, u64) {
    let (kid, ctr, _) = parse_header(frame).expect("accepted frames parse");
    (kid, ctr)
}

/// The base key of `generation` (for the first generation: of the first
/// step).
fn generation_key(seed: u8, suite: framecrypt::CipherSuite, generation: u64) -> BaseKey {
    BaseKey::new(&harness_key(seed, suite, generation)).expect("a short key")
}
