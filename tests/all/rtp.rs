//! The SFrame RTP payload format (draft-ietf-avtcore-rtp-sframe §4, §5):
//! descriptor bits, fragmentation, reassembly, loss and reordering.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use crate::common::dup;
use framecrypt::prelude::*;
use framecrypt::rtp::{
    Descriptor, Origin, Pushed, Reassembler, Received, assemble, fragment, max_packet_len,
    protect_packet, unprotect_packet,
};
use framecrypt::{
    BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, RatchetBits, RatchetingReceiver,
    RatchetingSender, Receiver, Sender,
};
use proptest::prelude::*;

const SIZES: [usize; 9] = [1, 2, 198, 199, 1400, 4097, 65_536, 1_000_000, 1 << 20];
const MTUS: [usize; 6] = [200, 201, 512, 999, 1200, 1400];

/// A deterministic frame of `len` bytes.
fn frame(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678u32 ^ len as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn payloads(data: &[u8], origin: Origin, mtu: usize) -> Vec<Vec<u8>> {
    fragment(data, origin, mtu)
        .unwrap()
        .map(|f| {
            let mut p = vec![0u8; f.len()];
            f.write(&mut p).unwrap();
            p
        })
        .collect()
}

#[test]
fn descriptor_bits_follow_section_4() {
    for b in 0..=0xffu8 {
        let d = Descriptor::from_byte(b);
        assert_eq!(d.start, b & 0x80 != 0);
        assert_eq!(d.end, b & 0x40 != 0);
        assert_eq!(d.origin == Origin::Packetized, b & 0x20 != 0);
        // Reserved bits are ignored on receipt and zero when sent.
        assert_eq!(d.to_byte(), b & 0xe0);
    }
    assert_eq!(Descriptor::parse(&[]), Err(Error::MalformedPacket));
}

#[test]
fn fragments_fit_the_mtu_and_carry_s_and_e_only_at_the_ends() {
    for len in SIZES {
        let data = frame(len);
        for mtu in MTUS {
            let frags: Vec<_> = fragment(&data, Origin::Raw, mtu).unwrap().collect();
            assert_eq!(frags.len(), len.div_ceil(mtu - 1), "len {len} mtu {mtu}");
            let sizes: Vec<usize> = frags.iter().map(|f| f.data.len()).collect();
            assert!(sizes.iter().all(|&s| s < mtu));
            // Balanced: no tiny last packet.
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            for (i, f) in frags.iter().enumerate() {
                assert_eq!(f.descriptor.start, i == 0);
                assert_eq!(f.descriptor.end, i + 1 == frags.len());
                assert_eq!(f.descriptor.origin, Origin::Raw);
            }
            let joined: Vec<u8> = frags.iter().flat_map(|f| f.data.iter().copied()).collect();
            assert_eq!(joined, data);
        }
    }
    assert!(fragment(&[1, 2, 3], Origin::Raw, 1).is_err());
}

#[test]
fn frames_from_one_byte_to_one_megabyte_reassemble_in_order_at_every_mtu() {
    let mut buf = vec![0u8; 1 << 20];
    for len in SIZES {
        let data = frame(len);
        for mtu in MTUS {
            let mut r = Reassembler::new(&mut buf);
            // Sequence numbers wrap inside the frame.
            let mut seq = 65_530u16;
            let packets = payloads(&data, Origin::Raw, mtu);
            let n = packets.len();
            for (i, p) in packets.iter().enumerate() {
                let pushed = r.push(seq, p).unwrap();
                if i + 1 < n {
                    assert_eq!(pushed, Pushed::Pending);
                } else {
                    assert_eq!(
                        pushed,
                        Pushed::Frame(&data, Origin::Raw),
                        "len {len} mtu {mtu}"
                    );
                }
                seq = seq.wrapping_add(1);
            }
        }
    }
}

#[test]
fn frames_reassemble_from_any_arrival_order() {
    let mut out = vec![0u8; 70_000];
    for len in [1, 199, 1400, 4097, 65_536] {
        let data = frame(len);
        for mtu in MTUS {
            let packets = payloads(&data, Origin::Packetized, mtu);
            let mut received: Vec<Received<'_>> = packets
                .iter()
                .enumerate()
                .map(|(i, p)| Received {
                    seq: 65_500u16.wrapping_add(i as u16),
                    payload: p,
                })
                .collect();
            // A fixed shuffle: reversed, then odd/even interleaved.
            received.reverse();
            let (odd, even): (Vec<_>, Vec<_>) =
                received.iter().enumerate().partition(|(i, _)| i % 2 == 1);
            let shuffled: Vec<Received<'_>> =
                odd.into_iter().chain(even).map(|(_, r)| *r).collect();
            let done = assemble(&shuffled, &mut out).unwrap().expect("complete");
            assert_eq!(done.first_seq, 65_500);
            assert_eq!(usize::from(done.packets), packets.len());
            assert_eq!(done.origin, Origin::Packetized);
            assert_eq!(&out[..done.len], &data[..], "len {len} mtu {mtu}");
        }
    }
}

#[test]
fn a_lost_fragment_is_detected_and_never_joined_across() {
    let data = frame(5000);
    let packets = payloads(&data, Origin::Raw, 1200);
    assert_eq!(packets.len(), 5);
    let mut out = vec![0u8; 10_000];

    // §5.2: no consecutive S..E run exists without packet 2.
    let received: Vec<Received<'_>> = packets
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 2)
        .map(|(i, p)| Received {
            seq: i as u16,
            payload: p,
        })
        .collect();
    assert_eq!(assemble(&received, &mut out), Ok(None));

    // In order: the gap is reported and the frame dropped; the next frame
    // is whole again.
    let mut buf = vec![0u8; 10_000];
    let mut r = Reassembler::new(&mut buf);
    let mut events = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i == 2 {
            continue;
        }
        events.push(format!("{:?}", r.push(i as u16, p).unwrap()));
    }
    assert_eq!(events[..2], ["Pending", "Pending"]);
    assert_eq!(events[2], "Gap { expected: 2, got: 3 }");
    assert_eq!(events[3], "Orphan");
    let next = frame(300);
    let next_packets = payloads(&next, Origin::Raw, 1200);
    assert_eq!(
        r.push(5, &next_packets[0]).unwrap(),
        Pushed::Frame(&next, Origin::Raw)
    );
}

