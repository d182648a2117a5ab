//! Sender-key ratcheting (RFC 9605 §5.1): each sender owns a base key that
//! it ratchets forward for forward secrecy and replaces (a new generation)
//! when a receiver must be locked out.
//!
//! ```text
//! base_key[i+1] = HKDF-Expand(HKDF-Extract("", base_key[i]), "SFrame 1.0 Ratchet", Nh)
//! KID           = (generation << R) + (ratchet_step mod 2^R)
//! ```

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{DecryptStats, Retention};
use crate::error::Error;
use crate::frame::{FrameKey, Opened};
use crate::header::Header;
use crate::ids::{Counter, KeyId};
use crate::key_schedule::{ExtractedSecret, SframeSecret};
use crate::key_store::{ReceiveKey, fresh_window};
use crate::replay::ReplayWindow;
use crate::roles::{Ciphertext, OpenAt, Seal};
use crate::secret::{BaseKey, KeyAndSalt, wiped};
use crate::sender::Sender;
use crate::suite::CipherSuite;

/// The HKDF-Expand label of RFC 9605 §5.1: exactly these 18 bytes.
const RATCHET_LABEL: &[u8] = b"SFrame 1.0 Ratchet";

/// `R`, the number of low KID bits that carry the ratchet step (RFC 9605
/// §5.1); the generation takes the other `64 − R` bits.
///
/// Chosen per sender and known to its receivers. `2^R` bounds how many
/// ratchet steps a receiver can tell apart, so it bounds reordering across
/// steps.
///
/// ```
/// use framecrypt::{Error, KeyId, RatchetBits};
///
/// let bits = RatchetBits::new(8)?; // KID = (generation << 8) + (step mod 256)
/// assert_eq!(bits.kid(3, 5)?, KeyId(0x305));
/// assert_eq!(bits.kid(3, 0x105)?, KeyId(0x305)); // only the step's low 8 bits are sent
/// assert_eq!((bits.generation_of(KeyId(0x305)), bits.step_bits_of(KeyId(0x305))), (3, 5));
/// assert_eq!(bits.max_generation(), (1 << 56) - 1);
/// assert_eq!(bits.kid(1 << 56, 0), Err(Error::InvalidParameter));
/// assert_eq!(RatchetBits::new(0), Err(Error::InvalidParameter)); // no room for a step
/// assert_eq!(RatchetBits::new(64), Err(Error::InvalidParameter)); // none for a generation
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RatchetBits(u32);

impl RatchetBits {
    /// `R` bits, 1 to 63.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside 1..=63 (with 0 there would be no
    /// step, with 64 no generation).
    pub const fn new(bits: u32) -> Result<Self, Error> {
        if bits == 0 || bits > 63 {
            return Err(Error::InvalidParameter);
        }
        Ok(Self(bits))
    }

    /// `R`.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// `2^R − 1`: the mask of the step bits.
    #[must_use]
    pub const fn step_mask(self) -> u64 {
        (1 << self.0) - 1
    }

    /// The largest generation that fits: `2^(64−R) − 1`.
    #[must_use]
    pub const fn max_generation(self) -> u64 {
        u64::MAX >> self.0
    }

    /// `KID = (generation << R) + (step mod 2^R)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `generation` exceeds
    /// [`Self::max_generation`].
    pub const fn kid(self, generation: u64, step: u64) -> Result<KeyId, Error> {
        if generation > self.max_generation() {
            return Err(Error::InvalidParameter);
        }
        Ok(KeyId((generation << self.0) | (step & self.step_mask())))
    }

    /// The generation a KID names.
    #[must_use]
    pub const fn generation_of(self, kid: KeyId) -> u64 {
        kid.0 >> self.0
    }

    /// The low `R` bits of the ratchet step a KID names.
    #[must_use]
    pub const fn step_bits_of(self, kid: KeyId) -> u64 {
        kid.0 & self.step_mask()
    }
}

/// One ratchet step (RFC 9605 §5.1): consumes `base_key` and returns the
/// next one, `Nh` bytes long. The old key is zeroized when it is dropped
/// here.
///
/// ```
/// use framecrypt::{BaseKey, CipherSuite, RatchetBits, RatchetingSender, ratchet_forward};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let bytes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// let step_1 = ratchet_forward(suite, BaseKey::new(&bytes)?);
/// // Nh = 32 bytes (SHA-256): step 1 of tests/data/ratchet-vectors.json.
/// assert_eq!(step_1.expose_secret().len(), 32);
/// assert_eq!(step_1.expose_secret()[..8], [0xfb, 0x75, 0xd8, 0xd5, 0x78, 0x2d, 0xa6, 0xc6]);
///
/// // The step a sender's `ratchet()` takes.
/// let mut sender = RatchetingSender::new(suite, RatchetBits::new(8)?, 0, BaseKey::new(&bytes)?)?;
/// sender.ratchet();
/// assert_eq!(sender.share().expose_secret(), step_1.expose_secret());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[must_use]
pub fn ratchet_forward(suite: CipherSuite, base_key: BaseKey) -> BaseKey {
    next_base_key(suite, &base_key)
}

