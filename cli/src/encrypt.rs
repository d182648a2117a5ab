//! `framecrypt encrypt`: one SFrame ciphertext (RFC 9605 §4.4.3) from a
//! plaintext, with the KID and CTR chosen on the command line.

use framecrypt::{CipherSuite, Counter, KeyId, Sender};

use crate::args::{
    Bytes, HexInput, SecretHex, parse_hex, parse_hex_input, parse_key, parse_suite, parse_u64,
};
use crate::error::CliError;
use crate::output;

/// Encrypt one frame with a chosen KID and CTR
///
/// Prints the whole SFrame ciphertext (header, encrypted payload, tag) in
/// hex.
///
/// The counter is taken from the command line, so this is for tests and
/// interop only: never encrypt two different frames with the same key, KID
/// and CTR.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cipher suite: number 1-8 or name (e.g. AES_128_GCM_SHA256_128).
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    /// Key ID (KID), decimal or 0x hex.
    #[arg(long, value_name = "KID", value_parser = parse_u64)]
    kid: u64,
    /// Counter (CTR), decimal or 0x hex.
    #[arg(long, value_name = "CTR", value_parser = parse_u64)]
    ctr: u64,
    /// Base key in hex (RFC 9605 §4.4.1).
    #[arg(long, value_name = "HEX", value_parser = parse_key)]
    key: SecretHex,
    /// Metadata in hex: authenticated, not sent (RFC 9605 §4.4.3).
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    metadata: Option<Bytes>,
    /// Plaintext in hex, or `-` to read it from standard input.
    #[arg(value_name = "PLAINTEXT_HEX", value_parser = parse_hex_input)]
    plaintext: HexInput,
}

/// Runs `framecrypt encrypt`.
pub fn run(args: Args) -> Result<(), CliError> {
    let plaintext = args.plaintext.read()?;
    let metadata = args.metadata.unwrap_or_default().0;
    let base_key = args.key.base_key()?;
    // A sender resumed at the requested counter encrypts exactly one frame.
    let mut sender = Sender::resume(args.suite, KeyId(args.kid), &base_key, Counter(args.ctr));
    let frame = sender
        .encrypt_to_vec(&metadata, &plaintext)
        .map_err(|e| CliError::failure(format!("encrypt: {e}")))?;
    output::line(hex::encode(frame))
}
