//! `framecrypt decrypt`: check and decrypt one SFrame ciphertext (RFC 9605
//! §4.4.4) with the keys given on the command line.

use framecrypt::prelude::*;
use framecrypt::{CipherSuite, Error, Header};

use crate::args::{Bytes, HexInput, Keys, parse_hex, parse_hex_input, parse_suite};
use crate::error::CliError;
use crate::output;
use crate::receiver;

/// Decrypt one SFrame ciphertext with the keys given
///
/// Prints the plaintext in hex. The frame's KID selects the key. If the frame does not authenticate,
/// nothing is printed on standard output and the exit code is 1.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cipher suite of every key: number 1-8 or name.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    /// The receive keys: repeat --key, or list them in --key-file.
    #[command(flatten)]
    keys: Keys,
    /// Metadata in hex: must equal what the sender authenticated.
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    metadata: Option<Bytes>,
    /// The SFrame ciphertext in hex, or `-` to read it from standard input.
    #[arg(value_name = "CIPHERTEXT_HEX", value_parser = parse_hex_input)]
    ciphertext: HexInput,
}

/// Runs `framecrypt decrypt`.
pub fn run(args: Args) -> Result<(), CliError> {
    let frame = args.ciphertext.read()?;
    let metadata = args.metadata.unwrap_or_default().0;

    let mut receiver = receiver::with_keys(args.suite, &args.keys.all()?)?;

    let (_, plaintext) = receiver.open_to_vec(&metadata, &frame).map_err(|e| {
        let detail = match (e, Header::parse(&frame)) {
            (Error::UnknownKeyId(_), _) => {
                " (give its key with --key KID=HEX or --key-file)".to_owned()
            }
            _ => String::new(),
        };
        CliError::failure(format!("decrypt: {e}{detail}"))
    })?;
    output::line(hex::encode(plaintext))
}
