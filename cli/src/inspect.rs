//! `framecrypt inspect`: what an SFrame ciphertext's header says (RFC 9605
//! §4.3), without any key; with `--codec`, what an SFU sees of a
//! codec-aware protected frame (framecrypt::sfu).

use framecrypt::codec::Codec;
use framecrypt::sfu::{View, inspect_codec};
use framecrypt::{CipherSuite, Error, Header};
use serde::Serialize;

use crate::args::{HexInput, parse_codec, parse_hex_input, parse_suite};
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
///
/// With `--codec`, the frame is a codec-aware protected frame (from
/// `protect`): the header is found behind the codec's clear bytes, `header`
/// is its canonical encoding, `payload_len` counts the encrypted bytes and
/// tag without escaping, and the SFU view is added: `codec`,
/// `header_offset`, `clear_len`, `escape_len`, and the hints the clear bytes
/// give (`keyframe`, `width`, `height`, `parameter_sets`,
/// `sequence_header`, `temporal_id`, `spatial_id`, `opus_toc`) where known.
/// `--suite` then adds `suite`, `suite_name`, `tag_len` and
/// `plaintext_len`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read the frame as protected codec-aware for this codec (vp8, vp9,
    /// h264, h265, av1, opus).
    #[arg(long, value_name = "CODEC", value_parser = parse_codec)]
    codec: Option<Codec>,
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
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    codec: Option<CodecReport>,
}

/// The SFU view of a codec-aware frame.
#[derive(Serialize)]
struct CodecReport {
    codec: &'static str,
    header_offset: usize,
    clear_len: usize,
    escape_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyframe: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u16>,
    parameter_sets: bool,
    sequence_header: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temporal_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spatial_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opus_toc: Option<u8>,
}

/// The fields that need the suite's tag length.
#[derive(Serialize)]
struct SuiteReport {
    suite: u16,
    suite_name: &'static str,
    tag_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    plaintext_len: usize,
}

/// Runs `framecrypt inspect`.
pub fn run(args: Args) -> Result<(), CliError> {
    if let Some(codec) = args.codec {
        let frame = args.ciphertext.read()?;
        let view =
            inspect_codec(codec, &frame).map_err(|e| CliError::failure(format!("inspect: {e}")))?;
        return print(codec_report(codec, &frame, &view, args.suite)?);
    }
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
                tag: Some(hex::encode(&payload[plaintext_len..])),
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
        codec: None,
    };
    print(report)
}

/// The report for a codec-aware frame.
fn codec_report(
    codec: Codec,
    frame: &[u8],
    view: &View,
    suite: Option<CipherSuite>,
) -> Result<Report, CliError> {
    let header = view.header();
    // The bytes as sent, unless H.26x escaping touched them.
    let sent = frame.get(view.header_offset()..view.header_offset() + view.header_len());
    let (bytes, minimal) = match sent.map(Header::parse) {
        Some(Ok(parsed)) if parsed.header() == header => {
            (parsed.as_bytes().to_vec(), parsed.is_minimal())
        }
        _ => {
            let encoded = header.encode();
            let minimal = encoded.as_bytes().len() == view.header_len();
            (encoded.as_bytes().to_vec(), minimal)
        }
    };
    let suite = suite
        .map(|suite| {
            let plaintext_len = view
                .media_len(suite)
                .ok_or_else(|| CliError::failure(format!("inspect: {}", Error::FrameTooShort)))?;
            Ok::<_, CliError>(SuiteReport {
                suite: suite.id(),
                suite_name: suite.name(),
                tag_len: suite.tag_len(),
                tag: None,
                plaintext_len,
            })
        })
        .transpose()?;
    let hints = view.hints();
    Ok(Report {
        kid: header.kid().0,
        ctr: header.ctr().0,
        header_len: view.header_len(),
        header: hex::encode(bytes),
        minimal,
        payload_len: view.sealed_len(),
        frame_len: frame.len(),
        suite,
        codec: Some(CodecReport {
            codec: codec.name(),
            header_offset: view.header_offset(),
            clear_len: view.clear_len(),
            escape_len: view.escape_len(),
            keyframe: hints.keyframe,
            width: hints.width,
            height: hints.height,
            parameter_sets: hints.parameter_sets,
            sequence_header: hints.sequence_header,
            temporal_id: hints.temporal_id,
            spatial_id: hints.spatial_id,
            opus_toc: hints.opus_toc,
        }),
    })
}

/// Prints the report as one line of JSON.
fn print(report: Report) -> Result<(), CliError> {
    let json = serde_json::to_string(&report)
        .map_err(|e| CliError::failure(format!("inspect: cannot format JSON: {e}")))?;
    output::line(json)
}