/// `HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`.
pub(crate) fn next_base_key(suite: CipherSuite, base_key: &BaseKey) -> BaseKey {
    wiped(|| {
        let mut next = BaseKey::zeroed(suite.hash_len());
        ExtractedSecret::extract(suite, base_key).expand_base_key_into(RATCHET_LABEL, &mut next);
        next
    })
}

/// The most ratchet steps a [`RatchetingReceiver`] looks ahead
/// ([`RatchetingReceiver::MAX_FORWARD`]).
const MAX_FORWARD: u64 = FORWARD_KEYS as u64;

/// [`MAX_FORWARD`] as a length: the keys a [`Chain`] holds at most.
const FORWARD_KEYS: usize = 64;

/// The keys of the steps after a ratcheting receiver's current one, ready
/// to build a cipher from, and the secret to derive more.
///
/// Entry `i` (counted from `head`, 0-based) is `sframe_key || sframe_salt`
/// (RFC 9605 §4.4.2) of step `current + 1 + i`, for `len` steps; `tail` is
/// `sframe_secret` (the HKDF-Extract output) of step `current + len`, from
/// which the next step's base key, and so the next entry, is expanded
/// (§5.1). The chain is computed from the current key alone, when a key is
/// installed or the receiver moves forward after an authentic frame, and
/// only ever read while frames are opened. Entries never move: moving
/// forward zeroizes the entries left behind and writes new ones in their
/// place.
struct Chain {
    keys: [KeyAndSalt; FORWARD_KEYS],
    head: usize,
    len: usize,
    tail: SframeSecret,
}

impl Chain {
    fn new() -> Self {
        Self {
            keys: core::array::from_fn(|_| KeyAndSalt::zeroed()),
            head: 0,
            len: 0,
            tail: SframeSecret::zeroed(0),
        }
    }

    /// The key and salt of the step `ahead` (at least 1) steps past the
    /// current one.
    fn get(&self, ahead: u64) -> Option<&KeyAndSalt> {
        let i = usize::try_from(ahead.checked_sub(1)?).ok()?;
        (i < self.len).then(|| &self.keys[(self.head + i) % self.keys.len()])
    }

    /// Starts over from the current step's base key and derives the keys
    /// of the `forward` steps after it; returns the current step's
    /// secret, ready to expand its own key.
    fn restart(
        &mut self,
        suite: CipherSuite,
        base_key: &BaseKey,
        forward: Steps,
    ) -> ExtractedSecret {
        self.clear();
        let secret = wiped(|| ExtractedSecret::extract_into(suite, base_key, &mut self.tail));
        self.extend(suite, forward);
        secret
    }

    /// Derives entries until the chain reaches `forward.count` steps past
    /// the current one.
    fn extend(&mut self, suite: CipherSuite, forward: Steps) {
        if self.tail.expose_secret().is_empty() {
            return;
        }
        let want =
            usize::try_from(forward.count).map_or(self.keys.len(), |f| f.min(self.keys.len()));
        if self.len >= want {
            return;
        }
        wiped(|| {
            let mut last = ExtractedSecret::from_prk(suite, &self.tail);
            let mut base_key = BaseKey::zeroed(suite.hash_len());
            while self.len < want {
                last.expand_base_key_into(RATCHET_LABEL, &mut base_key);
                last = ExtractedSecret::extract_into(suite, &base_key, &mut self.tail);
                self.len += 1;
                let kid = forward.kid(self.len as u64);
                let slot = (self.head + self.len - 1) % self.keys.len();
                last.key_and_salt_into(suite, kid, &mut self.keys[slot]);
            }
        });
    }

    /// Moves the current step `ahead` steps forward (the caller has just
    /// taken that step's key from [`Self::get`]): the entries of the steps
    /// reached are zeroized, and the chain extended to `forward`, counted
    /// from the new current step.
    fn advance(&mut self, suite: CipherSuite, ahead: u64, forward: Steps) {
        let ahead = usize::try_from(ahead).map_or(self.len, |a| a.min(self.len));
        for i in 0..ahead {
            self.keys[(self.head + i) % self.keys.len()].zeroize();
        }
        self.head = (self.head + ahead) % self.keys.len();
        self.len -= ahead;
        self.extend(suite, forward);
    }

    /// Zeroizes everything.
    fn clear(&mut self) {
        for key in &mut self.keys {
            key.zeroize();
        }
        self.tail.zeroize();
        self.head = 0;
        self.len = 0;
    }
}

/// How far a [`Chain`] reaches, and whose steps they are: `count` steps
/// past `step` of `generation`, with `R = bits`.
#[derive(Clone, Copy)]
struct Steps {
    bits: RatchetBits,
    generation: u64,
    step: u64,
    count: u64,
}

