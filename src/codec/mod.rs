//! Codec-aware protection: SFrame (RFC 9605) applied to an encoded video or
//! audio frame so that the bytes an RTP packetizer, a depacketizer and an SFU
//! need stay readable, while everything else is encrypted and every clear
//! byte that matters is authenticated (as SFrame metadata, RFC 9605 §4.4.3).
//!
//! # Rules
//!
//! | codec | clear | encrypted |
//! |---|---|---|
//! | Opus / audio | the TOC byte (RFC 6716 §3.1), or nothing | the rest |
//! | VP8 | 10 bytes of a keyframe, 3 of an interframe (RFC 6386 §9.1: frame tag, start code, dimensions) | the rest |
//! | VP9 | nothing | the whole frame |
//! | H.264 / H.265 | start codes; NAL unit headers; parameter sets (SPS, PPS, VPS, subset SPS); the first slice header fields of each slice | slice data, SEI, auxiliary pictures, every reserved or unspecified type (after its NAL unit header) |
//! | AV1 | OBU headers and sizes; temporal delimiter and padding OBUs | every other OBU's payload (sequence header, frame, metadata, …) |
//!
//! Each codec's module says which unit types stay clear and why, type by
//! type against its specification's table: H.264 and H.265 NAL unit types
//! in `annexb.rs`, AV1 OBU types in `av1.rs`. Only what packetizers,
//! depacketizers and SFUs must read stays clear; unknown and reserved
//! types are encrypted.
//!
//! **H.264 / H.265 slices** keep the fields an RTP depacketizer reads
//! clear: H.264 `first_mb_in_slice`, `slice_type`, `pic_parameter_set_id`
//! (§7.3.3; WebRTC checks the PPS of keyframes from it); H.265
//! `first_slice_segment_in_pic_flag`, `no_output_of_prior_pics_flag` (IRAP)
//! and `slice_pic_parameter_set_id` (§7.3.6.1). SVC/MVC NAL units keep
//! their header extension clear. Access unit delimiters and filler data are
//! left as they are and *not* authenticated, because RTP packetizers drop
//! them; likewise AV1 temporal delimiters and padding OBUs (AV1 RTP payload
//! format §5).
//!
//! # Protected frame layout
//!
//! The clear bytes stay in place; the SFrame header goes right before the
//! first encrypted byte and the tag right after the last, so the encrypted
//! pieces read in order are exactly a standard SFrame ciphertext
//! `header || ciphertext || tag` (RFC 9605 §4.2) of the concatenated
//! encrypted bytes:
//!
//! ```text
//! original   | C0 |   E0   | C1 |  E1  | … | Cn |    En   |
//! protected  | C0 | H | E0'| C1 | E1'  | … | Cn | En' | T |
//!                 '--------- SFrame ciphertext ----------'
//!                   (H.26x: each piece escaped, see below)
//!
//! VP8 key   | tag+start code+size (10) | H | encrypted frame | T |
//! VP8 inter | frame tag (3)            | H | encrypted frame | T |
//! Opus      | TOC (1)                  | H | encrypted frame | T |
//! VP9       | H | encrypted frame | T |          (a plain SFrame frame)
//! H.264     | 00 00 00 01 SPS | 00 00 01 PPS | 00 00 01 6 | esc(H E) | 00 00 01 5-hdr | esc(E T) |
//! AV1       | TD | SH hdr size' | H E | frame hdr size | E T |
//! ```
//!
//! An SFU finds the header by skipping the codec's clear prefix, which it
//! can read (see [`crate::sfu`]). For H.26x each protected piece gets
//! start-code emulation prevention after encryption (counting the zeros that
//! end the clear prefix, and never ending in a zero), so the protected
//! stream has start codes exactly where the original had them. For AV1 the
//! size fields of the first and last encrypted OBUs grow by the header and
//! tag lengths (keeping their width where possible, so a frame restores
//! byte for byte).
//!
//! # What is authenticated
//!
//! The metadata is a description of the frame's structure — each unit's
//! authenticated clear bytes and the length of its encrypted piece — bound
//! verbatim when short and as a SHA-256 digest when long, so it never needs
//! more than 129 bytes and the AES-GCM suites stay allocation-free whatever
//! the size of the SPS/PPS. Changing any authenticated clear byte, or
//! moving ciphertext bytes from one piece to another, fails authentication.
//! Not authenticated, because RTP packetization legitimately rewrites them:
//! start code lengths and zero bytes between NAL units, H.26x AUD and filler
//! NAL units, AV1 size field encodings, `obu_has_size_field`, temporal
//! delimiters and padding OBUs. None of them carries media.
//!
//! # Unknown codecs and frames that do not parse
//!
//! [`Fallback`] is an explicit choice: [`Fallback::Reject`] returns
//! [`Error::UnsupportedCodec`] / [`Error::MalformedFrame`];
//! [`Fallback::WholeFrame`] protects such a frame whole, as a plain SFrame
//! frame with empty metadata. A receiver with `WholeFrame` that cannot read
//! a frame codec-aware (structure or authentication) tries it as a whole
//! frame once; that costs a second decryption for a forged frame and doubles
//! a forger's chance per frame (2⁻³¹ instead of 2⁻³² with the 32-bit-tag
//! suites), so prefer `Reject` for known codecs.
//!
//! # Buffers, copies, and failed calls
//!
//! Nothing allocates except the `*_to_vec` helpers. Size output buffers with
//! [`max_protected_len`]; in-place calls need [`max_in_place_len`] /
//! [`max_unprotect_in_place_len`].
//!
//! What each door costs beyond the AEAD itself:
//!
//! | frame | `protect` / `unprotect` (slice) | `protect_in_place` / `unprotect_in_place` |
//! |---|---|---|
//! | one encrypted piece (Opus, VP8, VP9, AV1 delta frames, H.26x with one slice and no SEI) | sealed or opened straight from input to output, the clear bytes copied around; Opus, VP8, VP9 and an AV1 frame of one OBU (after a temporal delimiter or not) without walking the frame | the piece shifted by the SFrame header's length, the units after it moved along; with [`Fallback::WholeFrame`] the receiver gathers into the spare half (one copy) and copies back, to keep the frame for the second reading |
//! | several pieces (H.26x keyframes with SEI, several slices; AV1 with a sequence header) | sender: the pieces before the last copied next to it, the last sealed where it is in the frame (AWS-LC's AES-GCM; the other ciphers copy it too); receiver: one copy of the frame's encrypted bytes (AES-GCM opens one contiguous ciphertext), the largest piece placed where it ends up and the others moved into place | sender: clear bytes saved at the buffer's end, pieces moved together (the largest by the header's length); receiver, with [`Fallback::Reject`]: the smaller pieces rotated next to the largest, opened there, rotated back, and the frame laid out (the largest piece moved once, by the header's length); otherwise ([`Fallback::WholeFrame`], a piece with emulation prevention bytes inside, or rotations that would move more than half the ciphertext): gathered into the spare half and copied back (two copies) |
//! | more than 16 units | gathered at the output's end and laid out from its start: two copies | the same after moving the frame to the buffer's end: three copies |
//!
//! H.26x adds one vectorised search for `00 00` over the frame (its start
//! codes) and one over each sealed piece (escaping), and a copy of a piece
//! that needs emulation prevention bytes (about one in 4 MB of ciphertext).
//!
//! A failed call releases no plaintext and changes no state: every check
//! that can fail runs before the receiver opens the frame (which commits
//! its replay window and key state), and nothing after it fails. A refused
//! `protect` uses no counter unless the frame was encrypted, and leaves an
//! in-place frame as it was. A refused `unprotect_in_place` leaves the
//! protected frame as it was, except when the receiver refuses a frame
//! opened where it is ([`Fallback::Reject`], one piece, or several moved
//! next to each other as the table above says): its pieces are then
//! zeroed (their clear bytes as they were), as [`Open::open_in_place`]
//! zeroes a frame that fails.

