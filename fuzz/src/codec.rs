//! The `codec` target: every codec rule of `framecrypt::codec` on arbitrary
//! frames, and the H.26x start-code escaping on arbitrary bytes.
//!
//! - Round trip: a frame the rule protects (through any door, with a plain
//!   or a ratcheting sender) unprotects to exactly the same bytes, the SFU
//!   view of the protected frame agrees with it, a refused frame uses no
//!   counter, a replay is refused by a receiver with a replay window, and a
//!   flipped bit is refused — always for the single-unit codecs (Opus, VP8,
//!   VP9, whole frames), whose every byte is encrypted or authenticated; for
//!   H.26x and AV1 a flip may land in bytes the rule leaves unauthenticated
//!   on purpose (start code lengths, AUD and filler NAL units, size field
//!   encodings), so there only the absence of panics is checked. A refused
//!   flip leaves the receiver able to take the genuine frame.
//! - Unprotect: arbitrary bytes through every door and the SFU view; never
//!   panics.
//! - Escape: `unescape(escape(x)) == x`, the escaped bytes hold no
//!   `00 00 00/01/02` (counting the clear prefix's zeros) and do not end in
//!   `00`, and grow by at most half plus one byte.
//! - Unescape: arbitrary bytes; whenever they unescape, escaping the result
//!   gives them back (the encoding is canonical).

use arbitrary::Arbitrary;
use framecrypt::codec::{
    Codec, Fallback, Layout, Protection, max_in_place_len, max_protected_len,
    max_unprotect_in_place_len,
};
use framecrypt::fuzzing::{h26x_escape, h26x_unescape};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, KeyId, Opened, RatchetBits, RatchetingReceiver,
    RatchetingSender, Receiver, Sealed, Sender, VecKeyStore, sfu,
};

use crate::{harness_key, seed_enum};

/// One case: what to do, and the bytes to do it with.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct CodecInput<'a> {
    /// What to do.
    pub mode: Mode,
    /// The frame, protected frame, or bytes to escape or unescape.
    pub data: &'a [u8],
}
impl crate::seed::Seed for CodecInput<'_> {
    fn seed(&self, out: &mut Vec<u8>) {
        self.mode.seed(out);
        out.extend_from_slice(self.data);
    }
}

/// The four things the target checks.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Protect `data`, inspect, unprotect.
    RoundTrip {
        /// The codec rule (see [`codec`]).
        codec: u8,
        /// [`Fallback::WholeFrame`] rather than [`Fallback::Reject`].
        whole_frame: bool,
        /// Cipher suite, modulo 8.
        suite: u8,
        /// A ratcheting sender and receiver rather than plain ones.
        ratchet: bool,
        /// Door of `protect`.
        protect: Door,
        /// Door of `unprotect`.
        unprotect: Door,
        /// A bit of the protected frame to flip first (modulo its bits).
        flip: Option<u32>,
    },
    /// Unprotect `data` and read it as an SFU.
    Unprotect {
        /// The codec rule.
        codec: u8,
        /// [`Fallback::WholeFrame`] rather than [`Fallback::Reject`].
        whole_frame: bool,
        /// Cipher suite, modulo 8.
        suite: u8,
        /// Door of `unprotect`.
        door: Door,
    },
    /// Escape `data` after the clear bytes `clear`.
    Escape {
        /// The clear bytes before the piece.
        clear: Vec<u8>,
    },
    /// Unescape `data` after the clear bytes `clear`.
    Unescape {
        /// The clear bytes before the piece.
        clear: Vec<u8>,
    },
}
seed_enum!(Mode[
    RoundTrip { codec, whole_frame, suite, ratchet, protect, unprotect, flip },
    Unprotect { codec, whole_frame, suite, door },
    Escape { clear },
    Unescape { clear },
]);

/// Which of the three entry points.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// Into a caller slice.
    Slice,
    /// In place.
    InPlace,
    /// Into a new vector.
    ToVec,
}
seed_enum!(Door[Slice, InPlace, ToVec]);

/// Every codec rule, by index.
pub const CODECS: [Codec; 8] = [
    Codec::OPUS,
    Codec::Opus { clear_toc: false },
    Codec::Vp8,
    Codec::Vp9,
    Codec::H264,
    Codec::H265,
    Codec::Av1,
    Codec::Unknown,
];

