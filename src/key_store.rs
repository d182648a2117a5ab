//! Where a [`Receiver`](crate::Receiver) keeps its keys, indexed by KID.
//!
//! Both stores keep keys sorted by KID and find one by binary search, so a
//! lookup among a thousand keys costs about ten comparisons. Removing or
//! replacing a key drops it, which zeroizes it.

use crate::error::Error;
use crate::frame::FrameKey;
use crate::header::KeyId;

mod sealed {
    pub trait Sealed {}
}

/// A set of [`FrameKey`]s indexed by KID. Implemented by [`FixedKeyStore`]
/// (no allocator) and [`VecKeyStore`] (with `alloc`); sealed.
pub trait KeyStore: sealed::Sealed {
    /// The key for `kid`, if installed.
    fn get(&self, kid: KeyId) -> Option<&FrameKey>;

    /// Installs `key`, replacing (and zeroizing) any key with the same KID.
    ///
    /// # Errors
    /// [`Error::StoreFull`] if the store has no room for a new KID.
    fn insert(&mut self, key: FrameKey) -> Result<(), Error>;

    /// Removes and zeroizes the key for `kid`; returns whether there was one.
    fn remove(&mut self, kid: KeyId) -> bool;

    /// The number of installed keys.
    fn len(&self) -> usize;

    /// Whether no key is installed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A key store of at most `N` keys that needs no allocator.
pub struct FixedKeyStore<const N: usize> {
    /// `kids[..len]` sorted; `keys[i]` is the key of `kids[i]`.
    kids: [KeyId; N],
    keys: [Option<FrameKey>; N],
    len: usize,
}

impl<const N: usize> FixedKeyStore<N> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            kids: [KeyId(0); N],
            keys: core::array::from_fn(|_| None),
            len: 0,
        }
    }

    fn position(&self, kid: KeyId) -> Result<usize, usize> {
        self.kids[..self.len].binary_search(&kid)
    }
}

impl<const N: usize> Default for FixedKeyStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> sealed::Sealed for FixedKeyStore<N> {}

impl<const N: usize> KeyStore for FixedKeyStore<N> {
    fn get(&self, kid: KeyId) -> Option<&FrameKey> {
        self.keys[self.position(kid).ok()?].as_ref()
    }

    fn insert(&mut self, key: FrameKey) -> Result<(), Error> {
        match self.position(key.kid()) {
            Ok(i) => self.keys[i] = Some(key),
            Err(i) => {
                if self.len == N {
                    return Err(Error::StoreFull);
                }
                self.kids.copy_within(i..self.len, i + 1);
                self.kids[i] = key.kid();
                self.keys[i..=self.len].rotate_right(1);
                self.keys[i] = Some(key);
                self.len += 1;
            }
        }
        Ok(())
    }

    fn remove(&mut self, kid: KeyId) -> bool {
        let Ok(i) = self.position(kid) else {
            return false;
        };
        // Dropping the key zeroizes it.
        self.keys[i] = None;
        self.keys[i..self.len].rotate_left(1);
        self.kids.copy_within(i + 1..self.len, i);
        self.len -= 1;
        true
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<const N: usize> core::fmt::Debug for FixedKeyStore<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedKeyStore")
            .field("kids", &&self.kids[..self.len])
            .finish_non_exhaustive()
    }
}

/// A growable key store (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Default)]
pub struct VecKeyStore {
    /// Sorted by KID.
    keys: alloc::vec::Vec<FrameKey>,
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
        self.keys.binary_search_by_key(&kid, FrameKey::kid)
    }
}

#[cfg(feature = "alloc")]
impl sealed::Sealed for VecKeyStore {}

#[cfg(feature = "alloc")]
impl KeyStore for VecKeyStore {
    fn get(&self, kid: KeyId) -> Option<&FrameKey> {
        self.keys.get(self.position(kid).ok()?)
    }

    fn insert(&mut self, key: FrameKey) -> Result<(), Error> {
        match self.position(key.kid()) {
            Ok(i) => self.keys[i] = key,
            Err(i) => self.keys.insert(i, key),
        }
        Ok(())
    }

    fn remove(&mut self, kid: KeyId) -> bool {
        self.position(kid)
            .map(|i| drop(self.keys.remove(i)))
            .is_ok()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}
