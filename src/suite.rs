//! Cipher suites (RFC 9605 §4.5 and §8.1; suites 6–8 from
//! draft-barnes-sframe-iana-256) and their sizes.

use core::fmt;
use core::str::FromStr;

use crate::error::Error;

/// An SFrame cipher suite.
///
/// Sizes follow RFC 9605 §4.5: `Nh` is the hash output length used by HKDF,
/// `Nk` the AEAD key length, `Nn` the nonce length and `Nt` the tag length.
///
/// ```
/// use framecrypt::CipherSuite;
///
/// let suite = CipherSuite::from_id(0x0004)?;
/// assert_eq!(suite, CipherSuite::Aes128GcmSha256_128);
/// assert_eq!((suite.key_len(), suite.tag_len(), suite.hash_len()), (16, 16, 32));
/// assert_eq!(CipherSuite::Aes128CtrHmacSha256_80.key_len(), 16 + 32); // AES key, then HMAC key
/// assert!(CipherSuite::from_id(9).is_err());
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum CipherSuite {
    /// `AES_128_CTR_HMAC_SHA256_80` (0x0001).
    Aes128CtrHmacSha256_80 = 0x0001,
    /// `AES_128_CTR_HMAC_SHA256_64` (0x0002).
    Aes128CtrHmacSha256_64 = 0x0002,
    /// `AES_128_CTR_HMAC_SHA256_32` (0x0003).
    Aes128CtrHmacSha256_32 = 0x0003,
    /// `AES_128_GCM_SHA256_128` (0x0004).
    Aes128GcmSha256_128 = 0x0004,
    /// `AES_256_GCM_SHA512_128` (0x0005).
    Aes256GcmSha512_128 = 0x0005,
    /// `AES_256_CTR_HMAC_SHA512_80` (0x0006, draft-barnes-sframe-iana-256).
    Aes256CtrHmacSha512_80 = 0x0006,
    /// `AES_256_CTR_HMAC_SHA512_64` (0x0007, draft-barnes-sframe-iana-256).
    Aes256CtrHmacSha512_64 = 0x0007,
    /// `AES_256_CTR_HMAC_SHA512_32` (0x0008, draft-barnes-sframe-iana-256).
    Aes256CtrHmacSha512_32 = 0x0008,
}

/// The hash behind a suite's HKDF (and HMAC, for the CTR suites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

/// The AEAD construction of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aead {
    /// RFC 9605 §4.5.1: AES-CTR then a truncated HMAC.
    AesCtrHmac,
    /// AES-GCM with a 16-byte tag.
    AesGcm,
}

impl CipherSuite {
    /// Every suite, in registry order.
    pub const ALL: [Self; 8] = [
        Self::Aes128CtrHmacSha256_80,
        Self::Aes128CtrHmacSha256_64,
        Self::Aes128CtrHmacSha256_32,
        Self::Aes128GcmSha256_128,
        Self::Aes256GcmSha512_128,
        Self::Aes256CtrHmacSha512_80,
        Self::Aes256CtrHmacSha512_64,
        Self::Aes256CtrHmacSha512_32,
    ];

    /// The largest `Nt` of any suite.
    pub const MAX_TAG_LEN: usize = 16;
    /// The largest `Nk` of any suite (AES-256 key plus HMAC-SHA512 key).
    pub const MAX_KEY_LEN: usize = 96;
    /// The largest `Nh` of any suite.
    pub const MAX_HASH_LEN: usize = 64;
    /// `Nn`, the nonce length, for every suite.
    pub const NONCE_LEN: usize = 12;

    /// The registry number.
    #[must_use]
    pub const fn id(self) -> u16 {
        self as u16
    }

    /// The suite with registry number `id`.
    ///
    /// # Errors
    /// [`Error::UnsupportedCipherSuite`] for any number other than 1–8.
    pub const fn from_id(id: u16) -> Result<Self, Error> {
        Ok(match id {
            0x0001 => Self::Aes128CtrHmacSha256_80,
            0x0002 => Self::Aes128CtrHmacSha256_64,
            0x0003 => Self::Aes128CtrHmacSha256_32,
            0x0004 => Self::Aes128GcmSha256_128,
            0x0005 => Self::Aes256GcmSha512_128,
            0x0006 => Self::Aes256CtrHmacSha512_80,
            0x0007 => Self::Aes256CtrHmacSha512_64,
            0x0008 => Self::Aes256CtrHmacSha512_32,
            _ => return Err(Error::UnsupportedCipherSuite),
        })
    }

