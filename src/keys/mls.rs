//! SFrame keys from an MLS group (RFC 9605 §5.2): one base key per epoch
//! from the MLS exporter, and KIDs that carry the epoch's low bits, the
//! sender's member index and a context chosen by the sender.
//!
//! ```text
//! base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)
//! KID      = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)
//! ```
//!
//! Every member derives the same base key; keys differ per sender because
//! the KID goes into the §4.4.2 derivation. There is deliberately no
//! per-sender `HKDF-Expand(epoch_secret, sender_index)` step: drafts had
//! one, RFC 9605 does not.

use core::fmt;

use zeroize::Zeroize;

use super::{DecryptStats, Retention};
use crate::error::Error;
use crate::frame::{FrameKey, Opened};
use crate::ids::{Counter, KeyId};
use crate::key_schedule::ExtractedSecret;
use crate::key_store::{ReceiveKey, fresh_window};
use crate::replay::ReplayWindow;
use crate::roles::{Ciphertext, OpenAt, Seal};
use crate::secret::{BaseKey, wiped};
use crate::sender::Sender;
use crate::suite::CipherSuite;

/// The MLS exporter label of RFC 9605 §5.2.
pub const MLS_BASE_KEY_LABEL: &str = "SFrame 1.0 Base Key";

/// The MLS exporter of a group's current epoch (RFC 9420 §8.5), so that any
/// MLS implementation can feed framecrypt.
///
/// Implement it over your MLS library's group object; for `openmls`,
/// `MlsGroup::export_secret(crypto, label, context, len)` is this function.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, EpochManager, Error, MLS_BASE_KEY_LABEL, MlsExporter, MlsSender};
///
/// /// Stands in for an MLS group at one epoch: fixed bytes where a real
/// /// group derives them from its exporter secret.
/// struct GroupAtEpoch([u8; 32]);
///
/// impl MlsExporter for GroupAtEpoch {
///     fn export(&self, label: &str, context: &[u8], len: usize) -> Result<BaseKey, Error> {
///         assert_eq!((label, context), (MLS_BASE_KEY_LABEL, &b""[..])); // RFC 9605 §5.2
///         BaseKey::new(self.0.get(..len).ok_or(Error::ExportFailed)?)
///     }
/// }
///
/// let mut epochs = EpochManager::<4, 16>::new(CipherSuite::Aes128GcmSha256_128, 4)?;
/// epochs.add_epoch(0, 2, &GroupAtEpoch([9; 32]), 0)?; // epoch 0, a group of 2
/// let mut alice = MlsSender::new(0, 0);
/// alice.enter_epoch(&epochs)?;
/// let frame = alice.seal_to_vec(b"", b"hello")?;
/// assert_eq!(epochs.at(0).open_to_vec(b"", &frame)?.1, b"hello");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub trait MlsExporter {
    /// `MLS-Exporter(label, context, len)` for the current epoch, as a
    /// secret of exactly `len` bytes.
    ///
    /// # Errors
    /// [`Error::ExportFailed`] if the group cannot export (for example, it
    /// is no longer active); [`Error::InvalidKeyLength`] if `len` is not a
    /// valid [`BaseKey`] length.
    fn export(&self, label: &str, context: &[u8], len: usize) -> Result<BaseKey, Error>;
}

/// `base_key = MLS-Exporter("SFrame 1.0 Base Key", "", Nk)` for the
/// exporter's current epoch (RFC 9605 §5.2).
///
/// # Errors
/// The exporter's errors; [`Error::ExportFailed`] if it returns a secret of
/// the wrong length.
///
/// ```
/// use framecrypt::{BaseKey, CipherSuite, Error, MlsExporter, mls_base_key};
///
/// # struct GroupAtEpoch([u8; 32]);
/// # impl MlsExporter for GroupAtEpoch {
/// #     fn export(&self, _label: &str, _context: &[u8], len: usize) -> Result<BaseKey, Error> {
/// #         BaseKey::new(self.0.get(..len).ok_or(Error::ExportFailed)?)
/// #     }
/// # }
/// // `GroupAtEpoch` exports `len` bytes of [9; 32] (see `MlsExporter`).
/// let group = GroupAtEpoch([9; 32]);
/// let base_key = mls_base_key(&group, CipherSuite::Aes128GcmSha256_128)?; // Nk = 16
/// assert_eq!(base_key.expose_secret(), &[9; 16]);
///
/// /// Always 16 bytes, whatever `len` asks for.
/// struct Sloppy;
/// impl MlsExporter for Sloppy {
///     fn export(&self, _label: &str, _context: &[u8], _len: usize) -> Result<BaseKey, Error> {
///         BaseKey::new(&[1; 16])
///     }
/// }
/// let suite = CipherSuite::Aes256GcmSha512_128; // Nk = 32
/// assert_eq!(mls_base_key(&Sloppy, suite).map(|_| ()), Err(Error::ExportFailed));
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub fn mls_base_key(exporter: &impl MlsExporter, suite: CipherSuite) -> Result<BaseKey, Error> {
    let base_key = exporter.export(MLS_BASE_KEY_LABEL, b"", suite.key_len())?;
    if base_key.expose_secret().len() != suite.key_len() {
        return Err(Error::ExportFailed);
    }
    Ok(base_key)
}

