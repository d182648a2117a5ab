//! Codec-aware protection on real media (tests/data/media/), for every
//! suite: byte-exact round trips, NAL structure, SFU hints, tampering, and
//! the fallback policy.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use crate::common::dup;
use crate::media;

use framecrypt::codec::{
    Codec, Fallback, Layout, Protection, max_in_place_len, max_protected_len,
    max_unprotect_in_place_len,
};
use framecrypt::prelude::*;
use framecrypt::sfu::{self, inspect_codec};
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, FixedKeyStore, KeyId, Receiver, Sealed, Sender,
};
use proptest::prelude::*;

type Rx = Receiver<FixedKeyStore<4>>;

const KEY: [u8; 16] = *b"framecrypt codec";

fn pair(suite: CipherSuite, kid: u64, ctr: u64) -> (Sender, Rx) {
    let key = BaseKey::new(&KEY).unwrap();
    let sender = Sender::resume(suite, KeyId(kid), dup(&key), Counter(ctr));
    let mut receiver = Rx::new();
    receiver.add_key(suite, KeyId(kid), dup(&key)).unwrap();
    (sender, receiver)
}

fn protect(p: Protection, sender: &mut Sender, frame: &[u8]) -> (Sealed, Vec<u8>) {
    let mut out = vec![0u8; max_protected_len(p.codec(), sender.suite(), frame.len())];
    let done = p.protect(sender, frame, &mut out).expect("protect");
    out.truncate(done.len());
    (done, out)
}

fn unprotect(p: Protection, receiver: &mut Rx, protected: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; protected.len()];
    let done = p.unprotect(receiver, protected, &mut out)?;
    out.truncate(done.len());
    Ok(out)
}

#[test]
fn samples_have_the_expected_frame_counts() {
    let counts: Vec<(&str, usize)> = media::all_samples()
        .iter()
        .map(|(name, _, frames)| (*name, frames.len()))
        .collect();
    assert_eq!(
        counts,
        [
            ("vp8.ivf", 30),
            ("vp9.ivf", 30),
            ("av1.ivf", 30),
            ("h264.h264", 30),
            ("h264-slices.h264", 15),
            ("h265.h265", 30),
            ("opus.ogg", 101),
        ]
    );
}

#[test]
fn every_frame_of_every_sample_round_trips_for_every_suite() {
    let mut frames_checked = 0;
    for suite in CipherSuite::ALL {
        for (name, codec, frames) in media::all_samples() {
            let p = Protection::new(codec, Fallback::Reject);
            // A one-byte header (KID 0, CTR from 0: the header byte is 0x00,
            // which H.26x escaping must handle) and a long one.
            for (kid, ctr) in [(0, 0), (0x0123_4567, 0xffff_fff0)] {
                let (mut sender, mut receiver) = pair(suite, kid, ctr);
                for (i, frame) in frames.iter().enumerate() {
                    let (done, protected) = protect(p, &mut sender, frame);
                    assert_eq!(done.layout(), Layout::CodecAware, "{name} frame {i}");
                    assert_eq!(done.header().kid(), KeyId(kid));
                    assert_eq!(done.header().ctr(), Counter(ctr + i as u64));
                    assert_ne!(&protected, frame);
                    let restored = unprotect(p, &mut receiver, &protected)
                        .unwrap_or_else(|e| panic!("{name} frame {i} {suite}: {e}"));
                    assert_eq!(&restored, frame, "{name} frame {i} {suite}");
                    frames_checked += 1;
                }
            }
        }
    }
    assert_eq!(frames_checked, 8 * 2 * (30 + 30 + 30 + 30 + 15 + 30 + 101));
}

