#!/usr/bin/env bash
# NAT verdicts under packet loss: for each flavour, N runs (default 20) of natdiag nat from
# inside a lab whose router drops UDP at random (default 20 %), counting right verdicts.
# Issue 4's bar: the same verdicts in at least 19 of 20 runs. Needs root (network namespaces).
#   scripts/lab-loss.sh [RUNS] [LOSS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
LOSS=${2:-0.2}
[ "$(id -u)" -eq 0 ] || { echo "lab-loss: needs root (network namespaces, iptables)" >&2; exit 3; }
[ -x build/natdiag ] || scripts/setup.sh >/dev/null
NATLAB=scripts/natlab.sh
LAB=""
trap '[ -n "$LAB" ] && $NATLAB down "$LAB" >/dev/null 2>&1' EXIT

# flavour  host  expected mapping  expected filtering
CASES=(
  "cone server endpoint-independent address-and-port-dependent"
  "symmetric client address-and-port-dependent address-and-port-dependent"
  "fullcone server endpoint-independent endpoint-independent"
  "nonat server direct direct"
)
status=0
printf '%-10s %-6s %-58s %s\n' flavour loss "expected mapping / filtering" right
for c in "${CASES[@]}"; do
  read -r flavour host mapping filtering <<<"$c"
  eval "$($NATLAB up "$flavour,lossy=$LOSS")"
  LAB=$LAB_NAME
  $NATLAB exec "$LAB" outside build/natdiag serve --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" >/dev/null 2>&1 &
  for _ in $(seq 1 50); do $NATLAB exec "$LAB" outside ss -Hlnu | grep -q ":3478 " && break; sleep 0.05; done
  right=0
  wrong=""
  for _ in $(seq 1 "$RUNS"); do
    got=$($NATLAB exec "$LAB" "$host" build/natdiag nat "$OUTSIDE_IP" --json | jq -r '.mapping + " / " + .filtering')
    if [ "$got" = "$mapping / $filtering" ]; then right=$((right + 1)); else wrong="$wrong [$got]"; fi
  done
  $NATLAB down "$LAB" >/dev/null
  LAB=""
  printf '%-10s %-6s %-58s %s/%s%s\n' "$flavour" "$LOSS" "$mapping / $filtering" "$right" "$RUNS" "${wrong:+  wrong:$wrong}"
  [ $((right * 20)) -ge $((RUNS * 19)) ] || status=1
done
echo "bar: at least 19 of 20 right per flavour -> $([ $status -eq 0 ] && echo met || echo NOT met)"
exit $status
