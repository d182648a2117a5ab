//! The typed values C passes: cipher suites, codecs and fallback policies
//! (three C enums), the version and size constants, and their conversion
//! to the library's types.
//!
//! Each enum has its own range of numbers (suites 1–8, their registry
//! values; codecs from 0x100; fallbacks from 0x200), so a value passed
//! where another enum is expected is refused with
//! `FRAMECRYPT_ERR_INVALID_PARAMETER` even by a C compiler that lets it
//! through. In C++ such a call does not compile, and gcc and clang warn
//! about it in C (`-Wenum-conversion`, part of `-Wextra`).
//!
//! The entry points take each enum as its 32-bit value ([`SuiteId`],
//! [`CodecId`], [`FallbackId`], which the header calls by the enum's name):
//! a C caller can pass any number, and a Rust enum must never hold one it
//! does not declare.

use framecrypt::codec::{Codec, Fallback};
use framecrypt::{BaseKey, CipherSuite};

use crate::boundary::bytes;
use crate::result::framecrypt_result;

/// The major version of this library (and of its header): a change means
/// an incompatible change of the C API.
pub const FRAMECRYPT_VERSION_MAJOR: u32 = 0;
/// The minor version. While the major version is 0, a change of the minor
/// version is an incompatible change too.
pub const FRAMECRYPT_VERSION_MINOR: u32 = 1;
/// The patch version: compatible fixes.
pub const FRAMECRYPT_VERSION_PATCH: u32 = 0;

/// The longest base key, in bytes, that any call accepts; also a size of
/// buffer for `framecrypt_sender_current_key` that always suffices.
pub const FRAMECRYPT_MAX_KEY_LEN: usize = 128;

/// A cipher suite (RFC 9605 §4.5). The values are the IANA registry's.
#[allow(non_camel_case_types, clippy::enum_variant_names)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum framecrypt_suite {
    /// AES_128_CTR_HMAC_SHA256_80 (RFC 9605 §4.5).
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80 = 0x0001,
    /// AES_128_CTR_HMAC_SHA256_64 (RFC 9605 §4.5).
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_64 = 0x0002,
    /// AES_128_CTR_HMAC_SHA256_32 (RFC 9605 §4.5).
    FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_32 = 0x0003,
    /// AES_128_GCM_SHA256_128 (RFC 9605 §4.5).
    FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128 = 0x0004,
    /// AES_256_GCM_SHA512_128 (RFC 9605 §4.5).
    FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128 = 0x0005,
    /// AES_256_CTR_HMAC_SHA512_80 (draft-barnes-sframe-iana-256).
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_80 = 0x0006,
    /// AES_256_CTR_HMAC_SHA512_64 (draft-barnes-sframe-iana-256).
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_64 = 0x0007,
    /// AES_256_CTR_HMAC_SHA512_32 (draft-barnes-sframe-iana-256).
    FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32 = 0x0008,
}

/// How `framecrypt_sender_protect` and `framecrypt_receiver_unprotect`
/// treat an encoded frame: which bytes stay clear for RTP packetizers and
/// SFUs (see `framecrypt_sender_protect`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum framecrypt_codec {
    /// No codec rule: the frame is protected whole, as a plain SFrame frame
    /// (with `FRAMECRYPT_FALLBACK_WHOLE_FRAME`), and an SFU reads it header
    /// first.
    FRAMECRYPT_CODEC_UNKNOWN = 0x100,
    /// Opus with its TOC byte clear.
    FRAMECRYPT_CODEC_OPUS = 0x101,
    /// Opus with nothing clear.
    FRAMECRYPT_CODEC_OPUS_OPAQUE = 0x102,
    /// VP8: the payload header clear (10 bytes of a keyframe, 3 otherwise).
    FRAMECRYPT_CODEC_VP8 = 0x103,
    /// VP9: nothing clear.
    FRAMECRYPT_CODEC_VP9 = 0x104,
    /// H.264 in Annex B format (see `framecrypt_sender_protect` for what
    /// stays clear).
    FRAMECRYPT_CODEC_H264 = 0x105,
    /// H.265 in Annex B format (see `framecrypt_sender_protect`).
    FRAMECRYPT_CODEC_H265 = 0x106,
    /// AV1 as a low-overhead OBU stream (see `framecrypt_sender_protect`).
    FRAMECRYPT_CODEC_AV1 = 0x107,
}

