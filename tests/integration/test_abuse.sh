#!/usr/bin/env bash
# `natdiag serve` and the clients under abuse, on loopback only (127.0.0.0/8 gives a test many
# source addresses without any set-up): floods, slowloris, a source whose rate-limit slot
# collided with a victim's, truncated and oversized datagrams, a hostile TCP server. Every
# generator is bounded in packets and seconds (build/stun-abuse, build/stun-badserver).
source "$(dirname "$0")/lib.sh"
[ -n "${KEEP_LOG:-}" ] && trap 'cp "$TMP/serve.log" "$KEEP_LOG"; cleanup' EXIT
ABUSE="$BUILD_DIR/stun-abuse"
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }

PORT=$(free_port)
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$PORT"
wait_for_text "$TMP/serve.log" "natdiag serve: ready"

echo "# TCP: the poll loop serves a connection accepted in the same round (was an out-of-bounds read)"
for i in 1 2 3; do
  json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --transport tcp --json)
  check_eq "TCP binding $i: success" success "$(jqv "$json" .binding)"
done

echo "# malformed flood from 127.0.0.2 while 127.0.0.3 asks"
"$ABUSE" flood 127.0.0.1 "$PORT" --kind malformed --count 100000 --rate 5000 --seconds 4 --local 127.0.0.2 >"$TMP/flood.out" &
FLOOD=$!
out=$("$ABUSE" probe 127.0.0.1 "$PORT" --rate 50 --seconds 3 --local 127.0.0.3)
wait "$FLOOD"
check "malformed flood: the legitimate client got >= 90% answered ($out; flood: $(cat "$TMP/flood.out"))" \
  awk -v p="$(field percent "$out")" 'BEGIN { exit !(p >= 90) }'
check_eq "malformed flood: nothing answered to the flood" 0 "$(field answered "$(cat "$TMP/flood.out")")"

echo "# truncated and oversized datagrams are refused as too large, never answered in part"
out=$("$ABUSE" flood 127.0.0.1 "$PORT" --kind truncated --count 50 --seconds 2 --local 127.0.0.4)
check_eq "65,000-byte datagrams with a valid 2,048-byte request in front: none answered" 0 "$(field answered "$out")"
P5=$(free_port)
spawn "$TMP/attrs.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$P5" --transport udp
wait_for_text "$TMP/attrs.log" "natdiag serve: ready"
out=$("$ABUSE" flood 127.0.0.1 "$P5" --kind many-attributes --count 5 --seconds 2 --local 127.0.0.4)
check_eq "a request with 40 attributes: not answered" 0 "$(field answered "$out")"
check "a request with 40 attributes: counted and logged as too large, not as malformed" \
  wait_for_text "$TMP/attrs.log" "refused 5 too-large packets" 3

echo "# a flood from 127.1.17.89, whose rate-limit slot used to be 127.0.0.3's, while 127.0.0.3 asks"
"$ABUSE" flood 127.0.0.1 "$PORT" --kind binding --count 200000 --rate 10000 --seconds 4 --local 127.1.17.89 >"$TMP/collide.out" &
FLOOD=$!
out=$("$ABUSE" probe 127.0.0.1 "$PORT" --rate 50 --seconds 3 --local 127.0.0.3)
wait "$FLOOD"
flood=$(cat "$TMP/collide.out")
check "colliding flood: the victim got >= 90% answered ($out)" \
  awk -v p="$(field percent "$out")" 'BEGIN { exit !(p >= 90) }'
check "colliding flood: the flooder itself was limited ($flood)" \
  awk -v a="$(field answered "$flood")" 'BEGIN { exit !(a > 0 && a < 2000) }'

echo "# slowloris from 127.0.0.2 (300 connections, a byte every 500 ms) while 127.0.0.3 uses TCP"
"$ABUSE" slowloris 127.0.0.1 "$PORT" --connections 300 --seconds 6 --local 127.0.0.2 >"$TMP/slow.out" &
SLOW=$!
"$ABUSE" idle 127.0.0.1 "$PORT" --connections 5 --seconds 6 --local 127.0.0.5 >"$TMP/idle.out" &
IDLE=$!
wait_for_text "$TMP/slow.out" connected 5
for i in 1 2 3; do
  sleep 0.5
  json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --transport tcp --local 127.0.0.3 --timeout 1 --json)
  check_eq "slowloris: another source's TCP binding succeeds (try $i, $(head -1 "$TMP/slow.out"))" success "$(jqv "$json" .binding)"
