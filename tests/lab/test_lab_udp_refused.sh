#!/usr/bin/env bash
# Who refused UDP: an ICMP port unreachable from the STUN server's own address says nothing
# listens there (not a blocked path: design.md); one from a router on the way (iptables REJECT,
# whose default reply is icmp-port-unreachable) is a path that rejects UDP. stun, nat and
# profile name who refused, and only the second is "udp-blocked".
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_udp_refused"

NOCONF=$TMP/no-config
mkdir -p "$NOCONF"
lab_up cone
serve_outside

echo "# the router rejects UDP to 3478 on the way"
in_ns router iptables -I FORWARD -p udp --dport 3478 -j REJECT
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --timeout 2 --json)
check_eq "stun: refused on the path, by the router" "refused-on-path $ROUTER_LAN_IP" "$(jqv "$json" '"\(.failure) \(.refused_by)"')"
check_contains "stun: the error names the router, not the server" "from $ROUTER_LAN_IP, not from the server $OUTSIDE_IP" "$(jqv "$json" .error)"
json=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --timeout 2 --json)
check_eq "nat: udp_refused on the path" refused-on-path "$(jqv "$json" .udp_refused)"
check_contains "nat: the summary says rejected on the way, not nothing listens" "is rejected on the way" "$(jqv "$json" .summary)"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --root "$NOCONF" --timeout 2 --json)
# profile's nat and ice probes ask the same server at once and the router rate-limits its ICMP
# errors (1/s per host), so the binding may see the refusal or only silence: both are blocked.
check_contains "profile: udp_error refused-on-path (or timeout: ICMP rate limit)" "$(jqv "$json" .facts.udp_error)" "refused-on-path timeout"
check_eq "profile: udp-blocked first" udp-blocked "$(jqv "$json" '.findings[0].id')"
in_ns router iptables -D FORWARD -p udp --dport 3478 -j REJECT

echo "# the STUN server's host itself refuses UDP 3478 (TCP still answers)"
in_ns outside iptables -I INPUT -p udp --dport 3478 -j REJECT
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --timeout 2 --json)
check_eq "stun: refused by the server itself" "refused-by-server $OUTSIDE_IP" "$(jqv "$json" '"\(.failure) \(.refused_by)"')"
json=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --timeout 2 --json)
check_eq "nat: udp_refused by the server" refused-by-server "$(jqv "$json" .udp_refused)"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --root "$NOCONF" --timeout 2 --json)
ids=$(jq -r '[.findings[].id] | join(" ")' <<<"$json")
check_eq "profile: udp_error refused-by-server" refused-by-server "$(jqv "$json" .facts.udp_error)"
check "profile: no udp-blocked finding" bash -c "! grep -q udp-blocked <<<\"\$1\"" _ "$ids"
check_contains "profile: the server does not listen on UDP" "stun-no-udp" "$ids"
check "profile: verdict not broken" test "$(jqv "$json" .verdict)" != broken
in_ns outside iptables -D INPUT -p udp --dport 3478 -j REJECT
lab_down
finish
