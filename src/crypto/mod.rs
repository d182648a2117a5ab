//! The AEAD behind every suite, built once per key (RFC 9605 §4.5).
//!
//! One internal trait, [`FrameCipher`], is all the rest of the crate sees.
//! The backend is chosen at compile time; the RustCrypto one is the default
//! and the only one in `no_std` builds.

use crate::error::Error;
use crate::suite::CipherSuite;

mod rustcrypto;

pub(crate) use rustcrypto::Cipher;

/// The associated data of one frame: the header bytes as sent or received,
/// then the caller's metadata (RFC 9605 §4.4.3).
#[derive(Clone, Copy)]
pub(crate) struct Aad<'a> {
    pub(crate) header: &'a [u8],
    pub(crate) metadata: &'a [u8],
}

impl Aad<'_> {
    pub(crate) fn len(&self) -> usize {
        self.header.len() + self.metadata.len()
    }
}

/// Where the data of one AEAD call lives.
pub(crate) enum Data<'a> {
    /// Transformed in place.
    InPlace(&'a mut [u8]),
    /// Read from `input`, written to `output` (same length).
    Copy {
        input: &'a [u8],
        output: &'a mut [u8],
    },
}

/// An AEAD with its key schedule already expanded.
pub(crate) trait FrameCipher: Sized {
    /// Builds the cipher from `key`, which is exactly `suite.key_len()` bytes.
    fn new(suite: CipherSuite, key: &[u8]) -> Self;

    /// Encrypts `data`, writing `suite.tag_len()` bytes of tag to `tag`.
    fn seal(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &mut [u8],
    ) -> Result<(), Error>;

    /// Checks `tag` and, only if it is right, decrypts `data`.
    fn open(&self, nonce: &[u8; 12], aad: Aad<'_>, data: Data<'_>, tag: &[u8])
    -> Result<(), Error>;
}

/// How many bytes of header plus metadata an AES-GCM call can bind without
/// allocating. AES-GCM takes its AAD as one slice, so non-empty metadata is
/// copied after the header into a stack buffer of this size; longer metadata
/// needs the `alloc` feature (one allocation for that frame) and is refused
/// with [`Error::MetadataTooLong`] without it. The CTR+HMAC suites stream the
/// AAD and have no such limit.
pub const INLINE_AAD_CAPACITY: usize = 512;

/// Calls `f` with the AAD as one contiguous slice.
pub(crate) fn with_contiguous_aad<R>(
    aad: Aad<'_>,
    f: impl FnOnce(&[u8]) -> Result<R, Error>,
) -> Result<R, Error> {
    if aad.metadata.is_empty() {
        return f(aad.header);
    }
    let len = aad.len();
    if len <= INLINE_AAD_CAPACITY {
        let mut buf = [0u8; INLINE_AAD_CAPACITY];
        buf[..aad.header.len()].copy_from_slice(aad.header);
        buf[aad.header.len()..len].copy_from_slice(aad.metadata);
        return f(&buf[..len]);
    }
    #[cfg(feature = "alloc")]
    {
        let mut buf = alloc::vec::Vec::with_capacity(len);
        buf.extend_from_slice(aad.header);
        buf.extend_from_slice(aad.metadata);
        f(&buf)
    }
    #[cfg(not(feature = "alloc"))]
    Err(Error::MetadataTooLong)
}

/// Whether this build can bind the AAD of a frame of `suite` with a header of
/// `header_len` bytes and `metadata_len` bytes of metadata: the same rule
/// [`with_contiguous_aad`] applies, checked by the sender before it takes a
/// counter so that a refused call does not use one up.
pub(crate) const fn aad_fits(suite: CipherSuite, header_len: usize, metadata_len: usize) -> bool {
    cfg!(feature = "alloc")
        || metadata_len == 0
        || !matches!(suite.aead(), crate::suite::Aead::AesGcm)
        || header_len.saturating_add(metadata_len) <= INLINE_AAD_CAPACITY
}

/// The RFC 9605 §4.5.1 HMAC input prefix:
/// `len(aad) (8) || len(ct) (8) || Nt (8) || nonce`.
pub(crate) fn ctr_hmac_prefix(
    aad: Aad<'_>,
    ct_len: usize,
    tag_len: usize,
    nonce: &[u8; 12],
) -> [u8; 36] {
    let mut prefix = [0u8; 36];
    prefix[..8].copy_from_slice(&(aad.len() as u64).to_be_bytes());
    prefix[8..16].copy_from_slice(&(ct_len as u64).to_be_bytes());
    prefix[16..24].copy_from_slice(&(tag_len as u64).to_be_bytes());
    prefix[24..].copy_from_slice(nonce);
    prefix
}

/// The RFC 9605 §4.5.1 AES-CTR initial counter block: `nonce || 0x00000000`.
pub(crate) fn ctr_initial_block(nonce: &[u8; 12]) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..12].copy_from_slice(nonce);
    block
}
