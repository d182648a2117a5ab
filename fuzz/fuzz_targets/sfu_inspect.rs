//! Arbitrary payloads read as an SFU reads them, under every codec rule:
//! never panics, and every view is consistent (see `src/sfu.rs`).
#![no_main]

use framecrypt_fuzz::sfu::run;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    run(payload);
});
