//! H.264 / H.265 Annex B byte streams (ITU-T H.264 Annex B, H.265 Annex
//! B): NAL unit boundaries and the clear prefix of each NAL unit.
//!
//! # What stays clear, and why
//!
//! Only what an RTP packetizer, a depacketizer or an SFU must read stays
//! clear: the start codes, every NAL unit header (its type decides
//! aggregation and fragmentation, RFC 6184 §5.3 / RFC 7798 §1.1.4), the
//! parameter sets, and the first fields of each slice header. Picture data,
//! SEI (captions and application user data travel there) and every type
//! that is reserved or unspecified are encrypted after their NAL unit
//! header. A NAL unit with nothing after its clear bytes (end of sequence,
//! end of stream) has nothing to encrypt and stays as it is,
//! authenticated.
//!
//! H.264 (Table 7-1, `nal_unit_type`):
//!
//! | type | NAL unit | clear | why |
//! |---|---|---|---|
//! | 1, 5 | slice of a non-IDR / IDR picture | header, `first_mb_in_slice`, `slice_type`, `pic_parameter_set_id` (§7.3.3) | depacketizers find picture starts and keyframes there, and libwebrtc checks that the PPS of a keyframe arrived |
//! | 2 | slice data partition A | as a slice: it starts with the slice header | |
//! | 3, 4 | slice data partitions B, C | header | nothing after it is read |
//! | 7, 8 | SPS, PPS | all | depacketizers read them (RFC 6184 `sprop-parameter-sets`, libwebrtc's SPS/PPS tracker) |
//! | 15 | subset SPS | all | the SPS of SVC and MVC layers, signalled as a parameter set (RFC 6190) |
//! | 9, 12 | access unit delimiter, filler | all, not authenticated | packetizers drop them (RFC 6184 §5.1) |
//! | 14, 20 | prefix NAL unit, coded slice extension (SVC/MVC) | header and its 3-byte extension | the extension carries the layer IDs that media-aware network elements switch on (RFC 6190) |
//! | 21 | 3D-AVC slice extension | header and its 2- or 3-byte extension | as 20 |
//! | 6 | SEI | header | |
//! | 19 | auxiliary coded picture (alpha) | header | picture data |
//! | 10, 11 | end of sequence, end of stream | header (nothing follows) | |
//! | 13, 16–18, 22–23, 0, 24–31 | SPS extension, depth parameter set, reserved, unspecified | header | not read on the path; unknown content is treated as secret |
//!
//! H.265 (Table 7-1, `nal_unit_type`):
//!
//! | type | NAL unit | clear | why |
//! |---|---|---|---|
//! | 0–9 | TRAIL, TSA, STSA, RADL, RASL slices | header, `first_slice_segment_in_pic_flag`, `slice_pic_parameter_set_id` (§7.3.6.1) | as H.264 slices |
//! | 16–21 | BLA, IDR, CRA (IRAP) slices | header, `first_slice_segment_in_pic_flag`, `no_output_of_prior_pics_flag`, `slice_pic_parameter_set_id` | as H.264 slices |
//! | 32, 33, 34 | VPS, SPS, PPS | all | depacketizers read them (RFC 7798 `sprop-vps/sps/pps`) |
//! | 35, 38 | access unit delimiter, filler | all, not authenticated | packetizers drop them (RFC 7798 §4.4) |
//! | 39, 40 | prefix and suffix SEI | header | |
//! | 36, 37 | end of sequence, end of bitstream | header (nothing follows) | |
//! | 10–15, 22–31, 41–63 | reserved VCL and non-VCL, unspecified | header | unknown content is treated as secret |

use super::escape::Pairs;
use super::format::{Bound, Format, Hints, Unit};
use crate::error::Error;

/// Which of the two Annex B codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nal {
    H264,
    H265,
}

/// What the clear prefix of a NAL unit is, by NAL unit type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NalRule {
    /// Left as it is and not authenticated: access unit delimiters and
    /// filler data, which RTP packetizers drop.
    PassThrough,
    /// All clear and authenticated: parameter sets.
    Clear,
    /// A slice: header and first slice header fields clear.
    Slice,
    /// Header and its extension (this many bytes in all) clear.
    Extended(usize),
    /// Only the NAL unit header clear.
    Encrypted,
}