mod annexb;
mod av1;
mod binding;
mod engine;
pub(crate) mod escape;
pub(crate) mod format;
mod leb128;
mod opus;
mod vp8;
mod vp9;

use core::fmt;
use core::str::FromStr;

use crate::error::Error;
pub use crate::frame::Layout;
use crate::frame::{Opened, Sealed};
use crate::header::Header;
use crate::roles::{Open, Seal};
use crate::suite::CipherSuite;

pub(crate) use engine::{piece_head, piece_length};
use format::{Format, Hints, Unit};

/// The media format of a frame, which decides its clear bytes.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, Error, KeyId, Sender, sfu};
///
/// // From a name, as in an SDP `rtpmap` or the CLI; and back.
/// assert_eq!("H264".parse::<Codec>()?, Codec::H264);
/// assert_eq!("hevc".parse::<Codec>()?, Codec::H265);
/// assert_eq!(Codec::OPUS.to_string(), "opus");
/// assert_eq!("mp3".parse::<Codec>(), Err(Error::UnsupportedCodec));
///
/// // The codec decides what stays clear: the Opus TOC byte, or nothing.
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut wire = [0u8; 64];
/// for (codec, clear) in [(Codec::OPUS, 1), (Codec::Opus { clear_toc: false }, 0)] {
///     let sealed = Protection::new(codec, Fallback::Reject).protect(&mut sender, &[0x78, 1, 2], &mut wire)?;
///     assert_eq!(sfu::inspect_codec(codec, &wire[sealed.frame()])?.clear_len(), clear);
/// }
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus (or other audio): the first byte (the Opus TOC) clear when
    /// `clear_toc`, else nothing.
    Opus {
        /// Keep the TOC byte clear (the default, see [`Codec::OPUS`]).
        clear_toc: bool,
    },
    /// VP8: 10 clear bytes for a keyframe, 3 for an interframe.
    Vp8,
    /// VP9: nothing clear.
    Vp9,
    /// H.264 in Annex B byte stream format.
    H264,
    /// H.265 in Annex B byte stream format.
    H265,
    /// AV1 as a low-overhead OBU stream (one temporal unit per frame).
    Av1,
    /// A codec without a rule: see [`Fallback`].
    Unknown,
}

