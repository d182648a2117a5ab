//! The SFrame header (RFC 9605 §4.3): encode and zero-copy parse.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! |X|  K  |Y|  C  |   KID...  (length=K+1)    |   CTR...  (length=C+1)    |
//! +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
//! ```
//!
//! A value below 8 sits in the config byte (X or Y = 0); a larger one follows
//! in 1–8 big-endian bytes (X or Y = 1, K or C = length − 1).
//!
//! **Non-minimal encodings are accepted when parsing** (for example KID 5
//! sent as `X=1, K=0, 0x05`). RFC 9605 does not forbid them, and accepting
//! them is safe: the exact received header bytes are the start of the AEAD's
//! AAD (§4.4.3), so a header rewritten on the path fails authentication, and
//! replay state is keyed on the numeric values, not on the bytes.
//! [`ParsedHeader::is_minimal`] tells a caller who wants to be strict.
//! Encoding is always minimal.

use core::fmt;

use crate::error::Error;
use crate::ids::{Counter, KeyId};

/// The values an SFrame header carries: a KID and a CTR.
///
/// ```
/// use framecrypt::{Counter, Header, KeyId};
///
/// let header = Header::new(KeyId(0x123), Counter(7));
/// // Config byte 0x97: X = 1, K = 1 (a 2-byte KID), Y = 0, C = 7 inline.
/// assert_eq!(header.encode().as_bytes(), [0x97, 0x01, 0x23]);
/// assert_eq!(header.encoded_len(), 3);
/// assert_eq!(Header::parse(&[0x97, 0x01, 0x23, 0xff])?.header(), header);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    kid: KeyId,
    ctr: Counter,
}

/// In each 4-bit half of the config byte (X|K, Y|C): the value follows in
/// (low 3 bits + 1) bytes instead of being the low 3 bits.
const EXTENDED: u8 = 0x08;

impl Header {
    /// The longest header: a config byte, an 8-byte KID and an 8-byte CTR.
    pub const MAX_LEN: usize = 17;

    /// A header for `kid` and `ctr`.
    #[must_use]
    pub const fn new(kid: KeyId, ctr: Counter) -> Self {
        Self { kid, ctr }
    }

    /// The key ID.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.kid
    }

    /// The counter.
    #[must_use]
    pub const fn ctr(&self) -> Counter {
        self.ctr
    }

    /// The length of the minimal encoding, 1 to 17 bytes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        1 + extra_len(self.kid.0) + extra_len(self.ctr.0)
    }

    /// The minimal encoding, on the stack.
    #[must_use]
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // `as u8` keeps the last byte on purpose
    pub fn encode(&self) -> EncodedHeader {
        let (kid_bits, kid_len) = field(self.kid.0);
        let (ctr_bits, ctr_len) = field(self.ctr.0);
        let config = (kid_bits << 4) | ctr_bits;
        // The extended fields as one big-endian number of `kid_len + ctr_len`
        // (at most 16) bytes, left-aligned. Built in registers and stored as
        // whole words: byte-wise copies of variable length here are read
        // back at once by the caller and stall store forwarding, a cost
        // every frame would pay.
        let kid = if kid_len == 0 {
            0
        } else {
            u128::from(self.kid.0)
        };
        let ctr = if ctr_len == 0 {
            0
        } else {
            u128::from(self.ctr.0)
        };
        let fields_len = kid_len + ctr_len;
        let fields = ((kid << (8 * ctr_len)) | ctr)
            .checked_shl(8 * (16 - fields_len as u32))
            .unwrap_or(0);
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..16].copy_from_slice(&((u128::from(config) << 120) | (fields >> 8)).to_be_bytes());
        bytes[16] = fields as u8;
        EncodedHeader {
            bytes,
            len: 1 + fields_len,
        }
    }

    /// Writes the minimal encoding to the start of `out` and returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`Self::encoded_len`].
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        let encoded = self.encode();
        let bytes = encoded.as_bytes();
        out.get_mut(..bytes.len())
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Parses the header at the start of `frame` without copying it.
    ///
    /// Bytes after the header are ignored; [`ParsedHeader::len`] says where
    /// the header ends. Never panics, whatever the input.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`] if `frame` is empty or shorter than its
    /// config byte announces.
    pub fn parse(frame: &[u8]) -> Result<ParsedHeader<'_>, Error> {
        let (&config, rest) = frame.split_first().ok_or(Error::MalformedHeader)?;
        let (kid, rest) = read_field(config >> 4, rest)?;
        let (ctr, rest) = read_field(config & 0x0f, rest)?;
        let len = frame.len() - rest.len();
        Ok(ParsedHeader {
            header: Self::new(KeyId(kid), Counter(ctr)),
            bytes: &frame[..len],
        })
    }
}

