#!/usr/bin/env bash
# `natdiag ports` against real kernels' ICMP errors and this host's own failures: only ICMP port
# unreachable from the target itself (or a TCP RST) is "closed"; administratively prohibited
# from a firewall, host/address unreachable or port unreachable from a router are "filtered"
# with the ICMP error as evidence; a probe that never left the probing host (its own OUTPUT
# firewall, no route) is "untested", never closed or filtered, and exit 3 when nothing could
# be sent. Both sides: ports probe here, and serve --probe-back's report to ports --via.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_ports_icmp"
VALIDATE="python3 $(cd "$(dirname "$0")/../.." && pwd)/tests/tools/validate_json.py $(cd "$(dirname "$0")/../.." && pwd)/docs/schema"

ports_json() {  # ports_json HOST ARGS...: natdiag ports --json on a lab host; sets $json, $rc
  local host=$1; shift
  json=$(in_ns "$host" "$NATDIAG" ports "$@" --json 2>"$TMP/ports.err"); rc=$?
  printf '%s\n' "$json" >"$TMP/last.json"
}
state() {  # state PROTO PORT: "state|evidence" of the range holding PORT in $json
  jqv "$json" "[.$1.ranges[] | select(.first <= $2 and .last >= $2)][0] | \"\(.state)|\(.evidence)\""
}
validates() {  # validates WHAT: $json against docs/schema
  if out=$($VALIDATE "$TMP/last.json" 2>&1); then pass "$1: validates against the schema"; else fail "$1: validates against the schema" "$out"; fi
}
CODE=k7fq-2mxa-9pwe
listen() {  # listen ARGS...: ports listen on the server for 15 s
  spawn "$TMP/listen.log" "$NATLAB" exec "$LAB_NAME" server "$NATDIAG" ports listen "$@" --code "$CODE" --duration 15
  wait_for_text "$TMP/listen.log" "stops after"
}

lab_up forwards
# The kernels' ICMP rate limits (1/s per destination) would turn the errors into silence.
for h in router server outside; do in_ns "$h" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0; done
spawn "$TMP/serve6.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP6" --probe-back --probe-per-minute 100
wait_for_text "$TMP/serve6.log" "natdiag serve: ready"
spawn "$TMP/serve4.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP" --probe-back --probe-per-minute 100
wait_for_text "$TMP/serve4.log" "natdiag serve: ready"

echo "# IPv6 (routed): the router's firewall rejects, the server's own firewall rejects"
in_ns router ip6tables -I FORWARD -i wan0 -p udp --dport 50001 -j REJECT --reject-with icmp6-adm-prohibited
in_ns router ip6tables -I FORWARD -i wan0 -p udp --dport 50002 -j REJECT --reject-with icmp6-addr-unreachable
in_ns router ip6tables -I FORWARD -i wan0 -p udp --dport 50003 -j REJECT --reject-with icmp6-port-unreachable
in_ns router ip6tables -I FORWARD -i wan0 -p tcp --dport 7881 -j REJECT --reject-with icmp6-adm-prohibited
in_ns router ip6tables -I FORWARD -i wan0 -p tcp --dport 7882 -j REJECT --reject-with tcp-reset
in_ns server ip6tables -I INPUT -p udp --dport 50004 -j REJECT --reject-with icmp6-port-unreachable
in_ns server ip6tables -I INPUT -p tcp --dport 7883 -j REJECT --reject-with icmp6-port-unreachable
ports_json server --via "[$OUTSIDE_IP6]" --udp 50000-50004 --tcp 7881,7882,7883
check_eq "v6 via: exit 1, not-open" "1 not-open" "$rc $(jqv "$json" .verdict)"
check_eq "v6 via: UDP 50000 open" "open|natdiag's probe arrived from $OUTSIDE_IP6" "$(state udp 50000)"
check_eq "v6 via: ICMPv6 admin-prohibited (1/1) from the router: filtered" "filtered|ICMPv6 administratively prohibited from 2001:db8:1::1: a firewall rejects it" "$(state udp 50001)"
check_eq "v6 via: ICMPv6 address unreachable (1/3) from the router: filtered" "filtered|ICMPv6 address unreachable from 2001:db8:1::1: the probe did not reach the port" "$(state udp 50002)"
check_eq "v6 via: ICMPv6 port unreachable from the router (not the target): filtered" "filtered|ICMPv6 port unreachable from 2001:db8:1::1: the probe did not reach the port" "$(state udp 50003)"
# natdiag listens on every port it tests with --via: a refusal from the target is this host's
# firewall (or the router's), never "closed" (nothing listening).
check_eq "v6 via: ICMPv6 port unreachable from the target, natdiag listening: filtered" "filtered|ICMPv6 port unreachable from $SERVER_IP6, though natdiag listens on this port here: a firewall on the way or on this host rejects it, or the router does not forward it here" "$(state udp 50004)"
check_eq "v6 via: TCP, admin-prohibited from the router: filtered" "filtered|serve's connection attempt got ICMPv6 administratively prohibited from 2001:db8:1::1" "$(state tcp 7881)"
check_eq "v6 via: TCP RST from the router's firewall: filtered" "filtered|connection refused (TCP RST), though natdiag listens on this port here: a firewall on the way or on this host rejects it, or the router does not forward it here" "$(state tcp 7882)"
check_eq "v6 via: TCP, ICMPv6 port unreachable from the target: filtered" "filtered|ICMPv6 port unreachable from $SERVER_IP6, though natdiag listens on this port here: a firewall on the way or on this host rejects it, or the router does not forward it here" "$(state tcp 7883)"
validates "v6 via"

