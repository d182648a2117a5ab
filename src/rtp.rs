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
///
/// ```
/// use framecrypt::rtp::{Descriptor, Origin};
///
/// assert_eq!(Descriptor::from_byte(0xe0).origin, Origin::Packetized);
/// assert_eq!(Descriptor::from_byte(0xc0).origin, Origin::Raw);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A raw media frame, as produced by an encoder (T = 0).
    Raw,
    /// A payload already packetized by the media packetizer (T = 1).
    Packetized,
}

/// The SFrame payload descriptor, the first byte of every payload (§4).
///
/// ```
/// use framecrypt::rtp::{Descriptor, Origin};
///
/// let first = Descriptor { start: true, end: false, origin: Origin::Raw };
/// assert_eq!(first.to_byte(), 0x80); // S = 1, E = 0, T = 0
/// let (parsed, rest) = Descriptor::parse(&[0x40, 1, 2])?;
/// assert!(parsed.end && !parsed.start);
/// assert_eq!(rest, [1, 2]);
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Origin, fragment};
///
/// let sframe = [7u8; 10];
/// let first = fragment(&sframe, Origin::Raw, 6)?.next().expect("a fragment");
/// let mut payload = [0u8; 6];
/// assert_eq!(first.write(&mut payload)?, first.len());
/// assert_eq!(payload[0] & 0x80, 0x80, "S on the first");
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Origin, fragment};
///
/// let sframe = [7u8; 10];
/// let sizes: Vec<usize> = fragment(&sframe, Origin::Raw, 5)?.map(|f| f.len()).collect();
/// assert_eq!(sizes, [5, 4, 4]); // 10 bytes of ciphertext as 4 + 3 + 3, each with a descriptor
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::rtp::{Origin, fragment};
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender};
///
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(1), BaseKey::new(&[1; 16])?);
/// let frame = sender.seal_to_vec(b"", &[7; 40])?; // 57 bytes: header 1, media 40, tag 16
/// let mut payloads = Vec::new();
/// for piece in fragment(&frame, Origin::Raw, 20)? {
///     let mut payload = vec![0; piece.len()];
///     piece.write(&mut payload)?;
///     payloads.push(payload);
/// }
/// assert_eq!(payloads.len(), 3); // 19 bytes of the frame and a descriptor in each
/// assert!(payloads.iter().all(|payload| payload.len() <= 20));
/// assert_eq!([payloads[0][0], payloads[1][0], payloads[2][0]], [0x80, 0x00, 0x40]); // S, -, E
/// let joined: Vec<u8> = payloads.iter().flat_map(|payload| &payload[1..]).copied().collect();
/// assert_eq!(joined, frame);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Origin, max_packet_len, protect_packet, unprotect_packet};
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
///
/// let media = b"one payload from the RTP packetizer";
/// let mut packet = [0u8; 128];
/// assert!(packet.len() >= max_packet_len(suite, media.len()));
/// let sealed = protect_packet(&mut sender, b"", media, &mut packet)?;
/// let packet = &packet[sealed.frame()];
/// assert_eq!(packet[0], 0xe0); // S, E and T: one whole frame of packetized media
/// assert_eq!(packet.len(), 1 + sealed.header().encoded_len() + media.len() + suite.tag_len());
///
/// let mut out = [0u8; 128];
/// let (descriptor, opened) = unprotect_packet(&mut receiver, b"", packet, &mut out)?;
/// assert_eq!((descriptor.origin, &out[opened.plaintext()]), (Origin::Packetized, &media[..]));
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Origin, protect_packet, unprotect_packet};
/// use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
/// let mut packet = [0u8; 64];
/// let sealed = protect_packet(&mut sender, b"", b"payload", &mut packet)?;
/// let packet = &packet[sealed.frame()];
///
/// let mut out = [0u8; 64];
/// let (descriptor, opened) = unprotect_packet(&mut receiver, b"", packet, &mut out)?;
/// assert_eq!(descriptor.origin, Origin::Packetized); // for the media depacketizer
/// assert_eq!(&out[opened.plaintext()], b"payload");
/// // The same packet again is a replay.
/// assert_eq!(unprotect_packet(&mut receiver, b"", packet, &mut out), Err(Error::Replayed));
/// // A first fragment (S without E) is not a one-packet frame.
/// let mut fragment = packet.to_vec();
/// fragment[0] = 0x80;
/// assert_eq!(unprotect_packet(&mut receiver, b"", &fragment, &mut out), Err(Error::MalformedPacket));
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Received, assemble};
///
/// // Two fragments, out of order: S then E by sequence number.
/// let (first, last) = ([0x80, 1, 2], [0x40, 3]);
/// let received = [Received { seq: 11, payload: &last }, Received { seq: 10, payload: &first }];
/// let mut out = [0u8; 8];
/// let frame = assemble(&received, &mut out)?.expect("complete");
/// assert_eq!(&out[..frame.len], [1, 2, 3]);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// The RTP sequence number.
    pub seq: u16,
    /// The RTP payload, starting with the descriptor.
    pub payload: &'a [u8],
}

