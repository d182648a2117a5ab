//! Codec-aware protection (`codec::Protection`) side by side with a plain
//! SFrame seal / open of the same frame, and the SFU's key-less view
//! (`sfu::inspect_codec`), per codec at the sizes of a real call (issue
//! 17): Opus 100 B; video 1,200 B and 30 KB delta frames and a 300 KB
//! keyframe (H.26x with SPS/PPS/SEI, AV1 with a sequence header).
//!
//! Every group holds, for one codec and size:
//!
//! - `protect` / `unprotect`: `Protection::protect` / `unprotect`, from one
//!   buffer into another (the slice doors);
//! - `seal` / `open`: `Seal::seal` / `Open::open` of the same frame, also
//!   from one buffer into another: the plain SFrame cost the codec layer is
//!   measured against;
//! - `round trip in place`: `protect_in_place` then `unprotect_in_place`
//!   in one buffer, next to `seal + open in place` (`seal_in_place` then
//!   `open_in_place`);
//! - `inspect`: `sfu::inspect_codec` of the protected frame (header,
//!   hints and sizes); `peek`: `sfu::peek_codec` (header and hints, at a
//!   cost that does not grow with the encrypted payload).
//!
//! The frames are synthetic but shaped as encoders make them: H.26x slices
//! carry valid slice headers and an escaped random payload (no start code
//! inside), the keyframes the parameter sets and the x264 / x265 SEI of the
//! committed samples; AV1 frames are a temporal delimiter and OBUs with
//! size fields; VP8 frames carry their frame tag (and keyframe start code
//! and dimensions). Payload bytes are random, as compressed media is.
//!
//! Buffers are laid out as in `frame.rs`: input at page offset 0, output at
//! 2048, so that glibc's memcpy is not slowed by 4K aliasing.
//!
//! `cargo bench -p framecrypt-bench --bench codec [--no-default-features]`
//! (AWS-LC, the default backend, or RustCrypto); the table in BENCHMARKS.md
//! is made by `benches/codec-table.py`.

#![allow(clippy::cast_possible_truncation)] // test data: byte patterns from indices

use core::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use framecrypt::codec::{
    Codec, Fallback, Protection, max_in_place_len, max_protected_len, max_unprotect_in_place_len,
};
use framecrypt::prelude::*;
use framecrypt::{BaseKey, CipherSuite, Counter, KeyId, Receiver, Sender, VecKeyStore, sfu};

#[cfg(not(feature = "aws-lc"))]
const BACKEND: &str = "rustcrypto";
#[cfg(feature = "aws-lc")]
const BACKEND: &str = "aws-lc";

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const KID: KeyId = KeyId(1);
/// A KID whose encoding holds `00 00`: every header needs emulation
/// prevention in H.26x (the row "… 00 00 in the header").
const KID_WITH_ZEROS: KeyId = KeyId(0x1_0000);
/// A counter with a 3-byte encoding and no two zero bytes in a row for
/// the whole run (about 11 hours into a 30 fps call): the header is 4
/// bytes.
const FIRST_CTR: u64 = 0x12_3456;
const BASE_KEY: &[u8] = b"framecrypt benchmark base key";
const PAGE: usize = 4096;

const H264_SAMPLE: &[u8] = include_bytes!("../tests/data/media/h264.h264");
const H265_SAMPLE: &[u8] = include_bytes!("../tests/data/media/h265.h265");

/// A deterministic stream of random-looking bytes (xorshift64*).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// H.264 §7.4.1 emulation prevention: an encoder's NAL unit payload never
/// holds `00 00 0x` with x <= 3 unescaped.
fn emulation_prevented(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64);
    let mut zeros = 0;
    for &b in raw {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// The NAL units (start code included) of the first access unit of an
/// Annex B sample that are not slices: parameter sets and SEI.
fn leading_non_vcl(sample: &[u8], codec: Codec) -> Vec<u8> {
    let starts: Vec<usize> = (0..sample.len() - 3)
        .filter(|&i| sample[i..i + 3] == [0, 0, 1])
        .collect();
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let end =
            starts.get(k + 1).map_or(
                sample.len(),
                |&n| {
                    if sample[n - 1] == 0 { n - 1 } else { n }
                },
            );
        let header = sample[s + 3];
        let vcl = match codec {
            Codec::H264 => matches!(header & 0x1f, 1..=5),
            _ => (header >> 1) & 0x3f < 32,
        };
        if vcl {
            break;
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&sample[s + 3..end]);
    }
    out
}