echo "# IPv4 behind NAT: the router's firewall rejects forwarded ports"
in_ns router iptables -I FORWARD -i wan0 -p udp --dport 50001 -j REJECT --reject-with icmp-admin-prohibited
in_ns router iptables -I FORWARD -i wan0 -p udp --dport 50002 -j REJECT --reject-with icmp-host-unreachable
in_ns router iptables -I FORWARD -i wan0 -p udp --dport 50003 -j REJECT --reject-with icmp-net-prohibited
in_ns router iptables -I FORWARD -i wan0 -p tcp --dport 7881 -j REJECT --reject-with icmp-host-unreachable
in_ns router iptables -I FORWARD -i wan0 -p tcp --dport 80 -j REJECT --reject-with icmp-admin-prohibited
ports_json server --via "$OUTSIDE_IP" --udp 50000-50004 --tcp 80,443,7881
check_eq "v4 via: exit 1" 1 "$rc"
check_eq "v4 via: ICMP 3/13 admin-prohibited: filtered" "filtered|ICMP administratively prohibited from $PUBLIC_IP: a firewall rejects it" "$(state udp 50001)"
check_eq "v4 via: ICMP 3/1 host unreachable: filtered, never closed" "filtered|ICMP host unreachable from $PUBLIC_IP: the probe did not reach the port" "$(state udp 50002)"
check_eq "v4 via: ICMP 3/9 net prohibited: filtered" "filtered|ICMP administratively prohibited from $PUBLIC_IP: a firewall rejects it" "$(state udp 50003)"
check_eq "v4 via: UDP 50000 and 50004 open" "open open" "$(state udp 50000 | cut -d'|' -f1) $(state udp 50004 | cut -d'|' -f1)"
check_eq "v4 via: TCP host unreachable: filtered" "filtered|serve's connection attempt got ICMP host unreachable from $PUBLIC_IP" "$(state tcp 7881)"
check_eq "v4 via: TCP admin-prohibited: filtered" "filtered|serve's connection attempt got ICMP administratively prohibited from $PUBLIC_IP" "$(state tcp 80)"
check_eq "v4 via: no closed port" 0 "$(jqv "$json" '.udp.counts.closed + .tcp.counts.closed')"
validates "v4 via"

listen --udp 50000-50009 --tcp 80,443,7881
ports_json outside probe "$PUBLIC_IP" --udp 50000-50004 --tcp 80,443,7881 --code "$CODE"
check_eq "v4 probe: exit 1" 1 "$rc"
check_eq "v4 probe: ICMP admin-prohibited: filtered" "filtered|ICMP administratively prohibited from $PUBLIC_IP: a firewall rejects it" "$(state udp 50001)"
check_eq "v4 probe: ICMP host unreachable: filtered" "filtered|ICMP host unreachable from $PUBLIC_IP: the probe did not reach the port" "$(state udp 50002)"
check_eq "v4 probe: TCP host unreachable: filtered" "filtered|ICMP host unreachable from $PUBLIC_IP: the probe did not reach the port" "$(state tcp 7881)"
check_eq "v4 probe: TCP admin-prohibited: filtered" "filtered|ICMP administratively prohibited from $PUBLIC_IP: a firewall rejects it" "$(state tcp 80)"
check_eq "v4 probe: 443, 50000, 50004 open" "open open open" "$(state tcp 443 | cut -d'|' -f1) $(state udp 50000 | cut -d'|' -f1) $(state udp 50004 | cut -d'|' -f1)"
validates "v4 probe"

