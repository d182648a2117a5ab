#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Installs the C library as a user would (cargo cinstall, into temporary
# prefixes) and builds against it with nothing but pkg-config:
#
#   - what is installed: libframecrypt.so with its SONAME and only
#     framecrypt_* exported; libframecrypt.a, then with only framecrypt_*
#     global after ffi/hide-static-symbols.sh; framecrypt.h (the committed
#     header, its version macros the crate's version); framecrypt.pc; the
#     CMake package config;
#   - the C example and the C API tests, linked shared and static;
#   - the C++17 FrameTransformer-style wrapper (examples/frame_transformer.cpp)
#     with -Wall -Wextra -Werror and AddressSanitizer + UBSan, linked
#     shared and static, and without sanitizers under valgrind;
#   - a second Rust static library linked beside libframecrypt.a with
#     --whole-archive: thousands of duplicate symbols before hiding, none
#     after;
#   - the CMake example (find_package and pkg_check_modules).
#
# Needs cargo-c (cargo cinstall), gcc, g++, pkg-config, valgrind, cmake,
# GNU binutils. Usage: bash ffi/check-install.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/framecrypt-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
step() { printf '==> %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}
global_defined() { # the globally defined symbols of an ELF file
    readelf -sW "$1" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 != "" {print $8}'
}

version="$(cargo metadata --format-version 1 --no-deps |
    grep -o '"name":"framecrypt-ffi","version":"[^"]*"' | sed 's/.*"version":"\([^"]*\)"/\1/')"
IFS=. read -r major minor patch <<<"$version"

# 1. Install: shared and static into one prefix, static only into another
#    (where -lframecrypt can only mean the static library).
step "cargo cinstall -p framecrypt-ffi (framecrypt $version)"
prefix="$tmp/prefix"
static_prefix="$tmp/static-prefix"
cargo cinstall -p framecrypt-ffi --release --prefix "$prefix" --libdir lib 2>&1 | tail -n 4
cargo cinstall -p framecrypt-ffi --release --library-type staticlib --prefix "$static_prefix" \
    --libdir lib 2>&1 | tail -n 1
(cd "$prefix" && find . -type f -o -type l | sort | sed 's|^\./|  installed: |')

# 2. What was installed.
step "the installed files"
cmp "$prefix/include/framecrypt.h" ffi/include/framecrypt.h ||
    fail "the installed header is not ffi/include/framecrypt.h"
for part in "MAJOR $major" "MINOR $minor" "PATCH $patch"; do
    grep -q "^#define FRAMECRYPT_VERSION_$part\$" "$prefix/include/framecrypt.h" ||
        fail "framecrypt.h: FRAMECRYPT_VERSION_${part% *} is not ${part#* }"
done
grep -q "set(PACKAGE_VERSION \"$version\")" "$prefix/share/cmake/framecrypt/framecrypt-config-version.cmake" ||
    fail "the CMake version file is not at $version"
soname="$(readelf -d "$prefix/lib/libframecrypt.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
[[ "$soname" == "libframecrypt.so.$major.$minor" ]] || fail "SONAME is '$soname'"
exported="$(readelf --dyn-syms -W "$prefix/lib/libframecrypt.so" |
    awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $8 != "" {print $8}')"
others="$(grep -v '^framecrypt_' <<<"$exported" || true)"
[[ -z "$others" ]] || fail "the shared library exports more than framecrypt_*: $others"
ok "header = ffi/include/framecrypt.h, version macros $major.$minor.$patch; SONAME $soname; the shared library exports $(wc -l <<<"$exported") symbols, all framecrypt_*"

static_lib="$prefix/lib/libframecrypt.a"
cp "$static_lib" "$tmp/libframecrypt-unhidden.a"
before="$(global_defined "$static_lib" | wc -l)"
ffi/hide-static-symbols.sh "$static_lib" >/dev/null
ffi/hide-static-symbols.sh "$static_prefix/lib/libframecrypt.a" >/dev/null
ok "static library: $before global symbols as cargo built it; after ffi/hide-static-symbols.sh: $(global_defined "$static_lib" | wc -l), all framecrypt_*"

