//! The result code every fallible entry point returns, and its message.

use core::ffi::{CStr, c_char};

use framecrypt::Error;

/// What a call did: `FRAMECRYPT_OK`, or why it failed.
///
/// Codes below 100 are about the call itself (its pointers, lengths and
/// objects); codes from 100 on are about the frame, the key or a value
/// passed. The list holds only codes that some call of this version can
/// return, and a code never changes its meaning; numbers missing from the
/// sequence are not used.
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
    /// A length is larger than any buffer can be (above `PTRDIFF_MAX`).
    FRAMECRYPT_ERR_LENGTH_TOO_LARGE = 4,
    /// A bug in framecrypt: an internal check failed. The object passed in
    /// refuses every later call with this code and should be freed; please
    /// report it.
    FRAMECRYPT_ERR_INTERNAL = 5,
    /// The handle is not a live object: it was freed already, or it never
    /// came from framecrypt. Detected as long as its memory has not been
    /// given to a new object of the same type.
    FRAMECRYPT_ERR_INVALID_HANDLE = 6,
    /// The handle is a live object of the other type: a
    /// `framecrypt_receiver` passed as a `framecrypt_sender`, or the other
    /// way round.
    FRAMECRYPT_ERR_WRONG_OBJECT = 7,

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
    /// The output buffer is too small. Calls with a length out-pointer
    /// store there the size that is needed (see each function).
    FRAMECRYPT_ERR_BUFFER_TOO_SMALL = 105,
    /// The value is not a `framecrypt_suite`.
    FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE = 107,
    /// A base key is empty or longer than `FRAMECRYPT_MAX_KEY_LEN` bytes.
    FRAMECRYPT_ERR_INVALID_KEY_LENGTH = 108,
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
    /// A value is out of range: a `framecrypt_codec` or
    /// `framecrypt_fallback` that is not one, ratchet bits, a generation, a
    /// struct size. The function's documentation says which.
    FRAMECRYPT_ERR_INVALID_PARAMETER = 115,
    /// The frame does not parse as the given codec.
    FRAMECRYPT_ERR_MALFORMED_FRAME = 117,
    /// `FRAMECRYPT_CODEC_UNKNOWN` with `FRAMECRYPT_FALLBACK_REJECT`: there
    /// is no codec rule, and whole-frame protection is refused.
    FRAMECRYPT_ERR_UNSUPPORTED_CODEC = 118,
}

/// A `framecrypt_result` as C passes it to `framecrypt_result_message`:
/// any 32-bit value.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultCode(pub u32);

impl From<framecrypt_result> for ResultCode {
    fn from(result: framecrypt_result) -> Self {
        Self(result as u32)
    }
}

use framecrypt_result as R;

impl From<Error> for framecrypt_result {
    /// The code for each error a C call can meet. The library's other
    /// errors (MLS, RTP, key distribution, builds without an allocator)
    /// cannot arise from any entry point; should one do so anyway, it is a
    /// bug, reported as such.
    fn from(error: Error) -> Self {
        match error {
            Error::MalformedHeader => R::FRAMECRYPT_ERR_MALFORMED_HEADER,
            Error::UnknownKeyId(_) => R::FRAMECRYPT_ERR_UNKNOWN_KEY_ID,
            Error::FrameTooShort => R::FRAMECRYPT_ERR_FRAME_TOO_SHORT,
            Error::AuthenticationFailed => R::FRAMECRYPT_ERR_AUTHENTICATION_FAILED,
            Error::CounterExhausted => R::FRAMECRYPT_ERR_COUNTER_EXHAUSTED,
            Error::BufferTooSmall => R::FRAMECRYPT_ERR_BUFFER_TOO_SMALL,
            Error::UnsupportedCipherSuite => R::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
            Error::InvalidKeyLength => R::FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
            Error::TooFarAhead => R::FRAMECRYPT_ERR_TOO_FAR_AHEAD,
            Error::KeyExpired => R::FRAMECRYPT_ERR_KEY_EXPIRED,
            Error::Replayed => R::FRAMECRYPT_ERR_REPLAYED,
            Error::StaleKey => R::FRAMECRYPT_ERR_STALE_KEY,
            Error::KeyIdExhausted => R::FRAMECRYPT_ERR_KEY_ID_EXHAUSTED,
            Error::InvalidParameter => R::FRAMECRYPT_ERR_INVALID_PARAMETER,
            Error::MalformedFrame => R::FRAMECRYPT_ERR_MALFORMED_FRAME,
            Error::UnsupportedCodec => R::FRAMECRYPT_ERR_UNSUPPORTED_CODEC,
            _ => R::FRAMECRYPT_ERR_INTERNAL,
        }
    }
}

/// The message for a result code, as a static NUL-terminated string that
/// the caller must not free. A value that is no result code gives
/// "unknown result code".
#[unsafe(no_mangle)]
pub extern "C" fn framecrypt_result_message(code: ResultCode) -> *const c_char {
    message(code.0).as_ptr()
}

