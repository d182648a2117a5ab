//! The two roles every key holder plays: whatever seals frames ([`Seal`])
//! and whatever opens them ([`Open`]). Codec-aware protection, RTP, the C
//! API and the CLI take these traits, never a concrete key holder.
//!
//! Each trait has one required method; the three doors (into a caller
//! slice, in place in one buffer, into a `Vec`) are provided methods written
//! once here. Key holders that need the time (key expiry, delayed key
//! activation) implement [`OpenAt`] / [`SealAt`] and are used through
//! `holder.at(now_ms)`, which is an [`Open`] / [`Seal`].
//!
//! ```
//! use framecrypt::prelude::*;
//! use framecrypt::{BaseKey, CipherSuite, RatchetBits, RatchetingReceiver, RatchetingSender};
//!
//! let suite = CipherSuite::Aes128GcmSha256_128;
//! let bits = RatchetBits::new(8)?;
//! let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
//! let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
//! receiver.install_share(sender.share(), 0)?;
//!
//! let mut wire = [0u8; 64];
//! let sealed = sender.seal(b"", b"frame", &mut wire)?;
//! let wire = &wire[sealed.frame()];
//! let now_ms = 20;
//! let mut out = [0u8; 64];
//! let opened = receiver.at(now_ms).open(b"", wire, &mut out)?;
//! assert_eq!(&out[opened.plaintext()], b"frame");
//! assert_eq!(opened.header().kid(), sender.kid());
//! # Ok::<(), framecrypt::Error>(())
//! ```

use core::fmt;
use core::ops::Range;

use crate::error::Error;
use crate::frame::{FrameKey, Opened, Sealed};
use crate::header::Header;
use crate::sender::Sender;

