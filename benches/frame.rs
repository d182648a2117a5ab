//! framecrypt side by side with the raw AEAD of its backend (key cached)
//! and with the `sframe` crate, in one run, so every result is read as a
//! ratio measured on the same machine at the same moment (issue 3).
//!
//! The backend is a compile-time choice: `cargo bench -p framecrypt-bench`
//! measures AWS-LC, the default (raw baseline: `aws-lc-rs` `LessSafeKey`,
//! `cipher` and `hmac`), `cargo bench -p framecrypt-bench
//! --no-default-features` measures RustCrypto (raw baseline: `aes-gcm`
//! 0.11, and `aes` + `ctr` + `hmac` for the CTR suite). `sframe` 2.1 runs
//! with its default `ring` backend, which has no AES-CTR suites.
//!
//! Buffers are laid out on purpose: payloads start 64-byte aligned, and
//! wherever bytes move from one buffer to another the source and
//! destination are 2048 bytes apart modulo 4096. glibc's `memcpy` slows to
//! about 3 GB/s on this CPU when they are only a few bytes apart modulo
//! 4096, which would otherwise show up as a slow cipher.
//!
//! See BENCHMARKS.md for how to run it and for the numbers.

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use core::hint::black_box;
use core::ops::Range;

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use framecrypt::prelude::*;
use framecrypt::{BaseKey, CipherSuite, Counter, Header, KeyId, Receiver, Sender, VecKeyStore};

const SIZES: [usize; 5] = [100, 1_200, 10_000, 100_000, 1_000_000];
const SUITES: [CipherSuite; 3] = [
    CipherSuite::Aes128GcmSha256_128,
    CipherSuite::Aes256GcmSha512_128,
    CipherSuite::Aes128CtrHmacSha256_80,
];
const KID: KeyId = KeyId(1);
/// A counter with a 5-byte encoding, so the header length (6 bytes) stays
/// the same for the whole run.
const FIRST_CTR: u64 = 1 << 32;
/// The raw baselines authenticate an AAD of the same length as that header.
const RAW_AAD: [u8; 6] = [0x0c, 0x01, 0x00, 0x00, 0x00, 0x00];
const BASE_KEY: &[u8] = b"framecrypt benchmark base key";

#[cfg(not(feature = "aws-lc"))]
const BACKEND: &str = "rustcrypto";
#[cfg(feature = "aws-lc")]
const BACKEND: &str = "aws-lc";

const PAGE: usize = 4096;

/// The first index of `mem` at or after `min` whose address is
/// `page_offset` modulo 4096.
fn at_page_offset(mem: &[u8], page_offset: usize, min: usize) -> usize {
    let addr = mem.as_ptr().addr();
    let mut i = (page_offset + PAGE - addr % PAGE) % PAGE;
    while i < min {
        i += PAGE;
    }
    i
}

/// How many destructive in-place decryptions to prepare per timed batch:
/// enough to hide the timer, few enough to stay near the cache.
fn batch(size: usize) -> BatchSize {
    BatchSize::NumIterations(((4 << 20) / size).clamp(16, 4096) as u64)
}

fn base_key() -> BaseKey {
    BaseKey::new(BASE_KEY).expect("base key")
}

fn new_sender(suite: CipherSuite, kid: KeyId) -> Sender {
    Sender::resume(suite, kid, base_key(), Counter(FIRST_CTR))
}