/// A frame joined from fragments.
///
/// ```
/// use framecrypt::rtp::{Origin, Received, assemble};
///
/// let only = [0xe0, 9]; // S, E and T: a whole packetized frame
/// let mut out = [0u8; 4];
/// let frame = assemble(&[Received { seq: 65_535, payload: &only }], &mut out)?.expect("whole");
/// assert_eq!((frame.first_seq, frame.packets, frame.len), (65_535, 1, 1));
/// assert_eq!(frame.origin, Origin::Packetized);
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
/// types (step 7) is the caller's, as it holds the RTP headers.
///
/// Where several runs are equally short, the one whose S packet comes
/// first in `received` is joined. Where a sequence number occurs more than
/// once, the first packet with it in `received` is the one used (its E bit
/// ends a run, its fragment is joined), while an S bit on any of them
/// starts a run.
///
/// Cost is linear in the number of packets `n`, without allocating: a few
/// passes over them for each 4,096 sequence numbers their range spans (at
/// most 16 such windows), plus one pass for each 512 fragments of the run
/// that is joined. About 6 KiB of stack.
///
/// # Errors
/// - [`Error::MalformedPacket`] if the run's T bits differ (step 6), or a
///   payload is empty.
/// - [`Error::BufferTooSmall`] if `out` cannot hold the frame.
///
/// On error, `out` may hold the fragments joined before the one refused.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::rtp::{Origin, Received, assemble, fragment};
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
/// let frame = sender.seal_to_vec(b"", &[7; 40])?; // 57 bytes: three payloads of 20
/// let mut payloads = [[0u8; 20]; 3];
/// for (payload, piece) in payloads.iter_mut().zip(fragment(&frame, Origin::Raw, 20)?) {
///     piece.write(payload)?;
/// }
/// // Sequence numbers 65535, 0, 1 (they wrap); 1 and 65535 arrive first.
/// let mut received = vec![
///     Received { seq: 1, payload: &payloads[2] },
///     Received { seq: 65_535, payload: &payloads[0] },
/// ];
/// let mut joined = [0u8; 64];
/// assert_eq!(assemble(&received, &mut joined)?, None); // 0 is still missing
/// received.push(Received { seq: 0, payload: &payloads[1] });
/// let assembled = assemble(&received, &mut joined)?.expect("S to E, nothing missing");
/// assert_eq!((assembled.first_seq, assembled.packets), (65_535, 3));
/// let (_, plaintext) = receiver.open_to_vec(b"", &joined[..assembled.len])?;
/// assert_eq!(plaintext, [7; 40]);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub fn assemble(received: &[Received<'_>], out: &mut [u8]) -> Result<Option<Assembled>, Error> {
    for p in received {
        Descriptor::parse(p.payload)?;
    }
    let Some(origin) = wrap_free_origin(received) else {
        return Ok(None);
    };
    let positions = received.iter().map(|p| position(p.seq, origin));
    let (Some(lo), Some(hi)) = (positions.clone().min(), positions.max()) else {
        return Ok(None);
    };
    let windows = || (lo..=hi).step_by(WINDOW);

    // The shortest length, how many runs have it, and the first one found.
    let mut shortest: Option<(usize, usize, usize)> = None;
    let mut sweep = Sweep::default();
    for base in windows() {
        sweep.window(&Window::fill(received, origin, base), |start, len| {
            shortest = match shortest {
                Some((best, count, first)) if len == best => Some((best, count + 1, first)),
                Some((best, _, _)) if len > best => shortest,
                _ => Some((len, 1, start)),
            };
        });
    }
    let Some((len, count, mut start)) = shortest else {
        return Ok(None);
    };
    if count > 1 {
        // Ties go to the run whose S packet comes first in `received`.
        let mut first: Option<usize> = None;
        let mut sweep = Sweep::default();
        for base in windows() {
            let window = Window::fill(received, origin, base);
            let mut ends = Bits::EMPTY;
            sweep.window(&window, |start, run| {
                if run == len {
                    ends.set(start + len - 1 - base);
                }
            });
            let candidates = &received[..first.unwrap_or(received.len())];
            first = candidates
                .iter()
                .position(|p| {
                    descriptor(p).start
                        && window
                            .index(position(p.seq, origin) + len - 1)
                            .is_some_and(|end| ends.get(end))
                })
                .or(first);
        }
        if let Some(p) = first.and_then(|i| received.get(i)) {
            start = position(p.seq, origin);
        }
    }
    let (bytes, t_bit) = join(received, origin, start, len, out)?;
    Ok(Some(Assembled {
        first_seq: sequence_number(origin, start),
        packets: u16::try_from(len).map_err(|_| Error::MalformedPacket)?,
        len: bytes,
        origin: t_bit,
    }))
}

