#!/usr/bin/env bash
# `natdiag ice` on the lab's server host against coturn outside: host, srflx and relay
# candidates through libnice, TCP candidates, the TURN diagnosis (wrong password, wrong secret,
# nothing listening), TURN REST credentials, TURN over TCP and TLS, the in-process connectivity
# check, UDP blocked, no NAT, and bad input.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_ice"

ice() {  # ice ARGS...: natdiag ice --json on the server host; sets $json and $rc
  json=$(in_ns server "$NATDIAG" ice "$@" --json); rc=$?
}
# cands FILTER: the candidates a jq select() filter keeps, as "type transport address" lines.
cands() { jq -r ".candidates[] | select($1) | \"\(.type) \(.transport) \(.address)\"" <<<"$json" | sort -u; }
has_warning() { [ -n "$json" ] && jq -e --arg n "$1" 'any(.warnings[]; contains($n))' <<<"$json" >/dev/null; }

: >"$TMP/empty.conf"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
  -subj /CN=turn.natdiag.test >/dev/null 2>&1
# coturn outside: long-term credentials on OUTSIDE_IP (UDP and TCP 3478).
coturn_lt() {
  spawn "$TMP/coturn-lt-$LAB_NAME.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" \
    --no-cli --no-tls --no-dtls --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" \
    --min-port 49160 --max-port 49199 --lt-cred-mech --user natdiag:secretpw --realm natdiag.test \
    --log-file stdout --simple-log --pidfile "$TMP/coturn-lt-$LAB_NAME.pid"
  wait_for_text "$TMP/coturn-lt-$LAB_NAME.log" "Total General servers" 10 || sleep 1
}
# coturn outside: TURN REST (use-auth-secret) on OUTSIDE_IP2, plain and TLS (5349, self-signed).
coturn_rest() {
  spawn "$TMP/coturn-rest-$LAB_NAME.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" \
    --no-cli --no-dtls --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
    --listening-ip "$OUTSIDE_IP2" --relay-ip "$OUTSIDE_IP2" --min-port 49200 --max-port 49239 \
    --use-auth-secret --static-auth-secret northwind --realm natdiag.test \
    --log-file stdout --simple-log --pidfile "$TMP/coturn-rest-$LAB_NAME.pid"
  wait_for_text "$TMP/coturn-rest-$LAB_NAME.log" "Total General servers" 10 || sleep 1
}

# coturn outside as Debian ships it: -c the stock turnserver.conf, on OUTSIDE_IP port 3490. The
# command line adds only the listening address and ports, and, for the TURN check, the one user
# (the stock file has none).
coturn_stock() {
  spawn "$TMP/coturn-stock-$LAB_NAME.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$COTURN_STOCK_CONF" \
    --no-cli --listening-ip "$OUTSIDE_IP" --listening-port 3490 --alt-listening-port 3491 \
    --tls-listening-port 5390 --alt-tls-listening-port 5391 --min-port 49240 --max-port 49279 \
    --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --pidfile "$TMP/coturn-stock-$LAB_NAME.pid"
  wait_for_udp_listener 3490 10 in_ns outside
}

echo "# cone: host, srflx and relay over UDP"
lab_up cone
STUN="stun:$OUTSIDE_IP:3478"
TURN="turn:$OUTSIDE_IP:3478"
coturn_lt
coturn_rest
ice --stun "$STUN" --turn "$TURN" --user natdiag --password secretpw
check_eq "cone: exit 0" 0 "$rc"
check_eq "cone: schema and command" "natdiag/1 ice" "$(jqv "$json" '"\(.schema) \(.command)"')"
check_eq "cone: contract fields present" "[]" \
  "$(jq -c '["candidates","elapsed_ms","warnings","turn","check"] - keys' <<<"$json")"
check_eq "cone: every candidate has the contract fields" "[]" \
  "$(jq -c '[.candidates[] | ["type","transport","address","port","priority","foundation","server"] - keys] | add' <<<"$json")"
