//! `framecrypt_sender`: one participant's sending key (RFC 9605 §4.4),
//! plain or ratcheting (§5.1), encrypting plain SFrame frames and
//! protecting encoded frames codec-aware.

use core::ptr::null;

use framecrypt::codec::{self, Layout, Protection};
use framecrypt::prelude::*;
use framecrypt::{Counter, Error, KeyId, RatchetBits, RatchetingSender, Sender};
use zeroize::Zeroize;

use crate::boundary::{bytes_mut, guard, io, required, write, write_optional};
use crate::handle::{self, Kind, Object};
use crate::params::{CodecId, FallbackId, SuiteId, base_key, codec, fallback, suite};
use crate::result::framecrypt_result;
use crate::sync::Mutex;

/// A sender: encrypts frames under one key, with a counter that never
/// repeats. Opaque. Create it with `framecrypt_sender_new` (a fixed KID) or
/// `framecrypt_sender_new_ratcheting` (KIDs that follow ratchet steps and
/// generations), and release it with `framecrypt_sender_free`.
///
/// Threads: a sender may be used from any thread, and from several at
/// once. It has a lock of its own: concurrent calls on one sender run one
/// after the other, and every frame still gets a counter of its own. Calls
/// on different senders never wait for each other, except for a moment
/// while a sender or receiver is created or freed.
///
/// `framecrypt_sender_free` waits for calls in progress on the sender to
/// finish; a call that starts after it returns
/// `FRAMECRYPT_ERR_INVALID_HANDLE` (unless a new sender was given the same
/// address in the meantime, which nothing can tell: do not use a handle
/// after freeing it).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct framecrypt_sender {
    state: Mutex<SenderState>,
}

#[derive(Debug)]
pub(crate) struct SenderState {
    kind: SenderKind,
    /// Room for `framecrypt_sender_protect` when the caller's buffer is
    /// smaller than the worst case but may fit the result. Grown on demand
    /// and kept, so a steady stream of frames allocates nothing.
    scratch: Vec<u8>,
}

impl Object for framecrypt_sender {
    const KIND: Kind = Kind::Sender;
    type State = SenderState;

    fn state(&self) -> &Mutex<SenderState> {
        &self.state
    }
}

#[derive(Debug)]
pub(crate) enum SenderKind {
    Plain(Sender),
    Ratcheting(RatchetingSender),
}

/// Every call that seals goes through the role; only ratchet and rekey
/// need the kind.
impl Seal for SenderKind {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        match self {
            Self::Plain(s) => s.current_sender(),
            Self::Ratcheting(s) => s.current_sender(),
        }
    }
}

/// The scratch room kept after a call at most; a larger one (for a huge
/// frame) is released.
const SCRATCH_KEPT: usize = 1 << 20;

/// Hands out a new sender.
///
/// # Safety
/// `out` must be NULL or valid for a write of a pointer.
unsafe fn hand_out(out: *mut *mut framecrypt_sender, kind: SenderKind) -> framecrypt_result {
    let sender = framecrypt_sender {
        state: Mutex::new(SenderState {
            kind,
            scratch: Vec::new(),
        }),
    };
    // SAFETY: the caller's contract.
    guard(|| unsafe { handle::hand_out(out, sender) })
}

/// Creates a sender for `kid` with the base key `base_key[0..base_key_len]`
/// (1 to `FRAMECRYPT_MAX_KEY_LEN` bytes) under `suite`, its counter at 0,
/// and stores it in `*sender_out`.
///
/// **One key, one sender.** Two senders with the same key and KID reuse
/// counters, and with them AES nonces: the XOR of two such ciphertexts is
/// the XOR of the frames. Give every sender a KID or key of its own, and
/// resume a restarted sender at its persisted counter
/// (`framecrypt_sender_resume`).
///
/// # Errors
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE`,
/// `FRAMECRYPT_ERR_INVALID_KEY_LENGTH`, `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `base_key` must be readable for `base_key_len` bytes; `sender_out` must
/// be valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_new(
    suite: SuiteId,
    kid: u64,
    base_key: *const u8,
    base_key_len: usize,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    // SAFETY: the caller's contract, which is `resume`'s.
    unsafe { framecrypt_sender_resume(suite, kid, base_key, base_key_len, 0, sender_out) }
}

