//! The library's integration tests, gathered into one test binary: one
//! link instead of one per file (issue 15). Each module is a test file of
//! its own; run one with `cargo test -p framecrypt --test all -- MODULE::`.
//!
//! Two tests stay binaries of their own, because each reads state that is
//! global to its process and that tests running beside it would disturb:
//! `tests/zero_alloc.rs` (a counting global allocator, and no libtest) and
//! `tests/key_schedule_once.rs` (the `test-hooks` counters of key
//! derivations and cipher constructions).
//!
//! Tests against other implementations (openmls, hpke-rs, webrtc-rs's RTP
//! packetizers) are in `interop/`, so that this crate does not build them.

#[path = "../common/mod.rs"]
mod common;
#[path = "../media/mod.rs"]
mod media;

mod codec;
mod codec_commit;
mod codec_paths;
mod codec_rules;
mod distribute;
mod fuzz_regressions;
mod mls;
mod mutants;
mod negative;
mod properties;
mod ratchet;
mod ratchet_vectors;
mod replay;
mod rtp;
mod secrets;
mod unauthenticated_plaintext;
mod vectors;
