//! The SFrame RTP payload format (draft-ietf-avtcore-rtp-sframe, editor's
//! draft of 3 April 2026): a one-byte payload descriptor in front of each
//! fragment of an SFrame ciphertext. Payloads only: the RTP header (sequence
//! number, timestamp, marker, SSRC) stays with the caller's RTP stack.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+-----------------------------
//! |S|E|T| reserved| fragment of the SFrame ciphertext …
//! +-+-+-+-+-+-+-+-+-----------------------------
//! ```
//!
//! - **Per-frame** (§5.1.1): protect a whole frame (for instance with
//!   [`crate::codec`]) and [`fragment`] it into MTU-sized payloads,
//!   `T = 0` (raw content).
//! - **Per-packet** (§5.1.2): each payload from the media packetizer becomes
//!   one SFrame ciphertext in one packet, `S = E = 1`, `T = 1`
//!   ([`protect_packet`], [`unprotect_packet`]).
//! - **Reassembly** (§5.2): [`assemble`] finds the shortest run of
//!   consecutive sequence numbers from an `S` to an `E` fragment in a set of
//!   received packets, in any arrival order; [`Reassembler`] does the same
//!   for packets that arrive in order and reports any gap. Neither ever
//!   joins fragments across a missing sequence number.

use crate::error::Error;
use crate::frame::{Opened, Sealed, max_overhead};
use crate::roles::{Open, Seal};
use crate::suite::CipherSuite;

/// What an SFrame frame protects: the T bit (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A raw media frame, as produced by an encoder (T = 0).
    Raw,
    /// A payload already packetized by the media packetizer (T = 1).
    Packetized,
}

/// The SFrame payload descriptor, the first byte of every payload (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor {
    /// S: the first fragment of an SFrame frame.
    pub start: bool,
    /// E: the last fragment of an SFrame frame.
    pub end: bool,
    /// T: raw or packetized content.
    pub origin: Origin,
}

const S_BIT: u8 = 0x80;
const E_BIT: u8 = 0x40;
const T_BIT: u8 = 0x20;

impl Descriptor {
    /// The descriptor length in bytes.
    pub const LEN: usize = 1;

    /// The byte; the 5 reserved bits are zero (§4, §5.1 step 4.1).
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        let mut b = 0;
        if self.start {
            b |= S_BIT;
        }
        if self.end {
            b |= E_BIT;
        }
        if matches!(self.origin, Origin::Packetized) {
            b |= T_BIT;
        }
        b
    }

    /// Reads a descriptor byte; reserved bits are ignored (they are
    /// "reserved for future use", §4).
    #[must_use]
    pub const fn from_byte(b: u8) -> Self {
        Self {
            start: b & S_BIT != 0,
            end: b & E_BIT != 0,
            origin: if b & T_BIT != 0 {
                Origin::Packetized
            } else {
                Origin::Raw
            },
        }
    }

    /// Splits a payload into its descriptor and fragment.
    ///
    /// # Errors
    /// [`Error::MalformedPacket`] if `payload` is empty.
    pub fn parse(payload: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (&b, rest) = payload.split_first().ok_or(Error::MalformedPacket)?;
        Ok((Self::from_byte(b), rest))
    }
}

/// One payload of a fragmented frame: a descriptor and a slice of the
/// ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The descriptor.
    pub descriptor: Descriptor,
    /// The ciphertext bytes this payload carries.
    pub data: &'a [u8],
}

impl Fragment<'_> {
    /// The payload length: descriptor plus data.
    #[must_use]
    pub const fn len(&self) -> usize {
        Descriptor::LEN + self.data.len()
    }

    /// Whether the fragment carries no data (only for an empty frame).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Writes the payload (descriptor, then data) to `out`; returns its
    /// length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`Self::len`].
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        let out = out.get_mut(..self.len()).ok_or(Error::BufferTooSmall)?;
        out[0] = self.descriptor.to_byte();
        out[1..].copy_from_slice(self.data);
        Ok(self.len())
    }
}

/// The fragments of one SFrame frame, in sending order (§5.1 steps 3–4).
/// Fragments differ in size by at most one byte, so no tiny last packet is
/// sent.
#[derive(Clone, Debug)]
pub struct Fragments<'a> {
    data: &'a [u8],
    origin: Origin,
    count: usize,
    index: usize,
    offset: usize,
}

