#!/usr/bin/env bash
# Hairpin's UDP ports follow the servers' forwards: a router that forwards only BigBlueButton's
# ports (TCP 80/443/7881, UDP 16384-32768) and hairpins them is no missing hairpin for
# `profile --for bigbluebutton` (natdiag once sampled 50000-60000 whatever --for said, and the
# silence on an unforwarded port became "no hairpin NAT").
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_hairpin_ranges"

NOCONF=$TMP/no-config
mkdir -p "$NOCONF"

echo "# hairpin on, only BigBlueButton's ports forwarded"
lab_up cone,hairpin-bbb
serve_outside
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --root "$NOCONF" --for bigbluebutton --json)
ids=$(jq -r '[.findings[].id] | join(" ")' <<<"$json")
check_eq "--for bigbluebutton: hairpin supported" supported "$(jqv "$json" .hairpin)"
check "--for bigbluebutton: no hairpin-missing finding" bash -c "! grep -q hairpin-missing <<<\"\$1\"" _ "$ids"
check "--for bigbluebutton: no hairpin-partial finding" bash -c "! grep -q hairpin-partial <<<\"\$1\"" _ "$ids"
check_eq "--for bigbluebutton: the UDP ports tried are BigBlueButton's" true \
  "$(jqv "$json" '[.hairpin_detail[] | select(.protocol == "udp" and .port > 0) | .port >= 16384 and .port <= 32768] | (length > 0 and all)')"
# Unprivileged, TCP 443/80 cannot be tested: the UDP ports alone decide, so they must be ports
# the router forwards (before, 50000-60000 went unanswered here: "hairpin-missing").
if in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NATDIAG"; then
  json=$(in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups "$NATDIAG" profile --server "$OUTSIDE_IP" \
    --root "$NOCONF" --for bigbluebutton --json)
  ids=$(jq -r '[.findings[].id] | join(" ")' <<<"$json")
  check_eq "unprivileged --for bigbluebutton: hairpin supported from BBB's UDP ports" supported "$(jqv "$json" .hairpin)"
  check "unprivileged --for bigbluebutton: no hairpin-missing finding" bash -c "! grep -q hairpin-missing <<<\"\$1\"" _ "$ids"
fi
# natdiag hairpin itself, sampling 50000-60000 where nothing is forwarded: the silent UDP ports
# are "not forwarded?", never a missing hairpin, and TCP decides.
json=$(in_ns server "$NATDIAG" hairpin "$PUBLIC_IP" --json)
check_eq "hairpin, default UDP sample: verdict from TCP: supported" supported "$(jqv "$json" .verdict)"
check_eq "hairpin, default UDP sample: the silent ports are inconclusive" true \
  "$(jqv "$json" '[.checks[] | select(.protocol == "udp") | .result == "inconclusive"] | all')"
# A port the user names as forwarded still decides.
json=$(in_ns server "$NATDIAG" hairpin "$PUBLIC_IP" --udp 50000 --tcp 443 --json)
check_eq "hairpin --udp 50000 (named, not forwarded): partial" partial "$(jqv "$json" .verdict)"
lab_down
finish