done
wait "$SLOW" "$IDLE"
check_eq "slowloris: every connection shed within 6 s (request deadline 3 s)" 0 "$(field open_at_end "$(cat "$TMP/slow.out")")"
out=$(cat "$TMP/idle.out")
check_eq "idle connections (no byte sent): all 5 closed by the server ($out)" 5 "$(field closed "$out")"
check "serve logs the connections it closed, one line per reason" \
  grep -qE "closed [0-9]+ TCP connections \((a request begun and not finished in time|quiet past the deadline)\)" "$TMP/serve.log"
check "serve logs stay short under abuse ($(grep -c . "$TMP/serve.log") lines)" test "$(grep -c . "$TMP/serve.log")" -lt 20
check "serve is still running" kill -0 "${SPAWNED[0]}"

echo "# a hostile TCP server: what UDP would refuse is refused on TCP too, and the error says what came"
BAD=$(free_port)
spawn "$TMP/bad1.log" "$BUILD_DIR/stun-badserver" "$BAD" --tcp echo,indication,bad-fingerprint,wrong-id
wait_for_text "$TMP/bad1.log" ready
out=$("$NATDIAG" stun 127.0.0.1 "$BAD" --transport tcp --timeout 1); rc=$?
check_eq "echoed request, indication, bad FINGERPRINT, wrong ID: exit 1" 1 "$rc"
check "no mapped address from them" bash -c "! grep -q '6.6.6.6' <<<\"\$1\"" _ "$out"
check_contains "the error says messages were refused, and the first one" "4 messages from the server refused (first: a STUN request" "$out"
check_contains "the Ignored packets line counts the request and the indication" "2 not a response" "$out"
json=$("$NATDIAG" stun 127.0.0.1 "$BAD" --transport tcp --timeout 1 --json)
check_eq "--json: 2 not a response" 2 "$(jqv "$json" .ignored_packets.not_a_response)"
check_eq "--json: bad FINGERPRINT counted as malformed" 1 "$(jqv "$json" .ignored_packets.malformed)"
BAD2=$(free_port)
spawn "$TMP/bad2.log" "$BUILD_DIR/stun-badserver" "$BAD2" --tcp huge
wait_for_text "$TMP/bad2.log" ready
out=$("$NATDIAG" stun 127.0.0.1 "$BAD2" --transport tcp --timeout 1); rc=$?
check_eq "a 64 KiB response: exit 1" 1 "$rc"
check_contains "a 64 KiB response: says why it was refused" "too many attributes" "$out"
BAD3=$(free_port)
spawn "$TMP/bad3.log" "$BUILD_DIR/stun-badserver" "$BAD3" --tcp echo,good
wait_for_text "$TMP/bad3.log" ready
out=$("$NATDIAG" stun 127.0.0.1 "$BAD3" --transport tcp); rc=$?
check_eq "an echo, then the answer: exit 0" 0 "$rc"
check_contains "an echo, then the answer: the text line counts the echo" "Ignored packets: 1 (0 malformed, 0 with an unknown transaction ID, 0 from the wrong address, 0 duplicates, 1 not a response)" "$out"

echo "# the default --primary 0.0.0.0 answers from the address the request came to"
P2=$(free_port)
spawn "$TMP/wild.log" "$NATDIAG" serve --port "$P2"
wait_for_text "$TMP/wild.log" "natdiag serve: ready"
for ip in 127.0.0.1 127.0.0.2 127.0.0.9; do
  json=$("$NATDIAG" stun "$ip" "$P2" --timeout 1 --json)
  check_eq "wildcard server asked at $ip over UDP: success" success "$(jqv "$json" .binding)"
done