#[test]
fn reordering_is_detected_by_the_in_order_reassembler() {
    let data = frame(3000);
    let packets = payloads(&data, Origin::Raw, 1001);
    assert_eq!(packets.len(), 3);
    let mut buf = vec![0u8; 10_000];
    let mut r = Reassembler::new(&mut buf);
    assert_eq!(r.push(10, &packets[0]).unwrap(), Pushed::Pending);
    assert_eq!(
        r.push(12, &packets[2]).unwrap(),
        Pushed::Gap {
            expected: 11,
            got: 12
        }
    );
    assert_eq!(
        r.push(11, &packets[1]).unwrap(),
        Pushed::Gap {
            expected: 13,
            got: 11
        }
    );
    // The unordered set API, by contrast, rebuilds it.
    let set = [
        Received {
            seq: 12,
            payload: &packets[2],
        },
        Received {
            seq: 10,
            payload: &packets[0],
        },
        Received {
            seq: 11,
            payload: &packets[1],
        },
    ];
    let mut out = vec![0u8; 3000];
    assert_eq!(assemble(&set, &mut out).unwrap().unwrap().len, 3000);
    assert_eq!(out, data);
}

#[test]
fn the_shortest_complete_run_is_chosen_and_mixed_t_bits_are_refused() {
    let a = payloads(&frame(10), Origin::Raw, 6); // 2 packets
    let b = payloads(&frame(4), Origin::Raw, 200); // 1 packet
    let mut out = vec![0u8; 100];
    // A stale first fragment (seq 1) before a complete one-packet frame.
    let set = [
        Received {
            seq: 1,
            payload: &a[0],
        },
        Received {
            seq: 2,
            payload: &b[0],
        },
    ];
    let done = assemble(&set, &mut out).unwrap().unwrap();
    assert_eq!((done.first_seq, done.packets), (2, 1));
    assert_eq!(&out[..done.len], frame(4));

    let mut mixed = a[1].clone();
    mixed[0] |= 0x20;
    let set = [
        Received {
            seq: 7,
            payload: &a[0],
        },
        Received {
            seq: 8,
            payload: &mixed,
        },
    ];
    assert_eq!(assemble(&set, &mut out), Err(Error::MalformedPacket));
    let mut buf = vec![0u8; 100];
    let mut r = Reassembler::new(&mut buf);
    r.push(7, &a[0]).unwrap();
    assert_eq!(r.push(8, &mixed), Err(Error::MalformedPacket));
}

