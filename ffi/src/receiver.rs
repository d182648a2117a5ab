//! `framecrypt_receiver`: decrypts frames, keyed by KID (RFC 9605 §4.4),
//! or following one sender's ratchet (§5.1); plain SFrame frames and
//! codec-aware ones, into a buffer or in place.

use core::ptr::null;
use std::collections::BTreeMap;

use framecrypt::codec::{self, Protection};
use framecrypt::prelude::*;
use framecrypt::{
    CipherSuite, Ciphertext, Error, Header, KeyId, Opened, RatchetBits, RatchetingReceiver,
    Receiver, VecKeyStore,
};

use crate::boundary::{bytes, bytes_mut, disjoint, guard, io, required, write, write_optional};
use crate::handle::{self, Kind, Object};
use crate::params::{CodecId, FallbackId, SuiteId, base_key, codec, fallback, suite};
use crate::result::framecrypt_result;
use crate::sync::Mutex;

/// A receiver. Opaque. Create it with `framecrypt_receiver_new` (any
/// number of keys, each installed for its KID) or
/// `framecrypt_receiver_new_ratcheting` (one sender's ratcheting keys),
/// and release it with `framecrypt_receiver_free`. Both reject replayed
/// frames.
///
/// Threads: a receiver may be used from any thread, and from several at
/// once: keys may be added or removed on one thread while another
/// decrypts. It has a lock of its own: concurrent calls on one receiver run
/// one after the other, so each frame is accepted at most once and a key
/// change happens entirely before or after a decryption. Calls on
/// different receivers never wait for each other, except for a moment
/// while a sender or receiver is created or freed.
///
/// `framecrypt_receiver_free` waits for calls in progress on the receiver
/// to finish; a call that starts after it returns
/// `FRAMECRYPT_ERR_INVALID_HANDLE` (unless a new receiver was given the
/// same address in the meantime, which nothing can tell: do not use a
/// handle after freeing it).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct framecrypt_receiver {
    state: Mutex<ReceiverState>,
}

#[derive(Debug)]
pub(crate) struct ReceiverState {
    kind: ReceiverKind,
    /// A copy of the protected frame for an in-place unprotect of H.264,
    /// H.265 and AV1, whose codec rule needs the frame apart from the
    /// output. Grown on demand and kept; it never holds plaintext.
    scratch: Vec<u8>,
}

impl Object for framecrypt_receiver {
    const KIND: Kind = Kind::Receiver;
    type State = ReceiverState;

    fn state(&self) -> &Mutex<ReceiverState> {
        &self.state
    }
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the receiver lives in one Box made once; a second Box would add a pointer chase per frame"
)]
pub(crate) enum ReceiverKind {
    Plain {
        receiver: Receiver<VecKeyStore>,
        /// The suite of each installed key, to tell a caller the exact
        /// plaintext length after `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`.
        suites: BTreeMap<u64, CipherSuite>,
    },
    Ratcheting(RatchetingReceiver),
}

/// Every call that opens goes through the role, with the caller's time
/// (which a plain receiver does not need); only key management needs the
/// kind.
impl OpenAt for ReceiverKind {
    fn open_frame_at(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        frame: Ciphertext<'_>,
    ) -> Result<Opened, Error> {
        match self {
            Self::Plain { receiver, .. } => receiver.open_frame(metadata, frame),
            Self::Ratcheting(r) => r.at(now_ms).open_frame(metadata, frame),
        }
    }
}

impl ReceiverKind {
    /// Where a ratcheting receiver's keys stand (None for a plain
    /// receiver, which derives no key while opening).
    fn ratchet_state(&self) -> Option<(Option<u64>, Option<u64>, usize, usize)> {
        match self {
            Self::Plain { .. } => None,
            Self::Ratcheting(r) => {
                Some((r.generation(), r.step(), r.key_count(), r.previous_count()))
            }
        }
    }

    /// The tag length of the key `kid` names, if the receiver holds it.
    fn tag_len(&self, kid: KeyId) -> Option<usize> {
        match self {
            Self::Plain { suites, .. } => suites.get(&kid.0).map(|s| s.tag_len()),
            Self::Ratcheting(r) => Some(r.suite().tag_len()),
        }
    }
}

