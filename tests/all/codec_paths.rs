//! Every path of the codec engine gives the same bytes (issue 17): one
//! encrypted piece or several, units kept or walked again (more than 16),
//! headers that need emulation prevention themselves (a KID or counter
//! with `00 00`), ciphertext that needs it, and every door (slice, in
//! place, `Vec`) with both fallbacks. What one door makes, every other
//! door makes and restores byte for byte; the SFU's two views agree.

#![cfg(feature = "alloc")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use framecrypt::codec::{
    Codec, Fallback, Protection, max_in_place_len, max_protected_len, max_unprotect_in_place_len,
};
use framecrypt::{
    BaseKey, CipherSuite, Counter, FixedKeyStore, KeyId, Layout, Receiver, Sender, sfu,
};

use crate::media;

type Rx = Receiver<FixedKeyStore<4>>;

const KEY: [u8; 16] = *b"codec paths key!";

fn pair(suite: CipherSuite, kid: u64, ctr: u64) -> (Sender, Rx) {
    let sender = Sender::resume(suite, KeyId(kid), BaseKey::new(&KEY).unwrap(), Counter(ctr));
    // Frames are opened more than once here: through every door.
    let mut receiver = Rx::new().without_replay_protection();
    receiver
        .add_key(suite, KeyId(kid), BaseKey::new(&KEY).unwrap())
        .unwrap();
    (sender, receiver)
}

