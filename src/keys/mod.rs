//! Per-participant key management on top of the core codec: sender-key
//! ratcheting (RFC 9605 §5.1, [`ratchet`]) and MLS epochs (RFC 9605 §5.2,
//! [`mls`]), with per-key anti-replay windows, bounded retention of old keys
//! and per-sender failure counters.
//!
//! Everything here except [`distribute`] (X25519/HPKE key distribution,
//! feature `distribute`) is fixed-capacity (const generics) and needs no
//! allocator; time is an argument (`now_ms`, milliseconds on any monotonic
//! clock the application chooses).

use crate::error::Error;

#[cfg(feature = "distribute")]
pub mod distribute;
pub(crate) mod mls;
pub(crate) mod ratchet;

/// How long keys that have been superseded (an earlier ratchet step, an
/// earlier generation, an earlier MLS epoch) keep decrypting late frames.
///
/// A superseded key is erased (zeroized) as soon as either bound is
/// reached: when more than `max_previous` newer superseded keys exist, or
/// once `max_age_ms` milliseconds have passed since it was superseded. The
/// key in current use is never expired.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, Error, RatchetBits, RatchetingReceiver, RatchetingSender, Retention};
///
/// let (suite, bits) = (CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?);
/// let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
/// let retention = Retention { max_previous: 1, max_age_ms: 1_000 };
/// let mut receiver = RatchetingReceiver::<2>::new(suite, bits).with_retention(retention)?;
/// receiver.install_share(sender.share(), 0)?;
/// let (late, later) = (sender.seal_to_vec(b"", b"step 0")?, sender.seal_to_vec(b"", b"step 0")?);
///
/// sender.ratchet(); // step 1: step 0 is superseded when its first frame arrives, at 10 ms
/// receiver.at(10).open_to_vec(b"", &sender.seal_to_vec(b"", b"step 1")?)?;
/// assert_eq!(receiver.at(500).open_to_vec(b"", &late)?.1, b"step 0");
/// assert_eq!(receiver.at(1_010).open_to_vec(b"", &later).map(|_| ()), Err(Error::KeyExpired));
/// assert_eq!(Retention::default(), Retention { max_previous: 3, max_age_ms: 5_000 });
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retention {
    /// How many superseded keys are kept at most (further capped by the
    /// receiver's fixed capacity).
    pub max_previous: usize,
    /// How long a superseded key is kept, in milliseconds after it was
    /// superseded. A key superseded at `t` decrypts while `now_ms < t +
    /// max_age_ms`.
    pub max_age_ms: u64,
}

impl Retention {
    /// Three superseded keys for at most five seconds: enough for the
    /// reordering of real-time media, short enough to erase keys promptly
    /// (RFC 9605 §5.1: old keys "should be deleted promptly").
    pub const DEFAULT: Self = Self {
        max_previous: 3,
        max_age_ms: 5_000,
    };

    /// Keep nothing: a superseded key is erased at once.
    pub const NONE: Self = Self {
        max_previous: 0,
        max_age_ms: 0,
    };

    /// Whether a key superseded at `retired_at` has expired at `now_ms`.
    pub(crate) const fn expired(&self, retired_at: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(retired_at) >= self.max_age_ms
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Counters of decrypt outcomes for one sender, so an application can tell
/// which participant fails and why.
///
/// Each failed call counts under exactly one kind; errors that are the
/// caller's own ([`Error::BufferTooSmall`], [`Error::MetadataTooLong`],
/// [`Error::StoreFull`]) are not counted.
///
/// ```
/// # #[cfg(feature = "alloc")]
/// # fn main() -> Result<(), framecrypt::Error> {
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, RatchetBits, RatchetingReceiver, RatchetingSender};
///
/// let (suite, bits) = (CipherSuite::Aes128GcmSha256_128, RatchetBits::new(8)?);
/// let mut sender = RatchetingSender::new(suite, bits, 0, BaseKey::new(&[1; 16])?)?;
/// let mut receiver = RatchetingReceiver::<2>::new(suite, bits);
/// receiver.install_share(sender.share(), 0)?;
///
/// let frame = sender.seal_to_vec(b"", b"frame")?;
/// receiver.at(0).open_to_vec(b"", &frame)?;
/// assert!(receiver.at(0).open_to_vec(b"", &frame).is_err()); // the same frame again
/// let mut forged = sender.seal_to_vec(b"", b"frame")?;
/// let last = forged.len() - 1;
/// forged[last] ^= 1; // one bit of the tag
/// assert!(receiver.at(0).open_to_vec(b"", &forged).is_err());
///
/// let stats = receiver.stats();
/// assert_eq!((stats.ok, stats.replayed, stats.authentication_failed), (1, 1, 1));
/// assert_eq!(stats.failures(), 2);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "alloc"))]
/// # fn main() {}
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DecryptStats {
    /// Frames decrypted and authenticated.
    pub ok: u64,
    /// No key for the KID ([`Error::UnknownKeyId`], [`Error::NoEpoch`]).
    pub unknown_key_id: u64,
    /// The KID's ratchet step was beyond the forward limit
    /// ([`Error::TooFarAhead`]).
    pub too_far_ahead: u64,
    /// The KID's key had been erased ([`Error::KeyExpired`]).
    pub key_expired: u64,
    /// The counter was replayed or too old ([`Error::Replayed`]).
    pub replayed: u64,
    /// The frame did not authenticate ([`Error::AuthenticationFailed`]).
    pub authentication_failed: u64,
    /// The header or frame was malformed ([`Error::MalformedHeader`],
    /// [`Error::FrameTooShort`]).
    pub malformed: u64,
}

impl DecryptStats {
    /// All failures counted.
    #[must_use]
    pub const fn failures(&self) -> u64 {
        self.unknown_key_id
            .saturating_add(self.too_far_ahead)
            .saturating_add(self.key_expired)
            .saturating_add(self.replayed)
            .saturating_add(self.authentication_failed)
            .saturating_add(self.malformed)
    }

