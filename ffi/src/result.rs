//! The result code every fallible entry point returns, and its message.

use core::ffi::{CStr, c_char};

use framecrypt::Error;

/// What a call did: `FRAMECRYPT_OK`, or why it did nothing.
///
/// Codes below 100 belong to the C boundary; codes from 100 on are the
/// library's errors (`framecrypt::Error`), one code each, in the order the
/// library declares them. Codes never change meaning once released.
///
/// `FRAMECRYPT_ERR_AUTHENTICATION_FAILED` deliberately says nothing about
/// why a frame was rejected.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum framecrypt_result {
    /// Success.
    FRAMECRYPT_OK = 0,
    /// A required pointer is NULL, or a buffer pointer is NULL while its
    /// length is not 0.
    FRAMECRYPT_ERR_NULL_POINTER = 1,
    /// An output buffer overlaps an input buffer; use separate buffers.
    FRAMECRYPT_ERR_BUFFERS_OVERLAP = 2,
    /// The call needs a ratcheting sender or receiver and was given a plain
    /// one, or the other way round.
    FRAMECRYPT_ERR_WRONG_KIND = 3,
    /// A length is larger than any buffer can be (`isize::MAX`).
    FRAMECRYPT_ERR_LENGTH_TOO_LARGE = 4,
    /// A bug in framecrypt: a panic was caught at the C boundary. The
    /// object passed in may be in any state and should be freed.
    FRAMECRYPT_ERR_PANIC = 5,
    /// A library error that this version of the C API has no code for.
    FRAMECRYPT_ERR_OTHER = 6,

    /// The SFrame header is truncated (RFC 9605 §4.3).
    FRAMECRYPT_ERR_MALFORMED_HEADER = 100,
    /// No key is installed for the frame's KID.
    FRAMECRYPT_ERR_UNKNOWN_KEY_ID = 101,
    /// The frame is shorter than its header plus the tag.
    FRAMECRYPT_ERR_FRAME_TOO_SHORT = 102,
    /// The frame did not authenticate.
    FRAMECRYPT_ERR_AUTHENTICATION_FAILED = 103,
    /// The sender has used every counter value of its key.
    FRAMECRYPT_ERR_COUNTER_EXHAUSTED = 104,
    /// The output buffer is too small; the function's documentation says
    /// how large it must be (a `..._len` function, where the size depends
    /// on the input).
    FRAMECRYPT_ERR_BUFFER_TOO_SMALL = 105,
    /// A fixed-capacity key store is full.
    FRAMECRYPT_ERR_STORE_FULL = 106,
    /// The number is not one of the cipher suites 1–8.
    FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE = 107,
    /// A base key is empty or longer than 128 bytes.
    FRAMECRYPT_ERR_INVALID_KEY_LENGTH = 108,
    /// The metadata is too long for an allocation-free AES-GCM call.
    FRAMECRYPT_ERR_METADATA_TOO_LONG = 109,
    /// The KID names a ratchet step too far ahead of the receiver.
    FRAMECRYPT_ERR_TOO_FAR_AHEAD = 110,
    /// The KID names a key the receiver has erased.
    FRAMECRYPT_ERR_KEY_EXPIRED = 111,
    /// The frame's counter was already accepted, or is older than the
    /// replay window.
    FRAMECRYPT_ERR_REPLAYED = 112,
    /// A key was offered that is not newer than the key in use.
    FRAMECRYPT_ERR_STALE_KEY = 113,
    /// No key ID is left for the next generation or step.
    FRAMECRYPT_ERR_KEY_ID_EXHAUSTED = 114,
    /// A configuration value (ratchet bits, generation, codec, fallback) is
    /// out of range.
    FRAMECRYPT_ERR_INVALID_PARAMETER = 115,
    /// An MLS exporter failed.
    FRAMECRYPT_ERR_EXPORT_FAILED = 116,
    /// The frame does not parse as the given codec.
    FRAMECRYPT_ERR_MALFORMED_FRAME = 117,
    /// No codec-aware rule for this codec, and the fallback refuses
    /// whole-frame protection.
    FRAMECRYPT_ERR_UNSUPPORTED_CODEC = 118,
    /// A malformed or incomplete SFrame RTP payload.
    FRAMECRYPT_ERR_MALFORMED_PACKET = 119,
    /// A malformed key announcement.
    FRAMECRYPT_ERR_MALFORMED_ANNOUNCEMENT = 120,
    /// A key announcement for another session.
    FRAMECRYPT_ERR_WRONG_SESSION = 121,
    /// A key announcement addressed to another participant.
    FRAMECRYPT_ERR_WRONG_RECIPIENT = 122,
    /// A key announcement from another sender.
    FRAMECRYPT_ERR_WRONG_SENDER = 123,
    /// A key announcement replayed.
    FRAMECRYPT_ERR_ANNOUNCEMENT_REPLAYED = 124,
}

