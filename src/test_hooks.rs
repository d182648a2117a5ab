//! Test instrumentation (feature `test-hooks`, never for production): how
//! many times the crate has run each step of the RFC 9605 key schedule
//! (the HKDF-Extract of a base key, the key-and-salt expansion of a KID, a
//! §5.1 ratchet step) and built a cipher (AES key schedule, GHASH key,
//! keyed HMAC states).
//!
//! The tests use these counters to prove that keys are built once per key,
//! when it is installed, never per frame, and that a forged frame costs at
//! most one key-and-salt expansion. The counts are global to the process,
//! so a test that reads them must not share its binary with tests that
//! install keys concurrently.

use core::sync::atomic::{AtomicUsize, Ordering};

static KEY_DERIVATIONS: AtomicUsize = AtomicUsize::new(0);
static SECRET_EXTRACTIONS: AtomicUsize = AtomicUsize::new(0);
static RATCHET_STEPS: AtomicUsize = AtomicUsize::new(0);
static CIPHER_CONSTRUCTIONS: AtomicUsize = AtomicUsize::new(0);

/// How many times `sframe_key` and `sframe_salt` have been derived (the
/// two HKDF-Expands of RFC 9605 §4.4.2).
#[must_use]
pub fn key_derivations() -> usize {
    KEY_DERIVATIONS.load(Ordering::SeqCst)
}

/// How many times a base key has gone through HKDF-Extract
/// (`sframe_secret`, RFC 9605 §4.4.2, also the first half of a §5.1
/// ratchet step).
#[must_use]
pub fn secret_extractions() -> usize {
    SECRET_EXTRACTIONS.load(Ordering::SeqCst)
}

/// How many RFC 9605 §5.1 ratchet steps (the HKDF-Expand of the next base
/// key) have been computed, by senders and receivers.
#[must_use]
pub fn ratchet_steps() -> usize {
    RATCHET_STEPS.load(Ordering::SeqCst)
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

pub(crate) fn count_secret_extraction() {
    SECRET_EXTRACTIONS.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn count_ratchet_step() {
    RATCHET_STEPS.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn count_cipher_construction() {
    CIPHER_CONSTRUCTIONS.fetch_add(1, Ordering::SeqCst);
}