impl Codec {
    /// Opus with its TOC byte clear.
    pub const OPUS: Self = Self::Opus { clear_toc: true };

    /// The short name used by [`FromStr`] and the CLI.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Opus { clear_toc: true } => "opus",
            Self::Opus { clear_toc: false } => "opus-opaque",
            Self::Vp8 => "vp8",
            Self::Vp9 => "vp9",
            Self::H264 => "h264",
            Self::H265 => "h265",
            Self::Av1 => "av1",
            Self::Unknown => "unknown",
        }
    }

    /// Whether frames are split into several units that must be gathered
    /// for encryption (H.26x and AV1).
    const fn is_multi_unit(self) -> bool {
        matches!(self, Self::H264 | Self::H265 | Self::Av1)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = Error;

    /// Parses `opus`, `opus-opaque`, `vp8`, `vp9`, `h264`, `h265`, `av1` or
    /// `unknown` (case-insensitive; `hevc` is accepted for `h265`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let all = [
            Self::OPUS,
            Self::Opus { clear_toc: false },
            Self::Vp8,
            Self::Vp9,
            Self::H264,
            Self::H265,
            Self::Av1,
            Self::Unknown,
        ];
        if s.eq_ignore_ascii_case("hevc") {
            return Ok(Self::H265);
        }
        all.into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or(Error::UnsupportedCodec)
    }
}

/// A codec's rules: the one place that maps [`Codec`] to its module.
/// Adding a codec means adding its module and a line here.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rules {
    Opus(opus::Opus),
    Vp8(vp8::Vp8),
    Vp9(vp9::Vp9),
    AnnexB(annexb::Nal),
    Av1(av1::Av1),
}

impl Rules {
    /// The rules of `codec`.
    ///
    /// # Errors
    /// [`Error::UnsupportedCodec`] for [`Codec::Unknown`].
    pub(crate) const fn of(codec: Codec) -> Result<Self, Error> {
        Ok(match codec {
            Codec::Opus { clear_toc } => Self::Opus(opus::Opus { clear_toc }),
            Codec::Vp8 => Self::Vp8(vp8::Vp8),
            Codec::Vp9 => Self::Vp9(vp9::Vp9),
            Codec::H264 => Self::AnnexB(annexb::Nal::H264),
            Codec::H265 => Self::AnnexB(annexb::Nal::H265),
            Codec::Av1 => Self::Av1(av1::Av1),
            Codec::Unknown => return Err(Error::UnsupportedCodec),
        })
    }
}

/// Forwards a [`Format`] method to the codec's module.
macro_rules! forward {
    ($self:ident, $rules:ident => $call:expr) => {
        match $self {
            Rules::Opus($rules) => $call,
            Rules::Vp8($rules) => $call,
            Rules::Vp9($rules) => $call,
            Rules::AnnexB($rules) => $call,
            Rules::Av1($rules) => $call,
        }
    };
}

