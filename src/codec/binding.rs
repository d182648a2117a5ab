//! The metadata that binds a frame's clear structure into the SFrame AAD
//! (RFC 9605 §4.4.3: `AAD = header || metadata`).
//!
//! The description lists, for every authenticated unit of the frame, its
//! authenticated clear bytes and the length of its encrypted piece:
//!
//! ```text
//! description = codec_id (1) || unit*
//! unit        = leb128(clear_len) || clear bytes || leb128(piece_len)
//! metadata    = 0x01 || description                  (description <= 128 bytes)
//!             | 0x02 || SHA-256(description)         (longer)
//! ```
//!
//! A short description is bound as it is (no hashing for the common
//! audio/VP8/P-frame case); a long one (H.264 SPS/PPS/SEI can run to
//! kilobytes) is hashed, so the metadata is never longer than 129 bytes and
//! every suite stays allocation-free (see [`crate::INLINE_AAD_CAPACITY`]).
//! The leading byte separates the two forms.

use sha2::{Digest, Sha256};

/// Descriptions up to this length are bound verbatim.
pub(crate) const DIRECT_MAX: usize = 128;

const FORM_DIRECT: u8 = 0x01;
const FORM_HASHED: u8 = 0x02;

/// Builds the metadata incrementally, on the stack.
pub(crate) struct Binding {
    buf: [u8; 1 + DIRECT_MAX],
    len: usize,
    hasher: Option<Sha256>,
}

impl Binding {
    #[inline]
    pub(crate) fn new(codec_id: u8) -> Self {
        let mut buf = [0; 1 + DIRECT_MAX];
        buf[0] = FORM_DIRECT;
        buf[1] = codec_id;
        Self {
            buf,
            len: 2,
            hasher: None,
        }
    }

    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if self.hasher.is_none()
            && let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len())
        {
            // Most pushes are a few bytes: a loop beats a call to memcpy.
            if bytes.len() <= 16 {
                for (d, s) in dst.iter_mut().zip(bytes) {
                    *d = *s;
                }
            } else {
                dst.copy_from_slice(bytes);
            }
            self.len += bytes.len();
            return;
        }
        self.push_hashed(bytes);
    }

    /// Past [`DIRECT_MAX`] bytes the description is hashed.
    fn push_hashed(&mut self, bytes: &[u8]) {
        match &mut self.hasher {
            Some(hasher) => hasher.update(bytes),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(&self.buf[1..self.len]);
                hasher.update(bytes);
                self.hasher = Some(hasher);
            }
        }
    }

    #[inline]
    fn push_len(&mut self, mut value: usize) {
        let mut bytes = [0u8; 10];
        let mut n = 0;
        loop {
            #[allow(clippy::cast_possible_truncation)] // masked to 7 bits
            let low = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                bytes[n] = low;
                n += 1;
                break;
            }
            bytes[n] = low | 0x80;
            n += 1;
        }
        self.push(&bytes[..n]);
    }

    /// Adds one unit: its authenticated clear bytes and piece length.
    #[inline]
    pub(crate) fn unit(&mut self, clear: &[u8], piece_len: usize) {
        self.push_len(clear.len());
        self.push(clear);
        self.push_len(piece_len);
    }

    /// The metadata to pass to the sender or receiver.
    #[inline]
    pub(crate) fn finish(&mut self) -> &[u8] {
        if let Some(hasher) = self.hasher.take() {
            self.buf[0] = FORM_HASHED;
            self.buf[1..33].copy_from_slice(&hasher.finalize());
            self.len = 33;
        }
        &self.buf[..self.len]
    }
}

/// The clear bytes a one-unit frame may have for [`single`]: VP8's 10.
pub(crate) const SINGLE_CLEAR_MAX: usize = 10;

/// The longest metadata [`single`] writes: form, codec, clear length,
/// clear bytes, piece length.
pub(crate) const SINGLE_LEN: usize = 3 + SINGLE_CLEAR_MAX + 10;

/// The metadata of a frame that is one unit (Opus, VP8, VP9): the same
/// bytes as [`Binding`] makes for it, written straight into `buf`.
/// `clear` is at most [`SINGLE_CLEAR_MAX`] bytes.
#[inline]
pub(crate) fn single<'b>(
    codec_id: u8,
    clear: &[u8],
    piece_len: usize,
    buf: &'b mut [u8; SINGLE_LEN],
) -> &'b [u8] {
    debug_assert!(clear.len() <= SINGLE_CLEAR_MAX);
    buf[0] = FORM_DIRECT;
    buf[1] = codec_id;
    #[allow(clippy::cast_possible_truncation)] // at most SINGLE_CLEAR_MAX
    let clear_len = clear.len() as u8;
    buf[2] = clear_len;
    let mut n = 3;
    for &b in clear {
        buf[n] = b;
        n += 1;
    }
    let mut value = piece_len;
    loop {
        #[allow(clippy::cast_possible_truncation)] // masked to 7 bits
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buf[n] = low;
            return &buf[..=n];
        }
        buf[n] = low | 0x80;
        n += 1;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_single_unit_binds_as_the_general_description() {
        let mut buf = [0u8; SINGLE_LEN];
        for clear in [
            &[][..],
            &[0xfc],
            &[0x50, 0x2c, 0, 0x9d, 1, 0x2a, 0x80, 2, 0xe0, 1],
        ] {
            for piece in [0, 1, 127, 128, 300_000, usize::MAX] {
                let mut b = Binding::new(3);
                b.unit(clear, piece);
                assert_eq!(single(3, clear, piece, &mut buf), b.finish());
            }
        }
    }

    #[test]
    fn short_descriptions_are_bound_verbatim() {
        let mut b = Binding::new(3);
        b.unit(&[0x9d, 0x01], 300);
        assert_eq!(b.finish(), [FORM_DIRECT, 3, 2, 0x9d, 0x01, 0xac, 0x02]);
    }

    #[test]
    fn long_descriptions_are_hashed() {
        let clear = [7u8; 200];
        let mut b = Binding::new(5);
        b.unit(&clear, 1);
        let m = b.finish();
        assert_eq!(m.len(), 33);
        assert_eq!(m[0], FORM_HASHED);
        let mut d = Sha256::new();
        d.update([5u8, 0xc8, 0x01]);
        d.update(clear);
        d.update([1u8]);
        assert_eq!(&m[1..], d.finalize().as_slice());
    }

    #[test]
    fn moving_a_byte_between_units_changes_the_binding() {
        let mut a = Binding::new(5);
        a.unit(&[1], 10);
        a.unit(&[2], 10);
        let mut b = Binding::new(5);
        b.unit(&[1], 9);
        b.unit(&[2], 11);
        assert_ne!(a.finish(), b.finish());
    }
}
