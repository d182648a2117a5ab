//! SFrame encryption and decryption of one frame (RFC 9605 §4.4.3, §4.4.4)
//! under a key whose cipher state is built once.

use core::fmt;
use core::ops::Range;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{Aad, Cipher, Data, FrameCipher};
use crate::error::Error;
use crate::header::{Header, ParsedHeader};
use crate::ids::{Counter, KeyId};
use crate::key_schedule::ExtractedSecret;
use crate::secret::{BaseKey, KeyAndSalt, wipe_stack, wiped};
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
/// redacted in `Debug`. Senders and receivers build theirs; it is public
/// for inspection (its KID and suite) only.
///
/// ```
/// use framecrypt::{BaseKey, CipherSuite, FrameKey, KeyId};
///
/// let key = FrameKey::derive(CipherSuite::Aes128GcmSha256_128, KeyId(3), &BaseKey::new(&[3; 16])?);
/// assert_eq!(key.kid(), KeyId(3));
/// assert!(format!("{key:?}").contains("<redacted>"));
/// # Ok::<(), framecrypt::Error>(())
/// ```
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

/// How a protected frame's bytes are laid out.
///
/// ```
/// use framecrypt::codec::{Codec, Fallback, Protection};
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Layout, Sender};
///
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(1), BaseKey::new(&[1; 16])?);
/// let mut out = [0u8; 64];
/// // Not VP8 (too short for a frame tag): protected whole, as the policy allows.
/// let whole = Protection::new(Codec::Vp8, Fallback::WholeFrame);
/// assert_eq!(whole.protect(&mut sender, &[0x50], &mut out)?.layout(), Layout::WholeFrame);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A plain SFrame frame, `header || ciphertext || tag` (RFC 9605 §4.2):
    /// every [`Seal`](crate::Seal) and [`Open`](crate::Open) door, and
    /// codec-aware protection's [`Fallback::WholeFrame`](crate::codec::Fallback::WholeFrame).
    WholeFrame,
    /// With the codec's clear bytes in place ([`crate::codec`]).
    CodecAware,
}

/// What sealing a frame produced: its header and where the protected frame
/// is in the output (the caller's slice, or the in-place buffer).
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Layout, Sender};
///
/// let key = BaseKey::new(&[7; 16])?;
/// let mut sender = Sender::new(CipherSuite::Aes128GcmSha256_128, KeyId(1), key);
/// let mut out = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut out)?;
/// // KID 1 and CTR 0 fit the header's one config byte; then 5 bytes, a 16-byte tag.
/// assert_eq!(sealed.frame(), 0..1 + 5 + 16);
/// assert_eq!(sealed.header().kid(), KeyId(1));
/// assert_eq!(sealed.layout(), Layout::WholeFrame);
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    header: Header,
    frame: Range<usize>,
    layout: Layout,
}

impl Sealed {
    pub(crate) const fn new(header: Header, frame: Range<usize>, layout: Layout) -> Self {
        Self {
            header,
            frame,
            layout,
        }
    }

    /// The frame's header (KID and CTR).
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the protected frame is: `0..len` of the output slice, or its
    /// range in the in-place buffer.
    #[must_use]
    pub fn frame(&self) -> Range<usize> {
        self.frame.clone()
    }

    /// The protected frame's length.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.frame.end - self.frame.start
    }

    /// Whether the protected frame is empty (never, for a sealed frame:
    /// it holds at least a header and a tag).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How the frame was laid out.
    #[must_use]
    pub const fn layout(&self) -> Layout {
        self.layout
    }
}

/// What opening a frame produced: its header and where the plaintext is in
/// the output (the caller's slice, the in-place buffer, or the `Vec`).
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(1), BaseKey::new(&[7; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<2>>::new();
/// receiver.add_share(share)?;
/// let mut wire = [0u8; 64];
/// let sealed = sender.seal(b"", b"frame", &mut wire)?;
/// let wire = &wire[sealed.frame()];
/// let mut out = [0u8; 64];
/// let opened = receiver.open(b"", wire, &mut out)?;
/// assert_eq!(&out[opened.plaintext()], b"frame");
/// assert_eq!(opened.header().kid(), KeyId(1));
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    header: Header,
    plaintext: Range<usize>,
    layout: Layout,
}

impl Opened {
    pub(crate) const fn new(header: Header, plaintext: Range<usize>, layout: Layout) -> Self {
        Self {
            header,
            plaintext,
            layout,
        }
    }

    /// The frame's header (KID and CTR).
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Where the plaintext is in the output.
    #[must_use]
    pub fn plaintext(&self) -> Range<usize> {
        self.plaintext.clone()
    }

    /// The plaintext's length.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.plaintext.end - self.plaintext.start
    }

    /// Whether the plaintext is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How the frame was laid out.
    #[must_use]
    pub const fn layout(&self) -> Layout {
        self.layout
    }
}

