#!/usr/bin/env bash
# `natdiag turn` in the NAT lab against Debian's coturn, started with Debian's stock
# /etc/turnserver.conf (tests/data/turnserver-debian12.conf) plus command-line options:
#   cone:        natdiag inside the NAT, coturn outside: long-term credentials and TURN REST over
#                UDP, TCP and TLS (--insecure and --ca-file), relay round trips, nothing left
#                allocated (coturn's log), wrong password, wrong secret, expired --ttl; --audit
#                against an open and a hardened coturn, with iptables counters proving that no
#                datagram went to an audited address
#   udp-blocked: "UDP blocked, TCP works"
#   cone,forwards,turn: coturn inside the NAT reached through the forwarded 3478 from outside:
#                without external-ip the private relay address is flagged with the fix; with it,
#                not; from the TURN host itself the public relay is untested (no hairpin), not
#                "relay ports blocked".
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_turn"
command -v turnserver >/dev/null || { echo "turnserver (coturn) is not installed: run scripts/setup.sh" >&2; exit 1; }
STOCK_CONF=$(cd "$(dirname "$0")/../data" && pwd)/turnserver-debian12.conf

turn_on() {  # turn_on HOST ARGS...: natdiag turn --json on a lab host; sets $json and $rc
  local host=$1; shift
  json=$(in_ns "$host" "$NATDIAG" turn "$@" --json); rc=$?
}
# coturn_on HOST NAME ARGS...: coturn with Debian's stock configuration (which logs to syslog)
# unless CONF names another file; ready when it listens on its --listening-ip, TCP 3478.
coturn_on() {
  local host=$1 name=$2 ip="" i a; shift 2
  for a in "$@"; do [ "$ip" = next ] && ip=$a; [ "$a" = --listening-ip ] && ip=next; done
  spawn "$TMP/$name.log" "$NATLAB" exec "$LAB_NAME" "$host" turnserver -c "${CONF:-$STOCK_CONF}" \
    --no-cli --no-dtls --log-file stdout --simple-log -v --pidfile "$TMP/$name.pid" "$@"
  for i in $(seq 1 100); do
    in_ns "$host" ss -Hlnt | grep -qF " $ip:3478 " && break
    sleep 0.05
  done
  sleep 0.2
}
coturn_stop() { [ -f "$TMP/$1.pid" ] && kill "$(cat "$TMP/$1.pid")" 2>/dev/null; sleep 0.2; }
uris_field() { jq -r "[.uris[] | $1] | map(tostring) | join(\" \")" <<<"$json"; }

openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=turn.natdiag.test \
  -addext "subjectAltName=IP:203.0.113.10,IP:203.0.113.11" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1

echo "# cone: coturn outside, long-term credentials, UDP + TCP + TLS"
lab_up cone
: >"$TMP/empty.conf"
# An empty configuration here, so that coturn's log (not syslog) shows every session.
CONF=$TMP/empty.conf coturn_on outside lt --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" --min-port 49160 --max-port 49199 \
  --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --lt-cred-mech --user natdiag:secretpw --realm natdiag.test
turn_on server "$OUTSIDE_IP" --user natdiag --password secretpw --insecure
check_eq "lt: exit 0" 0 "$rc"
check_eq "lt: UDP, TCP 3478 and TLS 5349" "udp tcp tls" "$(uris_field .transport)"
check_eq "lt: all working" "true true true" "$(uris_field .working)"
check_eq "lt: relay on coturn's address" "$OUTSIDE_IP $OUTSIDE_IP $OUTSIDE_IP" "$(uris_field '.relayed_address | split(":")[0]')"
check_eq "lt: mapped is the NAT's public address" "$PUBLIC_IP $PUBLIC_IP $PUBLIC_IP" "$(uris_field '.mapped_address | split(":")[0]')"
check_eq "lt: Send/Data through the NAT both ways" "10 10 10" "$(uris_field .relay.send_data.received)"
check_eq "lt: ChannelData through the NAT both ways" "10 10 10" "$(uris_field .relay.channel_data.received)"
check_eq "lt: RTT measured" "true" "$(jqv "$json" '[.uris[].relay[].rtt_avg_ms | type=="number"] | all')"
check_eq "lt: released" "true true true" "$(uris_field .released)"
check_eq "lt: no findings but the info ones" "" "$(jq -r '[.uris[].findings[] | select(.severity!="info")] | map(.id) | join(" ")' <<<"$json")"
turn_on server "turns:$OUTSIDE_IP" --user natdiag --password secretpw --ca-file "$TMP/cert.pem"
check_eq "lt: TLS --ca-file verified, exit 0" "0 true" "$rc $(jqv "$json" '.uris[0].tls.verified')"
check_contains "lt: certificate names shown" "$OUTSIDE_IP" "$(jqv "$json" '.uris[0].tls.names | join(",")')"
turn_on server "turn:$OUTSIDE_IP" --user natdiag --password nope
check_eq "lt: wrong password: exit 1" 1 "$rc"
check_contains "lt: wrong password: in words" "wrong credentials" "$(jqv "$json" '.uris[0].verdict')"
sleep 1.5
check_eq "lt: coturn closed every session it made (Refresh lifetime 0)" \
  "$(grep -c ': new, realm=' "$TMP/lt.log")" "$(grep -c 'closed (2nd stage)' "$TMP/lt.log")"
