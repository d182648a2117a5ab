//! The receiving role: many keys by KID, each with its replay window.

use crate::error::Error;
use crate::frame::{FrameKey, Opened};
use crate::ids::KeyId;
use crate::key_store::{KeyStore, ReceiveKey, WINDOW_WORDS, fresh_window};
use crate::replay::ReplayWindow;
use crate::roles::{Ciphertext, Open};
use crate::secret::{BaseKey, KeyShare};
use crate::suite::CipherSuite;

/// Opens frames from any sender whose key is installed: an [`Open`].
///
/// The store decides where keys live: [`FixedKeyStore<N>`](crate::FixedKeyStore)
/// needs no allocator, [`VecKeyStore`](crate::VecKeyStore) grows (feature
/// `alloc`). Each key carries its own suite, so one receiver can hold keys
/// of different suites.
///
/// **Replays are rejected by default** (RFC 9605 §9.3): each key has an
/// anti-replay window of 128 counters (narrower with
/// [`Self::with_replay_window`]), checked before decryption and updated
/// only after a frame authenticates, so a frame opens once and a counter
/// more than the window below the highest seen is refused with
/// [`Error::Replayed`]. An application that already deduplicates (for
/// example per RTP sequence number, with its own window) can opt out with
/// [`Self::without_replay_protection`].
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes256GcmSha512_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(5), BaseKey::new(&[5; 32])?);
/// let mut receiver = Receiver::<FixedKeyStore<4>>::new();
/// receiver.add_share(share)?;
///
/// let mut wire = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut wire)?;
/// let wire = &wire[sealed.frame()];
/// let mut out = [0u8; 64];
/// let opened = receiver.open(b"", wire, &mut out)?;
/// assert_eq!(&out[opened.plaintext()], b"frame");
/// assert_eq!(receiver.open(b"", wire, &mut out), Err(Error::Replayed));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Debug)]
pub struct Receiver<S: KeyStore> {
    keys: S,
    /// The replay window width of keys installed from now on; `None` when
    /// replay protection is off.
    window_width: Option<usize>,
}

impl<S: KeyStore + Default> Default for Receiver<S> {
    fn default() -> Self {
        Self::with_store(S::default())
    }
}

impl<S: KeyStore> Receiver<S> {
    /// The widest replay window a key can have: 128 counters.
    pub const MAX_REPLAY_WINDOW: usize = ReplayWindow::<WINDOW_WORDS>::CAPACITY;

    /// An empty receiver with replay protection.
    #[must_use]
    pub fn new() -> Self
    where
        S: Default,
    {
        Self::default()
    }

    /// A receiver over the given store, with replay protection.
    #[must_use]
    pub const fn with_store(keys: S) -> Self {
        Self {
            keys,
            window_width: Some(Self::MAX_REPLAY_WINDOW),
        }
    }

    /// Sets the anti-replay window width for keys installed from now on.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 <= width <=`
    /// [`Self::MAX_REPLAY_WINDOW`].
    pub fn with_replay_window(mut self, width: usize) -> Result<Self, Error> {
        if width == 0 || width > Self::MAX_REPLAY_WINDOW {
            return Err(Error::InvalidParameter);
        }
        self.window_width = Some(width);
        Ok(self)
    }

    /// Turns replay protection off: the same frame opens as often as it
    /// arrives. Only for applications that deduplicate frames themselves
    /// before they reach the receiver (RFC 9605 §9.3 leaves replay
    /// protection to "the application or the SFrame layer").
    #[must_use]
    pub const fn without_replay_protection(mut self) -> Self {
        self.window_width = None;
        self
    }

    /// Whether replays are rejected.
    #[must_use]
    pub const fn rejects_replays(&self) -> bool {
        self.window_width.is_some()
    }

    /// Derives and installs the key for `kid` (RFC 9605 §4.4.2), replacing
    /// and zeroizing any key already installed for it, with a fresh replay
    /// window. `base_key` is consumed and zeroized.
    ///
    /// # Errors
    /// [`Error::StoreFull`] if a fixed-capacity store has no room.
    pub fn add_key(
        &mut self,
        suite: CipherSuite,
        kid: KeyId,
        base_key: BaseKey,
    ) -> Result<(), Error> {
        self.install(FrameKey::derive(suite, kid, &base_key))
    }

    /// Installs a sender's [`KeyShare`], as [`Self::add_key`].
    ///
    /// # Errors
    /// [`Error::StoreFull`] if a fixed-capacity store has no room.
    pub fn add_share(&mut self, share: KeyShare) -> Result<(), Error> {
        self.install(FrameKey::derive(
            share.suite(),
            share.kid(),
            share.base_key(),
        ))
    }

    fn install(&mut self, key: FrameKey) -> Result<(), Error> {
        let width = self.window_width.unwrap_or(Self::MAX_REPLAY_WINDOW);
        self.keys.insert(ReceiveKey::new(key, fresh_window(width)))
    }

    /// Removes and zeroizes the key for `kid`; returns whether there was one.
    pub fn remove_key(&mut self, kid: KeyId) -> bool {
        self.keys.remove(kid)
    }

    /// Whether a key is installed for `kid`.
    #[must_use]
    pub fn has_key(&self, kid: KeyId) -> bool {
        self.keys.contains(kid)
    }

    /// The number of installed keys.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

impl<S: KeyStore> Open for Receiver<S> {
    fn open_frame(&mut self, metadata: &[u8], mut frame: Ciphertext<'_>) -> Result<Opened, Error> {
        let header = frame.header()?;
        let entry = self
            .keys
            .get_mut(header.kid())
            .ok_or(Error::UnknownKeyId(header.kid()))?;
        if self.window_width.is_some() {
            entry.open(header, &mut frame, metadata)
        } else {
            frame.open(&entry.key, metadata)
        }
    }
}
