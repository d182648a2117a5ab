//! The `rtp_reassemble` target: sequences of SFrame RTP payloads
//! (draft-ietf-avtcore-rtp-sframe) — arbitrary ones, and fragments of a
//! frame delivered with losses and reordering — through `Reassembler` and
//! `assemble`; never panics, and a frame is never joined across a gap.
//!
//! - `Reassembler::push` is compared, packet by packet, with a model of its
//!   documented rules: a frame is the data of consecutive sequence numbers
//!   from an S fragment to an E fragment with one T bit; a gap drops the
//!   partial frame and is reported.
//! - `assemble` must return one of the shortest complete runs (S …  E,
//!   consecutive sequence numbers, all present), joined in order, or none
//!   when no run is complete.
//! - A fragmented frame comes back whole when nothing is lost, and never
//!   when a fragment is lost.
//! - Per-packet protection round-trips, and a descriptor without S and E is
//!   refused.

use arbitrary::Arbitrary;
use framecrypt::rtp::{
    Descriptor, Origin, Pushed, Reassembler, Received, assemble, fragment, max_packet_len,
    protect_packet, unprotect_packet,
};
use framecrypt::{BaseKey, Error, KeyId, Receiver, Sender, VecKeyStore};

use crate::{harness_key, seed_enum, seed_struct};

/// One case: what to do, and the bytes packets or the frame are cut from.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct RtpInput<'a> {
    /// What to do.
    pub mode: RtpMode,
    /// Packet data, or the frame.
    pub data: &'a [u8],
}

impl crate::seed::Seed for RtpInput<'_> {
    fn seed(&self, out: &mut Vec<u8>) {
        self.mode.seed(out);
        out.extend_from_slice(self.data);
    }
}

/// The three kinds of case.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum RtpMode {
    /// Arbitrary packets, their data taken in turn from `data`.
    Packets {
        /// The first packet's sequence number.
        first_seq: u16,
        /// The reassembly buffer size.
        buffer: u16,
        /// The packets.
        packets: Vec<Packet>,
    },
    /// `data` as one SFrame frame, fragmented and delivered.
    Fragments {
        /// The first fragment's sequence number.
        first_seq: u16,
        /// The largest payload, descriptor included.
        max_payload: u16,
        /// T = 1 rather than T = 0.
        packetized: bool,
        /// Fragment `i` is lost if bit `i % 64` is set.
        lost: u64,
        /// Reordering before `assemble`.
        swaps: Vec<Swap>,
    },
    /// `data` as one media payload, protected per packet (§5.1.2).
    PerPacket {
        /// Cipher suite, modulo 8.
        suite: u8,
        /// A descriptor byte written over the one sent.
        descriptor: Option<u8>,
    },
}
seed_enum!(RtpMode[
    Packets { first_seq, buffer, packets },
    Fragments { first_seq, max_payload, packetized, lost, swaps },
    PerPacket { suite, descriptor },
]);

/// One arbitrary packet.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Sequence number step from the previous packet (1: in order; 0: a
    /// duplicate; others: loss or reordering).
    pub step: i8,
    /// The descriptor byte; `None` for an empty payload.
    pub descriptor: Option<u8>,
    /// Data bytes after the descriptor (fewer if `data` runs out).
    pub len: u8,
}
seed_struct!(Packet {
    step,
    descriptor,
    len
});

/// Two positions of the delivered list exchanged.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Swap {
    /// One position (modulo the length).
    pub a: u8,
    /// The other.
    pub b: u8,
}
seed_struct!(Swap { a, b });

/// Packets `assemble` is given at most: the model it is checked against
/// walks from every start with a linear search, cubic in their number.
pub const MAX_ASSEMBLE: usize = 64;

/// Runs one case; panics on a library panic or a broken rule.
///
/// # Panics
/// As above.
pub fn run(input: &RtpInput<'_>) {
    match &input.mode {
        RtpMode::Packets {
            first_seq,
            buffer,
            packets,
        } => run_packets(*first_seq, usize::from(*buffer), packets, input.data),
        RtpMode::Fragments {
            first_seq,
            max_payload,
            packetized,
            lost,
            swaps,
        } => {
            let origin = if *packetized {
                Origin::Packetized
            } else {
                Origin::Raw
            };
            run_fragments(
                *first_seq,
                usize::from(*max_payload),
                origin,
                *lost,
                swaps,
                input.data,
            );
        }
        RtpMode::PerPacket { suite, descriptor } => {
            run_per_packet(crate::suite(*suite), *descriptor, input.data);
        }
    }
}

