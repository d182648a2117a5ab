//! The SFrame RTP payload format (draft-ietf-avtcore-rtp-sframe §4, §5):
//! descriptor bits, fragmentation, reassembly, loss and reordering.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // in tests a panic is the report

use framecrypt::rtp::{
    Descriptor, Origin, Pushed, Reassembler, Received, assemble, fragment, max_packet_len,
    protect_packet, unprotect_packet,
};
use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};

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
    let mut sender = Sender::new(suite, KeyId(3), &key);
    let mut receiver = Receiver::<FixedKeyStore<1>>::new();
    receiver.add_key(suite, KeyId(3), &key).unwrap();
    let media = frame(100_000);
    let mut sframe = vec![0u8; sender.next_ciphertext_len(media.len())];
    let len = sender.encrypt(&[], &media, &mut sframe).unwrap();
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
    let done = receiver.decrypt(&[], &joined, &mut plain).unwrap();
    assert_eq!(&plain[done.plaintext()], &media[..]);
}

#[test]
fn per_packet_sframe_is_one_whole_frame_per_packet() {
    let key = BaseKey::new(b"per-packet rtp sframe").unwrap();
    let suite = CipherSuite::Aes128CtrHmacSha256_80;
    let mut sender = Sender::new(suite, KeyId(1), &key);
    let mut receiver = Receiver::<FixedKeyStore<1>>::new();
    receiver.add_key(suite, KeyId(1), &key).unwrap();
    let payload = frame(1100);
    let mut packet = vec![0u8; max_packet_len(suite, payload.len())];
    let len = protect_packet(&mut sender, b"rtp hdr", &payload, &mut packet).unwrap();
    let packet = &packet[..len];
    assert_eq!(packet[0], 0xe0, "S = E = T = 1");
    let mut out = vec![0u8; len];
    let (d, done) = unprotect_packet(&mut receiver, b"rtp hdr", packet, &mut out).unwrap();
    assert_eq!(d.origin, Origin::Packetized);
    assert_eq!(&out[done.plaintext()], &payload[..]);
    // Metadata is authenticated; a fragment is not a whole frame.
    assert_eq!(
        unprotect_packet(&mut receiver, b"other", packet, &mut out).map(|_| ()),
        Err(Error::AuthenticationFailed)
    );
    let mut first_only = packet.to_vec();
    first_only[0] = 0xa0;
    assert_eq!(
        unprotect_packet(&mut receiver, b"rtp hdr", &first_only, &mut out).map(|_| ()),
        Err(Error::MalformedPacket)
    );
}
