//! Codec-aware protection (`framecrypt::codec`), the SFU's key-less view
//! (`framecrypt::sfu`) and header parsing (RFC 9605 §4.3) for C.

use core::ptr::null;

use framecrypt::codec::{self, Layout, Protection};
use framecrypt::prelude::*;
use framecrypt::{Header, sfu};

use crate::boundary::{bytes, guard, io, object, required, write, write_optional};
use crate::params::{codec, fallback, suite};
use crate::receiver::{framecrypt_header, framecrypt_receiver};
use crate::result::framecrypt_result;
use crate::sender::framecrypt_sender;

/// Stores in `*len_out` the largest protected frame `framecrypt_protect`
/// can make of a `frame_len`-byte frame of `codec` under `suite`: the
/// capacity its `out` needs.
///
/// # Errors
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for an unknown codec number;
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE`; `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `len_out` must be valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_max_protected_len(
    codec: u32,
    suite: u16,
    frame_len: usize,
    len_out: *mut usize,
) -> framecrypt_result {
    guard(|| {
        let len = codec::max_protected_len(self::codec(codec)?, self::suite(suite)?, frame_len);
        // SAFETY: the caller's contract.
        unsafe { write(len_out, len) }
    })
}

/// Protects the encoded frame `frame` of `codec` with `sender` into `out`,
/// keeping the codec's clear bytes readable for packetizers and SFUs
/// (module docs of `framecrypt::codec`), and stores the protected length
/// in `*out_len`. With `FRAMECRYPT_FALLBACK_WHOLE_FRAME`, a frame the
/// codec rule cannot handle is encrypted whole; `*whole_frame_out` (if not
/// NULL) says whether that happened.
///
/// # Errors
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL` if `out_capacity` is below
/// `framecrypt_max_protected_len` (no counter is used);
/// `FRAMECRYPT_ERR_MALFORMED_FRAME` and `FRAMECRYPT_ERR_UNSUPPORTED_CODEC`
/// with `FRAMECRYPT_FALLBACK_REJECT`; `FRAMECRYPT_ERR_COUNTER_EXHAUSTED`;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for an unknown codec or fallback
/// number; `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP`.
///
/// # Safety
/// `sender` must be a live sender; `frame` readable for `frame_len` bytes;
/// `out` writable for `out_capacity` bytes; `out_len` valid for a write;
/// `whole_frame_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_protect(
    sender: *mut framecrypt_sender,
    codec: u32,
    fallback: u32,
    frame: *const u8,
    frame_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
    whole_frame_out: *mut bool,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        let protection = Protection::new(self::codec(codec)?, self::fallback(fallback)?);
        // SAFETY: the caller's contract.
        let io = unsafe { io((null(), 0), (frame, frame_len), (out, out_capacity)) }?;
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let done = protection.protect(&mut sender.0, io.input, io.out)?;
        // SAFETY: the caller's contract.
        unsafe { write_optional(whole_frame_out, done.layout() == Layout::WholeFrame) };
        // SAFETY: the caller's contract.
        unsafe { write(out_len, done.len()) }
    })
}

/// Restores a frame protected by `framecrypt_protect` with the same
/// `codec` and `fallback`: decrypts `protected_frame` with `receiver` into
/// `out` (at least `protected_len` bytes) and stores the frame's length in
/// `*out_len` and, if `header_out` is not NULL, its KID and counter.
/// `now_ms` is as for `framecrypt_receiver_decrypt`.
///
/// On failure `out` holds no plaintext.
///
/// # Errors
/// As `framecrypt_receiver_decrypt`; `FRAMECRYPT_ERR_MALFORMED_FRAME` and
/// `FRAMECRYPT_ERR_UNSUPPORTED_CODEC` with `FRAMECRYPT_FALLBACK_REJECT`;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for an unknown codec or fallback
/// number.
///
/// # Safety
/// `receiver` must be a live receiver; `protected_frame` readable for
/// `protected_len` bytes; `out` writable for `out_capacity` bytes;
/// `out_len` valid for a write; `header_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_unprotect(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    codec: u32,
    fallback: u32,
    protected_frame: *const u8,
    protected_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
    header_out: *mut framecrypt_header,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        let protection = Protection::new(self::codec(codec)?, self::fallback(fallback)?);
        // SAFETY: the caller's contract.
        let io = unsafe {
            io(
                (null(), 0),
                (protected_frame, protected_len),
                (out, out_capacity),
            )
        }?;
        // SAFETY: the caller's contract.
        let receiver = unsafe { object(receiver) }?;
        let done = protection.unprotect(&mut receiver.0.at(now_ms), io.input, io.out)?;
        // SAFETY: the caller's contract.
        unsafe { write_optional(header_out, done.header().into()) };
        // SAFETY: the caller's contract.
        unsafe { write(out_len, done.len()) }
    })
}

/// What an SFU can learn of a protected frame without any key. Fields
/// that the clear bytes do not tell are -1 (signed fields) or 0.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct framecrypt_sfu_view {
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
    /// Bytes added by H.26x start-code escaping.
    pub escape_len: usize,
    /// 1 for a keyframe, 0 for a delta frame, -1 if the clear bytes do not
    /// say.
    pub keyframe: i8,
    /// VP8 keyframe width in pixels, or 0.
    pub width: u16,
    /// VP8 keyframe height in pixels, or 0.
    pub height: u16,
    /// H.26x: the frame carries parameter sets.
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

/// Reads the protected frame `payload` of `codec` as an SFU may, without a
/// key, and stores what it tells in `*view_out`. `FRAMECRYPT_CODEC_UNKNOWN`
/// and `FRAMECRYPT_CODEC_VP9` frames are read header first. Never reads
/// outside `payload`, whatever it holds.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_FRAME` if the clear structure does not parse;
/// `FRAMECRYPT_ERR_MALFORMED_HEADER` if the SFrame header is truncated;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for an unknown codec number;
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `payload` must be readable for `payload_len` bytes; `view_out` valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sfu_inspect(
    codec: u32,
    payload: *const u8,
    payload_len: usize,
    view_out: *mut framecrypt_sfu_view,
) -> framecrypt_result {
    guard(|| {
        required(view_out)?;
        let codec = self::codec(codec)?;
        // SAFETY: the caller's contract.
        let payload = unsafe { bytes(payload, payload_len) }?;
        let view = sfu::inspect_codec(codec, payload)?;
        let hints = view.hints();
        let view = framecrypt_sfu_view {
            header: view.header().into(),
            header_offset: view.header_offset(),
            header_len: view.header_len(),
            clear_len: view.clear_len(),
            sealed_len: view.sealed_len(),
            escape_len: view.escape_len(),
            keyframe: hints.keyframe.map_or(-1, i8::from),
            width: hints.width.unwrap_or(0),
            height: hints.height.unwrap_or(0),
            parameter_sets: hints.parameter_sets,
            sequence_header: hints.sequence_header,
            temporal_id: hints.temporal_id.map_or(-1, i16::from),
            spatial_id: hints.spatial_id.map_or(-1, i16::from),
            opus_toc: hints.opus_toc.map_or(-1, i16::from),
        };
        // SAFETY: the caller's contract.
        unsafe { write(view_out, view) }
    })
}

/// Parses the SFrame header (RFC 9605 §4.3) at the start of `frame`:
/// stores its KID and counter in `*header_out` and its length in
/// `*header_len_out`.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_HEADER` if it is truncated;
/// `FRAMECRYPT_ERR_NULL_POINTER`.
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