/// What to do with a frame the codec rule cannot handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum framecrypt_fallback {
    /// Refuse it: `FRAMECRYPT_ERR_MALFORMED_FRAME`, or
    /// `FRAMECRYPT_ERR_UNSUPPORTED_CODEC` for `FRAMECRYPT_CODEC_UNKNOWN`.
    /// The recommended policy.
    FRAMECRYPT_FALLBACK_REJECT = 0x200,
    /// Protect it whole, as a plain SFrame frame. A receiver with this
    /// policy tries a frame it cannot read codec-aware as a whole frame
    /// once more, which doubles a forger's chances per frame.
    FRAMECRYPT_FALLBACK_WHOLE_FRAME = 0x201,
}

/// A `framecrypt_suite` as C passes it: any 32-bit value.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteId(pub u32);

/// A `framecrypt_codec` as C passes it: any 32-bit value.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecId(pub u32);

/// A `framecrypt_fallback` as C passes it: any 32-bit value.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FallbackId(pub u32);

impl From<framecrypt_suite> for SuiteId {
    fn from(suite: framecrypt_suite) -> Self {
        Self(suite as u32)
    }
}

impl From<framecrypt_codec> for CodecId {
    fn from(codec: framecrypt_codec) -> Self {
        Self(codec as u32)
    }
}

impl From<framecrypt_fallback> for FallbackId {
    fn from(fallback: framecrypt_fallback) -> Self {
        Self(fallback as u32)
    }
}

const SUITES: [(framecrypt_suite, CipherSuite); 8] = {
    use framecrypt_suite::*;
    [
        (
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80,
            CipherSuite::Aes128CtrHmacSha256_80,
        ),
        (
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_64,
            CipherSuite::Aes128CtrHmacSha256_64,
        ),
        (
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_32,
            CipherSuite::Aes128CtrHmacSha256_32,
        ),
        (
            FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128,
            CipherSuite::Aes128GcmSha256_128,
        ),
        (
            FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128,
            CipherSuite::Aes256GcmSha512_128,
        ),
        (
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_80,
            CipherSuite::Aes256CtrHmacSha512_80,
        ),
        (
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_64,
            CipherSuite::Aes256CtrHmacSha512_64,
        ),
        (
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32,
            CipherSuite::Aes256CtrHmacSha512_32,
        ),
    ]
};

const CODECS: [(framecrypt_codec, Codec); 8] = {
    use framecrypt_codec::*;
    [
        (FRAMECRYPT_CODEC_UNKNOWN, Codec::Unknown),
        (FRAMECRYPT_CODEC_OPUS, Codec::OPUS),
        (
            FRAMECRYPT_CODEC_OPUS_OPAQUE,
            Codec::Opus { clear_toc: false },
        ),
        (FRAMECRYPT_CODEC_VP8, Codec::Vp8),
        (FRAMECRYPT_CODEC_VP9, Codec::Vp9),
        (FRAMECRYPT_CODEC_H264, Codec::H264),
        (FRAMECRYPT_CODEC_H265, Codec::H265),
        (FRAMECRYPT_CODEC_AV1, Codec::Av1),
    ]
};

/// The library's suite for `id`.
///
/// # Errors
/// `FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE` for any other number.
pub fn suite(id: SuiteId) -> Result<CipherSuite, framecrypt_result> {
    SUITES
        .iter()
        .find(|(c, _)| *c as u32 == id.0)
        .map(|&(_, suite)| suite)
        .ok_or(framecrypt_result::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE)
}

/// The C value of `suite`.
#[must_use]
pub fn suite_id(suite: CipherSuite) -> SuiteId {
    SUITES
        .iter()
        .find(|(_, s)| *s == suite)
        .map_or(SuiteId(0), |&(c, _)| c.into())
}