#[test]
fn copy_and_in_place_doors_give_identical_frames() {
    for (name, codec, frames) in media::all_samples() {
        let suite = CipherSuite::Aes128GcmSha256_128;
        let p = Protection::new(codec, Fallback::Reject);
        let (mut a, mut receiver) = pair(suite, 9, 100);
        let (mut b, _) = pair(suite, 9, 100);
        for (i, frame) in frames.iter().enumerate().take(8) {
            let (_, copied) = protect(p, &mut a, frame);
            let mut buf = vec![0u8; max_in_place_len(codec, suite, frame.len())];
            buf[..frame.len()].copy_from_slice(frame);
            let done = p.protect_in_place(&mut b, &mut buf, frame.len()).unwrap();
            assert_eq!(&buf[..done.len()], &copied[..], "{name} frame {i}");

            let mut buf = vec![0u8; max_unprotect_in_place_len(codec, copied.len())];
            buf[..copied.len()].copy_from_slice(&copied);
            let done = p
                .unprotect_in_place(&mut receiver, &mut buf, copied.len())
                .unwrap();
            assert_eq!(&buf[..done.len()], &frame[..], "{name} frame {i}");
        }
    }
}

#[cfg(feature = "alloc")]
#[test]
fn vec_doors_round_trip() {
    let frames = media::ivf_frames(&media::sample("vp8.ivf"));
    let p = Protection::new(Codec::Vp8, Fallback::Reject);
    let (mut sender, mut receiver) = pair(CipherSuite::Aes256GcmSha512_128, 1, 0);
    for frame in &frames {
        let (_, protected) = p.protect_to_vec(&mut sender, frame).unwrap();
        let (done, restored) = p.unprotect_to_vec(&mut receiver, &protected).unwrap();
        assert_eq!(done.layout(), Layout::CodecAware);
        assert_eq!(&restored, frame);
    }
}

#[test]
fn protected_annexb_has_start_codes_only_at_the_original_nal_boundaries() {
    for (name, codec, frames) in media::all_samples() {
        if !matches!(codec, Codec::H264 | Codec::H265) {
            continue;
        }
        let p = Protection::new(codec, Fallback::Reject);
        for suite in CipherSuite::ALL {
            let (mut sender, _) = pair(suite, 0, 0);
            let mut original_stream = Vec::new();
            let mut protected_stream = Vec::new();
            for frame in &frames {
                let (_, protected) = protect(p, &mut sender, frame);
                assert_eq!(
                    media::nal_types(&protected, codec),
                    media::nal_types(frame, codec),
                    "{name} {suite}"
                );
                original_stream.extend_from_slice(frame);
                protected_stream.extend_from_slice(&protected);
            }
            // The same number of NAL units, of the same types, in the whole
            // stream: no start code was emulated anywhere.
            let original = media::nal_types(&original_stream, codec);
            assert_eq!(media::nal_types(&protected_stream, codec), original);
            assert!(original.len() >= 30, "{name}");
            assert_eq!(
                media::annexb_access_units(&protected_stream, codec).len(),
                frames.len()
            );
        }
    }
}

#[test]
fn sfu_reads_vp8_keyframe_flags_and_dimensions_from_protected_frames() {
    let frames = media::ivf_frames(&media::sample("vp8.ivf"));
    let p = Protection::new(Codec::Vp8, Fallback::Reject);
    let suite = CipherSuite::Aes128CtrHmacSha256_80;
    let (mut sender, _) = pair(suite, 0x42, 7);
    let mut keyframes = 0;
    for frame in &frames {
        let (done, protected) = protect(p, &mut sender, frame);
        let view = inspect_codec(Codec::Vp8, &protected).unwrap();
        // RFC 6386 §9.1, read from the original frame: P bit, then for a
        // keyframe the start code and 14-bit width and height.
        let keyframe = frame[0] & 1 == 0;
        assert_eq!(view.hints().keyframe, Some(keyframe));
        if keyframe {
            keyframes += 1;
            assert_eq!(frame[3..6], [0x9d, 0x01, 0x2a]);
            let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
            let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
            assert_eq!((width, height), (320, 240));
            assert_eq!(
                (view.hints().width, view.hints().height),
                (Some(width), Some(height))
            );
        } else {
            assert_eq!((view.hints().width, view.hints().height), (None, None));
        }
        assert_eq!(view.header(), done.header());
        assert_eq!(view.header_offset(), if keyframe { 10 } else { 3 });
        assert_eq!(
            view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len(),
            protected.len()
        );
        assert_eq!(view.media_len(suite), Some(frame.len() - view.clear_len()));
    }
    assert_eq!(keyframes, 2);
}