/// Creates a sender as `framecrypt_sender_new` does, but with its next
/// counter at `next_ctr`: for a sender restarted with a key it used before,
/// whose next counter was persisted (RFC 9605 §9.1 forbids reusing one).
///
/// # Errors
/// As `framecrypt_sender_new`.
///
/// # Safety
/// As `framecrypt_sender_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_resume(
    suite: SuiteId,
    kid: u64,
    base_key: *const u8,
    base_key_len: usize,
    next_ctr: u64,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        let mut kind = None;
        let r = guard(|| {
            required(sender_out)?;
            let suite = self::suite(suite)?;
            // SAFETY: the caller's contract.
            let key = unsafe { self::base_key(base_key, base_key_len) }?;
            let sender = Sender::resume(suite, KeyId(kid), key, Counter(next_ctr));
            kind = Some(SenderKind::Plain(sender));
            Ok(())
        });
        match kind {
            // SAFETY: the caller's contract.
            Some(kind) => unsafe { hand_out(sender_out, kind) },
            None => r,
        }
    })
}

/// Creates a ratcheting sender (RFC 9605 §5.1) at `generation`, step 0,
/// whose KIDs carry the step in their low `ratchet_bits` bits (1 to 63)
/// and the generation above them. `base_key` is the generation's fresh key.
/// Call `framecrypt_sender_ratchet` when someone joins and
/// `framecrypt_sender_rekey` when someone leaves.
///
/// # Errors
/// As `framecrypt_sender_new`; `FRAMECRYPT_ERR_INVALID_PARAMETER` if
/// `ratchet_bits` is out of range or `generation` does not fit above them.
///
/// # Safety
/// As `framecrypt_sender_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_new_ratcheting(
    suite: SuiteId,
    ratchet_bits: u32,
    generation: u64,
    base_key: *const u8,
    base_key_len: usize,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    // SAFETY: the caller's contract, which is `resume_ratcheting`'s.
    unsafe {
        framecrypt_sender_resume_ratcheting(
            suite,
            ratchet_bits,
            generation,
            0,
            base_key,
            base_key_len,
            0,
            sender_out,
        )
    }
}

/// Creates a ratcheting sender that continues at `step` of `generation`,
/// where `base_key` is that step's base key (as
/// `framecrypt_sender_current_key` gave it) and `next_ctr` the persisted
/// next counter (RFC 9605 §9.1).
///
/// # Errors
/// As `framecrypt_sender_new_ratcheting`.
///
/// # Safety
/// As `framecrypt_sender_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_resume_ratcheting(
    suite: SuiteId,
    ratchet_bits: u32,
    generation: u64,
    step: u64,
    base_key: *const u8,
    base_key_len: usize,
    next_ctr: u64,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        let mut kind = None;
        let r = guard(|| {
            required(sender_out)?;
            let suite = self::suite(suite)?;
            let bits = RatchetBits::new(ratchet_bits)?;
            // SAFETY: the caller's contract.
            let key = unsafe { self::base_key(base_key, base_key_len) }?;
            let sender =
                RatchetingSender::resume(suite, bits, generation, step, key, Counter(next_ctr))?;
            kind = Some(SenderKind::Ratcheting(sender));
            Ok(())
        });
        match kind {
            // SAFETY: the caller's contract.
            Some(kind) => unsafe { hand_out(sender_out, kind) },
            None => r,
        }
    })
}

/// Frees a sender and wipes its keys. NULL, and a handle that is not a
/// live sender (freed already, or a receiver), are ignored. Do not use the
/// handle afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_sender_free(sender: *mut framecrypt_sender) {
    crate::wipe::scrubbed(|| {
        let _ = guard(|| {
            handle::release(sender);
            Ok(())
        });
    });
}

