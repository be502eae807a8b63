#!/usr/bin/env bash
# `natdiag serve` outside the lab NAT, probed from inside: the kernel's NAT is what the
# tools see, and coturn's RFC 5780 client agrees with each flavour's expected behaviour.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_serve"

natdiscovery() {  # coturn's RFC 5780 client, run on HOST against natdiag serve outside
  local host=$1; shift
  in_ns "$host" timeout 30 turnutils_natdiscovery "$@" "$OUTSIDE_IP" 2>&1
}

echo "# cone (MASQUERADE)"
lab_up cone
serve_outside
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --json --local "$SERVER_IP:41000")
check_eq "cone: binding success from inside" success "$(jqv "$json" .binding)"
check_eq "cone: mapped address is the router's public address" "$PUBLIC_IP" "$(jqv "$json" .mapped_address | cut -d: -f1)"
check_eq "cone: behind NAT" true "$(jqv "$json" .behind_nat)"
first=$(jqv "$json" .mapped_address)
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP2" --json --local "$SERVER_IP:41000")
check_eq "cone: same mapping towards the second address (endpoint-independent)" "$first" "$(jqv "$json" .mapped_address)"
out=$(natdiscovery server -m -f)
check_contains "cone: coturn natdiscovery sees Endpoint Independent Mapping" "NAT with Endpoint Independent Mapping" "$out"
check_contains "cone: coturn natdiscovery sees Address and Port Dependent Filtering" "NAT with Address and Port Dependent Filtering" "$out"
lab_down

echo "# symmetric (MASQUERADE --random-fully)"
lab_up symmetric
serve_outside
a=$(in_ns client "$NATDIAG" stun "$OUTSIDE_IP" --json --local "$CLIENT_IP:41000" | jq -r .mapped_address)
b=$(in_ns client "$NATDIAG" stun "$OUTSIDE_IP2" --json --local "$CLIENT_IP:41000" | jq -r .mapped_address)
check_eq "symmetric: mapped IP is the public address" "$PUBLIC_IP" "${a%:*}"
check "symmetric: different mapped ports for different destinations ($a vs $b)" test "$a" != "$b"
out=$(natdiscovery client -m)
check_contains "symmetric: coturn natdiscovery sees Address and Port Dependent Mapping" "NAT with Address and Port Dependent Mapping" "$out"
lab_down

echo "# full cone (fixed port plus DNAT back to the server)"
lab_up fullcone
serve_outside
out=$(natdiscovery server -m -f)
check_contains "fullcone: coturn natdiscovery sees Endpoint Independent Mapping" "NAT with Endpoint Independent Mapping" "$out"
check_contains "fullcone: coturn natdiscovery sees Endpoint Independent Filtering" "NAT with Endpoint Independent Filtering" "$out"
lab_down

echo "# no NAT (routed public address)"
lab_up nonat
serve_outside
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --json)
check_eq "nonat: mapped address is the server's own public address" "$SERVER_PUBLIC_IP" "$(jqv "$json" .mapped_address | cut -d: -f1)"
check_eq "nonat: not behind NAT" false "$(jqv "$json" .behind_nat)"
lab_down

echo "# UDP blocked"
lab_up udp-blocked
serve_outside
out=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --timeout 1); rc=$?
check_eq "udp-blocked: UDP binding fails, exit 1" 1 "$rc"
out=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --transport tcp --timeout 2); rc=$?
check_eq "udp-blocked: TCP binding still works, exit 0" 0 "$rc"
check_contains "udp-blocked: TCP mapped to the public address" "Mapped address: $PUBLIC_IP:" "$out"
lab_down

echo "# IPv6 (routed, no NAT)"
lab_up cone
spawn "$TMP/serve6.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP6" --alternate "$OUTSIDE_IP6_2"
wait_for_text "$TMP/serve6.log" "natdiag serve: ready"
json=$(in_ns server "$NATDIAG" stun "$OUTSIDE_IP6" --json)
check_eq "IPv6: success" success "$(jqv "$json" .binding)"
check_eq "IPv6: mapped is the server's global address" "[$SERVER_IP6]" "$(jqv "$json" .mapped_address | sed 's/:[0-9]*$//')"
check_eq "IPv6: OTHER-ADDRESS in [v6]:port form" "[$OUTSIDE_IP6_2]:3479" "$(jqv "$json" .other_address)"
lab_down
finish
