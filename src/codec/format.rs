//! The one question every codec module answers: where a frame's units,
//! clear bytes and encrypted pieces are ([`Format`]), and what its clear
//! bytes tell an SFU ([`Hints`]).
//!
//! A frame is a sequence of units (NAL units, OBUs, or the whole frame);
//! each has clear bytes and then a region that is encrypted (or, in a
//! protected frame, holds a piece of the SFrame ciphertext). Every boundary
//! is found from clear bytes alone, so the same walk runs over an original
//! frame and over its protected form. The engine (`engine.rs`) does the
//! rest, the same way for every codec.

use crate::error::Error;

/// What of a unit's clear bytes is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Nothing: the unit may be dropped or rewritten on the path.
    None,
    /// The frame's bytes from this offset to the unit's `clear_end`.
    From(usize),
    /// These bytes (AV1: the OBU header without `obu_has_size_field`, and
    /// the extension byte), which RTP repacketization may change on the
    /// wire.
    Inline([u8; 2], u8),
}

/// One unit of a frame: `start..clear_end` clear, `clear_end..end` the
/// region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Whether the region uses H.26x start-code emulation prevention.
    pub(crate) escaped: bool,
    /// H.26x: where the unit's last emulation prevention byte (a `00 00`
    /// followed by `02` or `03` after its start code, found while looking
    /// for its end) and the byte after it end; 0 if it has none. A region
    /// that starts after it is read as it is.
    pub(crate) escape_end: usize,
    /// AV1: where the `leb128` size field starts and its width; it ends
    /// the clear bytes.
    pub(crate) size_field: Option<(usize, usize)>,
    /// NAL unit or OBU type (0 for the other codecs).
    pub(crate) kind: u8,
}

impl Unit {
    /// Clear bytes that are neither encrypted nor authenticated.
    pub(crate) const fn pass_through(start: usize, end: usize) -> Self {
        Self {
            start,
            clear_end: end,
            end,
            bound: Bound::None,
            protected: false,
            escaped: false,
            escape_end: 0,
            size_field: None,
            kind: 0,
        }
    }

    /// The unit of a single-unit codec: the first `clear` bytes of `frame`
    /// clear and authenticated, the rest encrypted.
    ///
    /// # Errors
    /// [`Error::MalformedFrame`] if the frame is shorter than `clear`.
    pub(crate) fn single(frame: &[u8], pos: usize, clear: usize) -> Result<Option<Self>, Error> {
        if pos > 0 {
            return Ok(None);
        }
        if frame.len() < clear {
            return Err(Error::MalformedFrame);
        }
        Ok(Some(Self {
            start: 0,
            clear_end: clear,
            end: frame.len(),
            bound: Bound::From(0),
            protected: true,
            escaped: false,
            escape_end: 0,
            size_field: None,
            kind: 0,
        }))
    }

    /// The unit's region.
    pub(crate) const fn region(&self) -> core::ops::Range<usize> {
        self.clear_end..self.end
    }

    /// The region's length.
    pub(crate) const fn region_len(&self) -> usize {
        self.end - self.clear_end
    }

    /// Where the clear bytes that are copied as they are end: before an
    /// AV1 size field of a protected unit (rewritten for its piece), else
    /// at `clear_end`.
    pub(crate) const fn copy_end(&self) -> usize {
        match (self.protected, self.size_field) {
            (true, Some((at, _))) => at,
            _ => self.clear_end,
        }
    }

    /// The authenticated clear bytes.
    pub(crate) fn bound_bytes<'a>(&'a self, frame: &'a [u8]) -> Option<&'a [u8]> {
        match &self.bound {
            Bound::None => None,
            Bound::From(from) => frame.get(*from..self.clear_end),
            Bound::Inline(bytes, len) => bytes.get(..usize::from(*len)),
        }
    }
}

/// A codec's rules: where a frame's units, clear bytes and encrypted
/// pieces are. Implemented once per codec module; the engine and the SFU
/// view read frames only through it.
pub(crate) trait Format: Copy {
    /// The byte that starts the binding description of this rule.
    fn id(self) -> u8;

