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
check_eq "cone: ten observations (six RFC 5780 tests, two server checks, two recheck tests)" 10 "$(jqv "$json" '.observations|length')"
check_eq "cone: filtering tests II and III silent, server checks answered" "silent silent answered answered" "$(jqv "$json" '[.observations[4,5,6,7].result]|join(" ")')"
check_eq "cone: contract fields present" "[]" "$(jq -c '["public_address","mapping","filtering","port_preservation","method","elapsed_ms","observations","mapping_candidates","filtering_candidates","port_unreachable","warnings"] - keys' <<<"$json")"
check_eq "cone: candidates name the verdicts" '["endpoint-independent"] ["address-and-port-dependent"]' "$(jq -c .mapping_candidates <<<"$json") $(jq -c .filtering_candidates <<<"$json")"
check_eq "cone: servers[0] carries the mapped address in RFC 5780 mode (issue 12)" "$PUBLIC_IP" "$(jqv "$json" '.servers[0].mapped_address' | cut -d: -f1)"
check_eq "cone: servers[0] carries the RTT in RFC 5780 mode (issue 12)" true "$(jqv "$json" '.servers[0].rtt_ms != null')"
check_eq "cone: no port warning with the default local ports" "[]" "$(jq -c .warnings <<<"$json")"
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
check_eq "coturn alone: the method is a plain binding, not RFC 5780 (issue 12)" binding "$(jqv "$json" .method)"
check_eq "coturn alone: tests that did not run have a null destination (issue 12)" null "$(jqv "$json" '.observations[1].destination')"
check_contains "coturn alone: the reason names OTHER-ADDRESS" "OTHER-ADDRESS" "$(jqv "$json" .mapping_reason)"
check_eq "coturn alone: the public address is still found" "$PUBLIC_IP" "$(jqv "$json" .public_address | cut -d: -f1)"
nat server --server "$OUTSIDE_IP:3480" --server "$OUTSIDE_IP2:3480"
check_eq "coturn x2: method multi-server" multi-server "$(jqv "$json" .method)"
expect "coturn x2 (cone)" endpoint-independent unknown
check_contains "coturn x2: filtering unknown says why" "multi-server" "$(jqv "$json" .filtering_reason)"
check_eq "natdiag serve proved CHANGE-REQUEST works (cone)" true \
  "$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --json | jq -r .server_change_request_verified)"
nat server "$OUTSIDE_IP:3490" --timeout 3
check_eq "closed UDP port (issue 10, defect 6): exit 1" 1 "$rc"
check_eq "closed UDP port: port_unreachable" true "$(jqv "$json" .port_unreachable)"
check_eq "closed UDP port: not called UDP blocked" false "$(jqv "$json" .udp_blocked)"
check_eq "closed UDP port: the ICMP error came through the NAT from the server" "$OUTSIDE_IP" "$(jqv "$json" .icmp_from)"
check_eq "closed UDP port: no long wait (one request, then the ICMP error)" 1 "$(jqv "$json" '.observations[0].transmissions')"
check_contains "closed UDP port: the summary names port and host" "Nothing listens on UDP 3490 at $OUTSIDE_IP" "$(jqv "$json" .summary)"
nat server "$OUTSIDE_IP" --transport tcp
check_eq "TCP mapping test: method tcp" tcp "$(jqv "$json" .method)"
check_eq "TCP mapping test (cone): endpoint-independent" endpoint-independent "$(jqv "$json" .mapping)"

echo "# cone, a port clash: an earlier run's answers still held by the router (issue 10, the loss-lab flake)"
# Linux keeps an unanswered CHANGE-REQUEST answer from A2:P2 in conntrack for 30 s. A run
# whose mapping socket gets that port sees M3 (to A2:P2) remapped; with M2's first request
# lost, Linux then gives M2 the same new port: one socket looks address-dependent on a NAT
# that maps endpoint-independently. The recheck from a third socket must keep it from a verdict.
in_ns router iptables -I FORWARD -p udp -d "$OUTSIDE_IP2" --dport 3478 -m statistic --mode nth --every 2 --packet 0 -j DROP
clashed=0
for run in 1 2 3; do
  in_ns router conntrack -F >/dev/null 2>&1
  in_ns outside python3 - "$PUBLIC_IP" "$OUTSIDE_IP2" 45000 45002 <<'PY'