#[test]
fn per_frame_sframe_survives_fragmentation() {
    let key = BaseKey::new(b"per-frame rtp sframe").unwrap();
    let suite = CipherSuite::Aes128GcmSha256_128;
    let mut sender = Sender::new(suite, KeyId(3), dup(&key));
    let mut receiver = Receiver::<FixedKeyStore<1>>::new();
    receiver.add_key(suite, KeyId(3), dup(&key)).unwrap();
    let media = frame(100_000);
    let mut sframe = vec![0u8; sender.next_ciphertext_len(media.len())];
    let len = sender.seal(&[], &media, &mut sframe).unwrap().len();
    let mut buf = vec![0u8; 200_000];
    let mut r = Reassembler::new(&mut buf);
    let mut joined = None;
    for (i, p) in payloads(&sframe[..len], Origin::Raw, 1200)
        .iter()
        .enumerate()
    {
        if let Pushed::Frame(f, origin) = r.push(i as u16, p).unwrap() {
            assert_eq!(origin, Origin::Raw);
            joined = Some(f.to_vec());
        }
    }
    let joined = joined.unwrap();
    let mut plain = vec![0u8; joined.len()];
    let done = receiver.open(&[], &joined, &mut plain).unwrap();
    assert_eq!(&plain[done.plaintext()], &media[..]);
}

#[test]
fn per_packet_sframe_is_one_whole_frame_per_packet() {
    let key = BaseKey::new(b"per-packet rtp sframe").unwrap();
    let suite = CipherSuite::Aes128CtrHmacSha256_80;
    let mut sender = Sender::new(suite, KeyId(1), dup(&key));
    let mut receiver = Receiver::<FixedKeyStore<1>>::new();
    receiver.add_key(suite, KeyId(1), dup(&key)).unwrap();
    let payload = frame(1100);
    let mut packet = vec![0u8; max_packet_len(suite, payload.len())];
    let sealed = protect_packet(&mut sender, b"rtp hdr", &payload, &mut packet).unwrap();
    let packet = &packet[sealed.frame()];
    assert_eq!(packet[0], 0xe0, "S = E = T = 1");
    let mut out = vec![0u8; packet.len()];
    // Metadata is authenticated.
    assert_eq!(
        unprotect_packet(&mut receiver, b"other", packet, &mut out).map(|_| ()),
        Err(Error::AuthenticationFailed)
    );
    let (d, done) = unprotect_packet(&mut receiver, b"rtp hdr", packet, &mut out).unwrap();
    assert_eq!(d.origin, Origin::Packetized);
    assert_eq!(&out[done.plaintext()], &payload[..]);
    // The receiver's replay window covers packets too; a fragment is not
    // a whole frame.
    assert_eq!(
        unprotect_packet(&mut receiver, b"rtp hdr", packet, &mut out).map(|_| ()),
        Err(Error::Replayed)
    );
    let mut first_only = packet.to_vec();
    first_only[0] = 0xa0;
    assert_eq!(
        unprotect_packet(&mut receiver, b"rtp hdr", &first_only, &mut out).map(|_| ()),
        Err(Error::MalformedPacket)
    );
}

// ---------------------------------------------------------------------
// `assemble` gives what the first, cubic version gave, in linear time.

