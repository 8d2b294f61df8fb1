#!/usr/bin/env bash
# Runs every test: builds tinyvmi, builds the real-snapshot corpus if it is
# not cached (~/.cache/tinyvmi), runs the suite, then the suite again under
# ASan + UBSan. Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

bash scripts/deps.sh
tests/corpus/make-corpus

echo "== build and test =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== the same tests under ASan + UBSan =="
cmake -S . -B build-asan -DTVMI_SANITIZE=ON -DTVMI_BENCH=OFF \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== every fuzz target briefly (libFuzzer, ASan + UBSan) =="
fuzz/run --all "${TVMI_FUZZ_SECONDS:-15}"