impl Steps {
    /// The KID of the step `ahead` steps past `step`.
    const fn kid(self, ahead: u64) -> KeyId {
        let step = self.step.wrapping_add(ahead);
        KeyId((self.generation << self.bits.get()) | (step & self.bits.step_mask()))
    }
}

/// A sender under RFC 9605 §5.1 sender keys: encrypts under its current
/// (generation, ratchet step) and moves forward with [`Self::ratchet`] (on
/// a join) or [`Self::rekey`] (on a leave).
///
/// Each step and generation has its own key, so the frame counter starts
/// again at 0 after either; within one key the core's counter rules hold
/// (never reused, exhaustion is permanent for that key).
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Counter, KeyId, RatchetBits, RatchetingReceiver, RatchetingSender};
///
/// let (suite, bits) = (CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?);
/// let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
/// let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
/// receiver.install_share(sender.share(), 0)?;
/// sender.seal_to_vec(b"", b"frame")?;
/// assert_eq!((sender.kid(), sender.next_counter()), (KeyId(0), Some(Counter(1))));
///
/// sender.ratchet(); // a member joined: step 1, the counter back at 0
/// assert_eq!((sender.kid(), sender.next_counter()), (KeyId(1), Some(Counter(0))));
///
/// sender.rekey(BaseKey::new(&[2; 16])?)?; // a member left: generation 1, a fresh key
/// assert_eq!((sender.generation(), sender.step(), sender.kid()), (1, 0, KeyId(0x100)));
/// receiver.install_share(sender.share(), 20)?; // handed to the remaining members only
/// let frame = sender.seal_to_vec(b"", b"after the leave")?;
/// assert_eq!(receiver.at(20).open_to_vec(b"", &frame)?.1, b"after the leave");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub struct RatchetingSender {
    bits: RatchetBits,
    generation: u64,
    step: u64,
    base_key: BaseKey,
    sender: Sender,
}

impl RatchetingSender {
    /// A sender at `generation`, step 0, with the generation's fresh
    /// `base_key`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `generation` does not fit `64 − R`
    /// bits.
    pub fn new(
        suite: CipherSuite,
        bits: RatchetBits,
        generation: u64,
        base_key: BaseKey,
    ) -> Result<Self, Error> {
        Self::resume(suite, bits, generation, 0, base_key, Counter(0))
    }

    /// A sender that continues at `step` of `generation`, where `base_key`
    /// is the base key of that step (already ratcheted `step` times), with
    /// the next counter `next_ctr` (RFC 9605 §9.1: persist it before use).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `generation` does not fit `64 − R`
    /// bits.
    pub fn resume(
        suite: CipherSuite,
        bits: RatchetBits,
        generation: u64,
        step: u64,
        base_key: BaseKey,
        next_ctr: Counter,
    ) -> Result<Self, Error> {
        let kid = bits.kid(generation, step)?;
        let sender = Sender::resume(suite, kid, base_key.duplicate(), next_ctr);
        Ok(Self {
            bits,
            generation,
            step,
            base_key,
            sender,
        })
    }

    /// Moves to the next ratchet step: the base key is ratcheted (the old
    /// one is zeroized), the KID's step bits advance and the counter starts
    /// again at 0. Receivers follow by themselves.
    ///
    /// The step counts modulo `2^64`; only its low `R` bits are sent.
    pub fn ratchet(&mut self) {
        let suite = self.suite();
        self.base_key = next_base_key(suite, &self.base_key);
        self.step = self.step.wrapping_add(1);
        let kid = KeyId((self.generation << self.bits.get()) | (self.step & self.bits.step_mask()));
        self.sender = Sender::from_frame_key(FrameKey::derive(suite, kid, &self.base_key));
    }

    /// Starts the next generation with a fresh `base_key` at step 0 (the old
    /// base key is zeroized). The new key must reach the receivers out of
    /// band, e.g. over an E2E-secure channel.
    ///
    /// # Errors
    /// [`Error::KeyIdExhausted`] if the next generation does not fit
    /// `64 − R` bits; the sender is unchanged.
    pub fn rekey(&mut self, base_key: BaseKey) -> Result<(), Error> {
        let generation = self
            .generation
            .checked_add(1)
            .filter(|&g| g <= self.bits.max_generation())
            .ok_or(Error::KeyIdExhausted)?;
        let kid = self.bits.kid(generation, 0)?;
        self.sender = Sender::from_frame_key(FrameKey::derive(self.suite(), kid, &base_key));
        self.base_key = base_key;
        self.generation = generation;
        self.step = 0;
        Ok(())
    }