# 3. Build with pkg-config only, shared and static, and run.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags="$(pkg-config --cflags framecrypt)"
libs="$(pkg-config --libs framecrypt)"
static_cflags="$(PKG_CONFIG_PATH="$static_prefix/lib/pkgconfig" pkg-config --cflags framecrypt)"
static_libs="$(PKG_CONFIG_PATH="$static_prefix/lib/pkgconfig" pkg-config --libs --static framecrypt)"
echo "pkg-config --cflags --libs framecrypt: $cflags $libs"
echo "pkg-config --cflags --libs --static framecrypt (static-only prefix): $static_cflags $static_libs"
run_shared() { LD_LIBRARY_PATH="$prefix/lib" "$@"; }
build_c() { # build_c SOURCE NAME
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -O1 $cflags "$1" $libs -pthread -o "$tmp/$2-shared" ||
        fail "$1, shared"
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -O1 $static_cflags "$1" $static_libs -pthread \
        -o "$tmp/$2-static" || fail "$1, static"
    local deps
    deps="$(LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/$2-shared")"
    grep -q "libframecrypt.so.$major.$minor => $prefix/lib/" <<<"$deps" ||
        fail "$2-shared does not load $prefix/lib/libframecrypt.so.$major.$minor: $deps"
    deps="$(ldd "$tmp/$2-static")"
    if grep -q libframecrypt <<<"$deps"; then fail "$2-static loads libframecrypt"; fi
}

step "C: the example and the API tests, shared and static"
build_c ffi/examples/encrypt_decrypt.c example
build_c ffi/tests/c/test_framecrypt.c api_tests
run_shared "$tmp/example-shared" >/dev/null || fail "example, shared"
"$tmp/example-static" || fail "example, static"
run_shared "$tmp/api_tests-shared" >/dev/null || fail "C API tests, shared"
"$tmp/api_tests-static" | tail -n 1 || fail "C API tests, static"
ok "the example and the C API tests run, linked shared and static"

step "C++17 FrameTransformer-style wrapper, shared and static, sanitizers and valgrind"
cxxflags=(-std=c++17 -Wall -Wextra -Werror -O1 -g)
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all)
# shellcheck disable=SC2086
"$CXX" "${cxxflags[@]}" "${sanitize[@]}" $cflags ffi/examples/frame_transformer.cpp $libs -pthread \
    -o "$tmp/transformer-shared" || fail "the wrapper, shared"
# shellcheck disable=SC2086
"$CXX" "${cxxflags[@]}" "${sanitize[@]}" $static_cflags ffi/examples/frame_transformer.cpp \
    $static_libs -pthread -o "$tmp/transformer-static" || fail "the wrapper, static"
# shellcheck disable=SC2086
"$CXX" "${cxxflags[@]}" $static_cflags ffi/examples/frame_transformer.cpp $static_libs -pthread \
    -o "$tmp/transformer-valgrind" || fail "the wrapper, for valgrind"
run_shared "$tmp/transformer-shared" || fail "the wrapper (shared, sanitizers)"
"$tmp/transformer-static" >/dev/null || fail "the wrapper (static, sanitizers)"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$tmp/transformer-valgrind" >/dev/null || fail "the wrapper under valgrind"
ok "the wrapper runs with ASan+UBSan (shared and static) and clean under valgrind"

step "a second Rust static library beside libframecrypt.a"
rustc --edition 2024 -O --crate-type staticlib ffi/tests/c/other_rust_lib.rs -o "$tmp/libother.a"
printf '#include <framecrypt.h>\n#include <stdio.h>\nsize_t other_rust_lib_len(uint32_t n);\nint main(void) { printf("framecrypt %%s beside another Rust library (%%zu)\\n", framecrypt_version(), other_rust_lib_len(7)); return 0; }\n' \
    >"$tmp/two_libs.c"
link_two() { # link_two LIBFRAMECRYPT OUTPUT
    # shellcheck disable=SC2086
    "$CC" $static_cflags "$tmp/two_libs.c" -Wl,--whole-archive "$1" "$tmp/libother.a" \
        -Wl,--no-whole-archive $(pkg-config --libs-only-l --static framecrypt | sed 's/-lframecrypt//') \
        -o "$2" 2>"$2.log"
}
if link_two "$tmp/libframecrypt-unhidden.a" "$tmp/two_unhidden"; then
    fail "the unhidden static library linked beside another Rust library: the check proves nothing"
fi
echo "as cargo built it: $(grep -c 'multiple definition' "$tmp/two_unhidden.log") multiple definitions"
link_two "$static_lib" "$tmp/two_hidden" || { cat "$tmp/two_hidden.log" >&2; fail "hidden, beside another Rust library"; }
"$tmp/two_hidden" || fail "two Rust libraries"
ok "after hiding: links and runs beside another Rust static library (--whole-archive)"

step "CMake: find_package(framecrypt) and pkg_check_modules"
command -v cmake >/dev/null || fail "cmake not found"
cmake -S ffi/examples/cmake -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; fail "cmake configure"; }
cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "cmake build"; }
for exe in example_shared example_static example_pkgconfig; do
    run_shared "$tmp/cmake/$exe" >/dev/null || fail "cmake: $exe"
done
ok "CMake targets framecrypt::framecrypt, framecrypt::framecrypt_static and PkgConfig::FRAMECRYPT build and run"
