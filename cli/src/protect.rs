//! `framecrypt protect`: codec-aware protection of every frame of a media
//! file (framecrypt::codec), written back in the same container.

use std::path::PathBuf;

use framecrypt::codec::{Codec, Fallback, Layout, Protection};
use framecrypt::{CipherSuite, Counter, Sender};

use crate::args::{Keys, KidKey, parse_codec, parse_fallback, parse_suite, parse_u64};
use crate::container::Media;
use crate::error::CliError;
use crate::output;

/// Protect every frame of a media file, codec-aware
///
/// Reads IVF (vp8, vp9, av1), an Annex B byte stream (h264, h265) or Ogg
/// Opus (opus), protects each frame leaving the codec's clear bytes readable
/// (keyframe headers, NAL and OBU headers, the Opus TOC), and writes the
/// same container. Frames take consecutive counters from --ctr. Prints a
/// JSON summary: `frames`, `whole_frames`, `input_bytes`, `output_bytes`,
/// `next_ctr`.
///
/// The counter comes from the command line: never protect two different
/// files with the same key, KID and counters.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Codec: vp8, vp9, h264, h265, av1, opus (or opus-opaque).
    #[arg(long, value_name = "CODEC", value_parser = parse_codec)]
    codec: Codec,
    /// Cipher suite: number 1-8 or name.
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    #[command(flatten)]
    key: Keys,
    /// Counter of the first frame, decimal or 0x hex.
    #[arg(long, value_name = "CTR", value_parser = parse_u64, default_value = "0")]
    ctr: u64,
    /// What to do with a frame that does not parse as the codec: reject
    /// (fail) or whole-frame (encrypt it whole).
    #[arg(long, value_name = "POLICY", value_parser = parse_fallback, default_value = "reject")]
    fallback: Fallback,
    /// The media file to protect.
    input: PathBuf,
    /// Where to write the protected file.
    output: PathBuf,
}

/// Runs `framecrypt protect`.
pub fn run(args: Args) -> Result<(), CliError> {
    let KidKey { kid, key } = args.key.one()?;
    let (mut media, input_bytes) = Media::read_file(args.codec, &args.input)?;
    let protection = Protection::new(args.codec, args.fallback);
    let mut sender = Sender::resume(args.suite, kid, key.base_key()?, Counter(args.ctr));
    let mut whole_frames = 0;
    let frames = media.map_frames(|frame| {
        protection
            .protect_to_vec(&mut sender, frame)
            .map(|(done, protected)| {
                whole_frames += usize::from(done.layout() == Layout::WholeFrame);
                protected
            })
    })?;
    let output_bytes = media.write_file(&args.output)?;
    let next_ctr = sender
        .next_counter()
        .map_or_else(|| "null".to_owned(), |c| c.0.to_string());
    output::line(format!(
        "{{\"frames\":{frames},\"whole_frames\":{whole_frames},\"input_bytes\":{input_bytes},\"output_bytes\":{output_bytes},\"next_ctr\":{next_ctr}}}"
    ))
}
