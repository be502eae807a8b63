#!/usr/bin/env bash
# `natdiag turn` against coturn from Debian on loopback: UDP, TCP and TLS (--insecure and
# --ca-file), the relay round trips, nothing left allocated (coturn's own log), wrong password,
# no credentials, TURN REST, a server answering 400 to the authenticated retry (issue 10
# defect 3, also through `natdiag ice`), a 401 with an over-long REALM, a coturn that refuses
# private peers (relay untested, not broken), nothing listening, the audit, the JSON contract and
# bad input.
source "$(dirname "$0")/lib.sh"
command -v turnserver >/dev/null || { echo "turnserver (coturn) is not installed: run scripts/setup.sh" >&2; exit 1; }

PORT=$(free_port)
TLS_PORT=$(free_port)
REST_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=natdiag-test" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=natdiag-soon" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/key-soon.pem" -out "$TMP/cert-soon.pem" 2>/dev/null
: >"$TMP/empty.conf"
# Loopback peers allowed: natdiag's own peer socket is on 127.0.0.1 here.
spawn "$TMP/coturn.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
  --listening-port "$PORT" --tls-listening-port "$TLS_PORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
  --no-cli --no-dtls --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --allow-loopback-peers \
  --log-file stdout --simple-log -v --pidfile "$TMP/turn.pid"
spawn "$TMP/coturn-rest.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
  --listening-port "$REST_PORT" --no-tls --no-cli --no-dtls --use-auth-secret --static-auth-secret northwind \
  --realm natdiag.test --allow-loopback-peers --log-file stdout --simple-log --pidfile "$TMP/turn-rest.pid"
wait_for_text "$TMP/coturn.log" "Total General servers" 10
wait_for_text "$TMP/coturn-rest.log" "Total General servers" 10
sleep 0.3

turn() {  # turn ARGS...: natdiag turn --json; sets $json and $rc
  json=$("$NATDIAG" turn "$@" --json); rc=$?
}

echo "# coturn on 127.0.0.1:$PORT (TLS $TLS_PORT): UDP, TCP, TLS with --insecure"
turn 127.0.0.1:"$PORT" --tls-port "$TLS_PORT" --user natdiag --password secretpw --insecure
check_eq "bare host: exit 0" 0 "$rc"
check_eq "schema and command first" '["schema","command"]' "$(jq -c 'keys_unsorted[0:2]' <<<"$json")"
check_eq "bare host: UDP, TCP on PORT and TLS on --tls-port" \
  "turn:127.0.0.1:$PORT?transport=udp turn:127.0.0.1:$PORT?transport=tcp turns:127.0.0.1:$TLS_PORT?transport=tcp" \
  "$(jq -r '[.uris[].uri] | join(" ")' <<<"$json")"
check_eq "every URI working" "true true true" "$(jq -r '[.uris[].working] | map(tostring) | join(" ")' <<<"$json")"
check_eq "verdict ok" ok "$(jqv "$json" .verdict)"
check_eq "every URI: relay in 127.0.0.1" "127.0.0.1" "$(jq -r '[.uris[].relayed_address | split(":")[0]] | unique | join(",")' <<<"$json")"
check_eq "every URI: Send/Data round trips 10/10" "10/10 10/10 10/10" \
  "$(jq -r '[.uris[].relay.send_data | "\(.received)/\(.sent)"] | join(" ")' <<<"$json")"
check_eq "every URI: ChannelData round trips 10/10" "10/10 10/10 10/10" \
  "$(jq -r '[.uris[].relay.channel_data | "\(.received)/\(.sent)"] | join(" ")' <<<"$json")"
check_eq "every URI: RTT numbers" true "$(jqv "$json" '[.uris[].relay[] | .rtt_avg_ms | type == "number"] | all')"
check_eq "every URI: released (Refresh LIFETIME 0)" "true true true" "$(jq -r '[.uris[].released] | map(tostring) | join(" ")' <<<"$json")"
check_eq "every step timed" true "$(jqv "$json" '[.uris[].steps[] | .ms | type == "number"] | all')"
check_eq "steps in order" "connect allocate refresh permission send-data channel-bind channel-data release" \
  "$(jq -r '[.uris[0].steps[].name] | join(" ")' <<<"$json")"