impl Nal {
    /// The NAL unit header length.
    const fn header_len(self) -> usize {
        match self {
            Self::H264 => 1,
            Self::H265 => 2,
        }
    }

    /// The NAL unit type from the first header byte.
    const fn nal_type(self, first: u8) -> u8 {
        match self {
            Self::H264 => first & 0x1f,
            Self::H265 => (first >> 1) & 0x3f,
        }
    }

    /// H.264 / H.265 Table 7-1, as the module documentation explains.
    /// `nal` is the whole NAL unit (header first).
    fn rule(self, nal_type: u8, nal: &[u8]) -> NalRule {
        match self {
            Self::H264 => match nal_type {
                1 | 2 | 5 => NalRule::Slice,
                7 | 8 | 15 => NalRule::Clear,
                9 | 12 => NalRule::PassThrough,
                14 | 20 => NalRule::Extended(4),
                // H.264 §7.3.1: avc_3d_extension_flag chooses the 2-byte
                // 3D-AVC extension over the 3-byte MVC one.
                21 => match nal.get(1) {
                    Some(b) if b & 0x80 != 0 => NalRule::Extended(3),
                    _ => NalRule::Extended(4),
                },
                _ => NalRule::Encrypted,
            },
            Self::H265 => match nal_type {
                0..=9 | 16..=21 => NalRule::Slice,
                32..=34 => NalRule::Clear,
                35 | 38 => NalRule::PassThrough,
                _ => NalRule::Encrypted,
            },
        }
    }

    /// Whether a NAL unit type holds picture data (VCL): H.264 1–5, 19–21;
    /// H.265 0–31.
    const fn is_picture(self, nal_type: u8) -> bool {
        match self {
            Self::H264 => matches!(nal_type, 1..=5 | 19..=21),
            Self::H265 => nal_type < 32,
        }
    }

    /// Whether a NAL unit type marks a keyframe: H.264 IDR (5); H.265 IRAP
    /// (16–23).
    const fn is_keyframe(self, nal_type: u8) -> bool {
        match self {
            Self::H264 => nal_type == 5,
            Self::H265 => matches!(nal_type, 16..=23),
        }
    }

    /// Whether a NAL unit type is a parameter set (H.264 SPS/PPS; H.265
    /// VPS/SPS/PPS).
    const fn is_parameter_set(self, nal_type: u8) -> bool {
        match self {
            Self::H264 => matches!(nal_type, 7 | 8),
            Self::H265 => matches!(nal_type, 32..=34),
        }
    }

    /// The end of the clear prefix of a slice NAL unit `nal` (header
    /// included): the bytes covering the slice header fields an RTP
    /// depacketizer reads. H.264 §7.3.3: `first_mb_in_slice`, `slice_type`,
    /// `pic_parameter_set_id`; H.265 §7.3.6.1:
    /// `first_slice_segment_in_pic_flag`, for IRAP pictures
    /// `no_output_of_prior_pics_flag`, and `slice_pic_parameter_set_id`.
    ///
    /// The result depends only on the bytes it covers, so a receiver finds
    /// the same prefix in the protected NAL unit.
    fn slice_prefix(self, nal: &[u8], nal_type: u8) -> Result<usize, Error> {
        let mut bits = BitReader::new(nal, self.header_len());
        match self {
            Self::H264 => {
                for _ in 0..3 {
                    bits.ue()?;
                }
            }
            Self::H265 => {
                bits.bit()?;
                if matches!(nal_type, 16..=23) {
                    bits.bit()?;
                }
                bits.ue()?;
            }
        }
        Ok(bits.bytes_used())
    }

    /// The unit at `pos` with its NAL unit ending at `nal_end` (or at the
    /// end of the frame for [`Format::unit_head`]).
    fn unit(
        self,
        frame: &[u8],
        pos: usize,
        nal_start: usize,
        nal_end: usize,
        escape_end: usize,
    ) -> Result<Unit, Error> {
        let nal = &frame[nal_start..nal_end];
        if nal.len() < self.header_len() {
            return Err(Error::MalformedFrame);
        }
        let nal_type = self.nal_type(nal[0]);
        let prefix = match self.rule(nal_type, nal) {
            NalRule::PassThrough => return Ok(Unit::pass_through(pos, nal_end)),
            NalRule::Clear => nal.len(),
            NalRule::Slice => self.slice_prefix(nal, nal_type)?,
            NalRule::Extended(len) => len,
            NalRule::Encrypted => self.header_len(),
        };
        if prefix > nal.len() {
            return Err(Error::MalformedFrame);
        }
        Ok(Unit {
            start: pos,
            clear_end: nal_start + prefix,
            end: nal_end,
            bound: Bound::From(nal_start),
            // Nothing after the clear prefix: nothing to encrypt.
            protected: prefix < nal.len(),
            escaped: true,
            escape_end,
            size_field: None,
            kind: nal_type,
        })
    }

