#!/usr/bin/env bash
# Wall time of a whole `natdiag profile` (STUN UDP+TCP, NAT discovery, hairpin, ICE) from the
# media server in the lab (cone NAT with forwards, hairpin off: the demo's lab), N runs
# (default 11), median printed. design.md target: <= 1.5 s (no peer tool does this at all).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-11}
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
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
verdict=$({ $NATLAB exec "$LAB_NAME" server build/natdiag profile --server "$OUTSIDE_IP" --json || true; } | jq -r .verdict)
echo "lab: cone NAT with forwards, hairpin off; $RUNS runs; machine: $(nproc) cores, $(uname -r)"
echo "natdiag profile: verdict $verdict, median ${median} ms (all: ${times[*]})"
echo "target: <= 1500 ms -> $([ "$median" -le 1500 ] && echo met || echo NOT met)"
