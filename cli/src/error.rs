//! How the tool fails: a message for standard error and an exit code.

use std::fmt;

/// The exit codes, for every `--help` (and cli/README.md, which says the
/// same).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed: a frame that does not authenticate or does not
     parse, an unknown KID, a failed vector case, a file (media or key file)
     that cannot be read or written
  2  a bad command line: an unknown or missing argument, bad hex or integer,
     an unknown suite or codec, a bad key (or key file line), more than one
     key for a sender, inspect without --codec";

/// A failed command. `main` prints it as `error: MESSAGE` on standard error
/// and exits with its code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// Exit code of an operation that failed: authentication, a malformed
    /// frame, an unknown KID, a failed vector case, an unreadable file.
    pub const FAILURE: u8 = 1;
    /// Exit code of a bad command line (clap uses it for its own errors too).
    pub const USAGE: u8 = 2;

    /// The operation failed (exit code 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: Self::FAILURE,
        }
    }

    /// The command line was wrong (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: Self::USAGE,
        }
    }

    /// The process exit code.
    pub const fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
