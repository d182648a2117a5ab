//! The AEAD behind every suite, built once per key (RFC 9605 §4.5).
//!
//! One internal trait, [`FrameCipher`], is all the rest of the crate sees.
//! The backend is chosen at compile time: AWS-LC (`aws-lc-rs`) with the
//! `aws-lc` feature, on by default; RustCrypto without it (the only one in
//! `no_std` builds and in WebAssembly).

use zeroize::Zeroize;

use crate::bytes::copy_short;
use crate::error::Error;
use crate::suite::CipherSuite;

#[cfg(feature = "aws-lc")]
mod awslc;
// Also compiled in aws-lc test builds, to cross-check the two backends.
#[cfg(any(not(feature = "aws-lc"), test))]
mod rustcrypto;

#[cfg(feature = "aws-lc")]
pub(crate) use awslc::Cipher;
#[cfg(not(feature = "aws-lc"))]
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

impl Data<'_> {
    /// The same buffers, for a shorter borrow.
    fn reborrow(&mut self) -> Data<'_> {
        match self {
            Data::InPlace(buf) => Data::InPlace(buf),
            Data::Copy { input, output } => Data::Copy { input, output },
        }
    }

    /// The bytes the call writes.
    fn output(&mut self) -> &mut [u8] {
        match self {
            Data::InPlace(buf) => buf,
            Data::Copy { output, .. } => output,
        }
    }
}

/// An AEAD with its key schedule already expanded.
pub(crate) trait FrameCipher: Sized {
    /// Builds the cipher from `key`, which is exactly `suite.key_len()` bytes.
    /// Called once per key (on install), never per frame.
    fn new(suite: CipherSuite, key: &[u8]) -> Self;

    /// Encrypts `data`, writing `suite.tag_len()` bytes of tag to `tag`.
    fn seal(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &mut [u8],
    ) -> Result<(), Error>;

    /// Checks `tag` and decrypts `data`. On failure the output may hold
    /// anything, even unauthenticated plaintext (AWS-LC's GCM decrypts
    /// while it hashes and compares the tag at the end): call [`Self::open`].
    fn open_unzeroed(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        data: Data<'_>,
        tag: &[u8],
    ) -> Result<(), Error>;

    /// Whether [`Self::open_unzeroed`] checks the tag before it writes
    /// anything, so that a failed call leaves the data exactly as it was
    /// (and another key can be tried on an in-place frame).
    fn verifies_before_decrypting(&self) -> bool;

    /// Checks `tag` and decrypts `data`. On any failure the output bytes are
    /// zeroed, whatever the backend did, so unauthenticated plaintext is
    /// never released (RFC 9605 §4.4.4: a frame that fails is discarded).
    #[inline]
    fn open(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        mut data: Data<'_>,
        tag: &[u8],
    ) -> Result<(), Error> {
        let result = self.open_unzeroed(nonce, aad, data.reborrow(), tag);
        if result.is_err() {
            data.output().zeroize();
        }
        result
    }

    /// Encrypts `buf[..head]` in place followed by `tail`, read where it
    /// is: the tail's ciphertext goes to `buf[head..head + tail.len()]` and
    /// the tag to the rest of `buf`. The same bytes as copying `tail` there
    /// and sealing in place, which is what this default does; a backend
    /// that can read the tail where it is saves that copy (the codec layer
    /// seals a frame's last piece this way). `buf` holds exactly the head,
    /// the tail's room and the tag.
    #[inline]
    fn seal_with_tail(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        buf: &mut [u8],
        head: usize,
        tail: &[u8],
    ) -> Result<(), Error> {
        seal_copying_tail(self, nonce, aad, buf, head, tail)
    }
}

/// [`FrameCipher::seal_with_tail`] by copying the tail into place first.
#[inline]
pub(crate) fn seal_copying_tail<C: FrameCipher>(
    cipher: &C,
    nonce: &[u8; 12],
    aad: Aad<'_>,
    buf: &mut [u8],
    head: usize,
    tail: &[u8],
) -> Result<(), Error> {
    let end = head
        .checked_add(tail.len())
        .filter(|&end| end <= buf.len())
        .ok_or(Error::BufferTooSmall)?;
    buf[head..end].copy_from_slice(tail);
    let (body, tag) = buf.split_at_mut(end);
    cipher.seal(nonce, aad, Data::InPlace(body), tag)
}

