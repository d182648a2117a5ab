//! Arbitrary frames, and edited frames of the harness's own senders, into
//! receivers of every suite holding keys for several KIDs, ratcheting and
//! with replay windows: never panics, and never returns plaintext for a
//! frame the harness does not itself encrypt (see `src/decrypt.rs`).
#![no_main]

use framecrypt_fuzz::decrypt::{DecryptInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: DecryptInput| {
    run(&input);
});
