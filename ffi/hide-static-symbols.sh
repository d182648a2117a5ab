#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Rewrites an installed libframecrypt.a so that it defines only the
# framecrypt_* symbols globally. A Rust static library also exports its
# copy of the Rust standard library and of every dependency (about 1,500
# global symbols here); an application that links a second Rust static
# library with them (for instance into one shared library, with
# --whole-archive) gets thousands of "multiple definition" errors.
#
#   ffi/hide-static-symbols.sh PREFIX/lib/libframecrypt.a
#
# How: link the archive's objects into one relocatable object (ld -r),
# dissolving COMDAT groups (--force-group-allocation) so that none of its
# now-private sections is merged with another library's; make every symbol
# but framecrypt_* local (objcopy --keep-global-symbol); drop the embedded
# LLVM bitcode (.llvmbc, for Rust's own LTO), which other tools' LLVM
# plugins cannot read; archive the object again. Needs GNU binutils
# (ld, objcopy, ar, readelf); Linux and other ELF systems.
set -euo pipefail

lib="${1:?usage: $0 PATH/TO/libframecrypt.a}"
[[ -f "$lib" ]] || { echo "$lib: no such file" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

ld -r --force-group-allocation --whole-archive "$lib" -o "$tmp/framecrypt.o"
objcopy --wildcard --keep-global-symbol='framecrypt_*' \
    --remove-section=.llvmbc --remove-section=.llvmcmd "$tmp/framecrypt.o"
ar rcs "$tmp/libframecrypt.a" "$tmp/framecrypt.o"

# Every globally defined symbol left must be framecrypt_*.
others="$(readelf -sW "$tmp/libframecrypt.a" |
    awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 !~ /^framecrypt_/ {print $8}')"
if [[ -n "$others" ]]; then
    echo "symbols other than framecrypt_* are still global:" >&2
    echo "$others" | head >&2
    exit 1
fi
cp "$tmp/libframecrypt.a" "$lib"
echo "$lib: $(readelf -sW "$lib" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND"' | wc -l) global symbols, all framecrypt_*"
