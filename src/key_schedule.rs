//! Key derivation (RFC 9605 §4.4.2): `sframe_key` and `sframe_salt` from a
//! base key, the KID and the cipher suite.
//!
//! The derivation is two steps: one HKDF-Extract of the base key
//! (`sframe_secret`, independent of the KID) and two HKDF-Expands per KID.
//! Holders that derive many keys from one base key (an MLS epoch's
//! senders, a ratchet's future steps) keep the extracted secret
//! ([`ExtractedSecret`], [`SframeSecret`]) and pay only the expansions per
//! key.

use hmac::HmacReset;
use hmac::digest::{FixedOutputReset, KeyInit, Update};
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
    out: &mut KeyAndSalt,
) {
    ExtractedSecret::extract(suite, base_key).key_and_salt_into(suite, kid, out);
}

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), ready to
/// expand: the HMAC keyed with it. Every KID's key and salt under one base
/// key are expanded from it, and so is the next base key of a §5.1
/// ratchet step (which expands the same extracted secret).
///
/// HKDF (RFC 5869) is written out here over `hmac` rather than taken from
/// the `hkdf` crate so that no secret is left behind in memory a key
/// holder later copies (a move leaves the old bytes where they were, and a
/// key holder's unused bytes are whatever was in that memory before):
/// every output block passes through a buffer this module zeroizes, goes
/// straight into the caller's zeroizing type and is never returned by
/// value, and an HMAC that has absorbed secret input (the base key, a
/// previous output block) is finished through a reference
/// (`finalize_into_reset`) and dropped, so wiped, where it lies, instead
/// of being moved into a by-value `finalize`.
///
/// Zeroized on drop: all it holds is an HMAC's two keyed hash states and
/// an empty block buffer, each of which wipes itself (the RustCrypto
/// `zeroize` features).
pub(crate) enum ExtractedSecret {
    Sha256(HmacReset<Sha256>),
    Sha512(HmacReset<Sha512>),
}

impl ExtractedSecret {
    /// HKDF-Extract of `base_key` with the suite's hash.
    pub(crate) fn extract(suite: CipherSuite, base_key: &BaseKey) -> Self {
        let mut prk = SframeSecret::zeroed(0);
        Self::extract_into(suite, base_key, &mut prk)
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
        match suite.hash() {
            Hash::Sha256 => {
                extract::<Sha256>(base_key, prk.expose_secret_mut());
                Self::Sha256(keyed(prk.expose_secret()))
            }
            Hash::Sha512 => {
                extract::<Sha512>(base_key, prk.expose_secret_mut());
                Self::Sha512(keyed(prk.expose_secret()))
            }
        }
    }

    /// The keyed HMAC of a pseudorandom key kept as a [`SframeSecret`]
    /// (HKDF's `from_prk`: no extraction, only the HMAC key set-up).
    pub(crate) fn from_prk(suite: CipherSuite, prk: &SframeSecret) -> Self {
        match suite.hash() {
            Hash::Sha256 => Self::Sha256(keyed(prk.expose_secret())),
            Hash::Sha512 => Self::Sha512(keyed(prk.expose_secret())),
        }
    }

    /// Writes `sframe_key` and `sframe_salt` for `kid` (the two expansions
    /// of RFC 9605 §4.4.2) into `out`.
    pub(crate) fn key_and_salt_into(&self, suite: CipherSuite, kid: KeyId, out: &mut KeyAndSalt) {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_key_derivation();
        let context = context(suite, kid);
        out.key_len = suite.key_len();
        let key = &mut out.key[..out.key_len];
        match self {
            Self::Sha256(hmac) => {
                expand(hmac, &[KEY_LABEL, &context], key);
                expand(hmac, &[SALT_LABEL, &context], &mut out.salt);
            }
            Self::Sha512(hmac) => {
                expand(hmac, &[KEY_LABEL, &context], key);
                expand(hmac, &[SALT_LABEL, &context], &mut out.salt);
            }
        }
    }