check_eq "TLS certificate shown, not verified" "natdiag-test false" "$(jqv "$json" '.uris[2].tls | "\(.subject) \(.verified)"')"
check_eq "software and realm" "natdiag.test" "$(jqv "$json" '.uris[0].realm')"
check_contains "software is coturn's" "Coturn" "$(jqv "$json" '.uris[0].software')"
check_eq "loopback relay: an info finding only" "info" "$(jq -r '[.uris[].findings[].severity] | unique | join(",")' <<<"$json")"
sleep 1.5
sessions=$(grep -c ': new, realm=' "$TMP/coturn.log")
closed=$(grep -c 'closed (2nd stage)' "$TMP/coturn.log")
released=$(grep -c 'refreshed, realm=<natdiag.test>, username=<natdiag>, lifetime=0' "$TMP/coturn.log")
check_eq "coturn: three sessions made" 3 "$sessions"
check_eq "coturn: three Refresh lifetime=0" 3 "$released"
check_eq "coturn: every session closed (UDP too, long before its 600 s lifetime)" "$sessions" "$closed"

out=$("$NATDIAG" turn "turns:127.0.0.1:$TLS_PORT" --user natdiag --password secretpw --ca-file "$TMP/cert.pem"); rc=$?
check_eq "TLS --ca-file: exit 0" 0 "$rc"
check_contains "TLS --ca-file: verified" "verified" "$out"
check_contains "TLS --ca-file: verdict first" "TURN works: 1 URI" "$(head -1 <<<"$out")"
turn "turns:127.0.0.1:$TLS_PORT" --user natdiag --password secretpw
check_eq "TLS unverified certificate: exit 1" 1 "$rc"
check_eq "TLS unverified certificate: named" tls-certificate "$(jqv "$json" '.uris[0].problem')"
check_contains "TLS unverified certificate: the reason" "self-signed" "$(jqv "$json" '.uris[0].tls.problem')"
check_eq "TLS unverified certificate: the relay was still tested" 10 "$(jqv "$json" '.uris[0].relay.send_data.received')"

turn "turns:localhost:$TLS_PORT" -4 --user natdiag --password secretpw --ca-file "$TMP/cert.pem"
check_eq "TLS name not in the certificate: exit 1" 1 "$rc"
check_contains "TLS name not in the certificate: named" "mismatch" "$(jqv "$json" '.uris[0].tls.problem')"
SOON_PORT=$(free_port)
spawn "$TMP/coturn-soon.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
  --listening-port "$(free_port)" --tls-listening-port "$SOON_PORT" --cert "$TMP/cert-soon.pem" --pkey "$TMP/key-soon.pem" \
  --no-cli --no-dtls --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --allow-loopback-peers \
  --log-file stdout --simple-log --pidfile "$TMP/turn-soon.pid"
wait_for_text "$TMP/coturn-soon.log" "Total General servers" 10
sleep 0.2
turn "turns:127.0.0.1:$SOON_PORT" --user natdiag --password secretpw --ca-file "$TMP/cert-soon.pem" --count 2
check_eq "TLS certificate valid for 3 days: exit 1" 1 "$rc"
check_eq "TLS certificate valid for 3 days: expiry warning" "tls-expiring 2" \
  "$(jqv "$json" '.uris[0].findings[] | select(.id == "tls-expiring") | "\(.id) \(.message | capture("in (?<d>[0-9]+) days").d)"')"

echo "# credentials"
turn "turn:127.0.0.1:$PORT" --user natdiag --password wrong
check_eq "wrong password: exit 1" 1 "$rc"
check_eq "wrong password: problem" wrong-credentials "$(jqv "$json" '.uris[0].problem')"
check_contains "wrong password: in words" "wrong credentials" "$(jqv "$json" '.uris[0].verdict')"
check_eq "wrong password: the code" 401 "$(jqv "$json" '.uris[0].error.code')"
turn "turn:127.0.0.1:$PORT"
check_eq "no credentials: exit 1" 1 "$rc"
check_eq "no credentials: the server wants them" credentials-needed "$(jqv "$json" '.uris[0].problem')"
turn "turn:127.0.0.1:$REST_PORT?transport=tcp" --secret northwind
check_eq "REST secret: exit 0" 0 "$rc"
check_eq "REST secret: relay round trip" 10 "$(jqv "$json" '.uris[0].relay.channel_data.received')"
turn "turn:127.0.0.1:$REST_PORT" --secret wrong
check_eq "REST wrong secret: exit 1" 1 "$rc"
check_contains "REST wrong secret: named" "static-auth-secret" "$(jqv "$json" '.uris[0].verdict')"
turn "turn:127.0.0.1:$REST_PORT" --secret northwind --ttl -60
check_eq "REST expired --ttl: exit 1" 1 "$rc"
check_eq "REST expired --ttl: named" rest-credentials-expired "$(jqv "$json" '.uris[0].problem')"

