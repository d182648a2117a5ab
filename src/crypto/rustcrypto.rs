//! The RustCrypto backend: `aes-gcm` for GCM; `aes` + `ctr` + `hmac` +
//! `sha2` for the RFC 9605 §4.5.1 CTR+HMAC construction. `no_std`, no
//! allocation.

use aes::{Aes128, Aes256};
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadCore, AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit, Tag};
use ctr::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use ctr::{CtrCore, flavors};
use hmac::{EagerHash, Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{Aad, Data, FrameCipher, ctr_hmac_prefix, ctr_initial_block, with_contiguous_aad};
use crate::error::Error;
use crate::suite::CipherSuite;

/// A ready cipher: AES round keys expanded and, for the CTR suites, the HMAC
/// inner and outer hash states already keyed. All zeroized on drop by the
/// RustCrypto types themselves (their `zeroize` features are on).
pub(crate) enum Cipher {
    Aes128Gcm(Aes128Gcm),
    Aes256Gcm(Aes256Gcm),
    Aes128CtrHmac(CtrHmac<Aes128, Sha256>),
    Aes256CtrHmac(CtrHmac<Aes256, Sha512>),
}

impl FrameCipher for Cipher {
    fn new(suite: CipherSuite, key: &[u8]) -> Self {
        debug_assert_eq!(key.len(), suite.key_len());
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_cipher_construction();
        let (enc_key, auth_key) = key.split_at(suite.aes_key_len());
        let tag_len = suite.tag_len();
        // Lengths come from the suite table, so the `new_from_slice` calls
        // cannot fail; `expect` would only fire on a table bug.
        #[allow(clippy::expect_used)]
        match suite {
            CipherSuite::Aes128GcmSha256_128 => {
                Self::Aes128Gcm(Aes128Gcm::new_from_slice(key).expect("suite key length"))
            }
            CipherSuite::Aes256GcmSha512_128 => {
                Self::Aes256Gcm(Aes256Gcm::new_from_slice(key).expect("suite key length"))
            }
            CipherSuite::Aes128CtrHmacSha256_80
            | CipherSuite::Aes128CtrHmacSha256_64
            | CipherSuite::Aes128CtrHmacSha256_32 => Self::Aes128CtrHmac(CtrHmac {
                aes: Aes128::new_from_slice(enc_key).expect("suite key length"),
                mac: Hmac::new_from_slice(auth_key).expect("HMAC takes any key length"),
                tag_len,
            }),
            CipherSuite::Aes256CtrHmacSha512_80
            | CipherSuite::Aes256CtrHmacSha512_64
            | CipherSuite::Aes256CtrHmacSha512_32 => Self::Aes256CtrHmac(CtrHmac {
                aes: Aes256::new_from_slice(enc_key).expect("suite key length"),
                mac: Hmac::new_from_slice(auth_key).expect("HMAC takes any key length"),
                tag_len,
            }),
        }
    }

    #[inline]
    fn seal(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &mut [u8],
    ) -> Result<(), Error> {
        match self {
            Self::Aes128Gcm(gcm) => gcm_seal(gcm, nonce, aad, data, tag),
            Self::Aes256Gcm(gcm) => gcm_seal(gcm, nonce, aad, data, tag),
            Self::Aes128CtrHmac(c) => c.seal(nonce, aad, data, tag),
            Self::Aes256CtrHmac(c) => c.seal(nonce, aad, data, tag),
        }
    }

    /// Both constructions check the tag first: `aes-gcm` compares the tag
    /// it computes over the ciphertext before applying the keystream, and
    /// CTR+HMAC checks the HMAC before decrypting (RFC 9605 §4.5.1).
    #[inline]
    fn verifies_before_decrypting(&self) -> bool {
        true
    }

    #[inline]
    fn open_unzeroed(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &[u8],
    ) -> Result<(), Error> {
        match self {
            Self::Aes128Gcm(gcm) => gcm_open(gcm, nonce, aad, data, tag),
            Self::Aes256Gcm(gcm) => gcm_open(gcm, nonce, aad, data, tag),
            Self::Aes128CtrHmac(c) => c.open(nonce, aad, data, tag),
            Self::Aes256CtrHmac(c) => c.open(nonce, aad, data, tag),
        }
    }
}

fn inout(data: Data<'_>) -> Result<InOutBuf<'_, '_, u8>, Error> {
    match data {
        Data::InPlace(buf) => Ok(InOutBuf::from(buf)),
        Data::Copy { input, output } => {
            InOutBuf::new(input, output).map_err(|_| Error::BufferTooSmall)
        }
    }
}

#[inline]
fn gcm_seal<G>(
    gcm: &G,
    nonce: &[u8; 12],
    aad: Aad<'_>,
    data: Data<'_>,
    tag: &mut [u8],
) -> Result<(), Error>
where
    G: AeadInOut + AeadCore<NonceSize = U12, TagSize = U16>,
{
    let computed = with_contiguous_aad(aad, |aad| {
        gcm.encrypt_inout_detached(nonce.into(), aad, inout(data)?)
            .map_err(|_| Error::BufferTooSmall)
    })?;
    tag.copy_from_slice(&computed);
    Ok(())
}

#[inline]
fn gcm_open<G>(
    gcm: &G,
    nonce: &[u8; 12],
    aad: Aad<'_>,
    data: Data<'_>,
    tag: &[u8],
) -> Result<(), Error>
where
    G: AeadInOut + AeadCore<NonceSize = U12, TagSize = U16>,
{
    let tag = Tag::try_from(tag).map_err(|_| Error::AuthenticationFailed)?;
    with_contiguous_aad(aad, |aad| {
        // aes-gcm verifies the tag (in constant time) before it decrypts.
        gcm.decrypt_inout_detached(nonce.into(), aad, inout(data)?, &tag)
            .map_err(|_| Error::AuthenticationFailed)
    })
}

/// RFC 9605 §4.5.1: AES-CTR for confidentiality, then HMAC over
/// `len(aad) || len(ct) || Nt || nonce || aad || ct`, truncated to `Nt`.
pub(crate) struct CtrHmac<A, H: EagerHash> {
    aes: A,
    /// Keyed once; each frame clones the precomputed inner/outer state.
    mac: Hmac<H>,
    tag_len: usize,
}

impl<A, H> CtrHmac<A, H>
where
    A: ctr::cipher::BlockCipherEncrypt<BlockSize = U16>,
    H: EagerHash,
{
    fn tag(&self, nonce: &[u8; 12], aad: Aad<'_>, ct: &[u8]) -> hmac::digest::Output<Hmac<H>> {
        let mut mac = self.mac.clone();
        mac.update(&ctr_hmac_prefix(aad, ct.len(), self.tag_len, nonce));
        mac.update(aad.header);
        mac.update(aad.metadata);
        mac.update(ct);
        mac.finalize().into_bytes()
    }

    fn keystream(&self, nonce: &[u8; 12], buf: InOutBuf<'_, '_, u8>) -> Result<(), Error> {
        let core = CtrCore::<&A, flavors::Ctr128BE>::inner_iv_init(
            &self.aes,
            &ctr_initial_block(nonce).into(),
        );
        StreamCipherCoreWrapper::from_core(core)
            .try_apply_keystream_inout(buf)
            // Only a 2^128-block frame could run the counter out.
            .map_err(|_| Error::BufferTooSmall)
    }

    #[inline]
    fn seal(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &mut [u8],
    ) -> Result<(), Error> {
        let mut buf = inout(data)?;
        self.keystream(nonce, buf.reborrow())?;
        let full = self.tag(nonce, aad, buf.get_out());
        tag.copy_from_slice(&full[..self.tag_len]);
        Ok(())
    }

    fn open(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &[u8],
    ) -> Result<(), Error> {
        let buf = inout(data)?;
        let full = self.tag(nonce, aad, buf.get_in());
        // RFC 9605 §4.5.1: the truncated tag is checked, in constant time,
        // before anything is decrypted.
        if !bool::from(full[..self.tag_len].ct_eq(tag)) {
            return Err(Error::AuthenticationFailed);
        }
        self.keystream(nonce, buf)
    }
}
