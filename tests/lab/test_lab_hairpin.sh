#!/usr/bin/env bash
# `natdiag hairpin` on the lab's server host (the target of the media-server forwards): the
# router with hairpin NAT on and off, the dummy NIC on lo, a real TLS server owning port 443
# (certificate comparison), the router's own "admin page" answering on the public address,
# the STUN-mapping check, /etc/hosts, timing, exit codes and bad input.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_hairpin"

hairpin() {  # hairpin HOST ARGS...: natdiag hairpin --json on a lab host; sets $json, $rc, $ms
  local host=$1 t0; shift
  t0=$(date +%s%N)
  json=$(in_ns "$host" "$NATDIAG" hairpin "$@" --json); rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
}
text() {  # text HOST ARGS...: the text output; sets $out and $rc
  local host=$1; shift
  out=$(in_ns "$host" "$NATDIAG" hairpin "$@"); rc=$?
}
result() { jqv "$json" "[.checks[] | select(.protocol == \"$1\" and .port == $2)][0].$3"; }
listening() {  # listening HOST PORT: waits (bounded) until a TCP listener owns the port there
  local i
  for i in $(seq 1 100); do in_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0; sleep 0.05; done
  echo "  (nothing listens on $1:$2)"; return 1
}
tls_server() {  # tls_server HOST NAME: openssl s_server on port 443 with a new self-signed cert
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$2" -keyout "$TMP/$2.key" -out "$TMP/$2.crt" 2>/dev/null
  spawn "$TMP/s_server-$2.log" "$NATLAB" exec "$LAB_NAME" "$1" openssl s_server -accept 443 -cert "$TMP/$2.crt" -key "$TMP/$2.key" -www -quiet
  listening "$1" 443
}
fingerprint() { openssl x509 -in "$TMP/$1.crt" -noout -fingerprint -sha256 | cut -d= -f2; }

ONLINE="Hairpin NAT: supported — this host reaches its own public address 203.0.113.1 through the router"
OFFLINE="Hairpin NAT: not supported — this host cannot reach its own public address 203.0.113.1"

