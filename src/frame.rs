//! SFrame encryption and decryption of one frame (RFC 9605 §4.4.3, §4.4.4)
//! under a key whose cipher state is built once.

use core::fmt;
use core::ops::Range;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{Aad, Cipher, Data, FrameCipher};
use crate::error::Error;
use crate::header::{Counter, Header, KeyId, ParsedHeader};
use crate::key_schedule::derive_key_and_salt;
use crate::secret::BaseKey;
use crate::suite::CipherSuite;

/// The most bytes SFrame adds to a frame of `suite`: the longest header (17
/// bytes) plus the tag. Reserve this much when sizing buffers.
#[must_use]
pub const fn max_overhead(suite: CipherSuite) -> usize {
    Header::MAX_LEN + suite.tag_len()
}

/// The exact SFrame ciphertext length for `header` and a plaintext of
/// `plaintext_len` bytes under `suite` (saturating at `usize::MAX`).
#[must_use]
pub const fn ciphertext_len(suite: CipherSuite, header: Header, plaintext_len: usize) -> usize {
    plaintext_len
        .saturating_add(header.encoded_len())
        .saturating_add(suite.tag_len())
}

/// A KID's ready-to-use key: suite, derived salt and an expanded cipher.
///
/// Built once from a base key with the RFC 9605 §4.4.2 derivation; every
/// frame afterwards costs only the AEAD. Zeroized on drop, never `Clone`,
/// redacted in `Debug`.
pub struct FrameKey {
    kid: KeyId,
    suite: CipherSuite,
    salt: Salt,
    cipher: Cipher,
}

// Every secret field zeroizes itself on drop: `Salt` by derive, the cipher
// through the RustCrypto `zeroize` features (AES round keys, GHASH key,
// SHA-2 states inside the keyed HMAC).
impl ZeroizeOnDrop for FrameKey {}

#[derive(Zeroize, ZeroizeOnDrop)]
/// `sframe_salt` in the top 96 bits of a `u128` (big-endian), so the nonce
/// is one XOR in registers.
struct Salt(u128);

impl Salt {
    fn new(salt: &[u8; CipherSuite::NONCE_LEN]) -> Self {
        let mut wide = [0u8; 16];
        wide[..CipherSuite::NONCE_LEN].copy_from_slice(salt);
        let salt = Self(u128::from_be_bytes(wide));
        wide.zeroize();
        salt
    }
}

/// The result of a successful decryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decrypted {
    header: Header,
    plaintext: Range<usize>,
}

impl Decrypted {
    /// The frame's header (KID and CTR).
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the plaintext is: in the output slice for
    /// [`Receiver::decrypt`](crate::Receiver::decrypt), in the frame buffer for
    /// [`Receiver::decrypt_in_place`](crate::Receiver::decrypt_in_place).
    #[must_use]
    pub fn plaintext(&self) -> Range<usize> {
        self.plaintext.clone()
    }
}

impl FrameKey {
    /// Derives the key and salt for `kid` (RFC 9605 §4.4.2) and builds the
    /// cipher. The intermediate key bytes are zeroized before returning.
    #[must_use]
    pub fn derive(suite: CipherSuite, kid: KeyId, base_key: &BaseKey) -> Self {
        let derived = derive_key_and_salt(suite, kid, base_key);
        Self {
            kid,
            suite,
            salt: Salt::new(&derived.salt),
            cipher: Cipher::new(suite, derived.key()),
        }
    }

