#!/usr/bin/env bash
# `natdiag nat` from inside the lab against natdiag serve outside: each flavour's verdict,
# forwarded media ports not fooling it, the multi-server method against coturn, TCP mapping.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_nat"

nat() {  # nat HOST ARGS...: natdiag nat --json from a lab host; sets $json and $rc
  local host=$1; shift
  json=$(in_ns "$host" "$NATDIAG" nat "$@" --json); rc=$?
}
expect() {  # expect LABEL MAPPING FILTERING
  check_eq "$1: mapping" "$2" "$(jqv "$json" .mapping)"
  check_eq "$1: filtering" "$3" "$(jqv "$json" .filtering)"
}

echo "# cone"
lab_up cone
serve_outside
nat server "$OUTSIDE_IP"
check_eq "cone: exit 0" 0 "$rc"
expect cone endpoint-independent address-and-port-dependent
check_eq "cone: method" rfc5780 "$(jqv "$json" .method)"
check_eq "cone: public address is the router's" "$PUBLIC_IP" "$(jqv "$json" .public_address | cut -d: -f1)"
check_eq "cone: port preserved by MASQUERADE" true "$(jqv "$json" .port_preservation)"
check_eq "cone: eight observations (six RFC 5780 tests, two server checks)" 8 "$(jqv "$json" '.observations|length')"
check_eq "cone: filtering tests II and III silent, server checks answered" "silent silent answered answered" "$(jqv "$json" '[.observations[4,5,6,7].result]|join(" ")')"
check_eq "cone: contract fields present" "[]" "$(jq -c '["public_address","mapping","filtering","port_preservation","method","elapsed_ms","observations"] - keys' <<<"$json")"
local_ports=$(jqv "$json" '[.local_addresses.mapping, .local_addresses.filtering] | map(split(":")[1]|tonumber) | map(. >= 40000 and . <= 49151) | all')
check_eq "cone: test sockets outside the media range, reported" true "$local_ports"
out=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP")
check_contains "cone: text starts with the verdict for WebRTC" "Cone NAT" "$(head -1 <<<"$out")"
check_contains "cone: text says what to do" "forward the UDP media ports" "$out"
# The multi-server method against coturn: two instances with one address each, so neither
# sends OTHER-ADDRESS (coturn with two listening IPs is an RFC 5780 server, checked below).
: >"$TMP/empty.conf"
for ip in "$OUTSIDE_IP" "$OUTSIDE_IP2"; do
  spawn "$TMP/coturn-$ip.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" --stun-only --no-cli \
    --no-tls --no-dtls --listening-ip "$ip" --listening-port 3480 --log-file stdout --simple-log --pidfile "$TMP/coturn-$ip.pid"
  wait_for_text "$TMP/coturn-$ip.log" "Total General servers" 10 || sleep 1
done
nat server "$OUTSIDE_IP:3480"
check_eq "coturn alone (no OTHER-ADDRESS): mapping unknown" unknown "$(jqv "$json" .mapping)"
check_contains "coturn alone: the reason names OTHER-ADDRESS" "OTHER-ADDRESS" "$(jqv "$json" .mapping_reason)"
check_eq "coturn alone: the public address is still found" "$PUBLIC_IP" "$(jqv "$json" .public_address | cut -d: -f1)"
nat server --server "$OUTSIDE_IP:3480" --server "$OUTSIDE_IP2:3480"
check_eq "coturn x2: method multi-server" multi-server "$(jqv "$json" .method)"
expect "coturn x2 (cone)" endpoint-independent unknown
check_contains "coturn x2: filtering unknown says why" "multi-server" "$(jqv "$json" .filtering_reason)"
check_eq "natdiag serve proved CHANGE-REQUEST works (cone)" true \
  "$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --json | jq -r .server_change_request_verified)"
nat server "$OUTSIDE_IP" --transport tcp
check_eq "TCP mapping test: method tcp" tcp "$(jqv "$json" .method)"
check_eq "TCP mapping test (cone): endpoint-independent" endpoint-independent "$(jqv "$json" .mapping)"
lab_down

echo "# symmetric"
lab_up symmetric
serve_outside
nat client "$OUTSIDE_IP"
expect symmetric address-and-port-dependent address-and-port-dependent
check_eq "symmetric: port not preserved" false "$(jqv "$json" .port_preservation)"
out=$(in_ns client "$NATDIAG" nat "$OUTSIDE_IP")
check_contains "symmetric: text says peers will need TURN" "will need TURN" "$(head -1 <<<"$out")"
nat client --server "$OUTSIDE_IP" --server "$OUTSIDE_IP2"
check_eq "symmetric, multi-server: address-and-port-dependent" address-and-port-dependent "$(jqv "$json" .mapping)"
lab_down

echo "# full cone"
lab_up fullcone
serve_outside
nat server "$OUTSIDE_IP"
expect fullcone endpoint-independent endpoint-independent
lab_down

echo "# no NAT"
lab_up nonat
serve_outside
nat server "$OUTSIDE_IP"
expect nonat direct direct
check_eq "nonat: the firewall's filtering reported aside" endpoint-independent "$(jqv "$json" .firewall_filtering)"
lab_down

echo "# UDP blocked"
lab_up udp-blocked
serve_outside
nat server "$OUTSIDE_IP" --timeout 2
check_eq "udp-blocked: exit 1" 1 "$rc"
check_eq "udp-blocked: udp_blocked" true "$(jqv "$json" .udp_blocked)"
check_eq "udp-blocked: TCP still works" true "$(jqv "$json" .tcp_works)"
out=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --timeout 1)
check_contains "udp-blocked: text says so and what follows" "UDP is blocked" "$(head -1 <<<"$out")"
lab_down

echo "# forwarded media ports do not fool it"
lab_up media
serve_outside
nat server "$OUTSIDE_IP" --local-ports 50000-50100
check_eq "a test socket inside the forwarded range sees open filtering (the trap)" endpoint-independent "$(jqv "$json" .filtering)"
nat server "$OUTSIDE_IP"
check_eq "the default ports avoid it: the NAT's real filtering" address-and-port-dependent "$(jqv "$json" .filtering)"
lab_down

echo "# bad input"
for args in "''" "1.2.3.4 70000" "--local-ports 9-3 1.2.3.4" "--timeout 0 1.2.3.4" "--transport tls 1.2.3.4" "stuns:1.2.3.4" "--bogus"; do
  err=$(eval "\"$NATDIAG\" nat $args" 2>&1 >/dev/null); rc=$?
  check_eq "nat $args: exit 2" 2 "$rc"
  check_lines "nat $args: one line" 1 "$err"
done
finish
