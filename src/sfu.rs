//! The SFU's view of a protected frame: what a forwarding server can learn
//! without any key (RFC 9605 §4.3 header fields, and the codec's clear
//! bytes as left by [`crate::codec`]).
//!
//! [`inspect`] reads a plain SFrame frame (header first: whole-frame
//! protection, VP9, the SFrame RTP payload format); [`inspect_codec`] reads
//! a codec-aware frame, finding the header behind the codec's clear bytes,
//! adding the hints those bytes allow and the sizes of every part;
//! [`peek_codec`] gives the header and hints alone, at a cost that does not
//! grow with the encrypted payload (it stops at the first picture unit of
//! an H.26x frame). All of them read the frame through the same codec
//! modules as protection does; none allocates, and none panics on any
//! input.

use crate::codec::format::{Format, Units};
use crate::codec::{Codec, Rules, piece_head, piece_length};
use crate::error::Error;
use crate::header::Header;
use crate::suite::CipherSuite;

pub use crate::codec::format::Hints;

/// A protected frame as seen without a key.
///
/// `payload.len() == clear_len + header_len + sealed_len + escape_len`.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, Counter, KeyId, Sender, sfu};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut sender = Sender::new(suite, KeyId(7), BaseKey::new(&[7; 16])?);
/// // A VP8 keyframe: frame tag, start code, 320x240, then 6 bytes of picture.
/// let frame = [0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 1, 2, 3, 4, 5, 6];
/// let mut wire = [0u8; 64];
/// let sealed = Protection::new(Codec::Vp8, Fallback::Reject).protect(&mut sender, &frame, &mut wire)?;
/// let wire = &wire[sealed.frame()];
///
/// let view = sfu::inspect_codec(Codec::Vp8, wire)?;
/// assert_eq!((view.header().kid(), view.header().ctr()), (KeyId(7), Counter(0)));
/// assert_eq!((view.clear_len(), view.header_offset(), view.header_len()), (10, 10, 1));
/// assert_eq!(view.media_len(suite), Some(6)); // the encrypted picture bytes
/// assert_eq!(view.sealed_len(), 6 + suite.tag_len());
/// assert_eq!(wire.len(), view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    header: Header,
    header_offset: usize,
    header_len: usize,
    clear_len: usize,
    sealed_len: usize,
    escape_len: usize,
    hints: Hints,
}

impl View {
    /// The SFrame header: KID and CTR.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the SFrame header starts in the payload.
    #[must_use]
    pub const fn header_offset(&self) -> usize {
        self.header_offset
    }

    /// The SFrame header length (1–17).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// Bytes left clear by the codec rule (0 for a plain SFrame frame).
    #[must_use]
    pub const fn clear_len(&self) -> usize {
        self.clear_len
    }

    /// Encrypted bytes plus the tag, after removing escaping: the size of
    /// the SFrame ciphertext without its header. Suite-independent.
    #[must_use]
    pub const fn sealed_len(&self) -> usize {
        self.sealed_len
    }

    /// H.26x emulation prevention bytes added by protection.
    #[must_use]
    pub const fn escape_len(&self) -> usize {
        self.escape_len
    }

    /// The encrypted media bytes under `suite` (the sealed bytes less its
    /// tag), or `None` if the frame is too short for that suite.
    #[must_use]
    pub const fn media_len(&self, suite: CipherSuite) -> Option<usize> {
        self.sealed_len.checked_sub(suite.tag_len())
    }

    /// The codec hints.
    #[must_use]
    pub const fn hints(&self) -> Hints {
        self.hints
    }

    /// The header and hints alone.
    #[must_use]
    pub const fn peek(&self) -> Peek {
        Peek {
            header: self.header,
            header_offset: self.header_offset,
            header_len: self.header_len,
            hints: self.hints,
        }
    }
}

