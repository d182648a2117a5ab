//! The C API of [framecrypt](https://docs.rs/framecrypt): SFrame (RFC 9605)
//! end-to-end encryption for real-time media, for C and C++ clients and
//! SFUs. The header is `include/framecrypt.h`, generated from this crate by
//! cbindgen (`cbindgen.toml`); `cargo cinstall` (cargo-c) installs it with
//! the shared and static libraries and a pkg-config file.
//!
//! # Conventions
//! - Every fallible function returns a [`framecrypt_result`]; `FRAMECRYPT_OK`
//!   is 0. A failed call writes no out-pointer (except the needed length
//!   on `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, where a function says so) and
//!   leaves no plaintext in an output buffer; a sender uses no counter
//!   (one documented exception in `framecrypt_sender_protect`), and a
//!   receiver's replay windows and ratchet do not move (though `now_ms`
//!   still expires keys whose retention has run out).
//! - Buffers are a pointer and a length. NULL is accepted for a length of
//!   0; NULL with any other length is `FRAMECRYPT_ERR_NULL_POINTER`. An
//!   output buffer must not overlap an input buffer
//!   (`FRAMECRYPT_ERR_BUFFERS_OVERLAP`).
//! - Objects (`framecrypt_sender`, `framecrypt_receiver`) are created by a
//!   `_new` function and released by the matching `_free`, which wipes
//!   every key they hold. Every handle is checked: NULL, a freed handle and
//!   one of the other type are refused with a code of their own, never
//!   dereferenced. Every object has a lock: calls from several threads on
//!   one object run one after the other.
//! - Suites, codecs and fallback policies are C enums with disjoint values:
//!   one passed for another does not compile in C++, draws a warning in C,
//!   and is refused at run time.
//! - Nothing here reads a clock or a random number generator: times are
//!   arguments (`now_ms`, milliseconds on any monotonic clock) and keys
//!   come from the caller.
//! - A panic in framecrypt (a bug) is caught at the boundary and reported
//!   as `FRAMECRYPT_ERR_INTERNAL`; it never unwinds into C.

// `unsafe` is allowed here and only here (the rest of the workspace forbids
// it); every block carries a SAFETY comment, which clippy enforces.
#![deny(missing_docs)]

mod boundary;
mod handle;
mod media;
mod params;
mod receiver;
mod result;
mod sender;
mod sync;
mod wipe;

/// The C library's allocator: every freed block is wiped (`src/wipe.rs`).
#[cfg(feature = "capi")]
#[global_allocator]
static ALLOCATOR: wipe::Wiping = wipe::Wiping;

use core::ffi::c_char;

pub use media::{framecrypt_header_parse, framecrypt_sfu_inspect, framecrypt_sfu_view};
pub use params::{
    CodecId, FRAMECRYPT_MAX_KEY_LEN, FRAMECRYPT_VERSION_MAJOR, FRAMECRYPT_VERSION_MINOR,
    FRAMECRYPT_VERSION_PATCH, FallbackId, SuiteId, codec, codec_id, fallback, framecrypt_codec,
    framecrypt_fallback, framecrypt_suite, suite, suite_id,
};
pub use receiver::{
    framecrypt_header, framecrypt_receiver, framecrypt_receiver_add_key,
    framecrypt_receiver_decrypt, framecrypt_receiver_decrypt_in_place, framecrypt_receiver_free,
    framecrypt_receiver_install_key, framecrypt_receiver_new, framecrypt_receiver_new_ratcheting,
    framecrypt_receiver_remove_key, framecrypt_receiver_unprotect,
    framecrypt_receiver_unprotect_in_place,
};
pub use result::{ResultCode, framecrypt_result, framecrypt_result_message};
pub use sender::{
    framecrypt_sender, framecrypt_sender_current_key, framecrypt_sender_encrypt,
    framecrypt_sender_encrypted_len, framecrypt_sender_free, framecrypt_sender_kid,
    framecrypt_sender_max_protected_len, framecrypt_sender_new, framecrypt_sender_new_ratcheting,
    framecrypt_sender_next_counter, framecrypt_sender_protect, framecrypt_sender_ratchet,
    framecrypt_sender_rekey, framecrypt_sender_resume, framecrypt_sender_resume_ratcheting,
};

/// The version of this library, as a static NUL-terminated string such as
/// "0.1.0" (`FRAMECRYPT_VERSION_MAJOR`.`_MINOR`.`_PATCH`, which give the
/// version of the header); the caller must not free it.
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
