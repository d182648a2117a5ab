//! Key announcements (`framecrypt::distribute`), forged and edited: never
//! panics, opens only what was sealed to the member, refuses the rest with
//! the documented error (see `src/announcement.rs`).
#![no_main]

use framecrypt_fuzz::announcement::{AnnouncementInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: AnnouncementInput<'_>| {
    // The harness checks the outcome itself; a refusal is a valid one.
    let _ = run(&input);
});