    /// The registry name, such as `AES_128_GCM_SHA256_128`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128CtrHmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::Aes128CtrHmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::Aes128CtrHmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::Aes128GcmSha256_128 => "AES_128_GCM_SHA256_128",
            Self::Aes256GcmSha512_128 => "AES_256_GCM_SHA512_128",
            Self::Aes256CtrHmacSha512_80 => "AES_256_CTR_HMAC_SHA512_80",
            Self::Aes256CtrHmacSha512_64 => "AES_256_CTR_HMAC_SHA512_64",
            Self::Aes256CtrHmacSha512_32 => "AES_256_CTR_HMAC_SHA512_32",
        }
    }

    /// `Nh`: the output length of the suite's hash, in bytes.
    #[must_use]
    pub const fn hash_len(self) -> usize {
        match self.hash() {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    /// `Nk`: the AEAD key length in bytes. For the CTR suites this is the AES
    /// key (`Nka`) followed by the HMAC key (`Nh`), RFC 9605 §4.5.1.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self.aead() {
            Aead::AesGcm => self.aes_key_len(),
            Aead::AesCtrHmac => self.aes_key_len() + self.hash_len(),
        }
    }

    /// `Nn`: the nonce length in bytes (12 for every suite).
    #[must_use]
    pub const fn nonce_len(self) -> usize {
        Self::NONCE_LEN
    }

    /// `Nt`: the authentication tag length in bytes.
    #[must_use]
    pub const fn tag_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80 | Self::Aes256CtrHmacSha512_80 => 10,
            Self::Aes128CtrHmacSha256_64 | Self::Aes256CtrHmacSha512_64 => 8,
            Self::Aes128CtrHmacSha256_32 | Self::Aes256CtrHmacSha512_32 => 4,
            Self::Aes128GcmSha256_128 | Self::Aes256GcmSha512_128 => 16,
        }
    }

    /// `Nka`: the AES key length (16 or 32).
    pub(crate) const fn aes_key_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80
            | Self::Aes128CtrHmacSha256_64
            | Self::Aes128CtrHmacSha256_32
            | Self::Aes128GcmSha256_128 => 16,
            Self::Aes256GcmSha512_128
            | Self::Aes256CtrHmacSha512_80
            | Self::Aes256CtrHmacSha512_64
            | Self::Aes256CtrHmacSha512_32 => 32,
        }
    }

    pub(crate) const fn hash(self) -> Hash {
        match self {
            Self::Aes128CtrHmacSha256_80
            | Self::Aes128CtrHmacSha256_64
            | Self::Aes128CtrHmacSha256_32
            | Self::Aes128GcmSha256_128 => Hash::Sha256,
            Self::Aes256GcmSha512_128
            | Self::Aes256CtrHmacSha512_80
            | Self::Aes256CtrHmacSha512_64
            | Self::Aes256CtrHmacSha512_32 => Hash::Sha512,
        }
    }

    pub(crate) const fn aead(self) -> Aead {
        match self {
            Self::Aes128GcmSha256_128 | Self::Aes256GcmSha512_128 => Aead::AesGcm,
            _ => Aead::AesCtrHmac,
        }
    }
}

impl TryFrom<u16> for CipherSuite {
    type Error = Error;

    fn try_from(id: u16) -> Result<Self, Error> {
        Self::from_id(id)
    }
}

impl From<CipherSuite> for u16 {
    fn from(suite: CipherSuite) -> Self {
        suite.id()
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CipherSuite {
    type Err = Error;

    /// Parses a registry name (`AES_128_GCM_SHA256_128`, case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|suite| suite.name().eq_ignore_ascii_case(s))
            .ok_or(Error::UnsupportedCipherSuite)
    }
}
