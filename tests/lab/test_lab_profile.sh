#!/usr/bin/env bash
# `natdiag profile` from the media server inside the lab, natdiag serve outside: the verdict,
# the findings and the advice for each situation of issue 7; `natdiag advise --from`.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_profile"

# The verdicts here are about the network: an empty --root keeps this host's own media server
# files (janus and coturn are installed for other lab tests) out of them (lab_config_janus tests
# profile's config check).
NOCONF=$TMP/no-config
mkdir -p "$NOCONF"
profile() {  # profile ARGS...: natdiag profile --json on the server host; sets $json and $rc
  json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --root "$NOCONF" "$@" --json); rc=$?
}
finding_ids() { jq -r '[.findings[].id] | join(" ")' <<<"$json"; }

echo "# cone NAT with forwards, hairpin off"
lab_up hairpin-off
serve_outside
# One plan: profile's own TCP Binding, nat's TCP check and ice's TCP probe share one connection
# to the server (issue 12 "share probes"). Counted at the server: TCP SYNs to 3478.
in_ns outside iptables -I INPUT -p tcp --syn -d "$OUTSIDE_IP" --dport 3478 -m comment --comment ndsyn -j ACCEPT
profile
syns=$(in_ns outside iptables -nvxL INPUT | awk '/ndsyn/ { print $1 }')
check_eq "shared probes: one TCP connection to the STUN server per profile run" 1 "$syns"
in_ns outside iptables -D INPUT -p tcp --syn -d "$OUTSIDE_IP" --dport 3478 -m comment --comment ndsyn -j ACCEPT
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
# Issue 10 defect 9: --external-ip that is not this host's measured public address.
profile --external-ip "$OUTSIDE_IP"
check_eq "--external-ip not ours: said first" external-ip-not-public "$(jqv "$json" '[.findings[] | select(.severity != "critical")][0].id')"
check_contains "--external-ip not ours: names the measured address" "STUN measured $PUBLIC_IP" "$(jqv "$json" '.findings[0].message')"
check_eq "--external-ip not ours: no dummy NIC needed, no commands" "false 0" "$(jqv "$json" '"\(.dummy_nic.needed) \(.dummy_nic.commands | length)"')"
check "--external-ip not ours: no 'ip addr add $OUTSIDE_IP' anywhere" bash -c "! grep -qF 'ip addr add $OUTSIDE_IP' <<<\"\$1\"" _ "$json"
check "--external-ip not ours: no hairpin-missing finding for it" bash -c "! grep -q hairpin-missing <<<\"\$1\"" _ "$(finding_ids)"
check_contains "--external-ip not ours: media advice keeps the measured address" "externalIPv4=$PUBLIC_IP" "$(jq -r '.advice.kurento.lines | join("\n")' <<<"$json")"
# IPv6: the server's routed global address is public; an IPv6 server tests it.
check_eq "IPv6: the host's global address is the public IPv6" "$SERVER_IP6" "$(jqv "$json" .public_ipv6)"
check "IPv6: no 'no public IPv6' finding" bash -c "! grep -q no-ipv6 <<<\"\$1\"" _ "$(finding_ids)"
check_contains "IPv6: untested until an IPv6 server is given" ipv6-untested "$(finding_ids)"
spawn "$TMP/serve6.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP6"
wait_for_text "$TMP/serve6.log" "natdiag serve: ready"
profile --server "$OUTSIDE_IP6"
check_eq "IPv6 server: reachable, no NAT66" "true false $SERVER_IP6" "$(jqv "$json" '"\(.facts.ipv6_udp) \(.facts.ipv6_behind_nat) \(.public_ipv6)"')"
check "IPv6 server: no IPv6 finding left" bash -c "! grep -q ipv6 <<<\"\$1\"" _ "$(finding_ids)"
# Issue 10 defect 11: a plain STUN server (no OTHER-ADDRESS) measures no filtering.
spawn "$TMP/serve-plain.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP" --port 3490
wait_for_text "$TMP/serve-plain.log" "natdiag serve: ready"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP:3490" --json)
check_eq "plain STUN server: filtering unknown" unknown "$(jqv "$json" .filtering)"
check "plain STUN server: nothing about what the NAT lets in" bash -c "! grep -q 'lets in only answers' <<<\"\$1\"" _ "$json"
# BigBlueButton: the guide's NAT steps with the measured values; behind-nat points at them.
profile --for bigbluebutton
bbb=$(jq -r '.advice.bigbluebutton.lines | join("\n")' <<<"$json")
check_contains "BBB: FreeSWITCH external_rtp_ip" "external_rtp_ip=$PUBLIC_IP" "$bbb"
check_contains "BBB: FreeSWITCH external_sip_ip" "external_sip_ip=$PUBLIC_IP" "$bbb"
check_contains "BBB: sip.nginx from the private to the public address" "s/$SERVER_IP:/$PUBLIC_IP:/g' /usr/share/bigbluebutton/nginx/sip.nginx" "$bbb"
check_contains "BBB: webrtc-sfu announced IP" "announcedIp: $PUBLIC_IP" "$bbb"
check_contains "BBB: the dummy NIC" "ip addr add $PUBLIC_IP/32 dev lo" "$bbb"
check_contains "BBB: the UDP range" "ufw allow 16384:32768/udp" "$bbb"
check_contains "BBB: behind-nat points at the block" "bigbluebutton advice" "$(jq -r '.findings[] | select(.id == "behind-nat") | .fix' <<<"$json")"
check_eq "BBB: only measured IPv4 addresses in the block" "" "$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' <<<"$bbb" | sort -u | grep -vxF -e "$PUBLIC_IP" -e "$SERVER_IP" -e 0.0.0.0 | tr '\n' ' ')"
# /etc/hosts: the first matching line wins.
with_hosts() { local f=$1; shift; in_ns server unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$f" "$@"; }
{ echo "127.0.0.1 localhost"; echo "$SERVER_IP bbb.lab.example"; echo "$PUBLIC_IP bbb.lab.example"; } >"$TMP/hosts-both"
{ echo "127.0.0.1 localhost"; echo "$PUBLIC_IP bbb.lab.example"; } >"$TMP/hosts-right"
json=$(with_hosts "$TMP/hosts-both" "$NATDIAG" profile --server "$OUTSIDE_IP" --hostname bbb.lab.example --for bigbluebutton --json)
check_eq "/etc/hosts maps it elsewhere first: which line to change" "/etc/hosts, line 2" "$(jqv "$json" .advice.etc_hosts.file)"
check "/etc/hosts maps it elsewhere first: no appended line" bash -c "! grep -qF '>> /etc/hosts' <<<\"\$1\"" _ "$json"
json=$(with_hosts "$TMP/hosts-right" "$NATDIAG" profile --server "$OUTSIDE_IP" --hostname bbb.lab.example --for bigbluebutton --json)
check_eq "/etc/hosts right: no etc_hosts advice" null "$(jqv "$json" .advice.etc_hosts)"
check "/etc/hosts right: nothing about /etc/hosts in the BBB block" bash -c "! grep -qF '/etc/hosts' <<<\"\$1\"" _ "$(jq -r '.advice.bigbluebutton.lines | join("\n")' <<<"$json")"
json=$(with_hosts "$TMP/hosts-right" "$NATDIAG" profile --server "$OUTSIDE_IP" --hostname "$PUBLIC_IP" --for bigbluebutton --json)
check "--hostname is the IP: never 'IP IP'" bash -c "! grep -qF '$PUBLIC_IP $PUBLIC_IP' <<<\"\$1\"" _ "$json"
# coturn and LiveKit on one host: ranges that do not overlap, and why.
profile --for coturn,livekit
ranges=$(jq -r '[(.advice.coturn.lines[] | select(startswith("min-port=") or startswith("max-port=")) | split("=")[1] | tonumber)] | "\(.[0]) \(.[1])"' <<<"$json")
read -r lo hi <<<"$ranges"
check "coturn+LiveKit: coturn's range $lo-$hi is clear of LiveKit's 50000-60000" test "$hi" -lt 50000 -o "$lo" -gt 60000
check_contains "coturn+LiveKit: says why" "overlaps LiveKit's 50000-60000" "$(jq -r '.findings[] | select(.id == "port-ranges") | .message' <<<"$json")"
# Unprivileged: TCP 443/80 hairpin cannot be tested, and the text says so.
if in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NATDIAG"; then
  out=$(in_ns server setpriv --reuid=65534 --regid=65534 --clear-groups "$NATDIAG" profile --server "$OUTSIDE_IP" --for livekit)
  check_contains "unprivileged: the text says TCP 443/80 hairpin was not tested" "TCP 443, TCP 80 could not be tested" "$out"
fi
# Nothing measured (nothing listens on the port): said first, no placeholder advice.
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP:3999" --timeout 1); rc=$?
check_eq "nothing measured: exit 1" 1 "$rc"
check_contains "nothing measured: said right after the verdict" "Nothing could be measured" "$(sed -n 3p <<<"$out")"
check "nothing measured: no advice" bash -c "! grep -q 'What to configure' <<<\"\$1\"" _ "$out"
check "nothing measured: no placeholder" bash -c "! grep -q '<' <<<\"\$1\"" _ "$out"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP:3999" --timeout 1 --json)
check_eq "nothing measured: JSON advice empty" "{}" "$(jq -c .advice <<<"$json")"
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
spawn "$TMP/serve6-blocked.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve --primary "$OUTSIDE_IP6"
wait_for_text "$TMP/serve6-blocked.log" "natdiag serve: ready"
profile --server "$OUTSIDE_IP6" --timeout 2
check_contains "udp-blocked, IPv6 server: IPv6 unreachable over UDP" ipv6-unreachable "$(finding_ids)"
check_eq "udp-blocked, IPv6 server: no public IPv6 claimed" null "$(jqv "$json" .public_ipv6)"
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