/// The longest run `assemble` joins: as many packets as there are sequence
/// numbers, less one.
const MAX_RUN: usize = u16::MAX as usize;

/// Sequence numbers covered by one pass of `assemble` over the packets.
const WINDOW: usize = 4096;

/// Fragments whose packet `join` finds in one pass over the packets.
const JOIN_CHUNK: usize = 512;

/// The descriptor of a payload already checked to be non-empty.
fn descriptor(p: &Received<'_>) -> Descriptor {
    Descriptor::from_byte(p.payload.first().copied().unwrap_or_default())
}

/// The distance of `seq` from `origin`, counting up and wrapping.
fn position(seq: u16, origin: u16) -> usize {
    usize::from(seq.wrapping_sub(origin))
}

/// The sequence number at `position` from `origin` (positions are below
/// 65,536).
fn sequence_number(origin: u16, position: usize) -> u16 {
    origin.wrapping_add(u16::try_from(position).unwrap_or_default())
}

/// A sequence number to count positions from such that no run of
/// consecutive packets crosses from position 65,535 back to 0: the one
/// after a sequence number that no packet has, or whose packet ends a
/// frame. `None` when there is none: no packet, or every sequence number
/// present and none ending a frame, so that no run is complete.
fn wrap_free_origin(received: &[Received<'_>]) -> Option<u16> {
    // Distances from half the sequence space before the first packet: when
    // the packets leave either end of that range free, the sequence number
    // before the nearest one is free.
    let anchor = received.first()?.seq.wrapping_sub(0x8000);
    let distances = received.iter().map(|p| p.seq.wrapping_sub(anchor));
    let (low, high) = (distances.clone().min()?, distances.max()?);
    if low > 0 || high < u16::MAX {
        return Some(anchor.wrapping_add(low));
    }
    (0..=MAX_RUN).step_by(WINDOW).find_map(|base| {
        let window = Window::fill(received, anchor, base);
        (0..WINDOW)
            .find(|&i| !window.present.get(i) || window.end.get(i))
            .map(|i| sequence_number(anchor, base + i).wrapping_add(1))
    })
}

/// One bit per position of a window.
#[derive(Clone, Copy)]
struct Bits([u64; WINDOW / 64]);

impl Bits {
    const EMPTY: Self = Self([0; WINDOW / 64]);

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 != 0
    }
}

/// The positions `base..base + WINDOW`: which have a packet, which have a
/// packet with S set, and which have E set on the first packet with that
/// sequence number in `received` (the one `assemble` uses).
struct Window {
    base: usize,
    present: Bits,
    start: Bits,
    end: Bits,
}

