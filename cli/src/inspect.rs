//! `framecrypt inspect`: what an SFrame ciphertext's header says (RFC 9605
//! §4.3), without any key.

use framecrypt::{CipherSuite, Error, Header};
use serde::Serialize;

use crate::args::{HexInput, parse_hex_input, parse_suite};
use crate::error::CliError;
use crate::output;

/// Show the KID, CTR and header of an SFrame ciphertext as JSON (no key)
///
/// Prints one JSON object on one line.
///
/// Fields: `kid`, `ctr` (JSON integers), `header_len`, `header` (hex, the
/// exact bytes received), `minimal` (whether the header is the minimal
/// encoding), `payload_len` (bytes after the header: encrypted payload and
/// tag) and `frame_len`. With `--suite`, also `suite`, `suite_name`,
/// `tag_len`, `tag` (hex) and `plaintext_len`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also split the payload into ciphertext and tag for this suite.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: Option<CipherSuite>,
    /// The SFrame ciphertext in hex, or `-` to read it from standard input.
    #[arg(value_name = "CIPHERTEXT_HEX", value_parser = parse_hex_input)]
    ciphertext: HexInput,
}

/// The JSON object printed. Field order is output order.
#[derive(Serialize)]
struct Report {
    kid: u64,
    ctr: u64,
    header_len: usize,
    header: String,
    minimal: bool,
    payload_len: usize,
    frame_len: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    suite: Option<SuiteReport>,
}

/// The fields that need the suite's tag length.
#[derive(Serialize)]
struct SuiteReport {
    suite: u16,
    suite_name: &'static str,
    tag_len: usize,
    tag: String,
    plaintext_len: usize,
}

/// Runs `framecrypt inspect`.
pub fn run(args: Args) -> Result<(), CliError> {
    let frame = args.ciphertext.read()?;
    let header = Header::parse(&frame).map_err(|e| CliError::failure(format!("inspect: {e}")))?;
    let payload = &frame[header.len()..];
    let suite = args
        .suite
        .map(|suite| {
            let plaintext_len = payload
                .len()
                .checked_sub(suite.tag_len())
                .ok_or_else(|| CliError::failure(format!("inspect: {}", Error::FrameTooShort)))?;
            Ok::<_, CliError>(SuiteReport {
                suite: suite.id(),
                suite_name: suite.name(),
                tag_len: suite.tag_len(),
                tag: hex::encode(&payload[plaintext_len..]),
                plaintext_len,
            })
        })
        .transpose()?;
    let report = Report {
        kid: header.kid().0,
        ctr: header.ctr().0,
        header_len: header.len(),
        header: hex::encode(header.as_bytes()),
        minimal: header.is_minimal(),
        payload_len: payload.len(),
        frame_len: frame.len(),
        suite,
    };
    let json = serde_json::to_string(&report)
        .map_err(|e| CliError::failure(format!("inspect: cannot format JSON: {e}")))?;
    output::line(json)
}