echo "# a server that answers the authenticated retry with 400 (issue 10 defect 3)"
BAD=$(free_port)
spawn "$TMP/bad.log" "$BUILD_DIR/stun-badserver" "$BAD" --turn-400
wait_for_text "$TMP/bad.log" ready
turn "turn:127.0.0.1:$BAD" --user natdiag --password secretpw --timeout 2
check_eq "400 after credentials: exit 1" 1 "$rc"
check_eq "400 after credentials: wrong credentials, not 'no TURN'" wrong-credentials "$(jqv "$json" '.uris[0].problem')"
check_contains "400 after credentials: the meaning" "credentials (or their encoding)" "$(jqv "$json" '.uris[0].error.meaning')"
out=$("$NATDIAG" ice --turn "turn:127.0.0.1:$BAD" --user natdiag --password secretpw --timeout 2 --json)
check_eq "ice: 400 after credentials is auth-failed" auth-failed "$(jqv "$out" '.turn[0].probe_result // .turn[0].result')"
check_contains "ice: says the credentials were rejected" "rejected the credentials" "$(jq -r '.warnings | join(" ")' <<<"$out")"
if jq -r '.warnings | join(" ")' <<<"$out" | grep -q "does not do TURN"; then fail "ice: no 'does not do TURN'"; else pass "ice: no 'does not do TURN'"; fi

echo "# a server whose 401 carries a 1,100-byte REALM: that URI's malformed answer, the others still checked"
LONG=$(free_port)
spawn "$TMP/long.log" "$BUILD_DIR/stun-badserver" "$LONG" --turn-long-realm
wait_for_text "$TMP/long.log" ready
turn "turn:127.0.0.1:$LONG" "turn:127.0.0.1:$PORT" --user natdiag --password secretpw --timeout 2 --count 2
check_eq "over-long REALM: exit 1 (not 3)" 1 "$rc"
check_eq "over-long REALM: that URI malformed, the other works" "malformed true" \
  "$(jqv "$json" '"\(.uris[0].problem) \(.uris[1].working)"')"
check_contains "over-long REALM: in words" "REALM of 1100 bytes" "$(jqv "$json" '.uris[0].verdict')"

echo "# coturn hardened against private peers (denied-peer-ip, no allow-loopback-peers), checked on loopback"
HARD_PORT=$(free_port)
spawn "$TMP/coturn-hard.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
  --listening-port "$HARD_PORT" --no-tls --no-cli --no-dtls --lt-cred-mech --user natdiag:secretpw --realm natdiag.test \
  --denied-peer-ip=127.0.0.0-127.255.255.255 --denied-peer-ip=10.0.0.0-10.255.255.255 \
  --denied-peer-ip=172.16.0.0-172.31.255.255 --denied-peer-ip=192.168.0.0-192.168.255.255 \
  --log-file stdout --simple-log --pidfile "$TMP/turn-hard.pid"
wait_for_text "$TMP/coturn-hard.log" "Total General servers" 10
sleep 0.2
turn "turn:127.0.0.1:$HARD_PORT" --user natdiag --password secretpw --count 2
check_eq "hardened coturn from a private address: exit 0 (nothing found wrong)" 0 "$rc"
check_eq "hardened coturn: allocated, permission refused 403" "true 127.0.0.1 refused (403)" \
  "$(jqv "$json" '"\(.uris[0].relayed_address != null) \(.uris[0].steps[] | select(.name=="permission") | .detail)"')"
check_eq "hardened coturn: working unknown (null), not false; no problem" "null private-peers-refused null" \
  "$(jqv "$json" '"\(.uris[0].working) \(.uris[0].relay_unknown) \(.uris[0].problem)"')"
check_eq "hardened coturn: an info finding that says how to test it" "info" \
  "$(jqv "$json" '.uris[0].findings[] | select(.id=="relay-untested-private") | .severity')"
check_contains "hardened coturn: run from outside the LAN" "outside the server's LAN" \
  "$(jqv "$json" '.uris[0].findings[] | select(.id=="relay-untested-private") | .message')"
