//! AV1 low-overhead bitstream format (AV1 §5.2; Annex B is not used): a
//! sequence of OBUs, each with a header, an optional extension byte and a
//! `leb128` size.
//!
//! # What stays clear, and why (AV1 §6.2.2, `obu_type`)
//!
//! | `obu_type` | OBU | rule |
//! |---|---|---|
//! | 2 | temporal delimiter | left as it is, not authenticated: RTP packetizers drop it (AV1 RTP payload format §5) |
//! | 15 | padding | left as it is, not authenticated: packetizers may drop it |
//! | 1 | sequence header | header and size clear, payload encrypted |
//! | 3, 4, 6, 7, 8 | frame header, tile group, frame, redundant frame header, tile list | header and size clear, payload encrypted |
//! | 5 | metadata (HDR, captions, user data) | header and size clear, payload encrypted |
//! | 0, 9–14 | reserved | header and size clear, payload encrypted |
//!
//! The OBU header (type, extension flag, and the extension's
//! `temporal_id` / `spatial_id`) and the size field are all a packetizer
//! and a depacketizer read (AV1 RTP §4: they split and rebuild OBUs and set
//! the aggregation header's N bit from the OBU type); an SFU reads the
//! layer IDs. No payload is read by anyone on the path. The header and
//! extension byte are authenticated (without `obu_has_size_field`, which
//! packetizers rewrite); the size field is rewritten for the piece, so it
//! is not.

use super::format::{Bound, Format, Hints, Unit};
use super::leb128;
use crate::error::Error;

/// `obu_type` values (AV1 §6.2.2).
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_PADDING: u8 = 15;

/// A temporal delimiter's OBU header byte, with its size field (AV1 §5.3.1).
const TEMPORAL_DELIMITER: u8 = (OBU_TEMPORAL_DELIMITER << 3) | HAS_SIZE;

/// `obu_has_size_field` in the OBU header byte.
const HAS_SIZE: u8 = 0x02;
/// `obu_extension_flag`.
const HAS_EXTENSION: u8 = 0x04;

/// The AV1 rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Av1;

impl Format for Av1 {
    fn id(self) -> u8 {
        7
    }

    /// The OBU starting at `pos`.
    #[inline]
    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        let rest = frame.get(pos..).ok_or(Error::MalformedFrame)?;
        let Some(&header) = rest.first() else {
            return Ok(None);
        };
        // §6.2.2: obu_forbidden_bit must be 0.
        if header & 0x80 != 0 {
            return Err(Error::MalformedFrame);
        }
        let obu_type = (header >> 3) & 0x0f;
        let header_len = if header & HAS_EXTENSION != 0 { 2 } else { 1 };
        if rest.len() < header_len {
            return Err(Error::MalformedFrame);
        }
        let (payload_start, payload_len, size_field) = if header & HAS_SIZE != 0 {
            let (size, width) = leb128::read(&rest[header_len..])?;
            let start = header_len + width;
            let size = usize::try_from(size).map_err(|_| Error::MalformedFrame)?;
            (start, size, Some((pos + header_len, width)))
        } else {
            // Without a size field the OBU runs to the end of the frame.
            (header_len, rest.len() - header_len, None)
        };
        let end = payload_start
            .checked_add(payload_len)
            .filter(|&end| end <= rest.len())
            .ok_or(Error::MalformedFrame)?;
        if matches!(obu_type, OBU_TEMPORAL_DELIMITER | OBU_PADDING) {
            return Ok(Some(Unit::pass_through(pos, pos + end)));
        }
        let mut bound = [header & !HAS_SIZE, 0];
        if header_len == 2 {
            bound[1] = rest[1];
        }
        Ok(Some(Unit {
            start: pos,
            clear_end: pos + payload_start,
            end: pos + end,
            #[allow(clippy::cast_possible_truncation)] // 1 or 2
            bound: Bound::Inline(bound, header_len as u8),
            protected: true,
            escaped: false,
            escape_end: 0,
            size_field,
            kind: obu_type,
        }))
    }

    /// The frame OBU of a delta frame: alone, or after a temporal
    /// delimiter without payload (`12 00`, as encoders write it).
    #[inline(always)]
    fn lone_unit(self, frame: &[u8]) -> Option<Unit> {
        let pos = if frame.starts_with(&[TEMPORAL_DELIMITER, 0]) {
            2
        } else {
            0
        };
        let unit = self.next_unit(frame, pos).ok()??;
        (unit.protected && unit.end == frame.len()).then_some(unit)
    }

    /// A sequence header (an encoder repeats it with keyframes), and the
    /// layer IDs of the first OBU with an extension header.
    fn hints(self, frame: &[u8], unit: &Unit, hints: &mut Hints) {
        if !unit.protected {
            return;
        }
        if hints.keyframe.is_none() {
            hints.keyframe = Some(false);
        }
        if unit.kind == OBU_SEQUENCE_HEADER {
            hints.sequence_header = true;
            hints.keyframe = Some(true);
        }
        if hints.temporal_id.is_none()
            && let Some((temporal, spatial)) = layer_ids(frame, unit)
        {
            hints.temporal_id = Some(temporal);
            hints.spatial_id = Some(spatial);
        }
    }
}

