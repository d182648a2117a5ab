//! `framecrypt_sender`: one participant's sending key (RFC 9605 §4.4),
//! plain or ratcheting (§5.1).

use framecrypt::prelude::*;
use framecrypt::{Counter, KeyId, RatchetBits, RatchetingSender, Sender};

use crate::boundary::{bytes_mut, free, guard, hand_out, io, object, required, write};
use crate::params::{base_key, suite};
use crate::result::framecrypt_result;

/// A sender: encrypts frames under one key, with a counter that never
/// repeats. Opaque. Create it with `framecrypt_sender_new` (a fixed KID)
/// or `framecrypt_sender_new_ratcheting` (KIDs that follow ratchet steps
/// and generations), and release it with `framecrypt_sender_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct framecrypt_sender(pub(crate) SenderKind);

#[derive(Debug)]
pub(crate) enum SenderKind {
    Plain(Sender),
    Ratcheting(RatchetingSender),
}

/// Every call that seals goes through the role; only ratchet and rekey
/// need the kind.
impl Seal for SenderKind {
    fn current_sender(&mut self) -> Result<&mut Sender, framecrypt::Error> {
        match self {
            Self::Plain(s) => s.current_sender(),
            Self::Ratcheting(s) => s.current_sender(),
        }
    }
}

/// Creates a sender for `kid` with the base key `base_key[..base_key_len]`
/// (1 to 128 bytes) under `suite` (`FRAMECRYPT_SUITE_*`), its counter at
/// 0, and stores it in `*sender_out`.
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
    suite: u16,
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
/// whose last counter was persisted (RFC 9605 §9.1 forbids reusing one).
///
/// # Errors
/// As `framecrypt_sender_new`.
///
/// # Safety
/// As `framecrypt_sender_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_resume(
    suite: u16,
    kid: u64,
    base_key: *const u8,
    base_key_len: usize,
    next_ctr: u64,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    guard(|| {
        required(sender_out)?;
        let suite = self::suite(suite)?;
        // SAFETY: the caller's contract.
        let key = unsafe { self::base_key(base_key, base_key_len) }?;
        let sender = Sender::resume(suite, KeyId(kid), key, Counter(next_ctr));
        // SAFETY: the caller's contract.
        unsafe { hand_out(sender_out, framecrypt_sender(SenderKind::Plain(sender))) }
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
    suite: u16,
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
    suite: u16,
    ratchet_bits: u32,
    generation: u64,
    step: u64,
    base_key: *const u8,
    base_key_len: usize,
    next_ctr: u64,
    sender_out: *mut *mut framecrypt_sender,
) -> framecrypt_result {
    guard(|| {
        required(sender_out)?;
        let suite = self::suite(suite)?;
        let bits = RatchetBits::new(ratchet_bits)?;
        // SAFETY: the caller's contract.
        let key = unsafe { self::base_key(base_key, base_key_len) }?;
        let sender =
            RatchetingSender::resume(suite, bits, generation, step, key, Counter(next_ctr))?;
        // SAFETY: the caller's contract.
        unsafe {
            hand_out(
                sender_out,
                framecrypt_sender(SenderKind::Ratcheting(sender)),
            )
        }
    })
}

/// Frees a sender and zeroizes its keys. NULL is accepted and ignored.
///
/// # Safety
/// `sender` must be NULL or a pointer from `framecrypt_sender_new*` that
/// has not been freed; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_free(sender: *mut framecrypt_sender) {
    // SAFETY: the caller's contract, which is `free`'s.
    unsafe { free(sender) }
}

/// Stores in `*kid_out` the KID the sender's next frame will carry.
///
/// # Errors
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender; `kid_out` valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_kid(
    sender: *mut framecrypt_sender,
    kid_out: *mut u64,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let kid = sender.0.current_sender()?.kid();
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
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender; `ctr_out` valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_next_counter(
    sender: *mut framecrypt_sender,
    ctr_out: *mut u64,
) -> framecrypt_result {
    guard(|| {
        required(ctr_out)?;
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let ctr = sender.0.next_header()?.ctr();
        // SAFETY: the caller's contract.
        unsafe { write(ctr_out, ctr.0) }
    })
}

/// Stores in `*len_out` the exact length of the sender's next frame for a
/// plaintext of `plaintext_len` bytes: the capacity
/// `framecrypt_sender_encrypt` needs.
///
/// # Errors
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender; `len_out` valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_ciphertext_len(
    sender: *mut framecrypt_sender,
    plaintext_len: usize,
    len_out: *mut usize,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let len = sender
            .0
            .current_sender()?
            .next_ciphertext_len(plaintext_len);
        // SAFETY: the caller's contract.
        unsafe { write(len_out, len) }
    })
}

