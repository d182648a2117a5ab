//! The SFU's view of a protected frame: what a forwarding server can learn
//! without any key (RFC 9605 §4.3 header fields, and the codec's clear
//! bytes as left by [`crate::codec`]).
//!
//! [`inspect`] reads a plain SFrame frame (header first: whole-frame
//! protection, VP9, the SFrame RTP payload format); [`inspect_codec`] reads
//! a codec-aware frame, finding the header behind the codec's clear bytes and
//! adding the hints those bytes allow. Neither allocates, and neither panics
//! on any input.

use crate::codec::{Codec, Nal, OBU_SEQUENCE_HEADER, layer_ids, vp8_clear_len};
use crate::error::Error;
use crate::header::Header;
use crate::suite::CipherSuite;

/// What the clear bytes of a codec-aware frame tell about the media.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    /// Whether the frame is a keyframe, where the clear bytes say: VP8 frame
    /// tag; H.264 IDR slice; H.265 IRAP slice; AV1 sequence header present
    /// (a heuristic: an encoder repeats the sequence header with keyframes).
    pub keyframe: Option<bool>,
    /// VP8 keyframe width in pixels (RFC 6386 §9.1, 14 bits).
    pub width: Option<u16>,
    /// VP8 keyframe height in pixels.
    pub height: Option<u16>,
    /// H.26x: the frame carries parameter sets (SPS/PPS, VPS).
    pub parameter_sets: bool,
    /// AV1: the frame carries a sequence header OBU.
    pub sequence_header: bool,
    /// H.265 `nuh_temporal_id_plus1 - 1`, or AV1 `temporal_id`, of the
    /// first slice / OBU that has one.
    pub temporal_id: Option<u8>,
    /// AV1 `spatial_id` of the first OBU with an extension header.
    pub spatial_id: Option<u8>,
    /// Opus: the TOC byte (RFC 6716 §3.1).
    pub opus_toc: Option<u8>,
}

/// A protected frame as seen without a key.
///
/// `payload.len() == clear_len + header_len + sealed_len + escape_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    header: Header,
    header_offset: usize,
    header_len: usize,
    clear_len: usize,
    sealed_len: usize,
    escape_len: usize,
    hints: Hints,
}

impl View {
    /// The SFrame header: KID and CTR.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the SFrame header starts in the payload.
    #[must_use]
    pub const fn header_offset(&self) -> usize {
        self.header_offset
    }

    /// The SFrame header length (1–17).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// Bytes left clear by the codec rule (0 for a plain SFrame frame).
    #[must_use]
    pub const fn clear_len(&self) -> usize {
        self.clear_len
    }

    /// Encrypted bytes plus the tag, after removing escaping: the size of
    /// the SFrame ciphertext without its header. Suite-independent.
    #[must_use]
    pub const fn sealed_len(&self) -> usize {
        self.sealed_len
    }

    /// H.26x emulation prevention bytes added by protection.
    #[must_use]
    pub const fn escape_len(&self) -> usize {
        self.escape_len
    }

    /// The encrypted media bytes under `suite` (the sealed bytes less its
    /// tag), or `None` if the frame is too short for that suite.
    #[must_use]
    pub const fn media_len(&self, suite: CipherSuite) -> Option<usize> {
        self.sealed_len.checked_sub(suite.tag_len())
    }

    /// The codec hints.
    #[must_use]
    pub const fn hints(&self) -> Hints {
        self.hints
    }
}

/// Reads a plain SFrame frame: the header at offset 0.
///
/// # Errors
/// [`Error::MalformedHeader`] if the header is truncated.
pub fn inspect(payload: &[u8]) -> Result<View, Error> {
    let parsed = Header::parse(payload)?;
    Ok(View {
        header: parsed.header(),
        header_offset: 0,
        header_len: parsed.len(),
        clear_len: 0,
        sealed_len: payload.len() - parsed.len(),
        escape_len: 0,
        hints: Hints::default(),
    })
}