/// A receiver that opens the same frame on every iteration: replay
/// protection off, so that the rows time the decryption itself against the
/// raw AEAD. The "replay window" row times it with the window on.
fn new_receiver(suite: CipherSuite, kids: Range<u64>) -> Receiver<VecKeyStore> {
    let mut receiver = Receiver::new().without_replay_protection();
    for kid in kids {
        receiver
            .add_key(suite, KeyId(kid), base_key())
            .expect("growable store");
    }
    receiver
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn one_frame(suite: CipherSuite, kid: KeyId, size: usize) -> Vec<u8> {
    let mut sender = new_sender(suite, kid);
    let pt = payload(size);
    let mut frame = vec![0; sender.next_ciphertext_len(size)];
    let sealed = sender.seal(&[], &pt, &mut frame).expect("encrypt");
    frame.truncate(sealed.len());
    frame
}

/// A fresh copy of `frame` whose payload (after `header_len` bytes) is
/// 64-byte aligned; returns the buffer and where the frame is in it.
fn aligned_copy(frame: &[u8], header_len: usize) -> (Vec<u8>, Range<usize>) {
    let mut mem = vec![0; frame.len() + 128];
    let addr = mem.as_ptr().addr();
    let payload_start = (64 - addr % 64) % 64 + 64;
    let start = payload_start - header_len;
    mem[start..start + frame.len()].copy_from_slice(frame);
    (mem, start..start + frame.len())
}

/// The raw AEAD of the RustCrypto backend, key schedule cached.
#[cfg(not(feature = "aws-lc"))]
mod raw {
    use aes::Aes128;
    use aes_gcm::aead::inout::InOutBuf;
    use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit, Tag};
    use ctr::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
    use ctr::{CtrCore, flavors};
    use framecrypt::CipherSuite;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    pub fn name(suite: CipherSuite) -> &'static str {
        match suite {
            CipherSuite::Aes128GcmSha256_128 | CipherSuite::Aes256GcmSha512_128 => {
                "raw aes-gcm 0.11"
            }
            _ => "raw aes+ctr+hmac",
        }
    }

    pub enum Raw {
        Gcm128(Aes128Gcm),
        Gcm256(Aes256Gcm),
        CtrHmac(Aes128, Hmac<Sha256>),
    }

    impl Raw {
        pub fn new(suite: CipherSuite) -> Self {
            let key = [0x42; 48];
            match suite {
                CipherSuite::Aes128GcmSha256_128 => {
                    Self::Gcm128(Aes128Gcm::new_from_slice(&key[..16]).expect("key"))
                }
                CipherSuite::Aes256GcmSha512_128 => {
                    Self::Gcm256(Aes256Gcm::new_from_slice(&key[..32]).expect("key"))
                }
                _ => Self::CtrHmac(
                    Aes128::new_from_slice(&key[..16]).expect("key"),
                    Hmac::new_from_slice(&key[16..]).expect("key"),
                ),
            }
        }

        fn ctr_keystream(aes: &Aes128, nonce: &[u8; 12], buf: &mut [u8]) {
            let mut block = [0u8; 16];
            block[..12].copy_from_slice(nonce);
            let core = CtrCore::<&Aes128, flavors::Ctr128BE>::inner_iv_init(aes, &block.into());
            StreamCipherCoreWrapper::from_core(core).apply_keystream(buf);
        }

        /// RFC 9605 §4.5.1 tag: HMAC over lengths, nonce, AAD, ciphertext.
        fn ctr_tag(mac: &Hmac<Sha256>, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> [u8; 32] {
            let mut mac = mac.clone();
            mac.update(&(aad.len() as u64).to_be_bytes());
            mac.update(&(ct.len() as u64).to_be_bytes());
            mac.update(&10u64.to_be_bytes());
            mac.update(nonce);
            mac.update(aad);
            mac.update(ct);
            mac.finalize().into_bytes().into()
        }

        pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) {
            match self {
                Self::Gcm128(g) => tag.copy_from_slice(
                    &g.encrypt_inout_detached(nonce.into(), aad, InOutBuf::from(buf))
                        .expect("seal"),
                ),
                Self::Gcm256(g) => tag.copy_from_slice(
                    &g.encrypt_inout_detached(nonce.into(), aad, InOutBuf::from(buf))
                        .expect("seal"),
                ),
                Self::CtrHmac(aes, mac) => {
                    Self::ctr_keystream(aes, nonce, buf);
                    tag.copy_from_slice(&Self::ctr_tag(mac, nonce, aad, buf)[..tag.len()]);
                }
            }
        }

        pub fn open_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) {
            match self {
                Self::Gcm128(g) => g
                    .decrypt_inout_detached(
                        nonce.into(),
                        aad,
                        InOutBuf::from(buf),
                        &Tag::try_from(tag).expect("tag"),
                    )
                    .expect("open"),
                Self::Gcm256(g) => g
                    .decrypt_inout_detached(
                        nonce.into(),
                        aad,
                        InOutBuf::from(buf),
                        &Tag::try_from(tag).expect("tag"),
                    )
                    .expect("open"),
                Self::CtrHmac(aes, mac) => {
                    let full = Self::ctr_tag(mac, nonce, aad, buf);
                    assert!(bool::from(subtle::ConstantTimeEq::ct_eq(
                        &full[..tag.len()],
                        tag
                    )));
                    Self::ctr_keystream(aes, nonce, buf);
                }
            }
        }
    }
}

