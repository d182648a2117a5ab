//! The sending role: one key, one counter that only moves forward.

use core::ops::Range;

use crate::error::Error;
use crate::frame::{FrameKey, Layout, Sealed};
use crate::header::Header;
use crate::ids::{Counter, KeyId};
use crate::secret::{BaseKey, KeyShare};
use crate::suite::CipherSuite;

/// Seals frames under one key: the primitive behind every sender kind.
///
/// The sender owns its counter (CTR): each frame takes the next value and the
/// caller cannot choose it, so a nonce is never reused (RFC 9605 §4.4.3,
/// §9.1). After CTR `u64::MAX` has been used the sender is exhausted for good
/// and returns [`Error::CounterExhausted`]; a new key (and KID) is needed.
/// Frames are sealed through the [`Seal`](crate::Seal) doors.
///
/// **What the application must guarantee, because no library can see it:
/// a (key, KID) pair seals in one `Sender` only, in one process, ever.** Two
/// senders with the same key and KID produce the same nonces, and XOR of two
/// such ciphertexts is XOR of their plaintexts. So: give every sender its
/// own KID or its own key (RFC 9605 §5.1 and §5.2 KIDs do this); never build
/// a second sender from a key another process also uses; and after a
/// restart, [`Sender::resume`] at a counter persisted *before* it was used.
/// The constructors take the [`BaseKey`] by value to make the in-process
/// case hard to get wrong: one key, one sender. Receivers get their copy as
/// a [`KeyShare`], which can open frames but never seal them.
///
/// ```
/// use framecrypt::prelude::*;
/// use framecrypt::{BaseKey, CipherSuite, FixedKeyStore, KeyId, Receiver, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (mut sender, share) = Sender::with_share(suite, KeyId(9), BaseKey::new(&[9; 16])?);
/// let mut receiver = Receiver::<FixedKeyStore<2>>::new();
/// receiver.add_share(share)?;
///
/// let mut buf = [0u8; 64];
/// buf[17..22].copy_from_slice(b"hello"); // headroom for the header
/// let sealed = sender.seal_in_place(b"", &mut buf, 17..22)?;
/// let frame = &mut buf[sealed.frame()];
/// let opened = receiver.open_in_place(b"", frame)?;
/// assert_eq!(&frame[opened.plaintext()], b"hello");
/// # Ok::<(), framecrypt::Error>(())
/// ```
///
/// Two senders from one key cannot be written in one process without
/// building the key twice: the first constructor consumes it,
///
/// ```compile_fail,E0382
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let key = BaseKey::new(&[9; 16])?;
/// let first = Sender::new(suite, KeyId(9), key);
/// let second = Sender::new(suite, KeyId(9), key); // `key` was moved
/// # Ok::<(), framecrypt::Error>(())
/// ```
///
/// a [`BaseKey`] cannot be copied,
///
/// ```compile_fail,E0599
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let key = BaseKey::new(&[9; 16])?;
/// let first = Sender::new(suite, KeyId(9), key.clone()); // no `clone`
/// # Ok::<(), framecrypt::Error>(())
/// ```
///
/// and the share a sender hands to its receivers makes no sender:
///
/// ```compile_fail,E0308
/// use framecrypt::{BaseKey, CipherSuite, KeyId, Sender};
///
/// let suite = CipherSuite::Aes128GcmSha256_128;
/// let (sender, share) = Sender::with_share(suite, KeyId(9), BaseKey::new(&[9; 16])?);
/// let second = Sender::new(suite, KeyId(9), share); // a `KeyShare` is no `BaseKey`
/// # Ok::<(), framecrypt::Error>(())
/// ```
#[derive(Debug)]
pub struct Sender {
    key: FrameKey,
    /// The next counter to use; `None` once every value has been used.
    next_ctr: Option<u64>,
}

impl Sender {
    /// A sender for `kid` starting at CTR 0, consuming `base_key`. The key
    /// and salt are derived and the cipher built here, once; the base key is
    /// zeroized when this returns.
    #[must_use]
    pub fn new(suite: CipherSuite, kid: KeyId, base_key: BaseKey) -> Self {
        Self::resume(suite, kid, base_key, Counter(0))
    }

    /// A sender for `kid` and the [`KeyShare`] its receivers install: the
    /// way to hand a sender's key to receivers in one process without
    /// touching its bytes.
    #[must_use]
    pub fn with_share(suite: CipherSuite, kid: KeyId, base_key: BaseKey) -> (Self, KeyShare) {
        let sender = Self {
            key: FrameKey::derive(suite, kid, &base_key),
            next_ctr: Some(0),
        };
        (sender, KeyShare::new(suite, kid, base_key))
    }

    /// A sender that continues at `next_ctr`, as saved by
    /// [`Self::next_counter`] (RFC 9605 §9.1: a sender that restarts with
    /// the same key must not reuse a counter value). The application is
    /// responsible for persisting a value at least as high as any used,
    /// before using it.
    #[must_use]
    pub fn resume(suite: CipherSuite, kid: KeyId, base_key: BaseKey, next_ctr: Counter) -> Self {
        Self {
            key: FrameKey::derive(suite, kid, &base_key),
            next_ctr: Some(next_ctr.0),
        }
    }

    /// A sender whose key is already derived (for the key holders of
    /// [`crate::keys`] that keep the base key themselves).
    pub(crate) const fn from_frame_key(key: FrameKey) -> Self {
        Self {
            key,
            next_ctr: Some(0),
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

    /// The header the next frame will carry.
    ///
    /// # Errors
    /// [`Error::CounterExhausted`] once every counter value has been used.
    pub const fn next_header(&self) -> Result<Header, Error> {
        match self.next_ctr {
            Some(ctr) => Ok(Header::new(self.kid(), Counter(ctr))),
            None => Err(Error::CounterExhausted),
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

    /// The slice door of [`crate::Seal::seal`].
    pub(crate) fn seal_into(
        &mut self,
        metadata: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<Sealed, Error> {
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
        let len = self.key.seal_into(ctr, metadata, plaintext, out)?;
        Ok(Sealed::new(
            Header::new(self.kid(), ctr),
            0..len,
            Layout::WholeFrame,
        ))
    }

    /// The in-place door of [`crate::Seal::seal_in_place`].
    pub(crate) fn seal_within(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Sealed, Error> {
        self.seal_within_with_tail(metadata, buf, plaintext, &[])
    }

    /// [`crate::Seal::seal_in_place_with_tail`] for this sender.
    pub(crate) fn seal_within_with_tail(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        head: Range<usize>,
        tail: &[u8],
    ) -> Result<Sealed, Error> {
        let ctr = self.take_counter(|sender, ctr| {
            let header_len = Header::new(sender.kid(), ctr).encoded_len();
            let fits = head.start <= head.end
                && head.start >= header_len
                && head
                    .end
                    .checked_add(tail.len())
                    .and_then(|end| end.checked_add(sender.suite().tag_len()))
                    .is_some_and(|end| end <= buf.len());
            if !fits {
                return Err(Error::BufferTooSmall);
            }
            sender.check_metadata(ctr, metadata)
        })?;
        let frame = self
            .key
            .seal_in_place_with_tail(ctr, metadata, buf, head, tail)?;
        Ok(Sealed::new(
            Header::new(self.kid(), ctr),
            frame,
            Layout::WholeFrame,
        ))
    }
}
