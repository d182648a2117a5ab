//! A unit's length field that follows its piece: AV1's `leb128()` OBU size
//! (AV1 §4.10.5). When a piece grows by the SFrame header or tag, the
//! field is rewritten for the new length, keeping its width where the new
//! value fits, so that a receiver restores the frame byte for byte.

use crate::error::Error;

/// The largest size the spec allows (§4.10.5: `(1 << 32) - 1`).
pub(crate) const MAX_VALUE: u64 = u32::MAX as u64;

/// The widest encoding read: 8 bytes (§4.10.5).
pub(crate) const MAX_WIDTH: usize = 8;

/// Reads a `leb128()` at the start of `bytes`: the value and the number of
/// bytes it took (1–8).
///
/// # Errors
/// [`Error::MalformedFrame`] if it runs past 8 bytes or the input, or
/// exceeds [`MAX_VALUE`].
pub(crate) fn read(bytes: &[u8]) -> Result<(u64, usize), Error> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(MAX_WIDTH).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if value > MAX_VALUE {
                return Err(Error::MalformedFrame);
            }
            return Ok((value, i + 1));
        }
    }
    Err(Error::MalformedFrame)
}

/// The bytes the minimal encoding of `value` takes.
pub(crate) const fn len(value: u64) -> usize {
    let mut len = 1;
    let mut v = value >> 7;
    while v != 0 {
        len += 1;
        v >>= 7;
    }
    len
}

/// Writes `value` in exactly `width` bytes (non-minimal padding with
/// continuation bits where `width` is larger than needed).
///
/// # Errors
/// [`Error::MalformedFrame`] if `value` does not fit `width` or `width` is
/// not 1–8; [`Error::BufferTooSmall`] if `out` is shorter than `width`.
#[cfg(test)]
pub(crate) fn write(value: u64, width: usize, out: &mut [u8]) -> Result<(), Error> {
    if width == 0 || width > MAX_WIDTH || len(value) > width {
        return Err(Error::MalformedFrame);
    }
    let out = out.get_mut(..width).ok_or(Error::BufferTooSmall)?;
    put(value, out);
    Ok(())
}

/// Writes `value` in `out.len()` bytes: the infallible form of `write`
/// for lengths checked beforehand (after decryption nothing may fail).
/// Bits of `value` that do not fit are dropped.
pub(crate) fn put(value: u64, out: &mut [u8]) {
    let width = out.len();
    let mut v = value;
    for (i, byte) in out.iter_mut().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // masked to 7 bits
        let low = (v & 0x7f) as u8;
        v >>= 7;
        *byte = if i + 1 < width { low | 0x80 } else { low };
    }
}

/// The width a field of `width` bytes gets when its value grows to `new`:
/// the old width if the new value fits, else the minimal one.
pub(crate) fn grown_width(width: usize, new: u64) -> usize {
    width.max(len(new))
}

/// The width a receiver restores: the received width if it is wider than
/// needed for the received value (the sender kept a padded width), else
/// the minimal width of the original value. Never wider than `width`
/// when `original <= received`.
pub(crate) fn restored_width(width: usize, received: u64, original: u64) -> usize {
    if width > len(received) {
        width
    } else {
        len(original)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips_with_padding() {
        let mut buf = [0u8; 8];
        for (value, width) in [(0u64, 1), (127, 1), (128, 2), (5, 4), (MAX_VALUE, 5)] {
            write(value, width, &mut buf).unwrap();
            assert_eq!(read(&buf).unwrap(), (value, width));
        }
        assert!(write(128, 1, &mut buf).is_err());
    }

    #[test]
    fn oversized_leb128_is_rejected() {
        assert!(read(&[0x80; 9]).is_err());
        assert!(read(&[0xff, 0xff, 0xff, 0xff, 0x10]).is_err());
    }

    #[test]
    fn restored_width_inverts_grown_width_for_minimal_encodings() {
        for old in [0u64, 100, 127, 16_000, 16_383] {
            for grow in [1u64, 17, 33] {
                let width = len(old);
                let new = old + grow;
                let w = grown_width(width, new);
                assert_eq!(restored_width(w, new, old), width);
            }
        }
    }

    #[test]
    fn restored_width_never_exceeds_the_received_width() {
        for received in [0u64, 1, 127, 128, 16_383, 16_384, MAX_VALUE] {
            for width in len(received)..=MAX_WIDTH {
                for original in [0, received / 2, received] {
                    assert!(restored_width(width, received, original) <= width);
                }
            }
        }
    }
}