/// How many bytes of header plus metadata an AES-GCM call can bind without
/// allocating. AES-GCM takes its AAD as one slice, so non-empty metadata is
/// copied after the header into a stack buffer of this size; longer metadata
/// needs the `alloc` feature (one allocation for that frame) and is refused
/// with [`Error::MetadataTooLong`] without it. The CTR+HMAC suites stream the
/// AAD and have no such limit.
pub const INLINE_AAD_CAPACITY: usize = 512;

/// Calls `f` with the AAD as one contiguous slice.
///
/// Empty metadata (the common case) costs nothing: the header is the AAD.
/// Otherwise the two are joined on the stack, in a small buffer when they
/// fit (so a few bytes of codec metadata do not pay for zeroing 512).
/// Always inlined, so the AAD, the data and the closure's captures stay in
/// registers instead of going through the stack (where reading them back
/// whole after writing them in parts stalls store forwarding).
#[inline(always)]
pub(crate) fn with_contiguous_aad<R>(
    aad: Aad<'_>,
    f: impl FnOnce(&[u8]) -> Result<R, Error>,
) -> Result<R, Error> {
    /// Header (at most 17 bytes) plus typical codec metadata.
    const SMALL: usize = 64;
    let mut small: [u8; SMALL];
    let mut inline: [u8; INLINE_AAD_CAPACITY];
    #[cfg(feature = "alloc")]
    let heap: alloc::vec::Vec<u8>;
    let len = aad.len();
    let joined: &[u8] = if aad.metadata.is_empty() {
        aad.header
    } else if len <= SMALL {
        small = [0; SMALL];
        join_on_stack(aad, &mut small)
    } else if len <= INLINE_AAD_CAPACITY {
        inline = [0; INLINE_AAD_CAPACITY];
        join_on_stack(aad, &mut inline)
    } else {
        #[cfg(feature = "alloc")]
        {
            heap = [aad.header, aad.metadata].concat();
            &heap
        }
        #[cfg(not(feature = "alloc"))]
        return Err(Error::MetadataTooLong);
    };
    f(joined)
}

