#!/usr/bin/env bash
# `natdiag ports` at 20 % random UDP loss (both directions) through the lab NAT: LiveKit's
# 10,001 and BigBlueButton's 16,385 UDP ports must all come out open in every run, via serve
# --probe-back and via listen+probe. RUNS (default 5; the acceptance run uses 20:
# RUNS=20 tests/lab/test_lab_ports_loss.sh) runs of each; wall times are printed, not asserted.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_ports_loss"
RUNS=${RUNS:-5}

lab_up forwards,forwards-bbb,lossy=0.2
spawn "$TMP/serve.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP" \
  --alternate "$OUTSIDE_IP2" --probe-back --probe-per-minute 1000
wait_for_text "$TMP/serve.log" "natdiag serve: ready"

declare -A want=([livekit]="50000-60000:open 10001" [bigbluebutton]="16384-32768:open 16385")
for server in livekit bigbluebutton; do
  right=0 times=""
  for run in $(seq 1 "$RUNS"); do
    json=$(in_ns server "$NATDIAG" ports --via "$OUTSIDE_IP" --for "$server" --json); rc=$?
    got=$(jqv "$json" '"\([.udp.ranges[] | "\(.first)-\(.last):\(.state)"] | join(" ")) \(.udp.counts.open)"')
    if [ "$rc" = 0 ] && [ "$got" = "${want[$server]}" ]; then right=$((right + 1)); else echo "  run $run: rc $rc, $got"; fi
    times+=" $(jqv "$json" '.elapsed_ms | floor')"
  done
  echo "  via, $server: elapsed ms:$times"
  check_eq "20 % loss, via, $server: right in $RUNS/$RUNS runs" "$RUNS" "$right"
done

code=k7fq-2mxa-9pwe
right=0
for run in $(seq 1 "$(( (RUNS + 4) / 5 ))"); do
  spawn "$TMP/listen-$run.log" "$NATLAB" exec "$LAB_NAME" server "$NATDIAG" ports listen --for livekit --code $code --duration 30
  wait_for_text "$TMP/listen-$run.log" "stops after"
  json=$(in_ns outside "$NATDIAG" ports probe "$PUBLIC_IP" --for livekit --code $code --timeout 10 --json); rc=$?
  got=$(jqv "$json" '[.udp.ranges[] | "\(.first)-\(.last):\(.state)"] | join(" ")')
  echo "  listen+probe run $run: $got in $(jqv "$json" .elapsed_ms) ms, $(jqv "$json" .rounds) rounds"
  if [ "$rc" = 0 ] && [ "$got" = "50000-60000:open" ]; then right=$((right + 1)); fi
  wait_for_text "$TMP/listen-$run.log" "Every port got natdiag's probe" 10
done
check_eq "20 % loss, listen+probe, livekit: right in every run" "$(( (RUNS + 4) / 5 ))" "$right"
finish