check_eq "cone: host candidate on the server's LAN address" "host udp $SERVER_IP" "$(cands '.type=="host" and .address=="'"$SERVER_IP"'"')"
check_eq "cone: srflx is the router's public address, from the STUN server" "srflx udp $PUBLIC_IP $STUN" \
  "$(jqv "$json" '.candidates[] | select(.type=="srflx" and .server=="'"$STUN"'") | "\(.type) \(.transport) \(.address) \(.server)"')"
check_eq "cone: relay is coturn's address, from the TURN server" "relay udp $OUTSIDE_IP $TURN" \
  "$(jqv "$json" '.candidates[] | select(.type=="relay") | "\(.type) \(.transport) \(.address) \(.server)"')"
check_eq "cone: relay port in coturn's range" true "$(jqv "$json" '.candidates[] | select(.type=="relay") | .port >= 49160 and .port <= 49199')"
check_eq "cone: host candidates have no server (null)" "null" "$(jqv "$json" '[.candidates[] | select(.type=="host") | .server] | unique | .[0]')"
check_eq "cone: priorities are numbers, highest first" true "$(jqv "$json" '[.candidates[].priority] | . == (sort | reverse) and all(type=="number")')"
check_eq "cone: host candidates once, not once per agent" 0 "$(jqv "$json" '[.candidates[] | select(.type=="host") | "\(.transport) \(.address)"] | length - (unique | length)')"
check_eq "cone: no TCP candidates unless asked" 0 "$(jqv "$json" '[.candidates[] | select(.transport!="udp")] | length')"
check_eq "cone: TURN diagnosis ok" "ok" "$(jqv "$json" '.turn[0].result')"
check_eq "cone: the relay list is turn[].relays (README)" "relay udp $OUTSIDE_IP" "relay udp $(jqv "$json" '.turn[0].relays[0]' | cut -d: -f1)"
check_eq "cone: empty-config coturn answers RFC 3489 Bindings" "true false" "$(jqv "$json" '"\(.stun[0].rfc3489_answered) \(.stun[0].refuses_classic_stun)"')"
check_eq "cone: when each server's agent was done" "number number" "$(jqv "$json" '"\(.stun[0].gathered_ms|type) \(.turn[0].gathered_ms|type)"')"
check_eq "cone: no warnings" "[]" "$(jq -c .warnings <<<"$json")"
check_eq "cone: check is null when not asked" "null" "$(jqv "$json" .check)"
check_eq "cone: gathering ends when the agents are done, not at the 5 s timeout" true "$(jqv "$json" '.elapsed_ms < 2000 and .timed_out == false')"
out=$(in_ns server "$NATDIAG" ice --stun "$STUN" --turn "$TURN" --user natdiag --password secretpw)
check_contains "cone: text verdict first" "ICE gathering complete" "$(head -1 <<<"$out")"
check_contains "cone: text table header" "type  transport address" "$out"
check_contains "cone: text table relay row" "relay udp       $OUTSIDE_IP" "$out"
check_contains "cone: text TURN line" "$TURN  ok: relay $OUTSIDE_IP:" "$out"

echo "# cone: TCP candidates when enabled"
ice --stun "$STUN" --ice-tcp
check_eq "ice-tcp: exit 0" 0 "$rc"
check_eq "ice-tcp: TCP host candidates, active and passive" "host tcp-active $SERVER_IP
host tcp-passive $SERVER_IP" "$(cands '.type=="host" and (.transport|startswith("tcp")) and .address=="'"$SERVER_IP"'"')"
check_eq "ice-tcp: UDP still gathered" "host udp $SERVER_IP" "$(cands '.transport=="udp" and .address=="'"$SERVER_IP"'"')"
in_ns server "$NATDIAG" ice --stun "$STUN" --ice-tcp --no-ice-tcp 2>/dev/null
check_eq "--ice-tcp with --no-ice-tcp: exit 2" 2 "$?"

