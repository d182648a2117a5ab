//! Argument types and value parsers shared by every subcommand.
//!
//! Byte strings are hex (either case accepted, lower case printed); integers
//! are decimal or `0x` hex; a suite is its number or its registry name. The
//! parsers run inside clap, so a bad value is a usage error (exit code 2)
//! that names the argument.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use framecrypt::codec::{Codec, Fallback};
use framecrypt::{BaseKey, CipherSuite, KeyId};
use zeroize::Zeroizing;

use crate::error::CliError;

/// Parses an unsigned 64-bit integer in decimal or `0x` hex.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    // `from_str_radix` accepts a leading `+`; an integer here is digits only.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!(
            "'{s}' is not an integer (expected decimal digits or 0x followed by hex digits)"
        ));
    }
    u64::from_str_radix(digits, radix).map_err(|_| format!("'{s}' does not fit in 64 bits"))
}

/// Parses a cipher suite: its number 1–8 (decimal or `0x` hex) or its
/// registry name such as `AES_128_GCM_SHA256_128` (case-insensitive).
pub fn parse_suite(s: &str) -> Result<CipherSuite, String> {
    let by_number = parse_u64(s)
        .ok()
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| CipherSuite::from_id(n).ok());
    by_number.or_else(|| s.parse().ok()).ok_or_else(|| {
        format!(
            "unknown cipher suite '{s}'; expected 1-8 or one of: {}",
            suite_names()
        )
    })
}

/// Parses a codec: `vp8`, `vp9`, `h264`, `h265` (or `hevc`), `av1`, `opus`
/// or `opus-opaque` (Opus without a clear TOC byte).
pub fn parse_codec(s: &str) -> Result<Codec, String> {
    match s.parse() {
        Ok(Codec::Unknown) | Err(_) => Err(format!(
            "unknown codec '{s}'; expected vp8, vp9, h264, h265, av1, opus or opus-opaque"
        )),
        Ok(codec) => Ok(codec),
    }
}

/// Parses the fallback policy: `reject` or `whole-frame`.
pub fn parse_fallback(s: &str) -> Result<Fallback, String> {
    match s.to_ascii_lowercase().as_str() {
        "reject" => Ok(Fallback::Reject),
        "whole-frame" | "whole" => Ok(Fallback::WholeFrame),
        _ => Err(format!(
            "unknown fallback '{s}'; expected reject or whole-frame"
        )),
    }
}

/// Every suite as `N=NAME`, for error messages and help.
pub fn suite_names() -> String {
    CipherSuite::ALL
        .iter()
        .map(|suite| format!("{}={}", suite.id(), suite.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes hex (either case; empty is the empty byte string).
pub fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| match e {
        hex::FromHexError::OddLength => {
            format!("invalid hex: odd number of digits ({})", s.len())
        }
        hex::FromHexError::InvalidHexCharacter { c, index } => {
            format!("invalid hex: '{c}' at position {index} is not a hex digit")
        }
        hex::FromHexError::InvalidStringLength => "invalid hex".to_owned(),
    })
}

/// A public byte string given in hex (a newtype, because clap reads a
/// `Vec` field as "many values").
#[derive(Clone, Debug, Default)]
pub struct Bytes(pub Vec<u8>);

/// Parses a public byte string given in hex.
pub fn parse_hex(s: &str) -> Result<Bytes, String> {
    decode_hex(s).map(Bytes)
}

/// A byte string given in hex on the command line, or `-` for hex read from
/// standard input (for frames too long for one argument).
#[derive(Clone, Debug)]
pub enum HexInput {
    /// The bytes given as the argument.
    Inline(Vec<u8>),
    /// `-`: read hex from standard input, surrounding whitespace ignored.
    Stdin,
}

impl HexInput {
    /// The bytes, reading standard input if the argument was `-`.
    pub fn read(self) -> Result<Vec<u8>, CliError> {
        match self {
            Self::Inline(bytes) => Ok(bytes),
            Self::Stdin => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| CliError::usage(format!("cannot read standard input: {e}")))?;
                decode_hex(text.trim()).map_err(|e| CliError::usage(format!("standard input: {e}")))
            }
        }
    }
}

/// Parses a positional byte string: hex, or `-` for standard input.
pub fn parse_hex_input(s: &str) -> Result<HexInput, String> {
    if s == "-" {
        Ok(HexInput::Stdin)
    } else {
        decode_hex(s).map(HexInput::Inline)
    }
}

