#!/usr/bin/env bash
# `natdiag profile` from the media server inside the lab, natdiag serve outside: the verdict,
# the findings and the advice for each situation of issue 7; `natdiag advise --from`.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_profile"

profile() {  # profile ARGS...: natdiag profile --json on the server host; sets $json and $rc
  json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" "$@" --json); rc=$?
}
finding_ids() { jq -r '[.findings[].id] | join(" ")' <<<"$json"; }

echo "# cone NAT with forwards, hairpin off"
lab_up hairpin-off
serve_outside
profile
check_eq "hairpin off: exit 1 (not ok)" 1 "$rc"
check_eq "hairpin off: verdict needs-config" needs-config "$(jqv "$json" .verdict)"
check_eq "public_ipv4 is the router's address" "$PUBLIC_IP" "$(jqv "$json" .public_ipv4)"
check_eq "behind NAT" true "$(jqv "$json" .behind_nat)"
check_eq "mapping" endpoint-independent "$(jqv "$json" .mapping)"
check_eq "hairpin not supported" not-supported "$(jqv "$json" .hairpin)"
check_contains "a finding for missing hairpin" "hairpin-missing" "$(finding_ids)"
check_contains "its fix is the dummy NIC" "ip addr add $PUBLIC_IP/32 dev lo" "$(jq -r '.findings[] | select(.id == "hairpin-missing") | .fix' <<<"$json")"
check_eq "dummy_nic.needed" true "$(jqv "$json" .dummy_nic.needed)"
kurento=$(jq -r '.advice.kurento.lines | join("\n")' <<<"$json")
check_contains "Kurento: externalIPv4 is the public address" "externalIPv4=$PUBLIC_IP" "$kurento"
check_contains "Kurento: stunServerAddress is the STUN server's IP" "stunServerAddress=$OUTSIDE_IP" "$kurento"
check_eq "Kurento: the file" /etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini "$(jqv "$json" .advice.kurento.file)"
livekit=$(jq -r '.advice.livekit.lines | join("\n")' <<<"$json")
check_contains "LiveKit: node_ip" "node_ip: $PUBLIC_IP" "$livekit"
check_contains "LiveKit: use_external_ip" "use_external_ip" "$livekit"
check_contains "LiveKit: port range start" "port_range_start: 50000" "$livekit"
check_contains "LiveKit: port range end" "port_range_end: 60000" "$livekit"
check_contains "FreeSWITCH: external_rtp_ip" "external_rtp_ip=$PUBLIC_IP" "$(jq -r '.advice.freeswitch.lines | join("\n")' <<<"$json")"
check_contains "firewall: LiveKit's UDP range" "ufw allow 50000:60000/udp" "$(jq -r '.advice.firewall.lines | join("\n")' <<<"$json")"
check_eq "contract fields present" "[]" "$(jq -c '["public_ipv4","public_ipv6","behind_nat","mapping","filtering","udp","tcp","hairpin","dummy_nic","verdict","findings","advice"] - keys' <<<"$json")"
check_eq "advice has every design.md key" "[]" "$(jq -c '["kurento","livekit","freeswitch","bigbluebutton","jitsi","janus","coturn","firewall","dummy_nic"] - (.advice|keys)' <<<"$json")"
echo "$json" >"$TMP/profile.json"
out=$("$NATDIAG" advise --from "$TMP/profile.json" --for kurento); rc=$?
check_eq "advise --from: exit 1 (needs-config)" 1 "$rc"
check_contains "advise --from: Kurento's lines again, without tests" "externalIPv4=$PUBLIC_IP" "$out"
check "advise --for kurento: no LiveKit advice" bash -c "! grep -q node_ip <<<\"\$1\"" _ "$out"
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --for livekit)
check_contains "text: the verdict first" "NAT profile: needs-config" "$(head -1 <<<"$out")"
check_contains "text: the fix" "ip addr add $PUBLIC_IP/32 dev lo" "$out"
in_ns server ip addr add "$PUBLIC_IP/32" dev lo
profile
check "dummy NIC added: no hairpin finding any more" bash -c "! grep -q hairpin-missing <<<\"\$1\"" _ "$(finding_ids)"
check_eq "dummy NIC added: present" true "$(jqv "$json" .dummy_nic.present)"
lab_down

echo "# hairpin on"
lab_up hairpin-on
serve_outside
profile
check_eq "hairpin on: hairpin supported" supported "$(jqv "$json" .hairpin)"
check "hairpin on: no dummy-NIC finding" bash -c "! grep -q hairpin <<<\"\$1\"" _ "$(finding_ids)"
check_eq "hairpin on: no dummy_nic advice" null "$(jqv "$json" .advice.dummy_nic)"
lab_down

echo "# symmetric NAT"
lab_up symmetric,forwards
serve_outside
profile
check_contains "symmetric: a finding that peers will need TURN" "symmetric-nat" "$(finding_ids)"
check_contains "symmetric: the message says TURN" "will need TURN" "$(jq -r '.findings[] | select(.id == "symmetric-nat") | .message' <<<"$json")"
lab_down

echo "# UDP blocked"
lab_up udp-blocked
serve_outside
profile --timeout 2
check_eq "udp-blocked: verdict broken" broken "$(jqv "$json" .verdict)"
check_eq "udp-blocked: the UDP finding first" udp-blocked "$(jqv "$json" '.findings[0].id')"
check_eq "udp-blocked: udp false, tcp true" "false true" "$(jqv "$json" '"\(.udp) \(.tcp)"')"
lab_down

echo "# bad input"
for args in "--server ''" "--for nginx" "--external-ip nope" "--turn turn:x" "--timeout 0" "--bogus"; do
  err=$(eval "\"$NATDIAG\" profile $args" 2>&1 >/dev/null); rc=$?
  check_eq "profile $args: exit 2" 2 "$rc"
  check_lines "profile $args: one line" 1 "$err"
done
echo '{"schema":"natdiag/1","command":"stun"}' >"$TMP/stun.json"
err=$("$NATDIAG" advise --from "$TMP/stun.json" 2>&1 >/dev/null); rc=$?
check_eq "advise --from a non-profile: exit 2" 2 "$rc"
err=$("$NATDIAG" advise --from /nonexistent 2>&1 >/dev/null); rc=$?
check_eq "advise --from a missing file: exit 2" 2 "$rc"
finish
