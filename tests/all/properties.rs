//! Property tests: header encode/parse (RFC 9605 §4.3) and encrypt/decrypt
//! (§4.4.3, §4.4.4) over random suites, KIDs, counters, metadata and sizes.
//!
//! Case counts and sizes are kept small enough for debug builds: most
//! payloads are short, a few reach 64 KiB.

use crate::common::dup;
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, FixedKeyStore, Header, KeyId, Receiver, Sender,
    ciphertext_len,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// Values that stress the field encoding: inline (0–7), each byte-length
/// boundary, and anything.
fn field_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..8u64,
        (1..64u32).prop_flat_map(|bits| {
            let edge = 1u64 << bits;
            prop_oneof![Just(edge - 1), Just(edge), Just(edge + 1)]
        }),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

/// Bytes after the config byte that a value needs: 0 when inline.
fn min_extra_len(value: u64) -> usize {
    if value < 8 {
        0
    } else {
        8 - usize::try_from(value.leading_zeros() / 8).expect("at most 8")
    }
}

/// One field written with `len` extra bytes (0 = inline): 4 config bits and
/// the big-endian bytes.
fn field_bytes(value: u64, len: usize) -> (u8, Vec<u8>) {
    if len == 0 {
        (u8::try_from(value).expect("inline value"), Vec::new())
    } else {
        let bits = 0x08 | u8::try_from(len - 1).expect("length 1..=8");
        (bits, value.to_be_bytes()[8 - len..].to_vec())
    }
}

/// A value and a valid (possibly non-minimal) length for it.
fn field_with_len() -> impl Strategy<Value = (u64, usize)> {
    field_value().prop_flat_map(|value| (Just(value), min_extra_len(value)..=8))
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    proptest::sample::select(CipherSuite::ALL.to_vec())
}

/// Lengths 0–64 KiB, most of them short.
fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => 0..64usize,
        6 => 64..2048usize,
        1 => 2048..=65536usize,
        1 => Just(65536usize),
    ]
}

/// Metadata, sometimes longer than the inline AAD buffer of AES-GCM.
fn metadata() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        6 => prop::collection::vec(any::<u8>(), 1..32),
        2 => prop::collection::vec(
            any::<u8>(),
            framecrypt::INLINE_AAD_CAPACITY - 20..framecrypt::INLINE_AAD_CAPACITY + 40
        ),
    ]
}