/// The raw AEAD of the AWS-LC backend, key schedule cached.
#[cfg(feature = "aws-lc")]
mod raw {
    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::cipher::{AES_128, EncryptingKey, EncryptionContext, UnboundCipherKey};
    use aws_lc_rs::hmac;
    use framecrypt::CipherSuite;

    pub fn name(suite: CipherSuite) -> &'static str {
        match suite {
            CipherSuite::Aes128GcmSha256_128 | CipherSuite::Aes256GcmSha512_128 => {
                "raw aws-lc-rs LessSafeKey"
            }
            _ => "raw aws-lc-rs ctr+hmac",
        }
    }

    // Built once; its size does not matter, and a box would add a
    // pointer chase that a raw baseline should not have.
    #[allow(clippy::large_enum_variant)]
    pub enum Raw {
        Gcm(LessSafeKey),
        CtrHmac(EncryptingKey, hmac::Key),
    }

    impl Raw {
        pub fn new(suite: CipherSuite) -> Self {
            let key = [0x42; 48];
            match suite {
                CipherSuite::Aes128GcmSha256_128 => Self::Gcm(LessSafeKey::new(
                    UnboundKey::new(&AES_128_GCM, &key[..16]).expect("key"),
                )),
                CipherSuite::Aes256GcmSha512_128 => Self::Gcm(LessSafeKey::new(
                    UnboundKey::new(&AES_256_GCM, &key[..32]).expect("key"),
                )),
                _ => Self::CtrHmac(
                    EncryptingKey::ctr(UnboundCipherKey::new(&AES_128, &key[..16]).expect("key"))
                        .expect("ctr"),
                    hmac::Key::new(hmac::HMAC_SHA256, &key[16..]),
                ),
            }
        }

        fn ctr_keystream(aes: &EncryptingKey, nonce: &[u8; 12], buf: &mut [u8]) {
            let mut block = [0u8; 16];
            block[..12].copy_from_slice(nonce);
            aes.less_safe_encrypt(buf, EncryptionContext::Iv128(block.into()))
                .expect("ctr");
        }

        /// RFC 9605 §4.5.1 tag: HMAC over lengths, nonce, AAD, ciphertext.
        fn ctr_tag(mac: &hmac::Key, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> hmac::Tag {
            let mut mac = hmac::Context::with_key(mac);
            mac.update(&(aad.len() as u64).to_be_bytes());
            mac.update(&(ct.len() as u64).to_be_bytes());
            mac.update(&10u64.to_be_bytes());
            mac.update(nonce);
            mac.update(aad);
            mac.update(ct);
            mac.sign()
        }

        pub fn seal_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) {
            match self {
                Self::Gcm(key) => {
                    let t = key
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key(*nonce),
                            Aad::from(aad),
                            buf,
                        )
                        .expect("seal");
                    tag.copy_from_slice(t.as_ref());
                }
                Self::CtrHmac(aes, mac) => {
                    Self::ctr_keystream(aes, nonce, buf);
                    tag.copy_from_slice(&Self::ctr_tag(mac, nonce, aad, buf).as_ref()[..tag.len()]);
                }
            }
        }

        pub fn open_in_place(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) {
            match self {
                Self::Gcm(key) => {
                    key.open_in_place_separate_tag(
                        Nonce::assume_unique_for_key(*nonce),
                        Aad::from(aad),
                        tag,
                        buf,
                    )
                    .expect("open");
                }
                Self::CtrHmac(aes, mac) => {
                    let full = Self::ctr_tag(mac, nonce, aad, buf);
                    assert!(bool::from(subtle::ConstantTimeEq::ct_eq(
                        &full.as_ref()[..tag.len()],
                        tag
                    )));
                    Self::ctr_keystream(aes, nonce, buf);
                }
            }
        }
    }
}

/// The `sframe` crate (ring backend): its GCM suites only.
mod other {
    use framecrypt::CipherSuite;
    use sframe::CipherSuite as Suite;

    pub const NAME: &str = "sframe 2.1 (ring)";

    pub fn suite(suite: CipherSuite) -> Option<Suite> {
        match suite {
            CipherSuite::Aes128GcmSha256_128 => Some(Suite::AesGcm128Sha256),
            CipherSuite::Aes256GcmSha512_128 => Some(Suite::AesGcm256Sha512),
            _ => None,
        }
    }
}