use framecrypt_result as R;

impl From<Error> for framecrypt_result {
    fn from(error: Error) -> Self {
        match error {
            Error::MalformedHeader => R::FRAMECRYPT_ERR_MALFORMED_HEADER,
            Error::UnknownKeyId(_) | Error::NoEpoch => R::FRAMECRYPT_ERR_UNKNOWN_KEY_ID,
            Error::FrameTooShort => R::FRAMECRYPT_ERR_FRAME_TOO_SHORT,
            Error::AuthenticationFailed => R::FRAMECRYPT_ERR_AUTHENTICATION_FAILED,
            Error::CounterExhausted => R::FRAMECRYPT_ERR_COUNTER_EXHAUSTED,
            Error::BufferTooSmall => R::FRAMECRYPT_ERR_BUFFER_TOO_SMALL,
            Error::StoreFull => R::FRAMECRYPT_ERR_STORE_FULL,
            Error::UnsupportedCipherSuite => R::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
            Error::InvalidKeyLength => R::FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
            Error::MetadataTooLong => R::FRAMECRYPT_ERR_METADATA_TOO_LONG,
            Error::TooFarAhead => R::FRAMECRYPT_ERR_TOO_FAR_AHEAD,
            Error::KeyExpired => R::FRAMECRYPT_ERR_KEY_EXPIRED,
            Error::Replayed => R::FRAMECRYPT_ERR_REPLAYED,
            Error::StaleKey => R::FRAMECRYPT_ERR_STALE_KEY,
            Error::KeyIdExhausted => R::FRAMECRYPT_ERR_KEY_ID_EXHAUSTED,
            Error::InvalidParameter => R::FRAMECRYPT_ERR_INVALID_PARAMETER,
            Error::ExportFailed => R::FRAMECRYPT_ERR_EXPORT_FAILED,
            Error::MalformedFrame => R::FRAMECRYPT_ERR_MALFORMED_FRAME,
            Error::UnsupportedCodec => R::FRAMECRYPT_ERR_UNSUPPORTED_CODEC,
            Error::MalformedPacket => R::FRAMECRYPT_ERR_MALFORMED_PACKET,
            Error::MalformedAnnouncement => R::FRAMECRYPT_ERR_MALFORMED_ANNOUNCEMENT,
            Error::WrongSession => R::FRAMECRYPT_ERR_WRONG_SESSION,
            Error::WrongRecipient => R::FRAMECRYPT_ERR_WRONG_RECIPIENT,
            Error::WrongSender => R::FRAMECRYPT_ERR_WRONG_SENDER,
            Error::AnnouncementReplayed => R::FRAMECRYPT_ERR_ANNOUNCEMENT_REPLAYED,
            // `Error` is non-exhaustive: a variant added later gets a code
            // of its own in the same release (tests/c_api.rs checks them all).
            _ => R::FRAMECRYPT_ERR_OTHER,
        }
    }
}

/// The message for a result code, as a static NUL-terminated string that
/// the caller must not free. Library errors read as the library's own
/// `Display` text. An unknown code gives "unknown result code".
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_result_message(code: u32) -> *const c_char {
    message(code).as_ptr()
}

