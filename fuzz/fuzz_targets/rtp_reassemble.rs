//! Sequences of SFrame RTP payloads through reassembly: never panics, and
//! never joins a frame across a gap (see `src/rtp.rs`).
#![no_main]

use framecrypt_fuzz::rtp::{RtpInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: RtpInput<'_>| {
    run(&input);
});