/// Encrypts `plaintext` as one SFrame frame (header, ciphertext, tag) into
/// `out` and stores its length in `*out_len`. `metadata` is authenticated
/// but not sent (RFC 9605 §4.4.3); the receiver must pass the same bytes.
///
/// Each successful call uses one counter value. A call refused for its
/// arguments (NULL, overlap, a buffer too small) uses none.
///
/// # Errors
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL` if `out_capacity` is below
/// `framecrypt_sender_ciphertext_len`; `FRAMECRYPT_ERR_COUNTER_EXHAUSTED`;
/// `FRAMECRYPT_ERR_NULL_POINTER`; `FRAMECRYPT_ERR_BUFFERS_OVERLAP`.
///
/// # Safety
/// `sender` must be a live sender; `metadata` and `plaintext` readable for
/// their lengths; `out` writable for `out_capacity` bytes; `out_len` valid
/// for a write.
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
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let sealed = sender.0.seal(io.metadata, io.input, io.out)?;
        // SAFETY: the caller's contract.
        unsafe { write(out_len, sealed.len()) }
    })
}

/// Moves a ratcheting sender to its next ratchet step (RFC 9605 §5.1): the
/// base key is ratcheted and the old one zeroized; the counter restarts at
/// 0. Receivers follow by themselves. Call it when a participant joins.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain sender;
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_ratchet(
    sender: *mut framecrypt_sender,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        ratcheting(sender)?.ratchet();
        Ok(())
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
/// `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender; `base_key` readable for `base_key_len`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_rekey(
    sender: *mut framecrypt_sender,
    base_key: *const u8,
    base_key_len: usize,
) -> framecrypt_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let sender = unsafe { object(sender) }?;
        let sender = ratcheting(sender)?;
        // SAFETY: the caller's contract.
        let key = unsafe { self::base_key(base_key, base_key_len) }?;
        Ok(sender.rekey(key)?)
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
/// wipe `out` afterwards. 128 bytes of `out` always suffice.
///
/// # Errors
/// `FRAMECRYPT_ERR_WRONG_KIND` for a plain sender;
/// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`; `FRAMECRYPT_ERR_NULL_POINTER`.
///
/// # Safety
/// `sender` must be a live sender; `out` writable for `out_capacity`
/// bytes; the three out-pointers valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn framecrypt_sender_current_key(
    sender: *mut framecrypt_sender,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
    generation_out: *mut u64,
    step_out: *mut u64,
) -> framecrypt_result {
    guard(|| {
        required(out_len)?;
        required(generation_out)?;
        required(step_out)?;
        // SAFETY: the caller's contract.
        let sender = ratcheting(unsafe { object(sender) }?)?;
        // SAFETY: the caller's contract; `out` is not one of the sender's
        // own buffers, which C never sees.
        let out = unsafe { bytes_mut(out, out_capacity) }?;
        let share = sender.share();
        let key = share.expose_secret();
        out.get_mut(..key.len())
            .ok_or(framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL)?
            .copy_from_slice(key);
        // SAFETY: the caller's contract.
        unsafe { write(generation_out, sender.generation()) }?;
        // SAFETY: the caller's contract.
        unsafe { write(step_out, sender.step()) }?;
        // SAFETY: the caller's contract.
        unsafe { write(out_len, key.len()) }
    })
}

fn ratcheting(sender: &mut framecrypt_sender) -> Result<&mut RatchetingSender, framecrypt_result> {
    match &mut sender.0 {
        SenderKind::Ratcheting(s) => Ok(s),
        SenderKind::Plain(_) => Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_KIND),
    }
}