fn nonce_for(i: u64) -> [u8; 12] {
    let mut nonce = [0x24; 12];
    for (n, c) in nonce[4..].iter_mut().zip(i.to_be_bytes()) {
        *n ^= c;
    }
    nonce
}

fn bench_encrypt(c: &mut Criterion) {
    for suite in SUITES {
        let mut group = c.benchmark_group(format!("encrypt/{BACKEND}/{}", suite.name()));
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            encrypt_one_size(&mut group, suite, size);
        }
        group.finish();
    }
}

fn encrypt_one_size(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    let pt = payload(size);
    let tag_len = suite.tag_len();

    // In place: payload at a page boundary, header before, tag after.
    let mut sender = new_sender(suite, KID);
    let mut mem = vec![0u8; size + 2 * PAGE];
    let start = at_page_offset(&mem, 0, Header::MAX_LEN);
    mem[start..start + size].copy_from_slice(&pt);
    group.bench_function(BenchmarkId::new("framecrypt in place", size), |b| {
        b.iter(|| {
            // Encrypting the previous ciphertext again costs the same.
            black_box(
                sender
                    .seal_in_place(&[], black_box(&mut mem), start..start + size)
                    .expect("encrypt"),
            )
        });
    });

    // Into a slice: plaintext at page offset 0, ciphertext at 2048.
    let mut sender = new_sender(suite, KID);
    let header_len = Header::new(KID, Counter(FIRST_CTR)).encoded_len();
    let mut src = vec![0u8; size + PAGE];
    let src_start = at_page_offset(&src, 0, 0);
    src[src_start..src_start + size].copy_from_slice(&pt);
    let mut dst = vec![0u8; size + 2 * PAGE];
    let dst_start = at_page_offset(&dst, 2048, header_len) - header_len;
    group.bench_function(BenchmarkId::new("framecrypt slice", size), |b| {
        b.iter(|| {
            black_box(
                sender
                    .seal(
                        &[],
                        black_box(&src[src_start..src_start + size]),
                        &mut dst[dst_start..],
                    )
                    .expect("encrypt"),
            )
        });
    });

    // The raw AEAD in place, same alignment, AAD as long as the header.
    let raw = raw::Raw::new(suite);
    let mut mem = vec![0u8; size + 2 * PAGE];
    let start = at_page_offset(&mem, 0, 0);
    mem[start..start + size].copy_from_slice(&pt);
    let mut i = 0u64;
    group.bench_function(BenchmarkId::new(raw::name(suite), size), |b| {
        b.iter(|| {
            i += 1;
            let (body, tag) = mem[start..start + size + tag_len].split_at_mut(size);
            raw.seal_in_place(&nonce_for(i), &RAW_AAD, black_box(body), tag);
        });
    });

    // sframe: encrypt_into copies the payload into its (reused) buffer.
    if let Some(sf_suite) = other::suite(suite) {
        use sframe::frame::{MediaFrameView, PanickingMonotonicCounter};
        use sframe::key::EncryptionKey;
        let key = EncryptionKey::derive_from(sf_suite, KID.0, BASE_KEY).expect("sframe key");
        let mut counter = PanickingMonotonicCounter::with_start_value(FIRST_CTR, u64::MAX);
        let mut out: Vec<u8> = Vec::with_capacity(size + 64);
        // Allocate once, then place the source 2048 bytes (mod 4096) away
        // from where sframe copies the payload to.
        MediaFrameView::new(&mut counter, &pt)
            .encrypt_into(&key, &mut out)
            .expect("sframe encrypt");
        let copy_dst = out.as_ptr().addr() + header_len;
        let mut src = vec![0u8; size + 2 * PAGE];
        let src_start = at_page_offset(&src, (copy_dst + PAGE - 2048) % PAGE, 0);
        src[src_start..src_start + size].copy_from_slice(&pt);
        let src = &src[src_start..src_start + size];
        group.bench_function(BenchmarkId::new(other::NAME, size), |b| {
            b.iter(|| {
                let frame = MediaFrameView::new(&mut counter, black_box(src))
                    .encrypt_into(&key, &mut out)
                    .expect("sframe encrypt");
                black_box(frame.cipher_text().len())
            });
        });
    }
}

fn bench_decrypt(c: &mut Criterion) {
    for suite in SUITES {
        let mut group = c.benchmark_group(format!("decrypt/{BACKEND}/{}", suite.name()));
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            decrypt_one_size(&mut group, suite, size);
        }
        group.finish();
    }
}

