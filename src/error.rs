//! The one error type of the crate.

use core::fmt;

use crate::ids::KeyId;

/// Everything that can go wrong in framecrypt.
///
/// The enum is `Copy` and small: an error never holds key material or
/// plaintext, and [`Error::AuthenticationFailed`] deliberately says nothing
/// about *why* a frame was rejected (which byte, tag or key), because such
/// detail helps an attacker more than a user. The one value an error
/// carries is the KID of [`Error::UnknownKeyId`], which the frame's header
/// already shows in clear.
///
/// ```
/// use framecrypt::{Error, KeyId};
///
/// let e = Error::UnknownKeyId(KeyId(0x42));
/// assert_eq!(e.to_string(), "no key installed for key ID 0x42");
/// assert_eq!(Error::AuthenticationFailed.to_string(), "authentication failed");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The SFrame header (RFC 9605 §4.3) is truncated: its config byte
    /// announces more KID or CTR bytes than the input holds, or the input is
    /// empty.
    MalformedHeader,
    /// No key is installed for the frame's KID (carried here: it is the
    /// clear KID of the frame's header, no secret).
    UnknownKeyId(KeyId),
    /// An MLS sender has no key yet: it has not entered its first epoch
    /// (RFC 9605 §5.2).
    NoEpoch,
    /// The frame is shorter than its header plus the suite's tag.
    FrameTooShort,
    /// The frame did not authenticate. No detail is given on purpose.
    AuthenticationFailed,
    /// The sender has used every counter value of its key (RFC 9605 §4.4.3
    /// forbids nonce reuse). Permanent: install a new key in a new `Sender`.
    CounterExhausted,
    /// The output buffer, or the headroom/tailroom of an in-place buffer, is
    /// too small; [`crate::ciphertext_len`] and [`crate::max_overhead`] give
    /// the sizes needed.
    BufferTooSmall,
    /// A fixed-capacity key store is full.
    StoreFull,
    /// The number is not one of the cipher suites 0x0001–0x0008.
    UnsupportedCipherSuite,
    /// A base key is empty or longer than [`crate::BaseKey::MAX_LEN`].
    InvalidKeyLength,
    /// The metadata is longer than an allocation-free AES-GCM call can bind
    /// (see [`crate::INLINE_AAD_CAPACITY`]); only builds without `alloc`
    /// return this.
    MetadataTooLong,
    /// The frame's KID names a ratchet step more steps ahead of the
    /// receiver than it is configured to derive (RFC 9605 §5.1). Nothing was
    /// derived into the receiver's state.
    TooFarAhead,
    /// The frame's KID names a key the receiver held once but has erased:
    /// an earlier ratchet step, generation or MLS epoch whose retention
    /// (count or time) has run out.
    KeyExpired,
    /// The frame's counter was already accepted under this key, or is older
    /// than the anti-replay window (RFC 9605 §9.3).
    Replayed,
    /// A key was offered for a generation, ratchet step or epoch that is not
    /// newer than the one already in use.
    StaleKey,
    /// No key ID is left: the next generation or step no longer fits the
    /// bits the KID layout gives it.
    KeyIdExhausted,
    /// A configuration value is out of range: KID bit widths (R, E, S), a
    /// field that does not fit its bits, a window width or a limit. The
    /// function's documentation says which.
    InvalidParameter,
    /// The MLS exporter could not produce a secret (for example, the group
    /// is no longer active).
    ExportFailed,
    /// A frame does not parse as the codec it was given to
    /// [`crate::codec`] (or a protected frame's clear structure is broken),
    /// and the fallback policy does not allow whole-frame protection.
    MalformedFrame,
    /// [`crate::codec::Codec::Unknown`] (or an unknown codec name) with a
    /// fallback policy that refuses whole-frame protection.
    UnsupportedCodec,
    /// An SFrame RTP payload (draft-ietf-avtcore-rtp-sframe §4) is empty,
    /// or fragments cannot be joined: a sequence gap, a missing first or
    /// last fragment, or mixed T bits.
    MalformedPacket,
    /// A key announcement (`distribute` feature) is truncated, has trailing
    /// bytes, an unknown version byte, an empty ID, an unsupported cipher
    /// suite or ratchet bits, or a generation that does not fit them.
    MalformedAnnouncement,
    /// A key announcement names another session, cipher suite or ratchet
    /// bits than the receiver's session.
    WrongSession,
    /// A key announcement is addressed to another participant.
    WrongRecipient,
    /// A key announcement names another sender than the one it is opened
    /// for.
    WrongSender,
    /// A key announcement for exactly the key already installed arrived
    /// again.
    AnnouncementReplayed,
    /// A key announcement was made for an older roster than the newest the
    /// receiver knows of: a later removal superseded its key.
    AnnouncementSuperseded,
    /// A key announcement's issue time is further from the receiver's
    /// clock than the session's maximum announcement age.
    AnnouncementExpired,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownKeyId(kid) => return write!(f, "no key installed for key ID {kid}"),
            Self::NoEpoch => "MLS sender has not entered an epoch yet",
            Self::MalformedHeader => "malformed SFrame header",
            Self::FrameTooShort => "frame too short for its header and tag",
            Self::AuthenticationFailed => "authentication failed",
            Self::CounterExhausted => "sender counter exhausted; a new key is required",
            Self::BufferTooSmall => "buffer too small",
            Self::StoreFull => "key store full",
            Self::UnsupportedCipherSuite => "unsupported cipher suite",
            Self::InvalidKeyLength => "invalid base key length",
            Self::MetadataTooLong => "metadata too long for an allocation-free AES-GCM call",
            Self::TooFarAhead => "key ID is too many ratchet steps ahead",
            Self::KeyExpired => "key for this key ID has expired",
            Self::Replayed => "frame counter replayed or older than the replay window",
            Self::StaleKey => "key is not newer than the key in use",
            Self::KeyIdExhausted => "no key ID left for the next generation or step",
            Self::InvalidParameter => "configuration value out of range",
            Self::ExportFailed => "MLS exporter failed",
            Self::MalformedFrame => "frame does not parse as the given codec",
            Self::UnsupportedCodec => "no codec-aware rule for this codec",
            Self::MalformedPacket => "malformed or incomplete SFrame RTP payload",
            Self::MalformedAnnouncement => "malformed key announcement",
            Self::WrongSession => "key announcement is for another session",
            Self::WrongRecipient => "key announcement is addressed to another participant",
            Self::WrongSender => "key announcement is from another sender",
            Self::AnnouncementReplayed => "key announcement replayed",
            Self::AnnouncementSuperseded => "key announcement superseded by a newer roster",
            Self::AnnouncementExpired => "key announcement too old, or issued in the future",
        })
    }
}

impl core::error::Error for Error {}