impl Window {
    /// One pass over `received`.
    fn fill(received: &[Received<'_>], origin: u16, base: usize) -> Self {
        let mut window = Self {
            base,
            present: Bits::EMPTY,
            start: Bits::EMPTY,
            end: Bits::EMPTY,
        };
        for p in received {
            let Some(i) = window.index(position(p.seq, origin)) else {
                continue;
            };
            let d = descriptor(p);
            if !window.present.get(i) {
                window.present.set(i);
                if d.end {
                    window.end.set(i);
                }
            }
            if d.start {
                window.start.set(i);
            }
        }
        window
    }

    /// The bit index of `position`, if it lies in the window.
    fn index(&self, position: usize) -> Option<usize> {
        position.checked_sub(self.base).filter(|&i| i < WINDOW)
    }
}

/// Walks the positions that have a packet, window after window in
/// increasing order, and reports every complete run that no shorter run
/// contains: from the last S since the previous E or gap, to the next E.
/// Every shortest run is one of them.
#[derive(Default)]
struct Sweep {
    previous: Option<usize>,
    start: Option<usize>,
}

impl Sweep {
    /// Feeds the next window; `run(start, len)` for each run ending in it.
    fn window(&mut self, window: &Window, mut run: impl FnMut(usize, usize)) {
        for (w, &word) in window.present.0.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let position = window.base + i;
                if self.previous.is_none_or(|p| p + 1 != position) {
                    self.start = None;
                }
                self.previous = Some(position);
                if window.start.get(i) {
                    self.start = Some(position);
                }
                if window.end.get(i)
                    && let Some(start) = self.start.take()
                    && position - start < MAX_RUN
                {
                    run(start, position - start + 1);
                }
            }
        }
    }
}

/// Joins the fragments of the `len` positions from `start` into `out`, in
/// order; returns the bytes written and the T bit they share.
fn join(
    received: &[Received<'_>],
    origin: u16,
    start: usize,
    len: usize,
    out: &mut [u8],
) -> Result<(usize, Origin), Error> {
    let mut t_bit = None;
    let mut written = 0;
    let mut chunk = start;
    while chunk < start + len {
        let count = (start + len - chunk).min(JOIN_CHUNK);
        // The first packet of each position of the chunk, by index.
        let mut packets = [usize::MAX; JOIN_CHUNK];
        for (i, p) in received.iter().enumerate() {
            if let Some(slot) = position(p.seq, origin)
                .checked_sub(chunk)
                .and_then(|k| packets[..count].get_mut(k))
                && *slot == usize::MAX
            {
                *slot = i;
            }
        }
        for &i in &packets[..count] {
            let p = received.get(i).ok_or(Error::MalformedPacket)?;
            let (d, data) = Descriptor::parse(p.payload)?;
            if *t_bit.get_or_insert(d.origin) != d.origin {
                return Err(Error::MalformedPacket);
            }
            out.get_mut(written..written + data.len())
                .ok_or(Error::BufferTooSmall)?
                .copy_from_slice(data);
            written += data.len();
        }
        chunk += count;
    }
    Ok((written, t_bit.unwrap_or(Origin::Raw)))
}

/// What [`Reassembler::push`] did with a packet.
///
/// ```
/// use framecrypt::rtp::{Pushed, Reassembler};
///
/// let mut buf = [0u8; 16];
/// let mut r = Reassembler::new(&mut buf);
/// assert_eq!(r.push(1, &[0x40, 9])?, Pushed::Orphan); // an end with no start
/// assert_eq!(r.push(2, &[0x80, 1])?, Pushed::Pending);
/// assert!(matches!(r.push(4, &[0x40, 2])?, Pushed::Gap { expected: 3, got: 4 }));
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
///
/// ```
/// use framecrypt::rtp::{Origin, Pushed, Reassembler};
///
/// let mut buf = [0u8; 16];
/// let mut r = Reassembler::new(&mut buf);
/// assert_eq!(r.push(7, &[0x80, 1, 2])?, Pushed::Pending);
/// assert_eq!(r.push(8, &[0x40, 3])?, Pushed::Frame(&[1, 2, 3], Origin::Raw));
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
