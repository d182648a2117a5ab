//! Byte moves shared by the cipher backends and the codec engine.

/// `dst.copy_from_slice(src)` for the few bytes of a header or of codec
/// metadata: fixed-width (overlapping) moves instead of a call to
/// `memcpy`, which costs more than the copy at these lengths (past 64
/// bytes, `memcpy`).
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n > 64 {
        dst.copy_from_slice(src);
    } else if n >= 16 {
        let mut i = 0;
        while i + 16 <= n {
            dst[i..i + 16].copy_from_slice(&src[i..i + 16]);
            i += 16;
        }
        if i < n {
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::cast_possible_truncation)] // test data from indices

    use super::copy_short;

    #[test]
    fn a_short_copy_writes_exactly_its_bytes() {
        let src: [u8; 80] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) | 1);
        for len in 0..=src.len() {
            for at in [0, 1, 7] {
                let mut dst = [0u8; 96];
                copy_short(&mut dst[at..at + len], &src[..len]);
                assert_eq!(&dst[at..at + len], &src[..len], "len {len} at {at}");
                assert!(dst[..at].iter().all(|&b| b == 0), "len {len} at {at}");
                assert!(dst[at + len..].iter().all(|&b| b == 0), "len {len} at {at}");
            }
        }
    }
}