/// The SFrame header of a frame (RFC 9605 §4.3). It will not grow: an
/// SFrame header has exactly these two fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct framecrypt_header {
    /// The key ID.
    pub kid: u64,
    /// The counter.
    pub ctr: u64,
}

impl From<Header> for framecrypt_header {
    fn from(header: Header) -> Self {
        Self {
            kid: header.kid().0,
            ctr: header.ctr().0,
        }
    }
}

/// Hands out a new receiver.
///
/// # Safety
/// `out` must be NULL or valid for a write of a pointer.
unsafe fn hand_out(out: *mut *mut framecrypt_receiver, kind: ReceiverKind) -> framecrypt_result {
    let receiver = framecrypt_receiver {
        state: Mutex::new(ReceiverState {
            kind,
            scratch: Vec::new(),
        }),
    };
    // SAFETY: the caller's contract.
    guard(|| unsafe { handle::hand_out(out, receiver) })
}

/// Creates an empty receiver that holds any number of keys, each for one
/// KID (`framecrypt_receiver_add_key`), and stores it in `*receiver_out`.
///
/// Each key has an anti-replay window of 128 counters (RFC 9605 §9.3): a
/// frame opens once, and a counter more than 128 below the highest seen
/// under its key is refused with `FRAMECRYPT_ERR_REPLAYED`.
///
/// # Errors
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `receiver_out` must be valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_new(
    receiver_out: *mut *mut framecrypt_receiver,
) -> framecrypt_result {
    let kind = ReceiverKind::Plain {
        receiver: Receiver::new(),
        suites: BTreeMap::new(),
    };
    // SAFETY: the caller's contract.
    unsafe { hand_out(receiver_out, kind) }
}

/// Creates a receiver for one ratcheting sender (RFC 9605 §5.1) under
/// `suite`, with KIDs laid out as `framecrypt_sender_new_ratcheting` with
/// the same `ratchet_bits`. It follows the sender's ratchet up to
/// min(2^`ratchet_bits` − 1, 64) steps ahead, keeps up to 3 earlier keys
/// for late frames (for up to 5 s), and rejects replayed frames. Install
/// each generation's key (or, for a joiner, the step it was given) with
/// `framecrypt_receiver_install_key`.
///
/// # Errors
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE`;
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` if `ratchet_bits` is not 1 to 63;
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `receiver_out` must be valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_new_ratcheting(
    suite: SuiteId,
    ratchet_bits: u32,
    receiver_out: *mut *mut framecrypt_receiver,
) -> framecrypt_result {
    let mut kind = None;
    let r = guard(|| {
        required(receiver_out)?;
        let suite = self::suite(suite)?;
        let bits = RatchetBits::new(ratchet_bits)?;
        kind = Some(ReceiverKind::Ratcheting(RatchetingReceiver::new(
            suite, bits,
        )));
        Ok(())
    });
    match kind {
        // SAFETY: the caller's contract.
        Some(kind) => unsafe { hand_out(receiver_out, kind) },
        None => r,
    }
}

/// Frees a receiver and wipes its keys. NULL, and a handle that is not a
/// live receiver (freed already, or a sender), are ignored. Do not use the
/// handle afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_receiver_free(receiver: *mut framecrypt_receiver) {
    crate::wipe::scrubbed(|| {
        let _ = guard(|| {
            handle::release(receiver);
            Ok(())
        });
    });
}

/// Runs `f` on the live receiver `receiver`, holding its lock.
fn with<R>(
    receiver: *const framecrypt_receiver,
    f: impl FnOnce(&mut ReceiverState) -> Result<R, framecrypt_result>,
) -> Result<R, framecrypt_result> {
    handle::with(receiver, f)
}

