//! Crossing the JavaScript boundary, in one place: every number, byte
//! array and string JavaScript passes becomes a Rust value here, with each
//! refusal named, and every Rust value JavaScript gets back is built here.
//! The rest of the crate never sees a `JsValue`.
//!
//! On the frame path nothing crosses but numbers: the frame itself is in
//! WebAssembly memory already (a [`FrameBuffer`](crate::engine::FrameBuffer)
//! JavaScript writes into), the codec is a small number from
//! [`codec_for_mime`] looked up once per MIME type, and the outcome is one
//! `i32` ([`outcome`]), so a frame costs no allocation and no JavaScript
//! object, even when it fails.

// Only framecrypt's types and constants appear here; every call into
// framecrypt is in `engine`.
use framecrypt::codec::Codec;
use framecrypt::{BaseKey, CipherSuite, DecryptStats, Error, KeyId, RatchetBits};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

use crate::engine::{self, Announcement, Done, Installed, ReceiveStats, SendStats, WireView};

/// A cipher suite number (RFC 9605 §4.5; 4 is AES_128_GCM_SHA256_128).
///
/// # Errors
/// [`Error::UnsupportedCipherSuite`].
pub fn suite(id: u16) -> Result<CipherSuite, Error> {
    engine::suite(id)
}

/// `R`, the KID's ratchet bits (RFC 9605 §5.1), 1 to 63.
///
/// # Errors
/// [`Error::InvalidParameter`].
pub fn bits(r: u32) -> Result<RatchetBits, Error> {
    engine::ratchet_bits(r)
}

/// A base key from JavaScript bytes (1 to 128). The bytes JavaScript
/// passed were copied into WebAssembly memory by the glue; they are freed
/// (not wiped) when the call returns, so pass keys only from memory you
/// control, and prefer [`crate::Member`], whose keys never leave
/// WebAssembly.
///
/// # Errors
/// [`Error::InvalidKeyLength`].
pub fn key(bytes: &[u8]) -> Result<BaseKey, Error> {
    engine::base_key(bytes)
}

/// An X25519 public key: exactly 32 bytes.
///
/// # Errors
/// [`Error::InvalidKeyLength`].
pub fn public_key(bytes: &[u8]) -> Result<[u8; 32], Error> {
    bytes.try_into().map_err(|_| Error::InvalidKeyLength)
}

/// A JavaScript number that must be a non-negative integer (a generation,
/// a step): exact up to `2^53`.
///
/// # Errors
/// [`Error::InvalidParameter`] for NaN, infinities, fractions and negative
/// numbers.
pub fn integer(value: f64) -> Result<u64, Error> {
    // 2^64 as f64; every finite non-negative integer below it converts
    // exactly to u64.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < LIMIT {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(value as u64)
    } else {
        Err(Error::InvalidParameter)
    }
}

/// A time in milliseconds (`Date.now()`, which announcements need: they
/// carry the wall-clock time they were issued): fractions are dropped,
/// and anything not a non-negative finite number is time 0. Time only
/// ages superseded keys, so a bad clock keeps keys longer, never less.
#[must_use]
pub fn now(ms: f64) -> u64 {
    integer(ms.floor()).unwrap_or(0)
}

/// The codec numbers JavaScript passes per frame; the same numbers as the
/// C API's `FRAMECRYPT_CODEC_*`.
const CODECS: [(u8, Codec); 8] = [
    (0, Codec::Unknown),
    (1, Codec::OPUS),
    (2, Codec::Opus { clear_toc: false }),
    (3, Codec::Vp8),
    (4, Codec::Vp9),
    (5, Codec::H264),
    (6, Codec::H265),
    (7, Codec::Av1),
];

/// The codec for a codec number.
///
/// # Errors
/// [`Error::UnsupportedCodec`] for a number not in the table.
pub fn codec(id: u8) -> Result<Codec, Error> {
    CODECS
        .iter()
        .find(|&&(n, _)| n == id)
        .map(|&(_, c)| c)
        .ok_or(Error::UnsupportedCodec)
}

/// The codec number for an encoded frame's `getMetadata().mimeType`
/// (`video/VP8`, `video/H264`, `audio/opus`, ...; case-insensitive). A
/// type without a codec rule is 0: such frames are protected whole.
#[must_use]
pub fn codec_for_mime(mime: &str) -> u8 {
    let subtype = mime.rsplit('/').next().unwrap_or(mime);
    let codec = match subtype.to_ascii_lowercase().as_str() {
        "opus" => Codec::OPUS,
        "vp8" => Codec::Vp8,
        "vp9" => Codec::Vp9,
        "h264" => Codec::H264,
        "h265" | "hevc" => Codec::H265,
        "av1" => Codec::Av1,
        _ => Codec::Unknown,
    };
    CODECS
        .iter()
        .find(|&&(_, c)| c == codec)
        .map_or(0, |&(n, _)| n)
}