echo "# hairpin on"
lab_up hairpin-on
hairpin server "$PUBLIC_IP" --udp 50000,55555
check_eq "on: exit 0" 0 "$rc"
check_eq "on: one JSON object, schema and command" "object natdiag/1 hairpin" "$(jqv "$json" '[type, .schema, .command] | join(" ")')"
check_eq "on: contract fields present" "[]" "$(jq -c '["schema","command","external_ip","external_ip_is_local","checks","dummy_nic","hostname","network_stack","advice"] - keys' <<<"$json")"
check_eq "on: dummy_nic fields present" "[]" "$(jq -c '["present","interface","needed","commands"] - (.dummy_nic | keys)' <<<"$json")"
check_eq "on: every check has protocol, port, result, detail" true "$(jqv "$json" '[.checks[] | has("protocol") and has("port") and has("result") and has("detail")] | all')"
check_eq "on: external_ip" "$PUBLIC_IP" "$(jqv "$json" .external_ip)"
check_eq "on: external_ip_is_local false" false "$(jqv "$json" .external_ip_is_local)"
check_eq "on: TCP 443 supported" supported "$(result tcp 443 result)"
check_eq "on: TCP 443 proven by natdiag's own nonce" nonce "$(result tcp 443 method)"
check_eq "on: TCP 80 supported" supported "$(result tcp 80 result)"
check_eq "on: UDP media port 50000 supported" supported "$(result udp 50000 result)"
check_eq "on: UDP media port 55555 supported" supported "$(result udp 55555 result)"
check_eq "on: the hairpinned TCP came from the router (SNAT)" "$ROUTER_LAN_IP" "$(result tcp 443 returned_from | cut -d: -f1)"
check_eq "on: verdict supported" supported "$(jqv "$json" .verdict)"
check_eq "on: dummy NIC absent and not needed, no commands" "false false 0" "$(jqv "$json" '[.dummy_nic.present, .dummy_nic.needed, (.dummy_nic.commands | length)] | join(" ")')"
check_eq "on: hostname null without --hostname" null "$(jqv "$json" .hostname)"
check_eq "on: no advice" 0 "$(jqv "$json" '.advice | length')"
hairpin server "$PUBLIC_IP"
check_eq "on, defaults: TCP 443 and 80, three sampled UDP ports" "tcp:443 tcp:80 udp udp udp" "$(jqv "$json" '[.checks[] | .protocol + (if .protocol == "tcp" then ":" + (.port | tostring) else "" end)] | join(" ")')"
check_eq "on, defaults: sampled ports are media ports" true "$(jqv "$json" '[.checks[] | select(.protocol == "udp") | .port >= 50000 and .port <= 60000] | all')"
check_eq "on, defaults: all supported, exit 0" "supported 0" "$(jqv "$json" '[.checks[].result] | unique | join(",")') $rc"
check "on, defaults: within the 2 s timeout (elapsed_ms $(jqv "$json" .elapsed_ms))" test "$(jqv "$json" '.elapsed_ms < 2000')" = true
check "on, defaults: wall time ${ms} ms < 2500 ms" test "$ms" -lt 2500
text server "$PUBLIC_IP"
check_eq "on: text starts with the verdict" "$ONLINE" "$(head -1 <<<"$out")"
check_contains "on: text shows each check aligned" "  TCP 443     supported      " "$out"
# From another LAN host the forwards lead to the server, not back to it: no hairpin for it.
hairpin client "$PUBLIC_IP" --tcp 443 --udp 50000
check_eq "on, from the client host: not supported there, exit 1" "not-supported 1" "$(jqv "$json" .verdict) $rc"
# The RFC 5780 §4.5 mapping check: Linux MASQUERADE does not hairpin mappings, and that
# finding does not decide the dummy NIC.
serve_outside
hairpin server "$PUBLIC_IP" --udp 50000 --stun "$OUTSIDE_IP"
mapping=$(jq -c '[.checks[] | select(.method == "stun-mapping")][0]' <<<"$json")
check_eq "on, --stun: the mapping check ran" udp "$(jqv "$mapping" .protocol)"
check_eq "on, --stun: MASQUERADE does not hairpin mappings" not-supported "$(jqv "$mapping" .result)"
check_contains "on, --stun: it names the mapped address" "STUN-mapped address $PUBLIC_IP:" "$(jqv "$mapping" .detail)"
check_eq "on, --stun: the verdict stays supported, exit 0" "supported 0" "$(jqv "$json" .verdict) $rc"
check_contains "on, --stun: advice about mappings" "RFC 4787 REQ-9" "$(jqv "$json" '.advice | join(" ")')"
check_eq "on, --stun: the measured public address" "$PUBLIC_IP true" "$(jqv "$json" '"\(.measured_public_ip) \(.external_ip_is_public)"')"
# Issue 10 defect 9: EXTERNAL_IP is the STUN server's address, not this host's.
hairpin server "$OUTSIDE_IP" --udp 50000 --stun "$OUTSIDE_IP"
check_eq "not this host's address: external_ip_is_public false, measured $PUBLIC_IP" "false $PUBLIC_IP" "$(jqv "$json" '"\(.external_ip_is_public) \(.measured_public_ip)"')"
check_eq "not this host's address: no dummy-NIC command, need unknown" "0 null" "$(jqv "$json" '"\(.dummy_nic.commands | length) \(.dummy_nic.needed)"')"
check_contains "not this host's address: said first" "$OUTSIDE_IP is not this host's public address" "$(jqv "$json" '.advice[0]')"
check "not this host's address: no 'ip addr add $OUTSIDE_IP' anywhere" bash -c "! grep -qF 'ip addr add $OUTSIDE_IP' <<<\"\$1\"" _ "$json"
check_contains "not this host's address: points at the measured one" "natdiag hairpin $PUBLIC_IP" "$(jqv "$json" '.advice[0]')"
text server "$OUTSIDE_IP" --udp 50000 --stun "$OUTSIDE_IP"
check_eq "not this host's address: the text says so first" "Hairpin NAT: $OUTSIDE_IP is not this host's public address — a STUN server sees this host as $PUBLIC_IP" "$(head -1 <<<"$out")"
check "not this host's address: text has no dummy-NIC command" bash -c "! grep -q 'ip addr add' <<<\"\$1\"" _ "$out"
# A real TLS server owns 443: natdiag cannot listen there and compares certificates instead.
tls_server server bbb.lab.example
hairpin server "$PUBLIC_IP" --tcp 443 --udp 50000
check_eq "on, TLS server on 443: supported" supported "$(result tcp 443 result)"
check_eq "on, TLS server on 443: decided by the certificate" tls-certificate "$(result tcp 443 method)"
check_contains "on, TLS server on 443: detail says so" "TLS certificate via $PUBLIC_IP:443 is the one" "$(result tcp 443 detail)"
check_contains "on, TLS server on 443: --explain gives the full fingerprint" "$(fingerprint bbb.lab.example)" \
  "$(in_ns server "$NATDIAG" hairpin "$PUBLIC_IP" --tcp 443 --udp 50000 --explain)"
