//! A refused `unprotect` releases no plaintext and changes no receiver
//! state, on every door and for every codec family (issue 16, point 7).
//!
//! A receiver commits its replay window, ratchet step and statistics when
//! a frame authenticates. The first version laid a codec-aware frame out
//! after that, and the layout could still fail: a key holder's AV1 frame
//! whose first encrypted piece was shorter than the SFrame header
//! authenticated, moved the replay window, counted as decrypted, then
//! returned `MalformedFrame` with the plaintext left in the output. Now
//! every check runs before the frame is opened, and nothing after it
//! fails: such a frame is refused before, and a frame whose last piece is
//! shorter than the tag (which only a key holder can make) is laid out.
//!
//! The frames below are made as a key holder would make them: sealed with
//! the sender's key and the metadata the codec layer binds (its format is
//! documented in `src/codec/binding.rs`), then laid out by hand.

#![cfg(feature = "alloc")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use framecrypt::codec::{Codec, Fallback, Protection, max_unprotect_in_place_len};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, RatchetBits, RatchetingReceiver,
    RatchetingSender, Receiver, Sender,
};

const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;
const KEY: [u8; 16] = *b"commit after all";

/// The media bytes every frame here encrypts: easy to look for.
fn media() -> Vec<u8> {
    (0..200u32).map(|i| (i * 7 + 0x41) as u8 | 0x40).collect()
}

/// Whether any 12-byte run of `media` is in `bytes`: plaintext left
/// behind.
fn leaks(bytes: &[u8], media: &[u8]) -> bool {
    media
        .windows(12)
        .any(|needle| bytes.windows(12).any(|w| w == needle))
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// The codec layer's metadata (`src/codec/binding.rs`): `0x01`, codec ID,
/// then per authenticated unit its clear bytes and piece length.
fn binding(codec_id: u8, units: &[(&[u8], usize)]) -> Vec<u8> {
    let mut out = vec![0x01, codec_id];
    for (clear, piece) in units {
        out.extend(leb128(clear.len()));
        out.extend_from_slice(clear);
        out.extend(leb128(*piece));
    }
    assert!(out.len() <= 129, "short descriptions only");
    out
}

/// H.26x emulation prevention of an encrypted piece after clear bytes
/// ending in `clear_last` (not zero here), byte at a time, with the
/// trailer rule (`src/codec/escape.rs`).
fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    let run = out.iter().rev().take_while(|&&b| b == 3).count();
    if !out.is_empty() && run < out.len() && out[out.len() - run - 1] == 0 {
        out.push(3);
    }
    out
}

/// Seals `media` as one SFrame ciphertext with `metadata`, as a key
/// holder: `header || ciphertext || tag`.
fn seal(sender: &mut impl Seal, metadata: &[u8], media: &[u8]) -> Vec<u8> {
    sender.seal_to_vec(metadata, media).unwrap()
}

/// Where a crafted frame's first piece ends: `Short(n)` pieces the
/// ciphertext after `n` bytes; `TagSplit(n)` leaves `n` bytes for the
/// last piece.
#[derive(Clone, Copy, Debug)]
enum Split {
    Short(usize),
    TagSplit(usize),
}

impl Split {
    const fn at(self, total: usize) -> usize {
        match self {
            Self::Short(n) => n,
            Self::TagSplit(n) => total - n,
        }
    }
}

/// An AV1 temporal unit of two frame OBUs carrying one ciphertext split
/// at `split`.
fn crafted_av1(sender: &mut impl Seal, split: Split) -> Vec<u8> {
    let total = sender.next_frame_len(media().len()).unwrap();
    let a = split.at(total);
    let metadata = binding(7, &[(&[0x30], a), (&[0x20], total - a)]);
    let ct = seal(sender, &metadata, &media());
    let mut frame = vec![0x12, 0x00, 0x32];
    frame.extend(leb128(a));
    frame.extend_from_slice(&ct[..a]);
    frame.push(0x22);
    frame.extend(leb128(total - a));
    frame.extend_from_slice(&ct[a..]);
    frame
}

/// An H.264 access unit, an SEI and an IDR slice, carrying one ciphertext
/// split at `split`.
fn crafted_h264(sender: &mut impl Seal, split: Split) -> Vec<u8> {
    let slice_prefix = [0x65, 0x88, 0x84];
    let total = sender.next_frame_len(media().len()).unwrap();
    let a = split.at(total);
    let metadata = binding(5, &[(&[0x06], a), (&slice_prefix, total - a)]);
    let ct = seal(sender, &metadata, &media());
    let mut frame = vec![0, 0, 0, 1, 0x06];
    frame.extend(escape(&ct[..a]));
    frame.extend_from_slice(&[0, 0, 1]);
    frame.extend_from_slice(&slice_prefix);
    frame.extend(escape(&ct[a..]));
    frame
}

