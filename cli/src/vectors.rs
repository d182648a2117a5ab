//! `framecrypt vectors`: every case of an RFC 9605 test-vector file
//! (Appendix C, JSON format) through framecrypt's public API.

use std::path::PathBuf;

use framecrypt::hazmat::{Aead, derive_key_and_salt, sframe_secret};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, Header, KeyId, Receiver, Sender, VecKeyStore,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::args::decode_hex;
use crate::error::CliError;
use crate::output;

/// Run every case of an RFC 9605-format test-vector file
///
/// Prints a line per failed case, a summary per section, and finally
/// `N passed, M failed`; exits with 1 if any case failed.
///
/// What one case checks, by section (top-level array):
///   header        both directions: (kid, ctr) encodes to `encoded`, and
///                 `encoded` parses to (kid, ctr) using every byte
///   aes_ctr_hmac  the raw RFC 9605 §4.5.1 AEAD: encrypt gives `ct`, decrypt
///                 gives `pt`, `ct` with one bit flipped is rejected
///   sframe,       labels, sframe_secret, sframe_key, sframe_salt, nonce
///   sframe_*      and aad (when present); a Sender resumed at `ctr`
///                 encrypts `pt` with `metadata` to exactly `ct`; a Receiver
///                 decrypts `ct` to `pt` with the right KID and CTR; `ct`
///                 with one bit flipped, or other metadata, is rejected
///
/// The RFC 9605 file has 289 + 3 + 5 = 297 cases; the AES-256-CTR-HMAC file
/// has 3.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The JSON vector file.
    #[arg(value_name = "FILE.json")]
    file: PathBuf,
    /// Print a line for every case, not only for failed ones.
    #[arg(short, long)]
    verbose: bool,
}

/// What kind of cases a section holds, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Header,
    AesCtrHmac,
    Sframe,
}

impl Kind {
    fn of(section: &str) -> Option<Self> {
        match section {
            "header" => Some(Self::Header),
            "aes_ctr_hmac" => Some(Self::AesCtrHmac),
            s if s == "sframe" || s.starts_with("sframe_") => Some(Self::Sframe),
            _ => None,
        }
    }

    /// Checks one case; returns its label and the first mismatch, if any.
    fn check(self, case: Value) -> (String, Result<(), String>) {
        match self {
            Self::Header => run_case(case, HeaderCase::label, HeaderCase::check),
            Self::AesCtrHmac => run_case(case, AeadCase::label, AeadCase::check),
            Self::Sframe => run_case(case, SframeCase::label, SframeCase::check),
        }
    }
}

fn run_case<C: DeserializeOwned>(
    case: Value,
    label: fn(&C) -> String,
    check: fn(&C) -> Result<(), String>,
) -> (String, Result<(), String>) {
    match serde_json::from_value::<C>(case) {
        Ok(case) => (label(&case), check(&case)),
        Err(e) => ("malformed case".to_owned(), Err(e.to_string())),
    }
}

/// Runs `framecrypt vectors`.
pub fn run(args: Args) -> Result<(), CliError> {
    let path = args.file.display();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::failure(format!("cannot read {path}: {e}")))?;
    let Value::Object(top) = serde_json::from_str(&text)
        .map_err(|e| CliError::failure(format!("{path}: not JSON: {e}")))?
    else {
        return Err(CliError::failure(format!(
            "{path}: expected a JSON object of case arrays"
        )));
    };

    let mut sections = Vec::new();
    for (name, value) in top {
        match (Kind::of(&name), value) {
            (Some(kind), Value::Array(cases)) => sections.push((kind, name, cases)),
            _ => eprintln!("warning: {path}: skipping section '{name}' (not a known array)"),
        }
    }
    sections.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));

    let (mut passed, mut failed) = (0usize, 0usize);
    for (kind, name, cases) in sections {
        let (mut section_passed, mut section_failed) = (0usize, 0usize);
        for (i, case) in cases.into_iter().enumerate() {
            match kind.check(case) {
                (label, Ok(())) => {
                    section_passed += 1;
                    if args.verbose {
                        output::line(format_args!("ok   {name}[{i}] {label}"))?;
                    }
                }
                (label, Err(why)) => {
                    section_failed += 1;
                    output::line(format_args!("FAIL {name}[{i}] {label}: {why}"))?;
                }
            }
        }
        output::line(format_args!(
            "{name}: {section_passed} passed, {section_failed} failed"
        ))?;
        passed += section_passed;
        failed += section_failed;
    }

    output::line(format_args!("{passed} passed, {failed} failed"))?;
    if passed + failed == 0 {
        return Err(CliError::failure(format!(
            "{path}: no cases (expected arrays named header, aes_ctr_hmac, sframe or sframe_*)"
        )));
    }
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} of {} cases failed",
            passed + failed
        )));
    }
    Ok(())
}

