//! `framecrypt_receiver`: decrypts frames, keyed by KID (RFC 9605 §4.4),
//! or following one sender's ratchet (§5.1).

use framecrypt::prelude::*;
use framecrypt::{
    Ciphertext, Header, KeyId, Opened, RatchetBits, RatchetingReceiver, Receiver, VecKeyStore,
};

use crate::boundary::{free, guard, hand_out, io, object, required, write, write_optional};
use crate::params::{base_key, suite};
use crate::result::framecrypt_result;

/// A receiver. Opaque. Create it with `framecrypt_receiver_new` (any
/// number of keys, each installed for its KID) or
/// `framecrypt_receiver_new_ratcheting` (one sender's ratcheting keys),
/// and release it with `framecrypt_receiver_free`. Both reject replayed
/// frames.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct framecrypt_receiver(pub(crate) ReceiverKind);

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the receiver lives in one Box made once; a second Box would add a pointer chase per frame"
)]
pub(crate) enum ReceiverKind {
    Plain(Receiver<VecKeyStore>),
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
    ) -> Result<Opened, framecrypt::Error> {
        match self {
            Self::Plain(r) => r.open_frame(metadata, frame),
            Self::Ratcheting(r) => r.at(now_ms).open_frame(metadata, frame),
        }
    }
}

/// The SFrame header of a frame (RFC 9605 §4.3).
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
    guard(|| {
        required(receiver_out)?;
        // SAFETY: the caller's contract.
        unsafe {
            hand_out(
                receiver_out,
                framecrypt_receiver(ReceiverKind::Plain(Receiver::new())),
            )
        }
    })
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
    suite: u16,
    ratchet_bits: u32,
    receiver_out: *mut *mut framecrypt_receiver,
) -> framecrypt_result {
    guard(|| {
        required(receiver_out)?;
        let suite = self::suite(suite)?;
        let bits = RatchetBits::new(ratchet_bits)?;
        let receiver = RatchetingReceiver::new(suite, bits);
        // SAFETY: the caller's contract.
        unsafe {
            hand_out(
                receiver_out,
                framecrypt_receiver(ReceiverKind::Ratcheting(receiver)),
            )
        }
    })
}

/// Frees a receiver and zeroizes its keys. NULL is accepted and ignored.
///
/// # Safety
/// `receiver` must be NULL or a pointer from `framecrypt_receiver_new*`
/// that has not been freed; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_free(receiver: *mut framecrypt_receiver) {
    // SAFETY: the caller's contract, which is `free`'s.
    unsafe { free(receiver) }
}

/// Derives and installs the key for `kid` from `base_key` under `suite`
/// (RFC 9605 §4.4.2), replacing and zeroizing any key `kid` had.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a ratcheting receiver;
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE`;
/// `FRAMECRYPT_ERR_INVALID_KEY_LENGTH`; `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `receiver` must be a live receiver; `base_key` readable for
/// `base_key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_add_key(
    receiver: *mut framecrypt_receiver,
    suite: u16,
    kid: u64,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let receiver = plain(unsafe { object(receiver) }?)?;
        let suite = self::suite(suite)?;
        // SAFETY: the caller's contract.
        let key = unsafe { self::base_key(base_key, base_key_len) }?;
        Ok(receiver.add_key(suite, KeyId(kid), key)?)
    })
}

/// Removes and zeroizes the key for `kid`; stores in `*removed_out` (if
/// not NULL) whether there was one.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a ratcheting receiver;
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `receiver` must be a live receiver; `removed_out` NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_remove_key(
    receiver: *mut framecrypt_receiver,
    kid: u64,
    removed_out: *mut bool,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let receiver = plain(unsafe { object(receiver) }?)?;
        let removed = receiver.remove_key(KeyId(kid));
        // SAFETY: the caller's contract.
        unsafe { write_optional(removed_out, removed) };
        Ok(())
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
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `receiver` must be a live receiver; `base_key` readable for
/// `base_key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_receiver_install_key(
    receiver: *mut framecrypt_receiver,
    now_ms: u64,
    generation: u64,
    step: u64,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let receiver = match &mut unsafe { object(receiver) }?.0 {
            ReceiverKind::Ratcheting(r) => r,
            ReceiverKind::Plain(_) => return Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND),
        };
        // SAFETY: the caller's contract.
        let key = unsafe { self::base_key(base_key, base_key_len) }?;
        Ok(receiver.install_key(generation, step, key, now_ms)?)
    })
}

/// Decrypts the SFrame frame `frame` into `out` and stores the plaintext
/// length in `*out_len` (the plaintext starts at `out[0]`) and, if
/// `header_out` is not NULL, the frame's KID and counter in `*header_out`.
/// `metadata` must be the bytes the sender authenticated. `now_ms` is the
/// time for a ratcheting receiver's retention; a plain receiver ignores it.
///
/// On failure `out` holds no plaintext, and the receiver's state (replay
/// windows, ratchet) is unchanged.
///
/// # Errors
/// `FRAMECRYPT_ERR_MALFORMED_HEADER`, `FRAMECRYPT_ERR_UNKNOWN_KEY_ID`,
/// `FRAMECRYPT_ERR_FRAME_TOO_SHORT`, `FRAMECRYPT_ERR_AUTHENTICATION_FAILED`,
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL` (`out_capacity` below the plaintext
/// length, `frame_len` minus the header and the tag; a capacity of
/// `frame_len` always suffices), `FRAMECRYPT_ERR_REPLAYED`, and for a
/// ratcheting receiver `FRAMECRYPT_ERR_TOO_FAR_AHEAD`,
/// `FRAMECRYPT_ERR_KEY_EXPIRED`;
/// `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP`.
///
/// # Safety
/// `receiver` must be a live receiver; `metadata` and `frame` readable for
/// their lengths; `out` writable for `out_capacity` bytes; `out_len` valid
/// for a write; `header_out` NULL or valid for a write.
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
        // SAFETY: the caller's contract.
        let receiver = unsafe { object(receiver) }?;
        let decrypted = receiver.0.at(now_ms).open(io.metadata, io.input, io.out)?;
        // SAFETY: the caller's contract.
        unsafe { write_optional(header_out, decrypted.header().into()) };
        // SAFETY: the caller's contract.
        unsafe { write(out_len, decrypted.plaintext().end) }
    })
}

fn plain(
    receiver: &mut framecrypt_receiver,
) -> Result<&mut Receiver<VecKeyStore>, framecrypt_result> {
    match &mut receiver.0 {
        ReceiverKind::Plain(r) => Ok(r),
        ReceiverKind::Ratcheting(_) => Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND),
    }
}
