//! VP9: one unit, nothing clear.
//!
//! Its RTP payload descriptor (RFC 9628 §4.2: picture ID, layer indices,
//! the inter-picture-predicted flag) is built by the packetizer from the
//! encoder's codec-specific info, not read from the bitstream, and the
//! uncompressed header that would tell a keyframe is bit-packed behind a
//! profile-dependent layout: clearing part of it would leak without
//! helping anyone on the path. A protected VP9 frame is a plain SFrame
//! frame (header first) with the codec's binding as metadata.

use super::format::{Format, Hints, Unit};
use crate::error::Error;

/// The VP9 rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vp9;

impl Format for Vp9 {
    fn id(self) -> u8 {
        4
    }

    fn single_clear(self, _frame: &[u8]) -> Option<Result<usize, Error>> {
        Some(Ok(0))
    }

    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        Unit::single(frame, pos, 0)
    }

    fn hints(self, _frame: &[u8], _unit: &Unit, _hints: &mut Hints) {}
}