/// The bit layout of MLS KIDs (RFC 9605 §5.2, Figure 8): `E` epoch bits at
/// the bottom, `S` sender-index bits above them, and the remaining
/// `64 − S − E` bits for a context value.
///
/// ```text
///   64-S-E bits   S bits   E bits
///  +-------------+--------+-------+
///  | Context ID  | Index  | Epoch |
///  +-------------+--------+-------+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MlsKidLayout {
    epoch_bits: u32,
    sender_bits: u32,
}

/// The three fields of an MLS KID.
///
/// ```
/// use framecrypt::{KeyId, MlsKidFields, MlsKidLayout};
///
/// // RFC 9605 Figure 9: E = 4 epoch bits, a group of 64 members (S = 6).
/// let layout = MlsKidLayout::for_group_size(4, 64)?;
/// let fields = layout.fields(KeyId(0x820));
/// assert_eq!(fields, MlsKidFields { context: 2, sender_index: 2, epoch_bits: 0 });
/// // Member 2, context 2, in epoch 16 (low bits 0): the same KID again.
/// assert_eq!(layout.kid(fields.context, fields.sender_index, 16)?, KeyId(0x820));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MlsKidFields {
    /// The sender's context value.
    pub context: u64,
    /// The sender's member index.
    pub sender_index: u64,
    /// The low `E` bits of the epoch.
    pub epoch_bits: u64,
}

impl MlsKidLayout {
    /// `E` epoch bits and `S` sender-index bits.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `E` is 0 or `E + S > 64`.
    pub const fn new(epoch_bits: u32, sender_bits: u32) -> Result<Self, Error> {
        if epoch_bits == 0 || epoch_bits > 64 || sender_bits > 64 - epoch_bits {
            return Err(Error::InvalidParameter);
        }
        Ok(Self {
            epoch_bits,
            sender_bits,
        })
    }

    /// `E` epoch bits and the `S` that RFC 9605 §5.2 derives from the
    /// group size: the smallest `S` with `group_size <= 2^S`.
    ///
    /// For MLS pass the number of leaves of the ratchet tree (one more than
    /// the largest member index in use), not the member count: removed
    /// members leave blank leaves and members keep their index.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `group_size` is 0, `E` is 0 or
    /// `E + S > 64`.
    pub const fn for_group_size(epoch_bits: u32, group_size: u64) -> Result<Self, Error> {
        match Self::sender_bits_for(group_size) {
            Ok(sender_bits) => Self::new(epoch_bits, sender_bits),
            Err(e) => Err(e),
        }
    }

    /// The smallest `S` with `group_size <= 2^S`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `group_size` is 0.
    pub const fn sender_bits_for(group_size: u64) -> Result<u32, Error> {
        match group_size {
            0 => Err(Error::InvalidParameter),
            1 => Ok(0),
            n => Ok(64 - (n - 1).leading_zeros()),
        }
    }

    /// `E`.
    #[must_use]
    pub const fn epoch_bits(self) -> u32 {
        self.epoch_bits
    }

    /// `S`.
    #[must_use]
    pub const fn sender_bits(self) -> u32 {
        self.sender_bits
    }

    /// `64 − S − E`, the bits left for the context.
    #[must_use]
    pub const fn context_bits(self) -> u32 {
        64 - self.epoch_bits - self.sender_bits
    }

    /// `KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `sender_index` does not fit `S` bits
    /// or `context` does not fit `64 − S − E` bits.
    pub const fn kid(self, context: u64, sender_index: u64, epoch: u64) -> Result<KeyId, Error> {
        if sender_index > mask(self.sender_bits) || context > mask(self.context_bits()) {
            return Err(Error::InvalidParameter);
        }
        Ok(KeyId(
            shl(context, self.epoch_bits + self.sender_bits)
                | shl(sender_index, self.epoch_bits)
                | (epoch & mask(self.epoch_bits)),
        ))
    }

    /// Splits a KID into its fields.
    #[must_use]
    pub const fn fields(self, kid: KeyId) -> MlsKidFields {
        MlsKidFields {
            context: shr(kid.0, self.epoch_bits + self.sender_bits),
            sender_index: shr(kid.0, self.epoch_bits) & mask(self.sender_bits),
            epoch_bits: kid.0 & mask(self.epoch_bits),
        }
    }
}

/// `2^bits − 1`, for `bits` up to 64.
const fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

/// `value << bits`, 0 when `bits >= 64`.
const fn shl(value: u64, bits: u32) -> u64 {
    if bits >= 64 { 0 } else { value << bits }
}

/// `value >> bits`, 0 when `bits >= 64`.
const fn shr(value: u64, bits: u32) -> u64 {
    if bits >= 64 { 0 } else { value >> bits }
}

