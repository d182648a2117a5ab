//! A second Rust static library, as an application might link beside
//! libframecrypt.a: it brings its own copy of the Rust standard library.
#![crate_type = "staticlib"]

/// The length of a formatted string (uses std: allocation, formatting).
#[unsafe(no_mangle)]
pub extern "C" fn other_rust_lib_len(n: u32) -> usize {
    format!("{n} from another Rust library").len()
}