/// The three doors of `unprotect`.
#[derive(Clone, Copy, Debug)]
enum Door {
    Slice,
    InPlace,
    Vec,
}

const DOORS: [Door; 3] = [Door::Slice, Door::InPlace, Door::Vec];

/// Unprotects through `door`; returns the result and every byte the call
/// could write (the output, or the in-place buffer).
fn unprotect(
    p: Protection,
    receiver: &mut impl Open,
    door: Door,
    frame: &[u8],
) -> (Result<Vec<u8>, Error>, Vec<u8>) {
    match door {
        Door::Slice => {
            let mut out = vec![0xeeu8; frame.len() + 64];
            let result = p
                .unprotect(receiver, frame, &mut out)
                .map(|opened| out[opened.plaintext()].to_vec());
            (result, out)
        }
        Door::InPlace => {
            let mut buf = vec![0xeeu8; max_unprotect_in_place_len(p.codec(), frame.len())];
            buf[..frame.len()].copy_from_slice(frame);
            let result = p
                .unprotect_in_place(receiver, &mut buf, frame.len())
                .map(|opened| buf[opened.plaintext()].to_vec());
            (result, buf)
        }
        Door::Vec => (
            p.unprotect_to_vec(receiver, frame).map(|(_, v)| v),
            Vec::new(),
        ),
    }
}

fn plain_pair(ctr: u64) -> (Sender, Receiver<FixedKeyStore<2>>) {
    let sender = Sender::resume(
        SUITE,
        KeyId(9),
        BaseKey::new(&KEY).unwrap(),
        framecrypt::Counter(ctr),
    );
    let mut receiver = Receiver::new();
    receiver
        .add_key(SUITE, KeyId(9), BaseKey::new(&KEY).unwrap())
        .unwrap();
    (sender, receiver)
}

type Crafter = fn(&mut Sender, Split) -> Vec<u8>;
type RatchetCrafter = fn(&mut RatchetingSender, Split) -> Vec<u8>;

#[test]
fn a_first_piece_shorter_than_the_header_is_refused_before_it_is_opened() {
    // Regression: on the first version this frame authenticated, moved
    // the replay window, then failed with plaintext in the output.
    let crafters: [(Codec, Crafter); 2] = [(Codec::Av1, crafted_av1), (Codec::H264, crafted_h264)];
    for (codec, craft) in crafters {
        for fallback in [Fallback::Reject, Fallback::WholeFrame] {
            for door in DOORS {
                let p = Protection::new(codec, fallback);
                let (mut sender, mut receiver) = plain_pair(0x1234);
                // The header is 3 bytes (KID 9, a 2-byte counter): a piece
                // of 2 holds only part of it.
                let crafted = craft(&mut sender, Split::Short(2));
                let (result, written) = unprotect(p, &mut receiver, door, &crafted);
                assert!(
                    !leaks(&written, &media()),
                    "{codec} {fallback:?} {door:?}: plaintext left"
                );
                // The replay window did not move: a genuine frame with the
                // same counter still opens.
                let (mut genuine, _) = plain_pair(0x1234);
                let plain = Protection::new(codec, Fallback::Reject);
                let frame = match codec {
                    Codec::Av1 => vec![0x12, 0x00, 0x32, 0x04, 1, 2, 3, 4],
                    _ => vec![0, 0, 0, 1, 0x65, 0x88, 0x84, 1, 2, 3, 4],
                };
                let (_, protected) = plain.protect_to_vec(&mut genuine, &frame).unwrap();
                let (_, restored) = plain
                    .unprotect_to_vec(&mut receiver, &protected)
                    .unwrap_or_else(|e| panic!("{codec} {fallback:?} {door:?}: window moved: {e}"));
                assert_eq!(restored, frame, "{codec} {fallback:?} {door:?}");
                // Refused, before the receiver saw it: the header does not
                // fit the first piece (or, read whole, it fails).
                assert!(
                    matches!(
                        result,
                        Err(Error::MalformedHeader | Error::AuthenticationFailed)
                    ),
                    "{codec} {fallback:?} {door:?}: {result:?}"
                );
            }
        }
    }
}