#[test]
fn sfu_finds_header_and_keyframes_behind_every_codecs_clear_bytes() {
    let suite = CipherSuite::Aes256CtrHmacSha512_32;
    for (name, codec, frames) in media::all_samples() {
        let p = Protection::new(codec, Fallback::Reject);
        let (mut sender, _) = pair(suite, 0x0abc, 0xfff0);
        let mut keyframes = 0;
        for (i, frame) in frames.iter().enumerate() {
            let (done, protected) = protect(p, &mut sender, frame);
            let view =
                inspect_codec(codec, &protected).unwrap_or_else(|e| panic!("{name} {i}: {e}"));
            assert_eq!(view.header(), done.header(), "{name} {i}");
            assert_eq!(
                view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len(),
                protected.len(),
                "{name} {i}"
            );
            let expected_key = match codec {
                Codec::H264 => Some(media::nal_types(frame, codec).contains(&5)),
                Codec::H265 => Some(
                    media::nal_types(frame, codec)
                        .iter()
                        .any(|t| (16..=23).contains(t)),
                ),
                // A sequence header OBU (type 1) after the temporal delimiter.
                Codec::Av1 => Some(frame.len() > 2 && (frame[2] >> 3) & 0x0f == 1),
                Codec::Vp8 => Some(frame[0] & 1 == 0),
                _ => None,
            };
            assert_eq!(view.hints().keyframe, expected_key, "{name} {i}");
            keyframes += usize::from(view.hints().keyframe == Some(true));
            if codec == Codec::OPUS {
                assert_eq!(view.hints().opus_toc, Some(frame[0]));
            }
        }
        match codec {
            Codec::Vp8 | Codec::Av1 | Codec::H264 => assert!(keyframes >= 1, "{name}"),
            Codec::H265 => assert!(keyframes >= 2, "{name}"),
            _ => assert_eq!(keyframes, 0, "{name}"),
        }
    }
}

/// Bytes of AV1 temporal delimiter and padding OBUs, which are left
/// unauthenticated on purpose (RTP packetizers drop them).
fn pass_through(codec: Codec, protected: &[u8]) -> core::ops::Range<usize> {
    if codec == Codec::Av1 && protected.starts_with(&[0x12, 0x00]) {
        0..2
    } else {
        0..0
    }
}

#[test]
fn flipping_any_bit_of_a_protected_frame_fails_decryption() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    for (name, codec, frames) in media::all_samples() {
        let p = Protection::new(codec, Fallback::Reject);
        let (mut sender, mut receiver) = pair(suite, 3, 0);
        // The keyframe (all the parameter sets) and the smallest frames.
        let mut picks: Vec<usize> = (0..frames.len()).collect();
        picks.sort_by_key(|&i| frames[i].len());
        picks.truncate(3);
        picks.push(0);
        for &i in &picks {
            let frame = &frames[i];
            let (_, protected) = protect(p, &mut sender, frame);
            let skip = pass_through(codec, &protected);
            let mut tampered = protected.clone();
            for pos in 0..protected.len() {
                if skip.contains(&pos) {
                    continue;
                }
                // A single bit, a different one for neighbouring bytes.
                tampered[pos] ^= 1 << (pos % 8);
                let result = unprotect(p, &mut receiver, &tampered);
                assert!(
                    matches!(
                        result,
                        Err(Error::AuthenticationFailed
                            | Error::MalformedFrame
                            | Error::MalformedHeader
                            | Error::UnknownKeyId(_)
                            | Error::FrameTooShort
                            // A CTR flipped onto one already accepted.
                            | Error::Replayed)
                    ),
                    "{name} frame {i}: flipping byte {pos} gave {result:?}"
                );
                tampered[pos] = protected[pos];
            }
            // Untampered, it still decrypts: no forgery moved the
            // receiver's replay window.
            assert_eq!(&unprotect(p, &mut receiver, &protected).unwrap(), frame);
        }
    }
}