import socket, struct, sys
dst, src, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.bind((src, 0))
for port in range(first, last + 1):  # from A2:P2 (3479), as a late CHANGE-REQUEST answer
    s.sendto(struct.pack("!HHHH", 3479, port, 13, 0) + b"stale", (dst, 0))
PY
  nat server "$OUTSIDE_IP" --local-ports 45000-45002
  m=$(jqv "$json" .mapping)
  check "clash run $run: mapping endpoint-independent or unknown, never dependent (got $m)" \
    test "$m" = endpoint-independent -o "$m" = unknown
  if [ "$(jqv "$json" '(.observations[1].mapped_address != .observations[0].mapped_address) and (.observations[2].mapped_address != .observations[0].mapped_address)')" = true ]; then
    clashed=$((clashed + 1))
    check_eq "clash run $run: the recheck ran from a third socket and kept one mapping" true \
      "$(jqv "$json" '.local_addresses.recheck != null and .observations[8].mapped_address == .observations[9].mapped_address')"
    check_eq "clash run $run: endpoint-independent among the candidates" '["endpoint-independent","address-dependent"]' "$(jq -c .mapping_candidates <<<"$json")"
    check_contains "clash run $run: the reason names the clash" "an older flow held it" "$(jqv "$json" .mapping_reason)"
  fi
done
check "the router really remapped a mapping socket's flows to A2 (the clash happened) in at least one of 3 runs" test "$clashed" -ge 1

echo "# cone, runs back to back on three ports: no filtering socket on a port an earlier run mapped"
# An earlier run's mapping socket has a live flow to A2:P2 at the router; a filtering socket on
# that port would see filtering test II answered through it (a wrong endpoint-independent). The
# mapping sockets take the lower part of --local-ports, the filtering socket the upper part.
in_ns router conntrack -F >/dev/null 2>&1
bad=0
for run in 1 2 3 4 5; do
  nat server "$OUTSIDE_IP" --local-ports 45000-45002
  f=$(jqv "$json" .filtering)
  [ "$f" = address-and-port-dependent ] || [ "$f" = unknown ] || { bad=$((bad + 1)); echo "  run $run: filtering $f"; }
  [ "$(jqv "$json" .local_addresses.filtering)" = "$SERVER_IP:45002" ] || { bad=$((bad + 1)); echo "  run $run: filtering socket $(jqv "$json" .local_addresses.filtering)"; }
done
check_eq "5 runs in a row: the filtering socket always on the upper port, never a filtering verdict from an old flow" 0 "$bad"
lab_down

