//! A ratcheting sender and receiver under encrypt, ratchet, rekey,
//! reorder, duplicate, drop and bit-flip operations: every decrypt result
//! is exactly what the documented rules give (see `src/roundtrip.rs`).
#![no_main]

use framecrypt_fuzz::roundtrip::{RoundtripInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: RoundtripInput| {
    run(&input);
});
