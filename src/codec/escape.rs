//! Start-code emulation prevention for the encrypted part of an H.264 or
//! H.265 NAL unit (ITU-T H.264 §7.4.1, H.265 §7.4.2: `emulation_prevention_three_byte`).
//!
//! The protected region of a NAL unit follows its clear prefix and is
//! followed by the next start code (or the end of the frame). Escaping gives
//! it two properties:
//!
//! 1. No `00 00 00`, `00 00 01` or `00 00 02` appears in it, counting the
//!    zeros that end the clear prefix: after two zeros, a byte `<= 03` is
//!    preceded by an inserted `03`, exactly as the codecs' own rule.
//! 2. It never ends with `00`, so a following start code cannot absorb its
//!    last byte: if the escaped bytes end with `00 03…03` (any number of
//!    `03`, the `00` possibly being the last clear byte), one more `03` is
//!    appended; a receiver removes one `03` from such an ending.
//!
//! Decoding is strict: only the canonical encoding of some input is accepted,
//! so `escape(unescape(x)) == x` whenever `unescape(x)` succeeds.

use crate::error::Error;

/// The emulation prevention byte.
const EPB: u8 = 0x03;

/// Zeros at the end of `clear` that count towards the escaping state (0–2).
pub(crate) fn trailing_zeros(clear: &[u8]) -> u8 {
    match clear {
        [.., 0, 0] => 2,
        [.., 0] => 1,
        _ => 0,
    }
}

/// The most bytes escaping `len` bytes can produce, trailer included.
#[cfg(test)]
pub(crate) const fn max_escaped_len(len: usize) -> usize {
    len.saturating_add(len.div_ceil(2)).saturating_add(1)
}

/// Escapes `buf[read..read + len]` to `buf[write..]`, where `write <= read`
/// (writes never overtake unread input as long as the caller sized `buf`
/// for the worst case; this is checked). `zeros` is
/// [`trailing_zeros`] of the clear prefix and `clear_last` its last byte.
/// Returns the number of bytes written.
pub(crate) fn escape_within(
    buf: &mut [u8],
    read: usize,
    len: usize,
    write: usize,
    zeros: u8,
    clear_last: Option<u8>,
) -> Result<usize, Error> {
    let end = read.checked_add(len).ok_or(Error::BufferTooSmall)?;
    if end > buf.len() {
        return Err(Error::BufferTooSmall);
    }
    let mut w = write;
    let mut z = zeros;
    for r in read..end {
        let b = buf[r];
        if z >= 2 && b <= EPB {
            put(buf, &mut w, r + 1, EPB)?;
            z = 0;
        }
        put(buf, &mut w, r + 1, b)?;
        z = if b == 0 { z + 1 } else { 0 };
    }
    if needs_trailer(&buf[write..w], clear_last) {
        // The trailer may land on the byte after the input: nothing unread.
        put(buf, &mut w, usize::MAX, EPB)?;
    }
    Ok(w - write)
}

/// Writes `b` at `*w` if that does not overwrite input at or after `limit`.
fn put(buf: &mut [u8], w: &mut usize, limit: usize, b: u8) -> Result<(), Error> {
    if *w >= limit {
        return Err(Error::BufferTooSmall);
    }
    *buf.get_mut(*w).ok_or(Error::BufferTooSmall)? = b;
    *w += 1;
    Ok(())
}

/// Whether escaped bytes `esc` (after a clear prefix ending in `clear_last`)
/// end with `00 03…03` (zero or more `03`) and so need one more `03`.
fn needs_trailer(esc: &[u8], clear_last: Option<u8>) -> bool {
    if esc.is_empty() {
        return false;
    }
    let run = esc.iter().rev().take_while(|&&b| b == EPB).count();
    let before = if run < esc.len() {
        Some(esc[esc.len() - run - 1])
    } else {
        clear_last
    };
    before == Some(0)
}