    /// The current generation.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The current ratchet step (the full value; the KID carries its low
    /// `R` bits).
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.step
    }

    /// `R`.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.bits
    }

    /// The KID of the current step.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.sender.kid()
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.sender.suite()
    }

    /// The current key as receivers install it
    /// ([`RatchetingReceiver::install_share`]): what a participant joining
    /// now must receive (RFC 9605 §5.1), handed over without touching the
    /// key's bytes. Over a network, send it sealed (see
    /// [`crate::distribute`]).
    #[must_use]
    pub fn share(&self) -> RatchetShare {
        RatchetShare {
            suite: self.suite(),
            bits: self.bits,
            generation: self.generation,
            step: self.step,
            base_key: self.base_key.duplicate(),
        }
    }

    /// The base key of the current step, for sealing it to a joiner.
    #[cfg(feature = "distribute")]
    pub(crate) const fn current_base_key(&self) -> &BaseKey {
        &self.base_key
    }

    /// The counter of the next frame under the current key, or `None` once
    /// exhausted (ratchet or rekey to continue).
    #[must_use]
    pub const fn next_counter(&self) -> Option<Counter> {
        self.sender.next_counter()
    }

    /// The exact length of the next frame for `plaintext_len` bytes.
    #[must_use]
    pub const fn next_ciphertext_len(&self, plaintext_len: usize) -> usize {
        self.sender.next_ciphertext_len(plaintext_len)
    }
}

impl Seal for RatchetingSender {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        Ok(&mut self.sender)
    }
}

impl fmt::Debug for RatchetingSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatchetingSender")
            .field("bits", &self.bits)
            .field("generation", &self.generation)
            .field("step", &self.step)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// A [`RatchetingSender`]'s current key as its receivers install it:
/// suite, `R`, generation, step and base key. It can open frames but never
/// seal them, so duplicating it for every receiver is safe. Zeroized on
/// drop, redacted in `Debug`.
///
/// ```
/// use framecrypt::{BaseKey, CipherSuite, RatchetBits, RatchetingSender};
///
/// let bits = RatchetBits::new(4)?;
/// let mut sender =
///     RatchetingSender::new(CipherSuite::Aes128GcmSha256_128, bits, 2, BaseKey::new(&[1; 16])?)?;
/// sender.ratchet();
/// let share = sender.share();
/// assert_eq!((share.generation(), share.step()), (2, 1));
/// assert!(format!("{share:?}").contains("<redacted>"));
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct RatchetShare {
    suite: CipherSuite,
    bits: RatchetBits,
    generation: u64,
    step: u64,
    base_key: BaseKey,
}

// The one secret, the base key, wipes itself on drop.
impl ZeroizeOnDrop for RatchetShare {}

impl Zeroize for RatchetShare {
    fn zeroize(&mut self) {
        self.base_key.zeroize();
    }
}

impl RatchetShare {
    #[cfg_attr(not(feature = "distribute"), allow(dead_code))] // built by announcements
    pub(crate) const fn new(
        suite: CipherSuite,
        bits: RatchetBits,
        generation: u64,
        step: u64,
        base_key: BaseKey,
    ) -> Self {
        Self {
            suite,
            bits,
            generation,
            step,
            base_key,
        }
    }

    /// The sender's cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The sender's `R`.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.bits
    }

    /// The generation of the key.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The ratchet step of the key.
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.step
    }

    /// Another copy, for another receiver.
    #[must_use]
    pub fn duplicate(&self) -> Self {
        Self {
            base_key: self.base_key.duplicate(),
            ..*self
        }
    }

    /// The base key's bytes, to send over a channel of the application's
    /// own (the C API's key hand-over). Whatever they are copied into must
    /// be zeroized by its owner; [`crate::distribute`] seals them instead.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.base_key.expose_secret()
    }
}

impl fmt::Debug for RatchetShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatchetShare")
            .field("suite", &self.suite)
            .field("bits", &self.bits)
            .field("generation", &self.generation)
            .field("step", &self.step)
            .field("base_key", &self.base_key)
            .finish()
    }
}

/// The key a receiver decrypts the sender's newest frames with. What it
/// needs to move forward is in the receiver's [`Chain`].
struct CurrentKey<const W: usize> {
    generation: u64,
    step: u64,
    rx: ReceiveKey<W>,
}

/// A superseded key kept for late frames; no base key (it can never be
/// ratcheted again).
struct PreviousKey<const W: usize> {
    generation: u64,
    step: u64,
    retired_at: u64,
    rx: ReceiveKey<W>,
}

