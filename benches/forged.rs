//! What the worst forged frame costs each receiver kind, next to a genuine
//! frame (issue 16, point 4): every suite, 100 B and 1,200 B, on the
//! backend of the build. The target is that the worst forged frame costs at
//! most 5x a genuine decrypt of 1,200 B; `benches/forged-table.py` makes
//! the BENCHMARKS.md table from the results.
//!
//! Benchmark names are `forged/BACKEND/SUITE/SIZE/CASE`. The worst case of
//! each kind:
//!
//! - `Receiver`: a frame under an installed KID whose tag does not match
//!   (one tag check; an unknown KID costs a lookup).
//! - `RatchetingReceiver`: a KID `max_forward` (64) steps ahead (the key
//!   of that step is expanded from its kept secret, then one tag check);
//!   and, with `R = 2`, a KID that names both a retained step and a step
//!   ahead (two tag checks and one expansion).
//! - `EpochManager`, slots sized for the roster (16 leaves, 32 slots): a
//!   KID naming a member, whose key was derived when the epoch was added
//!   (one tag check), and a KID outside the roster (refused unread); a
//!   different one every frame.
//! - `EpochManager` with more leaves than slots (2,048 in 32): a KID
//!   naming a member with no cached key, a different one every frame so
//!   that the speculative entry never helps (one expansion and one tag
//!   check).
//! - codec: a VP8 keyframe through `Protection` with
//!   `Fallback::WholeFrame` over a ratcheting receiver, whose codec-aware
//!   header names a step ahead and whose first byte, read as a whole
//!   frame's header, names another (two expansions, two tag checks).
//!
//! Genuine frames go through the same receiver, each a new frame (the
//! replay window would refuse a repeat), sealed outside the timed loop.

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use core::hint::black_box;
use core::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use framecrypt::codec::{Codec, Fallback, Protection};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, EpochManager, FixedKeyStore, Header, KeyId, MlsSender, RatchetBits,
    RatchetingReceiver, RatchetingSender, Receiver, Sender,
};

#[cfg(not(feature = "aws-lc"))]
const BACKEND: &str = "rustcrypto";
#[cfg(feature = "aws-lc")]
const BACKEND: &str = "aws-lc";

const SIZES: [usize; 2] = [100, 1_200];

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn key(byte: u8) -> BaseKey {
    BaseKey::new(&[byte; 32]).expect("base key")
}

/// `frame` under another KID: the same body and tag, which no longer
/// authenticate.
fn with_kid(frame: &[u8], kid: u64) -> Vec<u8> {
    let header = Header::parse(frame).expect("header");
    let new = Header::new(KeyId(kid), header.ctr()).encode();
    [new.as_bytes(), &frame[header.len()..]].concat()
}

/// `frame` with the last tag byte flipped.
fn tampered(frame: &[u8]) -> Vec<u8> {
    let mut frame = frame.to_vec();
    *frame.last_mut().expect("tag") ^= 1;
    frame
}

fn genuine_batch() -> BatchSize {
    BatchSize::NumIterations(512)
}

fn bench_forged(c: &mut Criterion) {
    for suite in CipherSuite::ALL {
        for size in SIZES {
            let mut group = c.benchmark_group(format!("forged/{BACKEND}/{}/{size}", suite.name()));
            group
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(1))
                .sample_size(20);
            receiver(&mut group, suite, size);
            ratcheting_receiver(&mut group, suite, size);
            epoch_manager(&mut group, suite, size);
            codec_fallback(&mut group, suite, size);
            group.finish();
        }
    }
}

fn receiver(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    let pt = payload(size);
    let (mut sender, share) = Sender::with_share(suite, KeyId(1), key(1));
    let mut rx = Receiver::<FixedKeyStore<4>>::new();
    rx.add_share(share).expect("room");
    let mut out = vec![0u8; size + 64];
    group.bench_function("Receiver genuine", |b| {
        b.iter_batched_ref(
            || sender.seal_to_vec(b"", &pt).expect("seal"),
            |frame| black_box(rx.open(b"", black_box(frame), &mut out).expect("open")),
            genuine_batch(),
        );
    });
    let forged = tampered(&sender.seal_to_vec(b"", &pt).expect("seal"));
    group.bench_function("Receiver forged", |b| {
        b.iter(|| assert!(rx.open(b"", black_box(&forged), &mut out).is_err()));
    });
}

fn ratcheting_receiver(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    let pt = payload(size);
    let bits = RatchetBits::new(8).expect("R");
    let mut sender = RatchetingSender::new(suite, bits, 0, key(2)).expect("sender");
    let mut rx = RatchetingReceiver::<4>::new(suite, bits);
    rx.install_share(sender.share(), 0).expect("key");
    let mut out = vec![0u8; size + 64];
    group.bench_function("RatchetingReceiver genuine", |b| {
        b.iter_batched_ref(
            || sender.seal_to_vec(b"", &pt).expect("seal"),
            |frame| {
                black_box(
                    rx.at(0)
                        .open(b"", black_box(frame), &mut out)
                        .expect("open"),
                )
            },
            genuine_batch(),
        );
    });
    let ahead = rx.max_forward();
    let forged = with_kid(&sender.seal_to_vec(b"", &pt).expect("seal"), ahead);
    group.bench_function("RatchetingReceiver forged, 64 steps ahead", |b| {
        b.iter(|| assert!(rx.at(0).open(b"", black_box(&forged), &mut out).is_err()));
    });

    // R = 2: steps 0, 1 and 2 retained, step 3 current; KID step bits 0
    // name retained step 0 and step 4, one ahead.
    let bits = RatchetBits::new(2).expect("R");
    let mut sender = RatchetingSender::new(suite, bits, 0, key(3)).expect("sender");
    let mut rx = RatchetingReceiver::<4>::new(suite, bits);
    rx.install_share(sender.share(), 0).expect("key");
    for _ in 0..3 {
        let frame = sender.seal_to_vec(b"", &pt).expect("seal");
        rx.at(0).open_to_vec(b"", &frame).expect("open");
        sender.ratchet();
    }
    let frame = sender.seal_to_vec(b"", &pt).expect("seal");
    rx.at(0).open_to_vec(b"", &frame).expect("open");
    assert_eq!((rx.step(), rx.previous_count()), (Some(3), 3));
    let forged = with_kid(&sender.seal_to_vec(b"", &pt).expect("seal"), 0);
    group.bench_function(
        "RatchetingReceiver forged, retained and ahead (R = 2)",
        |b| {
            b.iter(|| assert!(rx.at(0).open(b"", black_box(&forged), &mut out).is_err()));
        },
    );
}