    /// The zeros and start code at `pos`: where the NAL unit starts, or
    /// `None` if only zeros are left (they end the stream).
    fn start_code(frame: &[u8], pos: usize) -> Result<Option<usize>, Error> {
        let rest = frame.get(pos..).ok_or(Error::MalformedFrame)?;
        let zeros = rest.iter().take_while(|&&b| b == 0).count();
        if zeros == rest.len() {
            return Ok(None);
        }
        // B.2: a start code is at least two zeros then 0x01.
        if zeros < 2 || rest[zeros] != 1 {
            return Err(Error::MalformedFrame);
        }
        Ok(Some(pos + zeros + 1))
    }
}

impl Format for Nal {
    fn id(self) -> u8 {
        match self {
            Self::H264 => 5,
            Self::H265 => 6,
        }
    }

    /// The unit starting at `pos`: zeros and a start code, then a NAL unit
    /// up to the next start code; or the zeros that end the stream.
    fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        if pos >= frame.len() {
            return if pos == frame.len() {
                Ok(None)
            } else {
                Err(Error::MalformedFrame)
            };
        }
        let Some(nal_start) = Self::start_code(frame, pos)? else {
            return Ok(Some(Unit::pass_through(pos, frame.len())));
        };
        let (len, escapes) = nal_extent(&frame[nal_start..]);
        let escape_end = if escapes == 0 { 0 } else { nal_start + escapes };
        self.unit(frame, pos, nal_start, nal_start + len, escape_end)
            .map(Some)
    }

    /// The unit at `pos` without looking for the next start code: `end` is
    /// the end of the frame (trailing zeros aside), so the unit's clear
    /// bytes and type are right but its region may run over later units.
    fn unit_head(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
        if pos >= frame.len() {
            return Ok(None);
        }
        let Some(nal_start) = Self::start_code(frame, pos)? else {
            return Ok(Some(Unit::pass_through(pos, frame.len())));
        };
        let trailing = frame.iter().rev().take_while(|&&b| b == 0).count();
        let end = (frame.len() - trailing).max(nal_start);
        // Escapes are not looked for: assume them anywhere.
        let unit = self.unit(frame, pos, nal_start, end, end)?;
        // A region is never empty in a protected frame; an empty one ends
        // where a start code or the stream's last zeros begin (escaping
        // keeps both out of a region).
        let after = &frame[unit.clear_end.min(frame.len())..];
        let start_code = matches!(after, [0, 0, b, ..] if *b <= 1);
        if unit.protected && (start_code || after.iter().all(|&b| b == 0)) {
            return self
                .unit(frame, pos, nal_start, unit.clear_end, 0)
                .map(Some);
        }
        Ok(Some(unit))
    }

    /// Keyframes and parameter sets from NAL unit types, the H.265
    /// temporal ID from the first slice's header.
    fn hints(self, frame: &[u8], unit: &Unit, hints: &mut Hints) {
        if unit.bound == Bound::None {
            return;
        }
        if hints.keyframe.is_none() {
            hints.keyframe = Some(false);
        }
        if self.is_keyframe(unit.kind) {
            hints.keyframe = Some(true);
        }
        hints.parameter_sets |= self.is_parameter_set(unit.kind);
        if self == Self::H265
            && self.is_picture(unit.kind)
            && hints.temporal_id.is_none()
            && let Some(&b) = unit.bound_bytes(frame).and_then(|bytes| bytes.get(1))
        {
            hints.temporal_id = (b & 0x07).checked_sub(1);
        }
    }

    /// Parameter sets precede the first picture NAL unit of an access unit,
    /// and all slices of a picture share its type (H.264 §7.4.1.2.3–4,
    /// H.265 §7.4.2.4.4).
    fn hints_final(self, unit: &Unit) -> bool {
        unit.bound != Bound::None && self.is_picture(unit.kind)
    }
}