fn run_packets(first_seq: u16, buffer: usize, packets: &[Packet], data: &[u8]) {
    let mut list: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut seq = first_seq;
    let mut at = 0;
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            seq = seq.wrapping_add_signed(i16::from(p.step));
        }
        let payload = match p.descriptor {
            None => Vec::new(),
            Some(d) => {
                let end = (at + usize::from(p.len)).min(data.len());
                let mut payload = vec![d];
                payload.extend_from_slice(&data[at..end]);
                at = end;
                payload
            }
        };
        list.push((seq, payload));
    }

    let mut buf = vec![0; buffer];
    let mut reassembler = Reassembler::new(&mut buf);
    let mut model = ReassemblerModel::new(buffer);
    for (seq, payload) in &list {
        let actual = reassembler.push(*seq, payload).map(owned);
        let expected = model.push(*seq, payload);
        assert_eq!(actual, expected, "push({seq}, {payload:02x?})");
    }

    let list = &list[..list.len().min(MAX_ASSEMBLE)];
    // Unique sequence numbers, as in a jitter buffer: the exact check.
    let mut unique: Vec<(u16, Vec<u8>)> = Vec::new();
    for (seq, payload) in list {
        if unique.iter().all(|(s, _)| s != seq) {
            unique.push((*seq, payload.clone()));
        }
    }
    check_assemble(&unique, buffer);
    // With duplicates: whatever is joined is still a gap-free run.
    let received: Vec<Received<'_>> = list
        .iter()
        .map(|(seq, payload)| Received { seq: *seq, payload })
        .collect();
    let mut out = vec![0; buffer];
    if let Ok(Some(a)) = assemble(&received, &mut out) {
        for k in 0..a.packets {
            let seq = a.first_seq.wrapping_add(k);
            assert!(
                list.iter().any(|(s, _)| *s == seq),
                "joined across missing {seq}"
            );
        }
    }
}

/// A pushed result with the frame copied out of the reassembler's buffer.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Pending,
    Frame(Vec<u8>, Origin),
    Gap { expected: u16, got: u16 },
    Orphan,
}

fn owned(pushed: Pushed<'_>) -> Outcome {
    match pushed {
        Pushed::Pending => Outcome::Pending,
        Pushed::Frame(frame, origin) => Outcome::Frame(frame.to_vec(), origin),
        Pushed::Gap { expected, got } => Outcome::Gap { expected, got },
        Pushed::Orphan => Outcome::Orphan,
    }
}

/// `Reassembler` as documented: in-order fragments from S to E join into a
/// frame; a sequence gap drops the partial frame (reported as a gap, the
/// packet then taken as a possible new start); a middle or last fragment
/// with no frame started is an orphan; a T bit unlike the frame's, or a
/// frame outgrowing the buffer, drops the frame with an error; an empty
/// payload is an error and changes nothing.
struct ReassemblerModel {
    capacity: usize,
    expected: Option<u16>,
    /// The frame being built: its data and T bit.
    building: Option<(Vec<u8>, Origin)>,
}

impl ReassemblerModel {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            expected: None,
            building: None,
        }
    }

    fn push(&mut self, seq: u16, payload: &[u8]) -> Result<Outcome, Error> {
        let Some((&byte, data)) = payload.split_first() else {
            return Err(Error::MalformedPacket);
        };
        let d = Descriptor::from_byte(byte);
        let gap = self
            .expected
            .replace(seq.wrapping_add(1))
            .filter(|&expected| expected != seq)
            .map(|expected| Outcome::Gap { expected, got: seq });
        if gap.is_some() {
            self.building = None;
        }
        if d.start {
            self.building = Some((Vec::new(), d.origin));
        }
        let Some((frame, origin)) = &mut self.building else {
            return Ok(gap.unwrap_or(Outcome::Orphan));
        };
        if d.origin != *origin {
            self.building = None;
            return Err(Error::MalformedPacket);
        }
        if frame.len() + data.len() > self.capacity {
            self.building = None;
            return Err(Error::BufferTooSmall);
        }
        frame.extend_from_slice(data);
        if d.end {
            let (frame, origin) = self.building.take().expect("building");
            return Ok(Outcome::Frame(frame, origin));
        }
        Ok(gap.unwrap_or(Outcome::Pending))
    }
}