    /// The key ID this key is for.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.kid
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// RFC 9605 §4.4.3: `nonce = sframe_salt XOR encode_big_endian(CTR, Nn)`.
    ///
    /// Computed as one 16-byte value rather than byte by byte: a nonce
    /// written in pieces and read back whole by the AEAD stalls store
    /// forwarding, a few nanoseconds on every frame.
    #[inline]
    fn nonce(&self, ctr: Counter) -> [u8; 12] {
        let wide = (self.salt.0 ^ (u128::from(ctr.0) << 32)).to_be_bytes();
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&wide[..12]);
        nonce
    }

    /// Encrypts `plaintext` into `out` as `header || ciphertext || tag`.
    #[inline]
    pub(crate) fn seal_into(
        &self,
        ctr: Counter,
        metadata: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let header = Header::new(self.kid, ctr).encode();
        let header = header.as_bytes();
        let total = ciphertext_len(self.suite, Header::new(self.kid, ctr), plaintext.len());
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let (head, rest) = out.split_at_mut(header.len());
        head.copy_from_slice(header);
        let (body, tag) = rest.split_at_mut(plaintext.len());
        let data = Data::Copy {
            input: plaintext,
            output: body,
        };
        self.cipher
            .seal(&self.nonce(ctr), Aad { header, metadata }, data, tag)?;
        Ok(total)
    }

    /// Encrypts `buf[plaintext]` in place, writing the header just before it
    /// and the tag just after it; returns the range of the whole frame.
    #[inline]
    pub(crate) fn seal_in_place(
        &self,
        ctr: Counter,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Range<usize>, Error> {
        let header = Header::new(self.kid, ctr).encode();
        let header = header.as_bytes();
        let start = plaintext
            .start
            .checked_sub(header.len())
            .ok_or(Error::BufferTooSmall)?;
        let end = plaintext
            .end
            .checked_add(self.suite.tag_len())
            .ok_or(Error::BufferTooSmall)?;
        if plaintext.start > plaintext.end {
            return Err(Error::BufferTooSmall);
        }
        let frame = buf.get_mut(start..end).ok_or(Error::BufferTooSmall)?;
        let (head, rest) = frame.split_at_mut(header.len());
        head.copy_from_slice(header);
        let (body, tag) = rest.split_at_mut(plaintext.len());
        self.cipher.seal(
            &self.nonce(ctr),
            Aad {
                header: head,
                metadata,
            },
            Data::InPlace(body),
            tag,
        )?;
        Ok(start..end)
    }

    /// Splits a received frame into body and tag after its header.
    #[inline]
    fn split_frame<'a>(
        &self,
        header: &ParsedHeader<'_>,
        frame: &'a [u8],
    ) -> Result<(&'a [u8], &'a [u8]), Error> {
        let body = &frame[header.len()..];
        let body_len = body
            .len()
            .checked_sub(self.suite.tag_len())
            .ok_or(Error::FrameTooShort)?;
        Ok(body.split_at(body_len))
    }

    /// Splits a received frame held in `buf` into its AAD, body and tag.
    #[inline]
    fn split_in_place<'a>(
        &self,
        header_len: usize,
        metadata: &'a [u8],
        buf: &'a mut [u8],
    ) -> Result<(Aad<'a>, &'a mut [u8], &'a [u8]), Error> {
        let body_len = buf
            .len()
            .checked_sub(header_len + self.suite.tag_len())
            .ok_or(Error::FrameTooShort)?;
        let (head, rest) = buf.split_at_mut(header_len);
        let (body, tag) = rest.split_at_mut(body_len);
        let aad = Aad {
            header: head,
            metadata,
        };
        Ok((aad, body, tag))
    }

    /// Decrypts `frame`, whose header has been parsed as `header`, into `out`.
    #[inline]
    pub(crate) fn open_into(
        &self,
        header: &ParsedHeader<'_>,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<Decrypted, Error> {
        let (ciphertext, tag) = self.split_frame(header, frame)?;
        let out = out
            .get_mut(..ciphertext.len())
            .ok_or(Error::BufferTooSmall)?;
        let aad = Aad {
            header: header.as_bytes(),
            metadata,
        };
        let data = Data::Copy {
            input: ciphertext,
            output: out,
        };
        self.cipher
            .open(&self.nonce(header.ctr()), aad, data, tag)?;
        Ok(Decrypted {
            header: header.header(),
            plaintext: 0..ciphertext.len(),
        })
    }

    /// Decrypts the frame in `buf` in place; the plaintext stays where the
    /// ciphertext was, between the header and the tag.
    #[inline]
    pub(crate) fn open_in_place(
        &self,
        header: Header,
        header_len: usize,
        metadata: &[u8],
        buf: &mut [u8],
    ) -> Result<Decrypted, Error> {
        let (aad, body, tag) = self.split_in_place(header_len, metadata, buf)?;
        let body_len = body.len();
        self.cipher
            .open(&self.nonce(header.ctr()), aad, Data::InPlace(body), tag)?;
        Ok(Decrypted {
            header,
            plaintext: header_len..header_len + body_len,
        })
    }

    /// As [`Self::open_in_place`], but a frame that fails is left exactly
    /// as it was, not zeroed, so that another key can be tried on it. The
    /// caller must zero it if no key opens it (the last try should be
    /// [`Self::open_in_place`]).
    pub(crate) fn try_open_in_place(
        &self,
        header: Header,
        header_len: usize,
        metadata: &[u8],
        buf: &mut [u8],
    ) -> Result<Decrypted, Error> {
        let (aad, body, tag) = self.split_in_place(header_len, metadata, buf)?;
        let body_len = body.len();
        let nonce = self.nonce(header.ctr());
        if self.cipher.verifies_before_decrypting() {
            // Nothing is written unless the tag is right.
            self.cipher
                .open_unzeroed(&nonce, aad, Data::InPlace(body), tag)?;
        } else {
            self.open_from_copy(&nonce, aad, body, tag)?;
        }
        Ok(Decrypted {
            header,
            plaintext: header_len..header_len + body_len,
        })
    }

    /// A backend that decrypts before it checks the tag (AWS-LC's GCM,
    /// which needs `std`) destroys an in-place frame that fails: decrypt from
    /// a copy of the ciphertext and put it back on failure. Only the rare
    /// retry of [`Self::try_open_in_place`] pays this allocation.
    #[cfg(feature = "alloc")]
    fn open_from_copy(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        body: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let ciphertext = body.to_vec();
        let data = Data::Copy {
            input: &ciphertext,
            output: body,
        };
        let result = self.cipher.open(nonce, aad, data, tag);
        if result.is_err() {
            body.copy_from_slice(&ciphertext);
        }
        result
    }

    /// Without `alloc` only the RustCrypto backend exists, which checks
    /// the tag first; this is not reached.
    #[cfg(not(feature = "alloc"))]
    fn open_from_copy(
        &self,
        nonce: &[u8; 12],
        aad: Aad<'_>,
        body: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        self.cipher.open(nonce, aad, Data::InPlace(body), tag)
    }
}

impl fmt::Debug for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameKey")
            .field("kid", &self.kid)
            .field("suite", &self.suite)
            .field("key", &"<redacted>")
            .finish()
    }
}