impl FrameKey {
    /// Derives the key and salt for `kid` (RFC 9605 §4.4.2) and builds the
    /// cipher. The intermediate key bytes are zeroized before returning.
    #[must_use]
    pub fn derive(suite: CipherSuite, kid: KeyId, base_key: &BaseKey) -> Self {
        wiped(|| Self::from_secret(suite, kid, &ExtractedSecret::extract(suite, base_key)))
    }

    /// As [`Self::derive`], from the base key's extracted secret (for the
    /// holders that derive many KIDs' keys from one base key).
    pub(crate) fn from_secret(suite: CipherSuite, kid: KeyId, secret: &ExtractedSecret) -> Self {
        // Filled in place and zeroized here: never moved, so no copy is
        // left behind.
        wiped(|| {
            let mut derived = KeyAndSalt::zeroed();
            secret.key_and_salt_into(suite, kid, &mut derived);
            // What the expansion left below this frame goes before the
            // cipher is built there; the closing wipe takes the cipher
            // crate's copies.
            wipe_stack();
            Self::build(suite, kid, &derived)
        })
    }

    /// The key for `kid` from its derived key and salt: only the cipher is
    /// built here.
    pub(crate) fn from_key_and_salt(suite: CipherSuite, kid: KeyId, derived: &KeyAndSalt) -> Self {
        // The cipher crate leaves copies of the key on the stack.
        wiped(|| Self::build(suite, kid, derived))
    }

    /// The key from its key and salt, inside a caller's [`wiped`].
    fn build(suite: CipherSuite, kid: KeyId, derived: &KeyAndSalt) -> Self {
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

    /// Encrypts the plaintext `buf[head] || tail`, the head in place and
    /// the tail read where it is, its ciphertext written at
    /// `buf[head.end..]`; the header goes just before `head`, the tag after
    /// the tail's ciphertext. Returns the range of the whole frame.
    pub(crate) fn seal_in_place_with_tail(
        &self,
        ctr: Counter,
        metadata: &[u8],
        buf: &mut [u8],
        head: Range<usize>,
        tail: &[u8],
    ) -> Result<Range<usize>, Error> {
        let header = Header::new(self.kid, ctr).encode();
        let header = header.as_bytes();
        let start = head
            .start
            .checked_sub(header.len())
            .ok_or(Error::BufferTooSmall)?;
        let end = head
            .end
            .checked_add(tail.len())
            .and_then(|end| end.checked_add(self.suite.tag_len()))
            .ok_or(Error::BufferTooSmall)?;
        if head.start > head.end {
            return Err(Error::BufferTooSmall);
        }
        let frame = buf.get_mut(start..end).ok_or(Error::BufferTooSmall)?;
        let (aad, rest) = frame.split_at_mut(header.len());
        aad.copy_from_slice(header);
        self.cipher.seal_with_tail(
            &self.nonce(ctr),
            Aad {
                header: aad,
                metadata,
            },
            rest,
            head.len(),
            tail,
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
    ) -> Result<Opened, Error> {
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
        Ok(Opened::new(
            header.header(),
            0..ciphertext.len(),
            Layout::WholeFrame,
        ))
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
    ) -> Result<Opened, Error> {
        let (aad, body, tag) = self.split_in_place(header_len, metadata, buf)?;
        let body_len = body.len();
        self.cipher
            .open(&self.nonce(header.ctr()), aad, Data::InPlace(body), tag)?;
        Ok(Opened::new(
            header,
            header_len..header_len + body_len,
            Layout::WholeFrame,
        ))
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
    ) -> Result<Opened, Error> {
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
        Ok(Opened::new(
            header,
            header_len..header_len + body_len,
            Layout::WholeFrame,
        ))
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