/// The codec `choice` names, modulo the eight rules.
#[must_use]
pub fn codec(choice: u8) -> Codec {
    CODECS[usize::from(choice) % CODECS.len()]
}

/// The index of `codec` in [`CODECS`].
///
/// # Panics
/// For a codec not in the list.
#[must_use]
pub fn codec_index(codec: Codec) -> u8 {
    let i = CODECS
        .iter()
        .position(|&c| c == codec)
        .expect("listed codec");
    u8::try_from(i).expect("eight codecs")
}

/// The plain sender's KID and the ratcheting sender's R.
pub const KID: u64 = 0x2a;
const RATCHET_BITS: u32 = 4;

/// The base key of the codec harness for `suite`.
#[must_use]
pub fn key(suite: CipherSuite) -> BaseKey {
    BaseKey::new(&harness_key(5, suite, KID)).expect("a short key")
}

/// Runs one case; panics on a library panic or a broken rule. Returns the
/// layout of a frame that made the whole round trip.
///
/// # Panics
/// As above.
pub fn run(input: &CodecInput<'_>) -> Option<Layout> {
    match &input.mode {
        &Mode::RoundTrip {
            codec: c,
            whole_frame,
            suite,
            ratchet,
            protect,
            unprotect,
            flip,
        } => {
            let p = protection(c, whole_frame);
            let suite = crate::suite(suite);
            if ratchet {
                let bits = RatchetBits::new(RATCHET_BITS).expect("valid R");
                let mut tx = RatchetingSender::new(suite, bits, 1, key(suite)).expect("fits");
                let mut rx = RatchetingReceiver::<2, 2>::new(suite, bits);
                rx.install_key(1, 0, key(suite), 0).expect("first key");
                let next = |tx: &RatchetingSender| tx.next_counter();
                let mut open = |p, protected: &[u8], door| {
                    unprotect_through(p, &mut rx.at(0), protected, door)
                };
                round_trip(
                    p, &mut tx, next, &mut open, true, input.data, protect, unprotect, flip,
                )
            } else {
                let mut tx = Sender::new(suite, KeyId(KID), key(suite));
                let mut rx = Receiver::<VecKeyStore>::new();
                rx.add_key(suite, KeyId(KID), key(suite)).expect("grows");
                let next = |tx: &Sender| tx.next_counter();
                let mut open =
                    |p, protected: &[u8], door| unprotect_through(p, &mut rx, protected, door);
                // The plain receiver has a replay window too.
                round_trip(
                    p, &mut tx, next, &mut open, true, input.data, protect, unprotect, flip,
                )
            }
        }
        &Mode::Unprotect {
            codec: c,
            whole_frame,
            suite,
            door,
        } => {
            let p = protection(c, whole_frame);
            let suite = crate::suite(suite);
            let mut rx = Receiver::<VecKeyStore>::new();
            rx.add_key(suite, KeyId(KID), key(suite)).expect("grows");
            let restored = unprotect_through(p, &mut rx, input.data, door);
            inspect(p.codec(), input.data);
            restored.ok().map(|(done, _)| done.layout())
        }
        Mode::Escape { clear } => {
            escape_round_trip(clear, input.data);
            None
        }
        Mode::Unescape { clear } => {
            unescape_canonical(clear, input.data);
            None
        }
    }
}

fn protection(codec_choice: u8, whole_frame: bool) -> Protection {
    let fallback = if whole_frame {
        Fallback::WholeFrame
    } else {
        Fallback::Reject
    };
    Protection::new(codec(codec_choice), fallback)
}

/// Whether every byte of a frame protected under `codec` as `layout` is
/// encrypted or authenticated.
fn fully_authenticated(codec: Codec, layout: Layout) -> bool {
    layout == Layout::WholeFrame || !matches!(codec, Codec::H264 | Codec::H265 | Codec::Av1)
}

