//! The `sfu_inspect` target: arbitrary payloads read as an SFU reads them,
//! under every codec rule, without a key. Never panics, and every view it
//! gives is consistent: the sizes add up to the payload, the header lies
//! inside it (verbatim when nothing is escaped), and the media length per
//! suite is the sealed length less the tag.

use framecrypt::codec::Codec;
use framecrypt::{Header, sfu};

use crate::codec::{CODECS, check_view};

/// Reads `payload` as a plain SFrame frame and under every codec rule.
///
/// # Panics
/// On a library panic or an inconsistent view.
pub fn run(payload: &[u8]) {
    let plain = sfu::inspect(payload);
    match Header::parse(payload) {
        Ok(parsed) => {
            let view = plain.expect("a frame whose header parses");
            assert_eq!(view.header(), parsed.header());
            assert_eq!((view.header_offset(), view.clear_len()), (0, 0));
            check_view(Codec::Unknown, payload, &view);
        }
        Err(e) => assert_eq!(plain.err(), Some(e)),
    }
    for codec in CODECS {
        let view = sfu::inspect_codec(codec, payload);
        if let Ok(view) = &view {
            check_view(codec, payload, view);
        }
        // VP9 and unknown codecs keep nothing clear: a plain frame.
        if matches!(codec, Codec::Vp9 | Codec::Unknown) {
            assert_eq!(view, sfu::inspect(payload), "{codec:?}");
        }
    }
}
