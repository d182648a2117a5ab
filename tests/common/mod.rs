//! Loading the official vector files (`tests/data/`), and the few helpers
//! every test module needs.
#![allow(dead_code)]

use framecrypt::prelude::*;
use framecrypt::{BaseKey, Header, KeyId};
use serde::Deserialize;

/// The same key again, as another party holding the same secret has it.
pub fn dup(key: &BaseKey) -> BaseKey {
    BaseKey::new(key.expose_secret()).expect("valid key")
}

/// The (clear) KID of a frame.
pub fn kid_of(frame: &[u8]) -> KeyId {
    Header::parse(frame).expect("header").kid()
}

/// Seals `plaintext` through the slice door into a vector holding exactly
/// the frame (so that it runs in builds without `alloc` too).
pub fn seal(sealer: &mut impl Seal, metadata: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut frame = vec![0; sealer.next_frame_len(plaintext.len()).expect("a key")];
    let len = sealer
        .seal(metadata, plaintext, &mut frame)
        .expect("encrypt")
        .len();
    frame.truncate(len);
    frame
}

/// A hex string in a vector file.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Hex(#[serde(with = "hex::serde")] pub Vec<u8>);

#[derive(Deserialize)]
pub struct HeaderCase {
    pub kid: u64,
    pub ctr: u64,
    pub encoded: Hex,
}

#[derive(Deserialize)]
pub struct AeadCase {
    pub cipher_suite: u16,
    pub key: Hex,
    pub enc_key: Hex,
    pub auth_key: Hex,
    pub nonce: Hex,
    pub aad: Hex,
    pub pt: Hex,
    pub ct: Hex,
}

#[derive(Deserialize)]
pub struct SframeCase {
    pub cipher_suite: u16,
    pub kid: u64,
    pub ctr: u64,
    pub base_key: Hex,
    pub sframe_key_label: Hex,
    pub sframe_salt_label: Hex,
    pub sframe_secret: Hex,
    pub sframe_key: Hex,
    pub sframe_salt: Hex,
    pub metadata: Hex,
    pub nonce: Hex,
    pub aad: Hex,
    pub pt: Hex,
    pub ct: Hex,
}

#[derive(Deserialize)]
pub struct Rfc9605Vectors {
    pub header: Vec<HeaderCase>,
    pub aes_ctr_hmac: Vec<AeadCase>,
    pub sframe: Vec<SframeCase>,
}

#[derive(Deserialize)]
pub struct Aes256Vectors {
    pub sframe_aes_256_ctr_hmac: Vec<SframeCase>,
}

pub fn rfc9605() -> Rfc9605Vectors {
    serde_json::from_str(include_str!("../data/rfc9605-test-vectors.json"))
        .expect("vector file parses")
}

pub fn aes256() -> Aes256Vectors {
    serde_json::from_str(include_str!("../data/aes256-ctr-hmac-test-vectors.json"))
        .expect("vector file parses")
}