/// The length of the NAL unit at the start of `bytes`, up to the first
/// `00 00 00` or `00 00 01` (B.2) and without the trailing zeros that end
/// the stream, so its last byte is never zero; and where the last
/// `00 00 02` or `00 00 03` before that end (an emulation prevention byte,
/// or bytes no escaping makes) ends, with the byte after it: 0 if none.
///
/// Searches for `00 00` pairs at memory speed ([`Pairs`]); a NAL unit
/// holds a pair only before an emulation prevention byte or a byte above
/// 3, so the search rarely stops.
fn nal_extent(bytes: &[u8]) -> (usize, usize) {
    let mut pairs = Pairs::new();
    let mut escapes = 0;
    let mut from = 0;
    while let Some(at) = pairs.find(&bytes[from..]) {
        let i = from + at;
        match bytes.get(i + 2) {
            Some(&b) if b <= 1 => return (i, escapes.min(i)),
            Some(&b) if b <= 3 => escapes = i + 4,
            Some(_) => {}
            None => break,
        }
        // The search goes on after the pair: it continues only if the
        // pair's third byte is above 1, so no pair starts at its second.
        from = i + 2;
    }
    let trailing = bytes.iter().rev().take_while(|&&b| b == 0).count();
    let len = bytes.len() - trailing;
    (len, escapes.min(len))
}

/// Reads bits of a NAL unit's payload, skipping emulation prevention bytes
/// (H.264 §7.4.1).
struct BitReader<'a> {
    nal: &'a [u8],
    /// The next byte to load.
    pos: usize,
    /// Zeros just before `pos` in the NAL unit.
    zeros: u8,
    byte: u8,
    /// Bits of `byte` not yet read.
    left: u8,
}

impl<'a> BitReader<'a> {
    const fn new(nal: &'a [u8], start: usize) -> Self {
        Self {
            nal,
            pos: start,
            zeros: 0,
            byte: 0,
            left: 0,
        }
    }

    fn bit(&mut self) -> Result<u32, Error> {
        if self.left == 0 {
            let mut b = *self.nal.get(self.pos).ok_or(Error::MalformedFrame)?;
            self.pos += 1;
            if self.zeros >= 2 && b == 3 {
                self.zeros = 0;
                b = *self.nal.get(self.pos).ok_or(Error::MalformedFrame)?;
                self.pos += 1;
            }
            self.zeros = if b == 0 {
                self.zeros.saturating_add(1)
            } else {
                0
            };
            self.byte = b;
            self.left = 8;
        }
        self.left -= 1;
        Ok(u32::from((self.byte >> self.left) & 1))
    }