echo "# cone: TURN over TCP"
ice --turn "turn:$OUTSIDE_IP:3478?transport=tcp" --user natdiag --password secretpw
check_eq "turn tcp: exit 0" 0 "$rc"
check_eq "turn tcp: a UDP relay allocated over TCP" "relay udp $OUTSIDE_IP" "$(cands '.type=="relay"')"
check_eq "turn tcp: transport reported" "tcp" "$(jqv "$json" '.turn[0].transport')"

echo "# cone: wrong password, nothing listening"
ice --stun "$STUN" --turn "$TURN" --user natdiag --password wrong
check_eq "wrong password: exit 1" 1 "$rc"
check_eq "wrong password: no relay" "" "$(cands '.type=="relay"')"
check_eq "wrong password: srflx still there" "srflx udp $PUBLIC_IP" "$(cands '.type=="srflx"')"
check_eq "wrong password: TURN result auth-failed" "auth-failed" "$(jqv "$json" '.turn[0].result')"
check_eq "wrong password: the server's code" 401 "$(jqv "$json" '.turn[0].error_code')"
check "wrong password: the warning names authentication" has_warning "authentication failed"
out=$(in_ns server "$NATDIAG" ice --turn "$TURN" --user natdiag --password wrong)
check_contains "wrong password: text says so" "no relay from $TURN: authentication failed" "$out"
check_contains "wrong password: text verdict first" "ICE gathering found problems" "$(head -1 <<<"$out")"
ice --turn "turn:$OUTSIDE_IP:3999" --user natdiag --password secretpw --timeout 2
check_eq "nothing listening: exit 1" 1 "$rc"
check_eq "nothing listening: unreachable" "unreachable" "$(jqv "$json" '.turn[0].result')"
check "nothing listening: the warning says unreachable" has_warning "the server is unreachable"

echo "# cone: TURN REST credentials (use-auth-secret), TURN over TLS"
ice --turn "turn:$OUTSIDE_IP2" --secret northwind
check_eq "secret: exit 0" 0 "$rc"
check_eq "secret: relay on coturn's second address" "relay udp $OUTSIDE_IP2" "$(cands '.type=="relay"')"
ice --turn "turn:$OUTSIDE_IP2" --secret wrong
check_eq "wrong secret: exit 1" 1 "$rc"
check_eq "wrong secret: auth-failed" "auth-failed" "$(jqv "$json" '.turn[0].result')"
ice --turn "turns:$OUTSIDE_IP2" --secret northwind --user alice --relay-only
check_eq "turns: exit 0" 0 "$rc"
check_eq "turns: only the relay (relay-only)" "relay udp $OUTSIDE_IP2" "$(cands 'true')"
check_eq "turns: transport tls" "tls" "$(jqv "$json" '.turn[0].transport')"
check_contains "turns: the self-signed certificate is reported" "self-signed" "$(jqv "$json" '.turn[0].tls_problem')"
check "turns: and warned about (browsers verify)" has_warning "browsers will refuse"

echo "# cone: coturn as Debian ships it (stock turnserver.conf)"
coturn_stock
SSTUN="stun:$OUTSIDE_IP:3490"
ice --stun "$SSTUN"
check_eq "stock coturn: exit 1 (no srflx)" 1 "$rc"
check_eq "stock coturn: libnice gathered no srflx" "" "$(cands '.type=="srflx"')"
check_eq "stock coturn: RFC 5389 answered" "$PUBLIC_IP" "$(jqv "$json" '.stun[0].binding_mapped_address' | cut -d: -f1)"
check_eq "stock coturn: RFC 3489 not answered: refuses classic STUN" "false true" "$(jqv "$json" '"\(.stun[0].rfc3489_answered) \(.stun[0].refuses_classic_stun)"')"
check "stock coturn: the warning names the cause" has_warning "the server refuses classic STUN"
check "stock coturn: ... and coturn's option" has_warning "(coturn: no-stun-backward-compatibility)"
check "stock coturn: ... and libnice's version" has_warning "libnice before 0.1.23"
check "stock coturn: ... and the TURN fix" has_warning "give the media server a TURN server"
check_eq "stock coturn: no 'try a longer --timeout'" false "$(jqv "$json" 'any(.warnings[]; contains("longer --timeout"))')"
check_eq "stock coturn: libnice gave up within the timeout" false "$(jqv "$json" .timed_out)"
ice --turn "turn:$OUTSIDE_IP:3490" --user natdiag --password secretpw
check_eq "stock coturn as TURN: exit 0" 0 "$rc"
check_eq "stock coturn as TURN: the fix works: srflx from the Allocate answer" "srflx udp $PUBLIC_IP turn:$OUTSIDE_IP:3490" \
  "$(jqv "$json" '.candidates[] | select(.type=="srflx") | "\(.type) \(.transport) \(.address) \(.server)"')"
