//! Zero heap allocations per frame on the slice and in-place paths, for
//! every suite, on whichever backend this build uses (AWS-LC by default;
//! RustCrypto with `--no-default-features --features std`).
//!
//! A counting global allocator sees every allocation made through Rust's
//! allocator, by this crate, its Rust dependencies and `aws-lc-rs`. It does
//! not see `malloc` calls made inside AWS-LC's C code:
//! `scripts/valgrind-alloc-check.sh` runs this test under valgrind at two
//! frame counts and checks that the process-wide totals are equal.
//!
//! The global allocator counts every thread, so this test runs without
//! libtest (`harness = false` in Cargo.toml): libtest's own main thread
//! allocates while it waits for a test (its channel's lazily created
//! context), which under valgrind's serialised threads lands inside the
//! counted region. With a plain `main` nothing else runs.

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use std::alloc::System;

use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Error, FixedKeyStore, Header, INLINE_AAD_CAPACITY, KeyId, Receiver,
    Sender,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Frames per suite, each sent and received on both paths, after warm-up.
/// `FRAMECRYPT_ZERO_ALLOC_FRAMES` overrides it (the valgrind check runs the
/// test at two counts and compares the totals).
/// Under Miri, which is orders of magnitude slower, a few frames suffice.
fn frames() -> usize {
    std::env::var("FRAMECRYPT_ZERO_ALLOC_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(miri) { 3 } else { 10_000 })
}

const PAYLOAD_LENS: [usize; 3] = [1, 100, 1200];
const MAX_PAYLOAD: usize = 1200;

/// Empty, small, and the most metadata that still fits the inline AAD
/// buffer next to the longest header.
fn metadata_cases() -> [Vec<u8>; 3] {
    [
        Vec::new(),
        vec![0x11; 10],
        vec![0x22; INLINE_AAD_CAPACITY - Header::MAX_LEN],
    ]
}

/// Everything one suite needs, allocated before counting starts.
struct Bench {
    sender: Sender,
    receiver: Receiver<FixedKeyStore<2>>,
    plaintext: Vec<u8>,
    frame: Vec<u8>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl Bench {
    fn new(suite: CipherSuite) -> Self {
        let base_key = BaseKey::new(b"zero allocations per frame").expect("base key");
        // A large KID and a counter high enough that headers take the long
        // forms.
        let kid = KeyId(0x0123_4567_89ab);
        let mut receiver = Receiver::new();
        receiver.add_key(suite, kid, dup(&base_key)).expect("room");
        let len = MAX_PAYLOAD + framecrypt::max_overhead(suite);
        Self {
            sender: Sender::resume(suite, kid, dup(&base_key), framecrypt::Counter(1 << 40)),
            receiver,
            plaintext: (0..MAX_PAYLOAD).map(|i| i as u8).collect(),
            frame: vec![0; len],
            out: vec![0; len],
            buf: vec![0; len],
        }
    }

    /// One frame through both paths, plus one forged frame rejected.
    fn round(&mut self, i: usize, metadata: &[u8]) {
        let pt = &self.plaintext[..PAYLOAD_LENS[i % PAYLOAD_LENS.len()]];

        let n = self
            .sender
            .seal(metadata, pt, &mut self.frame)
            .expect("encrypt")
            .len();
        // Forged first: a frame whose counter has not been seen reaches the
        // authentication check (and fails it) rather than the replay check.
        self.frame[n - 1] ^= 1;
        assert_eq!(
            self.receiver
                .open(metadata, &self.frame[..n], &mut self.out),
            Err(Error::AuthenticationFailed)
        );
        self.frame[n - 1] ^= 1;
        let decrypted = self
            .receiver
            .open(metadata, &self.frame[..n], &mut self.out)
            .expect("decrypt");
        assert_eq!(&self.out[decrypted.plaintext()], pt);

        let start = Header::MAX_LEN;
        self.buf[start..start + pt.len()].copy_from_slice(pt);
        let range = self
            .sender
            .seal_in_place(metadata, &mut self.buf, start..start + pt.len())
            .expect("encrypt in place")
            .frame();
        let frame = &mut self.buf[range];
        let decrypted = self
            .receiver
            .open_in_place(metadata, frame)
            .expect("decrypt in place");
        assert_eq!(&frame[decrypted.plaintext()], pt);
    }
}

fn main() {
    sending_and_receiving_frames_allocates_nothing();
    println!(
        "zero_alloc: {} frames per suite on both paths, 0 allocations",
        frames()
    );
}

fn sending_and_receiving_frames_allocates_nothing() {
    let frames = frames();
    let metadata = metadata_cases();
    for suite in CipherSuite::ALL {
        let mut bench = Bench::new(suite);
        // Warm-up: lazy one-time set-up (CPU feature detection, AWS-LC's
        // per-thread error queue) happens here.
        for i in 0..10 {
            bench.round(i, &metadata[i % metadata.len()]);
        }

        let region = Region::new(GLOBAL);
        for i in 0..frames {
            bench.round(i, &metadata[i % metadata.len()]);
        }
        let stats = region.change();

        assert_eq!(
            (stats.allocations, stats.reallocations),
            (0, 0),
            "{suite}: {frames} frames must not touch the heap"
        );
    }
}

/// The same key again, as another party holding the same secret has it.
fn dup(key: &BaseKey) -> BaseKey {
    BaseKey::new(key.expose_secret()).expect("valid key")
}