/// `assemble` over packets with unique sequence numbers, against every
/// shortest complete run.
fn check_assemble(list: &[(u16, Vec<u8>)], buffer: usize) {
    let received: Vec<Received<'_>> = list
        .iter()
        .map(|(seq, payload)| Received { seq: *seq, payload })
        .collect();
    let mut out = vec![0; buffer];
    let actual = assemble(&received, &mut out);
    if list.iter().any(|(_, p)| p.is_empty()) {
        assert_eq!(actual, Err(Error::MalformedPacket), "an empty payload");
        return;
    }
    let find = |seq: u16| list.iter().find(|(s, _)| *s == seq).map(|(_, p)| p);
    // Every complete run: from an S packet through consecutive sequence
    // numbers to the first E packet.
    let mut runs: Vec<(u16, Vec<&Vec<u8>>)> = Vec::new();
    for (first, payload) in list {
        if !Descriptor::from_byte(payload[0]).start {
            continue;
        }
        let mut run = Vec::new();
        let mut seq = *first;
        while let Some(p) = find(seq) {
            run.push(p);
            if Descriptor::from_byte(p[0]).end || run.len() == list.len() {
                break;
            }
            seq = seq.wrapping_add(1);
        }
        if run.last().is_some_and(|p| Descriptor::from_byte(p[0]).end) {
            runs.push((*first, run));
        }
    }
    let Some(shortest) = runs.iter().map(|(_, r)| r.len()).min() else {
        assert_eq!(actual, Ok(None), "no complete run");
        return;
    };
    // What joining each shortest run gives: the first T-bit mismatch or
    // overflow, in order, or the joined frame.
    let outcomes: Vec<_> = runs
        .iter()
        .filter(|(_, r)| r.len() == shortest)
        .map(|(first, run)| {
            let origin = Descriptor::from_byte(run[0][0]).origin;
            let mut joined = Vec::new();
            for p in run {
                if Descriptor::from_byte(p[0]).origin != origin {
                    return Err(Error::MalformedPacket);
                }
                if joined.len() + p.len() - 1 > buffer {
                    return Err(Error::BufferTooSmall);
                }
                joined.extend_from_slice(&p[1..]);
            }
            Ok((*first, run.len(), joined, origin))
        })
        .collect();
    match actual {
        Ok(Some(a)) => {
            let joined = &out[..a.len];
            assert!(
                outcomes
                    .iter()
                    .any(|o| o.as_ref().is_ok_and(|(first, n, frame, origin)| {
                        (*first, *n, frame.as_slice(), *origin)
                            == (a.first_seq, usize::from(a.packets), joined, a.origin)
                    })),
                "assemble gave {a:?}, not a shortest run"
            );
        }
        Ok(None) => panic!("assemble found no run of the {shortest}-packet runs"),
        Err(e) => assert!(
            outcomes.iter().any(|o| o.as_ref().err() == Some(&e)),
            "assemble: {e:?}"
        ),
    }
}