/// One retained epoch: its KID layout (S may change with the group size)
/// and its base key, extracted once (`sframe_secret`, RFC 9605 §4.4.2:
/// every sender's key of the epoch is expanded from it).
struct Epoch {
    epoch: u64,
    layout: MlsKidLayout,
    /// The leaves of the group: sender indices at or past it are outside
    /// the roster and refused.
    group_size: u64,
    secret: ExtractedSecret,
    /// When a newer epoch superseded this one.
    retired_at: Option<u64>,
}

/// A sender's derived key in one epoch, with its replay window.
struct EpochKey<const W: usize> {
    epoch: u64,
    kid: KeyId,
    rx: ReceiveKey<W>,
    /// Whether a frame has authenticated under it. A key that has not (a
    /// key derived ahead, or a speculative entry: see [`EpochManager`])
    /// never counts as cached, and any sender's first authentic frame may
    /// take its slot.
    authenticated: bool,
}

/// The receiving side of an MLS-keyed SFrame session (RFC 9605 §5.2): the
/// epochs a member holds and the per-sender keys derived from them.
///
/// - [`Self::add_epoch`] after every MLS epoch change; [`MlsSender`]
///   encrypts under the newest epoch.
/// - Frames of any retained epoch decrypt; a superseded epoch is kept
///   within the [`Retention`] bounds (at most `EPOCHS − 1` of them), and is
///   removed at once when a new epoch has the same low `E` bits (the MUST
///   of §5.2). Removal zeroizes the epoch's base key and every key derived
///   from it.
/// - The roster: senders use contexts `0..contexts` (only 0 unless
///   [`Self::with_contexts`] says more) and member indices below the
///   epoch's `group_size` (the leaves of the ratchet tree). A frame whose
///   KID names a sender or context outside it is refused unread with
///   [`Error::UnknownKeyId`].
/// - The keys of the roster's senders are derived when the epoch is added
///   and cached, with their anti-replay windows, in `KEYS` slots; a
///   sender whose key found no slot has it derived on its first frame.
///   Size `KEYS` for senders × contexts × retained epochs: when every slot
///   holds a key a frame has authenticated under, a new sender's frames
///   are refused with [`Error::StoreFull`] rather than evicting a window
///   (which would reopen replays).
/// - [`Self::stats`] counts outcomes per sender index.
///
/// **What a forged frame costs, and the keys kept for it.** The KID of a
/// frame is not authenticated until the frame opens, so a forger can name
/// any member and context. A KID outside the roster costs a comparison; a
/// KID inside it whose key is cached, one tag check: so with `KEYS` sized
/// as above no forged frame costs a key derivation. A KID inside the
/// roster with no cached key costs one key-and-salt expansion (two
/// HKDF-Expands from the epoch's secret, extracted once when the epoch
/// was added, and a cipher set-up) and one tag check; with SHA-512 that
/// is several times a genuine 1,200-byte AES-GCM frame on AWS-LC. The key
/// is then kept as a *speculative* entry, in a slot no authentic key
/// uses, so the same KID again costs only a tag check.
///
/// Keys derived ahead and speculative entries are caches of derived keys,
/// not state a forger can use: they are not counted in
/// [`Self::key_count`], record no counter (a replay window starts fresh
/// when a frame first authenticates under its key), change no outcome
/// (the same frame gives the same result with or without them), never
/// evict an authentic key (any sender's first authentic frame may take
/// their slot), and hold nothing that the epoch's base key, which the
/// manager holds anyway, does not give; they are zeroized when replaced,
/// and with their epoch.
///
/// Needs no allocator; the struct is large (`KEYS` expanded ciphers), so
/// keep it in a `Box` or a `static` when it is big.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, EpochManager, Error, MlsSender, Retention};
///
/// // E = 2 epoch bits in each KID; a superseded epoch is kept for one second.
/// let retention = Retention { max_previous: 1, max_age_ms: 1_000 };
/// let mut epochs =
///     EpochManager::<4, 16>::new(CipherSuite::Aes128GcmSha256_128, 2)?.with_retention(retention)?;
/// epochs.add_epoch_key(1, 3, BaseKey::new(&[1; 16])?, 0)?; // epoch 1, 3 members, at 0 ms
/// let mut bob = MlsSender::new(1, 0); // member index 1, context 0
/// bob.enter_epoch(&epochs)?;
/// let (early, late) = (bob.seal_to_vec(b"", b"early")?, bob.seal_to_vec(b"", b"late")?);
///
/// epochs.add_epoch_key(2, 3, BaseKey::new(&[2; 16])?, 100)?; // the next commit, at 100 ms
/// assert_eq!(epochs.at(150).open_to_vec(b"", &early)?.1, b"early"); // epoch 1 still held
/// assert_eq!(epochs.stats(1).map(|stats| stats.ok), Some(1)); // counted for member 1
/// assert_eq!(epochs.at(1_100).open_to_vec(b"", &late).map(|_| ()), Err(Error::KeyExpired));
/// assert!(!epochs.has_epoch(1) && epochs.has_epoch(2));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub struct EpochManager<const EPOCHS: usize = 4, const KEYS: usize = 32, const W: usize = 2> {
    suite: CipherSuite,
    epoch_bits: u32,
    retention: Retention,
    window_width: usize,
    /// The contexts senders use: `0..contexts` ([`Self::with_contexts`]).
    contexts: u64,
    epochs: [Option<Epoch>; EPOCHS],
    newest: Option<u64>,
    /// The first epoch ever added: epochs before it were never known, so
    /// their frames are unknown rather than expired.
    first: Option<u64>,
    keys: [Option<EpochKey<W>>; KEYS],
    senders: [Option<(u64, DecryptStats)>; KEYS],
    unattributed: DecryptStats,
}

