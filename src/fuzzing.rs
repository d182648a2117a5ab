//! Internals the fuzz targets in `fuzz/` exercise directly. Compiled only
//! with `--cfg fuzzing` (set by cargo-fuzz); not part of the API.

use crate::codec::escape;
use crate::error::Error;

/// The H.26x start-code emulation prevention of [`crate::codec`] applied to
/// `data`, an encrypted piece that follows the clear bytes `clear` of its
/// NAL unit; the escaped bytes go to the start of `out`, and their number
/// is returned.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `out` is shorter than `data` plus half
/// again plus one byte.
pub fn h26x_escape(clear: &[u8], data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    // `escape_within` works inside one buffer: the input at its end, the
    // output from its start.
    let read = out
        .len()
        .checked_sub(data.len())
        .ok_or(Error::BufferTooSmall)?;
    out[read..].copy_from_slice(data);
    escape::escape_within(
        out,
        read,
        data.len(),
        0,
        escape::trailing_zeros(clear),
        clear.last().copied(),
    )
}

/// Removes the escaping of `region` (after the clear bytes `clear`) into
/// the start of `out`; returns the unescaped length.
///
/// # Errors
/// [`Error::MalformedFrame`] if `region` is not the canonical escaping of
/// any input; [`Error::BufferTooSmall`] if `out` is shorter than
/// `region`.
pub fn h26x_unescape(clear: &[u8], region: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if out.len() < region.len() {
        return Err(Error::BufferTooSmall);
    }
    escape::unescape_into(
        region,
        escape::trailing_zeros(clear),
        clear.last().copied(),
        region.len(),
        out,
    )
}
