#!/usr/bin/env bash
# The README's first command: builds natdiag if needed, builds a NAT lab (a media server
# behind a cone NAT that forwards its media ports, no hairpin), runs natdiag serve on the
# "Internet" side and natdiag's tests from the media server, shows the results, tears down.
# Needs root (network namespaces). Everything stays inside namespaces this script creates.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces, iptables)" >&2; exit 3; }
[ -x build/natdiag ] || scripts/setup.sh
NATLAB=scripts/natlab.sh
eval "$($NATLAB up hairpin-off)"
SERVE_PID="" TURN_PID=""
EMPTY_CONF=$(mktemp)
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  [ -n "$TURN_PID" ] && kill "$TURN_PID" 2>/dev/null
  rm -f "$EMPTY_CONF"
  $NATLAB down "$LAB_NAME" >/dev/null 2>&1
}
trap cleanup EXIT

echo "== The lab ($LAB_NAME)"
echo "   media server $SERVER_IP  --  router (cone NAT, public $PUBLIC_IP, forwards udp ${MEDIA_PORTS:-none},"
echo "   tcp 80/443/7881, no hairpin)  --  Internet: natdiag serve on $OUTSIDE_IP and $OUTSIDE_IP2"
$NATLAB exec "$LAB_NAME" outside build/natdiag serve --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" \
  --probe-back >/dev/null 2>&1 &
SERVE_PID=$!
# coturn from Debian as the TURN server outside (port 3490: serve holds 3478-3480).
$NATLAB exec "$LAB_NAME" outside turnserver -c "$EMPTY_CONF" --no-cli --no-tls --no-dtls \
  --listening-ip "$OUTSIDE_IP" --listening-port 3490 --relay-ip "$OUTSIDE_IP" --min-port 49160 \
  --max-port 49199 --lt-cred-mech --user demo:demopw --realm natdiag.test --log-file stdout >/dev/null 2>&1 &
TURN_PID=$!
for _ in $(seq 1 50); do $NATLAB exec "$LAB_NAME" outside ss -Hlnu | grep -q ":3478 " && break; sleep 0.05; done

run() {  # run CMD...: show and run a natdiag command on the media server
  echo
  echo "== media-server\$ natdiag $*"
  $NATLAB exec "$LAB_NAME" server build/natdiag "$@" || echo "(exit $?)"
}
run stun "$OUTSIDE_IP"
run nat "$OUTSIDE_IP"
run hairpin "$PUBLIC_IP"
run ice --stun "stun:$OUTSIDE_IP"
run profile --server "$OUTSIDE_IP" --for bigbluebutton,kurento,livekit
run ports --via "$OUTSIDE_IP" --for livekit
run turn "turn:$OUTSIDE_IP:3490" --user demo --password demopw
echo
echo "== done: lab torn down"