echo "# SOFTWARE: capped at start-up, and an answer with the longest one always goes out"
long=$(printf 'x%.0s' $(seq 1 128))
err=$(timeout 3 "$NATDIAG" serve --port "$(free_port)" --software "$long" 2>&1 >/dev/null); rc=$?
check_eq "--software of 128 bytes: exit 2" 2 "$rc"
check_lines "--software of 128 bytes: one line" 1 "$err"
check_contains "--software of 128 bytes: names the limit" "at most 127" "$err"
P3=$(free_port)
spawn "$TMP/soft.log" "$NATDIAG" serve --primary 127.0.0.1 --alternate 127.0.0.2 --port "$P3" --alt-port "$((P3 + 1))" --software "${long:0:127}"
wait_for_text "$TMP/soft.log" "natdiag serve: ready"
for t in udp tcp; do
  json=$("$NATDIAG" stun 127.0.0.1 "$P3" --transport "$t" --timeout 1 --json)
  check_eq "127-byte SOFTWARE, RFC 5780 server, $t: success" success "$(jqv "$json" .binding)"
  check_eq "127-byte SOFTWARE, $t: sent whole" 127 "$(jqv "$json" '.software | length')"
done
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  # Two IPv6 addresses need a network namespace of this test's own (nothing outside it changes).
  out=$(timeout 30 unshare -n bash -c '
    ip link set lo up && ip addr add 2001:db8::10/128 dev lo nodad && ip addr add 2001:db8::11/128 dev lo nodad || exit 9
    "$1" serve --primary 2001:db8::10 --alternate 2001:db8::11 --port 3478 --software "natdiag test software with 33 chars" >/dev/null 2>&1 &
    S=$!; sleep 0.5
    "$1" stun 2001:db8::10 --timeout 1 --json | jq -r .binding
    "$1" nat 2001:db8::10 --timeout 1 --json | jq -r .mapping
    kill $S; wait $S' _ "$NATDIAG")
  check_eq "IPv6 RFC 5780 server with a 33-character SOFTWARE: stun succeeds, nat gets a mapping" \
    "success direct" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
else
  echo "  (IPv6 SOFTWARE check skipped: needs root for a network namespace)"
fi

echo "# natdiag nat that cannot bind its test sockets exits 3, never crashes at exit"
H=$(shuf -i 42000-48000 -n 1)
spawn "$TMP/hold1.log" "$BUILD_DIR/stun-badserver" "$H" --drop
spawn "$TMP/hold2.log" "$BUILD_DIR/stun-badserver" "$((H + 1))" --drop
spawn "$TMP/hold3.log" "$BUILD_DIR/stun-badserver" "$((H + 2))" --drop
wait_for_text "$TMP/hold1.log" ready && wait_for_text "$TMP/hold2.log" ready && wait_for_text "$TMP/hold3.log" ready
codes=""
for i in $(seq 1 10); do
  "$NATDIAG" nat "127.0.0.1:$PORT" --local-ports "$H-$((H + 2))" --timeout 1 >/dev/null 2>&1
  codes="$codes$? "
done
check_eq "ports held: exit 3 ten times out of ten" "3 3 3 3 3 3 3 3 3 3 " "$codes"
if command -v strace >/dev/null; then
  # The crash was a race (the TCP-check thread in libcrypto while exit() tore it down); strace
  # shows the cause every time: a thread still alive at exit_group. Every thread must end first.
  alive=0
  for i in 1 2 3; do
    # LeakSanitizer cannot run under ptrace: an ASan build checks leaks everywhere else.
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -e trace=exit,exit_group -o "$TMP/strace.$i" \
      "$NATDIAG" nat "127.0.0.1:$PORT" --local-ports "$H-$((H + 2))" --timeout 1 >/dev/null 2>&1
    [ "$(grep -o 'exit[_a-z]*(' "$TMP/strace.$i" | tr -d '\n')" = "exit(exit_group(" ] || alive=$((alive + 1))
  done
  check_eq "ports held: the TCP-check thread has ended before the process exits (3 runs under strace)" 0 "$alive"
fi

kill -TERM "${SPAWNED[0]}"; wait "${SPAWNED[0]}"; rc=$?
check_eq "serve: clean exit 0 after all of it" 0 "$rc"
finish
