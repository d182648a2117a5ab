//! Every codec rule on arbitrary frames: protect/unprotect round trips
//! through every door, the SFU view of what was protected, replays and
//! flipped bits, and `unescape(escape(x)) == x` for the H.26x escaping;
//! never panics (see `src/codec.rs`).
#![no_main]

use framecrypt_fuzz::codec::{CodecInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: CodecInput<'_>| {
    run(&input);
});
