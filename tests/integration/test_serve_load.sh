#!/usr/bin/env bash
# `natdiag serve --threads 2` under load, UDP and TCP at once (scripts/test.sh also runs this
# under ThreadSanitizer): one source floods from 8 sockets (spread over both workers by
# SO_REUSEPORT), another asks politely, TCP clients and an RFC 5780 discovery run meanwhile.
# The per-source limit is one limit shared by the threads, not one per thread. Loopback only.
source "$(dirname "$0")/lib.sh"
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }

PORT=$(free_port)
ALT=$((PORT + 1))
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --alternate 127.0.0.2 --port "$PORT" --alt-port "$ALT" \
  --threads 2 --rate-limit 200
SERVE_PID=${SPAWNED[-1]}
wait_for_text "$TMP/serve.log" "natdiag serve: ready" 20

"$BUILD_DIR/stun-load" 127.0.0.1 "$PORT" --seconds 3 --sockets 8 --window 64 >"$TMP/load.out" &
LOAD=$!
"$BUILD_DIR/stun-abuse" probe 127.0.0.1 "$PORT" --rate 50 --seconds 3 --local 127.0.0.3 >"$TMP/probe.out" &
PROBE=$!
tcp_ok=0
for i in 1 2 3 4 5; do
  json=$("$NATDIAG" stun 127.0.0.2 "$ALT" --transport tcp --local 127.0.0.4 --timeout 2 --json)
  [ "$(jqv "$json" .binding)" = success ] && tcp_ok=$((tcp_ok + 1))
done
nat=$("$NATDIAG" nat 127.0.0.1:"$PORT" --local 127.0.0.5 --timeout 2 --json)
wait "$LOAD" "$PROBE"
load=$(cat "$TMP/load.out")
probe=$(cat "$TMP/probe.out")
check_eq "TCP clients during the load: 5 of 5" 5 "$tcp_ok"
check_eq "RFC 5780 discovery during the load: mapping measured" direct "$(jqv "$nat" .mapping)"
check "a polite source during the load: >= 90% answered ($probe)" \
  awk -v p="$(field percent "$probe")" 'BEGIN { exit !(p >= 90) }'
# 200/s for ~3 s plus a burst of 200: about 800 in all, whichever thread each packet reached.
# A limiter per thread would let about twice that through.
check "the flooding source got one limit, not one per thread ($load)" \
  awk -v a="$(field answered "$load")" 'BEGIN { exit !(a > 0 && a <= 1100) }'

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
check_eq "SIGTERM after the load: clean exit 0" 0 "$rc"
check_contains "stops with its counts" "stopped after" "$(cat "$TMP/serve.log")"
finish
