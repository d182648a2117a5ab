//! `framecrypt mls-kid`: the KID of an MLS sender (RFC 9605 §5.2).

use framecrypt::MlsKidLayout;

use crate::args::parse_u64;
use crate::error::CliError;
use crate::output;

/// Compute an MLS sender's KID (RFC 9605 §5.2)
///
/// `KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)`.
/// Prints the KID in decimal, then in 0x hex, on one line. S is given with
/// --sender-bits, or derived from --group-size as the smallest S with
/// group_size <= 2^S.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("s").required(true).args(["sender_bits", "group_size"])))]
pub struct Args {
    /// E: how many low bits of the epoch the KID carries (1-64).
    #[arg(long, value_name = "E", value_parser = parse_bits)]
    epoch_bits: u32,
    /// S: how many bits the sender index takes (E + S <= 64).
    #[arg(long, value_name = "S", value_parser = parse_bits)]
    sender_bits: Option<u32>,
    /// The group size (MLS: leaves of the ratchet tree), to derive S from.
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    group_size: Option<u64>,
    /// The sender's context value (0 gives the shortest KID).
    #[arg(long, value_name = "C", value_parser = parse_u64, default_value = "0")]
    context: u64,
    /// The sender's MLS member (leaf) index.
    #[arg(long, value_name = "I", value_parser = parse_u64)]
    sender_index: u64,
    /// The MLS epoch (full number; only its low E bits are used).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    epoch: u64,
}

/// Parses a bit count 0-64.
fn parse_bits(s: &str) -> Result<u32, String> {
    parse_u64(s)?
        .try_into()
        .ok()
        .filter(|bits| *bits <= 64)
        .ok_or_else(|| format!("'{s}' is not a bit count from 0 to 64"))
}

/// Runs `framecrypt mls-kid`.
pub fn run(args: Args) -> Result<(), CliError> {
    let layout = match (args.sender_bits, args.group_size) {
        (Some(bits), _) => MlsKidLayout::new(args.epoch_bits, bits),
        (None, Some(size)) => MlsKidLayout::for_group_size(args.epoch_bits, size),
        (None, None) => return Err(CliError::usage("--sender-bits or --group-size is required")),
    }
    .map_err(|_| {
        CliError::usage("bad KID layout: E must be 1-64, E + S at most 64, a group at least 1")
    })?;
    let kid = layout
        .kid(args.context, args.sender_index, args.epoch)
        .map_err(|_| {
            CliError::usage(format!(
                "--sender-index must fit S = {} bits and --context the {} bits above S + E",
                layout.sender_bits(),
                layout.context_bits()
            ))
        })?;
    output::line(format_args!("{} {kid}", kid.0))
}