/// The header and hints of a protected frame, as [`peek_codec`] reads them
/// without walking its encrypted bytes.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender, sfu};
///
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(7), BaseKey::new(&[7; 16])?);
/// let vp8 = Protection::new(Codec::Vp8, Fallback::Reject);
/// let (mut key, mut inter) = ([0u8; 64], [0u8; 64]);
/// let key_frame = [0x50, 0x2c, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 1, 2, 3];
/// let sealed = vp8.protect(&mut sender, &key_frame, &mut key)?;
/// let key = &key[sealed.frame()];
/// let sealed = vp8.protect(&mut sender, &[0x31, 0x02, 0x00, 4, 5, 6], &mut inter)?;
/// let inter = &inter[sealed.frame()];
///
/// // What an SFU needs to start a newcomer's video on a keyframe.
/// let peek = sfu::peek_codec(Codec::Vp8, key)?;
/// assert_eq!((peek.header().kid(), peek.hints().keyframe), (KeyId(7), Some(true)));
/// assert_eq!((peek.header_offset(), peek.header_len()), (10, 1));
/// assert_eq!(sfu::peek_codec(Codec::Vp8, inter)?.hints().keyframe, Some(false));
/// assert_eq!(peek, sfu::inspect_codec(Codec::Vp8, key)?.peek());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peek {
    header: Header,
    header_offset: usize,
    header_len: usize,
    hints: Hints,
}

impl Peek {
    /// The SFrame header: KID and CTR.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the SFrame header starts in the payload.
    #[must_use]
    pub const fn header_offset(&self) -> usize {
        self.header_offset
    }

    /// The SFrame header length (1–17).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// The codec hints.
    #[must_use]
    pub const fn hints(&self) -> Hints {
        self.hints
    }
}

/// Reads a plain SFrame frame: the header at offset 0.
///
/// # Errors
/// [`Error::MalformedHeader`] if the header is truncated.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Counter, Error, KeyId, Sender, sfu};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut sender = Sender::new(suite, KeyId(300), BaseKey::new(&[1; 16])?);
/// sender.seal_to_vec(b"", b"first")?;
/// let frame = sender.seal_to_vec(b"", b"second")?;
///
/// let view = sfu::inspect(&frame)?; // no key needed
/// assert_eq!((view.header().kid(), view.header().ctr()), (KeyId(300), Counter(1)));
/// assert_eq!((view.header_offset(), view.header_len(), view.clear_len()), (0, 3, 0));
/// assert_eq!(view.media_len(suite), Some(6)); // b"second"
/// assert_eq!(sfu::inspect(&frame[..2]), Err(Error::MalformedHeader)); // KID cut short
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
pub fn inspect(payload: &[u8]) -> Result<View, Error> {
    let parsed = Header::parse(payload)?;
    Ok(View {
        header: parsed.header(),
        header_offset: 0,
        header_len: parsed.len(),
        clear_len: 0,
        sealed_len: payload.len() - parsed.len(),
        escape_len: 0,
        hints: Hints::default(),
    })
}

/// Reads a frame protected codec-aware as `codec` (see
/// [`crate::codec`]); [`Codec::Unknown`] and [`Codec::Vp9`] frames start
/// with the header, as for [`inspect`]. Walks every unit: for an H.26x
/// frame that is one vectorised search through the payload for start codes
/// and escapes ([`peek_codec`] stops earlier).
///
/// # Errors
/// [`Error::MalformedFrame`] if the clear structure does not parse,
/// [`Error::MalformedHeader`] if the header is truncated.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender, sfu};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut sender = Sender::new(suite, KeyId(5), BaseKey::new(&[5; 16])?);
/// // An H.264 keyframe: SPS, PPS, then an IDR slice with 5 bytes of data.
/// let frame = [
///     0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, // SPS
///     0, 0, 1, 0x68, 0xce, 0x3c, 0x80, // PPS
///     0, 0, 1, 0x65, 0x88, 0x84, 1, 2, 3, 4, 0x80, // IDR: NAL and slice headers, data
/// ];
/// let mut wire = [0u8; 128];
/// let sealed = Protection::new(Codec::H264, Fallback::Reject).protect(&mut sender, &frame, &mut wire)?;
/// let wire = &wire[sealed.frame()];
///
/// let view = sfu::inspect_codec(Codec::H264, wire)?;
/// assert_eq!(view.header().kid(), KeyId(5));
/// assert_eq!(view.hints().keyframe, Some(true)); // an IDR slice
/// assert!(view.hints().parameter_sets); // SPS and PPS, in the clear
/// assert_eq!(view.media_len(suite), Some(5)); // only the slice data is encrypted
/// // Before the SFrame header, the protected frame is the frame itself.
/// assert_eq!(wire[..view.header_offset()], frame[..view.header_offset()]);
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub fn inspect_codec(codec: Codec, payload: &[u8]) -> Result<View, Error> {
    let rules = match codec {
        Codec::Unknown | Codec::Vp9 => return inspect(payload),
        _ => Rules::of(codec)?,
    };
    let mut hints = Hints::default();
    let mut first = None;
    let mut clear_len = 0usize;
    let mut sealed_len = 0usize;
    let mut escape_len = 0usize;
    for unit in Units::new(rules, payload) {
        let unit = unit?;
        clear_len += unit.clear_end - unit.start;
        rules.hints(payload, &unit, &mut hints);
        if !unit.protected {
            continue;
        }
        let piece = piece_length(payload, &unit)?;
        escape_len += unit.region_len() - piece;
        sealed_len += piece;
        if first.is_none() {
            let mut head = [0u8; Header::MAX_LEN];
            let n = piece_head(payload, &unit, &mut head[..piece.min(Header::MAX_LEN)]);
            first = Some((unit.clear_end, head, n));
        }
    }
    let (offset, head, n) = first.ok_or(Error::MalformedFrame)?;
    let parsed = Header::parse(&head[..n])?;
    Ok(View {
        header: parsed.header(),
        header_offset: offset,
        header_len: parsed.len(),
        clear_len,
        sealed_len: sealed_len - parsed.len(),
        escape_len,
        hints,
    })
}