fn decrypt_one_size(group: &mut BenchmarkGroup<'_, WallTime>, suite: CipherSuite, size: usize) {
    let frame = one_frame(suite, KID, size);
    let header_len = Header::parse(&frame).expect("header").len();
    let tag_len = suite.tag_len();
    let mut receiver = new_receiver(suite, KID.0..KID.0 + 1);

    // In place destroys the ciphertext, so each call gets a fresh aligned
    // copy, made outside the timed loop.
    group.bench_function(BenchmarkId::new("framecrypt in place", size), |b| {
        b.iter_batched_ref(
            || aligned_copy(&frame, header_len),
            |(mem, range)| {
                black_box(
                    receiver
                        .open_in_place(&[], &mut mem[range.clone()])
                        .expect("decrypt"),
                )
            },
            batch(size),
        );
    });

    // Into a slice: payload at page offset 0, plaintext written at 2048.
    let mut src = vec![0u8; frame.len() + 2 * PAGE];
    let src_start = at_page_offset(&src, 0, header_len) - header_len;
    src[src_start..src_start + frame.len()].copy_from_slice(&frame);
    let src = &src[src_start..src_start + frame.len()];
    let mut out = vec![0u8; frame.len() + PAGE];
    let out_start = at_page_offset(&out, 2048, 0);
    group.bench_function(BenchmarkId::new("framecrypt slice", size), |b| {
        b.iter(|| {
            black_box(
                receiver
                    .open(&[], black_box(src), &mut out[out_start..])
                    .expect("decrypt"),
            )
        });
    });

    // With the replay window on: every iteration a new frame (the next
    // counter), sealed outside the timed loop, so the window accepts it.
    let mut windowed = Receiver::<VecKeyStore>::new();
    windowed
        .add_key(suite, KID, base_key())
        .expect("growable store");
    let mut sender = new_sender(suite, KID);
    let pt = payload(size);
    group.bench_function(
        BenchmarkId::new("framecrypt slice, replay window", size),
        |b| {
            b.iter_batched_ref(
                || sender.seal_to_vec(&[], &pt).expect("encrypt"),
                |frame| {
                    black_box(
                        windowed
                            .open(&[], black_box(frame), &mut out[out_start..])
                            .expect("decrypt"),
                    )
                },
                batch(size),
            );
        },
    );

    // The raw AEAD in place, on the same kind of fresh aligned copies.
    let raw = raw::Raw::new(suite);
    let nonce = nonce_for(7);
    let mut sealed = payload(size);
    sealed.resize(size + tag_len, 0);
    let (body, tag) = sealed.split_at_mut(size);
    raw.seal_in_place(&nonce, &RAW_AAD, body, tag);
    group.bench_function(BenchmarkId::new(raw::name(suite), size), |b| {
        b.iter_batched_ref(
            || aligned_copy(&sealed, 0),
            |(mem, range)| {
                let (body, tag) = mem[range.clone()].split_at_mut(size);
                raw.open_in_place(&nonce, &RAW_AAD, body, tag);
            },
            batch(size),
        );
    });

    // sframe: decrypt_into copies the frame into its (reused) buffer and
    // decrypts there; the input stays intact.
    if let Some(sf_suite) = other::suite(suite) {
        use sframe::frame::EncryptedFrameView;
        use sframe::key::DecryptionKey;
        let key = DecryptionKey::derive_from(sf_suite, KID.0, BASE_KEY).expect("sframe key");
        let mut out: Vec<u8> = Vec::with_capacity(frame.len() + 64);
        EncryptedFrameView::try_new(&frame)
            .expect("sframe parses our frame")
            .decrypt_into(&key, &mut out)
            .expect("sframe decrypts our frame");
        let copy_dst = out.as_ptr().addr();
        let mut src = vec![0u8; frame.len() + 2 * PAGE];
        let src_start = at_page_offset(&src, (copy_dst + PAGE - 2048) % PAGE, 0);
        src[src_start..src_start + frame.len()].copy_from_slice(&frame);
        let src = &src[src_start..src_start + frame.len()];
        group.bench_function(BenchmarkId::new(other::NAME, size), |b| {
            b.iter(|| {
                let view = EncryptedFrameView::try_new(black_box(src)).expect("parse");
                let media = view.decrypt_into(&key, &mut out).expect("sframe decrypt");
                black_box(media.payload().len())
            });
        });
    }
}