/// Writes `header || metadata` at the start of `buf` (`aad.len() <= N`)
/// and returns it. Written in place: an array returned by value is read
/// back whole right after being written in parts, and that read stalls
/// on store forwarding (most of this function's time, measured).
#[inline(never)]
fn join_on_stack<'b, const N: usize>(aad: Aad<'_>, buf: &'b mut [u8; N]) -> &'b [u8] {
    let h = aad.header.len();
    let len = h + aad.metadata.len();
    copy_short(&mut buf[..h], aad.header);
    copy_short(&mut buf[h..len], aad.metadata);
    &buf[..len]
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

/// With `aws-lc` on, both backends are compiled in tests: they must agree
/// byte for byte on every suite, on both data paths, and across the
/// AES-CTR chunk boundaries of the AWS-LC slice path.
#[cfg(all(test, feature = "aws-lc"))]
mod cross_backend {
    #![allow(clippy::cast_possible_truncation)] // test data from indices

    use super::{Aad, Data, FrameCipher, awslc, rustcrypto};
    use crate::error::Error;
    use crate::suite::CipherSuite;

    fn bytes(len: usize, seed: u8) -> alloc::vec::Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    const LENGTHS: [usize; 12] = [0, 1, 15, 16, 17, 100, 1200, 4095, 4096, 4097, 8192, 10_007];

    fn seal<C: FrameCipher>(
        cipher: &C,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        pt: &[u8],
        in_place: bool,
        tag_len: usize,
    ) -> (alloc::vec::Vec<u8>, alloc::vec::Vec<u8>) {
        let mut ct = alloc::vec![0u8; pt.len()];
        let mut tag = alloc::vec![0u8; tag_len];
        let data = if in_place {
            ct.copy_from_slice(pt);
            Data::InPlace(&mut ct)
        } else {
            Data::Copy {
                input: pt,
                output: &mut ct,
            }
        };
        cipher.seal(nonce, aad, data, &mut tag).expect("seal");
        (ct, tag)
    }

    #[test]
    fn aws_lc_and_rustcrypto_produce_identical_frames() {
        for suite in CipherSuite::ALL {
            let key = bytes(suite.key_len(), suite.id() as u8);
            let lc = awslc::Cipher::new(suite, &key);
            let rc = rustcrypto::Cipher::new(suite, &key);
            for (n, len) in LENGTHS.into_iter().enumerate() {
                let nonce: [u8; 12] = core::array::from_fn(|i| (i * 7 + n) as u8);
                let pt = bytes(len, 3);
                let metadata = bytes(n * 10, 9);
                let header = [0x12, 0x34];
                let aad = Aad {
                    header: &header,
                    metadata: &metadata,
                };
                for in_place in [true, false] {
                    let lc_frame = seal(&lc, &nonce, aad, &pt, in_place, suite.tag_len());
                    let rc_frame = seal(&rc, &nonce, aad, &pt, in_place, suite.tag_len());
                    assert!(
                        lc_frame == rc_frame,
                        "{suite} len {len} in_place {in_place}"
                    );
                }

                // Each opens what the other sealed.
                let (ct, tag) = seal(&rc, &nonce, aad, &pt, false, suite.tag_len());
                let mut out = alloc::vec![0u8; len];
                let data = Data::Copy {
                    input: &ct,
                    output: &mut out,
                };
                lc.open(&nonce, aad, data, &tag).expect("aws-lc opens");
                assert_eq!(out, pt, "{suite} len {len}");
                let mut buf = ct.clone();
                lc.open(&nonce, aad, Data::InPlace(&mut buf), &tag)
                    .expect("aws-lc opens in place");
                assert_eq!(buf, pt, "{suite} len {len}");

                let (ct, tag) = seal(&lc, &nonce, aad, &pt, true, suite.tag_len());
                let mut buf = ct.clone();
                rc.open(&nonce, aad, Data::InPlace(&mut buf), &tag)
                    .expect("RustCrypto opens");
                assert_eq!(buf, pt, "{suite} len {len}");
            }
        }
    }

    /// Opens a forged frame in place and into a slice with `cipher`;
    /// both outputs must come back zeroed.
    fn assert_forgery_zeroed<C: FrameCipher>(cipher: &C, suite: CipherSuite, key: &[u8]) {
        let rc = rustcrypto::Cipher::new(suite, key);
        let nonce = [7u8; 12];
        let aad = Aad {
            header: &[0x00],
            metadata: &[],
        };
        let pt = bytes(300, 5);
        let (ct, mut tag) = seal(&rc, &nonce, aad, &pt, false, suite.tag_len());
        tag[0] ^= 1;

        let mut buf = ct.clone();
        assert_eq!(
            cipher.open(&nonce, aad, Data::InPlace(&mut buf), &tag),
            Err(Error::AuthenticationFailed)
        );
        assert!(buf.iter().all(|&b| b == 0), "{suite}: in place");

        let mut out = alloc::vec![0xAA; ct.len()];
        let data = Data::Copy {
            input: &ct,
            output: &mut out,
        };
        assert_eq!(
            cipher.open(&nonce, aad, data, &tag),
            Err(Error::AuthenticationFailed)
        );
        assert!(out.iter().all(|&b| b == 0), "{suite}: into a slice");
    }

    #[test]
    fn failed_open_zeroes_the_output_on_both_backends() {
        for suite in CipherSuite::ALL {
            let key = bytes(suite.key_len(), 1);
            assert_forgery_zeroed(&awslc::Cipher::new(suite, &key), suite, &key);
            assert_forgery_zeroed(&rustcrypto::Cipher::new(suite, &key), suite, &key);
        }
    }

    /// `head || tail` sealed with the tail read where it is: on each
    /// backend, the bytes of a plain in-place seal of the two joined.
    fn sealed_with_tail<C: FrameCipher>(
        cipher: &C,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        pt: &[u8],
        head: usize,
        tag_len: usize,
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut buf = alloc::vec![0xee_u8; pt.len() + tag_len];
        buf[..head].copy_from_slice(&pt[..head]);
        cipher.seal_with_tail(nonce, aad, &mut buf, head, &pt[head..])?;
        Ok(buf)
    }

    #[test]
    fn a_tail_sealed_where_it_is_gives_the_bytes_of_an_in_place_seal() {
        for suite in CipherSuite::ALL {
            let key = bytes(suite.key_len(), 5);
            let lc = awslc::Cipher::new(suite, &key);
            let rc = rustcrypto::Cipher::new(suite, &key);
            let nonce = [7u8; 12];
            let metadata = bytes(20, 2);
            let aad = Aad {
                header: &[0x15, 0x01],
                metadata: &metadata,
            };
            for len in [0, 1, 17, 1200, 4097] {
                let pt = bytes(len, 4);
                let (ct, tag) = seal(&rc, &nonce, aad, &pt, true, suite.tag_len());
                let want = [ct, tag].concat();
                for head in [0, len / 3, len] {
                    for (backend, got) in [
                        (
                            "aws-lc",
                            sealed_with_tail(&lc, &nonce, aad, &pt, head, suite.tag_len()),
                        ),
                        (
                            "rustcrypto",
                            sealed_with_tail(&rc, &nonce, aad, &pt, head, suite.tag_len()),
                        ),
                    ] {
                        assert_eq!(
                            got.as_ref(),
                            Ok(&want),
                            "{suite} {backend} len {len} head {head}"
                        );
                    }
                }
            }
            // AWS-LC's GCM checks the room for the tail's ciphertext and the
            // tag itself (the others are given it exact by `FrameKey`).
            if !matches!(suite.aead(), crate::suite::Aead::AesGcm) {
                continue;
            }
            for cipher_buf in [3 + suite.tag_len() - 1, 3 + suite.tag_len() + 1] {
                let mut buf = alloc::vec![0u8; 2 + cipher_buf];
                assert_eq!(
                    lc.seal_with_tail(&nonce, aad, &mut buf, 2, b"abc"),
                    Err(Error::BufferTooSmall),
                    "{suite}: {cipher_buf} bytes after the head"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::cast_possible_truncation)] // test data from indices

    use super::{Aad, INLINE_AAD_CAPACITY, with_contiguous_aad};
    use crate::error::Error;

    #[test]
    fn every_header_and_metadata_length_joins_in_order() {
        let bytes: [u8; 97] = core::array::from_fn(|i| 0x80 ^ i as u8);
        for h in 1..=17 {
            for m in 0..=80 {
                let aad = Aad {
                    header: &bytes[..h],
                    metadata: &bytes[h..h + m],
                };
                let seen = with_contiguous_aad(aad, |joined| Ok(joined.to_vec()));
                assert_eq!(
                    seen.as_deref(),
                    Ok(&bytes[..h + m]),
                    "header {h}, metadata {m}"
                );
            }
        }
    }

    #[test]
    fn contiguous_aad_is_header_then_metadata_on_every_path() {
        let header = [0x9a, 0x01, 0x02];
        let metadata: [u8; 2 * INLINE_AAD_CAPACITY] = core::array::from_fn(|i| (i % 253) as u8);
        // Empty, the small buffer and its edge, the inline buffer and its
        // edge, then past it.
        for len in [0, 1, 61, 62, 100, INLINE_AAD_CAPACITY - 3] {
            let aad = Aad {
                header: &header,
                metadata: &metadata[..len],
            };
            let seen = with_contiguous_aad(aad, |joined| {
                assert_eq!(&joined[..3], &header);
                assert_eq!(&joined[3..], &metadata[..len]);
                Ok(joined.len())
            });
            assert_eq!(seen, Ok(3 + len));
        }
        for len in [INLINE_AAD_CAPACITY - 2, metadata.len()] {
            let aad = Aad {
                header: &header,
                metadata: &metadata[..len],
            };
            let result = with_contiguous_aad(aad, |joined| {
                assert_eq!(&joined[3..], &metadata[..len]);
                Ok(())
            });
            if cfg!(feature = "alloc") {
                assert_eq!(result, Ok(()));
            } else {
                assert_eq!(result, Err(Error::MetadataTooLong));
            }
        }
    }
}
