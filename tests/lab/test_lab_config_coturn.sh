#!/usr/bin/env bash
# natdiag config check end to end with a second real server: coturn inside the lab NAT (the
# router forwards 3478 and the relay ports to it), configured by a turnserver.conf that is
# Debian's stock file plus the lab's lines. config check (facts of a lab natdiag profile) says
# external-ip is missing; natdiag turn from outside sees the private relay address; after
# natdiag's --diff applied with GNU patch and a restart, the relay address is the public one,
# data goes through it, and config check is clean.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_config_coturn"
command -v turnserver >/dev/null || { echo "SKIPPED: lab_config_coturn needs coturn (apt-get install coturn)" >&2; exit 77; }

DATA=$(cd "$(dirname "$0")/../data" && pwd)
CONF=$TMP/turnserver.conf
cp "$COTURN_STOCK_CONF" "$CONF"
cat >>"$CONF" <<EOF2

# the lab: coturn on the server host behind the NAT, relays in the forwarded range
listening-ip=10.77.0.10
relay-ip=10.77.0.10
min-port=50000
max-port=50100
lt-cred-mech
user=natdiag:secretpw
realm=natdiag.test
no-tls
no-dtls
no-cli
log-file=stdout
simple-log
pidfile=$TMP/coturn.pid
EOF2

COTURN_PID=
coturn_start() {  # coturn_start LOG: coturn -c $CONF in the server namespace, until it listens (bounded)
  spawn "$1" "$NATLAB" exec "$LAB_NAME" server turnserver -c "$CONF"
  COTURN_PID=$!
  local i
  for i in $(seq 1 100); do
    in_ns server ss -Hlnt | grep -qF " $SERVER_IP:3478 " && return 0
    kill -0 "$COTURN_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "  (coturn did not come up:)"; tail -10 "$1" | sed 's/^/    /'
  return 1
}
coturn_stop() { [ -n "$COTURN_PID" ] && kill "$COTURN_PID" 2>/dev/null; wait "$COTURN_PID" 2>/dev/null; COTURN_PID=; }
turn_from_outside() {
  json=$(in_ns outside "$NATDIAG" turn "$PUBLIC_IP" --transport udp --user natdiag --password secretpw --timeout 2 --json)
  rc=$?
}
trap 'coturn_stop; lab_cleanup; cleanup' EXIT

lab_up cone,forwards,turn
serve_outside --probe-back --probe-per-minute 100
mkdir -p "$TMP/no-config"  # this host's own /etc/turnserver.conf stays out of the facts run
in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --for coturn --root "$TMP/no-config" --json >"$TMP/profile.json"
check_eq "profile: behind NAT, the router's public address, this host's address" "true $PUBLIC_IP $SERVER_IP" \
  "$(jq -r '"\(.behind_nat) \(.public_ipv4) \(.facts.local_ipv4)"' "$TMP/profile.json")"

# profile runs config check on the files at the standard paths (--root): a SIP profile's
# $${announce_ip} found in the vars.xml beside it, an old address there, a config- finding.
R3=$TMP/root3
mkdir -p "$R3/etc/freeswitch/sip_profiles"
sed 's/data="unroll_loops/data="announce_ip=198.51.100.30"\/>\n  <X-PRE-PROCESS cmd="set" data="unroll_loops/' \
  "$DATA/config/bigbluebutton/vars.xml" >"$R3/etc/freeswitch/vars.xml"
sed 's/\$\${external_rtp_ip}/$${announce_ip}/' "$DATA/config/bigbluebutton/external.xml" >"$R3/etc/freeswitch/sip_profiles/external.xml"
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --for freeswitch --root "$R3" --json)
check_eq "profile --root: the stale address where vars.xml sets it, from the SIP profile's \$\${announce_ip}" \
  "freeswitch-external-ip-stale /etc/freeswitch/vars.xml:$(grep -n announce_ip= "$R3/etc/freeswitch/vars.xml" | cut -d: -f1)" \
  "$(jq -r '.config.findings[] | select(.setting == "announce_ip") | "\(.id) \(.file | sub("^.*/root3"; "")):\(.line)"' <<<"$out")"
check_contains "... and among profile's findings" "config-freeswitch-external-ip-stale" "$(jq -r '.findings[].id' <<<"$out")"

out=$("$NATDIAG" config check --from "$TMP/profile.json" --file coturn="$CONF" --json); rc=$?
check_eq "config check: exit 1" 1 "$rc"
check_eq "config check: external-ip missing, critical, the measured pair" \
  "coturn-external-ip-missing critical $PUBLIC_IP/$SERVER_IP" \
  "$(jq -r '.findings[0] | "\(.id) \(.severity) \(.expected)"' <<<"$out")"

coturn_start "$TMP/coturn1.log"
turn_from_outside
check_eq "before: natdiag turn gets the private relay address" "$SERVER_IP" "$(jq -r '.uris[0].relayed_address | split(":")[0]' <<<"$json")"
coturn_stop

"$NATDIAG" config check --from "$TMP/profile.json" --file coturn="$CONF" --diff >"$TMP/fix.diff"
check_contains "the diff adds external-ip" "+external-ip=$PUBLIC_IP/$SERVER_IP" "$(cat "$TMP/fix.diff")"
check "GNU patch -d / -p1 applies natdiag's diff" patch -d / -p1 -s -F0 <"$TMP/fix.diff"

coturn_start "$TMP/coturn2.log"
turn_from_outside
check_eq "after: natdiag turn works (exit 0)" 0 "$rc"
check_eq "after: the relay address is the public one" "$PUBLIC_IP" "$(jq -r '.uris[0].relayed_address | split(":")[0]' <<<"$json")"
check_eq "after: data through the relay" 10 "$(jq -r '.uris[0].relay.channel_data.received' <<<"$json")"
coturn_stop
out=$("$NATDIAG" config check --from "$TMP/profile.json" --file coturn="$CONF"); rc=$?
check_eq "after: config check is clean (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out"

# The ports, measured: config check --via (as profile --via) tests coturn's documented ports from
# outside; the lab forwards UDP 50000-60000 only, so a relay range from 40000 is partly closed.
CONF2=$TMP/range.conf
grep -v '^m[ia][nx]-port=' "$CONF" >"$CONF2"
printf 'min-port=40000\nmax-port=50100\n' >>"$CONF2"
out=$(in_ns server "$NATDIAG" config check --server "$OUTSIDE_IP" --via "$OUTSIDE_IP" --for coturn \
  --file coturn="$CONF2" --json); rc=$?
check_eq "config check --via: exit 1" 1 "$rc"
check_eq "config check --via: the relay range's measured part that does not get through" "coturn-relay-range-not-open" \
  "$(jq -r '.findings[] | select(.why | test("49152-49999 (filtered|closed)")) | .id' <<<"$out")"
jq -e '.findings[] | select(.why | test("49152-49999 (filtered|closed)"))' <<<"$out" >/dev/null ||
  jq -r '.findings[] | "\(.id): \(.why)"' <<<"$out"
check_eq "config check --via: the finding is on min-port's line" "$(grep -n '^min-port=40000' "$CONF2" | cut -d: -f1)" \
  "$(jq -r '.findings[] | select(.id == "coturn-relay-range-not-open") | .line' <<<"$out")"
finish