/// As [`with`] for a call that opens a frame: a ratcheting receiver
/// derives keys while opening (a new step) and erases old ones, so if its
/// keys changed, the stack the call used is wiped afterwards.
fn with_open<R>(
    receiver: *const framecrypt_receiver,
    f: impl FnOnce(&mut ReceiverState) -> Result<R, framecrypt_result>,
) -> Result<R, framecrypt_result> {
    let mut changed = false;
    let result = handle::with(receiver, |state| {
        let before = state.kind.ratchet_state();
        let result = f(state);
        changed = state.kind.ratchet_state() != before;
        result
    });
    if changed {
        crate::wipe::scrub_stack();
    }
    result
}

/// Derives and installs the key for `kid` from `base_key` under `suite`
/// (RFC 9605 §4.4.2), replacing any key `kid` had; the replaced key is
/// wiped, and no copy of it is left in memory the receiver owned or freed.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a ratcheting receiver;
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE`;
/// `FRAMECRYPT_ERR_INVALID_KEY_LENGTH`; `FRAMECRYPT_ERR_NULL_POINTER`,
/// `FRAMECRYPT_ERR_INVALID_HANDLE`, `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `base_key` must be readable for `base_key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_add_key(
    receiver: *mut framecrypt_receiver,
    suite: SuiteId,
    kid: u64,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            with(receiver, |state| {
                let ReceiverKind::Plain { receiver, suites } = &mut state.kind else {
                    return Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND);
                };
                let suite = self::suite(suite)?;
                // SAFETY: the caller's contract.
                let key = unsafe { self::base_key(base_key, base_key_len) }?;
                receiver.add_key(suite, KeyId(kid), key)?;
                suites.insert(kid, suite);
                Ok(())
            })
        })
    })
}

/// Removes the key for `kid` and wipes it; no copy of it is left in
/// memory the receiver owned or freed. Stores in `*removed_out` (if not
/// NULL) whether there was one.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a ratcheting receiver;
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `removed_out` must be NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_remove_key(
    receiver: *mut framecrypt_receiver,
    kid: u64,
    removed_out: *mut bool,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            let removed = with(receiver, |state| {
                let ReceiverKind::Plain { receiver, suites } = &mut state.kind else {
                    return Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND);
                };
                suites.remove(&kid);
                Ok(receiver.remove_key(KeyId(kid)))
            })?;
            // SAFETY: the caller's contract.
            unsafe { write_optional(removed_out, removed) };
            Ok(())
        })
    })
}

/// Installs in a ratcheting receiver, at time `now_ms`, the base key of
/// `step` of `generation`: step 0 for a generation's fresh key (after a
/// leave), or the step a joining participant was given with
/// `framecrypt_sender_current_key`. The previous key is kept for late
/// frames within the retention limits.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain receiver;
/// `FRAMECRYPT_ERR_STALE_KEY` if (`generation`, `step`) is not newer than
/// the key in use; `FRAMECRYPT_ERR_INVALID_PARAMETER` if `generation` does
/// not fit the KID; `FRAMECRYPT_ERR_INVALID_KEY_LENGTH`;
/// `FRAMECRYPT_ERR_NULL_POINTER`, `FRAMECRYPT_ERR_INVALID_HANDLE`,
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `base_key` must be readable for `base_key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_install_key(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    generation: u64,
    step: u64,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    crate::wipe::scrubbed(|| {
        guard(|| {
            with(receiver, |state| {
                let ReceiverKind::Ratcheting(receiver) = &mut state.kind else {
                    return Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND);
                };
                // SAFETY: the caller's contract.
                let key = unsafe { self::base_key(base_key, base_key_len) }?;
                Ok(receiver.install_key(generation, step, key, now_ms)?)
            })
        })
    })
}

