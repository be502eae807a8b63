#!/usr/bin/env bash
# Builds tests/fuzz/fuzz_decode.cpp with clang's libFuzzer, ASan and UBSan (no CMake), then
# fuzzes the STUN codec and the responder for SECONDS (default 60) on a copy of the seed corpus
# in build-fuzz/corpus, so tests/fuzz/corpus stays as committed.
#
#   scripts/fuzz.sh [SECONDS]
#
# Exit status: 0 no crash; 1 the fuzzer found a crash (the reproducer's path is printed; replay
# it with build-fuzz/fuzz_decode <file>); 2 bad usage or build failure; 3 clang++ missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN=${1:-60}
if ! [[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || [ "$SECONDS_TO_RUN" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (a positive whole number, default 60)" >&2
  exit 2
fi

CXX=${CXX_FUZZ:-clang++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found; run scripts/setup.sh (it installs Debian's clang, with libFuzzer)" >&2
  exit 3
fi

OUT=$PWD/build-fuzz
mkdir -p "$OUT/crashes"

# The codec (stun/proto, OpenSSL only) and the responder, which includes only stun/proto
# headers; the sockets and the server loop stay out.
echo "fuzz: building $OUT/fuzz_decode"
if ! "$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I. \
    tests/fuzz/fuzz_decode.cpp stun/proto/*.cpp stun/server/responder.cpp \
    -lcrypto -o "$OUT/fuzz_decode"; then
  echo "fuzz: build failed" >&2
  exit 2
fi

# A fresh copy of the seeds each run: new inputs libFuzzer keeps land in build-fuzz only.
rm -rf "$OUT/corpus"
mkdir -p "$OUT/corpus"
cp tests/fuzz/corpus/* "$OUT/corpus/"

LOG=$OUT/fuzz.log
echo "fuzz: running for ${SECONDS_TO_RUN}s (log: $LOG)"
status=0
"$OUT/fuzz_decode" "$OUT/corpus" \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -timeout=5 \
  -artifact_prefix="$OUT/crashes/" -print_final_stats=1 >"$LOG" 2>&1 || status=$?

# The last status line, e.g. "#123456 DONE cov: 512 ft: 2048 corp: 300/20Kb ...".
last=$(grep -E '^#[0-9]+' "$LOG" | tail -n 1 || true)
cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")

if [ "$status" -ne 0 ]; then
  # Show what went wrong: the sanitizer report or the violated property.
  grep -E 'ERROR: |runtime error: |property violated|==[0-9]+==' "$LOG" | head -n 20 >&2 || true
  artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$LOG" | tail -n 1)
  if [ -n "$artifact" ]; then
    echo "fuzz: CRASH (exit $status), reproducer: $artifact; full log: $LOG" >&2
  else
    echo "fuzz: fuzzer failed (exit $status) without a reproducer; see $LOG" >&2
  fi
  exit 1
fi

runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$LOG" | tail -n 1)
secs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$LOG" | tail -n 1)
echo "fuzz: coverage cov: ${cov:-?} ft: ${ft:-?}, corpus $(find "$OUT/corpus" -type f | wc -l) files"
echo "fuzz: ${runs:-?} runs in ${secs:-?} s, no crash"
