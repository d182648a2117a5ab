#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Builds framecrypt-ffi as the C library (feature `capi`, as cargo-c builds
# it) and runs the C tests against its static library:
#
#   - the header alone compiles as C11, C2x and C++11, says nothing in
#     Rust's terms, and a swapped enum argument does not compile (C with
#     -Wextra -Werror, and C++);
#   - tests/c/test_framecrypt.c, natively and under valgrind;
#   - tests/c/test_threads.c, natively and under helgrind;
#   - tests/c/test_freed_keys.c (a malloc wrapper that searches every
#     freed block for key material), natively;
#   - the example, natively and under valgrind.
#
# Exits non-zero on any failure. Needs cargo, gcc, g++ and valgrind on PATH
# (installing them is CI's job). Usage, from anywhere in the repository:
# bash ffi/run-c-tests.sh. Set CC / CXX to use other compilers
# (gcc-compatible flags). THREAD_ROUNDS (default 100000) and
# HELGRIND_ROUNDS (default 500) size the thread test.

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

CC="${CC:-gcc}"
CXX="${CXX:-g++}"
CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1)
THREAD_ROUNDS="${THREAD_ROUNDS:-100000}"
HELGRIND_ROUNDS="${HELGRIND_ROUNDS:-500}"
include_dir="ffi/include"
header="$include_dir/framecrypt.h"
tests="ffi/tests/c"
example_src="ffi/examples/encrypt_decrypt.c"

