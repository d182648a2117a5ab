//! The AWS-LC backend (feature `aws-lc`, through `aws-lc-rs`): AES-GCM from
//! `aead::LessSafeKey`, and the RFC 9605 §4.5.1 CTR+HMAC construction from
//! `cipher` (AES-CTR) and `hmac`. Every key schedule is built once, in
//! [`Cipher::new`]; a frame costs only the AEAD and no allocation.
//!
//! Key material lives in AWS-LC objects that wipe themselves when dropped:
//! the GCM context is freed with `OPENSSL_free` (which cleanses),
//! `aws-lc-rs` zeroizes its AES key schedules, and the HMAC context is
//! cleansed by `HMAC_CTX_cleanup`.

use aws_lc_rs::aead::{self, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

use super::{
    Aad, Data, FrameCipher, ctr_hmac_prefix, ctr_initial_block, seal_copying_tail,
    with_contiguous_aad,
};
use crate::error::Error;
use crate::suite::CipherSuite;

/// A ready cipher: the GCM context (AES round keys and GHASH key table)
/// or, for the CTR suites, the AES key schedule and the HMAC context with
/// its inner and outer hash states already keyed.
///
/// The CTR+HMAC state (about 1.7 KB, held inline by `aws-lc-rs`) is boxed
/// once at construction so that every key, and every slot of a
/// `FixedKeyStore`, is not sized for it; the GCM context is already behind a
/// pointer.
pub(crate) enum Cipher {
    Gcm(LessSafeKey),
    CtrHmac(alloc::boxed::Box<CtrHmac>),
}

impl FrameCipher for Cipher {
    fn new(suite: CipherSuite, key: &[u8]) -> Self {
        debug_assert_eq!(key.len(), suite.key_len());
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::count_cipher_construction();
        let (enc_key, auth_key) = key.split_at(suite.aes_key_len());
        // Lengths come from the suite table, so these constructors cannot
        // fail; `expect` would only fire on a table bug.
        #[allow(clippy::expect_used)]
        match suite {
            CipherSuite::Aes128GcmSha256_128 => Self::Gcm(LessSafeKey::new(
                UnboundKey::new(&aead::AES_128_GCM, key).expect("suite key length"),
            )),
            CipherSuite::Aes256GcmSha512_128 => Self::Gcm(LessSafeKey::new(
                UnboundKey::new(&aead::AES_256_GCM, key).expect("suite key length"),
            )),
            CipherSuite::Aes128CtrHmacSha256_80
            | CipherSuite::Aes128CtrHmacSha256_64
            | CipherSuite::Aes128CtrHmacSha256_32 => {
                Self::CtrHmac(alloc::boxed::Box::new(CtrHmac {
                    aes: EncryptingKey::ctr(
                        UnboundCipherKey::new(&AES_128, enc_key).expect("suite key length"),
                    )
                    .expect("AES supports CTR"),
                    mac: hmac::Key::new(hmac::HMAC_SHA256, auth_key),
                    tag_len: suite.tag_len(),
                }))
            }
            CipherSuite::Aes256CtrHmacSha512_80
            | CipherSuite::Aes256CtrHmacSha512_64
            | CipherSuite::Aes256CtrHmacSha512_32 => {
                Self::CtrHmac(alloc::boxed::Box::new(CtrHmac {
                    aes: EncryptingKey::ctr(
                        UnboundCipherKey::new(&AES_256, enc_key).expect("suite key length"),
                    )
                    .expect("AES supports CTR"),
                    mac: hmac::Key::new(hmac::HMAC_SHA512, auth_key),
                    tag_len: suite.tag_len(),
                }))
            }
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
            Self::Gcm(key) => gcm_seal(key, nonce, aad, data, tag),
            Self::CtrHmac(c) => c.seal(nonce, aad, data, tag),
        }
    }

    /// AWS-LC's GCM decrypts while it hashes (and clears its output on
    /// failure); the CTR+HMAC construction here checks the HMAC first.
    #[inline]
    fn verifies_before_decrypting(&self) -> bool {
        matches!(self, Self::CtrHmac(_))
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
            Self::Gcm(key) => gcm_open(key, nonce, aad, data, tag),
            Self::CtrHmac(c) => c.open(nonce, aad, data, tag),
        }
    }

    /// AWS-LC's GCM reads the tail where it is (`extra_in`) and writes its
    /// ciphertext and the tag after the head: no copy of the tail.
    #[inline]
    fn seal_with_tail(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        buf: &mut [u8],
        head: usize,
        tail: &[u8],
    ) -> Result<(), Error> {
        match self {
            Self::Gcm(key) => {
                if head > buf.len() {
                    return Err(Error::BufferTooSmall);
                }
                let (head, tail_out) = buf.split_at_mut(head);
                if tail_out.len() != tail.len() + key.algorithm().tag_len() {
                    return Err(Error::BufferTooSmall);
                }
                let nonce = Nonce::assume_unique_for_key(*nonce);
                with_contiguous_aad(aad, |aad| {
                    key.seal_in_place_scatter(nonce, aead::Aad::from(aad), head, tail, tail_out)
                        .map_err(|_| Error::BufferTooSmall)
                })
            }
            Self::CtrHmac(_) => seal_copying_tail(self, nonce, aad, buf, head, tail),
        }
    }
}

