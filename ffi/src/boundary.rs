//! Crossing the C boundary: raw pointers to slices and references, with
//! every check C callers need (NULL, absurd lengths, overlapping buffers),
//! and panics caught before they reach C.

use core::slice;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::framecrypt_result;

/// The result of work on the Rust side of the boundary.
pub(crate) type Outcome = Result<(), framecrypt_result>;

/// Runs `f`, turning its outcome into a result code. A panic (a framecrypt
/// bug) becomes `FRAMECRYPT_ERR_INTERNAL` instead of unwinding into C,
/// which would be undefined behaviour.
pub(crate) fn guard(f: impl FnOnce() -> Outcome) -> framecrypt_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => framecrypt_result::FRAMECRYPT_OK,
        Ok(Err(code)) => code,
        Err(_) => framecrypt_result::FRAMECRYPT_ERR_INTERNAL,
    }
}

/// A length no Rust slice may have (`slice::from_raw_parts` requires
/// `len <= isize::MAX`).
fn check_len(len: usize) -> Outcome {
    if isize::try_from(len).is_err() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_LENGTH_TOO_LARGE);
    }
    Ok(())
}

/// The `len` bytes at `ptr` as a slice. NULL is accepted for an empty
/// buffer (C callers often pass `NULL, 0` for "none").
///
/// # Safety
/// If `len > 0` and `ptr` is not NULL, `ptr` must be valid for reads of
/// `len` bytes, and nothing may write them during `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], framecrypt_result> {
    check_len(len)?;
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    // SAFETY: `ptr` is non-NULL and, by the caller's contract, valid for
    // reads of `len <= isize::MAX` bytes that nothing writes during 'a.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// The `len` bytes at `ptr` as a mutable slice; NULL is accepted for an
/// empty buffer.
///
/// # Safety
/// If `len > 0` and `ptr` is not NULL, `ptr` must be valid for reads and
/// writes of `len` bytes, and nothing else may access them during `'a`
/// (checked against the call's inputs with [`disjoint`]).
pub(crate) unsafe fn bytes_mut<'a>(
    ptr: *mut u8,
    len: usize,
) -> Result<&'a mut [u8], framecrypt_result> {
    check_len(len)?;
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    // SAFETY: `ptr` is non-NULL and, by the caller's contract, valid for
    // reads and writes of `len <= isize::MAX` bytes with no other access
    // during 'a.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// `FRAMECRYPT_ERR_BUFFERS_OVERLAP` if the output `out` (`out_len` bytes)
/// shares a byte with any input. Checked before any slice is made: an
/// overlap would alias a `&mut [u8]` with a `&[u8]`. An absurd length is
/// reported as such first, since it would "overlap" anything.
pub(crate) fn disjoint(out: *const u8, out_len: usize, inputs: &[(*const u8, usize)]) -> Outcome {
    check_len(out_len)?;
    for &(_, len) in inputs {
        check_len(len)?;
    }
    let (out_start, out_end) = (out as usize, (out as usize).saturating_add(out_len));
    for &(ptr, len) in inputs {
        let (start, end) = (ptr as usize, (ptr as usize).saturating_add(len));
        if out_len > 0 && len > 0 && start < out_end && out_start < end {
            return Err(framecrypt_result::FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        }
    }
    Ok(())
}

/// Writes `value` through the out-pointer `ptr`.
///
/// # Safety
/// If not NULL, `ptr` must be valid for a write of `T` (alignment
/// included).
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) -> Outcome {
    if ptr.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    // SAFETY: non-NULL and, by the caller's contract, valid and aligned for
    // a write of `T`; `write` does not read or drop the old value, which
    // may be uninitialised.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Like [`write`], but a NULL `ptr` means "not wanted".
///
/// # Safety
/// As [`write`].
pub(crate) unsafe fn write_optional<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL, and the caller's contract is `write`'s.
        let _ = unsafe { write(ptr, value) };
    }
}

/// The buffers of a call that reads `metadata` and `input` and writes
/// `out`.
pub(crate) struct Io<'a> {
    pub(crate) metadata: &'a [u8],
    pub(crate) input: &'a [u8],
    pub(crate) out: &'a mut [u8],
}

/// Checks that `out` overlaps neither input, then makes the three slices.
///
/// # Safety
/// `metadata` and `input` as for [`bytes`], `out` as for [`bytes_mut`].
pub(crate) unsafe fn io<'a>(
    metadata: (*const u8, usize),
    input: (*const u8, usize),
    out: (*mut u8, usize),
) -> Result<Io<'a>, framecrypt_result> {
    disjoint(out.0, out.1, &[metadata, input])?;
    Ok(Io {
        // SAFETY: the caller's contract.
        metadata: unsafe { bytes(metadata.0, metadata.1) }?,
        // SAFETY: the caller's contract.
        input: unsafe { bytes(input.0, input.1) }?,
        // SAFETY: the caller's contract; `out` shares no byte with the
        // inputs (checked above).
        out: unsafe { bytes_mut(out.0, out.1) }?,
    })
}

/// Checks that the out-pointer `ptr` is not NULL, before any work is done,
/// so that a call that will fail for it changes no state.
pub(crate) fn required<T>(ptr: *const T) -> Outcome {
    if ptr.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_found_at_every_edge() {
        let buf = [0u8; 32];
        let p = buf.as_ptr();
        let at = |i: usize| p.wrapping_add(i);
        // Touching but not sharing a byte is fine, either side.
        assert_eq!(disjoint(at(0), 8, &[(at(8), 8)]), Ok(()));
        assert_eq!(disjoint(at(8), 8, &[(at(0), 8)]), Ok(()));
        // One shared byte at either end is an overlap.
        assert!(disjoint(at(0), 9, &[(at(8), 8)]).is_err());
        assert!(disjoint(at(8), 8, &[(at(0), 9)]).is_err());
        // Containment, both ways.
        assert!(disjoint(at(0), 32, &[(at(4), 1)]).is_err());
        assert!(disjoint(at(4), 1, &[(at(0), 32)]).is_err());
        // Empty buffers share no byte.
        assert_eq!(disjoint(at(4), 0, &[(at(0), 32)]), Ok(()));
        assert_eq!(disjoint(at(0), 32, &[(at(4), 0)]), Ok(()));
        // Any input of several may overlap.
        assert!(disjoint(at(0), 8, &[(at(16), 8), (at(7), 1)]).is_err());
        // An absurd length is named as such, not as an overlap.
        let huge = usize::MAX;
        let too_large = Err(framecrypt_result::FRAMECRYPT_ERR_LENGTH_TOO_LARGE);
        assert_eq!(disjoint(at(0), 8, &[(at(16), 8), (at(0), huge)]), too_large);
        assert_eq!(disjoint(at(0), huge, &[(at(16), 8)]), too_large);
    }

    #[test]
    fn null_is_empty_only_when_the_length_is_zero() {
        // SAFETY: NULL with length 0 is never dereferenced.
        assert_eq!(unsafe { bytes(core::ptr::null(), 0) }, Ok(&[][..]));
        // SAFETY: NULL with a length is refused before any dereference.
        let refused = unsafe { bytes(core::ptr::null(), 1) };
        assert_eq!(refused, Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER));
        // SAFETY: an absurd length is refused before any dereference.
        let absurd = unsafe { bytes(core::ptr::dangling(), usize::MAX) };
        assert_eq!(
            absurd,
            Err(framecrypt_result::FRAMECRYPT_ERR_LENGTH_TOO_LARGE)
        );
    }
}