#[test]
fn av1_temporal_delimiters_may_be_dropped_on_the_path() {
    let frames = media::ivf_frames(&media::sample("av1.ivf"));
    let p = Protection::new(Codec::Av1, Fallback::Reject);
    let (mut sender, mut receiver) = pair(CipherSuite::Aes128GcmSha256_128, 1, 0);
    for frame in &frames {
        assert_eq!(
            &frame[..2],
            [0x12, 0x00],
            "each temporal unit opens with a TD"
        );
        let (_, protected) = protect(p, &mut sender, frame);
        // As an AV1 RTP packetizer does (AV1 RTP spec §5).
        let restored = unprotect(p, &mut receiver, &protected[2..]).unwrap();
        assert_eq!(restored, frame[2..]);
    }
}

#[test]
fn start_code_lengths_are_canonicalized_not_authenticated() {
    // RTP depacketizers rewrite every start code as 00 00 00 01.
    let frames = media::annexb_access_units(&media::sample("h264.h264"), Codec::H264);
    let p = Protection::new(Codec::H264, Fallback::Reject);
    let (mut sender, mut receiver) = pair(CipherSuite::Aes128GcmSha256_128, 1, 0);
    let frame = &frames[1];
    let (_, protected) = protect(p, &mut sender, frame);
    let mut rewritten = Vec::new();
    for (k, (_, nal)) in media::nal_starts(&protected).iter().enumerate() {
        let end = media::nal_starts(&protected)
            .get(k + 1)
            .map_or(protected.len(), |&(next, _)| next);
        rewritten.extend_from_slice(&[0, 0, 0, 1]);
        rewritten.extend_from_slice(&protected[*nal..end]);
    }
    let restored = unprotect(p, &mut receiver, &rewritten).unwrap();
    assert_eq!(
        media::nal_types(&restored, Codec::H264),
        media::nal_types(frame, Codec::H264)
    );
}

#[test]
fn unknown_codec_follows_the_explicit_policy() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let frame = b"some frame of a codec without a rule";
    let (mut sender, mut receiver) = pair(suite, 5, 0);
    let mut out = vec![0u8; max_protected_len(Codec::Unknown, suite, frame.len())];

    let reject = Protection::new(Codec::Unknown, Fallback::Reject);
    assert_eq!(
        reject.protect(&mut sender, frame, &mut out),
        Err(Error::UnsupportedCodec)
    );
    assert_eq!(sender.next_counter(), Some(Counter(0)), "no counter used");

    let whole = Protection::new(Codec::Unknown, Fallback::WholeFrame);
    let done = whole.protect(&mut sender, frame, &mut out).unwrap();
    assert_eq!(done.layout(), Layout::WholeFrame);
    // A whole frame is a plain SFrame frame with empty metadata.
    let mut plain = vec![0u8; done.len()];
    let decrypted = receiver.open(&[], &out[..done.len()], &mut plain).unwrap();
    assert_eq!(&plain[decrypted.plaintext()], frame);
    // Each reading below by a receiver of its own: the frame opens once.
    let mut receiver = pair(suite, 5, 0).1;
    assert_eq!(
        unprotect(reject, &mut receiver, &out[..done.len()]),
        Err(Error::UnsupportedCodec)
    );
    assert_eq!(
        unprotect(whole, &mut receiver, &out[..done.len()]).unwrap(),
        frame
    );
}