/// The header and hints of a frame protected codec-aware as `codec`, at a
/// cost that does not grow with its encrypted payload: the units are read
/// up to the first that holds encrypted bytes and, for H.26x, up to the
/// first picture unit (parameter sets come before it, and every slice of
/// a picture has its type), never through a slice's data. It does not
/// check the rest of the frame; [`inspect_codec`] does, and gives the same
/// header and hints for every frame a conforming encoder makes.
///
/// # Errors
/// [`Error::MalformedFrame`] if the clear structure read does not parse,
/// [`Error::MalformedHeader`] if the header is truncated.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, Error, KeyId, Sender, sfu};
///
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(5), BaseKey::new(&[5; 16])?);
/// // An H.264 keyframe: SPS, PPS, then an IDR slice.
/// let frame = [
///     0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, // SPS
///     0, 0, 1, 0x68, 0xce, 0x3c, 0x80, // PPS
///     0, 0, 1, 0x65, 0x88, 0x84, 1, 2, 3, 4, 0x80, // IDR: NAL and slice headers, data
/// ];
/// let mut wire = [0u8; 128];
/// let sealed = Protection::new(Codec::H264, Fallback::Reject).protect(&mut sender, &frame, &mut wire)?;
/// let wire = &wire[sealed.frame()];
///
/// let peek = sfu::peek_codec(Codec::H264, wire)?; // stops at the IDR slice's header
/// assert_eq!(peek.header().kid(), KeyId(5));
/// assert_eq!((peek.hints().keyframe, peek.hints().parameter_sets), (Some(true), true));
/// assert_eq!(peek, sfu::inspect_codec(Codec::H264, wire)?.peek());
/// assert_eq!(sfu::peek_codec(Codec::H264, b"no start code"), Err(Error::MalformedFrame));
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub fn peek_codec(codec: Codec, payload: &[u8]) -> Result<Peek, Error> {
    let rules = match codec {
        Codec::Unknown | Codec::Vp9 => return inspect(payload).map(|view| view.peek()),
        _ => Rules::of(codec)?,
    };
    let mut hints = Hints::default();
    let mut found = None;
    let mut pos = 0;
    while let Some(head) = rules.unit_head(payload, pos)? {
        if found.is_none() && head.protected {
            let mut bytes = [0u8; Header::MAX_LEN];
            let n = piece_head(payload, &head, &mut bytes);
            let parsed = Header::parse(&bytes[..n])?;
            found = Some((head.clear_end, parsed.header(), parsed.len()));
        }
        if rules.hints_final(&head) {
            rules.hints(payload, &head, &mut hints);
            if found.is_some() {
                break;
            }
        }
        let unit = rules
            .next_unit(payload, pos)?
            .ok_or(Error::MalformedFrame)?;
        if !rules.hints_final(&head) {
            rules.hints(payload, &unit, &mut hints);
        }
        // Every unit is non-empty or the last, so the walk ends.
        if unit.end <= pos && pos < payload.len() {
            return Err(Error::MalformedFrame);
        }
        pos = unit.end.max(pos + 1);
    }
    let (header_offset, header, header_len) = found.ok_or(Error::MalformedFrame)?;
    Ok(Peek {
        header,
        header_offset,
        header_len,
        hints,
    })
}