/// Decrypts the SFrame frame `frame` into `out` and stores the plaintext
/// length in `*out_len` (the plaintext starts at `out[0]`) and, if
/// `header_out` is not NULL, the frame's KID and counter in `*header_out`.
/// `metadata` must be the bytes the sender authenticated. `now_ms` is the
/// time for a ratcheting receiver's retention; a plain receiver ignores it.
///
/// Any `out_capacity` from the plaintext length on is accepted (the frame
/// minus its header and tag; `frame_len` always suffices).
///
/// On failure `out` holds no plaintext, and the receiver's state (replay
/// windows, ratchet) is unchanged.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_HEADER`, `FRAMECRYPT_ERR_UNKNOWN_KEY_ID`,
/// `FRAMECRYPT_ERR_FRAME_TOO_SHORT`, `FRAMECRYPT_ERR_AUTHENTICATION_FAILED`,
/// `FRAMECRYPT_ERR_REPLAYED`; `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, with the
/// plaintext length stored in `*out_len`; for a ratcheting receiver
/// `FRAMECRYPT_ERR_TOO_FAR_AHEAD`, `FRAMECRYPT_ERR_KEY_EXPIRED`;
/// `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP`;
/// `FRAMECRYPT_ERR_LENGTH_TOO_LARGE`; `FRAMECRYPT_ERR_INVALID_HANDLE`;
/// `FRAMECRYPT_ERR_WRONG_OBJECT`.
///
/// # Safety
/// `metadata` and `frame` must be readable for their lengths; `out`
/// writable for `out_capacity` bytes; `out_len` valid for a write;
/// `header_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_decrypt(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    metadata: *const u8,
    metadata_len: usize,
    frame: *const u8,
    frame_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
    header_out: *mut framecrypt_header,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        // SAFETY: the caller's contract.
        let io = unsafe {
            io(
                (metadata, metadata_len),
                (frame, frame_len),
                (out, out_capacity),
            )
        }?;
        let done = with_open(receiver, |state| {
            match state.kind.at(now_ms).open(io.metadata, io.input, io.out) {
                Ok(opened) => Ok(Ok((opened.header(), opened.len()))),
                Err(Error::BufferTooSmall) => Ok(Err(plaintext_len(&state.kind, io.input))),
                Err(e) => Err(e.into()),
            }
        })?;
        opened(done, out_len, header_out)
    })
}

/// The plaintext length of the plain SFrame frame `frame`, for a caller
/// whose buffer was too small: the frame minus its header and its key's
/// tag (or the frame's length, which always suffices, if that cannot be
/// told).
fn plaintext_len(kind: &ReceiverKind, frame: &[u8]) -> usize {
    Header::parse(frame)
        .ok()
        .and_then(|header| {
            let tag = kind.tag_len(header.header().kid())?;
            frame.len().checked_sub(header.len() + tag)
        })
        .unwrap_or(frame.len())
}

/// Reports an opened frame: its length (or the length needed) in
/// `*out_len` and, if wanted, its header.
fn opened(
    done: Result<(Header, usize), usize>,
    out_len: *mut usize,
    header_out: *mut framecrypt_header,
) -> Result<(), framecrypt_result> {
    match done {
        Ok((header, len)) => {
            // SAFETY: the entry points pass their own out-pointers, valid
            // for writes (or NULL for the header) by their callers'
            // contracts.
            unsafe { write_optional(header_out, header.into()) };
            // SAFETY: as above.
            unsafe { write(out_len, len) }
        }
        Err(needed) => {
            // SAFETY: as above.
            unsafe { write(out_len, needed) }?;
            Err(framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL)
        }
    }
}

/// Decrypts the SFrame frame in `frame[0..frame_len]` in place, as
/// `framecrypt_receiver_decrypt` does: the plaintext ends up at
/// `frame[0..*out_len]`. No other buffer is needed.
///
/// On failure `frame` holds no plaintext (the bytes between its header and
/// tag may have been zeroed), and the receiver's state is unchanged.
///
/// # Errors
/// As `framecrypt_receiver_decrypt`, without
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP` if
/// `metadata` overlaps `frame`.
///
/// # Safety
/// `metadata` must be readable for `metadata_len` bytes; `frame` readable
/// and writable for `frame_len` bytes; `out_len` valid for a write;
/// `header_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_decrypt_in_place(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    metadata: *const u8,
    metadata_len: usize,
    frame: *mut u8,
    frame_len: usize,
    out_len: *mut usize,
    header_out: *mut framecrypt_header,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        disjoint(frame, frame_len, &[(metadata, metadata_len)])?;
        // SAFETY: the caller's contract.
        let metadata = unsafe { bytes(metadata, metadata_len) }?;
        // SAFETY: the caller's contract; `frame` shares no byte with
        // `metadata` (checked above).
        let buf = unsafe { bytes_mut(frame, frame_len) }?;
        let done = with_open(receiver, |state| {
            let opened = state.kind.at(now_ms).open_in_place(metadata, buf)?;
            let plaintext = opened.plaintext();
            buf.copy_within(plaintext.clone(), 0);
            Ok(Ok((opened.header(), plaintext.len())))
        })?;
        opened(done, out_len, header_out)
    })
}

