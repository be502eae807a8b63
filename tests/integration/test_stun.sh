#!/usr/bin/env bash
# `natdiag stun` against coturn from Debian on loopback: UDP, TCP, TLS, IPv6, the JSON
# contract, timeouts, bad input, and a server that sends garbage before the right answer.
source "$(dirname "$0")/lib.sh"
command -v turnserver >/dev/null || { echo "turnserver (coturn) is not installed: run scripts/setup.sh" >&2; exit 1; }

PORT=$(free_port)
TLS_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=natdiag-test" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
: >"$TMP/empty.conf"
spawn "$TMP/coturn.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --listening-ip ::1 \
  --listening-port "$PORT" --tls-listening-port "$TLS_PORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
  --stun-only --no-cli --no-dtls --log-file stdout --simple-log --pidfile "$TMP/turn.pid"
wait_for_text "$TMP/coturn.log" "Total General servers" 10 || wait_for_text "$TMP/coturn.log" "IPv4. TLS" 5
sleep 0.3

echo "# coturn on 127.0.0.1 and ::1 port $PORT (TLS $TLS_PORT)"
for case in "udp 127.0.0.1" "tcp 127.0.0.1" "udp ::1" "tcp ::1"; do
  set -- $case
  out=$("$NATDIAG" stun "$2" "$PORT" --transport "$1" --timeout 2); rc=$?
  check_eq "$1 $2: exit 0" 0 "$rc"
  check_contains "$1 $2: Binding test: success" "Binding test: success" "$out"
  local_addr=$(sed -n 's/^Local address: //p' <<<"$out")
  mapped=$(sed -n 's/^Mapped address: //p' <<<"$out")
  check_eq "$1 $2: mapped address is the local address and port" "$local_addr" "$mapped"
  check_contains "$1 $2: coturn's SOFTWARE shown" "Coturn" "$out"
done
out=$("$NATDIAG" stun "[::1]:$PORT"); check_contains "[::1]:PORT form works" "Binding test: success" "$out"
out=$("$NATDIAG" stun "stun:127.0.0.1:$PORT"); check_contains "stun: URI works" "Binding test: success" "$out"
out=$("$NATDIAG" stun localhost "$PORT" -4); check_contains "host name with -4 works" "Mapped address: 127.0.0.1:" "$out"

# The first three lines are stunclient's, in its order, for existing scripts.
out=$("$NATDIAG" stun 127.0.0.1 "$PORT" | head -3 | cut -d: -f1 | tr '\n' '|')
check_eq "stunclient's first three lines" "Binding test|Local address|Mapped address|" "$out"

echo "# coturn as Debian ships it: -c the stock /etc/turnserver.conf (tests/data), on other ports"
SPORT=$(free_port)
spawn "$TMP/coturn-stock.log" turnserver -c "$COTURN_STOCK_CONF" --listening-ip 127.0.0.1 --listening-ip ::1 \
  --listening-port "$SPORT" --alt-listening-port "$(free_port)" --tls-listening-port "$(free_port)" \
  --alt-tls-listening-port "$(free_port)" --no-cli --pidfile "$TMP/turn-stock.pid"
wait_for_udp_listener "$SPORT" 10
for case in "udp 127.0.0.1" "tcp 127.0.0.1" "udp ::1" "tcp ::1"; do
  set -- $case
  json=$("$NATDIAG" stun "$2" "$SPORT" --transport "$1" --timeout 2 --json); rc=$?
  check_eq "stock coturn, $1 $2: exit 0" 0 "$rc"
  check_eq "stock coturn, $1 $2: mapped = local" "$(jqv "$json" .local_address)" "$(jqv "$json" .mapped_address)"
  check_eq "stock coturn, $1 $2: no-rfc5780: no OTHER-ADDRESS, no RESPONSE-ORIGIN" "null null" \
    "$(jqv "$json" '"\(.other_address) \(.response_origin)"')"
done

echo "# TLS"
out=$("$NATDIAG" stun "stuns:127.0.0.1:$TLS_PORT" --insecure --timeout 3); rc=$?
check_eq "stuns: --insecure: exit 0" 0 "$rc"
check_contains "stuns: --insecure: success" "Binding test: success" "$out"
check_contains "stuns: shows transport tls" "over tls" "$out"
out=$("$NATDIAG" stun "stuns:127.0.0.1:$TLS_PORT" --timeout 3); rc=$?
check_eq "stuns: self-signed certificate fails verification: exit 1" 1 "$rc"
check_contains "stuns: says why" "certificate verify failed" "$out"
out=$("$NATDIAG" stun 127.0.0.1 "$TLS_PORT" --transport tls --ca-file "$TMP/cert.pem" --timeout 3); rc=$?
check_eq "--ca-file trusts the certificate (IP SAN checked): exit 0" 0 "$rc"

