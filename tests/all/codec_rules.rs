//! Which bytes a codec rule leaves clear (issue 16, point 5): only what
//! packetizers, depacketizers and SFUs must read. Picture data of every
//! kind, SEI and unknown or reserved NAL unit types are encrypted; on the
//! first version an x264 access unit showed its SEI text, and an H.264
//! auxiliary picture (type 19) went out clear.

#![cfg(feature = "alloc")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use framecrypt::codec::{Codec, Fallback, Protection};
use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};

use crate::media;

const KEY: [u8; 16] = *b"codec rules key!";

fn pair() -> (Sender, Receiver<FixedKeyStore<2>>) {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let (sender, share) = Sender::with_share(suite, KeyId(3), BaseKey::new(&KEY).unwrap());
    let mut receiver = Receiver::new();
    receiver.add_share(share).unwrap();
    (sender, receiver)
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Protects `frame` as `codec`, checks that it restores, and returns the
/// protected frame.
fn protect(codec: Codec, frame: &[u8]) -> Vec<u8> {
    let p = Protection::new(codec, Fallback::Reject);
    let (mut sender, mut receiver) = pair();
    let (_, protected) = p.protect_to_vec(&mut sender, frame).unwrap();
    let (_, restored) = p.unprotect_to_vec(&mut receiver, &protected).unwrap();
    assert_eq!(restored, frame);
    protected
}

#[test]
fn x264_sei_text_is_encrypted() {
    let frames = media::annexb_access_units(&media::sample("h264.h264"), Codec::H264);
    let first = &frames[0];
    // The encoder's SEI (user data unregistered) names it and its options.
    assert!(
        contains(first, b"x264 - core"),
        "the sample carries the text"
    );
    let protected = protect(Codec::H264, first);
    assert!(!contains(&protected, b"x264"), "SEI text readable");
    assert!(!contains(&protected, b"options:"), "SEI text readable");
    // The parameter sets stay clear, as depacketizers read them: the
    // frame starts as the original, up to the SEI's NAL unit header.
    let sei = first.windows(4).position(|w| w == [0, 0, 1, 0x06]).unwrap();
    assert_eq!(protected[..sei + 4], first[..sei + 4]);
    assert_ne!(protected[sei + 4..sei + 20], first[sei + 4..sei + 20]);
}

#[test]
fn x265_sei_text_is_encrypted() {
    let frames = media::annexb_access_units(&media::sample("h265.h265"), Codec::H265);
    let first = &frames[0];
    assert!(
        contains(first, b"x265 (build"),
        "the sample carries the text"
    );
    let protected = protect(Codec::H265, first);
    assert!(!contains(&protected, b"x265"), "SEI text readable");
}

/// A one-slice H.264 access unit followed by a NAL unit of `nal_type`
/// carrying `payload`.
fn h264_with(nal_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut au = vec![0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21, 0x43, 0x65, 0x80];
    au.extend_from_slice(&[0, 0, 1, 0x60 | nal_type]);
    au.extend_from_slice(payload);
    au
}

#[test]
fn h264_auxiliary_pictures_and_unknown_types_are_encrypted() {
    let secret = b"alpha plane: picture data nobody on the path reads";
    // 19: auxiliary coded picture; 13: SPS extension; 16: depth
    // parameter set; 17, 18, 22, 23: reserved; 0, 24-31: unspecified.
    for nal_type in [19, 13, 16, 17, 18, 22, 23, 0, 24, 31] {
        let frame = h264_with(nal_type, secret);
        let protected = protect(Codec::H264, &frame);
        assert!(
            !contains(&protected, &secret[..8]),
            "type {nal_type} left clear"
        );
        // Its NAL unit header stays readable, for packetizers.
        assert!(
            contains(&protected, &[0, 0, 1, 0x60 | nal_type]),
            "type {nal_type}"
        );
    }
    // Parameter sets stay clear.
    for nal_type in [7, 8, 15] {
        let frame = h264_with(nal_type, secret);
        assert!(
            contains(&protect(Codec::H264, &frame), secret),
            "type {nal_type}"
        );
    }
}

#[test]
fn h265_reserved_and_unspecified_types_are_encrypted() {
    let secret = b"nothing a packetizer reads: keep it secret";
    // 39, 40: SEI; 22, 23: reserved IRAP; 10-15, 24-31: reserved VCL;
    // 41-47: reserved; 48-63: unspecified.
    for nal_type in [39, 40, 22, 23, 10, 15, 24, 31, 41, 47, 48, 63] {
        let mut frame = vec![0, 0, 0, 1, 0x02, 0x01, 0xd0, 0x11, 0x22, 0x80];
        frame.extend_from_slice(&[0, 0, 1, nal_type << 1, 0x01]);
        frame.extend_from_slice(secret);
        let protected = protect(Codec::H265, &frame);
        assert!(
            !contains(&protected, &secret[..8]),
            "type {nal_type} left clear"
        );
    }
}

#[test]
fn av1_metadata_and_sequence_headers_are_encrypted() {
    let secret = b"HDR metadata and captions, for the receiver only";
    for obu_type in [1u8, 5, 0, 9, 14] {
        let mut frame = vec![0x12, 0x00, (obu_type << 3) | 0x02, secret.len() as u8];
        frame.extend_from_slice(secret);
        frame.extend_from_slice(&[0x32, 0x03, 0xaa, 0xbb, 0xcc]);
        let protected = protect(Codec::Av1, &frame);
        assert!(
            !contains(&protected, &secret[..8]),
            "OBU type {obu_type} left clear"
        );
    }
}