/// The `(temporal_id, spatial_id)` of an OBU's extension byte, if it has one.
fn layer_ids(frame: &[u8], unit: &Unit) -> Option<(u8, u8)> {
    let header = *frame.get(unit.start)?;
    if header & HAS_EXTENSION == 0 {
        return None;
    }
    let ext = *frame.get(unit.start + 1)?;
    Some((ext >> 5, (ext >> 3) & 0x03))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate alloc;
    use alloc::vec;
    use alloc::vec::Vec;

    use super::super::format::Units;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn temporal_delimiters_and_padding_pass_through() {
        let frame = [0x12, 0x00, 0x7a, 0x01, 0xee];
        let td = Av1.next_unit(&frame, 0).unwrap().unwrap();
        assert_eq!((td.protected, td.bound, td.end), (false, Bound::None, 2));
        let padding = Av1.next_unit(&frame, 2).unwrap().unwrap();
        assert_eq!((padding.protected, padding.end), (false, 5));
    }

    /// Frames near the lone shape: a few OBU-header-like bytes, size
    /// fields and payload, with a temporal delimiter in front or not.
    fn near_lone() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<bool>(),
            proptest::collection::vec(
                prop_oneof![
                    Just(0x12u8),
                    Just(0x32),
                    Just(0x36),
                    Just(0x7a),
                    Just(0x30),
                    0u8..8,
                    0x80u8..0x84,
                    any::<u8>()
                ],
                0..24,
            ),
        )
            .prop_map(|(td, rest)| {
                let mut f = if td { vec![0x12, 0x00] } else { vec![] };
                f.extend(rest);
                f
            })
    }

    proptest! {
        #[test]
        fn a_lone_unit_is_the_unit_the_walk_ends_with(frame in near_lone()) {
            let walked: Result<Vec<Unit>, Error> = Units::new(Av1, &frame).collect();
            if let Some(lone) = Av1.lone_unit(&frame) {
                let units = walked.expect("a lone unit's frame walks");
                let (last, before) = units.split_last().expect("a unit");
                prop_assert_eq!(*last, lone);
                prop_assert!(before.iter().all(|u| !u.protected));
            }
        }
    }

    #[test]
    fn every_other_obu_type_has_its_payload_encrypted() {
        for obu_type in (0..16u8).filter(|t| !matches!(t, 2 | 15)) {
            let frame = [(obu_type << 3) | HAS_SIZE, 0x02, 0xaa, 0xbb];
            let unit = Av1.next_unit(&frame, 0).unwrap().unwrap();
            assert!(unit.protected, "type {obu_type}");
            assert_eq!(unit.region(), 2..4, "type {obu_type}");
        }
    }
}
