#!/usr/bin/env bash
# Runs every fuzz target for a fixed time; .ci/run calls this. Fails (exit 1)
# if any target crashes, hangs or runs out of memory, printing the input
# that did it; prints one line per target with its number of executions.
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   targets to run, space-separated (default: all)
#   FUZZ_JOBS      targets run at once (default: the number of cores, at
#                  most 2)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang
#                  (default 30)
#   FUZZ_CORPUS    directory for the corpus the run grows (default: a
#                  temporary directory, deleted afterwards); set it to keep
#                  what a long local run found
#
# The committed seeds in fuzz/corpus/<target>/ are only read, so a run
# leaves the clone clean; crash inputs go to fuzz/artifacts/<target>/
# (ignored by git).
set -euo pipefail

# Everything is in a function so that bash has read the whole script before
# it starts: editing this file during a long run cannot derail it.
main() {
  cd "$(dirname "$0")"
  local cargo_fuzz_version=0.13.2
  local seconds="${FUZZ_SECONDS:-60}"
  local timeout="${FUZZ_TIMEOUT:-30}"

  # Nightly for the sanitizer flags; without one, stable with
  # RUSTC_BOOTSTRAP.
  local cargo
  if rustup toolchain list | grep -q '^nightly'; then
    cargo=(cargo +nightly)
  else
    cargo=(env RUSTC_BOOTSTRAP=1 cargo +stable)
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
    cargo install --locked "cargo-fuzz@$cargo_fuzz_version"
  fi

  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  local corpus_root="${FUZZ_CORPUS:-$work/corpus}"

  # The seeds are what the documented command makes of the vectors and
  # samples, and the harnesses reach the paths the seeds were built for.
  ./make-corpus.sh "$work/seeds" >/dev/null
  if ! diff -r corpus "$work/seeds" >/dev/null; then
    echo "fuzz/corpus/ is stale: run fuzz/make-corpus.sh and commit the result"
    diff -rq corpus "$work/seeds" || true
    exit 1
  fi
  if ! "${cargo[@]}" test --quiet --test seeds >"$work/seeds.log" 2>&1; then
    cat "$work/seeds.log"
    echo "fuzzing FAILED: the seed tests (fuzz/tests/seeds.rs) fail"
    exit 1
  fi
  grep -E '^test result' "$work/seeds.log" | sed 's/^/seed tests: /'

  local targets
  targets="${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list)}"
  # -a (cargo-fuzz's default, spelled out): debug assertions and overflow
  # checks, so an arithmetic overflow is a crash too. Built once here; the
  # runs below reuse the build.
  "${cargo[@]}" fuzz build -a

  # One target's run; its exit status goes to $work/<target>.status.
  fuzz_one() {
    local target=$1 seeds=() status=0
    mkdir -p "$corpus_root/$target" "artifacts/$target"
    [ -d "corpus/$target" ] && seeds=("corpus/$target")
    # cargo-fuzz points libFuzzer's -artifact_prefix at artifacts/<target>/.
    "${cargo[@]}" fuzz run -a "$target" "$corpus_root/$target" "${seeds[@]}" -- \
      -max_total_time="$seconds" -timeout="$timeout" >"$work/$target.log" 2>&1 || status=$?
    echo "$status" >"$work/$target.status"
  }

  # Targets run FUZZ_JOBS at a time (default: one per core, at most 2);
  # libFuzzer itself is single-threaded.
  local jobs="${FUZZ_JOBS:-$(nproc)}"
  [ "$jobs" -gt 2 ] && [ -z "${FUZZ_JOBS:-}" ] && jobs=2
  local target running=0
  for target in $targets; do
    if [ "$running" -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
    fuzz_one "$target" &
    running=$((running + 1))
  done
  wait || true

  local failed=() status runs last log
  for target in $targets; do
    log="$work/$target.log"
    status="$(cat "$work/$target.status" 2>/dev/null || echo missing)"
    runs="$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$log" | tail -1)"
    if [ "$status" != 0 ] || [ -z "$runs" ]; then
      last="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
      printf '%-16s FAILED after %s executions (exit %s)\n' "$target" "${last:-0}" "$status"
      echo "----- $target: what failed -----"
      grep -m1 -A4 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' "$log" || true
      echo "----- $target: end of the log -----"
      tail -n 12 "$log"
      echo "-----"
      grep -hoE 'Test unit written to [^ ]+' "$log" | sed 's/^Test unit written to /crash input: /' || true
      failed+=("$target")
    else
      printf '%-16s %12s executions in %s s\n' "$target" "$runs" "$seconds"
    fi
  done

  if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing FAILED: ${failed[*]}"
    exit 1
  fi
  echo "fuzzing: all targets ran ${seconds} s without a crash"
}

main "$@"