/// Whatever seals frames: every sender kind.
///
/// The one required method hands out the [`Sender`] whose key and counter
/// the next frame uses; the doors are provided. The trait is open: the
/// counter, and with it nonce uniqueness (RFC 9605 §4.4.3), lives inside
/// [`Sender`], which an implementation can only lend, not forge, so an
/// outside key holder (say, one that picks a sender per stream) cannot
/// break it. What no type can check is that two senders never share a key
/// and KID: see [`Sender`].
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, Header, KeyId, Sender};
///
/// /// A sender per stream, chosen by the application.
/// struct Streams {
///     video: Sender,
///     audio: Sender,
///     audio_next: bool,
/// }
///
/// impl Seal for Streams {
///     fn current_sender(&mut self) -> Result<&mut Sender, Error> {
///         Ok(if self.audio_next { &mut self.audio } else { &mut self.video })
///     }
/// }
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut streams = Streams {
///     video: Sender::new(suite, KeyId(1), BaseKey::new(&[1; 16])?),
///     audio: Sender::new(suite, KeyId(2), BaseKey::new(&[2; 16])?),
///     audio_next: true,
/// };
/// let mut wire = [0u8; 64];
/// let sealed = streams.seal(b"", b"opus", &mut wire)?;
/// assert_eq!(Header::parse(&wire[sealed.frame()])?.kid(), KeyId(2)); // the audio sender
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub trait Seal {
    /// The sender the next frame is sealed with.
    ///
    /// # Errors
    /// When no key is available yet, e.g. [`Error::NoEpoch`] for an MLS
    /// sender before its first epoch.
    fn current_sender(&mut self) -> Result<&mut Sender, Error>;

    /// The header the next frame will carry.
    ///
    /// # Errors
    /// As [`Self::current_sender`]; [`Error::CounterExhausted`] once the
    /// sender's counters are used up.
    fn next_header(&mut self) -> Result<Header, Error> {
        // The inherent method, named in full: `.next_header()` on a
        // `&mut Sender` would pick this trait method again.
        Sender::next_header(self.current_sender()?)
    }

    /// The exact length of the next frame for a `plaintext_len`-byte
    /// plaintext.
    ///
    /// # Errors
    /// As [`Self::next_header`].
    fn next_frame_len(&mut self, plaintext_len: usize) -> Result<usize, Error> {
        let sender = self.current_sender()?;
        Sender::next_header(sender)?;
        Ok(sender.next_ciphertext_len(plaintext_len))
    }

    /// Seals `plaintext` into `out` as a complete SFrame frame (header,
    /// ciphertext, tag) at `out[result.frame()]`, which starts at 0.
    ///
    /// `metadata` is authenticated but not sent (RFC 9605 §4.4.3); the
    /// receiver must supply the same bytes. It may be empty.
    ///
    /// # Errors
    /// - As [`Self::current_sender`].
    /// - [`Error::BufferTooSmall`] if `out` is shorter than
    ///   [`Self::next_frame_len`]; no counter is used.
    /// - [`Error::CounterExhausted`] once every counter value has been used.
    /// - [`Error::MetadataTooLong`] only in builds without `alloc`, see
    ///   [`crate::INLINE_AAD_CAPACITY`]; no counter is used.
    fn seal(&mut self, metadata: &[u8], plaintext: &[u8], out: &mut [u8]) -> Result<Sealed, Error> {
        self.current_sender()?.seal_into(metadata, plaintext, out)
    }

    /// Seals `buf[plaintext]` in place with no copy of the payload: the
    /// header goes into the bytes just before `plaintext.start`, the tag
    /// into the bytes just after `plaintext.end`; the frame is
    /// `buf[result.frame()]`.
    ///
    /// Reserve [`Header::MAX_LEN`] bytes of headroom and the suite's tag
    /// length of tailroom (together at most [`crate::max_overhead`]).
    ///
    /// # Errors
    /// As [`Self::seal`]; [`Error::BufferTooSmall`] when the headroom,
    /// tailroom or range do not fit `buf`.
    fn seal_in_place(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Sealed, Error> {
        self.current_sender()?.seal_within(metadata, buf, plaintext)
    }

    /// Seals the plaintext `buf[head] || tail` as one frame, `buf[head]` in
    /// place and `tail` read where it is: the header goes into the bytes
    /// just before `head.start`, the tail's ciphertext right after
    /// `head.end`, then the tag; the frame is `buf[result.frame()]`. The
    /// frame is the one [`Self::seal_in_place`] makes after `tail` is
    /// copied to `head.end`; with AWS-LC's AES-GCM that copy is not made
    /// (the codec layer seals a frame's last piece straight from the
    /// frame this way).
    ///
    /// ```
    /// use framecrypt::prelude::*;
    /// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
    ///
    /// let suite = CipherSuite::Aes128GcmSha256_128;
    /// let (mut sender, share) = Sender::with_share(suite, KeyId(5), BaseKey::new(&[5; 16])?);
    /// let mut buf = [0u8; 64];
    /// buf[17..22].copy_from_slice(b"hello"); // headroom: Header::MAX_LEN
    /// let sealed = sender.seal_in_place_with_tail(b"", &mut buf, 17..22, b", world")?;
    ///
    /// let mut receiver = Receiver::<FixedKeyStore<1>>::new();
    /// receiver.add_share(share)?;
    /// let mut out = [0u8; 64];
    /// let opened = receiver.open(b"", &buf[sealed.frame()], &mut out)?;
    /// assert_eq!(&out[opened.plaintext()], b"hello, world");
    /// # Ok::<(), framecrypt::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Self::seal_in_place`]; the tail's ciphertext and the tag must
    /// fit after `head.end`.
    fn seal_in_place_with_tail(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        head: Range<usize>,
        tail: &[u8],
    ) -> Result<Sealed, Error> {
        self.current_sender()?
            .seal_within_with_tail(metadata, buf, head, tail)
    }

    /// Seals `plaintext` into a new vector holding exactly the frame.
    ///
    /// # Errors
    /// As [`Self::seal`], without [`Error::BufferTooSmall`].
    #[cfg(feature = "alloc")]
    fn seal_to_vec(
        &mut self,
        metadata: &[u8],
        plaintext: &[u8],
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let sender = self.current_sender()?;
        let mut out = alloc::vec![0; sender.next_ciphertext_len(plaintext.len())];
        let sealed = sender.seal_into(metadata, plaintext, &mut out)?;
        out.truncate(sealed.frame().end);
        Ok(out)
    }
}

/// Whatever opens frames: every receiver kind.
///
/// The one required method opens a [`Ciphertext`] (a frame to decrypt into
/// a slice or in place); the doors are provided. The trait is open: an
/// implementation can only route a frame to receivers that decrypt it, so
/// it cannot weaken what they check (authentication before any plaintext
/// is released, replay windows, ratchet bounds).
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, Ciphertext, CipherSuite, Error, FixedKeyStore, KeyId, Opened, Receiver, Sender};
///
/// /// Refuses every frame whose KID is not the one this track expects.
/// struct Track {
///     kid: KeyId,
///     keys: Receiver<FixedKeyStore<4>>,
/// }
///
/// impl Open for Track {
///     fn open_frame(&mut self, metadata: &[u8], frame: Ciphertext<'_>) -> Result<Opened, Error> {
///         if frame.header()?.kid() != self.kid {
///             return Err(Error::UnknownKeyId(frame.header()?.kid()));
///         }
///         self.keys.open_frame(metadata, frame)
///     }
/// }
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(3), BaseKey::new(&[3; 16])?);
/// let mut track = Track { kid: KeyId(3), keys: Receiver::new() };
/// track.keys.add_share(share)?;
/// let mut wire = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut wire)?;
/// let wire = &wire[sealed.frame()];
/// let mut out = [0u8; 64];
/// let opened = track.open(b"", wire, &mut out)?;
/// assert_eq!(&out[opened.plaintext()], b"frame");
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub trait Open {
    /// Opens `frame` (see [`Self::open`] and [`Self::open_in_place`] for
    /// what each kind leaves where).
    ///
    /// # Errors
    /// As [`Self::open`].
    fn open_frame(&mut self, metadata: &[u8], frame: Ciphertext<'_>) -> Result<Opened, Error>;

    /// Decrypts the SFrame frame `frame` into `out`; the plaintext is
    /// `out[result.plaintext()]`. `metadata` must be the bytes the sender
    /// authenticated.
    ///
    /// On any error nothing is released and the receiver is unchanged:
    /// `out` holds no plaintext, and no replay window, ratchet step or key
    /// cache has moved.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`], [`Error::UnknownKeyId`],
    /// [`Error::FrameTooShort`], [`Error::BufferTooSmall`] (if `out` is
    /// shorter than the payload), [`Error::Replayed`],
    /// [`Error::AuthenticationFailed`], [`Error::MetadataTooLong`] in
    /// builds without `alloc`, and the receiver's own errors (for example
    /// [`Error::TooFarAhead`], [`Error::KeyExpired`]).
    fn open(&mut self, metadata: &[u8], frame: &[u8], out: &mut [u8]) -> Result<Opened, Error> {
        self.open_frame(metadata, Ciphertext::Copy { frame, out })
    }

    /// Decrypts the SFrame frame that fills `buf`, in place; the plaintext
    /// is `buf[result.plaintext()]`, between the header and the tag.
    ///
    /// If the frame fails, the bytes between the header and the tag are
    /// zeroed, so no unauthenticated plaintext is left behind on any
    /// backend.
    ///
    /// # Errors
    /// As [`Self::open`], without [`Error::BufferTooSmall`].
    fn open_in_place(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Opened, Error> {
        self.open_frame(metadata, Ciphertext::InPlace(buf))
    }

    /// Decrypts `frame` into a new vector holding exactly the plaintext
    /// (`result.0.plaintext()` is `0..vec.len()`).
    ///
    /// # Errors
    /// As [`Self::open`], without [`Error::BufferTooSmall`].
    #[cfg(feature = "alloc")]
    fn open_to_vec(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
    ) -> Result<(Opened, alloc::vec::Vec<u8>), Error> {
        let mut out = alloc::vec![0; frame.len()];
        let opened = self.open(metadata, frame, &mut out)?;
        out.truncate(opened.plaintext().end);
        Ok((opened, out))
    }
}

/// A sealer that needs the time, such as a
/// [`KeyDistributor`](crate::distribute::KeyDistributor) whose new keys
/// activate after a delay. `holder.at(now_ms)` is its [`Seal`].
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, KeyId, Sender};
///
/// /// Sends under `next` from `switch_at` on.
/// struct Scheduled {
///     now: Sender,
///     next: Sender,
///     switch_at: u64,
/// }
///
/// impl SealAt for Scheduled {
///     fn current_sender_at(&mut self, now_ms: u64) -> Result<&mut Sender, Error> {
///         Ok(if now_ms < self.switch_at { &mut self.now } else { &mut self.next })
///     }
/// }
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut s = Scheduled {
///     now: Sender::new(suite, KeyId(1), BaseKey::new(&[1; 16])?),
///     next: Sender::new(suite, KeyId(2), BaseKey::new(&[2; 16])?),
///     switch_at: 100,
/// };
/// assert_eq!(s.at(99).next_header()?.kid(), KeyId(1));
/// assert_eq!(s.at(100).next_header()?.kid(), KeyId(2));
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub trait SealAt {
    /// The sender the next frame is sealed with at `now_ms` (milliseconds
    /// on the application's monotonic clock).
    ///
    /// # Errors
    /// When no key is available at `now_ms`.
    fn current_sender_at(&mut self, now_ms: u64) -> Result<&mut Sender, Error>;

    /// This holder at `now_ms`, as a [`Seal`].
    fn at(&mut self, now_ms: u64) -> At<'_, Self>
    where
        Self: Sized,
    {
        At {
            holder: self,
            now_ms,
        }
    }
}

/// An opener that needs the time: receivers that expire superseded keys
/// ([`RatchetingReceiver`](crate::RatchetingReceiver),
/// [`EpochManager`](crate::EpochManager)). `receiver.at(now_ms)` is its
/// [`Open`].
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, RatchetBits, RatchetingReceiver, RatchetingSender, Retention};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let bits = RatchetBits::new(8)?;
/// let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
/// let mut receiver = RatchetingReceiver::<4>::new(suite, bits)
///     .with_retention(Retention { max_previous: 1, max_age_ms: 1_000 })?;
/// receiver.install_share(sender.share(), 0)?;
/// let mut late = [0u8; 64];
/// let late_len = sender.seal(b"", b"late", &mut late)?.len();
/// sender.rekey(BaseKey::new(&[2; 16])?)?; // someone left: generation 1
/// receiver.install_share(sender.share(), 10)?; // generation 0 retained from t = 10
///
/// let mut out = [0u8; 64];
/// // Within the retention time the late frame still opens; after, its key is gone.
/// assert!(receiver.at(500).open(b"", &late[..late_len], &mut out).is_ok());
/// assert_eq!(receiver.at(2_000).open(b"", &late[..late_len], &mut out), Err(Error::KeyExpired));
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub trait OpenAt {
    /// Opens `frame` at `now_ms` (milliseconds on the application's
    /// monotonic clock): keys whose retention has run out by then are
    /// erased first.
    ///
    /// # Errors
    /// As [`Open::open`].
    fn open_frame_at(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        frame: Ciphertext<'_>,
    ) -> Result<Opened, Error>;

    /// This receiver at `now_ms`, as an [`Open`].
    fn at(&mut self, now_ms: u64) -> At<'_, Self>
    where
        Self: Sized,
    {
        At {
            holder: self,
            now_ms,
        }
    }
}

/// A key holder with the time of the call: what [`SealAt::at`] and
/// [`OpenAt::at`] return.
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{CipherSuite, RatchetBits, RatchetingReceiver};
///
/// let mut receiver = RatchetingReceiver::<4>::new(CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?);
/// assert_eq!(receiver.at(1_234).now_ms(), 1_234);
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct At<'h, H: ?Sized> {
    holder: &'h mut H,
    now_ms: u64,
}