/// Runs `f` on the live sender `sender`, holding its lock.
fn with<R>(
    sender: *const framecrypt_sender,
    f: impl FnOnce(&mut SenderState) -> Result<R, framecrypt_result>,
) -> Result<R, framecrypt_result> {
    handle::with(sender, f)
}

/// Stores in `*kid_out` the KID the sender's next frame will carry.
///
/// # Errors
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `kid_out` must be valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_kid(
    sender: *const framecrypt_sender,
    kid_out: *mut u64,
) -> framecrypt_result {
    guard(|| {
        required(kid_out)?;
        let kid = with(sender, |s| Ok(s.kind.current_sender()?.kid()))?;
        // SAFETY: the caller's contract.
        unsafe { write(kid_out, kid.0) }
    })
}

/// Stores in `*ctr_out` the counter the sender's next frame will carry;
/// persist it before sending (RFC 9605 §9.1) to resume with
/// `framecrypt_sender_resume` (or, for a ratcheting sender, with
/// `framecrypt_sender_resume_ratcheting` and the current key). A ratcheting
/// sender's counter starts again at 0 after a ratchet or a rekey.
///
/// # Errors
/// `FRAMECRYPT_ERR_COUNTER_EXHAUSTED` once every counter value is used;
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `ctr_out` must be valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_next_counter(
    sender: *const framecrypt_sender,
    ctr_out: *mut u64,
) -> framecrypt_result {
    guard(|| {
        required(ctr_out)?;
        let ctr = with(sender, |s| Ok(s.kind.next_header()?.ctr()))?;
        // SAFETY: the caller's contract.
        unsafe { write(ctr_out, ctr.0) }
    })
}

/// Stores in `*len_out` the exact length of the sender's next SFrame frame
/// for a plaintext of `plaintext_len` bytes: the capacity
/// `framecrypt_sender_encrypt` needs.
///
/// # Errors
/// `FRAMECRYPT_ERR_COUNTER_EXHAUSTED`; `FRAMECRYPT_ERR_NULL_POINTER`,
/// `FRAMECRYPT_ERR_INVALID_HANDLE`, `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `len_out` must be valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_encrypted_len(
    sender: *const framecrypt_sender,
    plaintext_len: usize,
    len_out: *mut usize,
) -> framecrypt_result {
    guard(|| {
        required(len_out)?;
        let len = with(sender, |s| Ok(s.kind.next_frame_len(plaintext_len)?))?;
        // SAFETY: the caller's contract.
        unsafe { write(len_out, len) }
    })
}

/// Stores in `*len_out` the largest frame `framecrypt_sender_protect` can
/// make of a `frame_len`-byte frame of `codec` with this sender: a
/// capacity that always suffices. Smaller buffers are accepted whenever
/// the result fits (see `framecrypt_sender_protect`).
///
/// # Errors
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` if `codec` is not a
/// `framecrypt_codec`; `FRAMECRYPT_ERR_NULL_POINTER`,
/// `FRAMECRYPT_ERR_INVALID_HANDLE`, `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `len_out` must be valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_max_protected_len(
    sender: *const framecrypt_sender,
    codec: CodecId,
    frame_len: usize,
    len_out: *mut usize,
) -> framecrypt_result {
    guard(|| {
        required(len_out)?;
        let codec = self::codec(codec)?;
        let suite = with(sender, |s| Ok(s.kind.current_sender()?.suite()))?;
        // SAFETY: the caller's contract.
        unsafe { write(len_out, codec::max_protected_len(codec, suite, frame_len)) }
    })
}