/// Random-looking bytes (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// H.264 emulation prevention, as an encoder applies it.
fn emulation_prevented(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
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

/// An H.264 access unit: SPS, PPS, an SEI if `sei`, then `slices` slices
/// of `len` payload bytes each.
fn h264(slices: usize, len: usize, sei: bool, seed: u64) -> Vec<u8> {
    let mut au = vec![
        0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
    ];
    if sei {
        au.extend_from_slice(&[0, 0, 1, 0x06, 0x05, 0x10]);
        au.extend_from_slice(b"x264 user data..");
        au.push(0x80);
    }
    for i in 0..slices {
        au.extend_from_slice(&[0, 0, 1, if i == 0 { 0x65 } else { 0x41 }, 0x88, 0x84]);
        au.extend(emulation_prevented(&noise(len, seed + i as u64)));
        au.push(0x80);
    }
    au
}

/// An H.265 access unit: VPS, an IDR slice (several if `slices` > 1).
fn h265(slices: usize, len: usize, seed: u64) -> Vec<u8> {
    let mut au = vec![0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff];
    for i in 0..slices {
        au.extend_from_slice(&[0, 0, 1, 0x26, 0x01, if i == 0 { 0xa0 } else { 0x20 }, 0x55]);
        au.extend(emulation_prevented(&noise(len, seed + i as u64)));
        au.push(0x80);
    }
    au
}

/// An AV1 temporal unit: a temporal delimiter, then `obus` frame OBUs of
/// `len` bytes (a sequence header first if `key`).
fn av1(obus: usize, len: usize, key: bool, seed: u64) -> Vec<u8> {
    let mut tu = vec![0x12, 0x00];
    let mut obu = |obu_type: u8, payload: &[u8]| {
        tu.push((obu_type << 3) | 0x02);
        let mut size = payload.len();
        loop {
            let low = (size & 0x7f) as u8;
            size >>= 7;
            if size == 0 {
                tu.push(low);
                break;
            }
            tu.push(low | 0x80);
        }
        tu.extend_from_slice(payload);
    };
    if key {
        obu(1, &noise(12, seed ^ 0xff));
    }
    for i in 0..obus {
        obu(if i == 0 { 6 } else { 4 }, &noise(len, seed + i as u64));
    }
    tu
}

/// Protects `frame` through every door, checks they agree, and restores
/// it through every door and both fallbacks. Returns the protected frame.
fn every_door(codec: Codec, suite: CipherSuite, kid: u64, ctr: u64, frame: &[u8]) -> Vec<u8> {
    let p = Protection::new(codec, Fallback::Reject);
    let name = format!("{codec} kid {kid:#x} ctr {ctr:#x} ({} bytes)", frame.len());

    let (mut sender, mut receiver) = pair(suite, kid, ctr);
    let mut out = vec![0u8; max_protected_len(codec, suite, frame.len())];
    let sealed = p.protect(&mut sender, frame, &mut out).unwrap();
    assert_eq!(sealed.layout(), Layout::CodecAware, "{name}");
    let protected = out[sealed.frame()].to_vec();

    let (mut again, _) = pair(suite, kid, ctr);
    let mut buf = vec![0xa5u8; max_in_place_len(codec, suite, frame.len())];
    buf[..frame.len()].copy_from_slice(frame);
    let done = p
        .protect_in_place(&mut again, &mut buf, frame.len())
        .unwrap();
    assert_eq!(buf[done.frame()], protected[..], "{name}: in place");

    let (mut again, _) = pair(suite, kid, ctr);
    let (_, vec) = p.protect_to_vec(&mut again, frame).unwrap();
    assert_eq!(vec, protected, "{name}: to_vec");

    for fallback in [Fallback::Reject, Fallback::WholeFrame] {
        let p = Protection::new(codec, fallback);
        let mut out = vec![0u8; protected.len()];
        let opened = p.unprotect(&mut receiver, &protected, &mut out).unwrap();
        assert_eq!(
            out[opened.plaintext()],
            frame[..],
            "{name}: {fallback:?} slice"
        );

        let mut buf = vec![0x5au8; max_unprotect_in_place_len(codec, protected.len())];
        buf[..protected.len()].copy_from_slice(&protected);
        let opened = p
            .unprotect_in_place(&mut receiver, &mut buf, protected.len())
            .unwrap();
        assert_eq!(
            buf[opened.plaintext()],
            frame[..],
            "{name}: {fallback:?} in place"
        );

        let (_, vec) = p.unprotect_to_vec(&mut receiver, &protected).unwrap();
        assert_eq!(vec, frame, "{name}: {fallback:?} to_vec");
    }

    let view = sfu::inspect_codec(codec, &protected).unwrap();
    assert_eq!(view.header(), sealed.header(), "{name}");
    assert_eq!(
        view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len(),
        protected.len(),
        "{name}"
    );
    assert_eq!(
        sfu::peek_codec(codec, &protected).unwrap(),
        view.peek(),
        "{name}"
    );
    protected
}

#[test]
fn one_piece_several_pieces_and_many_units_agree_across_doors() {
    let frames: Vec<(Codec, Vec<u8>)> = vec![
        (Codec::H264, h264(1, 3000, false, 1)),
        (Codec::H264, h264(1, 3000, true, 2)),
        (Codec::H264, h264(3, 900, true, 3)),
        // 2 + 12 units: kept in the larger store.
        (Codec::H264, h264(12, 200, false, 4)),
        // 2 + 1 + 20 units: more than 16, walked again per step.
        (Codec::H264, h264(20, 150, true, 5)),
        (Codec::H265, h265(1, 2000, 6)),
        (Codec::H265, h265(4, 700, 7)),
        (Codec::Av1, av1(1, 2000, false, 8)),
        (Codec::Av1, av1(1, 2000, true, 9)),
        (Codec::Av1, av1(3, 300, true, 10)),
        (Codec::Av1, av1(18, 100, false, 11)),
        // An OBU whose size field must grow with the tag (127 + 16 bytes).
        (Codec::Av1, av1(1, 127, false, 12)),
        (
            Codec::Vp8,
            [&[0x31, 0x02, 0x00][..], &noise(500, 13)].concat(),
        ),
        (Codec::Vp9, noise(500, 14)),
        (Codec::OPUS, noise(120, 15)),
        (Codec::Opus { clear_toc: false }, noise(120, 16)),
    ];
    // Headers plain and with `00 00` (KID, counter), and the one-byte 00.
    let headers = [(1, 0x1234), (0x1_0000, 7), (5, 0x12_0000), (0, 0)];
    for suite in [
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes128CtrHmacSha256_32,
    ] {
        for (codec, frame) in &frames {
            for (kid, ctr) in headers {
                every_door(*codec, suite, kid, ctr, frame);
            }
        }
    }
}

#[test]
fn ciphertext_that_needs_emulation_prevention_agrees_across_doors() {
    // Counters are tried until the ciphertext itself holds `00 00 0x`
    // (x <= 3) and so gets an emulation prevention byte: about one frame
    // in 200 at this size.
    let suite = CipherSuite::Aes128GcmSha256_128;
    for (codec, frame) in [
        (Codec::H264, h264(1, 20_000, false, 21)),
        (Codec::H264, h264(2, 10_000, true, 22)),
        (Codec::H265, h265(2, 10_000, 23)),
    ] {
        let p = Protection::new(codec, Fallback::Reject);
        let (mut sender, _) = pair(suite, 1, 0x100);
        let ctr = (0x100u64..0x2000)
            .find(|_| {
                let (_, protected) = p.protect_to_vec(&mut sender, &frame).unwrap();
                // The header (KID 1, a 2-byte counter with no zero pair)
                // needs no escaping: an EPB is in the ciphertext.
                protected.windows(4).skip(40).any(|w| w[..3] == [0, 0, 3])
            })
            .expect("a counter whose ciphertext needs escaping");
        every_door(codec, suite, 1, ctr, &frame);
    }
}

#[test]
fn the_sfu_peek_agrees_with_the_full_view_on_every_sample() {
    for (name, codec, frames) in media::all_samples() {
        let p = Protection::new(codec, Fallback::Reject);
        let (mut sender, _) = pair(CipherSuite::Aes256GcmSha512_128, 0x1_0000, 0x10000);
        for (i, frame) in frames.iter().enumerate() {
            let (_, protected) = p.protect_to_vec(&mut sender, frame).unwrap();
            let view = sfu::inspect_codec(codec, &protected).unwrap();
            assert_eq!(
                sfu::peek_codec(codec, &protected).unwrap(),
                view.peek(),
                "{name} frame {i}"
            );
        }
    }
}

#[test]
fn whole_frame_fallback_in_place_opens_what_the_sender_protected_whole() {
    // Regression: a frame protected whole (it did not parse as its codec)
    // was read codec-aware first in place; when that reading found a
    // known KID behind the codec's clear bytes and failed to authenticate,
    // the receiver zeroed the payload, and the whole-frame reading that
    // followed failed too (about 1 frame in 10 here: an empty Opus frame,
    // which has no TOC to keep clear).
    let suite = CipherSuite::Aes128GcmSha256_128;
    let p = Protection::new(Codec::OPUS, Fallback::WholeFrame);
    let (mut sender, mut receiver) = pair(suite, 1, 0);
    for i in 0..2_000 {
        let (sealed, protected) = p.protect_to_vec(&mut sender, &[]).unwrap();
        assert_eq!(sealed.layout(), Layout::WholeFrame);
        let mut buf = vec![0u8; max_unprotect_in_place_len(Codec::OPUS, protected.len())];
        buf[..protected.len()].copy_from_slice(&protected);
        let opened = p
            .unprotect_in_place(&mut receiver, &mut buf, protected.len())
            .unwrap_or_else(|e| panic!("frame {i}: {e}"));
        assert_eq!(opened.layout(), Layout::WholeFrame);
        assert!(opened.is_empty());
    }
}

/// A frame of several pieces that fails to open in place is left as it
/// was received. With `Fallback::Reject`, a frame whose small pieces were
/// moved next to its large one to be opened where they are (a keyframe's
/// parameter sets or sequence header, then one slice or frame OBU) has its
/// pieces zeroed (their SFrame header and tag aside), as a one-piece
/// frame's are; one with several large pieces was gathered elsewhere and
/// is left exactly as it was. Refused before decryption (an unknown key),
/// or read with `Fallback::WholeFrame`, every frame is left exactly as it
/// was.
#[test]
fn a_frame_of_several_pieces_that_fails_in_place_keeps_its_clear_bytes() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    for (codec, frame, opened_where_it_is) in [
        (Codec::Av1, av1(1, 3_000, true, 5), true),
        (Codec::H264, h264(1, 3_000, true, 6), true),
        (Codec::Av1, av1(2, 3_000, true, 7), false),
        (Codec::H264, h264(2, 3_000, true, 8), false),
    ] {
        let (mut sender, mut receiver) = pair(suite, 3, 40);
        let p = Protection::new(codec, Fallback::Reject);
        let mut out = vec![0u8; max_protected_len(codec, suite, frame.len())];
        let n = p.protect(&mut sender, &frame, &mut out).unwrap().len();
        let protected = &out[..n];
        // A ciphertext byte of the last piece, changed without making or
        // breaking a `00 00` (so the escaping stays canonical).
        let at = (n / 2..n)
            .find(|&i| protected[i] != 0 && protected[i] != 0x40)
            .unwrap();
        let mut forged = protected.to_vec();
        forged[at] ^= 0x40;
        let room = max_unprotect_in_place_len(codec, n);

        let mut buf = vec![0u8; room];
        buf[..n].copy_from_slice(&forged);
        let err = p
            .unprotect_in_place(&mut receiver, &mut buf, n)
            .unwrap_err();
        assert_eq!(err, framecrypt::Error::AuthenticationFailed, "{codec}");
        assert!(
            buf[..n]
                .iter()
                .zip(&forged)
                .all(|(&b, &f)| b == f || b == 0),
            "{codec}: only zeros written"
        );
        let zeroed = buf[..n].iter().zip(&forged).filter(|(b, f)| b != f).count();
        if opened_where_it_is {
            assert!(
                zeroed > frame.len() * 9 / 10,
                "{codec}: {zeroed} bytes zeroed"
            );
        } else {
            assert_eq!(zeroed, 0, "{codec}: gathered, so left as it was");
        }
        if codec == Codec::Av1 {
            // (Zeroed H.26x payload reads as start codes, as a one-piece
            // frame's does; the check above covers its clear bytes.)
            assert_eq!(
                sfu::inspect_codec(codec, &buf[..n]),
                sfu::inspect_codec(codec, &forged),
                "{codec}: the clear structure is as it was"
            );
        }

        let mut buf = vec![0u8; room];
        buf[..n].copy_from_slice(&forged);
        let whole = Protection::new(codec, Fallback::WholeFrame);
        assert!(
            whole
                .unprotect_in_place(&mut receiver, &mut buf, n)
                .is_err()
        );
        assert_eq!(&buf[..n], &forged[..], "{codec}: whole-frame fallback");

        let (_, mut stranger) = pair(suite, 4, 0);
        let mut buf = vec![0u8; room];
        buf[..n].copy_from_slice(protected);
        let err = p
            .unprotect_in_place(&mut stranger, &mut buf, n)
            .unwrap_err();
        assert_eq!(err, framecrypt::Error::UnknownKeyId(KeyId(3)), "{codec}");
        assert_eq!(&buf[..n], protected, "{codec}: unknown key");

        // And the frame itself still opens in place, to the frame.
        let mut buf = vec![0u8; room];
        buf[..n].copy_from_slice(protected);
        let opened = p.unprotect_in_place(&mut receiver, &mut buf, n).unwrap();
        assert_eq!(&buf[..opened.len()], &frame[..], "{codec}");
    }
}
