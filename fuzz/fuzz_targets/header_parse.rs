//! Header parsing (RFC 9605 §4.3) on arbitrary bytes: never panics; a
//! successful parse re-encodes to the same bytes when the input was minimal,
//! and to the same values always.
#![no_main]

use framecrypt::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = Header::parse(data) else {
        return;
    };
    assert!(parsed.len() <= data.len() && parsed.len() <= Header::MAX_LEN);
    assert_eq!(parsed.as_bytes(), &data[..parsed.len()]);
    let encoded = parsed.header().encode();
    if parsed.is_minimal() {
        assert_eq!(encoded.as_bytes(), parsed.as_bytes());
    } else {
        assert!(encoded.as_bytes().len() < parsed.len());
    }
    let reparsed = Header::parse(encoded.as_bytes()).expect("own encoding parses");
    assert_eq!(reparsed.header(), parsed.header());
    assert!(reparsed.is_minimal());
});