    /// The unit of `frame` that starts at `pos`, or `None` after the last.
    /// It must depend only on bytes that stay clear.
    ///
    /// # Errors
    /// [`Error::MalformedFrame`] where the frame does not parse.
    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error>;

    /// For a codec whose frame is always one unit: the clear bytes at its
    /// start (at most `binding::SINGLE_CLEAR_MAX`), the rest being
    /// encrypted. `None` for codecs with several units.
    fn single_clear(self, _frame: &[u8]) -> Option<Result<usize, Error>> {
        None
    }

    /// A frame whose units are pass-through units and then one protected
    /// unit that ends the frame (an AV1 delta frame: a temporal delimiter
    /// and one frame OBU): that unit, found without walking the frame.
    /// It must be the unit [`Self::next_unit`] gives there; `None` where
    /// the frame has another shape (or does not parse), and it is walked.
    fn lone_unit(self, _frame: &[u8]) -> Option<Unit> {
        None
    }

    /// As [`Self::next_unit`], but without reading the unit's encrypted
    /// bytes: `end` may be left at `frame.len()` where finding it would
    /// (H.26x: the next start code). For the SFU's constant-cost view.
    ///
    /// # Errors
    /// As [`Self::next_unit`].
    fn unit_head(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        self.next_unit(frame, pos)
    }

    /// Adds what `unit`'s clear bytes tell an SFU.
    fn hints(self, frame: &[u8], unit: &Unit, hints: &mut Hints);

    /// Whether the hints are final once `unit` has been read (the first
    /// picture unit of H.26x: parameter sets come before it, and all its
    /// slices share its type).
    fn hints_final(self, _unit: &Unit) -> bool {
        false
    }
}

/// Iterates the units of a frame; stops at the first error.
#[derive(Clone)]
pub(crate) struct Units<'a, F> {
    format: F,
    frame: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a, F: Format> Units<'a, F> {
    pub(crate) const fn new(format: F, frame: &'a [u8]) -> Self {
        Self::from(format, frame, 0)
    }

    /// The units from the one at `pos` on.
    pub(crate) const fn from(format: F, frame: &'a [u8], pos: usize) -> Self {
        Self {
            format,
            frame,
            pos,
            failed: false,
        }
    }
}

impl<F: Format> Iterator for Units<'_, F> {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.format.next_unit(self.frame, self.pos) {
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

/// What the clear bytes of a codec-aware frame tell about the media
/// ([`crate::sfu`]).
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::prelude::*;
/// use framecrypt::sfu::{self, Hints};
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender};
///
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(1), BaseKey::new(&[1; 16])?);
/// // An Opus packet: its TOC byte (0x78) stays clear, and the SFU reads it.
/// let opus = Protection::new(Codec::OPUS, Fallback::Reject);
/// let mut wire = [0u8; 64];
/// let sealed = opus.protect(&mut sender, &[0x78, 1, 2, 3], &mut wire)?;
/// let hints = sfu::inspect_codec(Codec::OPUS, &wire[sealed.frame()])?.hints();
/// assert_eq!(hints.opus_toc, Some(0x78));
/// assert_eq!((hints.keyframe, hints.width), (None, None)); // audio: no pictures
///
/// // A plain SFrame frame has no clear media bytes, so no hints.
/// let sealed = sender.seal(b"", &[0x78, 1, 2, 3], &mut wire)?;
/// assert_eq!(sfu::inspect(&wire[sealed.frame()])?.hints(), Hints::default());
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
    /// H.265 `nuh_temporal_id_plus1 - 1` of the first slice, or AV1
    /// `temporal_id` of the first OBU that has an extension header.
    pub temporal_id: Option<u8>,
    /// AV1 `spatial_id` of the first OBU with an extension header.
    pub spatial_id: Option<u8>,
    /// Opus: the TOC byte (RFC 6716 §3.1).
    pub opus_toc: Option<u8>,
}