/// Receives one sender's frames under RFC 9605 §5.1 sender keys.
///
/// Holds the sender's current key and up to `N` superseded ones, each with
/// an anti-replay window of `64 × W` counters; needs no allocator. Which
/// sender a frame comes from is known outside SFrame (e.g. its SSRC,
/// §5.1), so an application keeps one receiver per sender and its
/// [`Self::stats`] say how that sender fares.
///
/// On a frame whose KID names the current generation at a later step — at
/// most [`Self::max_forward`] steps later — the receiver tries that step's
/// key and moves to it only once the frame has authenticated: a forged KID
/// changes nothing. Frames of earlier steps and generations keep
/// decrypting within the [`Retention`] bounds; then their keys are erased.
///
/// **What a forged frame costs, and the keys kept for it.** Checking a
/// frame of a later step needs that step's key, and the key of the step
/// `k` ahead is `k` HKDF ratchet steps and a key derivation away from the
/// current one: derived on demand, a forged KID could make every frame pay
/// up to `max_forward` of them. So the receiver keeps, ready, the
/// `sframe_key` and `sframe_salt` (RFC 9605 §4.4.2) of each of the next
/// `max_forward` steps (at most [`Self::MAX_FORWARD`], `Nk + 12` bytes
/// each), and the HKDF-Extract output of the last of them, to derive the
/// next. They are computed when a key is installed and, after an authentic
/// frame of a later step, for the steps that come into reach. Any frame
/// then costs at most a cipher set-up and one tag check, two when a
/// retained step shares its KID; no frame derives anything. These keys are
/// a cache of derived keys, not state a forger can use: they are computed
/// from the current key alone and only read while frames are opened, so
/// no frame, forged or authentic, can add, replace or evict one, and no
/// outcome depends on them being there; they hold nothing that the
/// current key does not already give whoever reads memory (each is a
/// function of it), so they cost no forward secrecy; and each is zeroized
/// when the receiver moves past its step, all of them when a key is
/// installed, and on drop. The price is paid by authentic events:
/// [`Self::install_key`] runs `max_forward` ratchet steps and key
/// derivations, and moving forward `k` steps runs `k` more; and in size:
/// the receiver holds room for [`Self::MAX_FORWARD`] keys of 120 bytes
/// (7.5 KB), next to `N + 1` expanded ciphers.
///
/// Choose `R` so that `2^R` comfortably exceeds the retained steps plus
/// `max_forward`, otherwise a KID's low bits cannot say whether it is a
/// late step or a future one.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, RatchetBits, RatchetingReceiver, RatchetingSender};
///
/// let (suite, bits) = (CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?);
/// let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
/// let mut receiver = RatchetingReceiver::<4>::new(suite, bits).with_max_forward(2)?;
/// receiver.install_share(sender.share(), 0)?;
///
/// sender.ratchet();
/// sender.ratchet(); // two joins this receiver was not told of
/// let frame = sender.seal_to_vec(b"", b"step 2")?;
/// assert_eq!(receiver.at(0).open_to_vec(b"", &frame)?.1, b"step 2");
/// assert_eq!(receiver.step(), Some(2)); // followed, once the frame authenticated
///
/// for _ in 0..3 {
///     sender.ratchet(); // three steps more: beyond `max_forward`
/// }
/// let frame = sender.seal_to_vec(b"", b"step 5")?;
/// assert_eq!(receiver.at(0).open_to_vec(b"", &frame).map(|_| ()), Err(Error::TooFarAhead));
/// assert_eq!((receiver.step(), receiver.stats().too_far_ahead), (Some(2), 1));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub struct RatchetingReceiver<const N: usize = 4, const W: usize = 2> {
    suite: CipherSuite,
    bits: RatchetBits,
    max_forward: u64,
    retention: Retention,
    window_width: usize,
    current: Option<CurrentKey<W>>,
    chain: Chain,
    previous: [Option<PreviousKey<W>>; N],
    stats: DecryptStats,
}

impl<const N: usize, const W: usize> RatchetingReceiver<N, W> {
    /// The most steps a receiver looks ahead: [`Self::with_max_forward`]
    /// refuses more. It bounds the secrets kept for later steps (see the
    /// type's documentation) to `MAX_FORWARD + 1` of `Nh` bytes.
    pub const MAX_FORWARD: u64 = MAX_FORWARD;

    /// The default [`Self::max_forward`] is `2^R − 1`, but at most this
    /// many steps ([`Self::MAX_FORWARD`]).
    pub const DEFAULT_MAX_FORWARD_CAP: u64 = MAX_FORWARD;

    /// A receiver with no key yet, for a sender using `bits`, with the
    /// default forward limit, [`Retention::DEFAULT`] (capped at `N`) and a
    /// full-width replay window.
    #[must_use]
    pub fn new(suite: CipherSuite, bits: RatchetBits) -> Self {
        let max_forward = if bits.step_mask() < Self::DEFAULT_MAX_FORWARD_CAP {
            bits.step_mask()
        } else {
            Self::DEFAULT_MAX_FORWARD_CAP
        };
        let mut retention = Retention::DEFAULT;
        retention.max_previous = retention.max_previous.min(N);
        Self {
            suite,
            bits,
            max_forward,
            retention,
            window_width: ReplayWindow::<W>::CAPACITY,
            current: None,
            chain: Chain::new(),
            previous: core::array::from_fn(|_| None),
            stats: DecryptStats::default(),
        }
    }

    /// Sets how many ratchet steps ahead of the current one a frame may be
    /// (0 disables receiver-side ratcheting). With a key installed, the
    /// secrets of the steps now in reach are derived here (or those out of
    /// reach zeroized).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `max_forward >= 2^R` (the step bits
    /// could not tell such a step apart) or `max_forward >`
    /// [`Self::MAX_FORWARD`].
    pub fn with_max_forward(mut self, max_forward: u64) -> Result<Self, Error> {
        if max_forward > self.bits.step_mask() || max_forward > Self::MAX_FORWARD {
            return Err(Error::InvalidParameter);
        }
        self.max_forward = max_forward;
        if let Some(current) = &self.current {
            let forward = self.steps(current.generation, current.step);
            self.chain.extend(self.suite, forward);
        }
        Ok(self)
    }

