//! The sending role: one key, one counter that only moves forward.

use core::ops::Range;

use crate::error::Error;
use crate::frame::FrameKey;
use crate::header::{Counter, Header, KeyId};
use crate::secret::BaseKey;
use crate::suite::CipherSuite;

/// Encrypts frames under one key.
///
/// The sender owns its counter (CTR): each frame takes the next value and the
/// caller cannot choose it, so a nonce is never reused (RFC 9605 §4.4.3,
/// §9.1). After CTR `u64::MAX` has been used the sender is exhausted for good
/// and returns [`Error::CounterExhausted`]; a new key (and KID) is needed.
#[derive(Debug)]
pub struct Sender {
    key: FrameKey,
    /// The next counter to use; `None` once every value has been used.
    next_ctr: Option<u64>,
}

impl Sender {
    /// A sender for `kid` starting at CTR 0. The key and salt are derived
    /// and the cipher built here, once.
    #[must_use]
    pub fn new(suite: CipherSuite, kid: KeyId, base_key: &BaseKey) -> Self {
        Self::resume(suite, kid, base_key, Counter(0))
    }

    /// A sender that continues at `next_ctr`, as saved by
    /// [`Self::next_counter`] (RFC 9605 §9.1: a sender that restarts with
    /// the same key must not reuse a counter value). The application is
    /// responsible for persisting a value at least as high as any used.
    #[must_use]
    pub fn resume(suite: CipherSuite, kid: KeyId, base_key: &BaseKey, next_ctr: Counter) -> Self {
        Self {
            key: FrameKey::derive(suite, kid, base_key),
            next_ctr: Some(next_ctr.0),
        }
    }

    /// The KID every frame of this sender carries.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.key.kid()
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.key.suite()
    }

    /// The counter the next frame will use, or `None` if the sender is
    /// exhausted. Persist it to [`Self::resume`] later.
    #[must_use]
    pub const fn next_counter(&self) -> Option<Counter> {
        match self.next_ctr {
            Some(ctr) => Some(Counter(ctr)),
            None => None,
        }
    }

    /// The exact length of the next frame for a plaintext of `plaintext_len`
    /// bytes (its header length depends on the counter).
    #[must_use]
    pub const fn next_ciphertext_len(&self, plaintext_len: usize) -> usize {
        let ctr = match self.next_ctr {
            Some(ctr) => ctr,
            None => u64::MAX,
        };
        crate::frame::ciphertext_len(
            self.suite(),
            Header::new(self.kid(), Counter(ctr)),
            plaintext_len,
        )
    }

    /// Takes the next counter value, running `check` on it before it is
    /// consumed so that a refused call does not burn a counter.
    fn take_counter(
        &mut self,
        check: impl FnOnce(&Self, Counter) -> Result<(), Error>,
    ) -> Result<Counter, Error> {
        let ctr = self.next_ctr.ok_or(Error::CounterExhausted)?;
        check(self, Counter(ctr))?;
        self.next_ctr = ctr.checked_add(1);
        Ok(Counter(ctr))
    }

    /// [`Error::MetadataTooLong`] if this build cannot bind `metadata` after
    /// the header of `ctr` (only AES-GCM without `alloc`).
    fn check_metadata(&self, ctr: Counter, metadata: &[u8]) -> Result<(), Error> {
        let header_len = Header::new(self.kid(), ctr).encoded_len();
        if crate::crypto::aad_fits(self.suite(), header_len, metadata.len()) {
            Ok(())
        } else {
            Err(Error::MetadataTooLong)
        }
    }

    /// Encrypts `plaintext` into `out` as a complete SFrame ciphertext
    /// (header, encrypted payload, tag) and returns its length.
    ///
    /// `metadata` is authenticated but not sent (RFC 9605 §4.4.3); the
    /// receiver must supply the same bytes. It may be empty.
    ///
    /// # Errors
    /// - [`Error::BufferTooSmall`] if `out` is shorter than
    ///   [`Self::next_ciphertext_len`]; no counter is used.
    /// - [`Error::CounterExhausted`] once every counter value has been used.
    /// - [`Error::MetadataTooLong`] only in builds without `alloc`, see
    ///   [`crate::INLINE_AAD_CAPACITY`]; no counter is used.
    pub fn encrypt(
        &mut self,
        metadata: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let ctr = self.take_counter(|sender, ctr| {
            let needed = crate::frame::ciphertext_len(
                sender.suite(),
                Header::new(sender.kid(), ctr),
                plaintext.len(),
            );
            if out.len() < needed {
                return Err(Error::BufferTooSmall);
            }
            sender.check_metadata(ctr, metadata)
        })?;
        self.key.seal_into(ctr, metadata, plaintext, out)
    }

    /// Encrypts `buf[plaintext]` in place, with no copy of the payload: the
    /// header is written into the bytes just before `plaintext.start` and
    /// the tag into the bytes just after `plaintext.end`. Returns the range
    /// of `buf` that holds the SFrame ciphertext.
    ///
    /// Reserve [`Header::MAX_LEN`] bytes of headroom and `suite.tag_len()`
    /// bytes of tailroom (together at most [`crate::max_overhead`]).
    ///
    /// # Errors
    /// As [`Self::encrypt`]; [`Error::BufferTooSmall`] when the headroom,
    /// tailroom or range do not fit `buf`.
    pub fn encrypt_in_place(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Range<usize>, Error> {
        let ctr = self.take_counter(|sender, ctr| {
            let header_len = Header::new(sender.kid(), ctr).encoded_len();
            let fits = plaintext.start <= plaintext.end
                && plaintext.start >= header_len
                && plaintext
                    .end
                    .checked_add(sender.suite().tag_len())
                    .is_some_and(|end| end <= buf.len());
            if !fits {
                return Err(Error::BufferTooSmall);
            }
            sender.check_metadata(ctr, metadata)
        })?;
        self.key.seal_in_place(ctr, metadata, buf, plaintext)
    }

    /// Encrypts `plaintext` into a new vector.
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] once every counter value has been used.
    #[cfg(feature = "alloc")]
    pub fn encrypt_to_vec(
        &mut self,
        metadata: &[u8],
        plaintext: &[u8],
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut out = alloc::vec![0; self.next_ciphertext_len(plaintext.len())];
        let len = self.encrypt(metadata, plaintext, &mut out)?;
        out.truncate(len);
        Ok(out)
    }
}