/// Receive with 1 installed key and with 1,000 (KID lookup must stay flat).
fn bench_key_count(c: &mut Criterion) {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let kid = KeyId(777);
    for size in [100, 1_200] {
        let mut group = c.benchmark_group(format!("keys/{BACKEND}/{}/{size}", suite.name()));
        group.throughput(Throughput::Bytes(size as u64));
        let frame = one_frame(suite, kid, size);
        let mut out = vec![0u8; frame.len() + PAGE];
        let out_start = at_page_offset(&out, 2048, 0);
        for (name, kids) in [("1 key", 777..778), ("1000 keys", 0..1000)] {
            let mut receiver = new_receiver(suite, kids);
            group.bench_function(name, |b| {
                b.iter(|| {
                    black_box(
                        receiver
                            .open(&[], black_box(&frame), &mut out[out_start..])
                            .expect("decrypt"),
                    )
                });
            });
        }
        group.finish();
    }
}

/// A forged frame is rejected no faster than a good one is accepted,
/// wherever the forgery is.
fn bench_forged(c: &mut Criterion) {
    let size = 1_200;
    for suite in [
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes128CtrHmacSha256_80,
    ] {
        let mut group = c.benchmark_group(format!("forged/{BACKEND}/{}/{size}", suite.name()));
        group.throughput(Throughput::Bytes(size as u64));
        let good = one_frame(suite, KID, size);
        let header_len = Header::parse(&good).expect("header").len();
        let mut first = good.clone();
        first[header_len] ^= 1;
        let mut last = good.clone();
        *last.last_mut().expect("tag") ^= 1;
        let mut receiver = new_receiver(suite, KID.0..KID.0 + 1);
        let mut out = vec![0u8; good.len()];
        for (name, frame, ok) in [
            ("good", &good, true),
            ("forged first payload byte", &first, false),
            ("forged last tag byte", &last, false),
        ] {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let result = receiver.open(&[], black_box(frame), &mut out);
                    assert_eq!(result.is_ok(), ok);
                });
            });
        }
        group.finish();
    }
}

/// `rtp::assemble` on its worst cases (issue 16): 2,000 packets that all
/// start a frame and none ends one, and one frame of 2,000 fragments
/// delivered in reverse; next to a 10-fragment frame, the common case.
fn bench_assemble(c: &mut Criterion) {
    use framecrypt::rtp::{Descriptor, Origin, Received, assemble};
    let payload = |start: bool, end: bool| {
        let descriptor = Descriptor {
            start,
            end,
            origin: Origin::Raw,
        };
        let mut payload = vec![descriptor.to_byte()];
        payload.extend_from_slice(&[0xa5; 100]);
        payload
    };
    let frame =
        |n: usize| -> Vec<Vec<u8>> { (0..n).map(|i| payload(i == 0, i + 1 == n)).collect() };
    let starts: Vec<Vec<u8>> = (0..2_000).map(|_| payload(true, false)).collect();
    let cases: [(&str, Vec<Vec<u8>>, bool, bool); 3] = [
        ("2000 starts, no end", starts, false, false),
        ("2000 fragments, reversed", frame(2_000), true, true),
        ("10 fragments, in order", frame(10), false, true),
    ];
    let mut group = c.benchmark_group("rtp/assemble");
    let mut out = vec![0u8; 2_000 * 100];
    for (name, payloads, reversed, complete) in &cases {
        let mut received: Vec<Received<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, payload)| Received {
                seq: 65_000u16.wrapping_add(i as u16),
                payload,
            })
            .collect();
        if *reversed {
            received.reverse();
        }
        group.throughput(Throughput::Elements(received.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let result = assemble(black_box(&received), &mut out).expect("well-formed");
                assert_eq!(result.is_some(), *complete);
            });
        });
    }
    group.finish();
}

fn bench_header(c: &mut Criterion) {
    let mut group = c.benchmark_group("header/parse");
    for (name, kid, ctr) in [
        ("1 byte", 1, 5),
        ("6 bytes", KID.0, FIRST_CTR),
        ("17 bytes", u64::MAX, u64::MAX),
    ] {
        let encoded = Header::new(KeyId(kid), Counter(ctr)).encode();
        let bytes = encoded.as_bytes();
        group.bench_function(name, |b| {
            b.iter(|| black_box(Header::parse(black_box(bytes)).expect("parse").header()));
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_encrypt,
    bench_decrypt,
    bench_key_count,
    bench_forged,
    bench_header,
    bench_assemble
);
criterion_main!(benches);
