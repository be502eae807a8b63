#!/usr/bin/env bash
# `natdiag nat` (and `profile`) under 30 % random UDP loss in the cone lab: every verdict
# right or `unknown`, never a wrong one, and no reason that blames what was not measured
# (issue 10, defect 8). About a minute: 50 nat runs, 10 profile runs.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_nat_loss"

RUNS=${NAT_LOSS_RUNS:-50}
lab_up cone,lossy=0.3
serve_outside
right=0 unknown=0 wrong=0 bad_reason=0 unverified=0 blocked=0
for _ in $(seq 1 "$RUNS"); do
  json=$(in_ns server "$NATDIAG" nat "$OUTSIDE_IP" --json)
  m=$(jqv "$json" .mapping) f=$(jqv "$json" .filtering)
  case "$m/$f" in
    endpoint-independent/address-and-port-dependent) right=$((right + 1)) ;;
    endpoint-independent/unknown | unknown/address-and-port-dependent | unknown/unknown) unknown=$((unknown + 1)) ;;
    *) wrong=$((wrong + 1)); echo "  wrong: $m / $f: $(jqv "$json" .mapping_reason) | $(jqv "$json" .filtering_reason)" ;;
  esac
  # Filtering test I answered: the mapping reason must not say the server did not answer.
  if [ "$(jqv "$json" '.observations[3].result')" = answered ] &&
    grep -q "no answer from the server over UDP" <<<"$(jqv "$json" .mapping_reason)"; then
    bad_reason=$((bad_reason + 1))
  fi
  # A filtering verdict from silence only with the server check passed.
  if [ "$f" = address-and-port-dependent ] && [ "$(jqv "$json" .server_change_request_verified)" != true ]; then
    unverified=$((unverified + 1))
  fi
  [ "$(jqv "$json" .udp_blocked)" = true ] && blocked=$((blocked + 1))
done
echo "  nat at 30 % loss: $right right, $unknown unknown, $wrong wrong of $RUNS"
check_eq "nat, 30 % loss: no wrong verdict in $RUNS runs" 0 "$wrong"
check_eq "nat, 30 % loss: no 'no answer from the server' when filtering test I was answered" 0 "$bad_reason"
check_eq "nat, 30 % loss: no filtering verdict without the server check" 0 "$unverified"
check_eq "nat, 30 % loss: never 'UDP blocked'" 0 "$blocked"
check "nat, 30 % loss: most runs still decide both (at least 80 %)" test $((right * 5)) -ge $((RUNS * 4))

pwrong=0
for _ in $(seq 1 10); do
  json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --json)
  m=$(jqv "$json" .mapping)
  if [ "$m" != endpoint-independent ] && [ "$m" != unknown ]; then
    pwrong=$((pwrong + 1)); echo "  profile wrong mapping: $m"
  fi
done
check_eq "profile, 30 % loss: mapping right or unknown in 10 runs" 0 "$pwrong"
lab_down
finish