impl Format for Rules {
    fn id(self) -> u8 {
        forward!(self, r => r.id())
    }

    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        forward!(self, r => r.next_unit(frame, pos))
    }

    fn single_clear(self, frame: &[u8]) -> Option<Result<usize, Error>> {
        forward!(self, r => r.single_clear(frame))
    }

    #[inline(always)]
    fn lone_unit(self, frame: &[u8]) -> Option<Unit> {
        forward!(self, r => r.lone_unit(frame))
    }

    fn unit_head(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        forward!(self, r => r.unit_head(frame, pos))
    }

    fn hints(self, frame: &[u8], unit: &Unit, hints: &mut Hints) {
        forward!(self, r => r.hints(frame, unit, hints));
    }

    fn hints_final(self, unit: &Unit) -> bool {
        forward!(self, r => r.hints_final(unit))
    }
}

/// What to do with a frame that has no codec-aware rule: an unknown codec,
/// or a frame that does not parse as its codec.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Layout, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
/// let frame = [0x50, 1, 2]; // a VP8 keyframe tag, but shorter than a keyframe header
/// let mut wire = [0u8; 64];
///
/// let strict = Protection::new(Codec::Vp8, Fallback::Reject);
/// assert_eq!(strict.protect(&mut sender, &frame, &mut wire), Err(Error::MalformedFrame));
///
/// // WholeFrame protects it as a plain SFrame frame, and the receiver reads it back.
/// let lenient = Protection::new(Codec::Vp8, Fallback::WholeFrame);
/// let sealed = lenient.protect(&mut sender, &frame, &mut wire)?;
/// assert_eq!(sealed.layout(), Layout::WholeFrame);
/// let mut out = [0u8; 64];
/// let opened = lenient.unprotect(&mut receiver, &wire[sealed.frame()], &mut out)?;
/// assert_eq!(out[opened.plaintext()], frame);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// Return an error ([`Error::UnsupportedCodec`] or
    /// [`Error::MalformedFrame`]).
    Reject,
    /// Encrypt the whole frame as a plain SFrame frame (empty metadata).
    WholeFrame,
}

/// The largest protected frame for a `frame_len`-byte frame of `codec`
/// under `suite`: the SFrame overhead ([`crate::max_overhead`]), plus for
/// H.26x the worst-case emulation prevention (half again), plus for AV1 two
/// bytes of size-field growth. Saturates at `usize::MAX`.
#[must_use]
pub const fn max_protected_len(codec: Codec, suite: CipherSuite, frame_len: usize) -> usize {
    bound(codec, suite.tag_len(), frame_len)
}

/// [`max_protected_len`] for a tag of `tag_len` bytes.
const fn bound(codec: Codec, tag_len: usize, frame_len: usize) -> usize {
    let base = frame_len
        .saturating_add(Header::MAX_LEN)
        .saturating_add(tag_len);
    match codec {
        // Each encrypted piece grows by at most half, plus a trailer byte
        // that the start code and NAL header of its unit pay for (module
        // `escape`).
        Codec::H264 | Codec::H265 => base.saturating_add(base / 2).saturating_add(1),
        Codec::Av1 => base.saturating_add(2),
        _ => base,
    }
}

/// The buffer [`Protection::protect_in_place`] needs for a `frame_len`-byte
/// frame: [`max_protected_len`], plus `frame_len` for H.26x and AV1.
#[must_use]
pub const fn max_in_place_len(codec: Codec, suite: CipherSuite, frame_len: usize) -> usize {
    in_place_bound(codec, suite.tag_len(), frame_len)
}

/// [`max_in_place_len`] for a tag of `tag_len` bytes.
const fn in_place_bound(codec: Codec, tag_len: usize, frame_len: usize) -> usize {
    let len = bound(codec, tag_len, frame_len);
    if codec.is_multi_unit() {
        len.saturating_add(frame_len)
    } else {
        len
    }
}

/// The buffer [`Protection::unprotect_in_place`] needs for a
/// `protected_len`-byte frame: twice the frame, room to gather its
/// encrypted pieces while the protected frame stays as it was. A
/// [`Fallback::Reject`] protection of Opus, VP8 or VP9 needs only the
/// frame itself.
#[must_use]
pub const fn max_unprotect_in_place_len(codec: Codec, protected_len: usize) -> usize {
    let _ = codec;
    protected_len.saturating_mul(2)
}