echo "# symmetric"
lab_up symmetric
serve_outside
nat client "$OUTSIDE_IP"
expect symmetric address-and-port-dependent address-and-port-dependent
check_eq "symmetric: port not preserved" false "$(jqv "$json" .port_preservation)"
check_contains "symmetric: the recheck from a third socket confirmed it" "a second socket got a new mapping" "$(jqv "$json" .mapping_reason)"
check_eq "symmetric: the server check ran through M3's mapping (RESPONSE-PORT) and passed" true "$(jqv "$json" .server_change_request_verified)"
check_eq "symmetric: the server checks carried RESPONSE-PORT" true "$(jqv "$json" '.observations[6].response_port != null')"
out=$(in_ns client "$NATDIAG" nat "$OUTSIDE_IP")
check_contains "symmetric: text says peers will need TURN" "will need TURN" "$(head -1 <<<"$out")"
# Two servers that differ in IP only cannot tell address-dependent from address-and-port-
# dependent mapping (issue 10, defect 4): name both, say what would tell.
nat client --server "$OUTSIDE_IP" --server "$OUTSIDE_IP2"
check_eq "symmetric, two servers on one port: mapping unknown" unknown "$(jqv "$json" .mapping)"
check_eq "symmetric, two servers on one port: both candidates named" '["address-dependent","address-and-port-dependent"]' "$(jq -c .mapping_candidates <<<"$json")"
check_contains "symmetric, two servers on one port: says these servers cannot tell" "these servers cannot tell which" "$(jqv "$json" .mapping_reason)"
check_contains "symmetric, two servers on one port: says what would tell" "second port" "$(jqv "$json" .mapping_reason)"
check_eq "symmetric, two servers on one port: still exit 0 (not endpoint-independent was measured)" 0 "$rc"
out=$(in_ns client "$NATDIAG" nat --server "$OUTSIDE_IP" --server "$OUTSIDE_IP2")
check_contains "symmetric, two servers on one port, text" "mapping not endpoint-independent: address-dependent or address-and-port-dependent" "$(head -1 <<<"$out")"
nat client --server "$OUTSIDE_IP" --server "$OUTSIDE_IP2" --server "$OUTSIDE_IP:3479"
check_eq "symmetric, a second port of one IP: address-and-port-dependent" address-and-port-dependent "$(jqv "$json" .mapping)"
# A server that advertises OTHER-ADDRESS but drops every CHANGE-REQUEST (issue 10, defect 5):
# the silence of the filtering tests proves nothing, whatever the mapping.
in_ns outside iptables -A INPUT -p udp -m string --algo bm --hex-string '|00030004|' -j DROP
nat client "$OUTSIDE_IP"
check_eq "server dropping CHANGE-REQUEST, symmetric NAT: mapping still measured" address-and-port-dependent "$(jqv "$json" .mapping)"
check_eq "server dropping CHANGE-REQUEST, symmetric NAT: filtering unknown" unknown "$(jqv "$json" .filtering)"
check_eq "server dropping CHANGE-REQUEST: the check says it failed" false "$(jqv "$json" .server_change_request_verified)"
check_contains "server dropping CHANGE-REQUEST: the reason says why" "proves nothing" "$(jqv "$json" .filtering_reason)"
in_ns outside iptables -D INPUT -p udp -m string --algo bm --hex-string '|00030004|' -j DROP
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
# Issue 10, defect 13: say so instead of "Full-cone NAT ... direct media works".
check_contains "the trap is named: a warning about the media range" "50000-60000" "$(jqv "$json" '.warnings[0]')"
check_contains "the trap: the warning names whose range it is" "livekit" "$(jqv "$json" '.warnings[0]')"
out=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --local-ports 50000-50010)
check "the trap: the text no longer promises full cone" bash -c "! grep -q 'Full-cone NAT' <<<\"\$1\"" _ "$out"
check_contains "the trap: the text warns" "Warning: the test sockets used UDP" "$out"
nat server "$OUTSIDE_IP" --local-ports 50000-50010 --for janus
check_eq "the trap: --for janus (20000-40000) does not overlap 50000-50010: no warning" "[]" "$(jq -c .warnings <<<"$json")"
nat server "$OUTSIDE_IP"
check_eq "the default ports avoid it: the NAT's real filtering" address-and-port-dependent "$(jqv "$json" .filtering)"
lab_down

echo "# bad input"
for args in "''" "1.2.3.4 70000" "--local-ports 9-3 1.2.3.4" "--timeout 0 1.2.3.4" "--timeout 0.001 1.2.3.4" "--timeout 0.01 1.2.3.4" "--for nginx 1.2.3.4" "--transport tls 1.2.3.4" "stuns:1.2.3.4" "--bogus"; do
  err=$(eval "\"$NATDIAG\" nat $args" 2>&1 >/dev/null); rc=$?
  check_eq "nat $args: exit 2" 2 "$rc"
  check_lines "nat $args: one line" 1 "$err"
done
finish
