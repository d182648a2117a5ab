//! Secret key material: base keys and the derived SFrame key and salt.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::ids::KeyId;
use crate::suite::CipherSuite;

/// A base key (RFC 9605 §4.4.1): the secret from which a KID's SFrame key
/// and salt are derived.
///
/// Zeroized on drop, never `Clone`, redacted in `Debug`, compared in
/// constant time. Its length is up to the application (16 bytes in the RFC
/// vectors, `Nh` after a ratchet step, `Nk` from an MLS exporter). Every
/// constructor and installer takes it by value: one key, one holder.
///
/// ```
/// use framecrypt::BaseKey;
///
/// let key = BaseKey::new(&[0x42; 16])?;
/// assert_eq!(format!("{key:?}"), "BaseKey(<redacted>)");
/// assert_eq!(key, BaseKey::new(&[0x42; 16])?); // constant-time comparison
/// assert!(BaseKey::new(&[]).is_err());
/// # Ok::<(), framecrypt::Error>(())
/// ```
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

    /// Sets the length (at most [`Self::MAX_LEN`]) of a key to be filled
    /// in place.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.clamp(1, Self::MAX_LEN);
    }

    /// The key bytes, writable; for filling a key made by [`Self::zeroed`].
    pub(crate) fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }

    /// A second copy, for the key holders that hand one key to many
    /// derivations (every sender of an MLS epoch, a receiver's share).
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            bytes: self.bytes,
            len: self.len,
        }
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

/// A sender's key as its receivers install it: suite, KID and base key.
///
/// A share opens frames and never seals them ([`crate::Sender`] cannot be
/// built from one), so it can be duplicated for every receiver without
/// risking nonce reuse. Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(4), BaseKey::new(&[4; 16])?);
/// let mut alice = Receiver::<FixedKeyStore<4>>::new();
/// let mut bob = Receiver::<FixedKeyStore<4>>::new();
/// alice.add_share(share.duplicate())?;
/// bob.add_share(share)?;
/// let mut wire = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut wire)?;
/// let wire = &wire[sealed.frame()];
/// let mut out = [0u8; 64];
/// for receiver in [&mut alice, &mut bob] {
///     let opened = receiver.open(b"", wire, &mut out)?;
///     assert_eq!(&out[opened.plaintext()], b"frame");
/// }
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    #[zeroize(skip)]
    suite: CipherSuite,
    #[zeroize(skip)]
    kid: KeyId,
    base_key: BaseKey,
}

impl KeyShare {
    pub(crate) const fn new(suite: CipherSuite, kid: KeyId, base_key: BaseKey) -> Self {
        Self {
            suite,
            kid,
            base_key,
        }
    }

    /// The sender's cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The sender's KID.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.kid
    }

    /// Another copy, for another receiver.
    #[must_use]
    pub fn duplicate(&self) -> Self {
        Self::new(self.suite, self.kid, self.base_key.duplicate())
    }

    /// The base key, for deriving the receive key.
    pub(crate) const fn base_key(&self) -> &BaseKey {
        &self.base_key
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("suite", &self.suite)
            .field("kid", &self.kid)
            .field("base_key", &self.base_key)
            .finish()
    }
}

/// The output of RFC 9605 §4.4.2 for one KID: `sframe_key` (Nk bytes) and
/// `sframe_salt` (Nn bytes). Lives only while the cipher is built.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct KeyAndSalt {
    pub(crate) key: [u8; CipherSuite::MAX_KEY_LEN],
    pub(crate) key_len: usize,
    pub(crate) salt: [u8; CipherSuite::NONCE_LEN],
}

impl KeyAndSalt {
    /// All zero, of no length: a slot to be filled.
    pub(crate) const fn zeroed() -> Self {
        Self {
            key: [0; CipherSuite::MAX_KEY_LEN],
            key_len: 0,
            salt: [0; CipherSuite::NONCE_LEN],
        }
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }
}

/// The stack overwritten by [`wiped`], in bytes.
#[cfg(feature = "alloc")]
const STACK_WIPE_LEN: usize = 4096;

/// Runs `f` (a key derivation, a cipher set-up) in a stack frame of its
/// own, with the stack below the caller overwritten with zeros before and
/// after: after, to wipe what `f` left there (the key schedule's
/// intermediate blocks, a cipher crate's copy of its key, a value moved
/// away from); before, so that what `f` builds does not pick up what
/// earlier calls left.
///
/// Why: a key holder built later in that memory (a frame key is built in
/// a callee and then moved into place) keeps, in the bytes no field of it
/// writes (a union's other half, an enum's longer variant, padding),
/// whatever was there before, and carries it into the store it is moved
/// to; dropping it wipes its fields, not those bytes. With a heap, that is
/// how a key ends up in freed memory (`tests/freed_keys.rs` finds it).
/// Without `alloc` key holders live where the application put them and
/// nothing is freed, so no stack is spent on this.
#[cfg(feature = "alloc")]
#[inline(always)]
pub(crate) fn wiped<T>(f: impl FnOnce() -> T) -> T {
    // Before, so that what `f` builds is not built over what earlier
    // calls left; after, so that what `f` left is gone.
    wipe_stack();
    let result = apart(f);
    wipe_stack();
    result
}

/// Without `alloc`, `f()`: see the `alloc` version.
#[cfg(not(feature = "alloc"))]
#[inline(always)]
pub(crate) fn wiped<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// `f()` in a frame of its own, below the caller's.
#[cfg(feature = "alloc")]
#[inline(never)]
fn apart<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// Overwrites with zeros the [`STACK_WIPE_LEN`] bytes of stack below the
/// caller's frame (inside a [`wiped`] call, between two steps whose
/// second builds a key holder).
#[cfg(feature = "alloc")]
#[inline(never)]
pub(crate) fn wipe_stack() {
    // A plain zero fill (a vectorised memset) whose address escapes into
    // `black_box`, so the stores cannot be dropped as dead; `zeroize`'s
    // volatile writes, 16 bytes each, made this a quarter of the cost of
    // a forged frame that names a new key (issue 16). The freed-memory
    // scan (`tests/freed_keys.rs`) fails if this wipe goes missing.
    let mut below = [0u128; STACK_WIPE_LEN / 16];
    core::hint::black_box(&mut below);
}

/// Without `alloc`, nothing: see [`wiped`].
#[cfg(not(feature = "alloc"))]
#[inline(always)]
pub(crate) fn wipe_stack() {}