    /// `ue(v)`, H.264 §9.1; at most 31 leading zeros.
    fn ue(&mut self) -> Result<u64, Error> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(Error::MalformedFrame);
            }
        }
        let mut value = 0u64;
        for _ in 0..zeros {
            value = (value << 1) | u64::from(self.bit()?);
        }
        Ok((1u64 << zeros) - 1 + value)
    }

    /// Bytes from the start of the NAL unit up to the last byte read.
    const fn bytes_used(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate alloc;
    use alloc::vec::Vec;

    use super::*;
    use proptest::prelude::*;

    /// The NAL unit length the byte-at-a-time way (the first version).
    fn nal_len_reference(bytes: &[u8]) -> usize {
        let mut i = 0;
        while i + 2 < bytes.len() {
            if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] <= 1 {
                return i;
            }
            i += 1;
        }
        let mut end = bytes.len();
        while end > 0 && bytes[end - 1] == 0 {
            end -= 1;
        }
        end
    }

    #[test]
    fn nal_ends_before_the_next_start_code() {
        assert_eq!(nal_extent(&[0x65, 7, 0, 0, 1, 5]), (2, 0));
        assert_eq!(nal_extent(&[0x65, 7, 0, 0, 0, 1]), (2, 0));
        assert_eq!(nal_extent(&[0x65, 0, 0, 2, 9]), (5, 5));
        assert_eq!(nal_extent(&[0x65, 0, 0, 4, 9]), (5, 0));
        assert_eq!(nal_extent(&[0x65, 9, 0, 0]), (2, 0));
        assert_eq!(nal_extent(&[0x65, 0, 0, 3, 0, 0, 1]), (4, 4));
        assert_eq!(nal_extent(&[0x65, 0, 0, 3, 1, 7, 7, 0, 0, 9]), (10, 5));
    }

    proptest! {
        #[test]
        fn nal_extent_matches_the_byte_at_a_time_search(
            bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..100),
        ) {
            let (len, escapes) = nal_extent(&bytes);
            prop_assert_eq!(len, nal_len_reference(&bytes));
            let last = bytes[..len]
                .windows(3)
                .rposition(|w| w[0] == 0 && w[1] == 0 && matches!(w[2], 2 | 3))
                .map_or(0, |i| (i + 4).min(len));
            prop_assert_eq!(escapes, last);
        }
    }

    #[test]
    fn h264_slice_prefix_covers_three_exp_golomb_fields() {
        // first_mb 0 ('1'), slice_type 7 ('0001000'), pps_id 0 ('1').
        let nal = [0x65, 0b1000_1000, 0xd5, 0xff];
        assert_eq!(Nal::H264.slice_prefix(&nal, 5).unwrap(), 3);
        // Too short: the fields run past the end.
        assert!(Nal::H264.slice_prefix(&[0x65, 0x00], 5).is_err());
    }

    #[test]
    fn h265_irap_prefix_reads_the_extra_flag() {
        // first_slice 1, no_output 0, pps_id 0 ('1') -> 3 bits of one byte.
        assert_eq!(Nal::H265.slice_prefix(&[0x26, 0x01, 0xa0], 19).unwrap(), 3);
    }

    #[test]
    fn emulation_prevention_bytes_are_skipped_in_slice_headers() {
        // first_mb_in_slice has 23 leading zeros spanning `00 00 03 01`;
        // its 23 value bits, slice_type and pps_id end in the fourth 0xff.
        let nal = [0x41, 0x00, 0x00, 0x03, 0x01, 0xff, 0xff, 0xff, 0xff, 0x12];
        assert_eq!(Nal::H264.slice_prefix(&nal, 1).unwrap(), 9);
    }

    /// The clear prefix length of a one-NAL frame, and whether the rest is
    /// encrypted.
    fn clear_of(nal: Nal, bytes: &[u8]) -> (usize, bool) {
        let mut frame = Vec::from([0, 0, 0, 1]);
        frame.extend_from_slice(bytes);
        let unit = nal.next_unit(&frame, 0).unwrap().unwrap();
        (unit.clear_end - 4, unit.protected)
    }

    #[test]
    fn every_h264_nal_type_follows_table_7_1() {
        // Header byte with nal_ref_idc 3, then a payload that parses as a
        // slice header (three ue(v) of value 0) and more.
        for t in 0u8..32 {
            let (clear, protected) = clear_of(Nal::H264, &[0x60 | t, 0xe0, 0x55, 0x66, 0x77]);
            let expected = match t {
                1 | 2 | 5 => (2, true),
                7 | 8 | 15 => (5, false),
                9 | 12 => (5, false),
                14 | 20 => (4, true),
                // 0xe0: avc_3d_extension_flag set, a 2-byte extension.
                21 => (3, true),
                _ => (1, true),
            };
            assert_eq!((clear, protected), expected, "type {t}");
        }
        // Without the flag, the 3-byte MVC extension.
        assert_eq!(
            clear_of(Nal::H264, &[0x75, 0x55, 0x66, 0x77, 0x88]),
            (4, true)
        );
    }

    #[test]
    fn every_h265_nal_type_follows_table_7_1() {
        for t in 0u8..64 {
            // first_slice 1, (no_output 0), pps_id 0: '11' or '101'.
            let (clear, protected) = clear_of(Nal::H265, &[t << 1, 0x01, 0xd0, 0x55, 0x66, 0x77]);
            let expected = match t {
                0..=9 | 16..=21 => (3, true),
                32..=34 => (6, false),
                35 | 38 => (6, false),
                _ => (2, true),
            };
            assert_eq!((clear, protected), expected, "type {t}");
        }
    }

    #[test]
    fn a_nal_unit_with_nothing_after_its_header_stays_clear() {
        // H.264 end of sequence; H.265 end of bitstream.
        assert_eq!(clear_of(Nal::H264, &[0x0a]), (1, false));
        assert_eq!(clear_of(Nal::H265, &[37 << 1, 0x01]), (2, false));
    }
}