    /// Counts one outcome.
    pub(crate) fn record<T>(&mut self, result: &Result<T, Error>) {
        let counter = match result {
            Ok(_) => &mut self.ok,
            Err(Error::UnknownKeyId(_) | Error::NoEpoch) => &mut self.unknown_key_id,
            Err(Error::TooFarAhead) => &mut self.too_far_ahead,
            Err(Error::KeyExpired) => &mut self.key_expired,
            Err(Error::Replayed) => &mut self.replayed,
            Err(Error::AuthenticationFailed) => &mut self.authentication_failed,
            Err(Error::MalformedHeader | Error::FrameTooShort) => &mut self.malformed,
            Err(_) => return,
        };
        *counter = counter.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use zeroize::ZeroizeOnDrop;

    use super::*;
    use crate::secret::BaseKey;

    fn zeroized_on_drop<T: ZeroizeOnDrop>() {}

    /// Every secret a retained key is built from is wiped when the key is
    /// dropped, so erasing a key (expiry, eviction, rollover) zeroizes it:
    /// base keys, AES round keys (GCM and CTR) and the keyed HMAC states.
    #[test]
    fn key_material_is_zeroized_on_drop() {
        zeroized_on_drop::<BaseKey>();
        zeroized_on_drop::<aes_gcm::Aes128Gcm>();
        zeroized_on_drop::<aes_gcm::Aes256Gcm>();
        zeroized_on_drop::<aes::Aes128>();
        zeroized_on_drop::<aes::Aes256>();
        // `Hmac<H>` declares no marker, but all it holds is two keyed hash
        // cores (inner and outer pad) of this type, and a block buffer.
        zeroized_on_drop::<<sha2::Sha256 as hmac::EagerHash>::Core>();
        zeroized_on_drop::<<sha2::Sha512 as hmac::EagerHash>::Core>();
    }

    #[test]
    fn stats_count_each_kind_once_and_ignore_caller_errors() {
        let mut stats = DecryptStats::default();
        let kinds = [
            Error::UnknownKeyId(crate::KeyId(1)),
            Error::TooFarAhead,
            Error::KeyExpired,
            Error::Replayed,
            Error::AuthenticationFailed,
            Error::MalformedHeader,
            Error::FrameTooShort,
        ];
        for e in kinds {
            stats.record::<()>(&Err(e));
        }
        for e in [
            Error::BufferTooSmall,
            Error::MetadataTooLong,
            Error::StoreFull,
        ] {
            stats.record::<()>(&Err(e));
        }
        stats.record(&Ok(()));
        assert_eq!(
            stats,
            DecryptStats {
                ok: 1,
                unknown_key_id: 1,
                too_far_ahead: 1,
                key_expired: 1,
                replayed: 1,
                authentication_failed: 1,
                malformed: 2,
            }
        );
        assert_eq!(stats.failures(), 7);
    }

    #[test]
    fn retention_expiry_is_at_max_age() {
        let retention = Retention {
            max_previous: 1,
            max_age_ms: 100,
        };
        assert!(!retention.expired(1_000, 1_099));
        assert!(retention.expired(1_000, 1_100));
        // A clock that goes backwards does not expire anything.
        assert!(!retention.expired(1_000, 10));
        assert!(Retention::NONE.expired(5, 5));
    }
}