impl<const EPOCHS: usize, const KEYS: usize, const W: usize> EpochManager<EPOCHS, KEYS, W> {
    /// An empty manager for `suite` with `E = epoch_bits`,
    /// [`Retention::DEFAULT`] (capped at `EPOCHS − 1` superseded epochs)
    /// and full-width replay windows.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `epoch_bits` is not in 1..=64 or
    /// `EPOCHS` is 0.
    pub fn new(suite: CipherSuite, epoch_bits: u32) -> Result<Self, Error> {
        if EPOCHS == 0 {
            return Err(Error::InvalidParameter);
        }
        MlsKidLayout::new(epoch_bits, 0)?;
        let mut retention = Retention::DEFAULT;
        retention.max_previous = retention.max_previous.min(EPOCHS - 1);
        Ok(Self {
            suite,
            epoch_bits,
            retention,
            window_width: ReplayWindow::<W>::CAPACITY,
            contexts: 1,
            epochs: core::array::from_fn(|_| None),
            newest: None,
            first: None,
            keys: core::array::from_fn(|_| None),
            senders: [None; KEYS],
            unattributed: DecryptStats::default(),
        })
    }

    /// Sets how long superseded epochs are kept.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `retention.max_previous >= EPOCHS`.
    pub fn with_retention(mut self, retention: Retention) -> Result<Self, Error> {
        if retention.max_previous >= EPOCHS {
            return Err(Error::InvalidParameter);
        }
        self.retention = retention;
        Ok(self)
    }

    /// Sets the anti-replay window width for keys derived from now on.
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

    /// Sets how many contexts senders use: KIDs may name contexts
    /// `0..contexts` (default 1: context 0 only). With each epoch's
    /// `group_size` this is the roster (see [`EpochManager`]): a frame
    /// whose KID names a context at or past `contexts`, or a sender index
    /// at or past its epoch's group size, is refused with
    /// [`Error::UnknownKeyId`] before any key is derived, and the keys of
    /// the senders inside are derived when an epoch is added. Size `KEYS`
    /// for senders × contexts × retained epochs.
    ///
    /// ```
    /// # #[cfg(feature = "alloc")]
    /// # fn main() -> Result<(), framecrypt::Error> {
    /// use framecrypt::prelude::*;
    /// use framecrypt::{BaseKey, CipherSuite, EpochManager, Error, MlsSender};
    ///
    /// let suite = CipherSuite::Aes128GcmSha256_128;
    /// // Senders use contexts 0 and 1 (audio, video); the group has 3 leaves.
    /// let mut epochs = EpochManager::<2, 16>::new(suite, 4)?.with_contexts(2)?;
    /// epochs.add_epoch_key(1, 3, BaseKey::new(&[1; 16])?, 0)?; // 6 keys derived here
    /// let mut video = MlsSender::new(2, 1); // member 2, context 1
    /// video.enter_epoch(&epochs)?;
    /// assert_eq!(epochs.at(0).open_to_vec(b"", &video.seal_to_vec(b"", b"frame")?)?.1, b"frame");
    ///
    /// // Member 3 and context 2 are not in the roster: refused unread.
    /// assert_eq!(MlsSender::new(3, 0).enter_epoch(&epochs), Err(Error::InvalidParameter));
    /// assert_eq!(MlsSender::new(0, 2).enter_epoch(&epochs), Err(Error::InvalidParameter));
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "alloc"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `contexts` is 0.
    pub fn with_contexts(mut self, contexts: u64) -> Result<Self, Error> {
        if contexts == 0 {
            return Err(Error::InvalidParameter);
        }
        self.contexts = contexts;
        Ok(self)
    }

    /// How many contexts senders use ([`Self::with_contexts`]).
    #[must_use]
    pub const fn contexts(&self) -> u64 {
        self.contexts
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// `E`.
    #[must_use]
    pub const fn epoch_bits(&self) -> u32 {
        self.epoch_bits
    }

    /// The retention bounds.
    #[must_use]
    pub const fn retention(&self) -> Retention {
        self.retention
    }

    /// The newest epoch added.
    #[must_use]
    pub const fn newest_epoch(&self) -> Option<u64> {
        self.newest
    }

    /// Whether `epoch` is retained.
    #[must_use]
    pub fn has_epoch(&self, epoch: u64) -> bool {
        self.epochs.iter().flatten().any(|e| e.epoch == epoch)
    }

    /// How many epochs are retained (the newest included).
    #[must_use]
    pub fn epoch_count(&self) -> usize {
        self.epochs.iter().flatten().count()
    }

    /// How many per-sender keys are cached, over all retained epochs: keys
    /// under which a frame has authenticated.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.keys
            .iter()
            .flatten()
            .filter(|k| k.authenticated)
            .count()
    }

