#!/usr/bin/env bash
# `natdiag serve` on loopback: answers natdiag and coturn's clients, RFC 5780 with two
# addresses, clean stop on SIGTERM/SIGINT, bad input exit 2, cannot bind exit 3.
source "$(dirname "$0")/lib.sh"

PORT=$(free_port)
ALT=$((PORT + 1))
# 127.0.0.1 and 127.0.0.2 are both loopback addresses on Linux: two IPs without any set-up.
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --alternate 127.0.0.2 --port "$PORT" --alt-port "$ALT"
SERVE_PID=${SPAWNED[-1]}
wait_for_text "$TMP/serve.log" "natdiag serve: ready"
check_contains "announces RFC 5780 mode" "RFC 5780" "$(cat "$TMP/serve.log")"
check_contains "listens on the four UDP sockets" "udp 127.0.0.2:$ALT" "$(cat "$TMP/serve.log")"

json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --json)
check_eq "natdiag stun: success" success "$(jqv "$json" .binding)"
check_eq "OTHER-ADDRESS is the alternate IP and port" "127.0.0.2:$ALT" "$(jqv "$json" .other_address)"
check_eq "RESPONSE-ORIGIN is the primary" "127.0.0.1:$PORT" "$(jqv "$json" .response_origin)"
check_eq "SOFTWARE" "natdiag 0.1.0" "$(jqv "$json" .software)"
json=$("$NATDIAG" stun 127.0.0.2 "$ALT" --transport tcp --json)
check_eq "TCP on the alternate socket: success" success "$(jqv "$json" .binding)"
check_eq "TCP: RESPONSE-ORIGIN is the socket asked" "127.0.0.2:$ALT" "$(jqv "$json" .response_origin)"

out=$(turnutils_stunclient -p "$PORT" 127.0.0.1 2>&1); rc=$?
check_eq "coturn's turnutils_stunclient: exit 0" 0 "$rc"
check_contains "coturn's turnutils_stunclient reads the mapped address" "UDP reflexive addr: 127.0.0.1:" "$out"
out=$(timeout 20 turnutils_natdiscovery -m -f -p "$PORT" 127.0.0.1 2>&1)
check_contains "turnutils_natdiscovery: mapping test ran against natdiag serve" "Endpoint Independent Mapping" "$out"
check_contains "turnutils_natdiscovery: filtering test ran (no NAT on loopback)" "Endpoint Independent Filtering" "$out"

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
check_eq "SIGTERM: clean exit 0" 0 "$rc"
check_contains "SIGTERM: says it stopped, with counts" "stopped after" "$(cat "$TMP/serve.log")"

echo "# one address: plain STUN"
P2=$(free_port)
spawn "$TMP/one.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$P2" --transport udp
ONE_PID=${SPAWNED[-1]}
wait_for_text "$TMP/one.log" "ready"
json=$("$NATDIAG" stun 127.0.0.1 "$P2" --json)
check_eq "one address: success" success "$(jqv "$json" .binding)"
check_eq "one address: no OTHER-ADDRESS" null "$(jqv "$json" .other_address)"
out=$(timeout 20 turnutils_natdiscovery -m -p "$P2" 127.0.0.1 2>&1)
check_contains "one address: coturn's client gets a mapped address" "UDP reflexive addr: 127.0.0.1:" "$out"
check "one address: and no OTHER-ADDRESS, so it stops there" bash -c "! grep -q 'Other addr' <<<\"\$1\"" _ "$out"
"$NATDIAG" serve --primary 127.0.0.1 --port "$P2" --transport udp >/dev/null 2>"$TMP/busy.err"; rc=$?
check_eq "port already taken: exit 3" 3 "$rc"
check_contains "port already taken: says so" "Address already in use" "$(cat "$TMP/busy.err")"
kill -INT "$ONE_PID"; wait "$ONE_PID"; rc=$?
check_eq "SIGINT: clean exit 0" 0 "$rc"

echo "# --threads: SO_REUSEPORT workers, never shared with another process"
P3=$(free_port)
spawn "$TMP/threads.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$P3" --transport udp --threads 2 --rate-limit 0
THREADS_PID=${SPAWNED[-1]}
wait_for_text "$TMP/threads.log" "ready"
json=$("$NATDIAG" stun 127.0.0.1 "$P3" --count 20 --json)
check_eq "--threads 2: 20 of 20 answered" 20 "$(jqv "$json" .responses)"
"$NATDIAG" serve --primary 127.0.0.1 --port "$P3" --transport udp --threads 2 >/dev/null 2>"$TMP/threads-busy.err"; rc=$?
check_eq "--threads 2 on a port a natdiag serve --threads already holds: exit 3" 3 "$rc"
kill -TERM "$THREADS_PID"; wait "$THREADS_PID"
check_contains "--threads 2: stops cleanly with both workers' counts" "stopped after 20 requests, 20 answered" "$(cat "$TMP/threads.log")"

echo "# --primary 0.0.0.0 given is the wildcard, as when omitted"
P4=$(free_port)
spawn "$TMP/any.log" "$NATDIAG" serve --primary 0.0.0.0 --port "$P4" --transport udp
ANY_PID=${SPAWNED[-1]}
wait_for_text "$TMP/any.log" "ready"
json=$("$NATDIAG" stun 127.0.0.2 "$P4" --json)
check_eq "--primary 0.0.0.0: a request to 127.0.0.2 is answered from 127.0.0.2 (IP_PKTINFO on)" success "$(jqv "$json" .binding)"
check_eq "--primary 0.0.0.0: no RESPONSE-ORIGIN 0.0.0.0 (none at all)" null "$(jqv "$json" .response_origin)"
kill -TERM "$ANY_PID"; wait "$ANY_PID"

echo "# bad input: one line, exit 2"
for args in "--primary 1.2.3" "--port 0" "--port 99999" "--alternate 127.0.0.2" "--primary 127.0.0.1 --alternate ::1" \
            "--primary 127.0.0.1 --alternate 127.0.0.1" "--primary 0.0.0.0 --alternate 127.0.0.2" "--threads 0" "--transport sctp" "--rate-limit -5" "--bogus" "extra"; do
  err=$(eval "\"$NATDIAG\" serve $args" 2>&1 >/dev/null); rc=$?
  check_eq "serve $args: exit 2" 2 "$rc"
  check_lines "serve $args: one line" 1 "$err"
done
finish
