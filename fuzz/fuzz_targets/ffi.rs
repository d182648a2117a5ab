//! The C API under NULLs, arbitrary lengths and overlapping buffers, each
//! call checked against the safe Rust API (see `src/ffi.rs`).
#![no_main]

use framecrypt_fuzz::ffi::{FfiInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: FfiInput| {
    let _ = run(&input);
});