    /// The KID layout of a retained epoch.
    #[must_use]
    pub fn layout(&self, epoch: u64) -> Option<MlsKidLayout> {
        self.epochs
            .iter()
            .flatten()
            .find(|e| e.epoch == epoch)
            .map(|e| e.layout)
    }

    /// The decrypt outcomes counted for the member with `sender_index`.
    #[must_use]
    pub fn stats(&self, sender_index: u64) -> Option<DecryptStats> {
        self.senders
            .iter()
            .flatten()
            .find(|(index, _)| *index == sender_index)
            .map(|(_, stats)| *stats)
    }

    /// Outcomes that could not be tied to a sender: malformed frames, KIDs
    /// of epochs not held, failures under a KID no authentic frame has
    /// used yet (a forger can name any member), and senders beyond the
    /// stats table (`KEYS`).
    #[must_use]
    pub const fn unattributed_stats(&self) -> DecryptStats {
        self.unattributed
    }

    /// Adds the group's new epoch with `base_key = MLS-Exporter("SFrame
    /// 1.0 Base Key", "", Nk)` taken from `exporter` (which must be at that
    /// epoch). See [`Self::add_epoch_key`].
    ///
    /// # Errors
    /// The exporter's errors, and those of [`Self::add_epoch_key`].
    pub fn add_epoch(
        &mut self,
        epoch: u64,
        group_size: u64,
        exporter: &impl MlsExporter,
        now_ms: u64,
    ) -> Result<(), Error> {
        let base_key = mls_base_key(exporter, self.suite)?;
        self.add_epoch_key(epoch, group_size, base_key, now_ms)
    }