#[inline]
fn gcm_seal(
    key: &LessSafeKey,
    nonce: &[u8; 12],
    aad: Aad<'_>,
    data: Data<'_>,
    tag: &mut [u8],
) -> Result<(), Error> {
    let nonce = Nonce::assume_unique_for_key(*nonce);
    with_contiguous_aad(aad, |aad| {
        let aad = aead::Aad::from(aad);
        // The scatter calls write the tag straight into the frame; the
        // out-of-place one reads the plaintext where it is (no memcpy).
        match data {
            Data::InPlace(buf) => key.seal_in_place_scatter(nonce, aad, buf, &[], tag),
            Data::Copy { input, output } => {
                key.seal_out_of_place_scatter(nonce, aad, input, output, &[], tag)
            }
        }
        .map_err(|_| Error::BufferTooSmall)
    })
}

/// AWS-LC decrypts while it hashes and compares the tag at the end, so on
/// failure the output holds unauthenticated plaintext: [`FrameCipher::open`]
/// zeroes it before the caller sees it.
#[inline]
fn gcm_open(
    key: &LessSafeKey,
    nonce: &[u8; 12],
    aad: Aad<'_>,
    data: Data<'_>,
    tag: &[u8],
) -> Result<(), Error> {
    let nonce = Nonce::assume_unique_for_key(*nonce);
    with_contiguous_aad(aad, |aad| {
        let aad = aead::Aad::from(aad);
        match data {
            Data::InPlace(buf) => key
                .open_in_place_separate_tag(nonce, aad, tag, buf)
                .map(|_| ()),
            Data::Copy { input, output } => {
                key.open_separate_gather(nonce, aad, input, tag, output)
            }
        }
        .map_err(|_| Error::AuthenticationFailed)
    })
}

/// RFC 9605 §4.5.1: AES-CTR for confidentiality, then HMAC over
/// `len(aad) || len(ct) || Nt || nonce || aad || ct`, truncated to `Nt`.
pub(crate) struct CtrHmac {
    aes: EncryptingKey,
    /// Keyed once; each frame copies the precomputed inner/outer state.
    mac: hmac::Key,
    tag_len: usize,
}

/// The slice path copies and encrypts this many bytes at a time, so the
/// copy is still in L1 when AES-CTR runs over it (`aws-lc-rs` has no
/// out-of-place CTR call). A multiple of the 16-byte block.
const CTR_CHUNK: usize = 4096;

impl CtrHmac {
    fn tag(&self, nonce: &[u8; 12], aad: Aad<'_>, ct: &[u8]) -> hmac::Tag {
        let mut mac = hmac::Context::with_key(&self.mac);
        mac.update(&ctr_hmac_prefix(aad, ct.len(), self.tag_len, nonce));
        mac.update(aad.header);
        mac.update(aad.metadata);
        mac.update(ct);
        mac.sign()
    }

    /// XORs the keystream starting `offset` bytes (a whole number of blocks)
    /// into the frame into `buf`. RFC 9605 §4.5.1: the first counter block is
    /// `nonce || 0x00000000`, incremented as one 128-bit big-endian number.
    fn apply_keystream(
        &self,
        nonce: &[u8; 12],
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        let block =
            u128::from_be_bytes(ctr_initial_block(nonce)).wrapping_add((offset / 16) as u128);
        let iv = EncryptionContext::Iv128(block.to_be_bytes().into());
        self.aes
            .less_safe_encrypt(buf, iv)
            .map(|_| ())
            .map_err(|_| Error::BufferTooSmall)
    }

    fn keystream(&self, nonce: &[u8; 12], data: Data<'_>) -> Result<(), Error> {
        match data {
            Data::InPlace(buf) => self.apply_keystream(nonce, 0, buf),
            Data::Copy { input, output } => {
                if input.len() != output.len() {
                    return Err(Error::BufferTooSmall);
                }
                for (i, (src, dst)) in input
                    .chunks(CTR_CHUNK)
                    .zip(output.chunks_mut(CTR_CHUNK))
                    .enumerate()
                {
                    dst.copy_from_slice(src);
                    self.apply_keystream(nonce, i * CTR_CHUNK, dst)?;
                }
                Ok(())
            }
        }
    }

    #[inline]
    fn seal(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        mut data: Data<'_>,
        tag: &mut [u8],
    ) -> Result<(), Error> {
        self.keystream(nonce, data.reborrow())?;
        let full = self.tag(nonce, aad, data.output());
        tag.copy_from_slice(&full.as_ref()[..self.tag_len]);
        Ok(())
    }

    fn open(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &[u8],
    ) -> Result<(), Error> {
        let ct: &[u8] = match &data {
            Data::InPlace(buf) => buf,
            Data::Copy { input, .. } => input,
        };
        let full = self.tag(nonce, aad, ct);
        // RFC 9605 §4.5.1: the truncated tag is checked, in constant time,
        // before anything is decrypted.
        if !bool::from(full.as_ref()[..self.tag_len].ct_eq(tag)) {
            return Err(Error::AuthenticationFailed);
        }
        self.keystream(nonce, data)
    }
}
