#!/usr/bin/env bash
# Runs every test: builds tinyvmi, builds the real-snapshot corpus if it is
# not cached (~/.cache/tinyvmi), runs the suite, runs it again under
# ASan + UBSan, then every fuzz target briefly. Exits non-zero on any
# failure; the last line sums up.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# ctest's summary "N% tests passed, F tests failed out of T" -> "P F".
counts() { sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2 \1/p' "$log" | tail -n1; }
passed=0 failed=0
tally() {
    local t f
    read -r t f <<<"$(counts)"
    passed=$((passed + t - f)) failed=$((failed + f))
}

bash scripts/deps.sh
tests/corpus/make-corpus

echo "== build and test =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" | tee "$log"
tally

echo "== the same tests under ASan + UBSan =="
cmake -S . -B build-asan -DTVMI_SANITIZE=ON -DTVMI_BENCH=OFF \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" | tee "$log"
tally

echo "== every fuzz target briefly (libFuzzer, ASan + UBSan) =="
fuzz/run --all "${TVMI_FUZZ_SECONDS:-15}" | tee "$log"
read -r fp ff <<<"$(sed -nE 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log")"
passed=$((passed + fp)) failed=$((failed + ff))

echo "tinyvmi: $passed passed, $failed failed"
