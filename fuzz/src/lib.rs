//! Shared pieces of the framecrypt fuzz targets (see `README.md`): their
//! typed inputs and harnesses, the reference models the oracles compare
//! against, and the writer that turns test vectors into seed inputs.
//!
//! Each target in `fuzz_targets/` is one line that hands its decoded input
//! to the `run` function of its module here; the seed builder
//! (`examples/make_corpus.rs`) uses the same input types.

use arbitrary::Arbitrary;
use framecrypt::CipherSuite;

pub mod announcement;
pub mod codec;
pub mod decrypt;
pub mod ffi;
pub mod model;
pub mod roundtrip;
pub mod rtp;
pub mod seed;
pub mod sfu;

/// The suite `choice` names, modulo the eight suites.
#[must_use]
pub fn suite(choice: u8) -> CipherSuite {
    CipherSuite::ALL[usize::from(choice) % CipherSuite::ALL.len()]
}

/// Which decrypt entry point a frame goes through.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `decrypt` into an output slice `short` bytes shorter than the
    /// frame (too short for the payload when `short` exceeds the header
    /// and tag lengths).
    Copy {
        /// How much shorter than the frame the output slice is.
        short: u8,
    },
    /// `decrypt_in_place`.
    InPlace,
    /// `decrypt_to_vec`.
    ToVec,
}
seed_enum!(Path[Copy { short }, InPlace, ToVec]);

/// The base key bytes the harnesses derive for one (purpose, suite,
/// index): distinct for every argument, unrelated to any test vector.
#[must_use]
pub fn harness_key(purpose: u8, suite: CipherSuite, index: u64) -> Vec<u8> {
    let mut key = b"framecrypt fuzz:".to_vec();
    key.push(purpose);
    key.extend_from_slice(&suite.id().to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}