/// Encrypts `plaintext` as one SFrame frame (header, ciphertext, tag) into
/// `out` and stores its length in `*out_len`. `metadata` is authenticated
/// but not sent (RFC 9605 §4.4.3); the receiver must pass the same bytes.
///
/// Each successful call uses one counter value; a failed call uses none.
/// Any `out_capacity` from `framecrypt_sender_encrypted_len` on is
/// accepted.
///
/// # Errors
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, with the length needed stored in
/// `*out_len`; `FRAMECRYPT_ERR_COUNTER_EXHAUSTED`;
/// `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP`;
/// `FRAMECRYPT_ERR_LENGTH_TOO_LARGE`; `FRAMECRYPT_ERR_INVALID_HANDLE`;
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `metadata` and `plaintext` must be readable for their lengths; `out`
/// writable for `out_capacity` bytes; `out_len` valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_encrypt(
    sender: *mut framecrypt_sender,
    metadata: *const u8,
    metadata_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        // SAFETY: the caller's contract.
        let io = unsafe {
            io(
                (metadata, metadata_len),
                (plaintext, plaintext_len),
                (out, out_capacity),
            )
        }?;
        let len = with(sender, |s| {
            match s.kind.seal(io.metadata, io.input, io.out) {
                Ok(sealed) => Ok(Ok(sealed.len())),
                Err(Error::BufferTooSmall) => Ok(Err(s.kind.next_frame_len(io.input.len())?)),
                Err(e) => Err(e.into()),
            }
        })?;
        written_or_needed(out_len, len)
    })
}

/// Stores `Ok(len)` or the needed length of `Err(needed)` in `*out_len`;
/// the latter fails with `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`.
fn written_or_needed(
    out_len: *mut usize,
    len: Result<usize, usize>,
) -> Result<(), framecrypt_result> {
    match len {
        // SAFETY: the entry points pass their own out-pointer, valid for a
        // write by their callers' contracts.
        Ok(len) => unsafe { write(out_len, len) },
        Err(needed) => {
            // SAFETY: as above.
            unsafe { write(out_len, needed) }?;
            Err(framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL)
        }
    }
}

/// Protects the encoded frame `frame` of `codec` into `out`, keeping the
/// codec's clear bytes readable for packetizers and SFUs, and stores the
/// protected length in `*out_len`. The clear bytes are authenticated: a
/// changed clear byte fails `framecrypt_receiver_unprotect`.
///
/// ---- BEGIN what stays clear (per codec) ----
///
/// - `FRAMECRYPT_CODEC_OPUS`: the TOC byte (RFC 6716 §3.1).
///   `FRAMECRYPT_CODEC_OPUS_OPAQUE`: nothing.
/// - `FRAMECRYPT_CODEC_VP8`: the payload header that RTP packetizers and
///   decoders read (RFC 6386 §9.1): 10 bytes of a keyframe (frame tag,
///   start code, dimensions), 3 of an interframe (frame tag).
/// - `FRAMECRYPT_CODEC_VP9`: nothing (its RTP descriptor comes from the
///   encoder, not the bitstream).
/// - `FRAMECRYPT_CODEC_H264`, `FRAMECRYPT_CODEC_H265`: only what RTP
///   packetizers, depacketizers and SFUs read. Start codes; every NAL unit
///   header (its type decides aggregation and fragmentation); parameter
///   sets (H.264 SPS, PPS, subset SPS; H.265 VPS, SPS, PPS), which
///   depacketizers read; the first slice header fields of each slice,
///   where depacketizers find picture starts and keyframes (H.264
///   first_mb_in_slice, slice_type, pic_parameter_set_id; H.265
///   first_slice_segment_in_pic_flag, no_output_of_prior_pics_flag,
///   slice_pic_parameter_set_id); the 2- or 3-byte header extension of
///   H.264 SVC/MVC/3D-AVC units (types 14, 20, 21), which carries the
///   layer IDs SFUs switch on. Access unit delimiters and filler data are
///   left as they are, not authenticated, since packetizers drop them.
///   Everything else is encrypted after its NAL unit header: slice data,
///   SEI (captions and application user data travel there), H.264
///   auxiliary pictures (type 19, e.g. alpha), and every reserved or
///   unspecified type (unknown content is treated as secret).
/// - `FRAMECRYPT_CODEC_AV1`: OBU headers (type, extension byte with the
///   temporal and spatial layer IDs) and size fields, which packetizers
///   and SFUs read. Temporal delimiters and padding OBUs are left as they
///   are, not authenticated (packetizers drop them). Every OBU payload is
///   encrypted: sequence headers, frame headers, tile groups, metadata
///   (HDR, captions, user data) and reserved types.
/// - `FRAMECRYPT_CODEC_UNKNOWN`: no codec rule (see the fallback).
///
/// ---- END what stays clear ----
///
/// With `FRAMECRYPT_FALLBACK_WHOLE_FRAME`, a frame the codec rule cannot
/// handle is encrypted whole; `*whole_frame_out` (if not NULL) says
/// whether that happened.
///
/// Any `out_capacity` that fits the result is accepted. The result has
/// the length `framecrypt_sender_encrypted_len` gives for `frame_len`
/// bytes, except for H.264 and H.265 (start-code escaping of the encrypted
/// bytes, known only after encryption) and AV1 (grown size fields), where
/// it may be a few bytes longer; `framecrypt_sender_max_protected_len`
/// always suffices. On `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, `*out_len` holds
/// the length needed: exact, or for H.264, H.265 and AV1 the least that
/// can suffice when `out_capacity` is below it. A call that fails uses no
/// counter, with one exception: an H.264, H.265 or AV1 frame that turns
/// out longer than `out_capacity` after encryption has used one (it was
/// encrypted, then dropped unreleased); `*out_len` then holds its exact
/// length.
///
/// # Errors
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL` (above);
/// `FRAMECRYPT_ERR_MALFORMED_FRAME` and `FRAMECRYPT_ERR_UNSUPPORTED_CODEC`
/// with `FRAMECRYPT_FALLBACK_REJECT`; `FRAMECRYPT_ERR_COUNTER_EXHAUSTED`;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` if `codec` or `fallback` is not a
/// value of its enum; `FRAMECRYPT_ERR_NULL_POINTER`;
/// `FRAMECRYPT_ERR_BUFFERS_OVERLAP`; `FRAMECRYPT_ERR_LENGTH_TOO_LARGE`;
/// `FRAMECRYPT_ERR_INVALID_HANDLE`; `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `frame` must be readable for `frame_len` bytes; `out` writable for
/// `out_capacity` bytes; `out_len` valid for a write; `whole_frame_out`
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_protect(
    sender: *mut framecrypt_sender,
    codec: CodecId,
    fallback: FallbackId,
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
        let done = with(sender, |s| protect(s, protection, io.input, io.out))?;
        if let Ok((_, whole)) = done {
            // SAFETY: the caller's contract.
            unsafe { write_optional(whole_frame_out, whole) };
        }
        written_or_needed(out_len, done.map(|(len, _)| len))
    })
}