/// Removes the escaping of `region` (a protected region as received), calling
/// `sink` with each unescaped byte in order. Returns the unescaped length.
///
/// # Errors
/// [`Error::MalformedFrame`] if `region` is not the canonical escaping of
/// any input.
pub(crate) fn unescape(
    region: &[u8],
    zeros: u8,
    clear_last: Option<u8>,
    mut sink: impl FnMut(u8),
) -> Result<usize, Error> {
    if region.last() == Some(&0) {
        return Err(Error::MalformedFrame);
    }
    // Property 2: drop the trailer `03` if the ending is `00 03…03`.
    let run = region.iter().rev().take_while(|&&b| b == EPB).count();
    let body = if run > 0 {
        let before = if run < region.len() {
            Some(region[region.len() - run - 1])
        } else {
            clear_last
        };
        if before == Some(0) {
            // The trailer follows escaped bytes, never stands alone.
            if region.len() == 1 {
                return Err(Error::MalformedFrame);
            }
            &region[..region.len() - 1]
        } else {
            region
        }
    } else {
        region
    };
    let mut z = zeros;
    let mut count = 0usize;
    let mut after_epb = false;
    for &b in body {
        if after_epb {
            // An inserted `03` is always followed by a byte `<= 03`.
            if b > EPB {
                return Err(Error::MalformedFrame);
            }
            after_epb = false;
        } else if z >= 2 {
            match b {
                EPB => {
                    z = 0;
                    after_epb = true;
                    continue;
                }
                0..=2 => return Err(Error::MalformedFrame),
                _ => {}
            }
        }
        sink(b);
        count += 1;
        z = if b == 0 { z.saturating_add(1) } else { 0 };
    }
    if after_epb {
        return Err(Error::MalformedFrame);
    }
    Ok(count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate alloc;
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use proptest::prelude::*;

    fn escape(data: &[u8], clear: &[u8]) -> Vec<u8> {
        let n = data.len();
        let cap = max_escaped_len(n) + n;
        let mut buf = vec![0u8; cap];
        buf[cap - n..].copy_from_slice(data);
        let w = escape_within(
            &mut buf,
            cap - n,
            n,
            0,
            trailing_zeros(clear),
            clear.last().copied(),
        )
        .unwrap();
        buf.truncate(w);
        buf
    }

    fn unescaped(region: &[u8], clear: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        unescape(region, trailing_zeros(clear), clear.last().copied(), |b| {
            out.push(b);
        })?;
        Ok(out)
    }

    fn has_start_code_emulation(clear: &[u8], esc: &[u8]) -> bool {
        let mut all = clear.to_vec();
        all.extend_from_slice(esc);
        // The next start code follows: the region must not end in a zero.
        esc.last() == Some(&0)
            || all
                .windows(3)
                .skip(clear.len().saturating_sub(2))
                .any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2)
    }

    #[test]
    fn zeros_after_clear_zeros_are_escaped() {
        assert_eq!(escape(&[0, 1], &[0x65, 0, 0]), [3, 0, 1]);
        assert_eq!(escape(&[0, 0, 0], &[0x65]), [0, 0, 3, 0, 3]);
    }

    #[test]
    fn trailing_zero_gets_a_trailer() {
        assert_eq!(escape(&[7, 0], &[0x65]), [7, 0, 3]);
        assert_eq!(unescaped(&[7, 0, 3], &[0x65]).unwrap(), [7, 0]);
        // Data that itself ends in `00 03` keeps an extra trailer.
        assert_eq!(escape(&[7, 0, 3], &[0x65]), [7, 0, 3, 3]);
        assert_eq!(unescaped(&[7, 0, 3, 3], &[0x65]).unwrap(), [7, 0, 3]);
        // The zero may be the last clear byte.
        assert_eq!(escape(&[3], &[0x65, 0]), [3, 3]);
        assert_eq!(unescaped(&[3, 3], &[0x65, 0]).unwrap(), [3]);
    }

    #[test]
    fn non_canonical_escaping_is_rejected() {
        // `03` inserted where nothing needed escaping.
        assert!(unescaped(&[0, 0, 3, 9], &[0x65]).is_err());
        // A raw `00 00 02`.
        assert!(unescaped(&[0, 0, 2], &[0x65]).is_err());
        // A region ending in zero.
        assert!(unescaped(&[5, 0], &[0x65]).is_err());
    }

    #[test]
    fn worst_case_growth_is_within_the_bound() {
        for n in 0..64 {
            let data = vec![0u8; n];
            let esc = escape(&data, &[0, 0]);
            assert!(esc.len() <= max_escaped_len(n), "n = {n}");
        }
    }

    proptest! {
        #[test]
        fn escaping_round_trips_and_hides_start_codes(
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..200),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..4),
        ) {
            let esc = escape(&data, &clear);
            prop_assert!(esc.len() <= max_escaped_len(data.len()));
            prop_assert!(!has_start_code_emulation(&clear, &esc));
            prop_assert_eq!(unescaped(&esc, &clear).unwrap(), data);
        }

        #[test]
        fn accepted_encodings_are_canonical(
            region in proptest::collection::vec(prop_oneof![Just(0u8), Just(3u8), Just(1u8), any::<u8>()], 0..64),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..3),
        ) {
            if let Ok(data) = unescaped(&region, &clear) {
                prop_assert_eq!(escape(&data, &clear), region);
            }
        }
    }
}
