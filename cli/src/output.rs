//! Writing results to standard output.

use std::fmt::Display;
use std::io::Write;

use crate::error::CliError;

/// Prints `text` and a newline on standard output. A closed pipe or full
/// disk is reported as an error instead of a panic.
pub fn line(text: impl Display) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::failure(format!("cannot write to standard output: {e}")))
}