/// `framecrypt_sender_protect` on the sender's state: `Ok(Ok((len,
/// whole frame)))`, or `Ok(Err(needed))` for a buffer too small.
fn protect(
    state: &mut SenderState,
    protection: Protection,
    frame: &[u8],
    out: &mut [u8],
) -> Result<Result<(usize, bool), usize>, framecrypt_result> {
    let whole = |sealed: &framecrypt::Sealed| sealed.layout() == Layout::WholeFrame;
    let least = state.kind.next_frame_len(frame.len())?;
    let suite = state.kind.current_sender()?.suite();
    let worst = codec::max_protected_len(protection.codec(), suite, frame.len());
    if out.len() >= worst {
        let sealed = protection.protect(&mut state.kind, frame, out)?;
        return Ok(Ok((sealed.len(), whole(&sealed))));
    }
    if out.len() < least {
        return Ok(Err(least));
    }
    // The result may fit: protect into the scratch room (the library needs
    // the worst case to work in), then copy it out if it does.
    if state.scratch.len() < worst {
        if state
            .scratch
            .try_reserve(worst - state.scratch.len())
            .is_err()
        {
            // No room to try in: only the worst case is sure to work.
            return Ok(Err(worst));
        }
        state.scratch.resize(worst, 0);
    }
    let scratch = &mut state.scratch[..worst];
    let result = protection.protect(&mut state.kind, frame, scratch);
    let done = match &result {
        Ok(sealed) if sealed.len() <= out.len() => {
            out[..sealed.len()].copy_from_slice(&scratch[..sealed.len()]);
            Ok(Ok((sealed.len(), whole(sealed))))
        }
        Ok(sealed) => Ok(Err(sealed.len())),
        Err(e) => Err((*e).into()),
    };
    // The room held the frame's encrypted parts in clear while they were
    // gathered; wipe it whatever happened.
    scratch.zeroize();
    if state.scratch.len() > SCRATCH_KEPT {
        state.scratch = Vec::new();
    }
    done
}

