//! `framecrypt unprotect`: restores a media file written by `protect`.

use std::path::PathBuf;

use framecrypt::CipherSuite;
use framecrypt::codec::{Codec, Fallback, Protection};

use crate::args::{Keys, parse_codec, parse_fallback, parse_suite};
use crate::container::Media;
use crate::error::CliError;
use crate::output;
use crate::receiver;

/// Restore a media file written by `protect`
///
/// Decrypts and checks every frame and writes the original file: byte for
/// byte for IVF and Annex B, packet for packet for Ogg. Fails (exit code 1)
/// at the first frame that does not authenticate. Prints a JSON summary:
/// `frames`, `input_bytes`, `output_bytes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Codec: vp8, vp9, h264, h265, av1, opus (or opus-opaque).
    #[arg(long, value_name = "CODEC", value_parser = parse_codec)]
    codec: Codec,
    /// Cipher suite of every key: number 1-8 or name.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    /// The receive keys: repeat --key, or list them in --key-file.
    #[command(flatten)]
    keys: Keys,
    /// The policy the file was protected with: reject or whole-frame.
    #[arg(long, value_name = "POLICY", value_parser = parse_fallback, default_value = "reject")]
    fallback: Fallback,
    /// The protected file.
    input: PathBuf,
    /// Where to write the restored file.
    output: PathBuf,
}

/// Runs `framecrypt unprotect`.
pub fn run(args: Args) -> Result<(), CliError> {
    let (mut media, input_bytes) = Media::read_file(args.codec, &args.input)?;
    let mut receiver = receiver::with_keys(args.suite, &args.keys.all()?)?;
    let protection = Protection::new(args.codec, args.fallback);
    let frames = media.map_frames(|frame| {
        protection
            .unprotect_to_vec(&mut receiver, frame)
            .map(|(_, restored)| restored)
    })?;
    let output_bytes = media.write_file(&args.output)?;
    output::line(format!(
        "{{\"frames\":{frames},\"input_bytes\":{input_bytes},\"output_bytes\":{output_bytes}}}"
    ))
}
