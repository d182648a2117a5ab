//! The two numbers of an SFrame header (RFC 9605 §4.3): the key ID that
//! selects a key and the counter that makes each nonce unique.

use core::fmt;

/// An SFrame key ID (KID), RFC 9605 §4.3: selects the key of a frame.
///
/// ```
/// use framecrypt::KeyId;
///
/// assert_eq!(KeyId::from(0x123), KeyId(0x123));
/// assert_eq!(KeyId(0x123).to_string(), "0x123");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u64);

/// An SFrame counter (CTR), RFC 9605 §4.3: the per-key frame number that
/// forms the nonce.
///
/// ```
/// use framecrypt::Counter;
///
/// assert_eq!(Counter::from(7), Counter(7));
/// assert_eq!(Counter(255).to_string(), "0xff");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counter(pub u64);

impl From<u64> for KeyId {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl From<u64> for Counter {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