/// Moves a ratcheting sender to its next ratchet step (RFC 9605 §5.1): the
/// base key is ratcheted and the old one wiped; the counter restarts at 0.
/// Receivers follow by themselves. Call it when a participant joins.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain sender;
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_sender_ratchet(sender: *mut framecrypt_sender) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            with(sender, |s| {
                ratcheting(s)?.ratchet();
                Ok(())
            })
        })
    })
}

/// Starts a ratcheting sender's next generation with the fresh base key
/// `base_key`, at step 0. The key must reach the receivers over an
/// end-to-end secure channel. Call it when a participant leaves.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain sender;
/// `FRAMECRYPT_ERR_INVALID_KEY_LENGTH`; `FRAMECRYPT_ERR_KEY_ID_EXHAUSTED`
/// when no generation is left (the sender is unchanged);
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `base_key` must be readable for `base_key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_rekey(
    sender: *mut framecrypt_sender,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            with(sender, |s| {
                let sender = ratcheting(s)?;
                // SAFETY: the caller's contract.
                let key = unsafe { self::base_key(base_key, base_key_len) }?;
                Ok(sender.rekey(key)?)
            })
        })
    })
}

/// Copies a ratcheting sender's current base key into `out` and stores
/// its length in `*out_len`, its generation in `*generation_out` and its
/// ratchet step in `*step_out`.
///
/// For a participant who joins (RFC 9605 §5.1), call
/// `framecrypt_sender_ratchet` first and then hand these out, to pass to
/// `framecrypt_receiver_install_key`: the joiner can then read nothing sent
/// before it joined. To persist the sender, store them with
/// `framecrypt_sender_next_counter` and restart with
/// `framecrypt_sender_resume_ratcheting`.
///
/// The key is secret: send it only over an end-to-end secure channel, and
/// wipe `out` afterwards. `FRAMECRYPT_MAX_KEY_LEN` bytes of `out` always
/// suffice.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain sender;
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, with the key's length stored in
/// `*out_len` (and nothing else written); `FRAMECRYPT_ERR_NULL_POINTER`,
/// `FRAMECRYPT_ERR_INVALID_HANDLE`, `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `out` must be writable for `out_capacity` bytes; the three
/// out-pointers valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_current_key(
    sender: *const framecrypt_sender,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
    generation_out: *mut u64,
    step_out: *mut u64,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            required(out_len)?;
            required(generation_out)?;
            required(step_out)?;
            // SAFETY: the caller's contract; `out` is not one of the sender's
            // own buffers, which C never sees.
            let out = unsafe { bytes_mut(out, out_capacity) }?;
            let copied = with(sender, |s| {
                let sender = ratcheting(s)?;
                let share = sender.share();
                let key = share.expose_secret();
                let Some(dest) = out.get_mut(..key.len()) else {
                    return Ok(Err(key.len()));
                };
                dest.copy_from_slice(key);
                Ok(Ok((key.len(), sender.generation(), sender.step())))
            })?;
            let (len, generation, step) = match copied {
                Ok(done) => done,
                Err(needed) => return written_or_needed(out_len, Err(needed)),
            };
            // SAFETY: the caller's contract.
            unsafe { write(generation_out, generation) }?;
            // SAFETY: the caller's contract.
            unsafe { write(step_out, step) }?;
            // SAFETY: the caller's contract.
            unsafe { write(out_len, len) }
        })
    })
}

fn ratcheting(state: &mut SenderState) -> Result<&mut RatchetingSender, framecrypt_result> {
    match &mut state.kind {
        SenderKind::Ratcheting(s) => Ok(s),
        SenderKind::Plain(_) => Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND),
    }
}
