//! AV1 low-overhead bitstream format (AV1 spec §5.2, Annex B is not used):
//! a sequence of OBUs, each with a header, an optional extension byte and a
//! `leb128` size.

use super::walk::{Bound, Unit};
use crate::error::Error;

/// `obu_type` values (AV1 §6.2.2).
pub(crate) const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_PADDING: u8 = 15;

/// `obu_has_size_field` in the OBU header byte.
const HAS_SIZE: u8 = 0x02;
/// `obu_extension_flag`.
const HAS_EXTENSION: u8 = 0x04;

/// The largest OBU size the spec allows (§4.10.5: `(1 << 32) - 1`).
const MAX_SIZE: u64 = u32::MAX as u64;

/// Reads a `leb128()` (§4.10.5) at the start of `bytes`: the value and the
/// number of bytes it took (1–8).
pub(crate) fn read_leb128(bytes: &[u8]) -> Result<(u64, usize), Error> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if value > MAX_SIZE {
                return Err(Error::MalformedFrame);
            }
            return Ok((value, i + 1));
        }
    }
    Err(Error::MalformedFrame)
}

/// The bytes the minimal `leb128` encoding of `value` takes.
pub(crate) const fn leb128_len(value: u64) -> usize {
    let mut len = 1;
    let mut v = value >> 7;
    while v != 0 {
        len += 1;
        v >>= 7;
    }
    len
}

/// Writes `value` as `leb128` in exactly `width` bytes (non-minimal padding
/// with continuation bits if `width` is larger than needed).
pub(crate) fn write_leb128(value: u64, width: usize, out: &mut [u8]) -> Result<(), Error> {
    if width == 0 || width > 8 || leb128_len(value) > width {
        return Err(Error::MalformedFrame);
    }
    let out = out.get_mut(..width).ok_or(Error::BufferTooSmall)?;
    let mut v = value;
    for (i, byte) in out.iter_mut().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // masked to 7 bits
        let low = (v & 0x7f) as u8;
        v >>= 7;
        *byte = if i + 1 < width { low | 0x80 } else { low };
    }
    Ok(())
}

/// The size-field width a protected OBU gets when its payload grows from
/// `old` to `new` bytes and its size field was `width` bytes wide: the old
/// width if the new value fits, else the minimal one.
pub(crate) fn grown_width(width: usize, new: u64) -> usize {
    width.max(leb128_len(new))
}

/// The size-field width a receiver restores: the received width if it is
/// wider than needed for the received value (the sender kept a padded
/// width), else the minimal width of the original value.
pub(crate) fn restored_width(width: usize, received: u64, original: u64) -> usize {
    if width > leb128_len(received) {
        width
    } else {
        leb128_len(original)
    }
}

/// The OBU starting at `pos`.
pub(crate) fn next_unit(frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
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
        let (size, width) = read_leb128(&rest[header_len..])?;
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
        // The AV1 RTP payload format (§5) lets senders drop these: they are
        // neither encrypted nor authenticated.
        return Ok(Some(Unit::clear(pos, pos + end)));
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
        size_field,
        kind: obu_type,
    }))
}

/// The `(temporal_id, spatial_id)` of an OBU's extension byte, if it has one.
pub(crate) fn layer_ids(frame: &[u8], unit: &Unit) -> Option<(u8, u8)> {
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
    use super::*;

    #[test]
    fn leb128_round_trips_with_padding() {
        let mut buf = [0u8; 8];
        for (value, width) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (5, 4),
            (u64::from(u32::MAX), 5),
        ] {
            write_leb128(value, width, &mut buf).unwrap();
            assert_eq!(read_leb128(&buf).unwrap(), (value, width));
        }
        assert!(write_leb128(128, 1, &mut buf).is_err());
    }

    #[test]
    fn oversized_leb128_is_rejected() {
        assert!(read_leb128(&[0x80; 9]).is_err());
        assert!(read_leb128(&[0xff, 0xff, 0xff, 0xff, 0x10]).is_err());
    }

    #[test]
    fn restored_width_inverts_grown_width_for_minimal_encodings() {
        for old in [0u64, 100, 127, 16_000, 16_383] {
            for grow in [1u64, 17, 33] {
                let width = leb128_len(old);
                let new = old + grow;
                let w = grown_width(width, new);
                assert_eq!(restored_width(w, new, old), width);
            }
        }
    }
}
