//! `framecrypt inspect`: what an SFrame frame's header says (RFC 9605
//! §4.3), without any key, for a plain frame or what an SFU sees of a
//! codec-aware protected frame (framecrypt::sfu); one frame, or every frame
//! of a media file.

use std::path::PathBuf;

use framecrypt::codec::Codec;
use framecrypt::sfu::{View, inspect_codec};
use framecrypt::{CipherSuite, Error, Header};
use serde::Serialize;

use crate::args::{HexInput, parse_codec, parse_hex_input, parse_suite};
use crate::container::Media;
use crate::error::CliError;
use crate::output;

/// Show the KID, CTR and header of SFrame frames as JSON (no key)
///
/// --codec is required: `plain` for an SFrame frame (as `encrypt` makes),
/// or the codec of a frame `protect` made, whose SFrame header sits behind
/// the codec's clear bytes. Without it a codec-aware frame would read as a
/// plain one with a wrong KID, so inspect refuses to guess (exit code 2).
///
/// The frame is hex on the command line (or `-`: hex on standard input),
/// or, with --file, every frame of a media file as `protect` writes it:
/// IVF (vp8, vp9, av1), Annex B (h264, h265) or Ogg (opus). Prints one JSON
/// object per frame, one per line.
///
/// Fields: `frame` (the index, with --file), `kid`, `ctr` (JSON integers),
/// `header_len`, `header` (hex; the bytes received, or the canonical
/// encoding where H.26x escaping touched them), `minimal` (whether the
/// header is the minimal encoding), `payload_len` (encrypted bytes and
/// tag) and `frame_len`. With --suite: `suite`, `suite_name`, `tag_len`,
/// `tag` (plain frames) and `plaintext_len`. For a codec: `codec`,
/// `header_offset`, `clear_len`, `escape_len`, and what the clear bytes
/// tell, where known: `keyframe`, `width`, `height`, `parameter_sets`,
/// `sequence_header`, `temporal_id`, `spatial_id`, `opus_toc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// plain, or the codec the frames were protected for: vp8, vp9, h264,
    /// h265, av1, opus, opus-opaque.
    #[arg(long, value_name = "CODEC", value_parser = parse_inspect_codec)]
    codec: Option<Codec>,
    /// Also split the payload into ciphertext and tag for this suite.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: Option<CipherSuite>,
    /// Read every frame of this media file (needs a codec's --codec).
    #[arg(long, value_name = "PATH", conflicts_with = "ciphertext")]
    file: Option<PathBuf>,
    /// One frame in hex, or `-` to read it from standard input.
    #[arg(value_name = "FRAME_HEX", value_parser = parse_hex_input,
          required_unless_present = "file")]
    ciphertext: Option<HexInput>,
}

/// Parses `--codec` for inspect: `plain` ([`Codec::Unknown`], a plain
/// SFrame frame read header first) or a codec.
fn parse_inspect_codec(s: &str) -> Result<Codec, String> {
    if s.eq_ignore_ascii_case("plain") {
        return Ok(Codec::Unknown);
    }
    parse_codec(s).map_err(|e| format!("{e}, or plain for an SFrame frame"))
}

/// What the bytes look like, for the message that asks for --codec.
fn looks_like(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"DKIF") {
        " (it starts like an IVF file: --file with --codec vp8, vp9 or av1)"
    } else if bytes.starts_with(b"OggS") {
        " (it starts like an Ogg file: --file with --codec opus)"
    } else if bytes.starts_with(&[0, 0, 1]) || bytes.starts_with(&[0, 0, 0, 1]) {
        " (it starts with an Annex B start code: a protected H.264 or H.265 frame, --codec h264 or h265)"
    } else {
        ""
    }
}

/// Runs `framecrypt inspect`.
pub fn run(args: Args) -> Result<(), CliError> {
    let Some(codec) = args.codec else {
        let hint = match (&args.file, args.ciphertext) {
            (Some(path), _) => std::fs::read(path)
                .map(|bytes| looks_like(&bytes))
                .unwrap_or_default(),
            (None, Some(input)) => input.read().map(|b| looks_like(&b)).unwrap_or_default(),
            (None, None) => "",
        };
        return Err(CliError::usage(format!(
            "inspect needs --codec: plain for an SFrame frame (from encrypt), or the codec of a \
             codec-aware frame (from protect), whose header is not at its start{hint}"
        )));
    };
    if let Some(path) = &args.file {
        if codec == Codec::Unknown {
            return Err(CliError::usage(
                "--file reads a codec's container (IVF, Annex B, Ogg): give its --codec, not plain",
            ));
        }
        let (mut media, _) = Media::read_file(codec, path)?;
        for (i, frame) in media.frames_mut().into_iter().enumerate() {
            let report = codec_frame(codec, frame, args.suite)
                .map_err(|e| CliError::failure(format!("frame {i}: {e}")))?;
            print(&Numbered { frame: i, report })?;
        }
        return Ok(());
    }
    let frame = args
        .ciphertext
        .ok_or_else(|| CliError::usage("give a frame in hex, - or --file"))?
        .read()?;
    let report = if codec == Codec::Unknown {
        plain_frame(&frame, args.suite)
    } else {
        codec_frame(codec, &frame, args.suite)
    }
    .map_err(|e| CliError::failure(format!("inspect: {e}")))?;
    print(&report)
}

/// A report with the frame's index in a file.
#[derive(Serialize)]
struct Numbered {
    frame: usize,
    #[serde(flatten)]
    report: Report,
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

/// The report for a plain SFrame frame.
fn plain_frame(frame: &[u8], suite: Option<CipherSuite>) -> Result<Report, Error> {
    let header = Header::parse(frame)?;
    let payload = &frame[header.len()..];
    let suite = suite
        .map(|suite| {
            let plaintext_len = payload
                .len()
                .checked_sub(suite.tag_len())
                .ok_or(Error::FrameTooShort)?;
            Ok::<_, Error>(SuiteReport {
                suite: suite.id(),
                suite_name: suite.name(),
                tag_len: suite.tag_len(),
                tag: Some(hex::encode(&payload[plaintext_len..])),
                plaintext_len,
            })
        })
        .transpose()?;
    Ok(Report {
        kid: header.kid().0,
        ctr: header.ctr().0,
        header_len: header.len(),
        header: hex::encode(header.as_bytes()),
        minimal: header.is_minimal(),
        payload_len: payload.len(),
        frame_len: frame.len(),
        suite,
        codec: None,
    })
}

/// The report for a codec-aware frame of `codec`.
fn codec_frame(codec: Codec, frame: &[u8], suite: Option<CipherSuite>) -> Result<Report, Error> {
    let view = inspect_codec(codec, frame)?;
    codec_report(codec, frame, &view, suite)
}

/// The report for a codec-aware frame.
fn codec_report(
    codec: Codec,
    frame: &[u8],
    view: &View,
    suite: Option<CipherSuite>,
) -> Result<Report, Error> {
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
            let plaintext_len = view.media_len(suite).ok_or(Error::FrameTooShort)?;
            Ok::<_, Error>(SuiteReport {
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
fn print(report: &impl Serialize) -> Result<(), CliError> {
    let json = serde_json::to_string(report)
        .map_err(|e| CliError::failure(format!("inspect: cannot format JSON: {e}")))?;
    output::line(json)
}
