#!/usr/bin/env bash
# Wall time of `natdiag ports --via --for livekit` (10,001 UDP + 3 TCP ports) and `--for
# bigbluebutton` (16,385 UDP + 2 TCP) through the lab NAT (forwards,forwards-bbb), natdiag serve
# --probe-back outside; N runs each (default 5), medians printed. In the same run: nmap -sU
# (Debian's nmap, default timing) on 1,000 of the forwarded UDP ports from the outside host,
# bounded by NMAP_LIMIT seconds (default 600). design.md targets: livekit <= 2 s, bigbluebutton
# <= 3 s. Needs root. Optional first argument: extra lab modifiers (e.g. lossy=0.2).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
NMAP_LIMIT=${NMAP_LIMIT:-600}
EXTRA=${1:+,$1}
[ "$(id -u)" -eq 0 ] || { echo "bench-ports: needs root (network namespaces, iptables)" >&2; exit 3; }
[ -x build/natdiag ] || scripts/setup.sh >/dev/null
NATLAB=scripts/natlab.sh
eval "$($NATLAB up "forwards,forwards-bbb$EXTRA")"
trap '$NATLAB down "$LAB_NAME" >/dev/null 2>&1' EXIT
$NATLAB exec "$LAB_NAME" outside build/natdiag serve --primary "$OUTSIDE_IP" --probe-back \
  --probe-per-minute 1000 >/dev/null 2>&1 &
for _ in $(seq 1 50); do $NATLAB exec "$LAB_NAME" outside ss -Hltn | grep -q ":3480 " && break; sleep 0.05; done

median_ms() {  # median_ms SERVER: natdiag ports --via --for SERVER, $RUNS times; prints the median and the verdicts
  local times=() verdicts="" start out
  for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    out=$($NATLAB exec "$LAB_NAME" server build/natdiag ports --via "$OUTSIDE_IP" --for "$1" --json || true)
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
    verdicts+=" $(jq -r '.verdict' <<<"$out")"
  done
  echo "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}') (${times[*]} ms;$verdicts)"
}
livekit=$(median_ms livekit)
bbb=$(median_ms bigbluebutton)
start=$(date +%s%N)
nmap_out=$($NATLAB exec "$LAB_NAME" outside timeout "$NMAP_LIMIT" nmap -sU -Pn -n -p 50000-50999 "$PUBLIC_IP" 2>&1) && nmap_rc=0 || nmap_rc=$?
nmap_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "lab: forwards,forwards-bbb$EXTRA; natdiag serve --probe-back outside; $RUNS runs each; machine: $(nproc) cores, $(uname -r)"
printf '%-58s %s\n' "natdiag ports --via --for livekit (10,001 UDP + 3 TCP)" "median $livekit"
printf '%-58s %s\n' "natdiag ports --via --for bigbluebutton (16,385 UDP + 2 TCP)" "median $bbb"
if [ "$nmap_rc" = 124 ]; then
  printf '%-58s %s\n' "nmap -sU -p 50000-50999 ($(nmap --version | head -1 | awk '{print $3}'))" "did not finish in $NMAP_LIMIT s"
else
  printf '%-58s %s ms (%s)\n' "nmap -sU -p 50000-50999 ($(nmap --version | head -1 | awk '{print $3}'))" "$nmap_ms" \
    "$(grep -Eo '[0-9]+ (closed|open\|filtered) udp ports[^)]*' <<<"$nmap_out" | head -2 | paste -sd';')"
fi
echo "targets: livekit <= 2000 ms, bigbluebutton <= 3000 ms"
