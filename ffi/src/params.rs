//! The numbers C callers pass for cipher suites, codecs and fallback
//! policies, and their conversion to the library's types.

use framecrypt::codec::{Codec, Fallback};
use framecrypt::{BaseKey, CipherSuite};

use crate::boundary::bytes;
use crate::result::framecrypt_result;

/// AES_128_CTR_HMAC_SHA256_80 (RFC 9605 §4.5).
pub const FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80: u16 = 0x0001;
/// AES_128_CTR_HMAC_SHA256_64 (RFC 9605 §4.5).
pub const FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_64: u16 = 0x0002;
/// AES_128_CTR_HMAC_SHA256_32 (RFC 9605 §4.5).
pub const FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_32: u16 = 0x0003;
/// AES_128_GCM_SHA256_128 (RFC 9605 §4.5).
pub const FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128: u16 = 0x0004;
/// AES_256_GCM_SHA512_128 (RFC 9605 §4.5).
pub const FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128: u16 = 0x0005;
/// AES_256_CTR_HMAC_SHA512_80 (draft-barnes-sframe-iana-256).
pub const FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_80: u16 = 0x0006;
/// AES_256_CTR_HMAC_SHA512_64 (draft-barnes-sframe-iana-256).
pub const FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_64: u16 = 0x0007;
/// AES_256_CTR_HMAC_SHA512_32 (draft-barnes-sframe-iana-256).
pub const FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32: u16 = 0x0008;

/// No codec rule: the frame is protected whole, as a plain SFrame frame
/// (with `FRAMECRYPT_FALLBACK_WHOLE_FRAME`), and read header first.
pub const FRAMECRYPT_CODEC_UNKNOWN: u32 = 0;
/// Opus with its TOC byte clear.
pub const FRAMECRYPT_CODEC_OPUS: u32 = 1;
/// Opus with nothing clear.
pub const FRAMECRYPT_CODEC_OPUS_OPAQUE: u32 = 2;
/// VP8: the payload header clear (10 bytes for a keyframe, 3 otherwise).
pub const FRAMECRYPT_CODEC_VP8: u32 = 3;
/// VP9: nothing clear.
pub const FRAMECRYPT_CODEC_VP9: u32 = 4;
/// H.264 in Annex B format: start codes and NAL headers clear.
pub const FRAMECRYPT_CODEC_H264: u32 = 5;
/// H.265 in Annex B format: start codes and NAL headers clear.
pub const FRAMECRYPT_CODEC_H265: u32 = 6;
/// AV1 as a low-overhead OBU stream: OBU headers clear.
pub const FRAMECRYPT_CODEC_AV1: u32 = 7;

/// A frame the codec rule cannot handle is an error
/// (`FRAMECRYPT_ERR_MALFORMED_FRAME` or `FRAMECRYPT_ERR_UNSUPPORTED_CODEC`).
/// The recommended policy.
pub const FRAMECRYPT_FALLBACK_REJECT: u32 = 0;
/// A frame the codec rule cannot handle is protected whole.
pub const FRAMECRYPT_FALLBACK_WHOLE_FRAME: u32 = 1;

pub(crate) fn suite(id: u16) -> Result<CipherSuite, framecrypt_result> {
    Ok(CipherSuite::from_id(id)?)
}

pub(crate) fn codec(id: u32) -> Result<Codec, framecrypt_result> {
    Ok(match id {
        FRAMECRYPT_CODEC_UNKNOWN => Codec::Unknown,
        FRAMECRYPT_CODEC_OPUS => Codec::OPUS,
        FRAMECRYPT_CODEC_OPUS_OPAQUE => Codec::Opus { clear_toc: false },
        FRAMECRYPT_CODEC_VP8 => Codec::Vp8,
        FRAMECRYPT_CODEC_VP9 => Codec::Vp9,
        FRAMECRYPT_CODEC_H264 => Codec::H264,
        FRAMECRYPT_CODEC_H265 => Codec::H265,
        FRAMECRYPT_CODEC_AV1 => Codec::Av1,
        _ => return Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER),
    })
}

pub(crate) fn fallback(id: u32) -> Result<Fallback, framecrypt_result> {
    match id {
        FRAMECRYPT_FALLBACK_REJECT => Ok(Fallback::Reject),
        FRAMECRYPT_FALLBACK_WHOLE_FRAME => Ok(Fallback::WholeFrame),
        _ => Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER),
    }
}

/// Copies the caller's key bytes into a [`BaseKey`], which zeroizes its
/// copy on drop; the caller's buffer stays the caller's to wipe.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn base_key(ptr: *const u8, len: usize) -> Result<BaseKey, framecrypt_result> {
    // SAFETY: the caller's contract is `bytes`'s.
    let key = unsafe { bytes(ptr, len) }?;
    Ok(BaseKey::new(key)?)
}

/// The size of one frame's SFrame overhead at most (header and tag) for
/// `suite`, or 0 for a number that is not a cipher suite.
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_max_overhead(suite: u16) -> usize {
    self::suite(suite).map_or(0, framecrypt::max_overhead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_numbers_match_the_library_names() {
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
        for (id, name) in (0u32..).zip(names) {
            assert_eq!(codec(id).map(Codec::name), Ok(name));
        }
        assert_eq!(
            codec(8),
            Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER)
        );
    }

    #[test]
    fn suite_numbers_are_the_registry_values() {
        let ids = [
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80,
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_64,
            FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_32,
            FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128,
            FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128,
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_80,
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_64,
            FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32,
        ];
        for (id, suite) in ids.into_iter().zip(CipherSuite::ALL) {
            assert_eq!(self::suite(id), Ok(suite));
            assert_eq!(framecrypt_max_overhead(id), framecrypt::max_overhead(suite));
        }
        assert_eq!(framecrypt_max_overhead(0), 0);
        assert_eq!(framecrypt_max_overhead(9), 0);
    }
}
