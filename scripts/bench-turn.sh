#!/usr/bin/env bash
# Wall time of a full TURN check in the lab (cone flavour): natdiag turn on the server host
# (inside the NAT) against coturn outside, UDP + TCP + TLS at once, each: connect, Allocate
# (401 challenge + authenticated retry), Refresh, CreatePermission, 10 Send/Data and 10
# ChannelData round trips through the relay, Refresh 0. Beside it coturn's own client,
# turnutils_uclient, doing one allocation and relaying to turnutils_peer outside (-n 1
# message, -c no RTCP allocation) over UDP, TCP and TLS one after the other. N runs each
# (default 11), medians printed. design.md target: natdiag <= 0.3 s. Needs root.
#   scripts/bench-turn.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-11}
[ "$(id -u)" -eq 0 ] || { echo "bench-turn: needs root (network namespaces, iptables)" >&2; exit 3; }
command -v turnserver >/dev/null || { echo "bench-turn: coturn is not installed (scripts/setup.sh)" >&2; exit 3; }
[ -x build/natdiag ] || { echo "bench-turn: build natdiag first (build/natdiag)" >&2; exit 3; }
NATLAB=scripts/natlab.sh
TMP=$(mktemp -d /tmp/natdiag-bench-turn.XXXXXX)
eval "$($NATLAB up cone)"
trap '$NATLAB down "$LAB_NAME" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=turn.natdiag.test \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
: >"$TMP/empty.conf"
$NATLAB exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" --no-cli --no-dtls \
  --listening-ip "$OUTSIDE_IP" --relay-ip "$OUTSIDE_IP" --min-port 49160 --max-port 49999 \
  --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --lt-cred-mech --user natdiag:secretpw \
  --realm natdiag.test --total-quota 0 --user-quota 0 --log-file "$TMP/coturn.log" >/dev/null 2>&1 &
$NATLAB exec "$LAB_NAME" outside turnutils_peer -L "$OUTSIDE_IP" -p 3480 >/dev/null 2>&1 &
for _ in $(seq 1 100); do $NATLAB exec "$LAB_NAME" outside ss -Hlnt | grep -q " $OUTSIDE_IP:5349 " && break; sleep 0.05; done
sleep 0.3

median_ms() {  # median_ms CMD...: runs CMD $RUNS times on the server host, prints the median
  local times=() start
  for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    $NATLAB exec "$LAB_NAME" server "$@" >/dev/null 2>&1 || true
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
uclient_all() {  # one allocation + one relayed message over UDP, TCP and TLS, one after the other
  local common=(-u natdiag -w secretpw -e "$OUTSIDE_IP" -r 3480 -n 1 -c -z 1)
  timeout 30 turnutils_uclient "${common[@]}" "$OUTSIDE_IP"
  timeout 30 turnutils_uclient -t "${common[@]}" "$OUTSIDE_IP"
  timeout 30 turnutils_uclient -t -S "${common[@]}" "$OUTSIDE_IP"
}
export -f uclient_all
export OUTSIDE_IP

summary=$($NATLAB exec "$LAB_NAME" server build/natdiag turn "$OUTSIDE_IP" --user natdiag --password secretpw --insecure --json |
  jq -r '"\(.summary); relay RTT avg (ms): " + ([.uris[] | "\(.transport) \(.relay.send_data.rtt_avg_ms)/\(.relay.channel_data.rtt_avg_ms)"] | join(", ")) + "; check (ms): " + ([.uris[] | "\(.transport) \(.elapsed_ms)"] | join(", "))')
ours=$(median_ms build/natdiag turn "$OUTSIDE_IP" --user natdiag --password secretpw --insecure)
ours_udp=$(median_ms build/natdiag turn "turn:$OUTSIDE_IP" --user natdiag --password secretpw)
theirs=$(median_ms bash -c uclient_all)
theirs_udp=$(median_ms timeout 30 turnutils_uclient -u natdiag -w secretpw -e "$OUTSIDE_IP" -r 3480 -n 1 -c -z 1 "$OUTSIDE_IP")
echo "lab: cone NAT, coturn 4.6.1 outside, client inside; $RUNS runs each; machine: $(nproc) cores, $(uname -r)"
echo "natdiag: $summary"
printf '%-62s %8s\n' "what" "median"
printf '%-62s %6s ms\n' \
  "natdiag turn HOST (UDP+TCP+TLS, 2x10 relay round trips each)" "$ours" \
  "natdiag turn turn:HOST (UDP only)" "$ours_udp" \
  "turnutils_uclient UDP, TCP, TLS (1 allocation + 1 message each)" "$theirs" \
  "turnutils_uclient UDP only" "$theirs_udp"
echo "target: natdiag UDP+TCP+TLS <= 300 ms -> $([ "$ours" -le 300 ] && echo met || echo NOT met)"
