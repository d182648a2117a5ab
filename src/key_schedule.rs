//! Key derivation (RFC 9605 §4.4.2): `sframe_key` and `sframe_salt` from a
//! base key, the KID and the cipher suite.

use hkdf::Hkdf;
use sha2::{Sha256, Sha512};

use zeroize::Zeroize;
#[cfg(feature = "hazmat")]
use zeroize::ZeroizeOnDrop;

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
pub(crate) fn derive_key_and_salt(
    suite: CipherSuite,
    kid: KeyId,
    base_key: &BaseKey,
) -> KeyAndSalt {
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::count_key_derivation();
    let mut out = KeyAndSalt {
        key: [0; CipherSuite::MAX_KEY_LEN],
        key_len: suite.key_len(),
        salt: [0; CipherSuite::NONCE_LEN],
    };
    let context = context(suite, kid);
    match suite.hash() {
        Hash::Sha256 => expand(&extract::<Sha256>(base_key, None), &context, &mut out),
        Hash::Sha512 => expand(&extract::<Sha512>(base_key, None), &context, &mut out),
    }
    out
}

/// `sframe_secret = HKDF-Extract("", base_key)`, `Nh` bytes: the value
/// [`derive_key_and_salt`] expands, exposed for checking against the
/// RFC 9605 vectors.
#[cfg(feature = "hazmat")]
pub(crate) fn sframe_secret(suite: CipherSuite, base_key: &BaseKey) -> SframeSecret {
    let mut secret = SframeSecret::zeroed(suite.hash_len());
    match suite.hash() {
        Hash::Sha256 => {
            extract::<Sha256>(base_key, Some(secret.expose_secret_mut()));
        }
        Hash::Sha512 => {
            extract::<Sha512>(base_key, Some(secret.expose_secret_mut()));
        }
    }
    secret
}

/// HKDF-Extract with an empty salt; the pseudorandom key is copied to
/// `secret` when one is asked for (it is `Nh` bytes long) and zeroized.
fn extract<H>(base_key: &BaseKey, secret: Option<&mut [u8]>) -> Hkdf<H>
where
    H: hmac::EagerHash,
{
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

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), `Nh`
/// bytes: the intermediate secret the key and salt derivation expands
/// (`hazmat::derive_key_and_salt`).
/// Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use framecrypt::hazmat::sframe_secret;
/// use framecrypt::{BaseKey, CipherSuite};
///
/// let base_key = BaseKey::new(&[9; 16])?;
/// assert_eq!(sframe_secret(CipherSuite::Aes128GcmSha256_128, &base_key).expose_secret().len(), 32);
/// assert_eq!(sframe_secret(CipherSuite::Aes256GcmSha512_128, &base_key).expose_secret().len(), 64);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[cfg(feature = "hazmat")]
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SframeSecret {
    bytes: [u8; 64],
    len: usize,
}

#[cfg(feature = "hazmat")]
impl SframeSecret {
    /// `len` zero bytes (`Nh`: 32 or 64) to be filled in place.
    pub(crate) fn zeroed(len: usize) -> Self {
        debug_assert!(len == 32 || len == 64);
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

#[cfg(feature = "hazmat")]
impl core::fmt::Debug for SframeSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SframeSecret(<redacted>)")
    }
}
