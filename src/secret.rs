//! Secret key material: base keys and the derived SFrame key and salt.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::suite::CipherSuite;

/// A base key (RFC 9605 §4.4.1): the secret from which a KID's SFrame key
/// and salt are derived.
///
/// Zeroized on drop, never `Clone`, redacted in `Debug`, compared in
/// constant time. Its length is up to the application (16 bytes in the RFC
/// vectors, `Nh` after a ratchet step, `Nk` from an MLS exporter).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BaseKey {
    bytes: [u8; Self::MAX_LEN],
    len: usize,
}

impl BaseKey {
    /// The longest base key accepted.
    pub const MAX_LEN: usize = 128;

    /// Copies `bytes` into a new base key. The caller should zeroize its own
    /// copy.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] if `bytes` is empty or longer than
    /// [`Self::MAX_LEN`].
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return Err(Error::InvalidKeyLength);
        }
        let mut key = Self {
            bytes: [0; Self::MAX_LEN],
            len: bytes.len(),
        };
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(key)
    }

    /// A key of `len` zero bytes to be filled in place; `len` must be at
    /// most [`Self::MAX_LEN`] (callers pass suite sizes, all far below).
    pub(crate) fn zeroed(len: usize) -> Self {
        debug_assert!(len > 0 && len <= Self::MAX_LEN);
        Self {
            bytes: [0; Self::MAX_LEN],
            len: len.clamp(1, Self::MAX_LEN),
        }
    }

    /// The key bytes, writable; for filling a key made by [`Self::zeroed`].
    pub(crate) fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }

    /// The key bytes. Handle with care: whatever they are copied into must
    /// be zeroized by its owner.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for BaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BaseKey(<redacted>)")
    }
}

impl ConstantTimeEq for BaseKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are not secret; the bytes are compared in constant time.
        self.expose_secret().ct_eq(other.expose_secret())
    }
}

impl PartialEq for BaseKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for BaseKey {}

/// The output of RFC 9605 §4.4.2 for one KID: `sframe_key` (Nk bytes) and
/// `sframe_salt` (Nn bytes). Lives only while the cipher is built.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct KeyAndSalt {
    pub(crate) key: [u8; CipherSuite::MAX_KEY_LEN],
    pub(crate) key_len: usize,
    pub(crate) salt: [u8; CipherSuite::NONCE_LEN],
}

impl KeyAndSalt {
    pub(crate) fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }
}