/// Every code with its message. The library's errors read as the library's
/// own messages (checked below).
const ALL: [(framecrypt_result, &CStr); 24] = [
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
        R::FRAMECRYPT_ERR_INTERNAL,
        c"internal error in framecrypt; please report it",
    ),
    (
        R::FRAMECRYPT_ERR_INVALID_HANDLE,
        c"not a live framecrypt object (freed already, or never created)",
    ),
    (
        R::FRAMECRYPT_ERR_WRONG_OBJECT,
        c"a sender passed as a receiver, or a receiver as a sender",
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
    (
        R::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
        c"unsupported cipher suite",
    ),
    (
        R::FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
        c"invalid base key length",
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
    (
        R::FRAMECRYPT_ERR_MALFORMED_FRAME,
        c"frame does not parse as the given codec",
    ),
    (
        R::FRAMECRYPT_ERR_UNSUPPORTED_CODEC,
        c"no codec-aware rule for this codec",
    ),
];

fn message(code: u32) -> &'static CStr {
    ALL.iter()
        .find(|(result, _)| *result as u32 == code)
        .map_or(c"unknown result code", |(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every library error a C call can meet, with its code. `Error` is
    /// non-exhaustive, so the compiler cannot list them: the `ffi` fuzz
    /// target checks that no call returns `FRAMECRYPT_ERR_INTERNAL`.
    const ERRORS: [(Error, framecrypt_result); 16] = [
        (Error::MalformedHeader, R::FRAMECRYPT_ERR_MALFORMED_HEADER),
        (
            Error::UnknownKeyId(framecrypt::KeyId(0x42)),
            R::FRAMECRYPT_ERR_UNKNOWN_KEY_ID,
        ),
        (Error::FrameTooShort, R::FRAMECRYPT_ERR_FRAME_TOO_SHORT),
        (
            Error::AuthenticationFailed,
            R::FRAMECRYPT_ERR_AUTHENTICATION_FAILED,
        ),
        (Error::CounterExhausted, R::FRAMECRYPT_ERR_COUNTER_EXHAUSTED),
        (Error::BufferTooSmall, R::FRAMECRYPT_ERR_BUFFER_TOO_SMALL),
        (
            Error::UnsupportedCipherSuite,
            R::FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
        ),
        (
            Error::InvalidKeyLength,
            R::FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
        ),
        (Error::TooFarAhead, R::FRAMECRYPT_ERR_TOO_FAR_AHEAD),
        (Error::KeyExpired, R::FRAMECRYPT_ERR_KEY_EXPIRED),
        (Error::Replayed, R::FRAMECRYPT_ERR_REPLAYED),
        (Error::StaleKey, R::FRAMECRYPT_ERR_STALE_KEY),
        (Error::KeyIdExhausted, R::FRAMECRYPT_ERR_KEY_ID_EXHAUSTED),
        (Error::InvalidParameter, R::FRAMECRYPT_ERR_INVALID_PARAMETER),
        (Error::MalformedFrame, R::FRAMECRYPT_ERR_MALFORMED_FRAME),
        (Error::UnsupportedCodec, R::FRAMECRYPT_ERR_UNSUPPORTED_CODEC),
    ];

    #[test]
    fn every_reachable_error_has_its_own_code_and_the_library_message() {
        let mut seen = std::collections::HashSet::new();
        for (error, code) in ERRORS {
            assert_eq!(framecrypt_result::from(error), code, "{error:?}");
            assert!(seen.insert(code), "{error:?} shares a code");
            // The C message is static; the KID is the frame's to read.
            let library = match error {
                Error::UnknownKeyId(_) => "no key installed for this key ID".to_owned(),
                other => other.to_string(),
            };
            assert_eq!(message(code as u32).to_str().ok(), Some(library.as_str()));
        }
    }

    /// The errors of parts the C API does not offer have no code of their
    /// own: the header lists only what a call can return.
    #[test]
    fn errors_no_call_can_meet_are_internal() {
        for error in [
            Error::NoEpoch,
            Error::StoreFull,
            Error::MetadataTooLong,
            Error::ExportFailed,
            Error::MalformedPacket,
            Error::MalformedAnnouncement,
            Error::WrongSession,
            Error::WrongRecipient,
            Error::WrongSender,
            Error::AnnouncementReplayed,
            Error::AnnouncementSuperseded,
            Error::AnnouncementExpired,
        ] {
            assert_eq!(
                framecrypt_result::from(error),
                R::FRAMECRYPT_ERR_INTERNAL,
                "{error:?}"
            );
        }
    }

    #[test]
    fn every_code_has_one_message_and_unknown_codes_have_one_too() {
        let mut codes: Vec<u32> = ALL.iter().map(|(c, _)| *c as u32).collect();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
        assert!(codes.is_sorted(), "the table follows the enum");
        assert_eq!(message(8), c"unknown result code");
        assert_eq!(message(106), c"unknown result code");
        assert_eq!(message(u32::MAX), c"unknown result code");
        assert_eq!(message(0), c"ok");
    }
}