step() { printf '==> %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

for tool in cargo "$CC" "$CXX" valgrind; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found on PATH"
done
[[ -f "$header" ]] || fail "$header not found"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/framecrypt-c-tests.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# 1. Build the library (debug profile) as cargo-c does: feature `capi`.
step "cargo build -p framecrypt-ffi --features capi"
cargo build -p framecrypt-ffi --features capi || fail "cargo build -p framecrypt-ffi"

target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[[ -n "$target_dir" ]] || fail "cannot find cargo's target directory"
staticlib="$target_dir/debug/libframecrypt_ffi.a"
[[ -f "$staticlib" ]] || fail "$staticlib not found after the build"

# 2. The system libraries the static library needs, as rustc prints them
#    ("note: native-static-libs: -lgcc_s -lutil ..."). Cargo replays the
#    note when the build is fresh.
native_libs_line="$(cargo rustc -p framecrypt-ffi --features capi --lib --crate-type staticlib \
    -- --print native-static-libs 2>&1 | grep 'native-static-libs:' | tail -n 1 || true)"
if [[ -n "$native_libs_line" ]]; then
    read -r -a native_libs <<<"${native_libs_line#*native-static-libs:}"
else
    native_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
fi
ok "library $staticlib (with ${native_libs[*]})"

link() { # link SOURCE OUTPUT [extra flags...]
    local src="$1" out="$2"
    shift 2
    "$CC" "${CFLAGS[@]}" "$@" -I"$include_dir" "$src" -o "$out" "$staticlib" "${native_libs[@]}" ||
        fail "compiling $src"
}

# 3. The header alone.
step "header checks"
printf '#include "framecrypt.h"\nint main(void) { return framecrypt_version() == 0; }\n' \
    >"$tmp/header_only.c"
"$CC" "${CFLAGS[@]}" -I"$include_dir" -fsyntax-only "$tmp/header_only.c" ||
    fail "header does not compile as C11"
printf '#include "framecrypt.h"\nint main() { framecrypt_result r = framecrypt_sender_ratchet(nullptr);\n  return r == FRAMECRYPT_OK ? 0 : 1; }\n' \
    >"$tmp/header_only.cpp"
"$CXX" -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$include_dir" -fsyntax-only \
    "$tmp/header_only.cpp" || fail "header does not compile as C++"
if echo 'int x;' | "$CC" -std=c2x -x c -fsyntax-only - >/dev/null 2>&1; then
    for src in "$tmp/header_only.c" "$tests/test_framecrypt.c"; do
        "$CC" -std=c2x -Wall -Wextra -Wpedantic -Werror -I"$include_dir" -fsyntax-only "$src" ||
            fail "$src does not compile as C2x"
    done
    ok "header compiles as C11, C2x and C++11; the test as C2x"
else
    ok "header compiles as C11 and C++11 (C2x skipped: $CC does not accept -std=c2x)"
fi

# No Rust in the header: its reader writes C. ("Slice" is a video word.)
rust_words='isize|usize|Option<|Result<|Vec<|Box<|panic|unsafe|crate|::|&mut|&\['
if grep -nE "$rust_words" "$header"; then
    fail "the header speaks Rust (lines above): say it in C terms in ffi/src and regenerate"
fi
ok "the header says nothing in Rust's terms"

# A swapped enum argument does not compile: codec and fallback, as a
# FrameTransformer integrator might swap them.
swap_call='framecrypt_sender_protect(NULL, FRAMECRYPT_FALLBACK_REJECT, FRAMECRYPT_CODEC_OPUS, NULL, 0, NULL, 0, &n, NULL)'
right_call='framecrypt_sender_protect(NULL, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT, NULL, 0, NULL, 0, &n, NULL)'
for call in "$right_call" "$swap_call"; do
    printf '#include "framecrypt.h"\nint main(void) { size_t n = 0; return (int)%s; }\n' "$call" \
        >"$tmp/call.c"
    cp "$tmp/call.c" "$tmp/call.cpp"
    c_rc=0
    "$CC" -std=c11 -Wall -Wextra -Werror -I"$include_dir" -fsyntax-only "$tmp/call.c" \
        2>"$tmp/call.c.log" || c_rc=$?
    cxx_rc=0
    "$CXX" -x c++ -std=c++17 -Wall -Wextra -Werror -I"$include_dir" -fsyntax-only \
        "$tmp/call.cpp" 2>"$tmp/call.cpp.log" || cxx_rc=$?
    if [[ "$call" == "$right_call" ]]; then
        [[ $c_rc -eq 0 && $cxx_rc -eq 0 ]] || {
            cat "$tmp/call.c.log" "$tmp/call.cpp.log" >&2
            fail "the right call does not compile"
        }
    else
        [[ $c_rc -ne 0 ]] || fail "C accepted a swapped codec and fallback"
        [[ $cxx_rc -ne 0 ]] || fail "C++ accepted a swapped codec and fallback"
        grep -q 'enum-conversion\|implicit conversion from' "$tmp/call.c.log" ||
            fail "C refused the swapped call for another reason: $(cat "$tmp/call.c.log")"
        grep -q 'cannot convert' "$tmp/call.cpp.log" ||
            fail "C++ refused the swapped call for another reason: $(cat "$tmp/call.cpp.log")"
    fi
done
ok "a swapped codec and fallback: C -Wextra -Werror refuses it (-Wenum-conversion), C++ refuses it; the right call compiles"

# 4. The API tests.
step "tests/c/test_framecrypt.c"
link "$tests/test_framecrypt.c" "$tmp/test_framecrypt"
"$tmp/test_framecrypt" || fail "C API tests"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$tmp/test_framecrypt" >/dev/null || fail "C API tests under valgrind"
ok "C API tests pass, natively and under valgrind (no memory errors or leaks)"

# 5. Threads.
step "tests/c/test_threads.c ($THREAD_ROUNDS rounds natively, $HELGRIND_ROUNDS under helgrind)"
link "$tests/test_threads.c" "$tmp/test_threads" -pthread
"$tmp/test_threads" "$THREAD_ROUNDS" || fail "thread tests"
valgrind -q --tool=helgrind --error-exitcode=99 "$tmp/test_threads" "$HELGRIND_ROUNDS" ||
    fail "thread tests under helgrind (exit status $?)"
ok "thread tests pass natively, and helgrind finds no race"

# 6. Freed memory.
step "tests/c/test_freed_keys.c"
link "$tests/test_freed_keys.c" "$tmp/test_freed_keys" -fno-builtin
"$tmp/test_freed_keys" 2>"$tmp/freed.log" || {
    cat "$tmp/freed.log" >&2
    fail "freed-memory scan"
}
ok "no key material in any freed block"

# 7. The example.
step "example $example_src"
link "$example_src" "$tmp/encrypt_decrypt"
"$tmp/encrypt_decrypt" || fail "the example"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$tmp/encrypt_decrypt" >/dev/null || fail "the example under valgrind"
ok "example runs, natively and under valgrind"

printf 'All C API checks passed.\n'