fn epoch_manager(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    // More leaves than slots: members 0 to 31 have their keys derived
    // ahead, the ones named here do not.
    let (mut manager, genuine) = manager_rows(group, suite, size, 2048, "EpochManager genuine");
    let kids = (32..1056)
        .map(|index| mls_kid(&manager, 0, index))
        .collect();
    forge_kids(
        group,
        "EpochManager forged, new member KID",
        &mut manager,
        &genuine,
        kids,
    );

    // The roster in the slots: 16 leaves, one context, 16 keys in 32 slots.
    let (mut manager, genuine) =
        manager_rows(group, suite, size, 16, "EpochManager (roster) genuine");
    let members = (1..16).map(|index| mls_kid(&manager, 0, index)).collect();
    forge_kids(
        group,
        "EpochManager (roster) forged, member KID",
        &mut manager,
        &genuine,
        members,
    );
    let outside = (1..1024)
        .map(|context| mls_kid(&manager, context, context % 16))
        .collect();
    forge_kids(
        group,
        "EpochManager (roster) forged, KID outside the roster",
        &mut manager,
        &genuine,
        outside,
    );
}

type Manager = Box<EpochManager<4, 32>>;

/// An epoch manager of `leaves` in 32 slots at epoch 1, the row `name` of
/// genuine frames from member 0 through it, and one more genuine frame.
fn manager_rows(
    group: &mut BenchmarkGroup<'_, WallTime>,
    suite: CipherSuite,
    size: usize,
    leaves: u64,
    name: &str,
) -> (Manager, Vec<u8>) {
    let pt = payload(size);
    let mut manager = Box::new(EpochManager::<4, 32>::new(suite, 4).expect("manager"));
    manager.add_epoch_key(1, leaves, key(4), 0).expect("epoch");
    let mut sender = MlsSender::new(0, 0);
    sender.enter_epoch(&manager).expect("epoch");
    let mut out = vec![0u8; size + 64];
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || sender.seal_to_vec(b"", &pt).expect("seal"),
            |frame| {
                black_box(
                    manager
                        .at(0)
                        .open(b"", black_box(frame), &mut out)
                        .expect("open"),
                )
            },
            genuine_batch(),
        );
    });
    let genuine = sender.seal_to_vec(b"", &pt).expect("seal");
    (manager, genuine)
}

fn mls_kid(manager: &Manager, context: u64, index: u64) -> u64 {
    let layout = manager.layout(1).expect("epoch 1");
    layout.kid(context, index, 1).expect("fits").0
}

/// The row `name`: `genuine` under each of `kids` in turn, a different
/// one every frame.
fn forge_kids(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    manager: &mut Manager,
    genuine: &[u8],
    kids: Vec<u64>,
) {
    let forged: Vec<Vec<u8>> = kids.iter().map(|&kid| with_kid(genuine, kid)).collect();
    let mut out = vec![0u8; genuine.len()];
    let mut i = 0;
    group.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % forged.len();
            assert!(
                manager
                    .at(0)
                    .open(b"", black_box(&forged[i]), &mut out)
                    .is_err()
            );
        });
    });
}

fn codec_fallback(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    // A VP8 keyframe: frame tag 0x10 (key frame, shown), start code, size.
    let mut frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
    frame.extend_from_slice(&payload(size - frame.len()));
    let protection = Protection::new(Codec::Vp8, Fallback::WholeFrame);
    let bits = RatchetBits::new(8).expect("R");
    let mut sender = RatchetingSender::new(suite, bits, 0, key(5)).expect("sender");
    let mut rx = RatchetingReceiver::<4>::new(suite, bits);
    rx.install_share(sender.share(), 0).expect("key");
    let mut out = vec![0u8; size + 64];
    group.bench_function("codec VP8 fallback genuine", |b| {
        b.iter_batched_ref(
            || {
                protection
                    .protect_to_vec(&mut sender, &frame)
                    .expect("protect")
                    .1
            },
            |protected| {
                black_box(
                    protection
                        .unprotect(&mut rx.at(0), black_box(protected), &mut out)
                        .expect("open"),
                )
            },
            genuine_batch(),
        );
    });
    // Codec-aware, the header names step 64; whole, the first byte (0x10)
    // reads as KID 1, a step ahead too.
    let mut ahead = RatchetingSender::new(suite, bits, 0, key(5)).expect("sender");
    for _ in 0..64 {
        ahead.ratchet();
    }
    let forged = tampered(
        &protection
            .protect_to_vec(&mut ahead, &frame)
            .expect("protect")
            .1,
    );
    group.bench_function("codec VP8 fallback forged, two steps ahead", |b| {
        b.iter(|| {
            assert!(
                protection
                    .unprotect(&mut rx.at(0), black_box(&forged), &mut out)
                    .is_err()
            );
        });
    });
}

criterion_group!(benches, bench_forged);
criterion_main!(benches);
