//! Key derivation (RFC 9605 §4.4.2): `sframe_key` and `sframe_salt` from a
//! base key, the KID and the cipher suite.
//!
//! The derivation is two steps: one HKDF-Extract of the base key
//! (`sframe_secret`, independent of the KID) and two HKDF-Expands per KID.
//! Holders that derive many keys from one base key (an MLS epoch's
//! senders, a ratchet's future steps) keep the extracted secret
//! ([`ExtractedSecret`], [`SframeSecret`]) and pay only the expansions per
//! key.

use hkdf::Hkdf;
use sha2::{Sha256, Sha512};

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ids::KeyId;
use crate::secret::{BaseKey, KeyAndSalt};
use crate::suite::{CipherSuite, Hash};

const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";

/// RFC 9605 §4.4.2:
///
/// ```text
/// sframe_secret = HKDF-Extract("", base_key)
/// sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID || suite, Nk)
/// sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID || suite, Nn)
/// ```
///
/// with KID as a 64-bit and the suite as a 16-bit big-endian integer.
#[cfg(feature = "hazmat")]
pub(crate) fn derive_key_and_salt(
    suite: CipherSuite,
    kid: KeyId,
    base_key: &BaseKey,
) -> KeyAndSalt {
    ExtractedSecret::extract(suite, base_key).key_and_salt(suite, kid)
}

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), ready to
/// expand: the HMAC keyed with it. Every KID's key and salt under one base
/// key are expanded from it, and so is the next base key of a §5.1
/// ratchet step (which expands the same extracted secret).
///
/// Zeroized on drop: all it holds is an HMAC's two keyed hash states and
/// an empty block buffer, each of which wipes itself (the RustCrypto
/// `zeroize` features).
pub(crate) enum ExtractedSecret {
    Sha256(Hkdf<Sha256>),
    Sha512(Hkdf<Sha512>),
}

impl ExtractedSecret {
    /// HKDF-Extract of `base_key` with the suite's hash.
    pub(crate) fn extract(suite: CipherSuite, base_key: &BaseKey) -> Self {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_secret_extraction();
        match suite.hash() {
            Hash::Sha256 => Self::Sha256(extract::<Sha256>(base_key, None)),
            Hash::Sha512 => Self::Sha512(extract::<Sha512>(base_key, None)),
        }
    }

    /// As [`Self::extract`], also writing the pseudorandom key to `prk`.
    pub(crate) fn extract_into(
        suite: CipherSuite,
        base_key: &BaseKey,
        prk: &mut SframeSecret,
    ) -> Self {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_secret_extraction();
        prk.len = suite.hash_len();
        let out = Some(prk.expose_secret_mut());
        match suite.hash() {
            Hash::Sha256 => Self::Sha256(extract::<Sha256>(base_key, out)),
            Hash::Sha512 => Self::Sha512(extract::<Sha512>(base_key, out)),
        }
    }

    /// The keyed HMAC of a pseudorandom key kept as a [`SframeSecret`]
    /// (HKDF's `from_prk`: no extraction, only the HMAC key set-up).
    pub(crate) fn from_prk(suite: CipherSuite, prk: &SframeSecret) -> Self {
        // A `SframeSecret` is `Nh` bytes, exactly what `from_prk` needs;
        // were it not, the fallback gives a key no frame authenticates under.
        debug_assert_eq!(prk.len, suite.hash_len());
        match suite.hash() {
            Hash::Sha256 => Self::Sha256(
                Hkdf::<Sha256>::from_prk(prk.expose_secret())
                    .unwrap_or_else(|_| Hkdf::<Sha256>::new(None, prk.expose_secret())),
            ),
            Hash::Sha512 => Self::Sha512(
                Hkdf::<Sha512>::from_prk(prk.expose_secret())
                    .unwrap_or_else(|_| Hkdf::<Sha512>::new(None, prk.expose_secret())),
            ),
        }
    }