/// The error numbers a frame call returns, negated, and the reason names
/// the worker counts them under. Stable: the worker's stats use the names.
const ERRORS: [(Error, i32, &str); 28] = [
    (Error::MalformedHeader, 1, "malformedHeader"),
    // Compared without its KID (see `error_code`).
    (Error::UnknownKeyId(KeyId(0)), 2, "unknownKeyId"),
    (Error::FrameTooShort, 3, "frameTooShort"),
    (Error::AuthenticationFailed, 4, "authenticationFailed"),
    (Error::CounterExhausted, 5, "counterExhausted"),
    (Error::BufferTooSmall, 6, "bufferTooSmall"),
    (Error::StoreFull, 7, "storeFull"),
    (Error::UnsupportedCipherSuite, 8, "unsupportedCipherSuite"),
    (Error::InvalidKeyLength, 9, "invalidKeyLength"),
    (Error::MetadataTooLong, 10, "metadataTooLong"),
    (Error::TooFarAhead, 11, "tooFarAhead"),
    (Error::KeyExpired, 12, "keyExpired"),
    (Error::Replayed, 13, "replayed"),
    (Error::StaleKey, 14, "staleKey"),
    (Error::KeyIdExhausted, 15, "keyIdExhausted"),
    (Error::InvalidParameter, 16, "invalidParameter"),
    (Error::ExportFailed, 17, "exportFailed"),
    (Error::MalformedFrame, 18, "malformedFrame"),
    (Error::UnsupportedCodec, 19, "unsupportedCodec"),
    (Error::MalformedPacket, 20, "malformedPacket"),
    (Error::MalformedAnnouncement, 21, "malformedAnnouncement"),
    (Error::WrongSession, 22, "wrongSession"),
    (Error::WrongRecipient, 23, "wrongRecipient"),
    (Error::WrongSender, 24, "wrongSender"),
    (Error::AnnouncementReplayed, 25, "announcementReplayed"),
    (Error::NoEpoch, 26, "noEpoch"),
    (Error::AnnouncementSuperseded, 27, "announcementSuperseded"),
    (Error::AnnouncementExpired, 28, "announcementExpired"),
];

/// Any error not in the table (the enum is `#[non_exhaustive]`).
const OTHER: (i32, &str) = (99, "other");

/// The positive number of an error.
#[must_use]
pub fn error_code(error: Error) -> i32 {
    // The KID is the frame's, in its clear header: the kind is the code.
    let error = match error {
        Error::UnknownKeyId(_) => Error::UnknownKeyId(KeyId(0)),
        other => other,
    };
    ERRORS
        .iter()
        .find(|&&(e, _, _)| e == error)
        .map_or(OTHER.0, |&(_, n, _)| n)
}

/// The reason name of an error number (positive or negated).
#[must_use]
pub fn error_name(code: i32) -> &'static str {
    let code = code.saturating_abs();
    ERRORS
        .iter()
        .find(|&&(_, n, _)| n == code)
        .map_or(OTHER.1, |&(_, _, name)| name)
}

/// A frame call's outcome as one number: the output length, or the
/// negated error number. A frame longer than `i32::MAX` (impossible for a
/// media frame) is reported as [`Error::BufferTooSmall`].
#[must_use]
pub fn outcome(result: Result<Done, Error>) -> i32 {
    match result {
        Ok(done) => i32::try_from(done.len).unwrap_or(-error_code(Error::BufferTooSmall)),
        Err(e) => -error_code(e),
    }
}

/// A frame length from JavaScript.
#[must_use]
pub const fn len(len: u32) -> usize {
    len as usize
}

// Rust to JavaScript: objects built only when the page asks (stats, key
// changes), never per frame.

fn set(object: &Object, name: &str, value: impl Into<JsValue>) {
    // Setting a property on a plain object we just made cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(name), &value.into());
}

#[allow(clippy::cast_precision_loss)]
fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// `{to: Uint8Array, data: Uint8Array}[]`.
#[must_use]
pub fn announcements(list: &[Announcement]) -> Array {
    list.iter()
        .map(|a| {
            let o = Object::new();
            set(&o, "to", bytes(&a.to));
            set(&o, "data", bytes(&a.data));
            JsValue::from(o)
        })
        .collect()
}

/// `{peer, generation, step}`.
#[must_use]
pub fn installed(i: Installed) -> Object {
    let o = Object::new();
    set(&o, "peer", number(i.peer as u64));
    set(&o, "generation", number(i.generation));
    set(&o, "step", number(i.step));
    o
}

/// `{peer, announcements}` for a peer just added.
#[must_use]
pub fn added(peer: usize, list: &[Announcement]) -> Object {
    let o = Object::new();
    set(&o, "peer", number(peer as u64));
    set(&o, "announcements", announcements(list));
    o
}