    /// Adds a new epoch with its base key. `group_size`, the leaves of the
    /// ratchet tree (one more than the largest member index in use, not
    /// the member count), sets `S` for the epoch's KIDs (see
    /// [`MlsKidLayout::for_group_size`]) and bounds the sender indices its
    /// frames may name. The previous newest epoch becomes superseded at
    /// `now_ms`; a retained epoch with the same low `E` bits is removed
    /// (RFC 9605 §5.2), and the oldest superseded epochs beyond the
    /// retention count too. Then the keys of the epoch's senders
    /// (`group_size` × [`Self::contexts`]) are derived into the slots
    /// there are: at most `KEYS` key-and-salt expansions, about 1–2 µs
    /// each.
    ///
    /// # Errors
    /// - [`Error::StaleKey`] if `epoch` is not newer than the newest epoch.
    /// - [`Error::InvalidParameter`] if `group_size` is 0 or `E + S > 64`.
    ///
    /// Nothing changes on error.
    pub fn add_epoch_key(
        &mut self,
        epoch: u64,
        group_size: u64,
        mut base_key: BaseKey,
        now_ms: u64,
    ) -> Result<(), Error> {
        let layout = MlsKidLayout::for_group_size(self.epoch_bits, group_size)?;
        if self.newest.is_some_and(|newest| epoch <= newest) {
            return Err(Error::StaleKey);
        }
        self.expire(now_ms);
        let epoch_mask = mask(self.epoch_bits);
        for i in 0..EPOCHS {
            let Some(held) = &mut self.epochs[i] else {
                continue;
            };
            if held.retired_at.is_none() {
                held.retired_at = Some(now_ms);
            }
            // §5.2: "receivers MUST remove an old epoch when a new epoch
            // with the same low-order E bits is introduced".
            if held.epoch & epoch_mask == epoch & epoch_mask {
                self.remove_at(i);
            }
        }
        while self.epoch_count() > self.retention.max_previous {
            let Some(oldest) = self.oldest_index() else {
                break;
            };
            self.remove_at(oldest);
        }
        let suite = self.suite;
        let secret = wiped(|| ExtractedSecret::extract(suite, &base_key));
        // Wiped where it lies (a `drop` call would move it first).
        base_key.zeroize();
        if let Some(slot) = self.epochs.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(Epoch {
                epoch,
                layout,
                group_size,
                secret,
                retired_at: None,
            });
        }
        self.newest = Some(epoch);
        self.first.get_or_insert(epoch);
        self.derive_ahead();
        Ok(())
    }

    /// Derives the keys of the newest epoch's roster ahead (see
    /// [`EpochManager`]): at most one expansion per slot.
    fn derive_ahead(&mut self) {
        let Some(newest) = self.newest else {
            return;
        };
        let Some(epoch) = self.epochs.iter().flatten().find(|e| e.epoch == newest) else {
            return;
        };
        for context in 0..self.contexts {
            for index in 0..epoch.group_size {
                // Free slots first, then keys of other epochs that no
                // frame authenticated under; never an authentic key.
                let Some(slot) = self.keys.iter().position(Option::is_none).or_else(|| {
                    self.keys.iter().position(|k| {
                        k.as_ref()
                            .is_some_and(|k| !k.authenticated && k.epoch != newest)
                    })
                }) else {
                    return;
                };
                let Ok(kid) = epoch.layout.kid(context, index, newest) else {
                    return;
                };
                let key = FrameKey::from_secret(self.suite, kid, &epoch.secret);
                self.keys[slot] = Some(EpochKey {
                    epoch: newest,
                    kid,
                    rx: ReceiveKey::new(key, fresh_window::<W>(self.window_width)),
                    authenticated: false,
                });
            }
        }
    }

    /// Whether `fields` name a sender outside the roster.
    const fn outside_roster(&self, epoch: &Epoch, fields: MlsKidFields) -> bool {
        fields.context >= self.contexts || fields.sender_index >= epoch.group_size
    }

    /// Removes `epoch` and every key derived from it, zeroizing them;
    /// returns whether it was held.
    pub fn remove_epoch(&mut self, epoch: u64) -> bool {
        match self
            .epochs
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.epoch == epoch))
        {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Removes every superseded epoch whose time is up at `now_ms`.
    /// Decryption and [`Self::add_epoch`] call this too.
    pub fn expire(&mut self, now_ms: u64) {
        for i in 0..EPOCHS {
            if self.epochs[i].as_ref().is_some_and(|e| {
                e.retired_at
                    .is_some_and(|at| self.retention.expired(at, now_ms))
            }) {
                self.remove_at(i);
            }
        }
    }

    fn oldest_index(&self) -> Option<usize> {
        self.epochs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.epoch, i)))
            .min()
            .map(|(_, i)| i)
    }

    fn remove_at(&mut self, i: usize) {
        if let Some(removed) = self.epochs[i].take() {
            for slot in &mut self.keys {
                if slot.as_ref().is_some_and(|k| k.epoch == removed.epoch) {
                    *slot = None;
                }
            }
        }
    }

    /// The newest epoch, for [`MlsSender::enter_epoch`].
    fn newest_entry(&self) -> Option<&Epoch> {
        let newest = self.newest?;
        self.epochs.iter().flatten().find(|e| e.epoch == newest)
    }

    /// Where an outcome for the member `index` counts. The KID, and with it
    /// the index, is unauthenticated until the frame opens: only a frame
    /// that authenticated may give a member a row of its own, so forged
    /// KIDs cannot fill the table (they count as unattributed).
    fn sender_stats(&mut self, index: u64, authenticated: bool) -> &mut DecryptStats {
        let held = self
            .senders
            .iter()
            .position(|s| s.is_some_and(|(i, _)| i == index));
        let position = match held {
            Some(p) => Some(p),
            None if authenticated => self.senders.iter().position(Option::is_none),
            None => None,
        };
        match position {
            Some(p) => {
                let (_, stats) = self.senders[p].get_or_insert((index, DecryptStats::default()));
                stats
            }
            None => &mut self.unattributed,
        }
    }

    /// Decrypts; also returns the sender index when the KID's epoch is held.
    fn open(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        io: &mut Ciphertext<'_>,
    ) -> (Option<u64>, Result<Opened, Error>) {
        self.expire(now_ms);
        let header = match io.header_with_tag(self.suite.tag_len()) {
            Ok(header) => header,
            Err(e) => return (None, Err(e)),
        };
        let kid = header.kid();
        let epoch_mask = mask(self.epoch_bits);
        let Some(epoch) = self
            .epochs
            .iter()
            .flatten()
            .find(|e| e.epoch & epoch_mask == kid.0 & epoch_mask)
        else {
            return (None, Err(self.missing_epoch(kid)));
        };
        let fields = epoch.layout.fields(kid);
        if self.outside_roster(epoch, fields) {
            return (None, Err(Error::UnknownKeyId(kid)));
        }
        let sender = fields.sender_index;
        let epoch_number = epoch.epoch;

        if let Some(cached) = self
            .keys
            .iter_mut()
            .flatten()
            .find(|k| k.epoch == epoch_number && k.kid == kid)
        {
            // The window records the counter only if the frame
            // authenticates; so does a speculative entry become a key.
            let result = cached.rx.open(header, io, metadata);
            if result.is_ok() {
                cached.authenticated = true;
            }
            return (Some(sender), result);
        }
        // First frame under this KID: derive, authenticate, then cache.
        // Room is a free slot or the speculative entry's.
        let Some(slot) = self
            .keys
            .iter()
            .position(Option::is_none)
            .or_else(|| self.speculative_slot())
        else {
            return (Some(sender), Err(Error::StoreFull));
        };
        let key = FrameKey::from_secret(self.suite, kid, &epoch.secret);
        let mut window = fresh_window::<W>(self.window_width);
        let result = io.open(&key, metadata);
        let authenticated = result.is_ok();
        if authenticated {
            window.record(header.ctr());
        }
        // Failed: keep the key as the one speculative entry, replacing the
        // previous one (dropped, and so zeroized, where it lies).
        let slot = match (authenticated, self.speculative_slot()) {
            (false, Some(previous)) => previous,
            _ => slot,
        };
        self.keys[slot] = Some(EpochKey {
            epoch: epoch_number,
            kid,
            rx: ReceiveKey::new(key, window),
            authenticated,
        });
        (Some(sender), result)
    }

    /// The slot of the speculative entry, if there is one.
    fn speculative_slot(&self) -> Option<usize> {
        self.keys
            .iter()
            .position(|k| k.as_ref().is_some_and(|k| !k.authenticated))
    }

    /// Why a KID whose low epoch bits match no held epoch fails.
    fn missing_epoch(&self, kid: KeyId) -> Error {
        let epoch_mask = mask(self.epoch_bits);
        let low_bits = kid.0 & epoch_mask;
        let (Some(newest), Some(first)) = (self.newest, self.first) else {
            return Error::UnknownKeyId(kid);
        };
        // The next epoch's frames can arrive before its commit is processed.
        if newest.wrapping_add(1) & epoch_mask == low_bits {
            return Error::UnknownKeyId(kid);
        }
        // The latest epoch at or before `newest` with these low bits.
        let behind = newest.wrapping_sub(low_bits) & epoch_mask;
        match newest.checked_sub(behind) {
            Some(epoch) if epoch >= first => Error::KeyExpired,
            _ => Error::UnknownKeyId(kid),
        }
    }
}