#[test]
fn frames_that_do_not_parse_are_rejected_or_protected_whole() {
    let suite = CipherSuite::Aes256GcmSha512_128;
    let cases: [(Codec, &[u8]); 6] = [
        (Codec::Vp8, &[0x50, 0x02]),             // shorter than the frame tag
        (Codec::Vp8, &[0x10, 0x02, 0x00, 0x9d]), // keyframe shorter than 10
        (Codec::OPUS, &[]),                      // no TOC
        (Codec::H264, b"no start code here"),
        (Codec::H265, &[0, 0, 1, 0x40, 0x01, 0x0c]), // only a VPS: no slice
        (Codec::Av1, &[0x92, 0x00]),                 // forbidden bit
    ];
    for (codec, frame) in cases {
        let (mut sender, mut receiver) = pair(suite, 2, 0);
        let mut out = vec![0u8; max_protected_len(codec, suite, frame.len())];
        let reject = Protection::new(codec, Fallback::Reject);
        assert_eq!(
            reject.protect(&mut sender, frame, &mut out),
            Err(Error::MalformedFrame),
            "{codec}"
        );
        assert_eq!(
            sender.next_counter(),
            Some(Counter(0)),
            "{codec}: no counter used"
        );

        let whole = Protection::new(codec, Fallback::WholeFrame);
        let done = whole.protect(&mut sender, frame, &mut out).unwrap();
        assert_eq!(done.layout(), Layout::WholeFrame, "{codec}");
        let mut back = vec![0u8; done.len()];
        let restored = whole
            .unprotect(&mut receiver, &out[..done.len()], &mut back)
            .unwrap();
        assert_eq!(restored.layout(), Layout::WholeFrame, "{codec}");
        assert_eq!(&back[..restored.len()], frame, "{codec}");
    }
}

#[test]
fn a_short_output_buffer_uses_no_counter() {
    let frames = media::annexb_access_units(&media::sample("h264.h264"), Codec::H264);
    let suite = CipherSuite::Aes128GcmSha256_128;
    let p = Protection::new(Codec::H264, Fallback::WholeFrame);
    let (mut sender, _) = pair(suite, 1, 0);
    let need = max_protected_len(Codec::H264, suite, frames[0].len());
    let mut out = vec![0u8; need - 1];
    assert_eq!(
        p.protect(&mut sender, &frames[0], &mut out),
        Err(Error::BufferTooSmall)
    );
    let mut buf = frames[0].clone();
    assert_eq!(
        p.protect_in_place(&mut sender, &mut buf, frames[0].len()),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(buf, frames[0], "the frame is untouched");
    assert_eq!(sender.next_counter(), Some(Counter(0)));
}

#[test]
fn a_frame_protected_for_one_codec_does_not_open_as_another() {
    let frames = media::ivf_frames(&media::sample("vp8.ivf"));
    let (mut sender, mut receiver) = pair(CipherSuite::Aes128GcmSha256_128, 1, 0);
    let vp8 = Protection::new(Codec::Vp8, Fallback::Reject);
    let (_, protected) = protect(vp8, &mut sender, &frames[1]);
    let opus = Protection::new(Codec::OPUS, Fallback::Reject);
    assert!(unprotect(opus, &mut receiver, &protected).is_err());
}

/// A synthetic H.264 access unit: SPS, PPS and `slices` slices whose data is
/// `body` (zeros and small bytes stress the escaping).
fn synthetic_h264(slices: &[Vec<u8>]) -> Vec<u8> {
    let mut au = vec![
        0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
    ];
    for (i, body) in slices.iter().enumerate() {
        au.extend_from_slice(&[0, 0, 1, if i == 0 { 0x65 } else { 0x41 }]);
        // first_mb_in_slice = i, slice_type 7, pps_id 0.
        au.push(if i == 0 { 0x88 } else { 0x48 });
        au.push(0x84);
        au.extend(body.iter().copied());
        // rbsp_stop_one_bit
        au.push(0x80);
    }
    au
}

fn no_start_code_emulation(body: &[u8]) -> Vec<u8> {
    // Make the body a valid NAL payload: no 00 00 0x (x <= 3).
    let mut out = Vec::new();
    let mut zeros = 0;
    for &b in body {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn synthetic_h264_round_trips_and_keeps_its_nal_units(
        bodies in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..80),
            1..4,
        ),
        kid in 0u64..20,
        ctr in 0u64..20,
    ) {
        let slices: Vec<Vec<u8>> = bodies.iter().map(|b| no_start_code_emulation(b)).collect();
        let frame = synthetic_h264(&slices);
        for suite in [CipherSuite::Aes128GcmSha256_128, CipherSuite::Aes128CtrHmacSha256_32] {
            let p = Protection::new(Codec::H264, Fallback::Reject);
            let (mut sender, mut receiver) = pair(suite, kid, ctr);
            let (_, protected) = protect(p, &mut sender, &frame);
            prop_assert_eq!(
                media::nal_types(&protected, Codec::H264),
                media::nal_types(&frame, Codec::H264)
            );
            prop_assert_eq!(unprotect(p, &mut receiver, &protected).unwrap(), frame.clone());
        }
    }

    #[test]
    fn any_bytes_protected_with_whole_frame_fallback_round_trip(
        frame in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..300),
        codec in prop_oneof![
            Just(Codec::OPUS), Just(Codec::Opus { clear_toc: false }), Just(Codec::Vp8),
            Just(Codec::Vp9), Just(Codec::H264), Just(Codec::H265), Just(Codec::Av1),
            Just(Codec::Unknown),
        ],
    ) {
        let p = Protection::new(codec, Fallback::WholeFrame);
        let (mut sender, mut receiver) = pair(CipherSuite::Aes128GcmSha256_128, 1, 0);
        let (_, protected) = protect(p, &mut sender, &frame);
        prop_assert_eq!(unprotect(p, &mut receiver, &protected).unwrap(), frame);
    }

    #[test]
    fn garbage_never_panics_the_receiver_or_the_sfu_view(
        bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..200),
        codec in prop_oneof![
            Just(Codec::OPUS), Just(Codec::Vp8), Just(Codec::Vp9), Just(Codec::H264),
            Just(Codec::H265), Just(Codec::Av1), Just(Codec::Unknown),
        ],
    ) {
        let (_, mut receiver) = pair(CipherSuite::Aes128CtrHmacSha256_32, 1, 0);
        for fallback in [Fallback::Reject, Fallback::WholeFrame] {
            let p = Protection::new(codec, fallback);
            let _ = unprotect(p, &mut receiver, &bytes);
            let mut buf = vec![0u8; max_unprotect_in_place_len(codec, bytes.len())];
            buf[..bytes.len()].copy_from_slice(&bytes);
            let _ = p.unprotect_in_place(&mut receiver, &mut buf, bytes.len());
        }
        let _ = inspect_codec(codec, &bytes);
        let _ = sfu::inspect(&bytes);
    }
}