/// A sender's counters and key: `{frames, keyframes, bytesIn, bytesOut,
/// failures, generation, step, kid}`.
#[must_use]
pub fn send_stats(s: SendStats, (generation, step, kid): (u64, u64, u64)) -> Object {
    let o = Object::new();
    set(&o, "frames", number(s.frames));
    set(&o, "keyframes", number(s.keyframes));
    set(&o, "bytesIn", number(s.bytes_in));
    set(&o, "bytesOut", number(s.bytes_out));
    set(&o, "failures", number(s.failures));
    set(&o, "generation", number(generation));
    set(&o, "step", number(step));
    set(&o, "kid", number(kid));
    o
}

/// A receiver's counters: `{ok, unknownKeyId, tooFarAhead, keyExpired,
/// replayed, authenticationFailed, malformed, malformedFrame, failures,
/// generation, step}` (the last two `undefined` before any key).
#[must_use]
pub fn receive_stats(s: ReceiveStats) -> Object {
    let o = Object::new();
    let DecryptStats {
        ok,
        unknown_key_id,
        too_far_ahead,
        key_expired,
        replayed,
        authentication_failed,
        malformed,
    } = s.decrypt;
    set(&o, "ok", number(ok));
    set(&o, "unknownKeyId", number(unknown_key_id));
    set(&o, "tooFarAhead", number(too_far_ahead));
    set(&o, "keyExpired", number(key_expired));
    set(&o, "replayed", number(replayed));
    set(&o, "authenticationFailed", number(authentication_failed));
    set(&o, "malformed", number(malformed));
    set(&o, "malformedFrame", number(s.malformed_frames));
    set(&o, "failures", number(s.failures));
    if let Some((generation, step)) = s.key {
        set(&o, "generation", number(generation));
        set(&o, "step", number(step));
    }
    o
}

/// `{kid, ctr, headerOffset, clearLen, sealedLen, keyframe, width,
/// height}` (the last three `undefined` where the clear bytes do not say).
#[must_use]
pub fn wire_view(v: WireView) -> Object {
    let o = Object::new();
    set(&o, "kid", number(v.kid));
    set(&o, "ctr", number(v.ctr));
    set(&o, "headerOffset", number(v.header_offset as u64));
    set(&o, "clearLen", number(v.clear_len as u64));
    set(&o, "sealedLen", number(v.sealed_len as u64));
    if let Some(k) = v.keyframe {
        set(&o, "keyframe", k);
    }
    if let Some(w) = v.width {
        set(&o, "width", w);
    }
    if let Some(h) = v.height {
        set(&o, "height", h);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_exact_or_refused() {
        assert_eq!(integer(0.0), Ok(0));
        assert_eq!(integer(9_007_199_254_740_992.0), Ok(1 << 53));
        for bad in [
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            18_446_744_073_709_551_616.0,
        ] {
            assert_eq!(integer(bad), Err(Error::InvalidParameter), "{bad}");
        }
        assert_eq!(now(12.9), 12);
        assert_eq!(now(-5.0), 0);
        assert_eq!(now(f64::NAN), 0);
    }

    #[test]
    fn mime_types_map_to_codec_rules() {
        for (mime, expected) in [
            ("video/VP8", Codec::Vp8),
            ("video/vp9", Codec::Vp9),
            ("video/H264", Codec::H264),
            ("video/H265", Codec::H265),
            ("video/AV1", Codec::Av1),
            ("audio/opus", Codec::OPUS),
            ("audio/PCMU", Codec::Unknown),
            ("audio/red", Codec::Unknown),
            ("", Codec::Unknown),
        ] {
            assert_eq!(codec(codec_for_mime(mime)), Ok(expected), "{mime}");
        }
        assert_eq!(codec(200), Err(Error::UnsupportedCodec));
    }

    #[test]
    fn outcomes_are_lengths_or_named_negative_errors() {
        let done = Done {
            len: 42,
            keyframe: None,
        };
        assert_eq!(outcome(Ok(done)), 42);
        let failed = outcome(Err(Error::AuthenticationFailed));
        assert!(failed < 0);
        assert_eq!(error_name(failed), "authenticationFailed");
        assert_eq!(
            error_name(outcome(Err(Error::UnknownKeyId(KeyId(0x42))))),
            "unknownKeyId"
        );
        assert_eq!(
            error_name(outcome(Err(Error::WrongSession))),
            "wrongSession"
        );
        assert_eq!(error_name(-1000), "other");
        // Every number names one reason.
        for &(e, n, name) in &ERRORS {
            assert_eq!(error_code(e), n);
            assert_eq!(error_name(-n), name);
        }
    }

    #[test]
    fn keys_and_parameters_are_checked() {
        assert_eq!(suite(4), Ok(CipherSuite::Aes128GcmSha256_128));
        assert_eq!(suite(9), Err(Error::UnsupportedCipherSuite));
        assert!(bits(0).is_err());
        assert!(key(&[]).is_err());
        assert_eq!(public_key(&[1; 31]), Err(Error::InvalidKeyLength));
        assert_eq!(public_key(&[1; 32]), Ok([1; 32]));
    }
}