echo "# the probing host's own firewall: OUTPUT DROP (udp 50005-50009) and REJECT (tcp 443)"
in_ns outside iptables -A OUTPUT -p udp -d "$PUBLIC_IP" --dport 50005:50009 -j DROP
in_ns outside iptables -A OUTPUT -p tcp -d "$PUBLIC_IP" --dport 443 -j REJECT
ports_json outside probe "$PUBLIC_IP" --udp 50005-50009 --tcp 443 --code "$CODE"
check_eq "nothing left this host: exit 3, cannot-run" "3 cannot-run" "$rc $(jqv "$json" .error.kind)"
check_contains "nothing left this host: the errno's text" "Operation not permitted" "$(jqv "$json" .error.message)"
check_eq "nothing left this host: no port verdict, no advice" "null null" "$(jqv "$json" '"\(.udp) \(.advice)"')"
validates "cannot run"
ports_json outside probe "$PUBLIC_IP" --udp 50004-50009 --tcp 443,7881 --code "$CODE"
check_eq "some ports blocked here: exit 1" 1 "$rc"
check_eq "some ports blocked here: UDP 50005-50009 untested, with the errno" "untested|the probe could not be sent from this host: Operation not permitted" "$(state udp 50005)"
check_eq "some ports blocked here: UDP 50004 still open" "open" "$(state udp 50004 | cut -d'|' -f1)"
check_contains "some ports blocked here: TCP 443 untested, rejected by this host" "untested|ICMP port unreachable from this host ($OUTSIDE_IP)" "$(state tcp 443)"
check_eq "some ports blocked here: counts" "5 1 0 0" "$(jqv "$json" '"\(.udp.counts.untested) \(.tcp.counts.untested) \(.udp.counts.filtered) \(.udp.counts.closed)"')"
check_eq "some ports blocked here: advice names no untested port" "" "$(jqv "$json" '.advice | join("\n")' | grep -E '5000[5-9]|443' )"
validates "partly untested"
lab_wait_listen() { for i in $(seq 1 200); do grep -q "Not every port\|Every port" "$TMP/listen.log" && return; sleep 0.1; done; }

echo "# no IPv6 route on the probing host"
in_ns outside ip -6 route del default
ports_json outside probe "$SERVER_IP6" -6 --udp 50000-50009 --tcp 443 --code "$CODE"
check_eq "no IPv6 route: exit 3, cannot-run" "3 cannot-run" "$rc $(jqv "$json" .error.kind)"
check_contains "no IPv6 route: the errno's text" "Network is unreachable" "$(jqv "$json" .error.message)"
in_ns outside ip -6 route add default via 2001:db8:1::1
lab_wait_listen

echo "# serve --probe-back's own firewall drops some probes: untested, never filtered"
ports_json server --via "$OUTSIDE_IP" --udp 50004-50009 --tcp 443
check_eq "serve could not send: exit 1, verdict untested" "1 untested" "$rc $(jqv "$json" .verdict)"
check_eq "serve could not send: UDP 50005-50009 untested, with the errno" "untested|natdiag serve could not send the probe: the probe could not be sent from this host: Operation not permitted" "$(state udp 50005)"
check_contains "serve could not send: TCP 443 untested" "untested|natdiag serve could not try the connection: ICMP port unreachable from this host" "$(state tcp 443)"
check_eq "serve could not send: UDP 50004 open, no advice" "open 0" "$(state udp 50004 | cut -d'|' -f1) $(jqv "$json" '.advice | length')"
validates "via untested"
out=$(in_ns server "$NATDIAG" ports --via "$OUTSIDE_IP" --udp 50004-50009 2>&1)
check_contains "serve could not send, text: the verdict says so" "Not every port could be tested: UDP 50004 open, 50005-50009 untested (5 ports)" "$(head -1 <<<"$out")"
finish