/// Bytes a value takes after the config byte: 0 if it fits inline (< 8).
#[allow(clippy::cast_possible_truncation)] // leading_zeros / 8 is at most 8
const fn extra_len(value: u64) -> usize {
    if value < 8 {
        0
    } else {
        8 - (value.leading_zeros() / 8) as usize
    }
}

/// The 4 config bits (X|K or Y|C) and the byte length of one field.
#[allow(clippy::cast_possible_truncation)] // values below 8 and lengths 1..=8
fn field(value: u64) -> (u8, usize) {
    match extra_len(value) {
        0 => (value as u8, 0),
        len => (EXTENDED | (len as u8 - 1), len),
    }
}

/// Bytes announced by the 4 config bits of one field.
const fn extra_len_of(bits: u8) -> usize {
    if bits & EXTENDED == 0 {
        0
    } else {
        (bits & 0x07) as usize + 1
    }
}

/// Reads one field given its 4 config bits; returns the value and the rest.
fn read_field(bits: u8, input: &[u8]) -> Result<(u64, &[u8]), Error> {
    let len = extra_len_of(bits);
    if len == 0 {
        return Ok((u64::from(bits & 0x07), input));
    }
    let (field, rest) = input.split_at_checked(len).ok_or(Error::MalformedHeader)?;
    let value = field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Ok((value, rest))
}

/// A minimally encoded header held on the stack.
///
/// ```
/// use framecrypt::{Counter, Header, KeyId};
///
/// // KID 5 and CTR 2 both fit the config byte: one byte in all.
/// assert_eq!(Header::new(KeyId(5), Counter(2)).encode().as_bytes(), [0x52]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; Header::MAX_LEN],
    len: usize,
}

impl EncodedHeader {
    /// The encoded bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for EncodedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EncodedHeader")
            .field(&self.as_bytes())
            .finish()
    }
}

/// A header parsed in place: its values and the exact bytes it was read
/// from, which are what the AAD must contain (RFC 9605 §4.4.3).
///
/// ```
/// use framecrypt::{Header, KeyId};
///
/// // KID 5 written non-minimally (X = 1, one KID byte), as a peer may.
/// let parsed = Header::parse(&[0x80, 0x05, 0xaa])?;
/// assert_eq!(parsed.kid(), KeyId(5));
/// assert_eq!(parsed.as_bytes(), [0x80, 0x05]);
/// assert!(!parsed.is_minimal());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedHeader<'a> {
    header: Header,
    bytes: &'a [u8],
}

impl<'a> ParsedHeader<'a> {
    /// The KID and CTR.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// The key ID.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.header.kid
    }

    /// The counter.
    #[must_use]
    pub const fn ctr(&self) -> Counter {
        self.header.ctr
    }

    /// The header bytes exactly as received.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The header length in bytes (1 to 17).
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // a header is never empty
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the received bytes are the minimal encoding of the values.
    #[must_use]
    pub fn is_minimal(&self) -> bool {
        self.header.encode().as_bytes() == self.bytes
    }
}