/// The library's codec for `id`.
///
/// # Errors
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for any other number.
pub fn codec(id: CodecId) -> Result<Codec, framecrypt_result> {
    CODECS
        .iter()
        .find(|(c, _)| *c as u32 == id.0)
        .map(|&(_, codec)| codec)
        .ok_or(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER)
}

/// The C value of `codec`.
#[must_use]
pub fn codec_id(codec: Codec) -> CodecId {
    CODECS
        .iter()
        .find(|(_, c)| *c == codec)
        .map_or(CodecId(0), |&(c, _)| c.into())
}

/// The library's fallback policy for `id`.
///
/// # Errors
/// `FRAMECRYPT_ERR_INVALID_PARAMETER` for any other number.
pub fn fallback(id: FallbackId) -> Result<Fallback, framecrypt_result> {
    use framecrypt_fallback::*;
    match id.0 {
        x if x == FRAMECRYPT_FALLBACK_REJECT as u32 => Ok(Fallback::Reject),
        x if x == FRAMECRYPT_FALLBACK_WHOLE_FRAME as u32 => Ok(Fallback::WholeFrame),
        _ => Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER),
    }
}

/// Copies the caller's key bytes into a [`BaseKey`], which wipes its copy
/// when dropped; the caller's buffer stays the caller's to wipe.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn base_key(ptr: *const u8, len: usize) -> Result<BaseKey, framecrypt_result> {
    // SAFETY: the caller's contract is `bytes`'s.
    let key = unsafe { bytes(ptr, len) }?;
    Ok(BaseKey::new(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(part: &str) -> u32 {
        part.parse().expect("a version number")
    }

    #[test]
    fn version_macros_are_the_package_version() {
        assert_eq!(
            FRAMECRYPT_VERSION_MAJOR,
            number(env!("CARGO_PKG_VERSION_MAJOR"))
        );
        assert_eq!(
            FRAMECRYPT_VERSION_MINOR,
            number(env!("CARGO_PKG_VERSION_MINOR"))
        );
        assert_eq!(
            FRAMECRYPT_VERSION_PATCH,
            number(env!("CARGO_PKG_VERSION_PATCH"))
        );
    }

    #[test]
    fn the_largest_key_is_the_library_s() {
        assert_eq!(FRAMECRYPT_MAX_KEY_LEN, BaseKey::MAX_LEN);
    }

    #[test]
    fn codec_values_match_the_library_names() {
        let names = [
            "unknown",
            "opus",
            "opus-opaque",
            "vp8",
            "vp9",
            "h264",
            "h265",
            "av1",
        ];
        for ((c, lib), name) in CODECS.iter().zip(names) {
            assert_eq!(codec(CodecId(*c as u32)).map(Codec::name), Ok(name));
            assert_eq!(lib.name(), name);
            assert_eq!(codec_id(*lib), CodecId(*c as u32));
        }
    }

    #[test]
    fn suite_values_are_the_registry_values() {
        for (i, suite) in CipherSuite::ALL.into_iter().enumerate() {
            let id = SuiteId(u32::try_from(i + 1).expect("small"));
            assert_eq!(self::suite(id), Ok(suite));
            assert_eq!(u32::from(suite.id()), id.0);
            assert_eq!(suite_id(suite), id);
        }
    }

    /// The three enums share no value, and none of them has 0: a value of
    /// one passed as another, or an unset field, is refused.
    #[test]
    fn no_value_is_valid_for_two_enums() {
        let all = (0..0x300).chain([u32::MAX]);
        for n in all {
            let valid = [
                suite(SuiteId(n)).is_ok(),
                codec(CodecId(n)).is_ok(),
                fallback(FallbackId(n)).is_ok(),
            ];
            assert!(
                valid.iter().filter(|v| **v).count() <= 1,
                "{n:#x} is valid for two enums"
            );
        }
        assert!(codec(CodecId(0)).is_err() && fallback(FallbackId(0)).is_err());
    }
}
