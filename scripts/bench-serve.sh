#!/usr/bin/env bash
# Binding responses per second: natdiag serve vs coturn --stun-only, on the same machine and
# load. Each server is pinned to CPU 0 (one core), the load generator (build/stun-load: closed
# loop, batched) to CPU 1. Loopback only; each run is bounded (SECONDS, default 5).
# design.md target: natdiag serve >= 2x coturn (reference here: coturn ~95 k/s, stuntman ~150 k/s).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/natdiag ] && [ -x build/stun-load ] || scripts/setup.sh >/dev/null
SECONDS_PER_RUN=${1:-5}
command -v turnserver >/dev/null || { echo "bench-serve: coturn missing: run scripts/setup.sh" >&2; exit 3; }
[ "$(nproc)" -ge 2 ] || echo "bench-serve: warning: fewer than 2 cores, server and load share one" >&2

TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

load() {  # load PORT -> prints the answered rate
  taskset -c 1 build/stun-load 127.0.0.1 "$1" --seconds "$SECONDS_PER_RUN" --sockets 16 --window 128 | tee -a "$TMP/load.log" |
    awk '{for (i = 1; i < NF; i++) if ($i == "rate") print $(i + 1)}'
}

PORT=34780
taskset -c 0 build/natdiag serve --primary 127.0.0.1 --port "$PORT" --transport udp --rate-limit 0 >"$TMP/natdiag.log" 2>&1 &
PIDS+=($!)
sleep 0.5
natdiag_rate=$(load "$PORT")
kill "${PIDS[-1]}"

: >"$TMP/empty.conf"
CPORT=34790
taskset -c 0 turnserver -c "$TMP/empty.conf" --stun-only --no-cli --no-tls --no-dtls --listening-ip 127.0.0.1 \
  --listening-port "$CPORT" --relay-threads 1 --log-file stdout --simple-log --no-stdout-log >"$TMP/coturn.log" 2>&1 &
PIDS+=($!)
sleep 1
coturn_rate=$(load "$CPORT")

ratio=$(awk -v a="$natdiag_rate" -v b="$coturn_rate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
printf '%-34s %12s\n' "server (one core, UDP, loopback)" "answers/s"
printf '%-34s %12.0f\n' "natdiag serve" "$natdiag_rate"
printf '%-34s %12.0f\n' "coturn --stun-only (Debian 4.6.1)" "$coturn_rate"
echo "ratio natdiag/coturn: ${ratio}x (target >= 2x; reference on a 2-core machine: coturn ~95 k/s, stuntman ~150 k/s)"
