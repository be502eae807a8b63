#!/usr/bin/env bash
# The whole suite: set-up and build, unit tests (also under ASan+UBSan), integration tests
# against coturn, lab tests in network namespaces (need root), and a short fuzzing run.
#   FUZZ_SECONDS=60 (default) sets the fuzzing budget; 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# Lab tests killed by a timeout cannot clean up after themselves: start from a clean slate.
if [ "$(id -u)" -eq 0 ]; then scripts/natlab.sh down --all || true; fi

echo "== the web page's JavaScript tools (eslint, puppeteer-core: tests/web/package-lock.json)"
(cd tests/web && npm ci --no-audit --no-fund) || echo "npm ci failed: web_lint and lab_web will be skipped" >&2

echo "== unit, integration and lab tests (ctest)"
ctest --test-dir build --output-on-failure --timeout 900

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNATDIAG_SANITIZE=ON -DNATDIAG_BENCH=OFF >/dev/null
cmake --build build-asan --target natdiag-tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/natdiag-tests

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "== fuzzing the decoder and responder for ${FUZZ_SECONDS} s"
  scripts/fuzz.sh "$FUZZ_SECONDS"
fi
echo "== all tests passed"
