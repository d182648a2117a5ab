//! `framecrypt ratchet`: the RFC 9605 §5.1 sender-key ratchet, step by step.

use framecrypt::{BaseKey, CipherSuite, ratchet_forward};

use crate::args::{BaseKeyArg, parse_suite, parse_u64};
use crate::error::CliError;
use crate::output;

/// The most ratchet steps one command takes (about a second of hashing).
pub const MAX_STEPS: u64 = 1_000_000;

/// Print a base key and the keys it ratchets to (RFC 9605 §5.1)
///
/// `base_key[i+1] = HKDF-Expand(HKDF-Extract("", base_key[i]), "SFrame 1.0
/// Ratchet", Nh)`. Prints K+1 lines of hex: step 0 (the key given), then
/// steps 1 to K, each Nh bytes (32, or 64 for the SHA-512 suites).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cipher suite: number 1-8 or name (its hash sets Nh).
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    suite: CipherSuite,
    #[command(flatten)]
    key: BaseKeyArg,
    /// How many steps to ratchet (K), at most 1000000.
    #[arg(long, value_name = "K", value_parser = parse_steps)]
    steps: u64,
}

/// Parses a step count: an integer up to [`MAX_STEPS`].
pub fn parse_steps(s: &str) -> Result<u64, String> {
    let steps = parse_u64(s)?;
    if steps > MAX_STEPS {
        return Err(format!("at most {MAX_STEPS} ratchet steps, got {steps}"));
    }
    Ok(steps)
}

/// `key` ratcheted `steps` times; every intermediate key is zeroized.
pub fn ratcheted(suite: CipherSuite, mut key: BaseKey, steps: u64) -> BaseKey {
    for _ in 0..steps {
        key = ratchet_forward(suite, key);
    }
    key
}

/// Runs `framecrypt ratchet`.
pub fn run(args: Args) -> Result<(), CliError> {
    let mut key = args.key.get()?.base_key()?;
    output::line(hex::encode(key.expose_secret()))?;
    for _ in 0..args.steps {
        key = ratchet_forward(args.suite, key);
        output::line(hex::encode(key.expose_secret()))?;
    }
    Ok(())
}