#[test]
fn ratcheting_senders_and_receivers_protect_codec_aware_with_replay_protection() {
    use framecrypt::{RatchetBits, RatchetingReceiver, RatchetingSender};

    let suite = CipherSuite::Aes128GcmSha256_128;
    let bits = RatchetBits::new(8).unwrap();
    let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&KEY).unwrap()).unwrap();
    let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
    receiver
        .install_key(0, 0, BaseKey::new(&KEY).unwrap(), 0)
        .unwrap();
    sender.ratchet();

    let frames = media::annexb_access_units(&media::sample("h264.h264"), Codec::H264);
    let p = Protection::new(Codec::H264, Fallback::Reject);
    let frame = &frames[0];
    let mut wire = vec![0u8; max_protected_len(Codec::H264, suite, frame.len())];
    let done = p.protect(&mut sender, frame, &mut wire).unwrap();
    let wire = &wire[..done.len()];
    assert_eq!(done.header().kid(), KeyId(1), "step 1 of generation 0");

    let mut out = vec![0u8; wire.len()];
    let restored = p.unprotect(&mut receiver.at(10), wire, &mut out).unwrap();
    assert_eq!(&out[..restored.len()], &frame[..]);
    assert_eq!(
        receiver.step(),
        Some(1),
        "the receiver followed the ratchet"
    );
    assert_eq!(
        p.unprotect(&mut receiver.at(11), wire, &mut out),
        Err(Error::Replayed)
    );
}