/// A base key given in hex, zeroized when dropped and redacted in `Debug`.
#[derive(Clone)]
pub struct SecretHex(Zeroizing<Vec<u8>>);

impl SecretHex {
    /// The key as a [`BaseKey`].
    pub fn base_key(&self) -> Result<BaseKey, CliError> {
        // `parse_key` checked the length already; this cannot fail.
        BaseKey::new(&self.0).map_err(|e| CliError::usage(format!("base key: {e}")))
    }
}

impl fmt::Debug for SecretHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHex(<redacted>)")
    }
}

/// Parses a base key in hex: 1 to [`BaseKey::MAX_LEN`] bytes.
pub fn parse_key(s: &str) -> Result<SecretHex, String> {
    let bytes = Zeroizing::new(decode_hex(s)?);
    if bytes.is_empty() || bytes.len() > BaseKey::MAX_LEN {
        return Err(format!(
            "a base key must be 1 to {} bytes, got {}",
            BaseKey::MAX_LEN,
            bytes.len()
        ));
    }
    Ok(SecretHex(bytes))
}

/// A receive key on the command line: `KID=HEX`.
#[derive(Clone, Debug)]
pub struct KidKey {
    /// The key ID.
    pub kid: KeyId,
    /// The base key.
    pub key: SecretHex,
}

/// Parses `KID=HEX`, the KID in decimal or `0x` hex.
pub fn parse_kid_key(s: &str) -> Result<KidKey, String> {
    let s = s.trim();
    let (kid, key) = s.split_once('=').ok_or_else(|| {
        "expected KID=HEX, for example 0x123=000102030405060708090a0b0c0d0e0f".to_owned()
    })?;
    Ok(KidKey {
        kid: KeyId(parse_u64(kid).map_err(|e| format!("KID: {e}"))?),
        key: parse_key(key)?,
    })
}

/// Reads a file of secrets, or standard input for `-`, into memory that
/// is wiped when dropped.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let mut text = Zeroizing::new(String::new());
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| CliError::failure(format!("{}: {e}", display(path))))?;
    Ok(text)
}

/// How a path is named in messages (`-` is standard input).
fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The lines of a key file that hold something: not blank, not a `#`
/// comment; each with its line number.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// The keys of a command: `--key KID=HEX` (repeatable) and `--key-file`,
/// the same syntax one per line, from a file or standard input (`-`),
/// so that no key need appear on a command line, where every user of the
/// machine can read it in the process list.
#[derive(Debug, Default, clap::Args)]
pub struct Keys {
    /// A key as KID=HEX: the key ID (decimal or 0x hex) and its base key
    /// in hex. Visible in the process list: prefer --key-file.
    #[arg(long = "key", value_name = "KID=HEX", value_parser = parse_kid_key)]
    keys: Vec<KidKey>,
    /// A file of keys, one KID=HEX per line (blank lines and lines starting
    /// with # ignored), or - for standard input.
    #[arg(long = "key-file", value_name = "PATH")]
    key_file: Option<PathBuf>,
}

impl Keys {
    /// Every key given, from the command line and the key file. None at
    /// all is a usage error.
    pub fn all(self) -> Result<Vec<KidKey>, CliError> {
        let mut keys = self.keys;
        if let Some(path) = &self.key_file {
            let text = read_secret_file(path)?;
            for (number, line) in key_lines(&text) {
                let key = parse_kid_key(line).map_err(|e| {
                    CliError::usage(format!("{} line {number}: {e}", display(path)))
                })?;
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(CliError::usage(
                "give a key: --key KID=HEX or --key-file PATH (- for standard input)",
            ));
        }
        Ok(keys)
    }

    /// The one key of a sender; more than one is a usage error.
    pub fn one(self) -> Result<KidKey, CliError> {
        let mut keys = self.all()?;
        if keys.len() > 1 {
            return Err(CliError::usage(format!(
                "a sender takes one key; {} given",
                keys.len()
            )));
        }
        keys.pop()
            .ok_or_else(|| CliError::usage("give a key: --key KID=HEX or --key-file PATH"))
    }
}

/// A base key without a KID (the `ratchet` chain): `--base-key HEX` or
/// `--base-key-file` (the hex on one line, or - for standard input).
#[derive(Debug, clap::Args)]
pub struct BaseKeyArg {
    /// Base key of step 0, in hex. Visible in the process list: prefer
    /// --base-key-file.
    #[arg(long = "base-key", value_name = "HEX", value_parser = parse_key,
          required_unless_present = "base_key_file", conflicts_with = "base_key_file")]
    base_key: Option<SecretHex>,
    /// A file holding the base key in hex (# comments allowed), or - for
    /// standard input.
    #[arg(long = "base-key-file", value_name = "PATH")]
    base_key_file: Option<PathBuf>,
}

