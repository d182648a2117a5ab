//! Frame readers for the committed media samples (`tests/data/media/`):
//! IVF (VP8, VP9, AV1), Annex B (H.264, H.265) split into access units, and
//! Ogg Opus packets (through the `ogg` crate).
#![allow(dead_code, clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::io::Cursor;
use std::path::Path;

use framecrypt::codec::Codec;

/// The checkout this crate is in (the repository root for the main tests).
fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A sample file's bytes.
pub fn sample(name: &str) -> Vec<u8> {
    sample_in(manifest_dir(), name)
}

/// A sample file's bytes, from the repository at `root` (for crates whose
/// manifest is elsewhere, such as `fuzz/`).
pub fn sample_in(root: &Path, name: &str) -> Vec<u8> {
    let path = root.join("tests/data/media").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every sample with its codec, read into frames.
pub fn all_samples() -> Vec<(&'static str, Codec, Vec<Vec<u8>>)> {
    all_samples_in(manifest_dir())
}

/// Every sample with its codec, read into frames, from the repository at
/// `root`.
pub fn all_samples_in(root: &Path) -> Vec<(&'static str, Codec, Vec<Vec<u8>>)> {
    let sample = |name: &str| sample_in(root, name);
    vec![
        ("vp8.ivf", Codec::Vp8, ivf_frames(&sample("vp8.ivf"))),
        ("vp9.ivf", Codec::Vp9, ivf_frames(&sample("vp9.ivf"))),
        ("av1.ivf", Codec::Av1, ivf_frames(&sample("av1.ivf"))),
        (
            "h264.h264",
            Codec::H264,
            annexb_access_units(&sample("h264.h264"), Codec::H264),
        ),
        (
            "h264-slices.h264",
            Codec::H264,
            annexb_access_units(&sample("h264-slices.h264"), Codec::H264),
        ),
        (
            "h265.h265",
            Codec::H265,
            annexb_access_units(&sample("h265.h265"), Codec::H265),
        ),
        ("opus.ogg", Codec::OPUS, opus_packets(&sample("opus.ogg"))),
    ]
}

/// The frames of an IVF file: a 32-byte file header (`DKIF`, header size
/// at byte 6), then per frame a 12-byte header (4-byte LE size, 8-byte
/// timestamp) and the frame.
pub fn ivf_frames(file: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&file[..4], b"DKIF", "not an IVF file");
    let header_len = usize::from(u16::from_le_bytes([file[6], file[7]]));
    let mut pos = header_len;
    let mut frames = Vec::new();
    while pos + 12 <= file.len() {
        let size = u32::from_le_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 12;
        frames.push(file[pos..pos + size].to_vec());
        pos += size;
    }
    assert_eq!(pos, file.len(), "truncated IVF file");
    frames
}

/// Start of each start code (including one leading zero of a 4-byte start
/// code) and the NAL unit after it.
pub fn nal_starts(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            let start = if i > 0 && stream[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            out.push((start, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// The NAL unit types of an Annex B stream, in order.
pub fn nal_types(stream: &[u8], codec: Codec) -> Vec<u8> {
    nal_starts(stream)
        .into_iter()
        .map(|(_, nal)| nal_type(stream[nal], codec))
        .collect()
}

pub fn nal_type(first: u8, codec: Codec) -> u8 {
    match codec {
        Codec::H264 => first & 0x1f,
        _ => (first >> 1) & 0x3f,
    }
}

/// Splits an Annex B stream into access units (H.264 §7.4.1.2.3, H.265
/// §7.4.2.4.4): a new one starts at an AUD, parameter set or prefix SEI, or
/// at a slice that begins a picture, once the current one has a slice.
pub fn annexb_access_units(stream: &[u8], codec: Codec) -> Vec<Vec<u8>> {
    let nals = nal_starts(stream);
    let mut cuts = Vec::new();
    let mut has_vcl = false;
    for &(start, nal) in &nals {
        let t = nal_type(stream[nal], codec);
        let (vcl, first_in_picture, opens) = match codec {
            Codec::H264 => (
                (1..=5).contains(&t),
                stream.get(nal + 1).is_some_and(|b| b & 0x80 != 0),
                matches!(t, 6..=9 | 14..=18),
            ),
            _ => (
                t <= 31,
                stream.get(nal + 2).is_some_and(|b| b & 0x80 != 0),
                matches!(t, 32..=35 | 39 | 41..=44 | 48..=55),
            ),
        };
        if cuts.is_empty() || (has_vcl && (opens || (vcl && first_in_picture))) {
            cuts.push(start);
            has_vcl = false;
        }
        has_vcl |= vcl;
    }
    cuts.push(stream.len());
    cuts.windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

/// The packets of an Ogg Opus file without the two header packets
/// (`OpusHead`, `OpusTags`, RFC 7845 §5).
pub fn opus_packets(file: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = ogg::PacketReader::new(Cursor::new(file));
    let mut packets = Vec::new();
    while let Some(packet) = reader.read_packet().expect("valid Ogg") {
        packets.push(packet.data);
    }
    assert!(packets[0].starts_with(b"OpusHead"));
    assert!(packets[1].starts_with(b"OpusTags"));
    packets.split_off(2)
}