    /// Writes `HKDF-Expand(sframe_secret, label, Nh)` into `next`, which
    /// becomes an `Nh`-byte base key: with the RFC 9605 §5.1 label, the
    /// next ratchet step's base key.
    pub(crate) fn expand_base_key_into(&self, label: &[u8], next: &mut BaseKey) {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_ratchet_step();
        match self {
            Self::Sha256(hmac) => {
                next.set_len(32);
                expand(hmac, &[label], next.expose_secret_mut());
            }
            Self::Sha512(hmac) => {
                next.set_len(64);
                expand(hmac, &[label], next.expose_secret_mut());
            }
        }
    }
}

/// `sframe_secret = HKDF-Extract("", base_key)` (RFC 9605 §4.4.2), `Nh`
/// bytes: the value every key and salt under one base key is expanded
/// from. Exposed for checking against the RFC 9605 vectors
/// (`hazmat::sframe_secret`); kept by a ratcheting receiver for its future
/// steps. Zeroized on drop, redacted in `Debug`.
///
/// ```
/// # #[cfg(feature = "hazmat")] {
/// use framecrypt::hazmat::sframe_secret;
/// use framecrypt::{BaseKey, CipherSuite};
///
/// let base_key = BaseKey::new(&[9; 16])?;
/// assert_eq!(sframe_secret(CipherSuite::Aes128GcmSha256_128, &base_key).expose_secret().len(), 32);
/// assert_eq!(sframe_secret(CipherSuite::Aes256GcmSha512_128, &base_key).expose_secret().len(), 64);
/// # }
/// # Ok::<(), framecrypt::Error>(())
/// ```
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
pub(crate) fn sframe_secret(suite: CipherSuite, base_key: &BaseKey, out: &mut SframeSecret) {
    ExtractedSecret::extract_into(suite, base_key, out);
}

/// HKDF-Extract with an empty salt (RFC 5869 §2.2): `HMAC(salt, ikm)`
/// into `prk` (`Nh` bytes). An empty HMAC key and HKDF's default salt (Nh
/// zero bytes) are the same key, so this is RFC 9605's
/// `HKDF-Extract("", ...)`.
fn extract<H>(base_key: &BaseKey, prk: &mut [u8])
where
    H: hmac::EagerHash,
{
    let mut mac = keyed::<H>(&[]);
    mac.update(base_key.expose_secret());
    let mut block = hmac::digest::Output::<HmacReset<H>>::default();
    mac.finalize_into_reset(&mut block);
    let n = prk.len().min(block.len());
    prk[..n].copy_from_slice(&block[..n]);
    block.as_mut_slice().zeroize();
}

/// The HMAC keyed with `key`.
fn keyed<H>(key: &[u8]) -> HmacReset<H>
where
    H: hmac::EagerHash,
{
    // HMAC takes keys of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    <HmacReset<H> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// HKDF-Expand (RFC 5869 §2.3) of the keyed `prk` with `info` (the
/// concatenation of its parts) into `okm`, at most 255 blocks; each
/// block `T(i)` passes through a buffer that is zeroized.
fn expand<H>(prk: &HmacReset<H>, info: &[&[u8]], okm: &mut [u8])
where
    H: hmac::EagerHash,
{
    let mut block = hmac::digest::Output::<HmacReset<H>>::default();
    let block_len = block.len();
    let mut mac = prk.clone();
    for (i, chunk) in okm.chunks_mut(block_len).enumerate() {
        if i > 0 {
            // `T(i)` starts from `T(i-1)`; the reset left `mac` keyed.
            mac.update(&block);
        }
        for part in info {
            mac.update(part);
        }
        // Nk ≤ 96, Nn = 12 and Nh ≤ 64 bytes need at most 3 blocks.
        mac.update(&[u8::try_from(i + 1).unwrap_or(u8::MAX)]);
        mac.finalize_into_reset(&mut block);
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    block.as_mut_slice().zeroize();
}

/// `KID || cipher_suite`, the label suffix.
fn context(suite: CipherSuite, kid: KeyId) -> [u8; 10] {
    let mut context = [0u8; 10];
    context[..8].copy_from_slice(&kid.0.to_be_bytes());
    context[8..].copy_from_slice(&suite.id().to_be_bytes());
    context
}
