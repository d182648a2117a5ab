//! Long-term X25519 identities (RFC 7748) and the roster entries that name
//! them.

use alloc::vec::Vec;
use core::fmt;

use hpke::Deserializable;
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Kem, MAX_ID_LEN};
use crate::error::Error;

/// A participant's long-term X25519 key pair: it seals announcements as a
/// sender (HPKE auth mode) and opens them as a recipient.
///
/// The secret is an `x25519_dalek::StaticSecret`, wiped when the identity
/// is dropped; the identity is not `Clone` and its `Debug` output shows the
/// public key only.
///
/// ```
/// use framecrypt::distribute::Identity;
///
/// let identity = Identity::generate(&mut rand_core::UnwrapErr(getrandom::SysRng));
/// let public = identity.public_key(); // publish this
/// assert!(format!("{identity:?}").contains("<redacted>"));
/// assert_eq!(Identity::from_secret_bytes(*identity.expose_secret()).public_key(), public);
/// ```
pub struct Identity {
    secret: StaticSecret,
    public: IdentityPublicKey,
}

impl Identity {
    /// A fresh identity from `rng`, a cryptographically secure generator
    /// (`rand_core` 0.10, the version `x25519-dalek` 3 and `hpke` 0.15 use).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_static(StaticSecret::random_from_rng(rng))
    }

    /// The identity whose secret scalar is `bytes`, as saved from
    /// [`Self::expose_secret`]. The caller should zeroize its own copy.
    #[must_use]
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        Self::from_static(StaticSecret::from(bytes))
    }

    fn from_static(secret: StaticSecret) -> Self {
        let public = IdentityPublicKey(PublicKey::from(&secret).to_bytes());
        Self { secret, public }
    }

    /// The public key to publish in the roster.
    #[must_use]
    pub const fn public_key(&self) -> IdentityPublicKey {
        self.public
    }

    /// The secret scalar, for storing the identity. Handle with care:
    /// whatever it is copied into must be zeroized by its owner.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.secret.as_bytes()
    }

    /// The private key as `hpke` wants it. `from_bytes` copies into a
    /// `StaticSecret` (wiped on drop) and wipes its own temporary; only a
    /// length mismatch could fail, and 32 is the right length.
    pub(super) fn hpke_private_key(&self) -> Result<<Kem as hpke::Kem>::PrivateKey, Error> {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(self.secret.as_bytes())
            .map_err(|_| Error::InvalidParameter)
    }
}

impl Zeroize for Identity {
    /// Replaces the secret with zeros (the old `StaticSecret` wipes itself
    /// as it is dropped in place). The identity must not be used after.
    fn zeroize(&mut self) {
        self.secret = StaticSecret::from([0; 32]);
    }
}

// The only secret field, a `StaticSecret` built with the `zeroize` feature,
// wipes itself on drop.
impl ZeroizeOnDrop for Identity {}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An X25519 public key: 32 bytes (RFC 7748 §5), never a low-order point.
///
/// ```
/// use framecrypt::distribute::IdentityPublicKey;
///
/// // The all-zero point is of low order: its shared secrets would be zero.
/// assert!(IdentityPublicKey::from_bytes([0; 32]).is_err());
/// assert!(IdentityPublicKey::from_bytes([9; 32]).is_ok());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPublicKey([u8; 32]);

impl IdentityPublicKey {
    /// The public key encoded as `bytes`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `bytes` encode a point of small
    /// order: every Diffie-Hellman with it gives the all-zero secret,
    /// which HPKE refuses (RFC 9180 §7.1.4), so no announcement could ever
    /// be sealed to it.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, Error> {
        // Any clamped scalar is 8·j with 0 < j < the group order, so the
        // product is zero exactly when the point's order divides 8.
        const PROBE: [u8; 32] = [0x5a; 32];
        let product = x25519_dalek::x25519(PROBE, bytes);
        if product == [0; 32] {
            return Err(Error::InvalidParameter);
        }
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as `hpke` wants it.
    pub(super) fn hpke(&self) -> Result<<Kem as hpke::Kem>::PublicKey, Error> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0).map_err(|_| Error::InvalidParameter)
    }
}

impl fmt::Debug for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityPublicKey(")?;
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}

/// A roster entry: a participant's ID in the session and its identity
/// public key, as the application has authenticated them (e.g. through its
/// login service). framecrypt trusts the binding of the two.
///
/// ```
/// use framecrypt::distribute::{IdentityPublicKey, Participant};
///
/// let key = IdentityPublicKey::from_bytes([9; 32])?;
/// let bob = Participant::new(b"bob", key)?;
/// assert_eq!(bob.id(), b"bob");
/// assert!(Participant::new(b"", key).is_err(), "an ID is 1 to 255 bytes");
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Participant {
    id: Vec<u8>,
    public_key: IdentityPublicKey,
}

impl Participant {
    /// The participant `id` (1 to 255 bytes, e.g. a user or device ID)
    /// with `public_key`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `id` is empty or longer than 255
    /// bytes.
    pub fn new(id: &[u8], public_key: IdentityPublicKey) -> Result<Self, Error> {
        check_id(id)?;
        Ok(Self {
            id: id.to_vec(),
            public_key,
        })
    }

    /// The participant's ID.
    #[must_use]
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The participant's identity public key.
    #[must_use]
    pub const fn public_key(&self) -> IdentityPublicKey {
        self.public_key
    }
}

impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Participant")
            .field("id", &super::IdDebug(&self.id))
            .field("public_key", &self.public_key)
            .finish()
    }
}

/// IDs are 1 to 255 bytes: one length byte on the wire, and an empty ID
/// would name nobody.
pub(super) const fn check_id(id: &[u8]) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::InvalidParameter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hpke::{Kem as _, Serializable};

    use super::*;

    /// `x25519-dalek` clamps when it multiplies, `hpke` when it imports:
    /// both must see the same scalar, or auth mode would fail.
    #[test]
    fn the_public_key_is_the_one_hpke_derives() {
        for seed in 0..16_u8 {
            let mut secret = [seed.wrapping_mul(37) ^ 0xa5; 32];
            // Unclamped bits set on purpose.
            secret[0] |= 0x07;
            secret[31] |= 0xc0;
            let identity = Identity::from_secret_bytes(secret);
            let private = identity.hpke_private_key().expect("32 bytes");
            let derived = Kem::sk_to_pk(&private).to_bytes();
            assert_eq!(derived.as_slice(), identity.public_key().as_bytes());
        }
    }
}