echo "# --json contract"
json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --json); rc=$?
check_eq "json: exit 0" 0 "$rc"
check_eq "json: schema" "natdiag/1" "$(jqv "$json" .schema)"
check_eq "json: command" "stun" "$(jqv "$json" .command)"
check_eq "json: binding" "success" "$(jqv "$json" .binding)"
check_eq "json: server.transport" "udp" "$(jqv "$json" .server.transport)"
check_eq "json: server.address" "127.0.0.1:$PORT" "$(jqv "$json" .server.address)"
check_eq "json: mapped = local" "$(jqv "$json" .local_address)" "$(jqv "$json" .mapped_address)"
check_eq "json: rtt_ms is a number" "number" "$(jqv "$json" '.rtt_ms|type')"
check_eq "json: error is null" "null" "$(jqv "$json" .error)"
CONTRACT='["server","binding","local_address","mapped_address","rtt_ms","software","other_address","response_origin","error"]'
check_eq "json: every contract field is present (null when absent)" "[]" "$(jq -c "$CONTRACT - keys" <<<"$json")"
check_eq "json: software" "true" "$(jqv "$json" '.software|startswith("Coturn")')"
json=$("$NATDIAG" stun "[::1]:$PORT" --transport tcp --json)
check_eq "json: IPv6 address format" "[::1]:$PORT" "$(jqv "$json" .server.address)"
json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --count 5 --json)
check_eq "--count 5: five attempts" "5" "$(jqv "$json" '.attempts|length')"
check_eq "--count 5: no loss" "0" "$(jqv "$json" .loss)"

echo "# failures end within --timeout"
DEAD=$(free_port)
start=$(date +%s%N); "$NATDIAG" stun 127.0.0.1 "$DEAD" --timeout 1 >/dev/null; rc=$?; ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "nothing listening (UDP): exit 1" 1 "$rc"
check "nothing listening (UDP): within the 1 s timeout (${ms} ms)" test "$ms" -lt 1500
json=$("$NATDIAG" stun 127.0.0.1 "$DEAD" --timeout 1 --json)
check_eq "nothing listening (UDP): refused by the server itself, named" "refused-by-server 127.0.0.1" \
  "$(jqv "$json" '"\(.failure) \(.refused_by)"')"
check_contains "nothing listening (UDP): the error names the sender" "from the server 127.0.0.1 itself" "$(jqv "$json" .error)"
start=$(date +%s%N); "$NATDIAG" stun 127.0.0.1 "$DEAD" --transport tcp --timeout 1 >/dev/null; rc=$?; ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "nothing listening (TCP): exit 1" 1 "$rc"
check "nothing listening (TCP): within the timeout (${ms} ms)" test "$ms" -lt 1500
DROP=$(free_port)
spawn "$TMP/drop.log" "$BUILD_DIR/stun-badserver" "$DROP" --drop
wait_for_text "$TMP/drop.log" ready
start=$(date +%s%N); out=$("$NATDIAG" stun 127.0.0.1 "$DROP" --timeout 1.5); rc=$?; ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "peer that drops everything: exit 1" 1 "$rc"
check "peer that drops everything: ends when --timeout runs out (${ms} ms, 1500 asked)" test "$ms" -ge 1450 -a "$ms" -lt 2000
check_contains "peer that drops everything: says no response" "no response within 1500 ms" "$out"

echo "# garbage before the answer is counted, not believed"
BAD=$(free_port)
spawn "$TMP/bad.log" "$BUILD_DIR/stun-badserver" "$BAD"
wait_for_text "$TMP/bad.log" ready
json=$("$NATDIAG" stun 127.0.0.1 "$BAD" --json); rc=$?
check_eq "bad server: exit 0" 0 "$rc"
check_eq "bad server: the right mapped address" "$(jqv "$json" .local_address)" "$(jqv "$json" .mapped_address)"
check_eq "bad server: wrong transaction ID counted" 1 "$(jqv "$json" .ignored_packets.unmatched)"
check_eq "bad server: truncated and overrunning packets counted" 2 "$(jqv "$json" .ignored_packets.malformed)"
out=$("$NATDIAG" stun 127.0.0.1 "$BAD")
check_contains "bad server: text output reports them" "Ignored packets: 3" "$out"

echo "# bad input: one line, exit 2"
for args in "127.0.0.1 70000" "''" "127.0.0.1 --timeout -1" "127.0.0.1 --timeout=-1" "127.0.0.1 --bogus" \
            "127.0.0.1 0" "127.0.0.1 --transport sctp" "127.0.0.1 --count 0" "-4 -6 127.0.0.1" "stuns:x --transport udp"; do
  err=$(eval "\"$NATDIAG\" stun $args" 2>&1 >/dev/null); rc=$?
  check_eq "stun $args: exit 2" 2 "$rc"
  check_lines "stun $args: one line" 1 "$err"
done
err=$("$NATDIAG" stun 127.0.0.1 70000 2>&1); check_contains "names the bad port" "'70000'" "$err"
err=$("$NATDIAG" stun 127.0.0.1 --timeout -1 2>&1); check_contains "names the bad timeout" "'-1'" "$err"
err=$("$NATDIAG" stun 127.0.0.1 --bogus 2>&1); check_contains "names the unknown flag" "bogus" "$err"
"$NATDIAG" nosuchcommand >/dev/null 2>&1; check_eq "unknown command: exit 2" 2 "$?"
out=$("$NATDIAG" --version); check_contains "--version" "natdiag 0." "$out"
out=$("$NATDIAG" stun --help); check_contains "stun --help" "--transport" "$out"
"$NATDIAG" stun 127.0.0.1 "$PORT" --local 127.0.0.1:1 >/dev/null 2>&1; rc=$?
check_eq "cannot bind --local (privileged/used port as non-owner or in use): exit 3 or success as root" "true" "$([ $rc -eq 3 ] || [ $rc -eq 0 ] && echo true)"

finish
