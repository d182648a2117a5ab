//! Low-level pieces of RFC 9605 for interop testing and debugging (feature
//! `hazmat`): the raw AEAD of each suite with a caller-chosen key and nonce,
//! and the §4.4.2 key derivation with its outputs (and the intermediate
//! `sframe_secret`) exposed.
//!
//! Nothing here stops nonce reuse or keeps keys secret. Applications should
//! use [`Sender`](crate::Sender) and [`Receiver`](crate::Receiver).

use core::fmt;

use crate::crypto::{Aad, Cipher, Data, FrameCipher};
use crate::error::Error;
use crate::ids::KeyId;
pub use crate::key_schedule::SframeSecret;
use crate::secret::{BaseKey, KeyAndSalt};
use crate::suite::CipherSuite;

/// The AEAD of a suite (RFC 9605 §4.5) keyed with raw `Nk` bytes.
///
/// ```
/// use framecrypt::CipherSuite;
/// use framecrypt::hazmat::Aead;
///
/// let suite = CipherSuite::Aes128CtrHmacSha256_80;
/// let aead = Aead::new(suite, &[7; 48])?; // AES-128 key, then HMAC-SHA256 key
/// let nonce = [1; 12];
/// let mut ct = [0u8; 5 + 10];
/// let n = aead.encrypt(&nonce, b"aad", b"hello", &mut ct)?;
/// let mut pt = [0u8; 5];
/// assert_eq!(aead.decrypt(&nonce, b"aad", &ct[..n], &mut pt)?, 5);
/// assert_eq!(&pt, b"hello");
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct Aead {
    suite: CipherSuite,
    cipher: Cipher,
}

impl Aead {
    /// Builds the AEAD from `key`, which must be `suite.key_len()` bytes
    /// (for the CTR suites: AES key, then HMAC key).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for a key of the wrong length.
    pub fn new(suite: CipherSuite, key: &[u8]) -> Result<Self, Error> {
        if key.len() != suite.key_len() {
            return Err(Error::InvalidKeyLength);
        }
        Ok(Self {
            suite,
            cipher: Cipher::new(suite, key),
        })
    }

    /// `AEAD.Encrypt(key, nonce, aad, pt)` into `out` (ciphertext then tag);
    /// returns the length written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than `pt` plus the tag.
    pub fn encrypt(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        pt: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let total = pt.len() + self.suite.tag_len();
        let (body, tag) = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall)?
            .split_at_mut(pt.len());
        let aad = Aad {
            header: aad,
            metadata: &[],
        };
        let data = Data::Copy {
            input: pt,
            output: body,
        };
        self.cipher.seal(nonce, aad, data, tag)?;
        Ok(total)
    }

    /// `AEAD.Decrypt(key, nonce, aad, ct)` into `out`; returns the plaintext
    /// length. On an authentication failure the first plaintext-length bytes
    /// of `out` are zeroed.
    ///
    /// # Errors
    /// [`Error::FrameTooShort`] if `ct` is shorter than the tag,
    /// [`Error::BufferTooSmall`] if `out` is too short,
    /// [`Error::AuthenticationFailed`] if the tag is wrong.
    pub fn decrypt(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let body_len = ct
            .len()
            .checked_sub(self.suite.tag_len())
            .ok_or(Error::FrameTooShort)?;
        let (body, tag) = ct.split_at(body_len);
        let output = out.get_mut(..body_len).ok_or(Error::BufferTooSmall)?;
        let aad = Aad {
            header: aad,
            metadata: &[],
        };
        self.cipher.open(
            nonce,
            aad,
            Data::Copy {
                input: body,
                output,
            },
            tag,
        )?;
        Ok(body_len)
    }
}

impl fmt::Debug for Aead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aead")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// The `sframe_key` and `sframe_salt` of one KID (RFC 9605 §4.4.2),
/// zeroized on drop.
///
/// ```
/// use framecrypt::hazmat::derive_key_and_salt;
/// use framecrypt::{BaseKey, CipherSuite, KeyId};
///
/// // RFC 9605 Appendix C.3, suite 4 (AES-128-GCM).
/// let base_key = BaseKey::new(&(0u8..16).collect::<Vec<_>>())?;
/// let derived = derive_key_and_salt(CipherSuite::Aes128GcmSha256_128, KeyId(0x123), &base_key);
/// assert_eq!(derived.key().len(), 16);
/// assert_eq!(derived.salt().len(), 12);
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct DerivedKey(KeyAndSalt);