fn run_fragments(
    first_seq: u16,
    max_payload: usize,
    origin: Origin,
    lost: u64,
    swaps: &[Swap],
    frame: &[u8],
) {
    let fragments = match fragment(frame, origin, max_payload) {
        Ok(fragments) => fragments,
        Err(e) => {
            assert!(max_payload < 2, "fragment: {e:?}");
            assert_eq!(e, Error::BufferTooSmall);
            return;
        }
    };
    assert!(max_payload >= 2, "fragments of {max_payload}-byte payloads");
    // Not `fragments.count()`: method syntax picks `Iterator::count`,
    // which consumes the iterator.
    let count = fragments.len();
    assert_eq!(count, framecrypt::rtp::Fragments::count(&fragments));
    assert_eq!(count, frame.len().div_ceil(max_payload - 1).max(1));
    let mut payloads = Vec::new();
    let mut joined = Vec::new();
    for (i, f) in fragments.enumerate() {
        assert!(f.len() <= max_payload);
        assert_eq!(f.descriptor.start, i == 0);
        assert_eq!(f.descriptor.end, i + 1 == count);
        assert_eq!(f.descriptor.origin, origin);
        let mut payload = vec![0; f.len()];
        assert_eq!(f.write(&mut payload), Ok(f.len()));
        assert_eq!(Descriptor::parse(&payload), Ok((f.descriptor, f.data)));
        joined.extend_from_slice(f.data);
        payloads.push(payload);
    }
    assert_eq!(payloads.len(), count);
    assert_eq!(joined, frame, "fragments join to the frame");
    let sizes = payloads.iter().map(Vec::len);
    let (min, max) = (sizes.clone().min(), sizes.max());
    assert!(
        max.zip(min).is_some_and(|(max, min)| max - min <= 1),
        "even sizes"
    );

    let is_lost = |i: usize| lost & (1 << (i % 64)) != 0;
    let mut delivered: Vec<(u16, &[u8])> = Vec::new();
    let mut buf = vec![0; frame.len()];
    let mut reassembler = Reassembler::new(&mut buf);
    let mut frames = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        if is_lost(i) {
            continue;
        }
        let seq = first_seq.wrapping_add(u16::try_from(i % 65536).expect("wraps"));
        delivered.push((seq, payload));
        if let Pushed::Frame(f, o) = reassembler.push(seq, payload).expect("valid fragments") {
            frames.push((f.to_vec(), o));
        }
    }
    let any_lost = (0..count).any(is_lost);
    if any_lost {
        assert!(frames.is_empty(), "a frame joined across a lost fragment");
    } else {
        assert_eq!(frames, [(frame.to_vec(), origin)]);
    }

    if delivered.len() > MAX_ASSEMBLE || count > usize::from(u16::MAX) {
        return;
    }
    for swap in swaps {
        let len = delivered.len();
        if len > 0 {
            delivered.swap(usize::from(swap.a) % len, usize::from(swap.b) % len);
        }
    }
    let received: Vec<Received<'_>> = delivered
        .iter()
        .map(|&(seq, payload)| Received { seq, payload })
        .collect();
    let mut out = vec![0; frame.len()];
    let assembled = assemble(&received, &mut out).expect("valid fragments");
    if any_lost {
        assert_eq!(assembled, None, "assembled across a lost fragment");
    } else {
        let a = assembled.expect("every fragment arrived");
        assert_eq!(
            (a.first_seq, usize::from(a.packets), a.origin),
            (first_seq, count, origin)
        );
        assert_eq!(&out[..a.len], frame);
    }
}

fn run_per_packet(suite: framecrypt::CipherSuite, descriptor: Option<u8>, payload: &[u8]) {
    for b in 0..=u8::MAX {
        let d = Descriptor::from_byte(b);
        assert_eq!(d.to_byte(), b & 0xe0);
        assert_eq!(Descriptor::from_byte(d.to_byte()), d);
    }
    let key = BaseKey::new(&harness_key(6, suite, 0x51)).expect("short key");
    let (mut sender, share) = Sender::with_share(suite, KeyId(0x51), key);
    let mut receiver = Receiver::<VecKeyStore>::new();
    receiver.add_share(share).expect("grows");

    // Arbitrary bytes as a packet: no panic.
    let mut out = vec![0; payload.len()];
    let _ = unprotect_packet(&mut receiver, b"", payload, &mut out);

    let mut packet = vec![0; max_packet_len(suite, payload.len())];
    let len = protect_packet(&mut sender, b"rtp", payload, &mut packet)
        .expect("room")
        .len();
    packet.truncate(len);
    assert_eq!(packet[0], 0xe0, "S = E = T = 1");
    let sent = match descriptor {
        Some(b) => {
            packet[0] = b;
            Descriptor::from_byte(b)
        }
        None => Descriptor::from_byte(0xe0),
    };
    let mut out = vec![0; packet.len()];
    let result = unprotect_packet(&mut receiver, b"rtp", &packet, &mut out);
    if sent.start && sent.end {
        let (d, decrypted) = result.expect("a whole-frame packet decrypts");
        assert_eq!(d, sent);
        assert_eq!(&out[decrypted.plaintext()], payload);
    } else {
        assert_eq!(result.err(), Some(Error::MalformedPacket));
    }
}