/// Restores a frame protected by `framecrypt_sender_protect` with the same
/// `codec` and `fallback`: decrypts `protected_frame` into `out` and
/// stores the frame's length in `*out_len` and, if `header_out` is not
/// NULL, its KID and counter. `now_ms` is as for
/// `framecrypt_receiver_decrypt`.
///
/// `out_capacity` must be at least `protected_len`: the restored frame is
/// shorter, but the call works in `out`. (`framecrypt_receiver_unprotect_in_place`
/// needs no second buffer at all.)
///
/// On failure `out` holds no plaintext, and the receiver's state is
/// unchanged.
///
/// # Errors
/// As `framecrypt_receiver_decrypt` (`FRAMECRYPT_ERR_BUFFER_TOO_SMALL`
/// with `protected_len` stored in `*out_len`);
/// `FRAMECRYPT_ERR_MALFORMED_FRAME` and `FRAMECRYPT_ERR_UNSUPPORTED_CODEC`
/// with `FRAMECRYPT_FALLBACK_REJECT`; `FRAMECRYPT_ERR_INVALID_PARAMETER`
/// if `codec` or `fallback` is not a value of its enum.
///
/// # Safety
/// `protected_frame` must be readable for `protected_len` bytes; `out`
/// writable for `out_capacity` bytes; `out_len` valid for a write;
/// `header_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_unprotect(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    codec: CodecId,
    fallback: FallbackId,
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
        let done = with_open(receiver, |state| {
            if io.out.len() < io.input.len() {
                return Ok(Err(io.input.len()));
            }
            let opened = protection.unprotect(&mut state.kind.at(now_ms), io.input, io.out)?;
            Ok(Ok((opened.header(), opened.len())))
        })?;
        opened(done, out_len, header_out)
    })
}

/// Restores a frame protected by `framecrypt_sender_protect` in place:
/// `frame[0..frame_len]` holds the protected frame, and on success
/// `frame[0..*out_len]` holds the restored one. No other buffer is needed
/// (for H.264, H.265 and AV1 the receiver keeps a copy of the protected
/// frame to work from, grown to the largest frame seen).
///
/// On failure `frame` holds no plaintext (its contents are unspecified),
/// and the receiver's state is unchanged.
///
/// # Errors
/// As `framecrypt_receiver_unprotect`, without
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL` and
/// `FRAMECRYPT_ERR_BUFFERS_OVERLAP`.
///
/// # Safety
/// `frame` must be readable and writable for `frame_len` bytes; `out_len`
/// valid for a write; `header_out` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_unprotect_in_place(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    codec: CodecId,
    fallback: FallbackId,
    frame: *mut u8,
    frame_len: usize,
    out_len: *mut usize,
    header_out: *mut framecrypt_header,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        let protection = Protection::new(self::codec(codec)?, self::fallback(fallback)?);
        // SAFETY: the caller's contract.
        let buf = unsafe { bytes_mut(frame, frame_len) }?;
        let done = with_open(receiver, |state| {
            let len = buf.len();
            let rx = &mut state.kind.at(now_ms);
            let opened = if codec::max_unprotect_in_place_len(protection.codec(), len) <= len {
                protection.unprotect_in_place(rx, buf, len)?
            } else {
                state.scratch.clear();
                state.scratch.extend_from_slice(buf);
                protection.unprotect(rx, &state.scratch, buf)?
            };
            Ok(Ok((opened.header(), opened.len())))
        })?;
        opened(done, out_len, header_out)
    })
}
