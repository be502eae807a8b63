#!/usr/bin/env bash
# The whole suite: set-up and build, the .deb, unit tests, integration tests against coturn, the
# abuse tests, lab tests in network namespaces (need root), the package installed into a scratch
# root; then natdiag built with ASan+UBSan running the unit, integration, abuse, CLI-contract and
# the serve, nat, ports and profile lab tests, `serve --threads 2` under load with TSan, and a short fuzzing run. Any sanitizer report
# fails the suite.
#   FUZZ_SECONDS=60 (default) sets the fuzzing budget; 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# A Release build of its own, configured for /usr: built here, outside ctest's timeouts; the
# `package` test then installs the .deb into a scratch root.
echo "== the Debian package (scripts/package.sh)"
scripts/package.sh | tail -n 3

# Lab tests killed by a timeout cannot clean up after themselves: start from a clean slate.
if [ "$(id -u)" -eq 0 ]; then scripts/natlab.sh down --all || true; fi

echo "== the web page's JavaScript tools (eslint, puppeteer-core: tests/web/package-lock.json)"
(cd tests/web && npm ci --no-audit --no-fund) || echo "npm ci failed: web_lint and lab_web will be skipped" >&2

echo "== unit, integration and lab tests (ctest)"
ctest --test-dir build --output-on-failure --timeout 900

# Sanitizer reports go to files (log_path), so that one from a server running in the background
# of a shell test, or inside a lab namespace, fails the suite as surely as one in the foreground.
SAN_LOGS=$(mktemp -d /tmp/natdiag-sanitizers.XXXXXX)
# ccache, when installed, makes the sanitizer builds cheap to repeat; only the targets the
# tests run are built.
CCACHE=(); if command -v ccache >/dev/null; then CCACHE=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
sanitizer_reports() {
  if compgen -G "$SAN_LOGS/*" >/dev/null; then
    echo "== sanitizer reports:"; for f in "$SAN_LOGS"/*; do echo "--- $f"; head -60 "$f"; done
    return 1
  fi
}

echo "== natdiag under AddressSanitizer and UndefinedBehaviorSanitizer: unit, integration, abuse, the contract, config check, lab serve, nat, ports, profile, janus"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNATDIAG_SANITIZE=ON -DNATDIAG_BENCH=OFF "${CCACHE[@]}" >/dev/null
cmake --build build-asan --target natdiag natdiag-tests stun-load stun-badserver stun-abuse
rc=0
(
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$SAN_LOGS/asan"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN_LOGS/ubsan"
  build-asan/tests/natdiag-tests
  ctest --test-dir build-asan -R '^(stun_coturn|serve|serve_load|abuse|cli_contract|config_check|config_servers|lab_serve|lab_nat|lab_ports|lab_profile|lab_config_janus)$' --output-on-failure --timeout 900
) || rc=$?
sanitizer_reports || rc=1
[ "$rc" -eq 0 ]

echo "== natdiag serve --threads 2 under load, under ThreadSanitizer"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNATDIAG_TSAN=ON -DNATDIAG_BENCH=OFF "${CCACHE[@]}" >/dev/null
cmake --build build-tsan --target natdiag stun-load stun-abuse
(
  export TSAN_OPTIONS="halt_on_error=1:log_path=$SAN_LOGS/tsan"
  ctest --test-dir build-tsan -R '^serve_load$' --output-on-failure --timeout 300
) || rc=$?
sanitizer_reports || rc=1
[ "$rc" -eq 0 ]
rm -rf "$SAN_LOGS"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "== fuzzing the decoder and responder for ${FUZZ_SECONDS} s"
  scripts/fuzz.sh "$FUZZ_SECONDS"
fi
echo "== all tests passed"