/// Fragments the SFrame ciphertext `sframe` into payloads of at most
/// `max_payload` bytes (descriptor included), with the given origin.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `max_payload` leaves no room for data
/// (below 2).
pub fn fragment(sframe: &[u8], origin: Origin, max_payload: usize) -> Result<Fragments<'_>, Error> {
    let room = max_payload
        .checked_sub(Descriptor::LEN)
        .filter(|&room| room > 0)
        .ok_or(Error::BufferTooSmall)?;
    Ok(Fragments {
        data: sframe,
        origin,
        count: sframe.len().div_ceil(room).max(1),
        index: 0,
        offset: 0,
    })
}

impl<'a> Fragments<'a> {
    /// The number of payloads.
    #[must_use]
    pub const fn count(&self) -> usize {
        self.count
    }
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Fragment<'a>;

    fn next(&mut self) -> Option<Fragment<'a>> {
        if self.index >= self.count {
            return None;
        }
        let base = self.data.len() / self.count;
        let extra = usize::from(self.index < self.data.len() % self.count);
        let len = base + extra;
        let data = &self.data[self.offset..self.offset + len];
        let descriptor = Descriptor {
            start: self.index == 0,
            end: self.index + 1 == self.count,
            origin: self.origin,
        };
        self.index += 1;
        self.offset += len;
        Some(Fragment { descriptor, data })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Fragments<'_> {}

/// The largest per-packet payload for a `payload_len`-byte media payload.
#[must_use]
pub const fn max_packet_len(suite: CipherSuite, payload_len: usize) -> usize {
    payload_len
        .saturating_add(max_overhead(suite))
        .saturating_add(Descriptor::LEN)
}

/// Per-packet SFrame (§5.1.2): protects one payload of the media packetizer
/// as one SFrame ciphertext with any [`Seal`] and writes `descriptor
/// (S=E=1, T=1) || ciphertext` to `out`; the packet payload is
/// `out[result.frame()]`. `metadata` is authenticated as in [`Seal::seal`].
///
/// # Errors
/// As [`Seal::seal`]; [`Error::BufferTooSmall`] if `out` is shorter than
/// [`max_packet_len`].
pub fn protect_packet(
    sealer: &mut impl Seal,
    metadata: &[u8],
    payload: &[u8],
    out: &mut [u8],
) -> Result<Sealed, Error> {
    let (first, rest) = out.split_first_mut().ok_or(Error::BufferTooSmall)?;
    let sealed = sealer.seal(metadata, payload, rest)?;
    *first = Descriptor {
        start: true,
        end: true,
        origin: Origin::Packetized,
    }
    .to_byte();
    Ok(Sealed::new(
        sealed.header(),
        0..Descriptor::LEN + sealed.len(),
        sealed.layout(),
    ))
}

/// Per-packet SFrame, receiving side (§5.2 for a one-packet frame): checks
/// the descriptor (S = E = 1) and opens the ciphertext into `out` with any
/// [`Open`], whose replay window then rejects a replayed packet. Returns
/// the descriptor (its origin says whether the content goes to a media
/// depacketizer) and where the plaintext is in `out`.
///
/// # Errors
/// [`Error::MalformedPacket`] if the payload is empty or not a whole frame;
/// otherwise as [`Open::open`].
pub fn unprotect_packet(
    opener: &mut impl Open,
    metadata: &[u8],
    payload: &[u8],
    out: &mut [u8],
) -> Result<(Descriptor, Opened), Error> {
    let (descriptor, sframe) = Descriptor::parse(payload)?;
    if !(descriptor.start && descriptor.end) {
        return Err(Error::MalformedPacket);
    }
    Ok((descriptor, opener.open(metadata, sframe, out)?))
}

/// A received SFrame RTP packet: its sequence number and payload
/// (descriptor included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// The RTP sequence number.
    pub seq: u16,
    /// The RTP payload, starting with the descriptor.
    pub payload: &'a [u8],
}

/// A frame joined from fragments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// Sequence number of the first fragment.
    pub first_seq: u16,
    /// Number of fragments used (`first_seq` onwards, wrapping).
    pub packets: u16,
    /// Bytes of SFrame ciphertext written to the output.
    pub len: usize,
    /// The T bit shared by every fragment.
    pub origin: Origin,
}

