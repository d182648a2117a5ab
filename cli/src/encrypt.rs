//! `framecrypt encrypt`: one SFrame ciphertext (RFC 9605 §4.4.3) from a
//! plaintext, with the KID and CTR chosen on the command line, or with a
//! base key ratcheted to a §5.1 (generation, step) and its KID.

use framecrypt::prelude::*;
use framecrypt::{CipherSuite, Counter, KeyId, RatchetBits, RatchetingSender, Sender};

use crate::args::{
    Bytes, HexInput, Keys, KidKey, parse_hex, parse_hex_input, parse_suite, parse_u64,
};
use crate::error::CliError;
use crate::output;
use crate::ratchet::{parse_steps, ratcheted};

/// Parses R, 1 to 63.
fn parse_ratchet_bits(s: &str) -> Result<RatchetBits, String> {
    let bits = parse_u64(s)?;
    u32::try_from(bits)
        .ok()
        .and_then(|bits| RatchetBits::new(bits).ok())
        .ok_or_else(|| format!("'{s}' is not a ratchet bit count from 1 to 63"))
}

/// Encrypt one frame with a chosen KID and CTR
///
/// Prints the whole SFrame ciphertext (header, encrypted payload, tag) in
/// hex.
///
/// The counter is taken from the command line, so this is for tests and
/// interop only: never encrypt two different frames with the same key, KID
/// and CTR.
///
/// With --ratchet-bits R --step I (RFC 9605 §5.1 sender keys), the key is a
/// generation's: its KID is the generation's first, G << R, and its base
/// key is ratcheted I times; the frame's KID is (G << R) + (I mod 2^R).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cipher suite: number 1-8 or name (e.g. AES_128_GCM_SHA256_128).
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    #[command(flatten)]
    key: Keys,
    /// R, the KID bits of the ratchet step (1-63): the key is a
    /// generation's, ratcheted --step times.
    #[arg(long, value_name = "R", value_parser = parse_ratchet_bits, requires = "step")]
    ratchet_bits: Option<RatchetBits>,
    /// Ratchet step I (with --ratchet-bits): the key is ratcheted I times,
    /// at most 1000000.
    #[arg(long, value_name = "I", value_parser = parse_steps, requires = "ratchet_bits")]
    step: Option<u64>,
    /// Counter (CTR), decimal or 0x hex.
    #[arg(long, value_name = "CTR", value_parser = parse_u64)]
    ctr: u64,
    /// Metadata in hex: authenticated, not sent (RFC 9605 §4.4.3).
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    metadata: Option<Bytes>,
    /// Plaintext in hex, or `-` to read it from standard input.
    #[arg(value_name = "PLAINTEXT_HEX", value_parser = parse_hex_input)]
    plaintext: HexInput,
}

/// Runs `framecrypt encrypt`.
pub fn run(args: Args) -> Result<(), CliError> {
    let KidKey { kid, key } = args.key.one()?;
    let plaintext = args.plaintext.read()?;
    let metadata = args.metadata.unwrap_or_default().0;
    let base_key = key.base_key()?;
    let ctr = Counter(args.ctr);
    // A sender resumed at the requested counter encrypts exactly one frame.
    let frame = match (args.ratchet_bits, args.step) {
        (None, None) => {
            Sender::resume(args.suite, kid, base_key, ctr).seal_to_vec(&metadata, &plaintext)
        }
        (Some(bits), Some(step)) => {
            if kid.0 & bits.step_mask() != 0 {
                return Err(CliError::usage(format!(
                    "--key {kid}=...: with --ratchet-bits {r} the key's KID is its generation's \
                     first, G << {r}, whose low {r} bits are 0 (did you mean {first}?)",
                    r = bits.get(),
                    first = KeyId(kid.0 & !bits.step_mask()),
                )));
            }
            let generation = bits.generation_of(kid);
            let step_key = ratcheted(args.suite, base_key, step);
            RatchetingSender::resume(args.suite, bits, generation, step, step_key, ctr)
                .map_err(|e| CliError::usage(format!("--ratchet-bits {}: {e}", bits.get())))?
                .seal_to_vec(&metadata, &plaintext)
        }
        _ => return Err(CliError::usage("give --ratchet-bits and --step together")),
    }
    .map_err(|e| CliError::failure(format!("encrypt: {e}")))?;
    output::line(hex::encode(frame))
}
