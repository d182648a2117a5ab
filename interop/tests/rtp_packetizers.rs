//! Codec-aware protected frames through a real RTP packetizer and
//! depacketizer (the webrtc-rs `rtp` crate): the VP8 payload descriptor and
//! the H.264 FU-A / STAP-A packetization (RFC 7741, RFC 6184) work on the
//! protected frames, and the frames decrypt after the round trip.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

#[path = "../../tests/media/mod.rs"]
mod media;

use std::path::Path;

use bytes::Bytes;
use framecrypt::codec::{Codec, Fallback, Protection, max_protected_len};
use framecrypt::sfu::inspect_codec;
use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
use rtp::codecs::h264::{H264Packet, H264Payloader};
use rtp::codecs::vp8::{Vp8Packet, Vp8Payloader};
use rtp::packetizer::{Depacketizer, Payloader};

const MTU: usize = 1200;

/// A media sample from the repository's `tests/data/media/` (this crate
/// sits one level below the root).
fn sample(name: &str) -> Vec<u8> {
    media::sample_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")), name)
}

fn pair(suite: CipherSuite) -> (Sender, Receiver<FixedKeyStore<1>>) {
    let key = BaseKey::new(b"rtp packetizer test key").unwrap();
    let sender = Sender::new(suite, KeyId(0x51), dup(&key));
    let mut receiver = Receiver::new();
    receiver.add_key(suite, KeyId(0x51), dup(&key)).unwrap();
    (sender, receiver)
}

fn protect(p: Protection, sender: &mut Sender, frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; max_protected_len(p.codec(), sender.suite(), frame.len())];
    let done = p.protect(sender, frame, &mut out).unwrap();
    out.truncate(done.len());
    out
}

fn unprotect(p: Protection, receiver: &mut Receiver<FixedKeyStore<1>>, frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; frame.len()];
    let done = p.unprotect(receiver, frame, &mut out).unwrap();
    out.truncate(done.len());
    out
}

#[test]
fn protected_vp8_frames_survive_the_vp8_packetizer() {
    let frames = media::ivf_frames(&sample("vp8.ivf"));
    let p = Protection::new(Codec::Vp8, Fallback::Reject);
    for suite in CipherSuite::ALL {
        let (mut sender, mut receiver) = pair(suite);
        let mut payloader = Vp8Payloader::default();
        payloader.enable_picture_id = true;
        let mut packets_sent = 0;
        for frame in &frames {
            let protected = protect(p, &mut sender, frame);
            let packets = payloader
                .payload(MTU, &Bytes::from(protected.clone()))
                .unwrap();
            assert!(packets.iter().all(|pkt| pkt.len() <= MTU));
            packets_sent += packets.len();

            let mut depacketizer = Vp8Packet::default();
            let mut joined = Vec::new();
            for (i, pkt) in packets.iter().enumerate() {
                let data = depacketizer.depacketize(pkt).unwrap();
                // The VP8 payload descriptor's S bit marks the first packet.
                assert_eq!(depacketizer.s == 1, i == 0);
                joined.extend_from_slice(&data);
            }
            assert_eq!(joined, protected);
            // What a receiver's depacketizer (or an SFU) reads from the
            // first packet's VP8 payload: the clear keyframe header.
            let view = inspect_codec(Codec::Vp8, &joined).unwrap();
            assert_eq!(view.hints().keyframe, Some(frame[0] & 1 == 0));
            assert_eq!(unprotect(p, &mut receiver, &joined), *frame);
        }
        assert!(
            packets_sent > frames.len(),
            "keyframes span several packets"
        );
    }
}

/// The NAL units of an Annex B stream, without their start codes.
fn nal_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let starts = media::nal_starts(stream);
    starts
        .iter()
        .enumerate()
        .map(|(k, &(_, nal))| {
            let end = starts.get(k + 1).map_or(stream.len(), |&(next, _)| next);
            stream[nal..end].to_vec()
        })
        .collect()
}

#[test]
fn protected_h264_access_units_survive_the_h264_packetizer() {
    for name in ["h264.h264", "h264-slices.h264"] {
        let frames = media::annexb_access_units(&sample(name), Codec::H264);
        let p = Protection::new(Codec::H264, Fallback::Reject);
        for suite in CipherSuite::ALL {
            let (mut sender, mut receiver) = pair(suite);
            let mut payloader = H264Payloader::default();
            let mut fu_a = 0;
            for frame in &frames {
                let protected = protect(p, &mut sender, frame);
                let packets = payloader
                    .payload(MTU, &Bytes::from(protected.clone()))
                    .unwrap();
                assert!(packets.iter().all(|pkt| pkt.len() <= MTU));
                fu_a += packets.iter().filter(|pkt| pkt[0] & 0x1f == 28).count();

                let mut depacketizer = H264Packet::default();
                let mut joined = Vec::new();
                for pkt in &packets {
                    joined.extend_from_slice(&depacketizer.depacketize(pkt).unwrap());
                }
                // The depacketizer rewrites start codes as 00 00 00 01; the
                // NAL units are the protected ones, byte for byte.
                assert_eq!(nal_units(&joined), nal_units(&protected));
                let restored = unprotect(p, &mut receiver, &joined);
                assert_eq!(nal_units(&restored), nal_units(frame), "{name} {suite}");
            }
            assert!(fu_a > 0, "{name}: large slices were fragmented (FU-A)");
        }
    }
}

/// The same key again, as another party holding the same secret has it.
fn dup(key: &BaseKey) -> BaseKey {
    BaseKey::new(key.expose_secret()).expect("valid key")
}
