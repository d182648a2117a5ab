//! Where a [`Receiver`](crate::Receiver) keeps its keys, indexed by KID,
//! each with its anti-replay window (RFC 9605 §9.3).
//!
//! Both stores find a key by binary search over KIDs kept in order, so a
//! lookup among a thousand keys costs about ten comparisons. **A key never
//! moves once stored**: the fixed store sorts an index of slot numbers, the
//! growable one a vector of boxes, so inserting or removing other keys
//! shifts only indices and pointers, and no stale copy of key material is
//! left in memory the store owns or frees. Removing or replacing a key
//! drops it where it lies, which zeroizes it.

use crate::error::Error;
use crate::frame::{FrameKey, Opened};
use crate::header::Header;
use crate::ids::KeyId;
use crate::replay::ReplayWindow;
use crate::roles::Ciphertext;

pub(crate) mod sealed {
    use super::ReceiveKey;
    use crate::ids::KeyId;

    /// The operations a [`Receiver`](crate::Receiver) needs; private so
    /// that no outside store can hold keys somewhere they are not erased.
    pub trait Store {
        fn get_mut(&mut self, kid: KeyId) -> Option<&mut ReceiveKey>;
        fn contains(&self, kid: KeyId) -> bool;
        /// Installs `key`, replacing (and zeroizing) any key with its KID.
        fn insert(&mut self, key: ReceiveKey) -> Result<(), crate::Error>;
        /// Removes and zeroizes the key for `kid`.
        fn remove(&mut self, kid: KeyId) -> bool;
        fn count(&self) -> usize;
    }
}

/// A set of receive keys indexed by KID: [`FixedKeyStore`] (no allocator)
/// or [`VecKeyStore`] (with `alloc`). Sealed: a store must erase what it
/// removes, which the library can only promise for its own.
///
/// ```
/// use framecrypt::{FixedKeyStore, KeyStore};
///
/// let store = FixedKeyStore::<8>::new();
/// assert!(store.is_empty());
/// assert_eq!(store.len(), 0);
/// ```
pub trait KeyStore: sealed::Store {
    /// The number of installed keys.
    fn len(&self) -> usize {
        self.count()
    }

    /// Whether no key is installed.
    fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// The replay window width of a store entry: 128 counters.
pub(crate) const WINDOW_WORDS: usize = 2;

/// A receive key with its replay window.
pub struct ReceiveKey<const W: usize = WINDOW_WORDS> {
    pub(crate) key: FrameKey,
    pub(crate) window: ReplayWindow<W>,
}

impl<const W: usize> ReceiveKey<W> {
    pub(crate) const fn new(key: FrameKey, window: ReplayWindow<W>) -> Self {
        Self { key, window }
    }

    /// As [`Self::open`], leaving a failed in-place frame as it was so
    /// that another key can be tried on it (see [`Ciphertext::try_open`]).
    pub(crate) fn try_open(
        &mut self,
        header: Header,
        io: &mut Ciphertext<'_>,
        metadata: &[u8],
    ) -> Result<Opened, Error> {
        self.checked(header, |key| io.try_open(key, metadata))
    }

    /// Replay check, decrypt, and only after authentication, record the
    /// counter (RFC 9605 §9.3).
    pub(crate) fn open(
        &mut self,
        header: Header,
        io: &mut Ciphertext<'_>,
        metadata: &[u8],
    ) -> Result<Opened, Error> {
        self.checked(header, |key| io.open(key, metadata))
    }

    /// Runs `open` between the replay check and the recording of the
    /// counter, which happens only when it authenticates.
    fn checked(
        &mut self,
        header: Header,
        open: impl FnOnce(&FrameKey) -> Result<Opened, Error>,
    ) -> Result<Opened, Error> {
        self.window.check(header.ctr())?;
        let opened = open(&self.key)?;
        self.window.record(header.ctr());
        Ok(opened)
    }
}

impl<const W: usize> core::fmt::Debug for ReceiveKey<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReceiveKey")
            .field("key", &self.key)
            .field("window", &self.window)
            .finish()
    }
}