/// Opened as `manager.at(now_ms)`: superseded epochs whose time is up at
/// `now_ms` are removed first.
///
/// # Errors
/// - [`Error::MalformedHeader`], [`Error::FrameTooShort`]: malformed.
/// - [`Error::UnknownKeyId`]: the KID's epoch is not held and is not an
///   erased one (typically the next epoch, not added yet); or the KID
///   names a sender or context outside the roster
///   ([`EpochManager::with_contexts`]).
/// - [`Error::KeyExpired`]: the KID's epoch was held and is erased.
/// - [`Error::Replayed`], [`Error::AuthenticationFailed`].
/// - [`Error::StoreFull`]: a new sender's key has no free slot.
/// - [`Error::BufferTooSmall`], [`Error::MetadataTooLong`]: as
///   [`crate::Open::open`].
///
/// On any error nothing is cached or recorded and no plaintext is
/// released.
impl<const EPOCHS: usize, const KEYS: usize, const W: usize> OpenAt
    for EpochManager<EPOCHS, KEYS, W>
{
    fn open_frame_at(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        mut frame: Ciphertext<'_>,
    ) -> Result<Opened, Error> {
        let (sender, result) = self.open(now_ms, metadata, &mut frame);
        let stats = match sender {
            Some(index) => self.sender_stats(index, result.is_ok()),
            None => &mut self.unattributed,
        };
        stats.record(&result);
        result
    }
}

impl<const EPOCHS: usize, const KEYS: usize, const W: usize> fmt::Debug
    for EpochManager<EPOCHS, KEYS, W>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut epochs = [0u64; EPOCHS];
        let mut n = 0;
        for e in self.epochs.iter().flatten() {
            epochs[n] = e.epoch;
            n += 1;
        }
        f.debug_struct("EpochManager")
            .field("suite", &self.suite)
            .field("epoch_bits", &self.epoch_bits)
            .field("retention", &self.retention)
            .field("contexts", &self.contexts)
            .field("epochs", &&epochs[..n])
            .field("keys", &self.key_count())
            .finish_non_exhaustive()
    }
}

/// The sending side of one member in an MLS-keyed session (RFC 9605 §5.2):
/// encrypts under the newest epoch of an [`EpochManager`] with the KID of
/// its member index and context.
///
/// It only ever moves to newer epochs, so a (KID, CTR) pair is never
/// reused while it lives. Use one `MlsSender` per context (stream).
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, EpochManager, Error, KeyId, MlsSender};
///
/// let mut epochs = EpochManager::<4, 16>::new(CipherSuite::Aes128GcmSha256_128, 4)?;
/// let mut alice = MlsSender::new(3, 0); // member index 3, context 0
/// assert_eq!(alice.seal_to_vec(b"", b"too early"), Err(Error::NoEpoch));
///
/// epochs.add_epoch_key(14, 64, BaseKey::new(&[14; 16])?, 0)?;
/// alice.enter_epoch(&epochs)?;
/// assert_eq!(alice.kid(), Some(KeyId(0x3e))); // RFC 9605 Figure 9: epoch 14, index 3
/// let frame = alice.seal_to_vec(b"", b"hi")?;
/// assert_eq!(epochs.at(0).open_to_vec(b"", &frame)?.1, b"hi");
///
/// // After the next commit the sender moves on, and only forward.
/// epochs.add_epoch_key(15, 64, BaseKey::new(&[15; 16])?, 10)?;
/// alice.enter_epoch(&epochs)?;
/// assert_eq!((alice.epoch(), alice.kid()), (Some(15), Some(KeyId(0x3f))));
/// assert_eq!(alice.enter_epoch(&epochs), Err(Error::StaleKey));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub struct MlsSender {
    sender_index: u64,
    context: u64,
    epoch: Option<u64>,
    sender: Option<Sender>,
}

