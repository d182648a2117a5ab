//! Opus (RFC 6716) and other audio: one unit, the TOC byte (§3.1) clear
//! or nothing.
//!
//! The TOC (configuration, stereo flag, frame count code) is what an SFU
//! may read to tell audio modes apart; an RTP depacketizer reads nothing
//! (RFC 7587). Everything after it is encrypted.

use super::format::{Format, Hints, Unit};
use crate::error::Error;

/// Opus with its TOC byte clear (`clear_toc`) or fully encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opus {
    pub(crate) clear_toc: bool,
}

impl Format for Opus {
    fn id(self) -> u8 {
        if self.clear_toc { 1 } else { 2 }
    }

    fn single_clear(self, frame: &[u8]) -> Option<Result<usize, Error>> {
        let clear = usize::from(self.clear_toc);
        Some(if frame.len() < clear {
            Err(Error::MalformedFrame)
        } else {
            Ok(clear)
        })
    }

    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        Unit::single(frame, pos, usize::from(self.clear_toc))
    }

    fn hints(self, frame: &[u8], _unit: &Unit, hints: &mut Hints) {
        if self.clear_toc {
            hints.opus_toc = frame.first().copied();
        }
    }
}