/// A codec rule and a fallback policy: protects frames with any [`Seal`]
/// (every sender kind) and unprotects them with any [`Open`] (every
/// receiver kind; one that needs the time as `receiver.at(now_ms)`). The
/// receiver's own rules (replay window, ratchet commit after
/// authentication) apply as for a plain frame.
///
/// Three doors, one implementation, as for the core API: into a caller
/// slice, in place, and (feature `alloc`) into a new `Vec`. The results are
/// the core's [`Sealed`] and [`Opened`], with the frame or plaintext at
/// `0..len` of the output and [`Sealed::layout`] saying whether the
/// fallback was used. What each door costs is in the module documentation.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Layout, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
///
/// // A VP8 interframe: its 3-byte frame tag stays clear for the packetizer.
/// let frame = [0x31, 0x02, 0x00, 0xaa, 0xbb, 0xcc, 0xdd];
/// let vp8 = Protection::new(Codec::Vp8, Fallback::Reject);
/// let mut protected = [0u8; 64];
/// let sealed = vp8.protect(&mut sender, &frame, &mut protected)?;
/// assert_eq!(sealed.layout(), Layout::CodecAware);
/// let protected = &protected[sealed.frame()];
/// assert_eq!(protected[..3], frame[..3]);
/// let mut restored = [0u8; 64];
/// let opened = vp8.unprotect(&mut receiver, protected, &mut restored)?;
/// assert_eq!(restored[opened.plaintext()], frame);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Protection {
    codec: Codec,
    fallback: Fallback,
}

impl Protection {
    /// `codec` with `fallback` for frames it cannot handle.
    #[must_use]
    pub const fn new(codec: Codec, fallback: Fallback) -> Self {
        Self { codec, fallback }
    }

    /// The codec.
    #[must_use]
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The fallback policy.
    #[must_use]
    pub const fn fallback(&self) -> Fallback {
        self.fallback
    }

