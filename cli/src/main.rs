//! `framecrypt`: check the framecrypt SFrame (RFC 9605) library against other
//! implementations, and look inside SFrame ciphertexts.
//!
//! This file only dispatches: each subcommand lives in its own module with
//! an `Args` struct (its flags) and a `run` function. To add one, add the
//! module, a variant to [`Command`] and an arm to the `match` in `main`.

// The workspace lints steer the no_std library towards `core`/`alloc`; this
// binary always has `std`, where those paths are just noise.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod args;
mod container;
mod decrypt;
mod encrypt;
mod error;
mod inspect;
mod mls_kid;
mod output;
mod protect;
mod ratchet;
mod receiver;
mod unprotect;
mod vectors;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use error::EXIT_CODES;

/// SFrame (RFC 9605) interop and debugging tool.
///
/// Byte strings are hex on the command line (either case) and lower-case hex
/// on standard output. Integers are decimal or 0x hex. A positional hex
/// argument may be `-` to read the hex from standard input. Keys are
/// KID=HEX everywhere (--key), or one per line in a file or on standard
/// input (--key-file PATH or -), which keeps them out of the process list.
/// Errors go to standard error.
#[derive(Debug, Parser)]
#[command(name = "framecrypt", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(after_help = EXIT_CODES)]
    Encrypt(encrypt::Args),
    #[command(after_help = EXIT_CODES)]
    Decrypt(decrypt::Args),
    #[command(after_help = EXIT_CODES)]
    Inspect(inspect::Args),
    #[command(after_help = EXIT_CODES)]
    Vectors(vectors::Args),
    #[command(after_help = EXIT_CODES)]
    Ratchet(ratchet::Args),
    #[command(after_help = EXIT_CODES)]
    MlsKid(mls_kid::Args),
    #[command(after_help = EXIT_CODES)]
    Protect(protect::Args),
    #[command(after_help = EXIT_CODES)]
    Unprotect(unprotect::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Encrypt(args) => encrypt::run(args),
        Command::Decrypt(args) => decrypt::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Vectors(args) => vectors::run(args),
        Command::Ratchet(args) => ratchet::run(args),
        Command::MlsKid(args) => mls_kid::run(args),
        Command::Protect(args) => protect::run(args),
        Command::Unprotect(args) => unprotect::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.code())
        }
    }
}