check_eq "hardened coturn: released" true "$(jqv "$json" '.uris[0].released')"
printf '%s\n' "$json" >"$TMP/hardened.json"
schema_out=$(python3 "$(dirname "$0")/../tools/validate_json.py" "$(dirname "$0")/../../docs/schema" "$TMP/hardened.json" 2>&1); rc=$?
check_eq "hardened coturn: the JSON validates against natdiag-turn.schema.json" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$schema_out"
out=$("$NATDIAG" turn "turn:127.0.0.1:$HARD_PORT" --user natdiag --password secretpw --count 2)
check_contains "hardened coturn, text: not 'NOT working'" "TURN allocates: 1 URI allocated; its relay could not be tested from here" "$(head -1 <<<"$out")"
if grep -q "NOT working" <<<"$out"; then fail "hardened coturn, text: no 'NOT working'"; else pass "hardened coturn, text: no 'NOT working'"; fi

echo "# nothing listening, audit"
NONE=$(free_port)
turn "turn:127.0.0.1:$NONE" --user a --password b --timeout 1
check_eq "nothing on UDP: exit 1" 1 "$rc"
check_contains "nothing on UDP: ICMP named" "nothing listens" "$(jqv "$json" '.uris[0].verdict')"
turn "turn:127.0.0.1:$PORT" --user natdiag --password secretpw --audit --count 2
check_eq "audit (allow-loopback-peers, no denied ranges): exit 1" 1 "$rc"
check_eq "audit: loopback and private flagged" "audit-loopback audit-private" \
  "$(jq -r '[.uris[0].findings[].id | select(. == "audit-loopback" or . == "audit-private")] | join(" ")' <<<"$json")"
check_eq "audit: 127.0.0.1 accepted" accepted "$(jqv "$json" '.uris[0].audit[] | select(.address=="127.0.0.1") | .outcome')"
check_eq "audit: SOFTWARE announced" software-announced "$(jqv "$json" '.uris[0].findings[] | select(.severity=="info" and .id=="software-announced") | .id')"

OPEN_PORT=$(free_port)
spawn "$TMP/coturn-open.log" turnserver -c "$TMP/empty.conf" --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
  --listening-port "$OPEN_PORT" --no-tls --no-cli --no-dtls --no-auth --allow-loopback-peers \
  --log-file stdout --simple-log --pidfile "$TMP/turn-open.pid"
wait_for_text "$TMP/coturn-open.log" "Total General servers" 10
sleep 0.2
turn "turn:127.0.0.1:$OPEN_PORT" --count 2
check_eq "no-auth coturn: exit 1" 1 "$rc"
check_eq "no-auth coturn: the relay works" true "$(jqv "$json" '.uris[0].working')"
check_eq "no-auth coturn: open relay, critical" "open-relay critical" "$(jqv "$json" '.uris[0].findings[] | select(.id=="open-relay") | "\(.id) \(.severity)"')"
check_eq "no-auth coturn: authenticated false" false "$(jqv "$json" '.uris[0].authenticated')"

echo "# bad input"
for bad in "--count 0" "--secret s --password p --user u" "--password p" "--transport sctp" "--ttl 5" "--tls-port 70000"; do
  # shellcheck disable=SC2086
  "$NATDIAG" turn 127.0.0.1 $bad >/dev/null 2>&1
  check_eq "turn $bad: exit 2" 2 "$?"
done
"$NATDIAG" turn >/dev/null 2>&1; check_eq "turn without a server: exit 2" 2 "$?"
long_user=$(printf 'u%.0s' $(seq 1 509))
err=$("$NATDIAG" turn 127.0.0.1 --user "$long_user" --password p 2>&1 >/dev/null); rc=$?
check_eq "--user of 509 bytes: exit 2" 2 "$rc"
check_contains "--user of 509 bytes: named" "--user must make a TURN USERNAME of fewer than 509 bytes" "$err"
err=$("$NATDIAG" turn 127.0.0.1 --user "${long_user:0:505}" --secret s 2>&1 >/dev/null); rc=$?
check_eq "--secret with a --user that makes 'expiry:user' too long: exit 2" 2 "$rc"
out=$("$NATDIAG" profile --turn turn:127.0.0.1 --user "$long_user" --password p --json 2>/dev/null); rc=$?
check_eq "profile --turn with a --user of 509 bytes: exit 2, usage" "2 usage" "$rc $(jqv "$out" .error.kind)"
out=$("$NATDIAG" turn 127.0.0.1 --transport sctp --json 2>/dev/null)
check_eq "usage error as JSON" "natdiag/1 turn usage sctp" "$(jqv "$out" '"\(.schema) \(.command) \(.error.kind) \(.error.value)"')"
"$NATDIAG" turn "stun:127.0.0.1" >/dev/null 2>&1; check_eq "stun: URI refused: exit 2" 2 "$?"
finish