/// One slice NAL unit of about `len` bytes: start code, `head` (NAL header
/// and slice header bytes), an escaped random payload, the stop bit.
fn slice(head: &[u8], len: usize, seed: u64) -> Vec<u8> {
    let mut nal = vec![0, 0, 0, 1];
    nal.extend_from_slice(head);
    let payload = emulation_prevented(&random_bytes(len.saturating_sub(nal.len() + 1), seed));
    nal.extend_from_slice(&payload[..payload.len().min(len - nal.len() - 1)]);
    nal.push(0x80);
    nal
}

/// An AV1 OBU with a size field (AV1 §5.3).
fn obu(obu_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(obu_type << 3) | 0x02];
    let mut size = payload.len();
    loop {
        let low = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(payload);
    out
}

/// The frame of `codec` at about `size` bytes; a keyframe if `key`.
fn frame(codec: Codec, size: usize, key: bool) -> Vec<u8> {
    let seed = size as u64 * 31 + u64::from(key);
    match codec {
        Codec::Opus { .. } => {
            let mut f = vec![0xfc];
            f.extend(random_bytes(size - 1, seed));
            f
        }
        Codec::Vp8 => {
            let mut f = if key {
                // Frame tag (keyframe, show_frame), start code, 640x480.
                vec![0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
            } else {
                vec![0x31, 0x02, 0x00]
            };
            f.extend(random_bytes(size - f.len(), seed));
            f
        }
        Codec::Vp9 => random_bytes(size, seed),
        Codec::H264 => {
            if key {
                let mut f = leading_non_vcl(H264_SAMPLE, Codec::H264);
                // IDR: first_mb 0, slice_type 7 (I), pps_id 0.
                f.extend(slice(&[0x65, 0x88, 0x84], size - f.len(), seed));
                f
            } else {
                // Non-IDR: first_mb 0, slice_type 5 (P), pps_id 0.
                slice(&[0x41, 0x9a, 0x26], size, seed)
            }
        }
        Codec::H265 => {
            if key {
                let mut f = leading_non_vcl(H265_SAMPLE, Codec::H265);
                // IDR_N_LP: first_slice 1, no_output 0, pps_id 0.
                f.extend(slice(&[0x28, 0x01, 0xaf], size - f.len(), seed));
                f
            } else {
                // TRAIL_R: first_slice 1, pps_id 0.
                slice(&[0x02, 0x01, 0xd0], size, seed)
            }
        }
        Codec::Av1 => {
            let mut f = vec![0x12, 0x00]; // temporal delimiter
            if key {
                f.extend(obu(1, &random_bytes(12, seed ^ 1))); // sequence header
            }
            let header = 1 + if size > 16_000 { 3 } else { 2 };
            f.extend(obu(6, &random_bytes(size - f.len() - header, seed)));
            f
        }
        _ => unreachable!("no such benchmark frame"),
    }
}

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

/// `bytes` at page offset 0 of a new buffer: the buffer and the range.
fn placed(bytes: &[u8], page_offset: usize) -> (Vec<u8>, usize) {
    let mut mem = vec![0u8; bytes.len() + 2 * PAGE];
    let at = at_page_offset(&mem, page_offset, 0);
    mem[at..at + bytes.len()].copy_from_slice(bytes);
    (mem, at)
}

fn sender(kid: KeyId) -> Sender {
    Sender::resume(
        SUITE,
        kid,
        BaseKey::new(BASE_KEY).expect("key"),
        Counter(FIRST_CTR),
    )
}

/// Opens the same frame on every iteration: replay protection off.
fn receiver(kid: KeyId) -> Receiver<VecKeyStore> {
    let mut receiver = Receiver::new().without_replay_protection();
    receiver
        .add_key(SUITE, kid, BaseKey::new(BASE_KEY).expect("key"))
        .expect("growable store");
    receiver
}

/// The codecs and sizes of the table: (row name, codec, size, keyframe,
/// KID).
fn cases() -> Vec<(&'static str, Codec, usize, bool, KeyId)> {
    let mut cases = vec![("opus", Codec::OPUS, 100, false, KID)];
    for (name, codec) in [
        ("vp8", Codec::Vp8),
        ("vp9", Codec::Vp9),
        ("h264", Codec::H264),
        ("h265", Codec::H265),
        ("av1", Codec::Av1),
    ] {
        cases.push((name, codec, 1_200, false, KID));
        cases.push((name, codec, 30_000, false, KID));
        cases.push((name, codec, 300_000, true, KID));
    }
    cases.push((
        "h264 00 00 in the header",
        Codec::H264,
        30_000,
        false,
        KID_WITH_ZEROS,
    ));
    cases
}

fn bench_codecs(c: &mut Criterion) {
    for (name, codec, size, key, kid) in cases() {
        let frame = frame(codec, size, key);
        let p = Protection::new(codec, Fallback::Reject);
        let kind = if key { "key" } else { "delta" };
        let sender = || sender(kid);
        let receiver = || receiver(kid);
        let mut group = c.benchmark_group(format!("codec/{BACKEND}/{name}/{size} {kind}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));

        let (src_mem, src_at) = placed(&frame, 0);
        let src = &src_mem[src_at..src_at + frame.len()];
        let bound = max_protected_len(codec, SUITE, frame.len());
        let mut out_mem = vec![0u8; bound + 2 * PAGE];
        let out_at = at_page_offset(&out_mem, 2048, 0);

        let mut s = sender();
        group.bench_function("protect", |b| {
            b.iter(|| {
                black_box(
                    p.protect(&mut s, black_box(src), &mut out_mem[out_at..out_at + bound])
                        .expect("protect"),
                )
            });
        });
        let mut s = sender();
        group.bench_function("seal", |b| {
            b.iter(|| {
                black_box(
                    s.seal(&[], black_box(src), &mut out_mem[out_at..])
                        .expect("seal"),
                )
            });
        });

        // One protected and one sealed frame, opened again and again.
        let mut s = sender();
        let (_, protected) = p.protect_to_vec(&mut s, &frame).expect("protect");
        let sealed = s.seal_to_vec(&[], &frame).expect("seal");
        let (prot_mem, prot_at) = placed(&protected, 0);
        let prot = &prot_mem[prot_at..prot_at + protected.len()];
        let (seal_mem, seal_at) = placed(&sealed, 0);
        let seal = &seal_mem[seal_at..seal_at + sealed.len()];
        let mut r = receiver();
        group.bench_function("unprotect", |b| {
            b.iter(|| {
                black_box(
                    p.unprotect(&mut r, black_box(prot), &mut out_mem[out_at..])
                        .expect("unprotect"),
                )
            });
        });
        group.bench_function("open", |b| {
            b.iter(|| {
                black_box(
                    r.open(&[], black_box(seal), &mut out_mem[out_at..])
                        .expect("open"),
                )
            });
        });

        // In place, as a round trip (protect, then unprotect, in one
        // buffer, which then holds the frame again), next to the plain
        // round trip `seal_in_place` + `open_in_place`: the buffer stays in
        // the cache and needs no fresh copy per call.
        let in_place = max_in_place_len(codec, SUITE, frame.len())
            .max(max_unprotect_in_place_len(codec, bound));
        let mut buf = vec![0u8; in_place];
        buf[..frame.len()].copy_from_slice(&frame);
        let mut s = sender();
        group.bench_function("round trip in place", |b| {
            b.iter(|| {
                let sealed = p
                    .protect_in_place(&mut s, black_box(&mut buf), frame.len())
                    .expect("protect");
                black_box(
                    p.unprotect_in_place(&mut r, &mut buf, sealed.len())
                        .expect("unprotect"),
                )
            });
        });
        assert_eq!(
            buf[..frame.len()],
            frame[..],
            "the round trip restores the frame"
        );
        let header_len = s.next_header().expect("header").encoded_len();
        let mut buf = vec![0u8; frame.len() + 64];
        let mut s = sender();
        group.bench_function("seal + open in place", |b| {
            b.iter(|| {
                let sealed = s
                    .seal_in_place(
                        &[],
                        black_box(&mut buf),
                        header_len..header_len + frame.len(),
                    )
                    .expect("seal");
                black_box(
                    r.open_in_place(&[], &mut buf[sealed.frame()])
                        .expect("open"),
                )
            });
        });

        group.bench_function("inspect", |b| {
            b.iter(|| black_box(sfu::inspect_codec(codec, black_box(prot)).expect("inspect")));
        });
        group.bench_function("peek", |b| {
            b.iter(|| black_box(sfu::peek_codec(codec, black_box(prot)).expect("peek")));
        });
        group.finish();
    }
}

criterion_group!(benches, bench_codecs);
criterion_main!(benches);
