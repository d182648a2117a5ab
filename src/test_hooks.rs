//! Test instrumentation (feature `test-hooks`, never for production): how
//! many times the crate has run the RFC 9605 §4.4.2 key derivation and
//! built a cipher (AES key schedule, GHASH key, keyed HMAC states).
//!
//! The tests use these counters to prove that both happen once per key,
//! when it is installed, and never per frame. The counts are global to the
//! process, so a test that reads them must not share its binary with
//! tests that install keys concurrently.

use core::sync::atomic::{AtomicUsize, Ordering};

static KEY_DERIVATIONS: AtomicUsize = AtomicUsize::new(0);
static CIPHER_CONSTRUCTIONS: AtomicUsize = AtomicUsize::new(0);

/// How many times `sframe_key` and `sframe_salt` have been derived.
#[must_use]
pub fn key_derivations() -> usize {
    KEY_DERIVATIONS.load(Ordering::SeqCst)
}

/// How many ciphers (expanded key schedules) have been built, by either
/// backend.
#[must_use]
pub fn cipher_constructions() -> usize {
    CIPHER_CONSTRUCTIONS.load(Ordering::SeqCst)
}

pub(crate) fn count_key_derivation() {
    KEY_DERIVATIONS.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn count_cipher_construction() {
    CIPHER_CONSTRUCTIONS.fetch_add(1, Ordering::SeqCst);
}