    /// Sets how long superseded keys are kept.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `retention.max_previous > N`.
    pub fn with_retention(mut self, retention: Retention) -> Result<Self, Error> {
        if retention.max_previous > N {
            return Err(Error::InvalidParameter);
        }
        self.retention = retention;
        Ok(self)
    }

    /// Sets the anti-replay window width for keys installed or derived from
    /// now on.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 <= width <= 64 × W`.
    pub fn with_replay_window(mut self, width: usize) -> Result<Self, Error> {
        if width == 0 || width > ReplayWindow::<W>::CAPACITY {
            return Err(Error::InvalidParameter);
        }
        self.window_width = width;
        Ok(self)
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// `R`.
    #[must_use]
    pub const fn bits(&self) -> RatchetBits {
        self.bits
    }

    /// How many steps ahead the receiver ratchets at most.
    #[must_use]
    pub const fn max_forward(&self) -> u64 {
        self.max_forward
    }

    /// The retention bounds.
    #[must_use]
    pub const fn retention(&self) -> Retention {
        self.retention
    }

    /// The current generation, if a key is installed.
    #[must_use]
    pub fn generation(&self) -> Option<u64> {
        self.current.as_ref().map(|c| c.generation)
    }

    /// The current ratchet step, if a key is installed.
    #[must_use]
    pub fn step(&self) -> Option<u64> {
        self.current.as_ref().map(|c| c.step)
    }

    /// How many keys are held: the current one plus the superseded ones
    /// still retained.
    #[must_use]
    pub fn key_count(&self) -> usize {
        usize::from(self.current.is_some()) + self.previous_count()
    }

    /// How many superseded keys are retained.
    #[must_use]
    pub fn previous_count(&self) -> usize {
        self.previous.iter().flatten().count()
    }

    /// The decrypt outcomes counted so far for this sender.
    #[must_use]
    pub const fn stats(&self) -> DecryptStats {
        self.stats
    }

    /// Installs the sender's base key for `(generation, step)`, received
    /// out of band: the first key, a new generation after a rekey, or a
    /// later step announced to a joiner. The key in use until now is kept
    /// as a superseded key within the retention bounds. The base key is
    /// consumed and zeroized; the secrets of the next
    /// [`Self::max_forward`] steps are derived from it here.
    ///
    /// # Errors
    /// - [`Error::StaleKey`] if `(generation, step)` is not newer than the
    ///   current key's; nothing changes.
    /// - [`Error::InvalidParameter`] if `generation` does not fit `64 − R`
    ///   bits.
    pub fn install_key(
        &mut self,
        generation: u64,
        step: u64,
        mut base_key: BaseKey,
        now_ms: u64,
    ) -> Result<(), Error> {
        let kid = self.bits.kid(generation, step)?;
        if let Some(current) = &self.current
            && (generation, step) <= (current.generation, current.step)
        {
            return Err(Error::StaleKey);
        }
        self.expire(now_ms);
        let forward = self.steps(generation, step);
        let secret = self.chain.restart(self.suite, &base_key, forward);
        // Wiped where it lies (a `drop` call would move it first).
        base_key.zeroize();
        let rx = ReceiveKey::new(
            FrameKey::from_secret(self.suite, kid, &secret),
            fresh_window(self.window_width),
        );
        if let Some(old) = self.current.take() {
            self.retire(old.generation, old.step, old.rx, now_ms);
        }
        self.drop_shadowed(generation, step);
        self.current = Some(CurrentKey {
            generation,
            step,
            rx,
        });
        Ok(())
    }

    /// Installs a sender's [`RatchetShare`], as [`Self::install_key`].
    ///
    /// # Errors
    /// As [`Self::install_key`]; [`Error::InvalidParameter`] if the share's
    /// suite or `R` differ from this receiver's.
    pub fn install_share(&mut self, share: RatchetShare, now_ms: u64) -> Result<(), Error> {
        if share.suite != self.suite || share.bits != self.bits {
            return Err(Error::InvalidParameter);
        }
        let RatchetShare {
            generation,
            step,
            base_key,
            ..
        } = share;
        self.install_key(generation, step, base_key, now_ms)
    }

    /// Erases (zeroizes) every superseded key whose time is up at `now_ms`.
    /// Decryption calls this too.
    pub fn expire(&mut self, now_ms: u64) {
        let retention = self.retention;
        for slot in &mut self.previous {
            if slot
                .as_ref()
                .is_some_and(|p| retention.expired(p.retired_at, now_ms))
            {
                *slot = None;
            }
        }
    }

    fn open(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        io: &mut Ciphertext<'_>,
    ) -> Result<Opened, Error> {
        self.expire(now_ms);
        let header = io.header_with_tag(self.suite.tag_len())?;
        let generation = self.bits.generation_of(header.kid());
        let step_bits = self.bits.step_bits_of(header.kid());
        let mask = self.bits.step_mask();

        let current = self
            .current
            .as_mut()
            .ok_or(Error::UnknownKeyId(header.kid()))?;
        if generation == current.generation && step_bits == current.step & mask {
            return current.rx.open(header, io, metadata);
        }
        // Same generation, another step: `ahead` in 1..2^R.
        let ahead = step_bits.wrapping_sub(current.step) & mask;
        let forward = generation == current.generation && ahead <= self.max_forward;
        if let Some(previous) = self
            .previous
            .iter_mut()
            .flatten()
            .find(|p| p.generation == generation && p.step & mask == step_bits)
        {
            // If a step ahead is tried next, this try must leave an
            // in-place frame intact for it.
            let result = if forward {
                previous.rx.try_open(header, io, metadata)
            } else {
                previous.rx.open(header, io, metadata)
            };
            if result.is_ok() || !forward {
                return result;
            }
            // With few step bits a retained step and a future step can
            // share a KID (RFC 9605 §5.1: R bounds the steps in play). The
            // key the frame authenticates under decides; if neither does,
            // the retained key's verdict stands.
            return self
                .ratchet_to(ahead, header, io, metadata, now_ms)
                .or(result);
        }
        if generation > current.generation {
            return Err(Error::UnknownKeyId(header.kid()));
        }
        if generation < current.generation {
            return Err(Error::KeyExpired);
        }
        if !forward {
            // R <= 63, so `mask + 1` cannot overflow.
            let behind = mask + 1 - ahead;
            return Err(if behind <= current.step {
                Error::KeyExpired
            } else {
                Error::TooFarAhead
            });
        }
        self.ratchet_to(ahead, header, io, metadata, now_ms)
    }

    /// The frame key of the step `ahead` steps past the current one, built
    /// from its kept key and salt: no derivation at all.
    fn key_ahead(&self, ahead: u64, kid: KeyId) -> Option<FrameKey> {
        let key_and_salt = self.chain.get(ahead)?;
        Some(FrameKey::from_key_and_salt(self.suite, kid, key_and_salt))
    }

    /// The chain's reach from `step` of `generation`: the forward limit.
    const fn steps(&self, generation: u64, step: u64) -> Steps {
        Steps {
            bits: self.bits,
            generation,
            step,
            count: self.max_forward,
        }
    }

    /// Tries the key `ahead` steps past the current one; commits it (and
    /// retains the skipped steps' keys) only if the frame authenticates.
    fn ratchet_to(
        &mut self,
        ahead: u64,
        header: Header,
        io: &mut Ciphertext<'_>,
        metadata: &[u8],
        now_ms: u64,
    ) -> Result<Opened, Error> {
        let key = self
            .key_ahead(ahead, header.kid())
            .ok_or(Error::TooFarAhead)?;
        let opened = io.open(&key, metadata)?;

        // Authenticated: commit.
        let mut window = fresh_window::<W>(self.window_width);
        window.record(header.ctr());
        let rx = ReceiveKey::new(key, window);
        let Some(old) = self.current.take() else {
            return Err(Error::UnknownKeyId(header.kid()));
        };
        let CurrentKey {
            generation,
            step: old_step,
            rx: old_rx,
        } = old;
        self.retire(generation, old_step, old_rx, now_ms);
        // Frames of skipped steps may still arrive: keep the keys of the
        // newest ones that the retention count allows.
        let skipped = ahead - 1;
        let keep = skipped.min(self.retention.max_previous as u64);
        for i in skipped - keep + 1..=skipped {
            let step = old_step.wrapping_add(i);
            let kid = KeyId((generation << self.bits.get()) | (step & self.bits.step_mask()));
            if let Some(key) = self.key_ahead(i, kid) {
                let rx = ReceiveKey::new(key, fresh_window(self.window_width));
                self.retire(generation, step, rx, now_ms);
            }
        }
        let step = old_step.wrapping_add(ahead);
        let forward = self.steps(generation, step);
        self.chain.advance(self.suite, ahead, forward);
        self.drop_shadowed(generation, step);
        self.current = Some(CurrentKey {
            generation,
            step,
            rx,
        });
        Ok(opened)
    }

    /// Keeps a superseded key within the retention count, evicting the
    /// oldest (generation, step) first.
    fn retire(&mut self, generation: u64, step: u64, rx: ReceiveKey<W>, now_ms: u64) {
        if self.retention.max_previous == 0 || N == 0 {
            return;
        }
        // A key whose KID bits another retained key already carries would
        // be unreachable: the newer one takes its place.
        self.drop_shadowed(generation, step);
        if self.previous_count() >= self.retention.max_previous {
            let oldest = self
                .previous
                .iter_mut()
                .filter(|slot| slot.is_some())
                .min_by_key(|slot| slot.as_ref().map(|p| (p.generation, p.step)));
            match oldest {
                Some(slot)
                    if slot
                        .as_ref()
                        .is_some_and(|p| (p.generation, p.step) < (generation, step)) =>
                {
                    *slot = None;
                }
                // The newcomer is the oldest: it is the one not kept.
                _ => return,
            }
        }
        if let Some(slot) = self.previous.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(PreviousKey {
                generation,
                step,
                retired_at: now_ms,
                rx,
            });
        }
    }