#[test]
fn a_refused_frame_changes_no_ratchet_state_or_statistics() {
    let bits = RatchetBits::new(4).unwrap();
    let crafters: [(Codec, RatchetCrafter); 2] =
        [(Codec::Av1, crafted_av1), (Codec::H264, crafted_h264)];
    for (codec, craft) in crafters {
        for door in DOORS {
            let mut sender =
                RatchetingSender::new(SUITE, bits, 0, BaseKey::new(&KEY).unwrap()).unwrap();
            let mut receiver = RatchetingReceiver::<4>::new(SUITE, bits);
            receiver.install_share(sender.share(), 0).unwrap();
            // Step 8: KID 8 takes a byte of its own, the header two bytes,
            // and opening the frame would make the receiver follow.
            for _ in 0..8 {
                sender.ratchet();
            }
            let crafted = craft(&mut sender, Split::Short(1));
            let p = Protection::new(codec, Fallback::Reject);
            let (result, written) = unprotect(p, &mut receiver.at(5), door, &crafted);
            assert_eq!(
                receiver.stats().ok,
                0,
                "{codec} {door:?}: counted as decrypted"
            );
            assert_eq!(
                receiver.step(),
                Some(0),
                "{codec} {door:?}: ratchet followed"
            );
            assert!(result.is_err(), "{codec} {door:?}");
            assert!(!leaks(&written, &media()), "{codec} {door:?}");
        }
    }
}

#[test]
fn a_last_piece_shorter_than_the_tag_is_laid_out_not_refused_after_opening() {
    // Only a key holder can make this frame authenticate; whatever it
    // holds, once it has opened (and the receiver committed) the call
    // must not fail. The tag's first bytes end the first piece, so that
    // piece's media is all of it and the second OBU restores empty.
    for door in DOORS {
        let (mut sender, mut receiver) = plain_pair(0x2000);
        let crafted = crafted_av1(&mut sender, Split::TagSplit(5));
        let p = Protection::new(Codec::Av1, Fallback::Reject);
        let (result, _) = unprotect(p, &mut receiver, door, &crafted);
        let mut expected = vec![0x12, 0x00, 0x32];
        expected.extend(leb128(media().len()));
        expected.extend(media());
        expected.extend_from_slice(&[0x22, 0x00]);
        assert_eq!(result.unwrap(), expected, "{door:?}");

        let (mut sender, mut receiver) = plain_pair(0x2000);
        let crafted = crafted_h264(&mut sender, Split::TagSplit(5));
        let p = Protection::new(Codec::H264, Fallback::Reject);
        let (result, _) = unprotect(p, &mut receiver, door, &crafted);
        let mut expected = vec![0, 0, 0, 1, 0x06];
        expected.extend(media());
        expected.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84]);
        assert_eq!(result.unwrap(), expected, "{door:?}");
    }
}

#[test]
fn a_forged_frame_leaves_no_plaintext_on_any_door_for_any_codec() {
    // Every codec family: a protected frame with its last byte (in the
    // tag) flipped fails to authenticate; nothing it decrypted is left
    // behind and the replay window stays where it was.
    let frames: [(Codec, Vec<u8>); 6] = [
        (Codec::OPUS, [&[0xfc][..], &media()].concat()),
        (Codec::Vp8, [&[0x31, 0x02, 0x00][..], &media()].concat()),
        (Codec::Vp9, media()),
        (
            Codec::H264,
            [&[0, 0, 0, 1, 0x65, 0x88, 0x84][..], &media()].concat(),
        ),
        (
            Codec::H265,
            [&[0, 0, 0, 1, 0x26, 0x01, 0xa0][..], &media()].concat(),
        ),
        (Codec::Av1, {
            let mut f = vec![0x12, 0x00, 0x32];
            f.extend(leb128(media().len()));
            f.extend(media());
            f
        }),
    ];
    for (codec, frame) in frames {
        for fallback in [Fallback::Reject, Fallback::WholeFrame] {
            for door in DOORS {
                let p = Protection::new(codec, fallback);
                let (mut sender, mut receiver) = plain_pair(0x3000);
                let (_, protected) = p.protect_to_vec(&mut sender, &frame).unwrap();
                let mut forged = protected.clone();
                *forged.last_mut().unwrap() ^= 0x40;
                let (result, written) = unprotect(p, &mut receiver, door, &forged);
                assert_eq!(
                    result,
                    Err(Error::AuthenticationFailed),
                    "{codec} {fallback:?} {door:?}"
                );
                assert!(!leaks(&written, &media()), "{codec} {fallback:?} {door:?}");
                let (result, _) = unprotect(p, &mut receiver, door, &protected);
                assert_eq!(result.unwrap(), frame, "{codec} {fallback:?} {door:?}");
            }
        }
    }
}