#[allow(clippy::too_many_arguments)]
fn round_trip<T: Seal>(
    p: Protection,
    tx: &mut T,
    next_counter: impl Fn(&T) -> Option<Counter>,
    open: &mut dyn FnMut(Protection, &[u8], Door) -> Unprotected,
    replay_window: bool,
    frame: &[u8],
    protect_door: Door,
    unprotect_door: Door,
    flip: Option<u32>,
) -> Option<Layout> {
    let before = next_counter(tx);
    let result = protect_through(p, tx, frame, protect_door);
    let (done, protected) = match result {
        Ok(done) => done,
        Err(e) => {
            assert!(
                p.fallback() == Fallback::Reject
                    && matches!(e, Error::MalformedFrame | Error::UnsupportedCodec),
                "protect {:?}: {e:?}",
                p.codec()
            );
            assert_eq!(next_counter(tx), before, "a refused frame uses no counter");
            return None;
        }
    };
    assert_eq!(done.header().ctr(), before.expect("a counter was left"));
    assert_eq!(next_counter(tx).map(|c| c.0), before.map(|c| c.0 + 1));
    assert_eq!(done.len(), protected.len());
    // 16 bytes is the longest tag, so this bounds every suite.
    let bound = max_protected_len(p.codec(), CipherSuite::Aes128GcmSha256_128, frame.len());
    assert!(protected.len() <= bound, "{} > {bound}", protected.len());
    if p.codec() == Codec::Unknown || p.fallback() == Fallback::Reject {
        let expected = if p.codec() == Codec::Unknown {
            Layout::WholeFrame
        } else {
            Layout::CodecAware
        };
        assert_eq!(done.layout(), expected);
    }

    // What an SFU sees.
    let view = match done.layout() {
        Layout::WholeFrame => sfu::inspect(&protected),
        Layout::CodecAware => sfu::inspect_codec(p.codec(), &protected),
    }
    .unwrap_or_else(|e| panic!("SFU view of a protected {:?} frame: {e:?}", p.codec()));
    assert_eq!(view.header(), done.header(), "SFU header");
    assert_eq!(
        view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len(),
        protected.len()
    );

    if let Some(bit) = flip {
        let mut tampered = protected.clone();
        let bit = usize::try_from(bit).expect("u32 fits") % (8 * tampered.len());
        tampered[bit / 8] ^= 1 << (bit % 8);
        let result = open(p, &tampered, unprotect_door);
        if fully_authenticated(p.codec(), done.layout()) {
            assert!(
                result.is_err(),
                "flipped bit {bit} accepted ({:?})",
                p.codec()
            );
        } else if let Ok((flipped, _)) = result {
            // Only unauthenticated framing can have changed.
            assert_eq!(flipped.header(), done.header());
            // The genuine frame was used up by its altered copy.
            if replay_window {
                let again = open(p, &protected, unprotect_door);
                assert_eq!(again.err(), Some(Error::Replayed));
            }
            return None;
        }
    }

    let (restored, frame_back) = open(p, &protected, unprotect_door)
        .unwrap_or_else(|e| panic!("unprotect a protected {:?} frame: {e:?}", p.codec()));
    assert_eq!(restored.header(), done.header());
    assert_eq!(restored.layout(), done.layout());
    assert_eq!(restored.len(), frame_back.len());
    assert!(
        frame_back == frame,
        "{:?} frame does not restore",
        p.codec()
    );

    let again = open(p, &protected, unprotect_door);
    if replay_window {
        assert!(again.is_err(), "replay of a {:?} frame accepted", p.codec());
        if done.layout() == Layout::CodecAware {
            assert_eq!(again.err(), Some(Error::Replayed));
        }
    } else {
        assert_eq!(again.map(|(_, f)| f).as_deref(), Ok(frame));
    }
    Some(done.layout())
}

/// A restored frame and how it was protected.
type Unprotected = Result<(Opened, Vec<u8>), Error>;

fn protect_through(
    p: Protection,
    tx: &mut impl Seal,
    frame: &[u8],
    door: Door,
) -> Result<(Sealed, Vec<u8>), Error> {
    // The largest tag of any suite bounds every suite's buffer.
    let suite = CipherSuite::Aes128GcmSha256_128;
    match door {
        Door::Slice => {
            let mut out = vec![0; max_protected_len(p.codec(), suite, frame.len())];
            let done = p.protect(tx, frame, &mut out)?;
            out.truncate(done.len());
            Ok((done, out))
        }
        Door::InPlace => {
            let mut buf = vec![0; max_in_place_len(p.codec(), suite, frame.len())];
            buf[..frame.len()].copy_from_slice(frame);
            match p.protect_in_place(tx, &mut buf, frame.len()) {
                Ok(done) => {
                    buf.truncate(done.len());
                    Ok((done, buf))
                }
                Err(e) => {
                    assert_eq!(
                        &buf[..frame.len()],
                        frame,
                        "frame changed by a failed protect_in_place"
                    );
                    Err(e)
                }
            }
        }
        Door::ToVec => p.protect_to_vec(tx, frame),
    }
}

