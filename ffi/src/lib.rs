//! The C API of [framecrypt](https://docs.rs/framecrypt): SFrame (RFC 9605)
//! end-to-end encryption for real-time media, for C and C++ clients and
//! SFUs. The header is `include/framecrypt.h`, generated from this crate by
//! cbindgen (`ffi/cbindgen.toml`).
//!
//! # Conventions
//! - Every fallible function returns a [`framecrypt_result`]; `FRAMECRYPT_OK`
//!   is 0. A failed call writes no out-pointer and leaves no plaintext in
//!   an output buffer; a sender uses no counter, and a ratcheting
//!   receiver's replay window and ratchet do not move (though `now_ms` still
//!   expires keys whose retention has run out). A call refused at the
//!   boundary (codes below 100) reaches no library code at all.
//! - Buffers are a pointer and a length. NULL is accepted for a length of
//!   0; NULL with any other length is `FRAMECRYPT_ERR_NULL_POINTER`. An
//!   output buffer must not overlap an input buffer
//!   (`FRAMECRYPT_ERR_BUFFERS_OVERLAP`).
//! - Objects (`framecrypt_sender`, `framecrypt_receiver`) are created by a
//!   `_new` function and released by the matching `_free`, which zeroizes
//!   every key they hold and accepts NULL. An object may move between
//!   threads but must not be used from two threads at once.
//! - Nothing here reads a clock or a random number generator: times are
//!   arguments (`now_ms`, milliseconds on any monotonic clock) and keys
//!   come from the caller.
//! - A panic in framecrypt (a bug) is caught at the boundary and reported
//!   as `FRAMECRYPT_ERR_PANIC`; it never unwinds into C.

// `unsafe` is allowed here and only here (the rest of the workspace forbids
// it); every block carries a SAFETY comment, which clippy enforces.
#![deny(missing_docs)]

mod boundary;
mod media;
mod params;
mod receiver;
mod result;
mod sender;

use core::ffi::c_char;

pub use media::{
    framecrypt_header_parse, framecrypt_max_protected_len, framecrypt_protect,
    framecrypt_sfu_inspect, framecrypt_sfu_view, framecrypt_unprotect,
};
pub use params::*;
pub use receiver::{
    framecrypt_header, framecrypt_receiver, framecrypt_receiver_add_key,
    framecrypt_receiver_decrypt, framecrypt_receiver_free, framecrypt_receiver_install_key,
    framecrypt_receiver_new, framecrypt_receiver_new_ratcheting, framecrypt_receiver_remove_key,
};
pub use result::{framecrypt_result, framecrypt_result_message};
pub use sender::{
    framecrypt_sender, framecrypt_sender_ciphertext_len, framecrypt_sender_current_key,
    framecrypt_sender_encrypt, framecrypt_sender_free, framecrypt_sender_kid,
    framecrypt_sender_new, framecrypt_sender_new_ratcheting, framecrypt_sender_next_counter,
    framecrypt_sender_ratchet, framecrypt_sender_rekey, framecrypt_sender_resume,
    framecrypt_sender_resume_ratcheting,
};

/// The version of framecrypt, as a static NUL-terminated string such as
/// "0.1.0"; the caller must not free it.
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_version() -> *const c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(version) => version,
        Err(_) => panic!("the package version contains a NUL byte"),
    };
    VERSION.as_ptr()
}
