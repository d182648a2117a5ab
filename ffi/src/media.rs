//! The SFU's key-less view of a protected frame (`framecrypt::sfu`) and
//! SFrame header parsing (RFC 9605 §4.3), for C: no object, no key.

use core::mem::size_of;

use framecrypt::{Header, sfu};

use crate::boundary::{bytes, guard, required, write};
use crate::params::{CodecId, codec};
use crate::receiver::framecrypt_header;
use crate::result::framecrypt_result;

/// What an SFU can learn of a protected frame without any key. Fields
/// that the clear bytes do not tell are -1 (signed fields) or 0.
///
/// The struct may grow in later versions (new fields at the end). Set
/// `struct_size` to `sizeof(framecrypt_sfu_view)` before the call: the
/// library then writes only the fields that fit in `struct_size` bytes.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct framecrypt_sfu_view {
    /// The size of the struct as the caller knows it:
    /// `sizeof(framecrypt_sfu_view)`. Set by the caller, never written.
    pub struct_size: usize,
    /// The SFrame header's KID and counter.
    pub header: framecrypt_header,
    /// Where the SFrame header starts (after the codec's clear prefix).
    pub header_offset: usize,
    /// The SFrame header's length.
    pub header_len: usize,
    /// Clear codec bytes (payload header, NAL/OBU headers, start codes).
    pub clear_len: usize,
    /// Encrypted bytes and tag.
    pub sealed_len: usize,
    /// Bytes added by H.264/H.265 start-code escaping.
    pub escape_len: usize,
    /// 1 for a keyframe, 0 for a delta frame, -1 if the clear bytes do not
    /// say.
    pub keyframe: i8,
    /// VP8 keyframe width in pixels, or 0.
    pub width: u16,
    /// VP8 keyframe height in pixels, or 0.
    pub height: u16,
    /// H.264/H.265: the frame carries parameter sets.
    pub parameter_sets: bool,
    /// AV1: the frame carries a sequence header.
    pub sequence_header: bool,
    /// H.265 or AV1 temporal layer, or -1.
    pub temporal_id: i16,
    /// AV1 spatial layer, or -1.
    pub spatial_id: i16,
    /// The Opus TOC byte, or -1.
    pub opus_toc: i16,
}

impl Default for framecrypt_sfu_view {
    /// A view with `struct_size` set, as C callers set it.
    fn default() -> Self {
        Self {
            struct_size: size_of::<Self>(),
            header: framecrypt_header::default(),
            header_offset: 0,
            header_len: 0,
            clear_len: 0,
            sealed_len: 0,
            escape_len: 0,
            keyframe: -1,
            width: 0,
            height: 0,
            parameter_sets: false,
            sequence_header: false,
            temporal_id: -1,
            spatial_id: -1,
            opus_toc: -1,
        }
    }
}

/// Reads the protected frame `payload` of `codec` as an SFU may, without a
/// key, and stores what it tells in `*view`. `FRAMECRYPT_CODEC_UNKNOWN`
/// and `FRAMECRYPT_CODEC_VP9` frames are read header first. Never reads
/// outside `payload`, whatever it holds.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_FRAME` if the clear structure does not parse;
/// `FRAMECRYPT_ERR_MALFORMED_HEADER` if the SFrame header is truncated;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` if `codec` is not a
/// `framecrypt_codec`, or `view->struct_size` is smaller than this
/// version's struct; `FRAMECRYPT_ERR_NULL_POINTER`;
/// `FRAMECRYPT_ERR_LENGTH_TOO_LARGE`. On failure `*view` is left as it
/// was.
///
/// # Safety
/// `payload` must be readable for `payload_len` bytes; `view` readable
/// for its `struct_size` field and writable for `view->struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sfu_inspect(
    codec: CodecId,
    payload: *const u8,
    payload_len: usize,
    view: *mut framecrypt_sfu_view,
) -> framecrypt_result {
    guard(|| {
        required(view)?;
        // `struct_size` is the first field of a `repr(C)` struct.
        let size_field = view.cast::<usize>();
        // SAFETY: non-NULL, and by the caller's contract readable for the
        // first field.
        let struct_size = unsafe { size_field.read() };
        if struct_size < size_of::<framecrypt_sfu_view>() {
            return Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER);
        }
        let codec = self::codec(codec)?;
        // SAFETY: the caller's contract.
        let payload = unsafe { bytes(payload, payload_len) }?;
        let seen = sfu::inspect_codec(codec, payload)?;
        let hints = seen.hints();
        let value = framecrypt_sfu_view {
            struct_size,
            header: seen.header().into(),
            header_offset: seen.header_offset(),
            header_len: seen.header_len(),
            clear_len: seen.clear_len(),
            sealed_len: seen.sealed_len(),
            escape_len: seen.escape_len(),
            keyframe: hints.keyframe.map_or(-1, i8::from),
            width: hints.width.unwrap_or(0),
            height: hints.height.unwrap_or(0),
            parameter_sets: hints.parameter_sets,
            sequence_header: hints.sequence_header,
            temporal_id: hints.temporal_id.map_or(-1, i16::from),
            spatial_id: hints.spatial_id.map_or(-1, i16::from),
            opus_toc: hints.opus_toc.map_or(-1, i16::from),
        };
        // This version's struct is the smallest there is, so all of it
        // fits; bytes of a larger (newer) struct past it are left alone.
        // SAFETY: the caller's contract: writable for `struct_size` bytes,
        // at least the size of `framecrypt_sfu_view`.
        unsafe { write(view, value) }
    })
}

/// Parses the SFrame header (RFC 9605 §4.3) at the start of `frame`:
/// stores its KID and counter in `*header_out` and its length in
/// `*header_len_out`.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_HEADER` if it is truncated;
/// `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_LENGTH_TOO_LARGE`.
///
/// # Safety
/// `frame` must be readable for `frame_len` bytes; `header_out` and
/// `header_len_out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_header_parse(
    frame: *const u8,
    frame_len: usize,
    header_out: *mut framecrypt_header,
    header_len_out: *mut usize,
) -> framecrypt_result {
    guard(|| {
        required(header_out)?;
        required(header_len_out)?;
        // SAFETY: the caller's contract.
        let frame = unsafe { bytes(frame, frame_len) }?;
        let parsed = Header::parse(frame)?;
        // SAFETY: the caller's contract.
        unsafe { write(header_out, parsed.header().into()) }?;
        // SAFETY: the caller's contract.
        unsafe { write(header_len_out, parsed.len()) }
    })
}