/// §5.2 steps 2–9: finds the shortest run of packets in `received`
/// (any order) that are consecutive in sequence number (wrapping), start
/// with S = 1 and end with E = 1, and joins their fragments into `out`.
///
/// Returns `Ok(None)` when no complete run exists (a fragment is still
/// missing, or lost). The caller removes the packets of the run from its set
/// (step 5), also when the run is refused for mixed T bits. Checking payload
/// types (step 7) is the caller's, as it holds the RTP headers. Cost is
/// quadratic in the number of packets, which a jitter buffer keeps small.
///
/// # Errors
/// - [`Error::MalformedPacket`] if the run's T bits differ (step 6), or a
///   payload is empty.
/// - [`Error::BufferTooSmall`] if `out` cannot hold the frame.
pub fn assemble(received: &[Received<'_>], out: &mut [u8]) -> Result<Option<Assembled>, Error> {
    let find = |seq: u16| received.iter().find(|p| p.seq == seq);
    // A run cannot be longer than the sequence number space.
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
    Ok(Some(Assembled {
        first_seq,
        packets,
        len,
        origin: origin.unwrap_or(Origin::Raw),
    }))
}

/// What [`Reassembler::push`] did with a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed<'b> {
    /// The fragment was stored; the frame is not complete yet.
    Pending,
    /// A frame is complete: the joined SFrame ciphertext and its origin.
    Frame(&'b [u8], Origin),
    /// The packet was not the next in sequence (`expected`, but `got`):
    /// a loss or a reordering. The partial frame, if any, was dropped;
    /// the packet itself was then handled as a new start (it begins a new
    /// frame if its S bit is set; if it is a whole one-packet frame,
    /// [`Pushed::Frame`] is returned instead).
    Gap {
        /// The sequence number that was due.
        expected: u16,
        /// The sequence number received.
        got: u16,
    },
    /// A middle or last fragment arrived with no frame started; dropped.
    Orphan,
}

/// Joins fragments that arrive in sequence order into a caller-provided
/// buffer, without allocating (§5.2 for an in-order stream). A gap in
/// sequence numbers drops the frame being built: fragments are never joined
/// across a missing packet.
#[derive(Debug)]
pub struct Reassembler<'b> {
    buf: &'b mut [u8],
    len: usize,
    origin: Origin,
    building: bool,
    expected: Option<u16>,
}

impl<'b> Reassembler<'b> {
    /// A reassembler writing frames into `buf` (as large as the largest
    /// frame expected).
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            origin: Origin::Raw,
            building: false,
            expected: None,
        }
    }

    /// Feeds the next packet as received.
    ///
    /// # Errors
    /// - [`Error::MalformedPacket`] if the payload is empty, or its T bit
    ///   differs from the frame's first fragment (the frame is dropped).
    /// - [`Error::BufferTooSmall`] if the frame outgrows the buffer (the
    ///   frame is dropped).
    pub fn push(&mut self, seq: u16, payload: &[u8]) -> Result<Pushed<'_>, Error> {
        let (d, data) = Descriptor::parse(payload)?;
        let expected = self.expected.replace(seq.wrapping_add(1));
        let mut gap = None;
        if let Some(expected) = expected
            && expected != seq
        {
            gap = Some(Pushed::Gap { expected, got: seq });
            self.building = false;
        }
        if d.start {
            self.building = true;
            self.len = 0;
            self.origin = d.origin;
        } else if !self.building {
            return Ok(gap.unwrap_or(Pushed::Orphan));
        }
        if d.origin != self.origin {
            self.building = false;
            return Err(Error::MalformedPacket);
        }
        let Some(slot) = self.buf.get_mut(self.len..self.len + data.len()) else {
            self.building = false;
            return Err(Error::BufferTooSmall);
        };
        slot.copy_from_slice(data);
        self.len += data.len();
        if let Some(gap) = gap
            && !d.end
        {
            return Ok(gap);
        }
        if d.end {
            self.building = false;
            return Ok(Pushed::Frame(&self.buf[..self.len], self.origin));
        }
        Ok(Pushed::Pending)
    }
}
