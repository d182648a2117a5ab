//! Helpers shared by the CLI integration tests: running the binary and
//! reading the committed test data.

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A 16-byte base key.
pub const KEY: &str = "000102030405060708090a0b0c0d0e0f";

/// A file under the library's `tests/data/`.
pub fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(file)
}

/// A JSON file under the library's `tests/data/`.
pub fn data_json(file: &str) -> Value {
    let text = std::fs::read_to_string(data(file)).expect("vector file");
    serde_json::from_str(&text).expect("JSON")
}

/// `p` as a command-line argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

pub fn framecrypt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framecrypt"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// Runs a command that must succeed; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let output = framecrypt(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// A usage error: exit code 2, nothing on standard output, a message
/// containing `words`.
pub fn assert_usage_error(args: &[&str], words: &[&str]) {
    let output = framecrypt(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    assert_eq!(stdout(&output), "", "{args:?}");
    let err = stderr(&output);
    for word in words {
        assert!(err.contains(word), "{args:?}: {err}");
    }
}
