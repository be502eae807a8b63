#!/usr/bin/env bash
# `natdiag nat` on loopback: a closed UDP port is "nothing listens" at once (ICMP port
# unreachable, not "UDP blocked"); RFC 5780 against natdiag serve; a plain server is not
# called RFC 5780; the JSON keeps absent facts null; timeouts too short for a verdict refused.
source "$(dirname "$0")/lib.sh"

P=$(free_port)
ALT=$(free_port)
CLOSED=$(free_port)

echo "# a closed UDP port (issue 10, defect 6)"
json=$("$NATDIAG" nat "127.0.0.1:$CLOSED" --timeout 3 --json); rc=$?
check_eq "closed port: exit 1" 1 "$rc"
check_eq "closed port: port_unreachable" true "$(jqv "$json" .port_unreachable)"
check_eq "closed port: not called UDP blocked" false "$(jqv "$json" .udp_blocked)"
check_contains "closed port: the summary says nothing listens there" "Nothing listens on UDP $CLOSED at 127.0.0.1" "$(jqv "$json" .summary)"
check_eq "closed port: no long wait (the first request's ICMP error ended mapping test I)" 1 "$(jqv "$json" '.observations[0].transmissions')"
check_eq "closed port: result port-unreachable" port-unreachable "$(jqv "$json" '.observations[0].result')"
check_eq "closed port: the refusal came from the server itself" "refused-by-server 127.0.0.1" "$(jqv "$json" '"\(.udp_refused) \(.icmp_from)"')"
check_eq "tests that did not run have a null destination (issue 12)" null "$(jqv "$json" '.observations[1].destination')"
check_eq "the server is listed, with its error (issue 12)" "127.0.0.1:$CLOSED" "$(jqv "$json" '.servers[0].address')"
out=$("$NATDIAG" nat "127.0.0.1:$CLOSED")
check_contains "closed port, text: the verdict first" "Nothing listens on UDP $CLOSED at 127.0.0.1 (ICMP port unreachable)" "$(head -1 <<<"$out")"

json=$("$NATDIAG" nat --server "127.0.0.1:$CLOSED" --server "127.0.0.2:$CLOSED" --timeout 3 --json); rc=$?
check_eq "multi-server, closed ports: exit 1" 1 "$rc"
check_eq "multi-server, closed ports: port_unreachable, not UDP blocked" "true false" "$(jqv "$json" '"\(.port_unreachable) \(.udp_blocked)"')"
check_eq "multi-server, closed ports: one request each, then the ICMP error" "1 1" "$(jqv "$json" '[.servers[].error | test("ICMP port unreachable")] | map(if . then 1 else 0 end) | join(" ")')"

json=$("$NATDIAG" nat --server no-such-host.invalid --server "127.0.0.1:$CLOSED" --json)
check_eq "a server that cannot be resolved is still listed, with every other (issue 12)" "2 true" "$(jqv "$json" '"\(.servers|length) \(.servers[0].error != null)"')"

echo "# RFC 5780 against natdiag serve on loopback"
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --alternate 127.0.0.2 --port "$P" --alt-port "$ALT" --transport udp
wait_for_text "$TMP/serve.log" "natdiag serve: ready"
json=$("$NATDIAG" nat "127.0.0.1:$P" --json); rc=$?
check_eq "loopback: exit 0" 0 "$rc"
check_eq "loopback: method rfc5780" rfc5780 "$(jqv "$json" .method)"
check_eq "loopback: no NAT" "direct direct" "$(jqv "$json" '.mapping + " " + .filtering')"
check_eq "loopback: candidates name the verdict" '["direct"]' "$(jq -c .mapping_candidates <<<"$json")"
check_eq "servers[].mapped_address filled in RFC 5780 mode (issue 12)" true "$(jqv "$json" '.servers[0].mapped_address != null')"
check_eq "servers[].rtt_ms filled in RFC 5780 mode (issue 12)" true "$(jqv "$json" '.servers[0].rtt_ms != null')"
check_eq "JSON: the new fields are present" "[]" "$(jq -c '["mapping_candidates","filtering_candidates","port_unreachable","icmp_from","warnings"] - keys' <<<"$json")"

echo "# a plain STUN server is not an RFC 5780 run (issue 12)"
P4=$(free_port)
spawn "$TMP/plain.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$P4" --transport udp
wait_for_text "$TMP/plain.log" "natdiag serve: ready"
json=$("$NATDIAG" nat "127.0.0.1:$P4" --json)
check_eq "plain server: method binding" binding "$(jqv "$json" .method)"
out=$("$NATDIAG" nat "127.0.0.1:$P4")
check_contains "plain server, text: not called RFC 5780" "not RFC 5780" "$(grep Method: <<<"$out")"
P6=$(free_port)
if spawn "$TMP/plain6.log" "$NATDIAG" serve --primary ::1 --port "$P6" --transport udp &&
  wait_for_text "$TMP/plain6.log" "natdiag serve: ready"; then
  out=$("$NATDIAG" nat "[::1]:$P6")
  check_contains "plain IPv6 server, text: not called RFC 5780" "not RFC 5780" "$(grep Method: <<<"$out")"
fi

echo "# timeouts too short for a verdict (issue 10, defect 7)"
json=$("$NATDIAG" stun 127.0.0.1 "$P" --timeout 1e-7 --json); rc=$?
check_eq "stun --timeout 1e-7: exit 2, no verdict from a wait of nothing" 2 "$rc"
check_contains "stun --timeout 1e-7: the error names the minimum" "at least 0.1 s" "$(jqv "$json" '.error.message')"
json=$("$NATDIAG" stun 127.0.0.1 "$P" --timeout 0.1 --json)
check_eq "stun --timeout 0.1: at least one request goes out" true "$(jqv "$json" '.attempts[0].transmissions >= 1')"
for t in 0.001 0.01 0.5; do
  err=$("$NATDIAG" nat "127.0.0.1:$P" --timeout "$t" 2>&1 >/dev/null); rc=$?
  check_eq "nat --timeout $t: exit 2" 2 "$rc"
  check_contains "nat --timeout $t: names the minimum and the value" "at least 1 s for nat" "$err"
  check_contains "nat --timeout $t: names the value" "'$t'" "$err"
done
finish