    /// `sframe_key` and `sframe_salt` for `kid` (the two expansions of
    /// RFC 9605 §4.4.2).
    pub(crate) fn key_and_salt(&self, suite: CipherSuite, kid: KeyId) -> KeyAndSalt {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_key_derivation();
        let mut out = KeyAndSalt {
            key: [0; CipherSuite::MAX_KEY_LEN],
            key_len: suite.key_len(),
            salt: [0; CipherSuite::NONCE_LEN],
        };
        let context = context(suite, kid);
        match self {
            Self::Sha256(hkdf) => expand(hkdf, &context, &mut out),
            Self::Sha512(hkdf) => expand(hkdf, &context, &mut out),
        }
        out
    }

    /// `HKDF-Expand(sframe_secret, label, Nh)` into a new base key: with
    /// the RFC 9605 §5.1 label, the next ratchet step's base key.
    pub(crate) fn expand_base_key(&self, label: &[u8]) -> BaseKey {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_ratchet_step();
        let (next, ok) = match self {
            Self::Sha256(hkdf) => {
                let mut next = BaseKey::zeroed(32);
                let ok = hkdf.expand(label, next.expose_secret_mut()).is_ok();
                (next, ok)
            }
            Self::Sha512(hkdf) => {
                let mut next = BaseKey::zeroed(64);
                let ok = hkdf.expand(label, next.expose_secret_mut()).is_ok();
                (next, ok)
            }
        };
        // Nh bytes are far below HKDF's 255·Nh limit, so expansion cannot
        // fail.
        debug_assert!(ok);
        next
    }
}

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), `Nh`
/// bytes: the value every key and salt under one base key is expanded
/// from. Exposed for checking against the RFC 9605 vectors
/// (`hazmat::sframe_secret`); kept by a ratcheting receiver for its future
/// steps. Zeroized on drop, redacted in `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SframeSecret {
    bytes: [u8; 64],
    len: usize,
}

impl SframeSecret {
    /// `len` zero bytes (`Nh`: 32 or 64) to be filled in place.
    pub(crate) fn zeroed(len: usize) -> Self {
        debug_assert!(len == 0 || len == 32 || len == 64);
        Self {
            bytes: [0; 64],
            len: len.min(64),
        }
    }

    pub(crate) fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }

    /// The secret, `Nh` bytes. Whatever it is copied into must be
    /// zeroized by its owner.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl core::fmt::Debug for SframeSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SframeSecret(<redacted>)")
    }
}

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), `Nh`
/// bytes, for checking against the RFC 9605 vectors.
#[cfg(feature = "hazmat")]
pub(crate) fn sframe_secret(suite: CipherSuite, base_key: &BaseKey) -> SframeSecret {
    let mut secret = SframeSecret::zeroed(suite.hash_len());
    ExtractedSecret::extract_into(suite, base_key, &mut secret);
    secret
}

/// HKDF-Extract with an empty salt; the pseudorandom key is copied to
/// `secret` when one is asked for (it is `Nh` bytes long) and zeroized.
fn extract<H>(base_key: &BaseKey, secret: Option<&mut [u8]>) -> Hkdf<H>
where
    H: hmac::EagerHash,
{
    // An empty salt and HKDF's default salt (Nh zero bytes) give the same
    // HMAC key, so `None` is RFC 9605's `HKDF-Extract("", ...)`.
    let (mut prk, hkdf) = Hkdf::<H>::extract(None, base_key.expose_secret());
    if let Some(secret) = secret {
        secret.copy_from_slice(&prk);
    }
    prk.as_mut_slice().zeroize();
    hkdf
}

/// `KID || cipher_suite`, the label suffix.
fn context(suite: CipherSuite, kid: KeyId) -> [u8; 10] {
    let mut context = [0u8; 10];
    context[..8].copy_from_slice(&kid.0.to_be_bytes());
    context[8..].copy_from_slice(&suite.id().to_be_bytes());
    context
}

fn expand<H>(hkdf: &Hkdf<H>, context: &[u8], out: &mut KeyAndSalt)
where
    H: hmac::EagerHash,
{
    let key_len = out.key_len;
    // Nk ≤ 96 and Nn = 12 are far below HKDF's 255·Nh limit, so the
    // expansions cannot fail.
    let key_ok = hkdf
        .expand_multi_info(&[KEY_LABEL, context], &mut out.key[..key_len])
        .is_ok();
    let salt_ok = hkdf
        .expand_multi_info(&[SALT_LABEL, context], &mut out.salt)
        .is_ok();
    debug_assert!(key_ok && salt_ok);
}