/// Reads a frame protected codec-aware as `codec` (see
/// [`crate::codec`]); [`Codec::Unknown`] and [`Codec::Vp9`] frames start
/// with the header, as for [`inspect`].
///
/// # Errors
/// [`Error::MalformedFrame`] if the clear structure does not parse,
/// [`Error::MalformedHeader`] if the header is truncated.
pub fn inspect_codec(codec: Codec, payload: &[u8]) -> Result<View, Error> {
    match codec {
        Codec::Unknown | Codec::Vp9 => inspect(payload),
        Codec::Vp8 => {
            let clear = vp8_clear_len(payload)?;
            let mut view = after_prefix(payload, clear)?;
            view.hints = vp8_hints(payload);
            Ok(view)
        }
        Codec::Opus { clear_toc } => {
            let clear = usize::from(clear_toc);
            let mut view = after_prefix(payload, clear)?;
            if clear_toc {
                view.hints.opus_toc = payload.first().copied();
            }
            Ok(view)
        }
        _ => inspect_units(codec, payload),
    }
}

/// A single-unit frame whose header follows `clear` bytes.
fn after_prefix(payload: &[u8], clear: usize) -> Result<View, Error> {
    let rest = payload.get(clear..).ok_or(Error::MalformedFrame)?;
    let mut view = inspect(rest)?;
    view.header_offset = clear;
    view.clear_len = clear;
    Ok(view)
}

/// RFC 6386 §9.1: the frame tag, and for a keyframe the start code and the
/// 14-bit dimensions.
fn vp8_hints(payload: &[u8]) -> Hints {
    let mut hints = Hints::default();
    let Some(&tag) = payload.first() else {
        return hints;
    };
    let keyframe = tag & 0x01 == 0;
    hints.keyframe = Some(keyframe);
    if let (true, Some([0x9d, 0x01, 0x2a, w0, w1, h0, h1])) = (keyframe, payload.get(3..10)) {
        hints.width = Some(u16::from_le_bytes([*w0, *w1]) & 0x3fff);
        hints.height = Some(u16::from_le_bytes([*h0, *h1]) & 0x3fff);
    }
    hints
}

/// H.26x and AV1: walk the units, find the header in the first encrypted
/// piece, and add up the sizes.
fn inspect_units(codec: Codec, payload: &[u8]) -> Result<View, Error> {
    let mut hints = Hints::default();
    let mut first: Option<(usize, [u8; Header::MAX_LEN], usize)> = None;
    let mut clear_len = 0usize;
    let mut sealed_len = 0usize;
    let mut escaped_len = 0usize;
    let nal = match codec {
        Codec::H264 => Some(Nal::H264),
        Codec::H265 => Some(Nal::H265),
        _ => None,
    };
    hints.keyframe = Some(false);
    for unit in crate::codec::units(codec, payload) {
        let unit = unit?;
        clear_len += unit.clear_end - unit.start;
        let kind = unit.kind;
        match nal {
            Some(nal) if unit.protected || unit.bound_bytes(payload).is_some() => {
                if nal.is_keyframe(kind) {
                    hints.keyframe = Some(true);
                }
                hints.parameter_sets |= nal.is_parameter_set(kind);
                if nal == Nal::H265
                    && unit.protected
                    && hints.temporal_id.is_none()
                    && let Some(&b) = unit.bound_bytes(payload).and_then(|bytes| bytes.get(1))
                {
                    hints.temporal_id = (b & 0x07).checked_sub(1);
                }
            }
            None if unit.protected => {
                if kind == OBU_SEQUENCE_HEADER {
                    hints.sequence_header = true;
                    hints.keyframe = Some(true);
                }
                if hints.temporal_id.is_none()
                    && let Some((temporal, spatial)) = layer_ids(payload, &unit)
                {
                    hints.temporal_id = Some(temporal);
                    hints.spatial_id = Some(spatial);
                }
            }
            _ => {}
        }
        if !unit.protected {
            continue;
        }
        let region = &payload[unit.region()];
        let mut head = [0u8; Header::MAX_LEN];
        let piece = crate::codec::read_piece(payload, &unit, &mut head)?;
        escaped_len += region.len() - piece;
        sealed_len += piece;
        if first.is_none() {
            first = Some((unit.clear_end, head, piece.min(Header::MAX_LEN)));
        }
    }
    let (offset, head, head_len) = first.ok_or(Error::MalformedFrame)?;
    let parsed = Header::parse(&head[..head_len])?;
    Ok(View {
        header: parsed.header(),
        header_offset: offset,
        header_len: parsed.len(),
        clear_len,
        sealed_len: sealed_len - parsed.len(),
        escape_len: escaped_len,
        hints,
    })
}
