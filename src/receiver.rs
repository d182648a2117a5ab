//! The receiving role: many keys by KID, decrypt only.

use crate::error::Error;
use crate::frame::{Decrypted, FrameKey};
use crate::header::{Header, KeyId};
use crate::key_store::KeyStore;
use crate::secret::BaseKey;
use crate::suite::CipherSuite;

/// Decrypts frames from any sender whose key is installed.
///
/// The store decides where keys live: [`FixedKeyStore<N>`](crate::FixedKeyStore)
/// needs no allocator, [`VecKeyStore`](crate::VecKeyStore) grows (feature
/// `alloc`). Each key carries its own suite, so one receiver can hold keys
/// of different suites.
#[derive(Debug, Default)]
pub struct Receiver<S: KeyStore> {
    keys: S,
}

impl<S: KeyStore> Receiver<S> {
    /// An empty receiver.
    #[must_use]
    pub fn new() -> Self
    where
        S: Default,
    {
        Self { keys: S::default() }
    }

    /// A receiver over the given store.
    #[must_use]
    pub const fn with_store(keys: S) -> Self {
        Self { keys }
    }

    /// Derives and installs the key for `kid` (RFC 9605 §4.4.2), replacing
    /// and zeroizing any key already installed for it.
    ///
    /// # Errors
    /// [`Error::StoreFull`] if a fixed-capacity store has no room.
    pub fn add_key(
        &mut self,
        suite: CipherSuite,
        kid: KeyId,
        base_key: &BaseKey,
    ) -> Result<(), Error> {
        self.keys.insert(FrameKey::derive(suite, kid, base_key))
    }

    /// Removes and zeroizes the key for `kid`; returns whether there was one.
    pub fn remove_key(&mut self, kid: KeyId) -> bool {
        self.keys.remove(kid)
    }

    /// Whether a key is installed for `kid`.
    #[must_use]
    pub fn has_key(&self, kid: KeyId) -> bool {
        self.keys.get(kid).is_some()
    }

    /// The number of installed keys.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn key_for(&self, kid: KeyId) -> Result<&FrameKey, Error> {
        self.keys.get(kid).ok_or(Error::UnknownKeyId)
    }

    /// Decrypts the SFrame ciphertext `frame` into `out`; the plaintext is
    /// `out[result.plaintext()]`. `metadata` must be the bytes the sender
    /// authenticated.
    ///
    /// On any error nothing is released: `out` holds no plaintext (after an
    /// authentication failure its first `frame`-payload-length bytes are
    /// zeroed).
    ///
    /// # Errors
    /// [`Error::MalformedHeader`], [`Error::UnknownKeyId`],
    /// [`Error::FrameTooShort`], [`Error::BufferTooSmall`] (if `out` is
    /// shorter than the payload), [`Error::AuthenticationFailed`], and
    /// [`Error::MetadataTooLong`] in builds without `alloc`.
    pub fn decrypt(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<Decrypted, Error> {
        let header = Header::parse(frame)?;
        self.key_for(header.kid())?
            .open_into(&header, metadata, frame, out)
    }

    /// Decrypts the SFrame ciphertext that fills `buf`, in place. The
    /// plaintext is `buf[result.plaintext()]`, between the header and the tag.
    ///
    /// If the frame fails authentication, the bytes between the header and
    /// the tag are zeroed, so no unauthenticated plaintext is left behind on
    /// any backend.
    ///
    /// # Errors
    /// As [`Self::decrypt`], without [`Error::BufferTooSmall`].
    pub fn decrypt_in_place(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
    ) -> Result<Decrypted, Error> {
        let parsed = Header::parse(buf)?;
        let (header, header_len) = (parsed.header(), parsed.len());
        self.key_for(header.kid())?
            .open_in_place(header, header_len, metadata, buf)
    }

    /// Decrypts `frame` into a new vector.
    ///
    /// # Errors
    /// As [`Self::decrypt`], without [`Error::BufferTooSmall`].
    #[cfg(feature = "alloc")]
    pub fn decrypt_to_vec(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
    ) -> Result<(Header, alloc::vec::Vec<u8>), Error> {
        let mut out = alloc::vec![0; frame.len()];
        let decrypted = self.decrypt(metadata, frame, &mut out)?;
        out.truncate(decrypted.plaintext().end);
        Ok((decrypted.header(), out))
    }
}