impl DerivedKey {
    /// `sframe_key`, `Nk` bytes.
    #[must_use]
    pub fn key(&self) -> &[u8] {
        self.0.key()
    }

    /// `sframe_salt`, `Nn` bytes.
    #[must_use]
    pub fn salt(&self) -> &[u8; 12] {
        &self.0.salt
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

/// RFC 9605 §4.4.2 `derive_key_salt(KID, base_key)` for `suite`.
///
/// ```
/// use framecrypt::hazmat::derive_key_and_salt;
/// use framecrypt::{BaseKey, CipherSuite, KeyId};
///
/// // RFC 9605 Appendix C.3, suite 4 (AES-128-GCM): KID 0x123, base key 00 01 .. 0f.
/// let base_key = BaseKey::new(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])?;
/// let derived = derive_key_and_salt(CipherSuite::Aes128GcmSha256_128, KeyId(0x123), &base_key);
/// let key = [
///     0xd3, 0x4f, 0x54, 0x7f, 0x4c, 0xa4, 0xf9, 0xa7, 0x44, 0x70, 0x06, 0xfe, 0x7f, 0xcb, 0xf7, 0x68,
/// ];
/// assert_eq!(derived.key(), key);
/// assert_eq!(derived.salt(), &[0x75, 0x23, 0x4e, 0xde, 0xfe, 0x07, 0x81, 0x90, 0x26, 0x75, 0x18, 0x16]);
/// // The KID goes into the derivation: another KID, another key.
/// let other = derive_key_and_salt(CipherSuite::Aes128GcmSha256_128, KeyId(0x124), &base_key);
/// assert_ne!(other.key(), key);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[must_use]
pub fn derive_key_and_salt(suite: CipherSuite, kid: KeyId, base_key: &BaseKey) -> DerivedKey {
    let mut derived = DerivedKey(KeyAndSalt::zeroed());
    crate::key_schedule::derive_key_and_salt(suite, kid, base_key, &mut derived.0);
    derived
}

/// RFC 9605 §4.4.2 `sframe_secret` of `base_key` for `suite` (it depends
/// on the suite's hash only).
///
/// ```
/// use framecrypt::hazmat::sframe_secret;
/// use framecrypt::{BaseKey, CipherSuite};
///
/// // RFC 9605 Appendix C.3, suite 4 (SHA-256): base key 00 01 .. 0f.
/// let base_key = BaseKey::new(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])?;
/// let secret = sframe_secret(CipherSuite::Aes128GcmSha256_128, &base_key);
/// let expected = [
///     0xd9, 0x26, 0x95, 0x2c, 0xa8, 0xb7, 0xec, 0x4a, 0x95, 0x94, 0x1d, 0x1a, 0xda, 0x3a, 0x52, 0x03,
///     0xce, 0xff, 0x8c, 0xce, 0xee, 0x34, 0xf5, 0x74, 0xd2, 0x39, 0x09, 0xeb, 0x31, 0x4c, 0x40, 0xc0,
/// ];
/// assert_eq!(secret.expose_secret(), expected);
/// // Every SHA-256 suite has the same secret; the SHA-512 suites a 64-byte one.
/// let ctr = sframe_secret(CipherSuite::Aes128CtrHmacSha256_80, &base_key);
/// assert_eq!(ctr.expose_secret(), expected);
/// assert_eq!(sframe_secret(CipherSuite::Aes256GcmSha512_128, &base_key).expose_secret().len(), 64);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[must_use]
pub fn sframe_secret(suite: CipherSuite, base_key: &BaseKey) -> SframeSecret {
    let mut secret = SframeSecret::zeroed(0);
    crate::key_schedule::sframe_secret(suite, base_key, &mut secret);
    secret
}