    /// Erases retained keys that the new current key's KID would shadow.
    fn drop_shadowed(&mut self, generation: u64, step: u64) {
        let mask = self.bits.step_mask();
        for slot in &mut self.previous {
            if slot
                .as_ref()
                .is_some_and(|p| p.generation == generation && p.step & mask == step & mask)
            {
                *slot = None;
            }
        }
    }
}

/// Opened as `receiver.at(now_ms)`: superseded keys whose time is up at
/// `now_ms` are erased first.
///
/// # Errors
/// - [`Error::MalformedHeader`], [`Error::FrameTooShort`]: malformed.
/// - [`Error::UnknownKeyId`]: no key yet, or a generation newer than the
///   installed one (install it with [`RatchetingReceiver::install_key`]).
/// - [`Error::TooFarAhead`]: a step beyond [`RatchetingReceiver::max_forward`].
/// - [`Error::KeyExpired`]: an earlier step or generation whose key is
///   erased.
/// - [`Error::Replayed`]: the counter was seen or is below the window.
/// - [`Error::AuthenticationFailed`]: the frame does not authenticate.
/// - [`Error::BufferTooSmall`], [`Error::MetadataTooLong`]: as
///   [`crate::Open::open`].
///
/// On any error the receiver's keys and windows are unchanged (apart from
/// expiry at `now_ms`) and no plaintext is released.
impl<const N: usize, const W: usize> OpenAt for RatchetingReceiver<N, W> {
    fn open_frame_at(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        mut frame: Ciphertext<'_>,
    ) -> Result<Opened, Error> {
        let result = self.open(now_ms, metadata, &mut frame);
        self.stats.record(&result);
        result
    }
}