fn message(code: u32) -> &'static CStr {
    const ALL: [(framecrypt_result, &CStr); 32] = [
        (R::FRAMECRYPT_OK, c"ok"),
        (
            R::FRAMECRYPT_ERR_NULL_POINTER,
            c"a required pointer is NULL",
        ),
        (
            R::FRAMECRYPT_ERR_BUFFERS_OVERLAP,
            c"an output buffer overlaps an input buffer",
        ),
        (
            R::FRAMECRYPT_ERR_WRONG_KIND,
            c"wrong kind of sender or receiver (plain or ratcheting) for this call",
        ),
        (
            R::FRAMECRYPT_ERR_LENGTH_TOO_LARGE,
            c"length larger than any buffer can be",
        ),
        (
            R::FRAMECRYPT_ERR_PANIC,
            c"internal error (a panic was caught); please report it",
        ),
        (
            R::FRAMECRYPT_ERR_OTHER,
            c"library error without a C code in this version",
        ),
        (
            R::FRAMECRYPT_ERR_MALFORMED_HEADER,
            c"malformed SFrame header",
        ),
        (
            R::FRAMECRYPT_ERR_UNKNOWN_KEY_ID,
            c"no key installed for this key ID",
        ),
        (
            R::FRAMECRYPT_ERR_FRAME_TOO_SHORT,
            c"frame too short for its header and tag",
        ),
        (
            R::FRAMECRYPT_ERR_AUTHENTICATION_FAILED,
            c"authentication failed",
        ),
        (
            R::FRAMECRYPT_ERR_COUNTER_EXHAUSTED,
            c"sender counter exhausted; a new key is required",
        ),
        (R::FRAMECRYPT_ERR_BUFFER_TOO_SMALL, c"buffer too small"),
        (R::FRAMECRYPT_ERR_STORE_FULL, c"key store full"),
        (
            R::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
            c"unsupported cipher suite",
        ),
        (
            R::FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
            c"invalid base key length",
        ),
        (
            R::FRAMECRYPT_ERR_METADATA_TOO_LONG,
            c"metadata too long for an allocation-free AES-GCM call",
        ),
        (
            R::FRAMECRYPT_ERR_TOO_FAR_AHEAD,
            c"key ID is too many ratchet steps ahead",
        ),
        (
            R::FRAMECRYPT_ERR_KEY_EXPIRED,
            c"key for this key ID has expired",
        ),
        (
            R::FRAMECRYPT_ERR_REPLAYED,
            c"frame counter replayed or older than the replay window",
        ),
        (
            R::FRAMECRYPT_ERR_STALE_KEY,
            c"key is not newer than the key in use",
        ),
        (
            R::FRAMECRYPT_ERR_KEY_ID_EXHAUSTED,
            c"no key ID left for the next generation or step",
        ),
        (
            R::FRAMECRYPT_ERR_INVALID_PARAMETER,
            c"configuration value out of range",
        ),
        (R::FRAMECRYPT_ERR_EXPORT_FAILED, c"MLS exporter failed"),
        (
            R::FRAMECRYPT_ERR_MALFORMED_FRAME,
            c"frame does not parse as the given codec",
        ),
        (
            R::FRAMECRYPT_ERR_UNSUPPORTED_CODEC,
            c"no codec-aware rule for this codec",
        ),
        (
            R::FRAMECRYPT_ERR_MALFORMED_PACKET,
            c"malformed or incomplete SFrame RTP payload",
        ),
        (
            R::FRAMECRYPT_ERR_MALFORMED_ANNOUNCEMENT,
            c"malformed key announcement",
        ),
        (
            R::FRAMECRYPT_ERR_WRONG_SESSION,
            c"key announcement is for another session",
        ),
        (
            R::FRAMECRYPT_ERR_WRONG_RECIPIENT,
            c"key announcement is addressed to another participant",
        ),
        (
            R::FRAMECRYPT_ERR_WRONG_SENDER,
            c"key announcement is from another sender",
        ),
        (
            R::FRAMECRYPT_ERR_ANNOUNCEMENT_REPLAYED,
            c"key announcement replayed",
        ),
    ];
    ALL.iter()
        .find(|(result, _)| *result as u32 == code)
        .map_or(c"unknown result code", |(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every library error the C API can return. `Error` is
    /// non-exhaustive, so the compiler cannot list them: a new variant must
    /// be added here, with its code. (`Error::NoEpoch` belongs to the MLS
    /// sender, which the C API does not have.)
    const ERRORS: [Error; 25] = [
        Error::MalformedHeader,
        Error::UnknownKeyId(framecrypt::KeyId(0x42)),
        Error::FrameTooShort,
        Error::AuthenticationFailed,
        Error::CounterExhausted,
        Error::BufferTooSmall,
        Error::StoreFull,
        Error::UnsupportedCipherSuite,
        Error::InvalidKeyLength,
        Error::MetadataTooLong,
        Error::TooFarAhead,
        Error::KeyExpired,
        Error::Replayed,
        Error::StaleKey,
        Error::KeyIdExhausted,
        Error::InvalidParameter,
        Error::ExportFailed,
        Error::MalformedFrame,
        Error::UnsupportedCodec,
        Error::MalformedPacket,
        Error::MalformedAnnouncement,
        Error::WrongSession,
        Error::WrongRecipient,
        Error::WrongSender,
        Error::AnnouncementReplayed,
    ];

    #[test]
    fn every_error_has_its_own_code_and_the_library_message() {
        let mut seen = std::collections::HashSet::new();
        for (i, error) in ERRORS.into_iter().enumerate() {
            let code = framecrypt_result::from(error);
            assert_ne!(code, R::FRAMECRYPT_ERR_OTHER, "{error:?} has no code");
            assert_eq!(code as u32, 100 + u32::try_from(i).unwrap_or(u32::MAX));
            assert!(seen.insert(code), "{error:?} shares a code");
            // The C message is static; the KID is the frame's to read.
            let library = match error {
                Error::UnknownKeyId(_) => "no key installed for this key ID".to_owned(),
                other => other.to_string(),
            };
            assert_eq!(message(code as u32).to_str().ok(), Some(library.as_str()));
        }
    }

    #[test]
    fn unknown_codes_have_a_message() {
        assert_eq!(message(7), c"unknown result code");
        assert_eq!(message(u32::MAX), c"unknown result code");
        assert_eq!(message(0), c"ok");
    }
}