/// A window as configured (its width), with nothing recorded.
pub(crate) fn fresh_window<const W: usize>(width: usize) -> ReplayWindow<W> {
    // Widths are validated when the receiver is configured.
    ReplayWindow::with_width(width).unwrap_or_default()
}

/// A key store of at most `N` keys that needs no allocator.
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut receiver = Receiver::<FixedKeyStore<2>>::new(); // room for two KIDs
/// receiver.add_key(suite, KeyId(1), BaseKey::new(&[1; 16])?)?;
/// receiver.add_key(suite, KeyId(2), BaseKey::new(&[2; 16])?)?;
/// assert_eq!(receiver.add_key(suite, KeyId(3), BaseKey::new(&[3; 16])?), Err(Error::StoreFull));
///
/// // Removing a key (it is zeroized) makes room for another.
/// assert!(receiver.remove_key(KeyId(1)));
/// receiver.add_key(suite, KeyId(3), BaseKey::new(&[3; 16])?)?;
/// let mut sender = Sender::new(suite, KeyId(3), BaseKey::new(&[3; 16])?);
/// let mut wire = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut wire)?;
/// let mut out = [0u8; 64];
/// let opened = receiver.open(b"", &wire[sealed.frame()], &mut out)?;
/// assert_eq!(&out[opened.plaintext()], b"frame");
/// # Ok::<(), framecrypt::Error>(())
/// ```
pub struct FixedKeyStore<const N: usize> {
    /// Keys where they were installed; a slot is never moved.
    slots: [Option<ReceiveKey>; N],
    /// `order[..len]`: slot numbers sorted by their key's KID.
    order: [usize; N],
    len: usize,
}

impl<const N: usize> FixedKeyStore<N> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| None),
            order: [0; N],
            len: 0,
        }
    }

    fn kid_at(&self, slot: usize) -> KeyId {
        self.slots[slot]
            .as_ref()
            .map_or(KeyId(0), |entry| entry.key.kid())
    }

    /// The position in `order` of `kid`, or where it would go.
    fn position(&self, kid: KeyId) -> Result<usize, usize> {
        self.order[..self.len].binary_search_by_key(&kid, |&slot| self.kid_at(slot))
    }
}

impl<const N: usize> Default for FixedKeyStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> sealed::Store for FixedKeyStore<N> {
    fn get_mut(&mut self, kid: KeyId) -> Option<&mut ReceiveKey> {
        let slot = self.order[self.position(kid).ok()?];
        self.slots[slot].as_mut()
    }

    fn contains(&self, kid: KeyId) -> bool {
        self.position(kid).is_ok()
    }

    fn insert(&mut self, key: ReceiveKey) -> Result<(), Error> {
        match self.position(key.key.kid()) {
            // Dropping the old key where it lies zeroizes it.
            Ok(i) => self.slots[self.order[i]] = Some(key),
            Err(i) => {
                let free = self
                    .slots
                    .iter()
                    .position(Option::is_none)
                    .ok_or(Error::StoreFull)?;
                self.slots[free] = Some(key);
                self.order.copy_within(i..self.len, i + 1);
                self.order[i] = free;
                self.len += 1;
            }
        }
        Ok(())
    }

    fn remove(&mut self, kid: KeyId) -> bool {
        let Ok(i) = self.position(kid) else {
            return false;
        };
        // Dropping the key where it lies zeroizes it.
        self.slots[self.order[i]] = None;
        self.order.copy_within(i + 1..self.len, i);
        self.len -= 1;
        true
    }

    fn count(&self) -> usize {
        self.len
    }
}

impl<const N: usize> KeyStore for FixedKeyStore<N> {}

impl<const N: usize> core::fmt::Debug for FixedKeyStore<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_list();
        for &slot in &self.order[..self.len] {
            list.entry(&self.kid_at(slot));
        }
        list.finish()
    }
}

