//! VP8 (RFC 6386): one unit; the bytes an RTP depacketizer (RFC 7741) and
//! an SFU read stay clear.
//!
//! RFC 6386 §9.1: a keyframe starts with the 3-byte frame tag, the start
//! code `9d 01 2a` and the 14-bit width and height (10 bytes), an
//! interframe with the frame tag (3 bytes). The frame tag's P bit tells a
//! keyframe: libwebrtc's depacketizer reads it before the receiver's
//! transform runs, so a VP8 frame encrypted whole never decodes.

use super::format::{Format, Hints, Unit};
use crate::error::Error;

/// The VP8 rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vp8;

/// The clear bytes of a VP8 frame: 10 for a keyframe, 3 for an interframe.
fn clear_len(frame: &[u8]) -> Result<usize, Error> {
    let first = *frame.first().ok_or(Error::MalformedFrame)?;
    Ok(if first & 0x01 == 0 { 10 } else { 3 })
}

impl Format for Vp8 {
    fn id(self) -> u8 {
        3
    }

    fn single_clear(self, frame: &[u8]) -> Option<Result<usize, Error>> {
        Some(clear_len(frame).and_then(|clear| {
            if frame.len() < clear {
                Err(Error::MalformedFrame)
            } else {
                Ok(clear)
            }
        }))
    }

    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        if pos > 0 {
            return Ok(None);
        }
        Unit::single(frame, pos, clear_len(frame)?)
    }

    /// The frame tag, and for a keyframe the start code and dimensions.
    fn hints(self, frame: &[u8], _unit: &Unit, hints: &mut Hints) {
        let Some(&tag) = frame.first() else {
            return;
        };
        let keyframe = tag & 0x01 == 0;
        hints.keyframe = Some(keyframe);
        if let (true, Some([0x9d, 0x01, 0x2a, w0, w1, h0, h1])) = (keyframe, frame.get(3..10)) {
            hints.width = Some(u16::from_le_bytes([*w0, *w1]) & 0x3fff);
            hints.height = Some(u16::from_le_bytes([*h0, *h1]) & 0x3fff);
        }
    }
}
