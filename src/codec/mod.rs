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
//! | H.264 / H.265 | start codes; non-VCL NAL units (SPS, PPS, VPS, SEI, AUD, …); the NAL header and first slice header fields of each slice | the rest of each slice |
//! | AV1 | OBU headers and sizes; temporal delimiter and padding OBUs | OBU payloads |
//!
//! **VP9 keeps nothing clear** because its RTP payload descriptor (RFC 9628
//! §4.2: picture ID, layer indices, the inter-picture-predicted flag) is
//! built by the packetizer from the encoder's codec-specific info, not read
//! from the bitstream, and the uncompressed header that would tell a
//! keyframe is bit-packed behind a profile-dependent layout; clearing part
//! of it would leak without helping anyone on the path.
//!
//! **H.264 / H.265 slices** keep the fields an RTP depacketizer reads
//! clear: H.264 `first_mb_in_slice`, `slice_type`, `pic_parameter_set_id`
//! (§7.3.3; WebRTC checks the PPS of keyframes from it); H.265
//! `first_slice_segment_in_pic_flag`, `no_output_of_prior_pics_flag` (IRAP)
//! and `slice_pic_parameter_set_id` (§7.3.6.1). H.264 SVC/MVC slices (types
//! 20, 21) keep their 4 header bytes clear. Access unit delimiters and
//! filler data are left as they are and *not* authenticated, because RTP
//! packetizers drop them; likewise AV1 temporal delimiters and padding OBUs
//! (AV1 RTP payload format §5).
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
//! H.264     | 00 00 00 01 SPS | 00 00 01 PPS | 00 00 01 5-hdr | esc(H E T) |
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
//! the size of the SPS/PPS/SEI. Changing any authenticated clear byte, or
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
//! # Buffers
//!
//! Nothing allocates except the `*_to_vec` helpers. Size output buffers with
//! [`max_protected_len`]; in-place calls need [`max_in_place_len`] /
//! [`max_unprotect_in_place_len`] (H.26x and AV1 need room for a copy of the
//! frame, because their pieces are gathered for the single AEAD call).
//! A failed call leaves no plaintext in an output buffer and uses no counter
//! unless the frame was encrypted.

mod annexb;
mod av1;
mod binding;
pub(crate) mod escape;
mod walk;

use core::fmt;
use core::str::FromStr;

use binding::Binding;
pub(crate) use walk::{Unit, Units};

use crate::error::Error;
pub use crate::frame::Layout;
use crate::frame::{Opened, Sealed};
use crate::header::Header;
use crate::roles::{Open, Seal};
use crate::sender::Sender;
use crate::suite::CipherSuite;

pub(crate) use annexb::Nal;
pub(crate) use av1::{OBU_SEQUENCE_HEADER, layer_ids};
pub(crate) use walk::vp8_clear_len;