check_eq "lt: coturn logged lifetime=0 refreshes" 4 "$(grep -c 'username=<natdiag>, lifetime=0' "$TMP/lt.log")"

echo "# cone: natdiag profile --turn includes the check"
pjson=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --turn "turn:$OUTSIDE_IP" --user natdiag --password secretpw --json)
check_eq "profile --turn: the check ran and works" "true 5" "$(jqv "$pjson" '"\(.turn_check.working) \(.turn_check.relay.send_data.received)"')"
check_eq "profile --turn: no turn finding" "" "$(jq -r '[.findings[].id | select(startswith("turn-"))] | join(" ")' <<<"$pjson")"
pjson=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --turn "turn:$OUTSIDE_IP" --user natdiag --password nope --json)
check_eq "profile --turn, wrong password: the check says so" wrong-credentials "$(jqv "$pjson" .turn_check.problem)"
check_contains "profile --turn, wrong password: a finding in words" "wrong credentials" \
  "$(jq -r '.findings[] | select(.id=="turn-not-working") | .message' <<<"$pjson")"

echo "# cone: TURN REST (use-auth-secret) on the second address"
coturn_on outside rest --listening-ip "$OUTSIDE_IP2" --relay-ip "$OUTSIDE_IP2" --min-port 49200 --max-port 49239 \
  --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --use-auth-secret --static-auth-secret northwind --realm natdiag.test
turn_on server "$OUTSIDE_IP2" --secret northwind --insecure
check_eq "rest: exit 0" 0 "$rc"
check_eq "rest: all working" "true true true" "$(uris_field .working)"
check_eq "rest: released" "true true true" "$(uris_field .released)"
turn_on server "turn:$OUTSIDE_IP2" --secret wrong
check_eq "rest: wrong secret: exit 1" 1 "$rc"
check_contains "rest: wrong secret: named" "does not match the server's static-auth-secret" "$(jqv "$json" '.uris[0].verdict')"
turn_on server "turn:$OUTSIDE_IP2" --secret northwind --ttl -3600
check_eq "rest: expired --ttl: exit 1" 1 "$rc"
check_contains "rest: expired --ttl: named" "TURN REST credentials expired" "$(jqv "$json" '.uris[0].verdict')"
coturn_stop rest

echo "# cone: --audit, coturn open (allow-loopback-peers, no denied ranges)"
count_rules() {  # count UDP datagrams the outside host sends to audited ranges (loopback included)
  local r
  for r in 127.0.0.0/8 0.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 169.254.0.0/16 224.0.0.0/4; do
    in_ns outside iptables -w 5 "$1" OUTPUT -p udp -d "$r" -j ACCEPT
  done
  for r in ::1/128 fc00::/7 fe80::/10 ff00::/8; do
    in_ns outside ip6tables -w 5 "$1" OUTPUT -p udp -d "$r" -j ACCEPT
  done
}
audited_datagrams() {  # UDP datagrams the outside host sent to audited ranges so far
  { in_ns outside iptables -w 5 -L OUTPUT -v -n -x; in_ns outside ip6tables -w 5 -L OUTPUT -v -n -x; } |
    awk '$3=="ACCEPT" {s+=$1} END {print s+0}'
}
count_rules -I
coturn_stop lt
coturn_on outside open --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP6" --min-port 49160 --max-port 49199 \
  --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --allow-loopback-peers --no-tls
turn_on server "turn:$OUTSIDE_IP" --user natdiag --password secretpw --audit
check_eq "audit open: exit 1" 1 "$rc"
check_eq "audit open: the relay still works" true "$(jqv "$json" '.uris[0].working')"
check_eq "audit open: loopback and private flagged" "audit-loopback audit-private" \
  "$(jq -r '[.uris[0].findings[].id | select(. == "audit-loopback" or . == "audit-private")] | join(" ")' <<<"$json")"
check_contains "audit open: the fix lines" "denied-peer-ip=10.0.0.0-10.255.255.255" "$(jq -r '[.uris[0].findings[].fix[]] | join(" ")' <<<"$json")"
check_eq "audit open: SOFTWARE reported" software-announced "$(jqv "$json" '.uris[0].findings[] | select(.id=="software-announced") | .id')"
check_eq "audit open: IPv6 targets on a second, IPv6 allocation: ::1 and fd00::1 granted" "accepted accepted" \
  "$(jq -r '[.uris[0].audit[] | select(.address=="::1" or .address=="fd00::1") | .outcome] | join(" ")' <<<"$json")"