/// Deterministic filler, much cheaper than generating 64 KiB element by
/// element.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Whether this build can bind the AAD (see `INLINE_AAD_CAPACITY`).
fn aad_fits(suite: CipherSuite, header: Header, metadata: &[u8]) -> bool {
    cfg!(feature = "alloc")
        || suite.tag_len() != 16
        || metadata.is_empty()
        || header.encoded_len() + metadata.len() <= framecrypt::INLINE_AAD_CAPACITY
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_encode_then_parse_gives_the_same_values(kid in field_value(), ctr in field_value(), trailing in prop::collection::vec(any::<u8>(), 0..4)) {
        let header = Header::new(KeyId(kid), Counter(ctr));
        let encoded = header.encode();
        prop_assert_eq!(encoded.as_bytes().len(), header.encoded_len());
        prop_assert_eq!(header.encoded_len(), 1 + min_extra_len(kid) + min_extra_len(ctr));

        let frame = [encoded.as_bytes(), &trailing].concat();
        let parsed = Header::parse(&frame).expect("an encoded header parses");
        prop_assert_eq!(parsed.header(), header);
        prop_assert_eq!(parsed.as_bytes(), encoded.as_bytes());
        prop_assert!(parsed.is_minimal());

        let mut out = [0u8; Header::MAX_LEN];
        prop_assert_eq!(header.write(&mut out), Ok(header.encoded_len()));
        prop_assert_eq!(&out[..header.encoded_len()], encoded.as_bytes());
    }

    #[test]
    fn any_header_encoding_parses_to_its_values_and_is_minimal_only_if_shortest(
        (kid, kid_len) in field_with_len(),
        (ctr, ctr_len) in field_with_len(),
    ) {
        let (kid_bits, kid_bytes) = field_bytes(kid, kid_len);
        let (ctr_bits, ctr_bytes) = field_bytes(ctr, ctr_len);
        let bytes = [&[(kid_bits << 4) | ctr_bits][..], &kid_bytes, &ctr_bytes].concat();

        let parsed = Header::parse(&bytes).expect("a valid encoding parses");
        prop_assert_eq!(parsed.kid(), KeyId(kid));
        prop_assert_eq!(parsed.ctr(), Counter(ctr));
        prop_assert_eq!(parsed.len(), bytes.len());
        let minimal = kid_len == min_extra_len(kid) && ctr_len == min_extra_len(ctr);
        prop_assert_eq!(parsed.is_minimal(), minimal);
        if !minimal {
            let minimal_encoding = parsed.header().encode();
            prop_assert_ne!(parsed.as_bytes(), minimal_encoding.as_bytes());
        }
    }

    #[test]
    fn parsing_any_bytes_never_panics_and_is_consistent(input in prop::collection::vec(any::<u8>(), 0..24)) {
        match Header::parse(&input) {
            Ok(parsed) => {
                prop_assert!(parsed.len() >= 1 && parsed.len() <= Header::MAX_LEN);
                prop_assert_eq!(parsed.as_bytes(), &input[..parsed.len()]);
                // The values survive a minimal re-encoding.
                let again = parsed.header().encode();
                prop_assert_eq!(Header::parse(again.as_bytes()).map(|p| p.header()), Ok(parsed.header()));
            }
            Err(e) => {
                prop_assert_eq!(e, Error::MalformedHeader);
                // Only a truncated header is malformed: the config byte
                // asks for more bytes than there are.
                let needed = input.first().map_or(1, |&config| {
                    let extra = |bits: u8| if bits & 8 == 0 { 0 } else { usize::from(bits & 7) + 1 };
                    1 + extra(config >> 4) + extra(config & 0x0f)
                });
                prop_assert!(input.len() < needed);
            }
        }
    }

    #[test]
    fn any_single_bit_flip_of_a_frame_or_its_metadata_is_rejected(
        suite in suite(),
        kid in field_value(),
        ctr in field_value(),
        metadata in prop::collection::vec(any::<u8>(), 1..32),
        len in 0..64usize,
        seed in any::<u64>(),
        frame_bit in any::<Index>(),
        metadata_bit in any::<Index>(),
    ) {
        let base_key = BaseKey::new(&bytes(seed, 16)).expect("16 bytes");
        let (kid, ctr) = (KeyId(kid), Counter(ctr));
        let plaintext = bytes(!seed, len);
        let mut sender = Sender::resume(suite, kid, dup(&base_key), ctr);
        let mut frame = vec![0; sender.next_ciphertext_len(len)];
        sender.seal(&metadata, &plaintext, &mut frame).expect("encrypt");

        let mut receiver = Receiver::<FixedKeyStore<1>>::new();
        receiver.add_key(suite, kid, dup(&base_key)).expect("room");
        let mut out = vec![0; frame.len()];

        // Forgeries first: they must fail, and change nothing.
        let bit = frame_bit.index(frame.len() * 8);
        let mut tampered = frame.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(receiver.open(&metadata, &tampered, &mut out).is_err(), "frame bit {}", bit);

        let bit = metadata_bit.index(metadata.len() * 8);
        let mut other = metadata.clone();
        other[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(
            receiver.open(&other, &frame, &mut out).map(|_| ()),
            Err(Error::AuthenticationFailed)
        );

        prop_assert!(receiver.open(&metadata, &frame, &mut out).is_ok());
    }
}

proptest! {
    // Each case runs six encrypt/decrypt calls on up to 64 KiB.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The three encrypt doors give identical bytes for the same counter,
    /// and the three decrypt doors give the plaintext back.
    #[test]
    fn all_doors_round_trip_and_agree(
        suite in suite(),
        kid in field_value(),
        ctr in field_value(),
        base_key in prop::collection::vec(any::<u8>(), 1..=64),
        metadata in metadata(),
        len in payload_len(),
        seed in any::<u64>(),
    ) {
        let base_key = BaseKey::new(&base_key).expect("1..=64 bytes");
        let (kid, ctr) = (KeyId(kid), Counter(ctr));
        let header = Header::new(kid, ctr);
        let plaintext = bytes(seed, len);
        let expected_len = ciphertext_len(suite, header, len);
        let sender = || Sender::resume(suite, kid, dup(&base_key), ctr);

        // Door 1: into a slice.
        let mut out = vec![0; expected_len];
        let result = sender().seal(&metadata, &plaintext, &mut out);
        if !aad_fits(suite, header, &metadata) {
            prop_assert_eq!(result, Err(Error::MetadataTooLong));
            return Ok(());
        }
        prop_assert_eq!(result.map(|sealed| sealed.frame()), Ok(0..expected_len));
        let frame = out;
        let parsed = Header::parse(&frame).expect("header");
        prop_assert_eq!(parsed.header(), header);
        prop_assert!(parsed.is_minimal());

        // Door 2: in place, with the largest headroom a header may need.
        let head = Header::MAX_LEN;
        let mut buf = vec![0; head + len + suite.tag_len() + 3];
        buf[head..head + len].copy_from_slice(&plaintext);
        let range = sender()
            .seal_in_place(&metadata, &mut buf, head..head + len)
            .expect("in place")
            .frame();
        prop_assert_eq!(range.clone(), head - header.encoded_len()..head + len + suite.tag_len());
        prop_assert_eq!(&buf[range], &frame[..]);

        // Door 3: into a Vec.
        #[cfg(feature = "alloc")]
        prop_assert_eq!(&sender().seal_to_vec(&metadata, &plaintext).expect("to vec"), &frame);

        // A receiver per door: each opens the same frame once.
        let receiver = || {
            let mut receiver = Receiver::<FixedKeyStore<2>>::new();
            receiver.add_key(suite, kid, dup(&base_key)).expect("room");
            receiver
        };

        let mut out = vec![0; len];
        let decrypted = receiver().open(&metadata, &frame, &mut out).expect("decrypt");
        prop_assert_eq!(decrypted.header(), header);
        prop_assert_eq!(&out[decrypted.plaintext()], &plaintext[..]);

        let mut buf = frame.clone();
        let decrypted = receiver().open_in_place(&metadata, &mut buf).expect("in place");
        prop_assert_eq!(decrypted.plaintext(), header.encoded_len()..header.encoded_len() + len);
        prop_assert_eq!(&buf[decrypted.plaintext()], &plaintext[..]);

        #[cfg(feature = "alloc")]
        {
            let (opened, got) = receiver().open_to_vec(&metadata, &frame).expect("to vec");
            prop_assert_eq!(opened.header(), header);
            prop_assert_eq!(opened.plaintext(), 0..got.len());
            prop_assert_eq!(got, plaintext);
        }
    }
}
