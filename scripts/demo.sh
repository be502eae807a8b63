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
SERVE_PID=""
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  $NATLAB down "$LAB_NAME" >/dev/null 2>&1
}
trap cleanup EXIT

echo "== The lab ($LAB_NAME)"
echo "   media server $SERVER_IP  --  router (cone NAT, public $PUBLIC_IP, forwards udp ${MEDIA_PORTS:-none},"
echo "   tcp 80/443/7881, no hairpin)  --  Internet: natdiag serve on $OUTSIDE_IP and $OUTSIDE_IP2"
$NATLAB exec "$LAB_NAME" outside build/natdiag serve --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" >/dev/null 2>&1 &
SERVE_PID=$!
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
echo
echo "== done: lab torn down"