impl<H: ?Sized> At<'_, H> {
    /// The time this holder is used at.
    #[must_use]
    pub const fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

impl<H: ?Sized> fmt::Debug for At<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("At")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl<H: SealAt + ?Sized> Seal for At<'_, H> {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        self.holder.current_sender_at(self.now_ms)
    }
}

impl<H: OpenAt + ?Sized> Open for At<'_, H> {
    fn open_frame(&mut self, metadata: &[u8], frame: Ciphertext<'_>) -> Result<Opened, Error> {
        self.holder.open_frame_at(self.now_ms, metadata, frame)
    }
}

impl Seal for Sender {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        Ok(self)
    }
}

/// A frame to open, and where its plaintext goes: what [`Open::open_frame`]
/// receives from the doors.
///
/// ```
/// use framecrypt::{Ciphertext, Counter, Header, KeyId};
///
/// let mut buf = [0x52, 0xaa, 0xbb]; // KID 5, CTR 2, then two bytes
/// let frame = Ciphertext::InPlace(&mut buf);
/// assert_eq!(frame.header()?, Header::new(KeyId(5), Counter(2)));
/// assert_eq!(frame.frame().len(), 3);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub enum Ciphertext<'a> {
    /// Decrypt `frame` into `out`; the plaintext starts at `out[0]`.
    Copy {
        /// The SFrame frame.
        frame: &'a [u8],
        /// Where the plaintext goes.
        out: &'a mut [u8],
    },
    /// The frame fills the buffer and is decrypted where it is.
    InPlace(&'a mut [u8]),
}