check_eq "stock coturn as TURN: and a relay" "relay udp $OUTSIDE_IP" "$(cands '.type=="relay"')"
pjson=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP:3490" --for kurento,janus,coturn --json)
check_eq "stock coturn: profile fact stun_rfc3489 false" false "$(jqv "$pjson" .facts.stun_rfc3489)"
check_eq "stock coturn: profile finding stun-no-classic, a warning" warning \
  "$(jqv "$pjson" '.findings[] | select(.id=="stun-no-classic") | .severity')"
check_contains "stock coturn: profile Kurento advice says so" "refuses classic STUN" "$(jqv "$pjson" .advice.kurento.note)"
check_contains "stock coturn: profile Janus advice says so" "refuses classic STUN" "$(jqv "$pjson" .advice.janus.note)"
check_contains "stock coturn: profile coturn advice: delete the line" "delete the line no-stun-backward-compatibility" "$(jqv "$pjson" .advice.coturn.note)"
echo "$pjson" >"$TMP/stock-profile.json"
ajson=$("$NATDIAG" advise --from "$TMP/stock-profile.json" --for kurento --json)
check_eq "stock coturn: advise --from re-derives stun-no-classic" 1 "$(jqv "$ajson" '[.findings[] | select(.id=="stun-no-classic")] | length')"

echo "# cone: connectivity check"
ice --stun "$STUN" --turn "$TURN" --user natdiag --password secretpw --check
check_eq "check: exit 0" 0 "$rc"
check_eq "check: success" "success" "$(jqv "$json" .check.result)"
check_eq "check: a pair with both ends" true "$(jqv "$json" '.check.local.address != null and .check.remote.address != null')"
check_eq "check: the pair crosses the NAT (relay to relay), never link-local host to host" "relay relay true" \
  "$(jqv "$json" '"\(.check.local.type) \(.check.remote.type) \(.check.crosses_nat)"')"
ice --stun "$STUN" --check
check_eq "check without TURN: exit 1 (nothing shown about the NAT)" 1 "$rc"
check_eq "check without TURN: inconclusive" "inconclusive false" "$(jqv "$json" '"\(.check.result) \(.check.crosses_nat)"')"
check "check without TURN: says it proves nothing about the NAT" has_warning "proves nothing about the NAT"
ice --turn "$TURN" --user natdiag --password secretpw --check --relay-only
check_eq "check relay-only: exit 0" 0 "$rc"
check_eq "check relay-only: relay to relay through coturn" "relay $OUTSIDE_IP relay $OUTSIDE_IP" \
  "$(jqv "$json" '"\(.check.local.type) \(.check.local.address) \(.check.remote.type) \(.check.remote.address)"')"
out=$(in_ns server "$NATDIAG" ice --turn "$TURN" --user natdiag --password secretpw --check --relay-only)
check_contains "check: text shows the selected pair" "local  relay udp $OUTSIDE_IP:" "$out"

echo "# cone: no servers, timeouts"
ice
check_eq "no servers on a NATed host: exit 1" 1 "$rc"
check "no servers: the warning says the IPv4 host candidates are private" has_warning "every IPv4 ($SERVER_IP) host candidate is private"
out=$(in_ns server "$NATDIAG" ice --timeout 100 2>&1 >/dev/null)
check_eq "--timeout 100: nothing on stderr (no GLib property range warning)" "" "$out"

