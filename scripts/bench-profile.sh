#!/usr/bin/env bash
# Wall time of a whole `natdiag profile` (STUN UDP+TCP, NAT discovery, hairpin, ICE) from the
# media server in the lab (cone NAT with forwards, hairpin off: the demo's lab), N consecutive
# runs (default 20), median and p95 printed. design.md target: <= 0.5 s median, <= 0.6 s p95
# (no peer tool does this at all). Consecutive runs matter: from the third run on, the router's
# ICMP rate limit leaves the UDP hairpin probes with silence instead of port-unreachable.
# It prints the numbers and the target; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
[ "$(id -u)" -eq 0 ] || { echo "bench-profile: needs root (network namespaces, iptables)" >&2; exit 3; }
[ -x build/natdiag ] || scripts/setup.sh >/dev/null
NATLAB=scripts/natlab.sh
eval "$($NATLAB up hairpin-off)"
trap '$NATLAB down "$LAB_NAME" >/dev/null 2>&1' EXIT
$NATLAB exec "$LAB_NAME" outside build/natdiag serve --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" >/dev/null 2>&1 &
for _ in $(seq 1 50); do $NATLAB exec "$LAB_NAME" outside ss -Hlnu | grep -q ":3478 " && break; sleep 0.05; done
times=()
for _ in $(seq 1 "$RUNS"); do
  start=$(date +%s%N)
  $NATLAB exec "$LAB_NAME" server build/natdiag profile --server "$OUTSIDE_IP" >/dev/null 2>&1 || true
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' <<<"$sorted")
p95=$(awk '{a[NR] = $1} END {i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; print a[i]}' <<<"$sorted")
verdict=$({ $NATLAB exec "$LAB_NAME" server build/natdiag profile --server "$OUTSIDE_IP" --json || true; } | jq -r .verdict)
echo "lab: cone NAT with forwards, hairpin off; $RUNS consecutive runs; machine: $(nproc) cores, $(uname -r)"
echo "natdiag profile: verdict $verdict, median ${median} ms, p95 ${p95} ms (all: ${times[*]})"
echo "target: median <= 500 ms -> $([ "$median" -le 500 ] && echo met || echo NOT met); p95 <= 600 ms -> $([ "$p95" -le 600 ] && echo met || echo NOT met)"
