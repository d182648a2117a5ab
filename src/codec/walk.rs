//! A frame as a sequence of units: clear bytes, then a region that is
//! encrypted (or, in a protected frame, holds a piece of the SFrame
//! ciphertext). The same walk runs over an original frame and over its
//! protected form, because every boundary is found from clear bytes alone.

use core::ops::Range;

use super::Codec;
use super::annexb::Nal;
use crate::error::Error;

/// What of a unit's clear bytes is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Nothing: the unit may be dropped or rewritten on the path.
    None,
    /// These bytes of the frame.
    Range(Range<usize>),
    /// These bytes (AV1: the OBU header without `obu_has_size_field`, and the
    /// extension byte), which RTP repacketization may change on the wire.
    Inline([u8; 2], u8),
}

/// One unit of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    /// First byte (start code or OBU header).
    pub(crate) start: usize,
    /// End of the clear bytes, start of the region.
    pub(crate) clear_end: usize,
    /// End of the region.
    pub(crate) end: usize,
    pub(crate) bound: Bound,
    /// Whether the region is encrypted; if not it is empty.
    pub(crate) protected: bool,
    /// Whether the region uses H.26x emulation prevention.
    pub(crate) escaped: bool,
    /// AV1: where the `leb128` size field starts and its width; it ends
    /// the clear bytes.
    pub(crate) size_field: Option<(usize, usize)>,
    /// NAL unit or OBU type (0 for the other codecs).
    pub(crate) kind: u8,
}

impl Unit {
    /// Clear bytes that are neither encrypted nor authenticated.
    pub(crate) const fn clear(start: usize, end: usize) -> Self {
        Self {
            start,
            clear_end: end,
            end,
            bound: Bound::None,
            protected: false,
            escaped: false,
            size_field: None,
            kind: 0,
        }
    }

    /// The unit's region.
    pub(crate) const fn region(&self) -> Range<usize> {
        self.clear_end..self.end
    }

    /// The authenticated clear bytes.
    pub(crate) fn bound_bytes<'a>(&'a self, frame: &'a [u8]) -> Option<&'a [u8]> {
        match &self.bound {
            Bound::None => None,
            Bound::Range(r) => frame.get(r.clone()),
            Bound::Inline(bytes, len) => bytes.get(..usize::from(*len)),
        }
    }
}

/// The unit of a single-unit codec: `clear` bytes, then the rest.
fn single(frame: &[u8], pos: usize, clear: usize) -> Result<Option<Unit>, Error> {
    if pos > 0 {
        return Ok(None);
    }
    if frame.len() < clear {
        return Err(Error::MalformedFrame);
    }
    Ok(Some(Unit {
        start: 0,
        clear_end: clear,
        end: frame.len(),
        bound: Bound::Range(0..clear),
        protected: true,
        escaped: false,
        size_field: None,
        kind: 0,
    }))
}

/// The clear bytes of a VP8 frame (RFC 6386 §9.1): 10 for a keyframe (frame
/// tag, start code, dimensions), 3 for an interframe (frame tag).
pub(crate) fn vp8_clear_len(frame: &[u8]) -> Result<usize, Error> {
    let first = *frame.first().ok_or(Error::MalformedFrame)?;
    Ok(if first & 0x01 == 0 { 10 } else { 3 })
}

/// The unit of `frame` that starts at `pos`, or `None` after the last.
pub(crate) fn next_unit(codec: Codec, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
    match codec {
        Codec::Opus { clear_toc } => single(frame, pos, usize::from(clear_toc)),
        Codec::Vp8 => {
            if pos > 0 {
                return Ok(None);
            }
            single(frame, pos, vp8_clear_len(frame)?)
        }
        Codec::Vp9 => single(frame, pos, 0),
        Codec::H264 => Nal::H264.next_unit(frame, pos),
        Codec::H265 => Nal::H265.next_unit(frame, pos),
        Codec::Av1 => super::av1::next_unit(frame, pos),
        Codec::Unknown => Err(Error::UnsupportedCodec),
    }
}

/// Iterates the units of a frame; stops at the first error.
pub(crate) struct Units<'a> {
    codec: Codec,
    frame: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Units<'a> {
    pub(crate) const fn new(codec: Codec, frame: &'a [u8]) -> Self {
        Self {
            codec,
            frame,
            pos: 0,
            failed: false,
        }
    }
}

impl Iterator for Units<'_> {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match next_unit(self.codec, self.frame, self.pos) {
            Ok(Some(unit)) => {
                // Every unit is non-empty or the last, so the walk ends.
                if unit.end <= self.pos && self.pos < self.frame.len() {
                    self.failed = true;
                    return Some(Err(Error::MalformedFrame));
                }
                self.pos = unit.end.max(self.pos + 1);
                Some(Ok(unit))
            }
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