impl BaseKeyArg {
    /// The base key given.
    pub fn get(self) -> Result<SecretHex, CliError> {
        if let Some(key) = self.base_key {
            return Ok(key);
        }
        let path = self
            .base_key_file
            .ok_or_else(|| CliError::usage("give --base-key HEX or --base-key-file PATH"))?;
        let text = read_secret_file(&path)?;
        let mut lines = key_lines(&text);
        let (number, line) = lines
            .next()
            .ok_or_else(|| CliError::usage(format!("{}: no key in it", display(&path))))?;
        if lines.next().is_some() {
            return Err(CliError::usage(format!(
                "{}: more than one key",
                display(&path)
            )));
        }
        parse_key(line)
            .map_err(|e| CliError::usage(format!("{} line {number}: {e}", display(&path))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_decimal_or_0x_hex() {
        assert_eq!(parse_u64("291"), Ok(291));
        assert_eq!(parse_u64("0x123"), Ok(291));
        assert_eq!(parse_u64("0XfF"), Ok(255));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_u64("18446744073709551616").is_err());
        assert!(parse_u64("").is_err());
        assert!(parse_u64("0x").is_err());
        assert!(parse_u64("+1").is_err());
        assert!(parse_u64("-1").is_err());
        assert!(parse_u64("12a").is_err());
    }

    #[test]
    fn suites_parse_by_number_or_name() {
        assert_eq!(parse_suite("4"), Ok(CipherSuite::Aes128GcmSha256_128));
        assert_eq!(
            parse_suite("0x0008"),
            Ok(CipherSuite::Aes256CtrHmacSha512_32)
        );
        assert_eq!(
            parse_suite("aes_128_ctr_hmac_sha256_80"),
            Ok(CipherSuite::Aes128CtrHmacSha256_80)
        );
        for bad in ["0", "9", "65537", "AES_128_GCM", ""] {
            let err = parse_suite(bad).expect_err(bad);
            assert!(err.contains("unknown cipher suite"), "{err}");
        }
    }

    #[test]
    fn kid_key_needs_an_equals_sign_and_a_valid_key() {
        let parsed = parse_kid_key("0x10=00ff").expect("valid");
        assert_eq!(parsed.kid, KeyId(16));
        assert!(parse_kid_key("00ff").is_err());
        assert!(parse_kid_key("x=00ff").is_err());
        assert!(parse_kid_key("1=").is_err(), "empty key");
        assert!(parse_kid_key(&format!("1={}", "00".repeat(129))).is_err());
    }

    #[test]
    fn codecs_and_fallbacks_parse_by_name() {
        assert_eq!(parse_codec("H264"), Ok(Codec::H264));
        assert_eq!(parse_codec("hevc"), Ok(Codec::H265));
        assert_eq!(parse_codec("opus"), Ok(Codec::OPUS));
        assert!(parse_codec("unknown").is_err());
        assert!(parse_codec("mpeg2").is_err());
        assert_eq!(parse_fallback("whole-frame"), Ok(Fallback::WholeFrame));
        assert!(parse_fallback("guess").is_err());
    }

    #[test]
    fn key_files_hold_one_key_per_line_with_comments() {
        let text = "# receive keys\n\n 7=00ff \n0x10=a1b2\n";
        let lines: Vec<_> = key_lines(text).collect();
        assert_eq!(lines, [(3, "7=00ff"), (4, "0x10=a1b2")]);
        let keys: Vec<_> = lines
            .iter()
            .map(|(_, l)| parse_kid_key(l).expect("valid").kid)
            .collect();
        assert_eq!(keys, [KeyId(7), KeyId(16)]);
    }

    #[test]
    fn secret_hex_debug_is_redacted() {
        let key = parse_key("a1b2c3d4").expect("valid");
        assert_eq!(format!("{key:?}"), "SecretHex(<redacted>)");
    }
}