impl<const N: usize, const W: usize> fmt::Debug for RatchetingReceiver<N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatchetingReceiver")
            .field("suite", &self.suite)
            .field("bits", &self.bits)
            .field("max_forward", &self.max_forward)
            .field("retention", &self.retention)
            .field("generation", &self.generation())
            .field("step", &self.step())
            .field("previous", &self.previous_count())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8, len: usize) -> BaseKey {
        BaseKey::new(&[byte; 64][..len]).expect("length")
    }

    #[test]
    fn ratchet_bits_reject_zero_and_64() {
        assert_eq!(RatchetBits::new(0), Err(Error::InvalidParameter));
        assert_eq!(RatchetBits::new(64), Err(Error::InvalidParameter));
        assert!(RatchetBits::new(1).is_ok());
        assert!(RatchetBits::new(63).is_ok());
    }

    #[test]
    fn kid_packs_generation_above_step_bits() {
        let bits = RatchetBits::new(4).expect("R");
        assert_eq!(bits.kid(0, 0), Ok(KeyId(0)));
        assert_eq!(bits.kid(1, 0), Ok(KeyId(0x10)));
        assert_eq!(bits.kid(3, 5), Ok(KeyId(0x35)));
        // The step is sent modulo 2^R.
        assert_eq!(bits.kid(3, 16 + 5), Ok(KeyId(0x35)));
        assert_eq!(bits.generation_of(KeyId(0x35)), 3);
        assert_eq!(bits.step_bits_of(KeyId(0x35)), 5);
        assert_eq!(bits.max_generation(), (1 << 60) - 1);
        assert_eq!(bits.kid(1 << 60, 0), Err(Error::InvalidParameter));
        let wide = RatchetBits::new(63).expect("R");
        assert_eq!(wide.kid(1, 7), Ok(KeyId((1 << 63) | 7)));
        assert_eq!(wide.kid(2, 0), Err(Error::InvalidParameter));
    }

    #[test]
    fn ratchet_output_is_nh_bytes() {
        for suite in CipherSuite::ALL {
            let next = ratchet_forward(suite, key(7, 16));
            assert_eq!(next.expose_secret().len(), suite.hash_len(), "{suite}");
        }
    }

    #[test]
    fn rekey_refuses_a_generation_that_does_not_fit() {
        let bits = RatchetBits::new(63).expect("R");
        let suite = CipherSuite::Aes128GcmSha256_128;
        let mut sender = RatchetingSender::new(suite, bits, 1, key(1, 16)).expect("fits");
        assert_eq!(sender.rekey(key(2, 16)), Err(Error::KeyIdExhausted));
        assert_eq!(sender.generation(), 1);
        assert_eq!(sender.kid(), KeyId(1 << 63));
        assert_eq!(
            RatchetingSender::new(suite, bits, 2, key(1, 16)).map(|s| s.kid()),
            Err(Error::InvalidParameter)
        );
    }
}
