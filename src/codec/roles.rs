//! What codec-aware protection needs from a sender and a receiver, so that
//! every sender (plain, ratcheting, MLS) and every receiver can use it.

use core::ops::Range;

use crate::error::Error;
use crate::frame::Decrypted;
use crate::header::Header;
use crate::key_store::KeyStore;
use crate::keys::mls::{EpochManager, MlsSender};
use crate::keys::ratchet::{RatchetingReceiver, RatchetingSender};
use crate::receiver::Receiver;
use crate::sender::Sender;

mod sealed {
    pub trait Sealed {}
}

/// A sender that [`Protection`](super::Protection) can use: [`Sender`],
/// [`RatchetingSender`], [`MlsSender`]. Sealed.
pub trait SealFrame: sealed::Sealed {
    /// The header the next frame will carry and the tag length.
    ///
    /// # Errors
    /// The error encrypting would return: [`Error::CounterExhausted`], or
    /// [`Error::UnknownKeyId`] for an MLS sender before its first epoch.
    fn next_frame(&self) -> Result<(Header, usize), Error>;

    /// As [`Sender::encrypt_in_place`].
    ///
    /// # Errors
    /// As [`Sender::encrypt_in_place`].
    fn seal_in_place(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Range<usize>, Error>;
}

/// A receiver that [`Protection`](super::Protection) can use: a
/// [`Receiver`], or a ratcheting or MLS receiver with the current time
/// ([`At`]). Sealed.
pub trait OpenFrame: sealed::Sealed {
    /// As [`Receiver::decrypt_in_place`].
    ///
    /// # Errors
    /// As [`Receiver::decrypt_in_place`] (and the receiver's own errors,
    /// such as [`Error::Replayed`]).
    fn open_in_place(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Decrypted, Error>;
}

/// A receiver that needs the time, with the time of this call in
/// milliseconds: `At(&mut ratcheting_receiver, now_ms)`.
#[derive(Debug)]
pub struct At<'r, R>(pub &'r mut R, pub u64);

fn header_of(
    kid: crate::header::KeyId,
    ctr: Option<crate::header::Counter>,
) -> Result<Header, Error> {
    Ok(Header::new(kid, ctr.ok_or(Error::CounterExhausted)?))
}

/// [`Sender`] and [`RatchetingSender`] have the same counter and key
/// accessors; one implementation serves both.
macro_rules! seal_frame_for_plain_sender {
    ($($sender:ty),*) => {$(
        impl sealed::Sealed for $sender {}
        impl SealFrame for $sender {
            fn next_frame(&self) -> Result<(Header, usize), Error> {
                Ok((
                    header_of(self.kid(), self.next_counter())?,
                    self.suite().tag_len(),
                ))
            }

            fn seal_in_place(
                &mut self,
                metadata: &[u8],
                buf: &mut [u8],
                plaintext: Range<usize>,
            ) -> Result<Range<usize>, Error> {
                self.encrypt_in_place(metadata, buf, plaintext)
            }
        }
    )*};
}

seal_frame_for_plain_sender!(Sender, RatchetingSender);

impl sealed::Sealed for MlsSender {}
impl SealFrame for MlsSender {
    fn next_frame(&self) -> Result<(Header, usize), Error> {
        let kid = self.kid().ok_or(Error::UnknownKeyId)?;
        let header = header_of(kid, self.next_counter())?;
        // The tag is what a frame adds beyond its header.
        let tag = self
            .next_ciphertext_len(0)
            .ok_or(Error::UnknownKeyId)?
            .saturating_sub(header.encoded_len());
        Ok((header, tag))
    }

    fn seal_in_place(
        &mut self,
        metadata: &[u8],
        buf: &mut [u8],
        plaintext: Range<usize>,
    ) -> Result<Range<usize>, Error> {
        self.encrypt_in_place(metadata, buf, plaintext)
    }
}

impl<S: KeyStore> sealed::Sealed for Receiver<S> {}
impl<S: KeyStore> OpenFrame for Receiver<S> {
    fn open_in_place(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Decrypted, Error> {
        self.decrypt_in_place(metadata, buf)
    }
}

impl<const N: usize, const W: usize> sealed::Sealed for At<'_, RatchetingReceiver<N, W>> {}
impl<const N: usize, const W: usize> OpenFrame for At<'_, RatchetingReceiver<N, W>> {
    fn open_in_place(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Decrypted, Error> {
        self.0.decrypt_in_place(self.1, metadata, buf)
    }
}

impl<const E: usize, const K: usize, const W: usize> sealed::Sealed
    for At<'_, EpochManager<E, K, W>>
{
}
impl<const E: usize, const K: usize, const W: usize> OpenFrame for At<'_, EpochManager<E, K, W>> {
    fn open_in_place(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Decrypted, Error> {
        self.0.decrypt_in_place(self.1, metadata, buf)
    }
}