    /// Protects `frame` into `out` and returns the protected length.
    ///
    /// # Errors
    /// - [`Error::BufferTooSmall`] if `out` is shorter than
    ///   [`max_protected_len`]; no counter is used.
    /// - [`Error::MalformedFrame`] (with [`Fallback::Reject`]) if `frame`
    ///   does not parse as the codec; [`Error::UnsupportedCodec`] for
    ///   [`Codec::Unknown`] with [`Fallback::Reject`].
    /// - [`Error::CounterExhausted`] once the sender's counters are used up.
    pub fn protect(
        &self,
        sender: &mut impl Seal,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<Sealed, Error> {
        let (header, tag_len) = engine::next_frame(sender)?;
        if out.len() < bound(self.codec, tag_len, frame.len()) {
            return Err(Error::BufferTooSmall);
        }
        let sizes = (header, tag_len);
        let result = Rules::of(self.codec)
            .and_then(|rules| engine::protect(rules, sender, frame, out, sizes));
        match result {
            Err(Error::MalformedFrame | Error::UnsupportedCodec)
                if self.fallback == Fallback::WholeFrame =>
            {
                let (header, _) = engine::next_frame(sender)?;
                let h = header.encoded_len();
                out[h..h + frame.len()].copy_from_slice(frame);
                sender.seal_in_place(&[], out, h..h + frame.len())
            }
            other => other,
        }
    }

    /// Protects the frame in `buf[..frame_len]` in place; the protected
    /// frame is `buf[..result.len()]`. `buf` must hold
    /// [`max_in_place_len`] bytes. On error the frame is left as it was.
    ///
    /// # Errors
    /// As [`Self::protect`].
    pub fn protect_in_place(
        &self,
        sender: &mut impl Seal,
        buf: &mut [u8],
        frame_len: usize,
    ) -> Result<Sealed, Error> {
        let (header, tag_len) = engine::next_frame(sender)?;
        if frame_len > buf.len() || buf.len() < in_place_bound(self.codec, tag_len, frame_len) {
            return Err(Error::BufferTooSmall);
        }
        let sizes = (header, tag_len);
        let result = Rules::of(self.codec)
            .and_then(|rules| engine::protect_in_place(rules, sender, buf, frame_len, sizes));
        match result {
            Err(Error::MalformedFrame | Error::UnsupportedCodec)
                if self.fallback == Fallback::WholeFrame =>
            {
                let (header, _) = engine::next_frame(sender)?;
                let h = header.encoded_len();
                buf.copy_within(..frame_len, h);
                let sealed = sender.seal_in_place(&[], buf, h..h + frame_len)?;
                Ok(Sealed::new(
                    header,
                    0..sealed.frame().end,
                    Layout::WholeFrame,
                ))
            }
            other => other,
        }
    }

    /// Protects `frame` into a new vector.
    ///
    /// # Errors
    /// As [`Self::protect`], without [`Error::BufferTooSmall`].
    #[cfg(feature = "alloc")]
    pub fn protect_to_vec(
        &self,
        sender: &mut impl Seal,
        frame: &[u8],
    ) -> Result<(Sealed, alloc::vec::Vec<u8>), Error> {
        let (_, tag_len) = engine::next_frame(sender)?;
        let mut out = alloc::vec![0; bound(self.codec, tag_len, frame.len())];
        let done = self.protect(sender, frame, &mut out)?;
        out.truncate(done.frame().end);
        Ok((done, out))
    }

    /// Restores the frame protected as `protected` into `out` (at least
    /// `protected.len()` bytes) and returns its length.
    ///
    /// # Errors
    /// - [`Error::MalformedFrame`] if the clear structure does not parse
    ///   (with [`Fallback::Reject`]); [`Error::UnsupportedCodec`] for
    ///   [`Codec::Unknown`] with [`Fallback::Reject`].
    /// - [`Error::BufferTooSmall`] if `out` is shorter than `protected`.
    /// - As [`crate::Open::open`]: [`Error::UnknownKeyId`],
    ///   [`Error::MalformedHeader`], [`Error::FrameTooShort`],
    ///   [`Error::AuthenticationFailed`].
    pub fn unprotect(
        &self,
        receiver: &mut impl Open,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<Opened, Error> {
        if out.len() < protected.len() {
            return Err(Error::BufferTooSmall);
        }
        let result = Rules::of(self.codec)
            .and_then(|rules| engine::unprotect(rules, receiver, protected, out));
        self.or_whole_frame(result, || {
            let out = &mut out[..protected.len()];
            out.copy_from_slice(protected);
            open_whole_frame(receiver, out)
        })
    }

    /// Restores the protected frame in `buf[..protected_len]` in place; the
    /// frame is `buf[..result.len()]`. `buf` must hold
    /// [`max_unprotect_in_place_len`] bytes (with [`Fallback::Reject`],
    /// the frame itself is enough for Opus, VP8 and VP9).
    ///
    /// # Errors
    /// As [`Self::unprotect`].
    pub fn unprotect_in_place(
        &self,
        receiver: &mut impl Open,
        buf: &mut [u8],
        protected_len: usize,
    ) -> Result<Opened, Error> {
        if protected_len > buf.len() {
            return Err(Error::BufferTooSmall);
        }
        let keep_input = self.fallback == Fallback::WholeFrame;
        let result = Rules::of(self.codec).and_then(|rules| {
            engine::unprotect_in_place(rules, receiver, buf, protected_len, keep_input)
        });
        self.or_whole_frame(result, || {
            open_whole_frame(receiver, &mut buf[..protected_len])
        })
    }

    /// Restores `protected` into a new vector.
    ///
    /// # Errors
    /// As [`Self::unprotect`], without [`Error::BufferTooSmall`].
    #[cfg(feature = "alloc")]
    pub fn unprotect_to_vec(
        &self,
        receiver: &mut impl Open,
        protected: &[u8],
    ) -> Result<(Opened, alloc::vec::Vec<u8>), Error> {
        let mut out = alloc::vec![0; protected.len()];
        let done = self.unprotect(receiver, protected, &mut out)?;
        out.truncate(done.plaintext().end);
        Ok((done, out))
    }

    /// Applies the receiver side of the fallback policy to a codec-aware
    /// result.
    fn or_whole_frame(
        &self,
        result: Result<Opened, Error>,
        whole: impl FnOnce() -> Result<Opened, Error>,
    ) -> Result<Opened, Error> {
        match result {
            Err(e) if self.fallback == Fallback::WholeFrame && e != Error::BufferTooSmall => {
                match whole() {
                    Ok(done) => Ok(done),
                    // A frame that did not even parse is best described by
                    // the whole-frame error; otherwise keep the first one.
                    Err(whole_err)
                        if matches!(e, Error::MalformedFrame | Error::UnsupportedCodec) =>
                    {
                        Err(whole_err)
                    }
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }
}

/// Opens the whole-frame fallback protection held in `buf` and moves the
/// frame to its front.
fn open_whole_frame(receiver: &mut impl Open, buf: &mut [u8]) -> Result<Opened, Error> {
    let done = receiver.open_in_place(&[], buf)?;
    let plaintext = done.plaintext();
    buf.copy_within(plaintext.clone(), 0);
    Ok(Opened::new(
        done.header(),
        0..plaintext.len(),
        Layout::WholeFrame,
    ))
}