impl Ciphertext<'_> {
    /// The frame's bytes.
    #[must_use]
    pub fn frame(&self) -> &[u8] {
        match self {
            Self::Copy { frame, .. } => frame,
            Self::InPlace(buf) => buf,
        }
    }

    /// The frame's header (KID and CTR), unauthenticated until the frame
    /// opens.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`] if the header does not parse.
    pub fn header(&self) -> Result<Header, Error> {
        Ok(Header::parse(self.frame())?.header())
    }

    /// The frame's header values, checking that the frame also has room
    /// for a `tag_len`-byte tag, so that a truncated frame is reported as
    /// malformed before any key or window is consulted.
    pub(crate) fn header_with_tag(&self, tag_len: usize) -> Result<Header, Error> {
        let bytes = self.frame();
        let parsed = Header::parse(bytes)?;
        if bytes.len() - parsed.len() < tag_len {
            return Err(Error::FrameTooShort);
        }
        Ok(parsed.header())
    }

    /// As [`Self::open`], but an in-place frame that fails is left as it
    /// was (not zeroed), so that another key can be tried on it; the last
    /// try must be [`Self::open`], which zeroes a frame no key opens.
    pub(crate) fn try_open(&mut self, key: &FrameKey, metadata: &[u8]) -> Result<Opened, Error> {
        match self {
            Self::Copy { .. } => self.open(key, metadata),
            Self::InPlace(buf) => {
                let (header, header_len) = parsed_in_place(buf)?;
                key.try_open_in_place(header, header_len, metadata, buf)
            }
        }
    }

    /// Decrypts and authenticates under `key`; changes no receiver state.
    pub(crate) fn open(&mut self, key: &FrameKey, metadata: &[u8]) -> Result<Opened, Error> {
        match self {
            Self::Copy { frame, out } => {
                let parsed = Header::parse(frame)?;
                key.open_into(&parsed, metadata, frame, out)
            }
            Self::InPlace(buf) => {
                let (header, header_len) = parsed_in_place(buf)?;
                key.open_in_place(header, header_len, metadata, buf)
            }
        }
    }
}

/// The header values and header length of the frame in `buf` (parsed in a
/// scope of its own, as the header borrows the buffer the key then writes).
fn parsed_in_place(buf: &[u8]) -> Result<(Header, usize), Error> {
    let parsed = Header::parse(buf)?;
    Ok((parsed.header(), parsed.len()))
}