echo "# cone: one family"
ice --stun "$STUN" -4
check_eq "-4: exit 0" 0 "$rc"
check_eq "-4: no IPv6 candidates" 0 "$(jqv "$json" '[.candidates[] | select(.address | contains(":"))] | length')"
check_eq "-4: no one-family warning" false "$(jqv "$json" 'any(.warnings[]; contains("only IPv4"))')"
lab_down

echo "# UDP blocked"
lab_up udp-blocked
coturn_lt
ice --stun "$STUN" --turn "turn:$OUTSIDE_IP:3478?transport=tcp" --user natdiag --password secretpw --timeout 2
check_eq "udp-blocked: exit 1 (the STUN server produced nothing)" 1 "$rc"
check_eq "udp-blocked: no UDP srflx" 0 "$(jqv "$json" '[.candidates[] | select(.type=="srflx" and .transport=="udp")] | length')"
check_eq "udp-blocked: a relay over TURN/TCP still gathered" "relay udp $OUTSIDE_IP" "$(cands '.type=="relay"')"
check "udp-blocked: the warning says UDP is blocked" has_warning "UDP is blocked"
check_eq "udp-blocked: STUN over TCP answered" true "$(jqv "$json" '.stun[0].tcp_answered')"
ice --turn "$TURN" --turn "turn:$OUTSIDE_IP:3478?transport=tcp" --user natdiag --password secretpw --timeout 2
check_eq "udp-blocked: TURN/UDP unreachable" "unreachable tcp:ok" "$(jqv "$json" '"\(.turn[0].result) tcp:\(.turn[1].result)"')"
check "udp-blocked: the advice is TURN over TCP/TLS" has_warning "use TURN over TCP or TLS"
check_eq "udp-blocked: bounded by the timeout" true "$(jqv "$json" '.elapsed_ms <= 2500')"
for t in 3.5 7; do
  ice --stun "$STUN" --timeout "$t"
  check_eq "udp-blocked --timeout $t: libnice gives up before natdiag's deadline" "false" "$(jqv "$json" .timed_out)"
  check_eq "udp-blocked --timeout $t: no 'did not finish' warning" false "$(jqv "$json" 'any(.warnings[]; contains("did not finish"))')"
done
lab_down

echo "# no NAT"
lab_up nonat
coturn_lt
ice --stun "$STUN"
check_eq "nonat: exit 0 (srflx equals host)" 0 "$rc"
check "nonat: the warning says no NAT" has_warning "no NAT"
check_eq "nonat: the router's 203.0.113.1 is never called a host address" false "$(jqv "$json" 'any(.warnings[]; contains("at '"$PUBLIC_IP"', a host address"))')"
check "nonat: the no-NAT address is the routed one" has_warning "sees this host at 198.51.100.10"
ice
check_eq "nonat, no servers: a public host candidate: exit 0" 0 "$rc"
lab_down

echo "# bad input"
for args in "--turn stun:1.2.3.4 --user a --password b" "--turn turn:1.2.3.4:70000 --user a --password b" \
            "--turn turn:1.2.3.4" "--turn turn:1.2.3.4?transport=sctp --secret s" \
            "--turn turns:1.2.3.4?transport=udp --secret s" "--stun stuns:1.2.3.4" "--stun 1.2.3.4:0" \
            "--user a --password b" "--turn turn:1.2.3.4 --user a --password b --secret s" \
            "--relay-only" "--timeout 0" "--timeout 0.01" "-4 -6" "--bogus" "extra"; do
  err=$(eval "\"$NATDIAG\" ice $args" 2>&1 >/dev/null); rc=$?
  check_eq "ice $args: exit 2" 2 "$rc"
  check_lines "ice $args: one line" 1 "$err"
done
err=$("$NATDIAG" ice --timeout 0.01 2>&1 >/dev/null)
check_contains "--timeout 0.01 names the minimum" "at least 0.35 s" "$err"
finish