# A plain HTTP server owns 80: the same request on both paths, compared.
mkdir -p "$TMP/site" && echo hello >"$TMP/site/index.html"
spawn "$TMP/http.log" "$NATLAB" exec "$LAB_NAME" server python3 -m http.server 80 --bind 0.0.0.0 --directory "$TMP/site"
listening server 80
hairpin server "$PUBLIC_IP" --tcp 80 --udp 50000
check_eq "on, HTTP server on 80: supported by comparing answers" "supported response-bytes" "$(result tcp 80 result) $(result tcp 80 method)"
lab_down

echo "# hairpin off"
lab_up hairpin-off
hairpin server "$PUBLIC_IP" --udp 50000
check_eq "off: exit 1" 1 "$rc"
check_eq "off: TCP 443 not-supported" not-supported "$(result tcp 443 result)"
check_eq "off: TCP 80 not-supported" not-supported "$(result tcp 80 result)"
check_eq "off: UDP 50000 not-supported" not-supported "$(result udp 50000 result)"
check_eq "off: verdict not-supported" not-supported "$(jqv "$json" .verdict)"
check_eq "off: dummy NIC needed, not present" "true false" "$(jqv "$json" '[.dummy_nic.needed, .dummy_nic.present] | join(" ")')"
check_eq "off: the command to add it now" true "$(jqv "$json" '.dummy_nic.commands | index("ip addr add 203.0.113.1/32 dev lo") != null')"
check_contains "off: advice carries the command" "ip addr add 203.0.113.1/32 dev lo" "$(jqv "$json" '.advice | join("\n")')"
check_contains "off: advice warns about other LAN hosts" "Other LAN hosts" "$(jqv "$json" '.advice | join(" ")')"
check "off: quick (ICMP and RST, ${ms} ms)" test "$ms" -lt 1500
# The router rate-limits ICMP: after a few runs the UDP probes meet silence. They then wait a
# window derived from the path's RTT (measured by the TCP checks), not the whole timeout.
for _ in 1 2 3; do hairpin server "$PUBLIC_IP" --udp 50001,50002,50003,50004,50005; done
check_contains "off, ICMP rate-limited: the silence window comes from the path's RTT" "round trips of the path" "$(jqv "$json" '[.checks[] | select(.protocol == "udp") | .why] | join("\n")')"
check_eq "off, ICMP rate-limited: still not-supported" not-supported "$(jqv "$json" .verdict)"
text server "$PUBLIC_IP"
check_eq "off: text starts with the verdict" "$OFFLINE" "$(head -1 <<<"$out")"
check_contains "off: text says what to do" "What to do:" "$out"
check_contains "off: text has the exact command" "      ip addr add 203.0.113.1/32 dev lo" "$out"
# --hostname against getaddrinfo and /etc/hosts (a private mount namespace gets a test file).
{ echo "127.0.0.1 localhost"; echo "$SERVER_IP bbb.lab.example"; } >"$TMP/hosts-wrong"
{ echo "127.0.0.1 localhost"; echo "$PUBLIC_IP bbb.lab.example"; } >"$TMP/hosts-right"
with_hosts() { local f=$1; shift; in_ns server unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$f" "$@"; }
json=$(with_hosts "$TMP/hosts-wrong" "$NATDIAG" hairpin "$PUBLIC_IP" --udp 50000 --hostname bbb.lab.example --json)
check_eq "off, /etc/hosts points elsewhere: not ok" "false $SERVER_IP" "$(jqv "$json" '[.hostname.ok, .hostname.resolves_to[0]] | join(" ")')"
check_eq "off, /etc/hosts points elsewhere: the line to use" "$PUBLIC_IP bbb.lab.example" "$(jqv "$json" .hostname.etc_hosts_line)"
check_contains "off, /etc/hosts points elsewhere: advice gives the line" "$PUBLIC_IP bbb.lab.example" "$(jqv "$json" '.advice | join("\n")')"
check_contains "off, /etc/hosts points elsewhere: the line to change (first match wins)" "Line 2 of /etc/hosts maps bbb.lab.example to $SERVER_IP" "$(jqv "$json" '.advice | join("\n")')"
check_eq "off, /etc/hosts points elsewhere: the first match in JSON" "2 $SERVER_IP" "$(jqv "$json" '"\(.hostname.etc_hosts_first_match.line) \(.hostname.etc_hosts_first_match.ip)"')"
{ echo "127.0.0.1 localhost"; echo "$SERVER_IP bbb.lab.example"; echo "$PUBLIC_IP bbb.lab.example"; } >"$TMP/hosts-both"
json=$(with_hosts "$TMP/hosts-both" "$NATDIAG" hairpin "$PUBLIC_IP" --udp 50000 --hostname bbb.lab.example --json)
check_eq "off, /etc/hosts has the right line second: still not ok" false "$(jqv "$json" .hostname.ok)"
check_contains "off, /etc/hosts has the right line second: change line 2, not append" "Line 2 of /etc/hosts" "$(jqv "$json" '.advice | join("\n")')"
json=$(with_hosts "$TMP/hosts-wrong" "$NATDIAG" hairpin "$PUBLIC_IP" --udp 50000 --hostname 198.51.100.7 --json)
check_eq "off, --hostname is an IP: no /etc/hosts line" null "$(jqv "$json" .hostname.etc_hosts_line)"
check "off, --hostname is an IP: never 'IP IP'" bash -c "! grep -qF '$PUBLIC_IP 198.51.100.7' <<<\"\$1\"" _ "$json"
json=$(with_hosts "$TMP/hosts-right" "$NATDIAG" hairpin "$PUBLIC_IP" --udp 50000 --hostname bbb.lab.example --json)
check_eq "off, /etc/hosts right: ok, no line" "true null" "$(jqv "$json" '[.hostname.ok, .hostname.etc_hosts_line] | map(tostring) | join(" ")')"
# A TLS server on the server host owns 443; with no hairpin it must never look supported.
tls_server server bbb.lab.example
hairpin server "$PUBLIC_IP" --tcp 443 --udp 50000
check_eq "off, TLS server on 443: compared by certificate" tls-certificate "$(result tcp 443 method)"
check "off, TLS server on 443: never supported ($(result tcp 443 result))" test "$(result tcp 443 result)" != supported
# The router answers on its public address itself, as routers' admin pages do: a different
# certificate on 443, and on 80 an HTTP server that never sees natdiag's nonce.
tls_server router router.admin
mkdir -p "$TMP/admin" && echo admin >"$TMP/admin/index.html"
spawn "$TMP/admin.log" "$NATLAB" exec "$LAB_NAME" router python3 -m http.server 80 --bind "$PUBLIC_IP" --directory "$TMP/admin"
listening router 80
hairpin server "$PUBLIC_IP" --tcp 443,80 --udp 50000
check_eq "off, router admin page on 443: not-supported" not-supported "$(result tcp 443 result)"
check_contains "off, router admin page on 443: a different certificate" "different TLS certificate" "$(result tcp 443 detail)"
check_eq "off, router web server on 80: not-supported (something answered, not us)" not-supported "$(result tcp 80 result)"
check_contains "off, router web server on 80: it says what answered" "accepted the connection but it never reached this host" "$(result tcp 80 detail)"
# Without root natdiag cannot listen on low ports; it still compares with a service that owns one.
if in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NATDIAG"; then
  json=$(in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups "$NATDIAG" hairpin "$PUBLIC_IP" --tcp 444 --udp 80 --json); rc=$?
  check_eq "off, unprivileged, only low free ports: cannot run, exit 3" 3 "$rc"
  check_contains "off, unprivileged: says why" "ports below 1024 need root" "$(jqv "$json" '.checks[0].detail')"
  json=$(in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups "$NATDIAG" hairpin "$PUBLIC_IP" --tcp 443 --udp 50000 --json)
  check_eq "off, unprivileged: 443 still decided by the certificate" "not-supported tls-certificate" "$(result tcp 443 result) $(result tcp 443 method)"
fi
# The dummy NIC: the public address on the server's lo.
in_ns server ip addr add "$PUBLIC_IP/32" dev lo
hairpin server "$PUBLIC_IP" --udp 50000
check_eq "dummy NIC: exit 0" 0 "$rc"
check_eq "dummy NIC: present on lo, not needed" "true lo false" "$(jqv "$json" '[.dummy_nic.present, .dummy_nic.interface, .dummy_nic.needed] | join(" ")')"
check_eq "dummy NIC: external_ip_is_local" true "$(jqv "$json" .external_ip_is_local)"
check_eq "dummy NIC: verdict not-needed" not-needed "$(jqv "$json" .verdict)"
check_eq "dummy NIC: the TLS service answers on the public address (same certificate)" supported "$(result tcp 443 result)"
check_contains "dummy NIC: the detail says it stayed local" "locally, as $PUBLIC_IP is on lo" "$(result tcp 443 detail)"
check_contains "dummy NIC: the warning about other LAN hosts" "Other LAN hosts" "$(jqv "$json" '.advice | join(" ")')"
text server "$PUBLIC_IP" --udp 50000
check_contains "dummy NIC: text starts with the verdict" "Hairpin NAT: not needed — $PUBLIC_IP is on lo (dummy NIC)" "$(head -1 <<<"$out")"
lab_down

echo "# bad input"
for args in "not-an-ip" "1.2.3.4 --tcp 70000" "1.2.3.4 --udp 0" "1.2.3.4 --bogus" "''" "127.0.0.1" \
  "1.2.3.4 --timeout 0" "1.2.3.4 5.6.7.8" "1.2.3.4 --stun stuns:x.example" "1.2.3.4 --hostname 'a b'" "1.2.3.4 --tcp 1-100"; do
  err=$(eval "\"$NATDIAG\" hairpin $args" 2>&1 >/dev/null); rc=$?
  check_eq "hairpin $args: exit 2" 2 "$rc"
  check_lines "hairpin $args: one line" 1 "$err"
done
err=$("$NATDIAG" hairpin not-an-ip 2>&1 >/dev/null)
check_contains "the line names the bad address" "'not-an-ip'" "$err"
err=$("$NATDIAG" hairpin 1.2.3.4 --tcp 70000 2>&1 >/dev/null)
check_contains "the line names the bad port" "'70000'" "$err"
err=$("$NATDIAG" hairpin 1.2.3.4 --udp 0 2>&1 >/dev/null)
check_contains "the line names the bad UDP port" "--udp must be a port from 1 to 65535, got '0'" "$err"
err=$("$NATDIAG" hairpin 1.2.3.4 --bogus 2>&1 >/dev/null)
check_contains "the line names the unknown flag" "bogus" "$err"
finish
