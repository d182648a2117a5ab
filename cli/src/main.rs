//! The `framecrypt` command-line tool (being written).

fn main() {}
