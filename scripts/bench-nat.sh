#!/usr/bin/env bash
# Wall time of NAT discovery (mapping + filtering) in the lab, cone flavour: natdiag nat
# against coturn's turnutils_natdiscovery -m -f, both against natdiag serve outside, N runs
# each (default 11), medians printed. design.md target: natdiag <= 0.5 s (reference on a
# 2-core machine: turnutils_natdiscovery -f 6.3 s, stuntman filtering 12 s). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-11}
FLAVOUR=${2:-cone}
[ "$(id -u)" -eq 0 ] || { echo "bench-nat: needs root (network namespaces, iptables)" >&2; exit 3; }
[ -x build/natdiag ] || scripts/setup.sh >/dev/null
NATLAB=scripts/natlab.sh
eval "$($NATLAB up "$FLAVOUR")"
trap '$NATLAB down "$LAB_NAME" >/dev/null 2>&1' EXIT
$NATLAB exec "$LAB_NAME" outside build/natdiag serve --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" >/dev/null 2>&1 &
for _ in $(seq 1 50); do $NATLAB exec "$LAB_NAME" outside ss -Hlnu | grep -q ":3478 " && break; sleep 0.05; done

median_ms() {  # median_ms CMD...: runs CMD $RUNS times on the server host, prints the median
  local times=() start
  for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    $NATLAB exec "$LAB_NAME" server "$@" >/dev/null 2>&1 || true
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
verdict=$($NATLAB exec "$LAB_NAME" server build/natdiag nat "$OUTSIDE_IP" --json | jq -r '.mapping + " / " + .filtering')
ours=$(median_ms build/natdiag nat "$OUTSIDE_IP")
theirs=$(median_ms timeout 60 turnutils_natdiscovery -m -f "$OUTSIDE_IP")
theirs_f=$(median_ms timeout 60 turnutils_natdiscovery -f "$OUTSIDE_IP")
echo "lab: $FLAVOUR NAT, natdiag serve outside; $RUNS runs each; machine: $(nproc) cores, $(uname -r)"
echo "natdiag verdict: $verdict"
printf '%-44s %8s\n' "tool (mapping + filtering unless noted)" "median"
printf '%-44s %6s ms\n' "natdiag nat" "$ours" "turnutils_natdiscovery -m -f (coturn 4.6.1)" "$theirs" \
  "turnutils_natdiscovery -f (filtering only)" "$theirs_f"
echo "target: natdiag <= 500 ms -> $([ "$ours" -le 500 ] && echo met || echo NOT met)"
echo "reference on a 2-core machine: turnutils_natdiscovery -f 6.3 s; stuntman filtering 12 s"