/// A growable key store (feature `alloc`).
///
/// Each key lives in a `Box` of its own, so growing or shifting the vector
/// moves pointers, never key material.
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Receiver, Sender, VecKeyStore};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let mut receiver = Receiver::<VecKeyStore>::new();
/// // One key per participant, as many as the call has: the store grows.
/// for id in 0..100u8 {
///     receiver.add_key(suite, KeyId(id.into()), BaseKey::new(&[id; 16])?)?;
/// }
/// assert_eq!(receiver.key_count(), 100);
///
/// let mut sender = Sender::new(suite, KeyId(42), BaseKey::new(&[42; 16])?);
/// let frame = sender.seal_to_vec(b"", b"from participant 42")?;
/// let (opened, plaintext) = receiver.open_to_vec(b"", &frame)?;
/// assert_eq!(plaintext, b"from participant 42");
/// assert_eq!(opened.header().kid(), KeyId(42));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Default)]
pub struct VecKeyStore {
    /// Sorted by KID. Boxed on purpose (clippy's `vec_box` is about
    /// speed): shifting boxes moves pointers, not key material.
    #[allow(clippy::vec_box)]
    keys: alloc::vec::Vec<alloc::boxed::Box<ReceiveKey>>,
}

#[cfg(feature = "alloc")]
impl VecKeyStore {
    /// An empty store.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            keys: alloc::vec::Vec::new(),
        }
    }

    fn position(&self, kid: KeyId) -> Result<usize, usize> {
        self.keys
            .binary_search_by_key(&kid, |entry| entry.key.kid())
    }
}

#[cfg(feature = "alloc")]
impl sealed::Store for VecKeyStore {
    fn get_mut(&mut self, kid: KeyId) -> Option<&mut ReceiveKey> {
        let i = self.position(kid).ok()?;
        self.keys.get_mut(i).map(|entry| &mut **entry)
    }

    fn contains(&self, kid: KeyId) -> bool {
        self.position(kid).is_ok()
    }

    fn insert(&mut self, key: ReceiveKey) -> Result<(), Error> {
        match self.position(key.key.kid()) {
            // Overwrite inside the old box: the old key is dropped (and
            // zeroized) where it lies.
            Ok(i) => *self.keys[i] = key,
            Err(i) => self.keys.insert(i, alloc::boxed::Box::new(key)),
        }
        Ok(())
    }

    fn remove(&mut self, kid: KeyId) -> bool {
        self.position(kid)
            .map(|i| drop(self.keys.remove(i)))
            .is_ok()
    }

    fn count(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(feature = "alloc")]
impl KeyStore for VecKeyStore {}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for VecKeyStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|entry| entry.key.kid()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::BaseKey;
    use crate::suite::CipherSuite;

    fn entry(kid: u64) -> ReceiveKey {
        let base_key = BaseKey::new(&[7; 16]).expect("key");
        let key = FrameKey::derive(CipherSuite::Aes128GcmSha256_128, KeyId(kid), &base_key);
        ReceiveKey::new(key, ReplayWindow::new())
    }

    /// `is_empty` and `len` follow what is installed, in both stores.
    fn empty_follows_the_keys<S: KeyStore>(mut store: S) {
        assert!(store.is_empty());
        assert_eq!(store.len(), 0);
        store.insert(entry(5)).expect("room");
        assert!(!store.is_empty());
        assert_eq!(store.len(), 1);
        store.insert(entry(5)).expect("replaces");
        assert_eq!(store.len(), 1);
        store.insert(entry(3)).expect("room");
        assert_eq!(store.len(), 2);
        assert!(store.remove(KeyId(5)));
        assert!(!store.remove(KeyId(5)));
        assert!(!store.is_empty());
        assert!(store.remove(KeyId(3)));
        assert!(store.is_empty());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn a_receive_key_prints_its_kid_and_window_only() {
        let debug = alloc::format!("{:?}", entry(0x77));
        assert!(debug.starts_with("ReceiveKey"), "{debug}");
        assert!(debug.contains("kid: KeyId(119)"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(debug.contains("ReplayWindow"), "{debug}");
    }

    #[test]
    fn stores_say_whether_they_are_empty() {
        empty_follows_the_keys(FixedKeyStore::<2>::new());
        #[cfg(feature = "alloc")]
        empty_follows_the_keys(VecKeyStore::new());
    }
}