/// The media format of a frame, which decides its clear bytes.
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

    /// The byte that starts the binding description.
    const fn id(self) -> u8 {
        match self {
            Self::Opus { clear_toc: true } => 1,
            Self::Opus { clear_toc: false } => 2,
            Self::Vp8 => 3,
            Self::Vp9 => 4,
            Self::H264 => 5,
            Self::H265 => 6,
            Self::Av1 => 7,
            Self::Unknown => 0,
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

/// What to do with a frame that has no codec-aware rule: an unknown codec,
/// or a frame that does not parse as its codec.
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
/// `protected_len`-byte frame: the frame itself, twice for H.26x and AV1.
#[must_use]
pub const fn max_unprotect_in_place_len(codec: Codec, protected_len: usize) -> usize {
    if codec.is_multi_unit() {
        protected_len.saturating_mul(2)
    } else {
        protected_len
    }
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
/// fallback was used.
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

/// Facts about a frame gathered before anything is written.
struct Plan {
    /// Index of the first and last unit with an encrypted region.
    first: usize,
    last: usize,
    /// Total bytes of the encrypted regions (original frame).
    data_len: usize,
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
        let (_, tag_len) = next_frame(sender)?;
        if out.len() < bound(self.codec, tag_len, frame.len()) {
            return Err(Error::BufferTooSmall);
        }
        match self.codec_aware_seal(sender, frame, out) {
            Err(Error::MalformedFrame | Error::UnsupportedCodec)
                if self.fallback == Fallback::WholeFrame =>
            {
                let (header, _) = next_frame(sender)?;
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
        let (_, tag_len) = next_frame(sender)?;
        if frame_len > buf.len() || buf.len() < in_place_bound(self.codec, tag_len, frame_len) {
            return Err(Error::BufferTooSmall);
        }
        let result = if self.codec.is_multi_unit() {
            via_tail(buf, frame_len, |src, out| {
                self.codec_aware_seal(sender, src, out)
            })
        } else {
            self.single_seal_in_place(sender, buf, frame_len)
        };
        match result {
            Err(Error::MalformedFrame | Error::UnsupportedCodec)
                if self.fallback == Fallback::WholeFrame =>
            {
                let (header, _) = next_frame(sender)?;
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
        let (_, tag_len) = next_frame(sender)?;
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
        let result = self.codec_aware_open(receiver, protected, out);
        self.or_whole_frame(result, || {
            let out = &mut out[..protected.len()];
            out.copy_from_slice(protected);
            open_whole_frame(receiver, out)
        })
    }

    /// Restores the protected frame in `buf[..protected_len]` in place; the
    /// frame is `buf[..result.len()]`. `buf` must hold
    /// [`max_unprotect_in_place_len`] bytes.
    ///
    /// # Errors
    /// As [`Self::unprotect`].
    pub fn unprotect_in_place(
        &self,
        receiver: &mut impl Open,
        buf: &mut [u8],
        protected_len: usize,
    ) -> Result<Opened, Error> {
        if protected_len > buf.len()
            || buf.len() < max_unprotect_in_place_len(self.codec, protected_len)
        {
            return Err(Error::BufferTooSmall);
        }
        let result = if self.codec.is_multi_unit() {
            via_tail(buf, protected_len, |src, out| {
                self.codec_aware_open(receiver, src, out)
            })
        } else {
            self.single_open_in_place(receiver, buf, protected_len)
        };
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

    /// Walks `frame` once: where the encrypted regions are, how long, and
    /// whether the frame can be protected at all.
    fn plan(&self, frame: &[u8], header_len: usize, tag_len: usize) -> Result<Plan, Error> {
        let mut first = None;
        let mut last = 0;
        let mut data_len = 0usize;
        for (i, unit) in Units::new(self.codec, frame).enumerate() {
            let unit = unit?;
            if unit.protected {
                first.get_or_insert(i);
                last = i;
                data_len += unit.end - unit.clear_end;
            }
        }
        let first = first.ok_or(Error::MalformedFrame)?;
        let plan = Plan {
            first,
            last,
            data_len,
        };
        if self.codec == Codec::Av1 {
            // The size fields that grow must restore to their exact width.
            for (i, unit) in Units::new(self.codec, frame).enumerate() {
                let unit = unit?;
                if let (true, Some((_, width))) = (unit.protected, unit.size_field) {
                    let old = (unit.end - unit.clear_end) as u64;
                    let new = old + piece_extra(&plan, i, header_len, tag_len) as u64;
                    if new > u64::from(u32::MAX)
                        || av1::restored_width(av1::grown_width(width, new), new, old) != width
                    {
                        return Err(Error::MalformedFrame);
                    }
                }
            }
        }
        Ok(plan)
    }

    /// The codec-aware sender, from `frame` into `out` (which is at least
    /// [`max_protected_len`] long).
    fn codec_aware_seal(
        &self,
        sender: &mut impl Seal,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<Sealed, Error> {
        if self.codec == Codec::Unknown {
            return Err(Error::UnsupportedCodec);
        }
        let (header, t) = next_frame(sender)?;
        let h = header.encoded_len();
        let plan = self.plan(frame, h, t)?;
        let cap = out.len();
        let ct_len = h + plan.data_len + t;
        let ct_start = cap.checked_sub(ct_len).ok_or(Error::BufferTooSmall)?;

        // Gather the encrypted regions behind room for the header, and bind
        // the structure.
        let mut binding = Binding::new(self.codec.id());
        let mut at = ct_start + h;
        for (i, unit) in Units::new(self.codec, frame).enumerate() {
            let unit = unit?;
            let region = unit.region();
            let piece = if unit.protected {
                region.len() + piece_extra(&plan, i, h, t)
            } else {
                0
            };
            if let Some(clear) = unit.bound_bytes(frame) {
                binding.unit(clear, piece);
            }
            if unit.protected {
                out[at..at + region.len()].copy_from_slice(&frame[region.clone()]);
                at += region.len();
            }
        }
        sender.seal_in_place(binding.finish(), out, ct_start + h..cap - t)?;

        // Lay the frame out from the start: clear bytes from `frame`, pieces
        // from the ciphertext, which is always ahead of the write position.
        let mut w = 0;
        let mut c = ct_start;
        for (i, unit) in Units::new(self.codec, frame).enumerate() {
            let unit = unit?;
            let piece = unit.end - unit.clear_end + piece_extra(&plan, i, h, t);
            w = write_clear(frame, &unit, out, w, c, unit.protected.then_some(piece))?;
            if !unit.protected {
                continue;
            }
            if unit.escaped {
                let clear = &frame[unit.start..unit.clear_end];
                w += escape::escape_within(
                    out,
                    c,
                    piece,
                    w,
                    escape::trailing_zeros(clear),
                    clear.last().copied(),
                )?;
            } else {
                if w > c {
                    return Err(Error::BufferTooSmall);
                }
                out.copy_within(c..c + piece, w);
                w += piece;
            }
            c += piece;
        }
        Ok(Sealed::new(header, 0..w, Layout::CodecAware))
    }

    /// The codec-aware receiver, from `protected` into `out` (at least as
    /// long).
    fn codec_aware_open(
        &self,
        receiver: &mut impl Open,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<Opened, Error> {
        if self.codec == Codec::Unknown {
            return Err(Error::UnsupportedCodec);
        }
        // First walk: validate, and size the gathered ciphertext.
        let mut first = None;
        let mut last = 0;
        let mut ct_len = 0usize;
        for (i, unit) in Units::new(self.codec, protected).enumerate() {
            let unit = unit?;
            if unit.protected {
                first.get_or_insert(i);
                last = i;
                ct_len += piece_len(protected, &unit)?;
            }
        }
        let first = first.ok_or(Error::MalformedFrame)?;
        let start = out.len().checked_sub(ct_len).ok_or(Error::BufferTooSmall)?;

        // Second walk: gather the unescaped pieces and bind the structure.
        let mut binding = Binding::new(self.codec.id());
        let mut at = start;
        for unit in Units::new(self.codec, protected) {
            let unit = unit?;
            // The pieces fill `out[start..]` exactly (`ct_len` is their sum).
            let piece = if unit.protected {
                read_piece(protected, &unit, &mut out[at..start + ct_len])?
            } else {
                0
            };
            at += piece;
            if let Some(clear) = unit.bound_bytes(protected) {
                binding.unit(clear, piece);
            }
        }
        let done = receiver.open_in_place(binding.finish(), &mut out[start..])?;
        let h = done.plaintext().start;
        let t = ct_len - done.plaintext().end;

        // Third walk: lay the frame out from the start.
        let plan = Plan {
            first,
            last,
            data_len: 0,
        };
        let mut w = 0;
        let mut p = start + h;
        for (i, unit) in Units::new(self.codec, protected).enumerate() {
            let unit = unit?;
            let data = if unit.protected {
                piece_len(protected, &unit)?
                    .checked_sub(piece_extra(&plan, i, h, t))
                    .ok_or(Error::MalformedFrame)?
            } else {
                0
            };
            w = restore_clear(protected, &unit, out, w, p, data)?;
            if unit.protected {
                if w > p {
                    return Err(Error::BufferTooSmall);
                }
                out.copy_within(p..p + data, w);
                w += data;
                p += data;
            }
        }
        Ok(Opened::new(done.header(), 0..w, Layout::CodecAware))
    }

    /// Single-unit codecs in place: shift the encrypted part right by the
    /// header length and encrypt it there.
    fn single_seal_in_place(
        &self,
        sender: &mut impl Seal,
        buf: &mut [u8],
        frame_len: usize,
    ) -> Result<Sealed, Error> {
        if self.codec == Codec::Unknown {
            return Err(Error::UnsupportedCodec);
        }
        let (header, t) = next_frame(sender)?;
        let h = header.encoded_len();
        let frame = &buf[..frame_len];
        let unit = walk::next_unit(self.codec, frame, 0)?.ok_or(Error::MalformedFrame)?;
        let clear = unit.clear_end;
        let mut binding = Binding::new(self.codec.id());
        binding.unit(&frame[..clear], frame_len - clear + h + t);
        buf.copy_within(clear..frame_len, clear + h);
        let sealed = sender.seal_in_place(binding.finish(), buf, clear + h..frame_len + h)?;
        Ok(Sealed::new(
            header,
            0..sealed.frame().end,
            Layout::CodecAware,
        ))
    }

    /// Single-unit codecs in place: decrypt after the clear prefix, then
    /// move the plaintext back over the header.
    fn single_open_in_place(
        &self,
        receiver: &mut impl Open,
        buf: &mut [u8],
        protected_len: usize,
    ) -> Result<Opened, Error> {
        if self.codec == Codec::Unknown {
            return Err(Error::UnsupportedCodec);
        }
        let frame = &buf[..protected_len];
        let unit = walk::next_unit(self.codec, frame, 0)?.ok_or(Error::MalformedFrame)?;
        let clear = unit.clear_end;
        let mut binding = Binding::new(self.codec.id());
        binding.unit(&frame[..clear], protected_len - clear);
        let done = receiver.open_in_place(binding.finish(), &mut buf[clear..protected_len])?;
        let plaintext = done.plaintext();
        buf.copy_within(clear + plaintext.start..clear + plaintext.end, clear);
        Ok(Opened::new(
            done.header(),
            0..clear + plaintext.len(),
            Layout::CodecAware,
        ))
    }
}

/// Runs a codec-aware step in place: moves the `len`-byte input in front of
/// `buf` to its tail and lets `step` write from there to the front. On
/// error the input is moved back, so the caller's buffer is as it was.
fn via_tail<T>(
    buf: &mut [u8],
    len: usize,
    step: impl FnOnce(&[u8], &mut [u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let split = buf.len() - len;
    buf.copy_within(..len, split);
    let (out, src) = buf.split_at_mut(split);
    let result = step(src, out);
    if result.is_err() {
        buf.copy_within(split.., 0);
    }
    result
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

/// The header the sealer's next frame will carry, and its tag length.
fn next_frame(sealer: &mut impl Seal) -> Result<(Header, usize), Error> {
    let sender = sealer.current_sender()?;
    Ok((Sender::next_header(sender)?, sender.suite().tag_len()))
}

/// The units of `frame` (for [`crate::sfu`]).
pub(crate) fn units(codec: Codec, frame: &[u8]) -> Units<'_> {
    Units::new(codec, frame)
}

/// The unescaped length of a protected unit's piece; its first bytes (up to
/// `head.len()`) are copied to `head`.
pub(crate) fn read_piece(frame: &[u8], unit: &Unit, head: &mut [u8]) -> Result<usize, Error> {
    let region = &frame[unit.region()];
    if unit.escaped {
        let clear = &frame[unit.start..unit.clear_end];
        let mut k = 0;
        escape::unescape(
            region,
            escape::trailing_zeros(clear),
            clear.last().copied(),
            |b| {
                if let Some(slot) = head.get_mut(k) {
                    *slot = b;
                }
                k += 1;
            },
        )
    } else {
        let n = region.len().min(head.len());
        head[..n].copy_from_slice(&region[..n]);
        Ok(region.len())
    }
}

/// Bytes of SFrame header and tag that unit `i`'s piece carries.
const fn piece_extra(plan: &Plan, i: usize, header_len: usize, tag_len: usize) -> usize {
    let mut extra = 0;
    if i == plan.first {
        extra += header_len;
    }
    if i == plan.last {
        extra += tag_len;
    }
    extra
}

/// The unescaped length of a protected unit's piece.
fn piece_len(frame: &[u8], unit: &Unit) -> Result<usize, Error> {
    read_piece(frame, unit, &mut [])
}

/// Writes `bytes` and then, if given, an AV1 size field `(value, width)` to
/// `out[w..]`, staying behind `limit`; returns where it ended.
fn put_clear(
    bytes: &[u8],
    size: Option<(u64, usize)>,
    out: &mut [u8],
    w: usize,
    limit: usize,
) -> Result<usize, Error> {
    let end = w + bytes.len() + size.map_or(0, |(_, width)| width);
    if end > limit {
        return Err(Error::BufferTooSmall);
    }
    out[w..w + bytes.len()].copy_from_slice(bytes);
    if let Some((value, width)) = size {
        av1::write_leb128(value, width, &mut out[w + bytes.len()..])?;
    }
    Ok(end)
}

/// Copies a unit's clear bytes to `out[w..]` (which must stay behind
/// `limit`), rewriting an AV1 size field for a piece of `piece` bytes.
fn write_clear(
    frame: &[u8],
    unit: &Unit,
    out: &mut [u8],
    w: usize,
    limit: usize,
    piece: Option<usize>,
) -> Result<usize, Error> {
    let (copy_end, size) = match (unit.size_field, piece) {
        (Some((at, width)), Some(piece)) => {
            let piece = piece as u64;
            (at, Some((piece, av1::grown_width(width, piece))))
        }
        _ => (unit.clear_end, None),
    };
    put_clear(&frame[unit.start..copy_end], size, out, w, limit)
}

/// Copies a protected unit's clear bytes back to `out[w..]`, restoring an
/// AV1 size field for `data` bytes of payload.
fn restore_clear(
    frame: &[u8],
    unit: &Unit,
    out: &mut [u8],
    w: usize,
    limit: usize,
    data: usize,
) -> Result<usize, Error> {
    let (copy_end, size) = match (unit.size_field, unit.protected) {
        (Some((at, width)), true) => {
            let received = (unit.end - unit.clear_end) as u64;
            let original = data as u64;
            (
                at,
                Some((original, av1::restored_width(width, received, original))),
            )
        }
        _ => (unit.clear_end, None),
    };
    put_clear(&frame[unit.start..copy_end], size, out, w, limit)
}
