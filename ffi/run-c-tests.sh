#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Builds framecrypt-ffi, compiles the C API tests (ffi/tests/c) against its
# static library, checks that the header compiles as C++ and as C2x, and
# runs the tests and the example natively and under valgrind. Exits non-zero
# on any failure.
#
# Needs cargo, gcc, g++ and valgrind on PATH (installing them is CI's job).
# Usage, from anywhere in the repository: bash ffi/run-c-tests.sh
# Set CC / CXX to use other compilers (gcc-compatible flags).

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

CC="${CC:-gcc}"
CXX="${CXX:-g++}"
CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1)
include_dir="ffi/include"
header="$include_dir/framecrypt.h"
test_src="ffi/tests/c/test_framecrypt.c"
example_src="ffi/examples/encrypt_decrypt.c"

step() { printf '==> %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

for tool in cargo "$CC" "$CXX"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found on PATH"
done
if ! command -v valgrind >/dev/null 2>&1; then
    fail "valgrind not found on PATH; install it (e.g. apt-get install valgrind) and rerun"
fi
[[ -f "$header" ]] || fail "$header not found"
[[ -f "$test_src" ]] || fail "$test_src not found"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/framecrypt-c-tests.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# 1. Build the library (debug profile).
step "cargo build -p framecrypt-ffi"
cargo build -p framecrypt-ffi || fail "cargo build -p framecrypt-ffi"

# Where cargo puts it: CARGO_TARGET_DIR or the workspace's target directory.
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[[ -n "$target_dir" ]] || fail "cannot find cargo's target directory"
staticlib="$target_dir/debug/libframecrypt_ffi.a"

# 2. The system libraries the static library needs, as rustc prints them
#    ("note: native-static-libs: -lgcc_s -lutil ..."). Cargo replays the
#    note when the build is fresh.
native_libs_line="$(cargo rustc -p framecrypt-ffi --lib --crate-type staticlib \
    -- --print native-static-libs 2>&1 | grep 'native-static-libs:' | tail -n 1 || true)"
if [[ -n "$native_libs_line" ]]; then
    read -r -a native_libs <<<"${native_libs_line#*native-static-libs:}"
    ok "native static libs (from rustc): ${native_libs[*]}"
else
    native_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
    ok "native static libs (rustc printed none; fallback): ${native_libs[*]}"
fi
[[ -f "$staticlib" ]] || fail "$staticlib not found after the build"
ok "library $staticlib"

# 3. The header alone, as C11, C++ and C2x.
step "header checks"
printf '#include "framecrypt.h"\nint main(void) { return framecrypt_version() == 0; }\n' \
    >"$tmp/header_only.c"
"$CC" "${CFLAGS[@]}" -I"$include_dir" -fsyntax-only "$tmp/header_only.c" ||
    fail "header does not compile as C11"
ok "header compiles as C11 (${CFLAGS[*]})"

printf '#include "framecrypt.h"\nint main() { framecrypt_result r = framecrypt_sender_ratchet(nullptr);\n  return r == FRAMECRYPT_OK ? 0 : 1; }\n' \
    >"$tmp/header_only.cpp"
"$CXX" -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$include_dir" -fsyntax-only \
    "$tmp/header_only.cpp" || fail "header does not compile as C++"
ok "header compiles as C++11 ($CXX -x c++ -fsyntax-only)"

if echo 'int x;' | "$CC" -std=c2x -x c -fsyntax-only - >/dev/null 2>&1; then
    "$CC" -std=c2x -Wall -Wextra -Wpedantic -Werror -I"$include_dir" -fsyntax-only \
        "$tmp/header_only.c" || fail "header does not compile as C2x"
    # The test itself, too: the result type differs in C23.
    "$CC" -std=c2x -Wall -Wextra -Wpedantic -Werror -I"$include_dir" -fsyntax-only \
        "$test_src" || fail "the C test does not compile as C2x"
    ok "header and test compile as C2x"
else
    ok "header as C2x: skipped ($CC does not accept -std=c2x)"
fi

# 4. The test program.
step "compile $test_src"
"$CC" "${CFLAGS[@]}" -I"$include_dir" "$test_src" -o "$tmp/test_framecrypt" \
    "$staticlib" "${native_libs[@]}" || fail "compiling $test_src"
ok "compiled with $CC ${CFLAGS[*]}"

# 5. Run it.
step "run"
"$tmp/test_framecrypt" || fail "C API tests (exit status $?)"
ok "C API tests passed"

# 6. Run it under valgrind: memory errors, and definite or indirect leaks,
#    fail the run (exit status 99).
step "run under valgrind"
valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect "$tmp/test_framecrypt" ||
    fail "C API tests under valgrind (exit status $?)"
ok "C API tests passed under valgrind with no memory errors or leaks"

# 7. The example of ffi/README.md, natively and under valgrind.
step "example $example_src"
"$CC" "${CFLAGS[@]}" -I"$include_dir" "$example_src" -o "$tmp/encrypt_decrypt" \
    "$staticlib" "${native_libs[@]}" || fail "compiling $example_src"
"$tmp/encrypt_decrypt" || fail "the example (exit status $?)"
valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect "$tmp/encrypt_decrypt" >/dev/null ||
    fail "the example under valgrind (exit status $?)"
ok "example runs, natively and under valgrind"

printf 'All C API checks passed.\n'