/// The first version of `assemble`, kept as the reference: from every S
/// packet, walk the sequence numbers with a linear search each.
fn assemble_reference(
    received: &[Received<'_>],
    out: &mut [u8],
) -> Result<Option<framecrypt::rtp::Assembled>, Error> {
    let find = |seq: u16| received.iter().find(|p| p.seq == seq);
    let longest = received.len().min(usize::from(u16::MAX));
    let mut best: Option<(u16, u16)> = None;
    for start in received {
        let (d, _) = Descriptor::parse(start.payload)?;
        if !d.start {
            continue;
        }
        let limit = best.map_or(longest, |(_, n)| usize::from(n) - 1);
        let mut n: u16 = 0;
        let mut seq = start.seq;
        while usize::from(n) < limit {
            let Some(p) = find(seq) else { break };
            let (d, _) = Descriptor::parse(p.payload)?;
            n += 1;
            if d.end {
                if best.is_none_or(|(_, m)| n < m) {
                    best = Some((start.seq, n));
                }
                break;
            }
            seq = seq.wrapping_add(1);
        }
    }
    let Some((first_seq, packets)) = best else {
        return Ok(None);
    };
    let mut origin = None;
    let mut len = 0;
    for k in 0..packets {
        let p = find(first_seq.wrapping_add(k)).ok_or(Error::MalformedPacket)?;
        let (d, data) = Descriptor::parse(p.payload)?;
        if *origin.get_or_insert(d.origin) != d.origin {
            return Err(Error::MalformedPacket);
        }
        out.get_mut(len..len + data.len())
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(data);
        len += data.len();
    }
    Ok(Some(framecrypt::rtp::Assembled {
        first_seq,
        packets,
        len,
        origin: origin.unwrap_or(Origin::Raw),
    }))
}

/// `assemble` and the reference on the same packets: the same result,
/// and on success the same bytes.
fn assert_same_as_reference(received: &[Received<'_>], out_len: usize) {
    let mut out = vec![0u8; out_len];
    let mut expected_out = vec![0u8; out_len];
    let actual = assemble(received, &mut out);
    let expected = assemble_reference(received, &mut expected_out);
    assert_eq!(actual, expected, "{received:?}");
    if let Ok(Some(done)) = actual {
        assert_eq!(out[..done.len], expected_out[..done.len]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Packets near one another (as in a jitter buffer), across the wrap
    /// of the sequence number, with duplicates, any descriptor bits
    /// (including mixed T bits and reserved bits), empty payloads and
    /// output buffers that are too small.
    #[test]
    fn assemble_equals_the_cubic_reference(
        first in any::<u16>(),
        packets in proptest::collection::vec(
            (0u16..24, any::<u8>(), 0usize..5),
            0..40,
        ),
        empty in proptest::option::weighted(0.05, 0usize..40),
        out_len in 0usize..100,
    ) {
        let payloads: Vec<Vec<u8>> = packets
            .iter()
            .enumerate()
            .map(|(i, &(_, descriptor, len))| {
                if empty == Some(i) {
                    return Vec::new();
                }
                // Mostly S, E and T bits only, so that runs complete.
                let descriptor = if i % 3 == 0 { descriptor } else { descriptor & 0xc0 };
                let mut payload = vec![descriptor];
                payload.extend((0..len).map(|k| (i * 7 + k) as u8));
                payload
            })
            .collect();
        let received: Vec<Received<'_>> = packets
            .iter()
            .zip(&payloads)
            .map(|(&(offset, _, _), payload)| Received {
                seq: first.wrapping_add(offset),
                payload,
            })
            .collect();
        assert_same_as_reference(&received, out_len);
    }

    /// Packets spread over the whole sequence space, around the wrap.
    #[test]
    fn assemble_equals_the_cubic_reference_far_apart(
        seqs in proptest::collection::vec(
            any::<u16>().prop_map(|s| s.wrapping_add(0xfff0) & 0xf00f),
            1..30,
        ),
        bits in proptest::collection::vec(0u8..4, 30),
    ) {
        let payloads: Vec<Vec<u8>> = bits.iter().map(|&b| vec![b << 6, b]).collect();
        let received: Vec<Received<'_>> = seqs
            .iter()
            .zip(&payloads)
            .map(|(&seq, payload)| Received { seq, payload })
            .collect();
        assert_same_as_reference(&received, 64);
    }
}

/// Issue 16: 2,000 packets that each start a frame that never ends took
/// the cubic version 1.9 s (3 s here); none is a complete frame.
#[test]
fn two_thousand_starts_without_an_end_are_no_frame() {
    let start = [Descriptor {
        start: true,
        end: false,
        origin: Origin::Raw,
    }
    .to_byte()];
    let mut out = vec![0u8; 16];
    for first in [0u16, 64_000] {
        let mut received: Vec<Received<'_>> = (0..2_500u16)
            .map(|i| Received {
                seq: first.wrapping_add(i),
                payload: &start,
            })
            .collect();
        assert_eq!(assemble(&received, &mut out), Ok(None));
        // An E fragment after the last one completes the shortest run: the
        // last start alone, with the end.
        let end = [Descriptor {
            start: false,
            end: true,
            origin: Origin::Raw,
        }
        .to_byte()];
        received.push(Received {
            seq: first.wrapping_add(2_500),
            payload: &end,
        });
        let done = assemble(&received, &mut out).unwrap().expect("complete");
        assert_eq!(done.first_seq, first.wrapping_add(2_499));
        assert_eq!((done.packets, done.len), (2, 0));
    }
}

/// One frame of 3,000 fragments, reversed, and every sequence number
/// present at once (so that no gap tells where runs cannot wrap).
#[test]
fn long_frames_and_a_full_sequence_space_assemble() {
    let data = frame(3_000);
    let packets = payloads(&data, Origin::Raw, 2);
    assert_eq!(packets.len(), 3_000);
    let mut received: Vec<Received<'_>> = packets
        .iter()
        .enumerate()
        .map(|(i, p)| Received {
            seq: 65_000u16.wrapping_add(i as u16),
            payload: p,
        })
        .collect();
    received.reverse();
    let mut out = vec![0u8; 3_000];
    let done = assemble(&received, &mut out).unwrap().expect("complete");
    assert_eq!(
        (done.first_seq, done.packets, done.len),
        (65_000, 3_000, 3_000)
    );
    assert_eq!(out, data);

    // All 65,536 sequence numbers, middle fragments, but for one frame of
    // three (S at 65,535, E at 1, wrapping) and one of two (S at 40,000,
    // E at 40,001): the shorter one is joined.
    let byte = |start: bool, end: bool| {
        [
            Descriptor {
                start,
                end,
                origin: Origin::Raw,
            }
            .to_byte(),
            0xee,
        ]
    };
    let middle = byte(false, false);
    let (s, e) = (byte(true, false), byte(false, true));
    let full: Vec<Received<'_>> = (0..=u16::MAX)
        .map(|seq| Received {
            seq,
            payload: match seq {
                65_535 | 40_000 => &s,
                1 | 40_001 => &e,
                _ => &middle,
            },
        })
        .collect();
    let done = assemble(&full, &mut out).unwrap().expect("complete");
    assert_eq!((done.first_seq, done.packets), (40_000, 2));
    // Without the shorter one, the wrapping one.
    let full: Vec<Received<'_>> = full
        .iter()
        .map(|p| Received {
            payload: if p.seq == 40_001 { &middle } else { p.payload },
            ..*p
        })
        .collect();
    let done = assemble(&full, &mut out).unwrap().expect("complete");
    assert_eq!((done.first_seq, done.packets), (65_535, 3));
    // With no E at all, nothing: every run is still open.
    let open: Vec<Received<'_>> = (0..=u16::MAX)
        .map(|seq| Received {
            seq,
            payload: if seq == 7 { &s } else { &middle },
        })
        .collect();
    assert_eq!(assemble(&open, &mut out), Ok(None));
}

#[test]
fn per_packet_sframe_runs_over_a_ratcheting_receiver_and_rejects_a_replayed_packet() {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let bits = RatchetBits::new(4).unwrap();
    let mut sender =
        RatchetingSender::new(suite, bits, 0, BaseKey::new(&[7; 16]).unwrap()).unwrap();
    let mut receiver = RatchetingReceiver::<4>::new(suite, bits);
    receiver.install_share(sender.share(), 0).unwrap();
    // A participant joined: the sender ratchets, the receiver follows.
    sender.ratchet();

    let payload = frame(1100);
    let mut packet = vec![0u8; max_packet_len(suite, payload.len())];
    let sealed = protect_packet(&mut sender, b"rtp hdr", &payload, &mut packet).unwrap();
    assert_eq!(sealed.header().kid(), KeyId(1), "step 1");
    let packet = &packet[sealed.frame()];
    let mut out = vec![0u8; packet.len()];
    let (_, opened) = unprotect_packet(&mut receiver.at(10), b"rtp hdr", packet, &mut out).unwrap();
    assert_eq!(&out[opened.plaintext()], &payload[..]);
    assert_eq!(receiver.step(), Some(1), "followed the ratchet");
    assert_eq!(
        unprotect_packet(&mut receiver.at(11), b"rtp hdr", packet, &mut out),
        Err(Error::Replayed)
    );
    assert_eq!(receiver.stats().replayed, 1);
}