/// A hex string in a vector file.
#[derive(Default)]
struct Hex(Vec<u8>);

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode_hex(&text).map(Hex).map_err(serde::de::Error::custom)
    }
}

fn expect_bytes(what: &str, expected: &[u8], got: &[u8]) -> Result<(), String> {
    if expected == got {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {}, got {}",
            hex::encode(expected),
            hex::encode(got)
        ))
    }
}

/// A tampered input must fail authentication, and say nothing more.
fn expect_rejected<T>(what: &str, result: Result<T, Error>) -> Result<(), String> {
    match result {
        Err(Error::AuthenticationFailed) => Ok(()),
        Err(e) => Err(format!(
            "{what}: expected '{}', got '{e}'",
            Error::AuthenticationFailed
        )),
        Ok(_) => Err(format!("{what}: accepted")),
    }
}

fn flip_last_bit(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(last) = out.last_mut() {
        *last ^= 1;
    }
    out
}

fn suite(id: u16) -> Result<CipherSuite, String> {
    CipherSuite::from_id(id).map_err(|e| format!("cipher_suite {id:#06x}: {e}"))
}

#[derive(Deserialize)]
struct HeaderCase {
    kid: u64,
    ctr: u64,
    encoded: Hex,
}

impl HeaderCase {
    fn label(&self) -> String {
        format!("kid {:#x} ctr {:#x}", self.kid, self.ctr)
    }