sent=$(audited_datagrams)
check_eq "audit open: not one datagram to an audited address (iptables counters)" 0 "$sent"
coturn_stop open
coturn_on outside hardened --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP6" --min-port 49160 --max-port 49199 \
  --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --no-tls --no-multicast-peers \
  --denied-peer-ip=0.0.0.0-0.255.255.255 --denied-peer-ip=10.0.0.0-10.255.255.255 \
  --denied-peer-ip=172.16.0.0-172.31.255.255 --denied-peer-ip=192.168.0.0-192.168.255.255 \
  --denied-peer-ip=100.64.0.0-100.127.255.255 --denied-peer-ip=169.254.0.0-169.254.255.255 \
  --denied-peer-ip=224.0.0.0-239.255.255.255 --no-software-attribute \
  --denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
  --denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
turn_on server "turn:$OUTSIDE_IP" --user natdiag --password secretpw --audit
check_eq "audit hardened: exit 0" 0 "$rc"
check_eq "audit hardened: no findings" "[]" "$(jq -c '[.uris[0].findings[].id]' <<<"$json")"
check_eq "audit hardened: every target refused, IPv4 and IPv6" "refused" "$(jq -r '[.uris[0].audit[] | .outcome] | unique | join(",")' <<<"$json")"
check_eq "audit hardened: both families asked (14 targets; the server address is the relay's)" 14 "$(jq -r '.uris[0].audit | length' <<<"$json")"
sent=$(audited_datagrams)
check_eq "audit hardened: still no datagram to an audited address" 0 "$sent"
coturn_stop hardened
lab_down

echo "# udp-blocked: UDP blocked, TCP works"
lab_up udp-blocked
coturn_on outside ub --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" --min-port 49160 --max-port 49199 \
  --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --no-tls
turn_on server "$OUTSIDE_IP" --transport udp,tcp --user natdiag --password secretpw --timeout 1.5
check_eq "udp-blocked: exit 1" 1 "$rc"
check_eq "udp-blocked: UDP no answer; TCP allocates, but its UDP relay cannot pass either" \
  "no-answer relay-no-data" "$(uris_field .problem)"
check_eq "udp-blocked: TCP allocated" "$OUTSIDE_IP" "$(jqv "$json" '.uris[1].relayed_address | split(":")[0]')"
check_eq "udp-blocked: the finding" udp-blocked "$(jqv "$json" '.findings[0].id')"
check_contains "udp-blocked: in words" "UDP blocked, TCP works" "$(jqv "$json" '.findings[0].message')"
lab_down

echo "# cone,forwards,turn: coturn inside the NAT, reached through the forwarded 3478"
lab_up cone,forwards,turn
coturn_on server inside --listening-ip "$SERVER_IP" --relay-ip "$SERVER_IP" --min-port 50000 --max-port 50100 \
  --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --no-tls
turn_on outside "$PUBLIC_IP" --transport udp,tcp --user natdiag --password secretpw --timeout 2
check_eq "inside, no external-ip: exit 1" 1 "$rc"
check_eq "inside, no external-ip: relay is private" "$SERVER_IP $SERVER_IP" "$(uris_field '.relayed_address | split(":")[0]')"
check_eq "inside, no external-ip: flagged" "relay-private relay-private" "$(uris_field .problem)"
check_eq "inside, no external-ip: the fix names the measured pair" "external-ip=$PUBLIC_IP/$SERVER_IP" \
  "$(jqv "$json" '.uris[0].findings[] | select(.id=="relay-private") | .fix[0]')"
coturn_stop inside
coturn_on server inside2 --listening-ip "$SERVER_IP" --relay-ip "$SERVER_IP" --min-port 50000 --max-port 50100 \
  --lt-cred-mech --user natdiag:secretpw --realm natdiag.test --no-tls --external-ip "$PUBLIC_IP/$SERVER_IP"
turn_on outside "$PUBLIC_IP" --transport udp,tcp --user natdiag --password secretpw --timeout 2
check_eq "inside, external-ip: exit 0" 0 "$rc"
check_eq "inside, external-ip: relay is the public address" "$PUBLIC_IP $PUBLIC_IP" "$(uris_field '.relayed_address | split(":")[0]')"
check_eq "inside, external-ip: data through the forwarded relay ports" "10 10" "$(uris_field .relay.channel_data.received)"
check_eq "inside, external-ip: not flagged" "" "$(jq -r '[.uris[].findings[] | select(.id=="relay-private") | .id] | join(" ")' <<<"$json")"
# From the TURN host itself, at its private address: the public relay address needs hairpin NAT
# (this router has none), so silence cannot tell blocked relay ports from that.
turn_on server "turn:$SERVER_IP" --user natdiag --password secretpw --timeout 2 --count 2
check_eq "inside, from the TURN host: relay unknown (not failed), a warning: exit 1" "1 null hairpin-or-blocked null" \
  "$rc $(jqv "$json" '"\(.uris[0].working) \(.uris[0].relay_unknown) \(.uris[0].problem)"')"
check_eq "inside, from the TURN host: the finding, no firewall advice" "relay-untested-hairpin warning []" \
  "$(jqv "$json" '.uris[0].findings[] | select(.id | startswith("relay-")) | "\(.id) \(.severity) \(.fix)"')"
check_eq "inside, from the TURN host: min-port named nowhere" 0 "$(grep -c "min-port" <<<"$json")"
lab_down
finish