impl MlsSender {
    /// A sender for the member at `sender_index` using `context` (0 gives
    /// the shortest KIDs). It has no key until [`Self::enter_epoch`].
    #[must_use]
    pub const fn new(sender_index: u64, context: u64) -> Self {
        Self {
            sender_index,
            context,
            epoch: None,
            sender: None,
        }
    }

    /// Moves to the newest epoch of `epochs`: a new KID and key, the
    /// counter back at 0. The previous epoch's key is zeroized.
    ///
    /// # Errors
    /// - [`Error::NoEpoch`] if `epochs` holds no epoch.
    /// - [`Error::StaleKey`] if that epoch is not newer than this sender's.
    /// - [`Error::InvalidParameter`] if the member index or context does
    ///   not fit the epoch's KID layout, or is outside the roster
    ///   ([`EpochManager::with_contexts`]).
    pub fn enter_epoch<const EPOCHS: usize, const KEYS: usize, const W: usize>(
        &mut self,
        epochs: &EpochManager<EPOCHS, KEYS, W>,
    ) -> Result<(), Error> {
        let newest = epochs.newest_entry().ok_or(Error::NoEpoch)?;
        if self.epoch.is_some_and(|e| newest.epoch <= e) {
            return Err(Error::StaleKey);
        }
        let kid = newest
            .layout
            .kid(self.context, self.sender_index, newest.epoch)?;
        // Every receiver with the roster would refuse this KID unread.
        let fields = newest.layout.fields(kid);
        if epochs.outside_roster(newest, fields) {
            return Err(Error::InvalidParameter);
        }
        self.sender = Some(Sender::from_frame_key(FrameKey::from_secret(
            epochs.suite(),
            kid,
            &newest.secret,
        )));
        self.epoch = Some(newest.epoch);
        Ok(())
    }

    /// The member index.
    #[must_use]
    pub const fn sender_index(&self) -> u64 {
        self.sender_index
    }

    /// The context value.
    #[must_use]
    pub const fn context(&self) -> u64 {
        self.context
    }

    /// The epoch frames are sent under.
    #[must_use]
    pub const fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// The KID frames carry now.
    #[must_use]
    pub fn kid(&self) -> Option<KeyId> {
        self.sender.as_ref().map(Sender::kid)
    }

    /// The counter of the next frame.
    #[must_use]
    pub fn next_counter(&self) -> Option<Counter> {
        self.sender.as_ref().and_then(Sender::next_counter)
    }

    /// The exact length of the next frame for `plaintext_len` bytes, or
    /// `None` before the first epoch.
    #[must_use]
    pub fn next_ciphertext_len(&self, plaintext_len: usize) -> Option<usize> {
        self.sender
            .as_ref()
            .map(|s| s.next_ciphertext_len(plaintext_len))
    }
}

/// # Errors
/// [`Error::NoEpoch`] before the first [`MlsSender::enter_epoch`].
impl Seal for MlsSender {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        self.sender.as_mut().ok_or(Error::NoEpoch)
    }
}

impl fmt::Debug for MlsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlsSender")
            .field("sender_index", &self.sender_index)
            .field("context", &self.context)
            .field("epoch", &self.epoch)
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_bits_follow_the_group_size() {
        assert_eq!(
            MlsKidLayout::sender_bits_for(0),
            Err(Error::InvalidParameter)
        );
        assert_eq!(MlsKidLayout::sender_bits_for(1), Ok(0));
        assert_eq!(MlsKidLayout::sender_bits_for(2), Ok(1));
        assert_eq!(MlsKidLayout::sender_bits_for(3), Ok(2));
        assert_eq!(MlsKidLayout::sender_bits_for(4), Ok(2));
        assert_eq!(MlsKidLayout::sender_bits_for(64), Ok(6));
        assert_eq!(MlsKidLayout::sender_bits_for(65), Ok(7));
        assert_eq!(MlsKidLayout::sender_bits_for(u64::MAX), Ok(64));
    }

    #[test]
    fn layouts_that_overflow_64_bits_are_refused() {
        assert_eq!(MlsKidLayout::new(0, 6), Err(Error::InvalidParameter));
        assert_eq!(MlsKidLayout::new(60, 5), Err(Error::InvalidParameter));
        let full = MlsKidLayout::new(32, 32).expect("64 bits");
        assert_eq!(full.context_bits(), 0);
        assert_eq!(
            full.kid(0, 0xffff_ffff, 7),
            Ok(KeyId(0xffff_ffff_0000_0007))
        );
        assert_eq!(full.kid(1, 0, 0), Err(Error::InvalidParameter));
        let only_epoch = MlsKidLayout::new(64, 0).expect("64 bits");
        assert_eq!(only_epoch.kid(0, 0, u64::MAX), Ok(KeyId(u64::MAX)));
    }

    #[test]
    fn fields_invert_kid() {
        let layout = MlsKidLayout::new(4, 6).expect("layout");
        let kid = layout.kid(3, 20, 0x1e).expect("fits");
        assert_eq!(
            layout.fields(kid),
            MlsKidFields {
                context: 3,
                sender_index: 20,
                epoch_bits: 0xe
            }
        );
        assert_eq!(layout.kid(0, 64, 0), Err(Error::InvalidParameter));
    }
}