    /// RFC 9605 §4.3, both directions.
    fn check(&self) -> Result<(), String> {
        let header = Header::new(KeyId(self.kid), Counter(self.ctr));
        expect_bytes("encode", &self.encoded.0, header.encode().as_bytes())?;
        let parsed = Header::parse(&self.encoded.0).map_err(|e| format!("parse: {e}"))?;
        if parsed.header() != header {
            return Err(format!(
                "parse: got kid {} ctr {}",
                parsed.kid(),
                parsed.ctr()
            ));
        }
        if parsed.len() != self.encoded.0.len() {
            return Err(format!(
                "parse: header of {} bytes, expected {}",
                parsed.len(),
                self.encoded.0.len()
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct AeadCase {
    cipher_suite: u16,
    key: Hex,
    enc_key: Option<Hex>,
    auth_key: Option<Hex>,
    nonce: Hex,
    aad: Hex,
    pt: Hex,
    ct: Hex,
}

impl AeadCase {
    fn label(&self) -> String {
        format!("suite {:#06x}", self.cipher_suite)
    }

    /// RFC 9605 §4.5.1 with the key and nonce of the case.
    fn check(&self) -> Result<(), String> {
        let suite = suite(self.cipher_suite)?;
        if let (Some(enc_key), Some(auth_key)) = (&self.enc_key, &self.auth_key) {
            expect_bytes(
                "key = enc_key || auth_key",
                &self.key.0,
                &[enc_key.0.as_slice(), &auth_key.0].concat(),
            )?;
        }
        let aead = Aead::new(suite, &self.key.0).map_err(|e| format!("key: {e}"))?;
        let nonce: [u8; 12] = self
            .nonce
            .0
            .as_slice()
            .try_into()
            .map_err(|_| format!("nonce: {} bytes, expected 12", self.nonce.0.len()))?;
        let (aad, pt, ct) = (&self.aad.0, &self.pt.0, &self.ct.0);

        let mut sealed = vec![0; pt.len() + suite.tag_len()];
        let n = aead
            .encrypt(&nonce, aad, pt, &mut sealed)
            .map_err(|e| format!("encrypt: {e}"))?;
        expect_bytes("encrypt", ct, &sealed[..n])?;

        let mut opened = vec![0; ct.len()];
        let n = aead
            .decrypt(&nonce, aad, ct, &mut opened)
            .map_err(|e| format!("decrypt: {e}"))?;
        expect_bytes("decrypt", pt, &opened[..n])?;

        expect_rejected(
            "decrypt of ct with one bit flipped",
            aead.decrypt(&nonce, aad, &flip_last_bit(ct), &mut opened),
        )
    }
}

#[derive(Deserialize)]
struct SframeCase {
    cipher_suite: u16,
    kid: u64,
    ctr: u64,
    base_key: Hex,
    sframe_key_label: Option<Hex>,
    sframe_salt_label: Option<Hex>,
    sframe_secret: Option<Hex>,
    sframe_key: Option<Hex>,
    sframe_salt: Option<Hex>,
    #[serde(default)]
    metadata: Hex,
    nonce: Option<Hex>,
    aad: Option<Hex>,
    pt: Hex,
    ct: Hex,
}

impl SframeCase {
    fn label(&self) -> String {
        format!(
            "suite {:#06x} kid {:#x} ctr {:#x}",
            self.cipher_suite, self.kid, self.ctr
        )
    }

    /// The case's base key; each party (sender, receiver) builds its own.
    fn base_key(&self) -> Result<BaseKey, String> {
        BaseKey::new(&self.base_key.0).map_err(|e| format!("base_key: {e}"))
    }
    fn check(&self) -> Result<(), String> {
        let suite = suite(self.cipher_suite)?;
        let (kid, ctr) = (KeyId(self.kid), Counter(self.ctr));
        let base_key = self.base_key()?;
        let (metadata, pt, ct) = (&self.metadata.0, &self.pt.0, &self.ct.0);

        // RFC 9605 §4.4.2: label || KID (u64 BE) || suite (u16 BE).
        let context = [&self.kid.to_be_bytes()[..], &suite.id().to_be_bytes()].concat();
        if let Some(label) = &self.sframe_key_label {
            let ours = [&b"SFrame 1.0 Secret key "[..], &context].concat();
            expect_bytes("sframe_key_label", &label.0, &ours)?;
        }
        if let Some(label) = &self.sframe_salt_label {
            let ours = [&b"SFrame 1.0 Secret salt "[..], &context].concat();
            expect_bytes("sframe_salt_label", &label.0, &ours)?;
        }
        if let Some(secret) = &self.sframe_secret {
            let ours = sframe_secret(suite, &base_key);
            expect_bytes("sframe_secret", &secret.0, ours.expose_secret())?;
        }
        let derived = derive_key_and_salt(suite, kid, &base_key);
        if let Some(key) = &self.sframe_key {
            expect_bytes("sframe_key", &key.0, derived.key())?;
        }
        if let Some(salt) = &self.sframe_salt {
            expect_bytes("sframe_salt", &salt.0, derived.salt())?;
        }
        if let Some(nonce) = &self.nonce {
            // RFC 9605 §4.4.3: nonce = sframe_salt XOR CTR (12 bytes BE).
            let mut ours = *derived.salt();
            for (n, c) in ours[4..].iter_mut().zip(self.ctr.to_be_bytes()) {
                *n ^= c;
            }
            expect_bytes("nonce", &nonce.0, &ours)?;
        }
        if let Some(aad) = &self.aad {
            let header = Header::parse(ct).map_err(|e| format!("ct header: {e}"))?;
            let ours = [header.as_bytes(), metadata].concat();
            expect_bytes("aad = header || metadata", &aad.0, &ours)?;
        }

        let mut sender = Sender::resume(suite, kid, base_key, ctr);
        let frame = sender
            .seal_to_vec(metadata, pt)
            .map_err(|e| format!("Sender::encrypt: {e}"))?;
        expect_bytes("Sender::encrypt", ct, &frame)?;

        // The checks below open the same CTR again on purpose (tampered
        // copies must fail authentication, not the replay check).
        let mut receiver = Receiver::<VecKeyStore>::new().without_replay_protection();
        receiver
            .add_key(suite, kid, self.base_key()?)
            .map_err(|e| format!("Receiver::add_key: {e}"))?;
        let (opened, plaintext) = receiver
            .open_to_vec(metadata, ct)
            .map_err(|e| format!("Receiver::decrypt: {e}"))?;
        let header = opened.header();
        if header != Header::new(kid, ctr) {
            return Err(format!(
                "Receiver::decrypt: header says kid {} ctr {}",
                header.kid(),
                header.ctr()
            ));
        }
        expect_bytes("Receiver::decrypt", pt, &plaintext)?;

        expect_rejected(
            "Receiver::decrypt of ct with one bit flipped",
            receiver.open_to_vec(metadata, &flip_last_bit(ct)),
        )?;
        let other_metadata = [metadata.as_slice(), &[0]].concat();
        expect_rejected(
            "Receiver::decrypt with other metadata",
            receiver.open_to_vec(&other_metadata, ct),
        )
    }
}