fn unprotect_through(
    p: Protection,
    rx: &mut impl Open,
    protected: &[u8],
    door: Door,
) -> Unprotected {
    match door {
        Door::Slice => {
            let mut out = vec![0; protected.len()];
            let done = p.unprotect(rx, protected, &mut out)?;
            out.truncate(done.len());
            Ok((done, out))
        }
        Door::InPlace => {
            let mut buf = vec![0; max_unprotect_in_place_len(p.codec(), protected.len())];
            buf[..protected.len()].copy_from_slice(protected);
            let done = p.unprotect_in_place(rx, &mut buf, protected.len())?;
            buf.truncate(done.len());
            Ok((done, buf))
        }
        Door::ToVec => p.unprotect_to_vec(rx, protected),
    }
}

/// The SFU view of arbitrary bytes under `codec`: consistent whenever it
/// is given.
pub fn inspect(codec: Codec, payload: &[u8]) {
    if let Ok(view) = sfu::inspect_codec(codec, payload) {
        check_view(codec, payload, &view);
    }
}

/// What every SFU view must satisfy.
///
/// # Panics
/// If it does not.
pub fn check_view(codec: Codec, payload: &[u8], view: &sfu::View) {
    assert_eq!(
        view.clear_len() + view.header_len() + view.sealed_len() + view.escape_len(),
        payload.len(),
        "{codec:?}: sizes add up to the payload"
    );
    assert!((1..=framecrypt::Header::MAX_LEN).contains(&view.header_len()));
    let header_end = view.header_offset() + view.header_len();
    assert!(
        header_end <= payload.len(),
        "{codec:?}: header inside the payload"
    );
    if view.escape_len() == 0 {
        // Unescaped, the header is there verbatim.
        let parsed = framecrypt::Header::parse(&payload[view.header_offset()..])
            .expect("the view's header parses in place");
        assert_eq!(parsed.header(), view.header());
        assert_eq!(parsed.len(), view.header_len());
    }
    for suite in CipherSuite::ALL {
        assert_eq!(
            view.media_len(suite),
            view.sealed_len().checked_sub(suite.tag_len())
        );
    }
}

/// `unescape(escape(x)) == x`, and the escaped bytes are what the
/// H.26x rule promises.
fn escape_round_trip(clear: &[u8], data: &[u8]) {
    let n = data.len();
    let bound = n + n.div_ceil(2) + 1;
    let mut out = vec![0; n + bound];
    let w = h26x_escape(clear, data, &mut out).expect("a buffer of the documented size");
    let escaped = &out[..w];
    assert!(w <= bound, "escaping {n} bytes gave {w}");
    assert!(escaped.last() != Some(&0), "escaped bytes end in 00");
    let mut zeros = clear.iter().rev().take_while(|&&b| b == 0).count().min(2);
    for (i, &b) in escaped.iter().enumerate() {
        assert!(
            !(zeros >= 2 && b <= 2),
            "start code emulation at escaped byte {i}: {escaped:02x?}"
        );
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    let mut back = vec![0; w];
    let k = h26x_unescape(clear, escaped, &mut back).expect("own escaping unescapes");
    assert_eq!(&back[..k], data, "unescape(escape(x)) != x");
}

/// Whatever unescapes is the canonical escaping of its result.
fn unescape_canonical(clear: &[u8], region: &[u8]) {
    let mut out = vec![0; region.len()];
    let Ok(k) = h26x_unescape(clear, region, &mut out) else {
        return;
    };
    let data = &out[..k];
    let mut again = vec![0; 2 * k + k.div_ceil(2) + 1];
    let w = h26x_escape(clear, data, &mut again).expect("room");
    assert_eq!(&again[..w], region, "escape(unescape(x)) != x");
}
