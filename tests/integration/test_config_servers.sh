#!/usr/bin/env bash
# natdiag config check on FreeSWITCH, BigBlueButton (its FreeSWITCH, bbb-web.properties,
# sip.nginx) and Jitsi (jvb.conf, sip-communicator.properties), with the lab's saved profile as
# facts (no network): the files at their standard paths under --root are found, each wrong value
# gives its finding on its line, `--diff` applies with GNU patch (-p1, -F0) and a re-check is
# clean, untouched lines stay byte for byte; --file SERVER=PATH for each of the three names; a
# syntax error is file:line while the other files are still checked.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$ROOT/tests/data
FACTS=$DATA/profile_lab.json
OLD=198.51.100.30  # an old public address; the lab's is 203.0.113.1, its local one 10.77.0.10

# put SOURCE PATH [SED]: the test file SOURCE at the standard PATH under the --root tree, edited.
R=$TMP/root
put() {
  mkdir -p "$(dirname "$R$2")"
  sed "${3:-}" "$DATA/config/$1" >"$R$2"
}
FS=/etc/freeswitch BBBFS=/opt/freeswitch/etc/freeswitch JVB=/etc/jitsi/videobridge
# FreeSWITCH: an old public address for RTP (SIP still asks stun.freeswitch.org); the SIP
# profile's auto-nat (UPnP natdiag has no sign of); the stock RTP range.
put freeswitch/vars.xml $FS/vars.xml \
  "s/cmd=\"stun-set\" data=\"external_rtp_ip=stun:stun.freeswitch.org\"/cmd=\"set\" data=\"external_rtp_ip=$OLD\"/"
put freeswitch/sip_profiles/external.xml $FS/sip_profiles/external.xml
put freeswitch/autoload_configs/switch.conf.xml $FS/autoload_configs/switch.conf.xml
# BigBlueButton: its FreeSWITCH announcing the private address, nginx proxying to it, bbb-web's
# URL with the old address.
put bigbluebutton/vars.xml $BBBFS/vars.xml 's/data="external_rtp_ip=203.0.113.1"/data="external_rtp_ip=10.77.0.10"/'
put bigbluebutton/external.xml $BBBFS/sip_profiles/external.xml
put bigbluebutton/bbb-web.properties /etc/bigbluebutton/bbb-web.properties \
  "s#^bigbluebutton.web.serverURL=.*#bigbluebutton.web.serverURL=https://$OLD#"
put bigbluebutton/sip.nginx /usr/share/bigbluebutton/nginx/sip.nginx 's/203.0.113.1/10.77.0.10/'
# Jitsi: the static mapping's public address is the old one; sip-communicator.properties (CRLF
# line ends, as a file edited on Windows) announces the private one.
put jitsi/jvb.conf $JVB/jvb.conf "s/public-address = \"203.0.113.1\"/public-address = \"$OLD\"/"
put jitsi/sip-communicator-nat.properties $JVB/sip-communicator.properties \
  's/PUBLIC_ADDRESS=203.0.113.1/PUBLIC_ADDRESS=10.77.0.10/; s/$/\r/'
cp -a "$R" "$TMP/original"

ids() { jq -r '.findings[] | "\(.id) \(.file | sub("^.*/root"; "")):\(.line)"' <<<"$1"; }
line() { grep -n -- "$2" "$R$1" | head -1 | cut -d: -f1; }

out=$("$NATDIAG" config check --root "$R" --from "$FACTS" --for freeswitch,bigbluebutton,jitsi --json); rc=$?
check_eq "wrong FreeSWITCH, BigBlueButton and Jitsi files behind NAT: exit 1" 1 "$rc"
check_eq "nine files found at their standard paths" 9 \
  "$(jq '[.files[] | select(.found_by == "standard-path" and .error == null)] | length' <<<"$out")"
check_eq "... each with its syntax" "hocon nginx properties properties xml xml xml xml xml" \
  "$(jq -r '[.files[].syntax] | sort | join(" ")' <<<"$out")"
found=$(ids "$out")
for want in \
  "freeswitch-external-ip-stale $FS/vars.xml:$(line $FS/vars.xml "external_rtp_ip=$OLD")" \
  "freeswitch-stun-not-asked $FS/vars.xml:$(line $FS/vars.xml 'external_sip_ip=stun:')" \
  "freeswitch-auto-nat $FS/sip_profiles/external.xml:$(line $FS/sip_profiles/external.xml '"ext-rtp-ip"')" \
  "freeswitch-external-ip-private $BBBFS/vars.xml:$(line $BBBFS/vars.xml 'external_rtp_ip=10.77.0.10')" \
  "bbb-web-server-url-stale /etc/bigbluebutton/bbb-web.properties:$(line /etc/bigbluebutton/bbb-web.properties serverURL=)" \
  "bbb-sip-nginx-private /usr/share/bigbluebutton/nginx/sip.nginx:$(line /usr/share/bigbluebutton/nginx/sip.nginx proxy_pass)" \
  "jitsi-nat-public-address-stale $JVB/jvb.conf:$(line $JVB/jvb.conf public-address)" \
  "jitsi-nat-public-address-private $JVB/sip-communicator.properties:$(line $JVB/sip-communicator.properties PUBLIC_ADDRESS)"; do
  check_contains "finding and line: $want" "$want" "$found"
done
check_eq "BigBlueButton's FreeSWITCH files are BigBlueButton's findings" "bigbluebutton" \
  "$(jq -r "[.findings[] | select(.file | contains(\"/opt/freeswitch/\")) | .server] | unique | join(\",\")" <<<"$out")"
check_eq "the old address in jvb.conf: current and right value" "$OLD 203.0.113.1" \
  "$(jq -r '.findings[] | select(.id == "jitsi-nat-public-address-stale") | "\(.current) \(.expected)"' <<<"$out")"
if command -v python3 >/dev/null && python3 -c 'import jsonschema' 2>/dev/null && [ -f "$ROOT/docs/schema/natdiag-config.schema.json" ]; then
  echo "$out" >"$TMP/config.json"
  check "the --json output validates against natdiag-config.schema.json" \
    python3 "$ROOT/tests/tools/validate_json.py" "$ROOT/docs/schema" "$TMP/config.json"
fi

"$NATDIAG" config check --root "$R" --from "$FACTS" --for freeswitch,bigbluebutton,jitsi --diff >"$TMP/fix.diff"; rc=$?
check_eq "--diff exits as the check does" 1 "$rc"
for f in $FS/vars.xml $FS/sip_profiles/external.xml $BBBFS/vars.xml /etc/bigbluebutton/bbb-web.properties \
         /usr/share/bigbluebutton/nginx/sip.nginx $JVB/jvb.conf $JVB/sip-communicator.properties; do
  check_contains "the diff changes ${f#/}" "--- a/${f#/}" "$(cat "$TMP/fix.diff")"
done
check "GNU patch -p1 applies the diff cleanly" patch -d "$R" -p1 --dry-run -s -F0 <"$TMP/fix.diff"
patch -d "$R" -p1 -s -F0 <"$TMP/fix.diff" >/dev/null
out=$("$NATDIAG" config check --root "$R" --from "$FACTS" --for freeswitch,bigbluebutton,jitsi); rc=$?
check_eq "after the patch a re-check is clean (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out"
check_eq "after the patch --diff is empty" "" \
  "$("$NATDIAG" config check --root "$R" --from "$FACTS" --for freeswitch,bigbluebutton,jitsi --diff)"
# Only the wrong values' lines changed: vars.xml's old RTP address, external.xml's two auto-nat,
# BigBlueButton's vars.xml, bbb-web's URL, sip.nginx, jvb.conf, the properties line.
check_eq "only the wrong values' lines changed" 8 "$(diff -r "$TMP/original" "$R" | grep -c '^<')"
check_eq "... and no line was added" 8 "$(diff -r "$TMP/original" "$R" | grep -c '^>')"
check_contains "vars.xml: the STUN server natdiag did not ask is left as it was (info, no edit)" \
  '<X-PRE-PROCESS cmd="stun-set" data="external_sip_ip=stun:stun.freeswitch.org"/>' "$(cat "$R$FS/vars.xml")"
check_contains "sip.nginx: nginx proxies to the public address" "proxy_pass https://203.0.113.1:7443;" \
  "$(cat "$R/usr/share/bigbluebutton/nginx/sip.nginx")"
check_eq "sip-communicator.properties keeps its CRLF line ends" \
  "$(grep -c $'\r$' "$TMP/original$JVB/sip-communicator.properties")" "$(grep -c $'\r$' "$R$JVB/sip-communicator.properties")"

# bbb-web.properties missing: bbb-web's defaults file, the table's second path, is checked.
R2=$TMP/root2
mkdir -p "$R2/usr/share/bbb-web/WEB-INF/classes"
sed "s#^bigbluebutton.web.serverURL=.*#bigbluebutton.web.serverURL=http://10.77.0.10#" \
  "$DATA/config/bigbluebutton/bbb-web.properties" >"$R2/usr/share/bbb-web/WEB-INF/classes/bigbluebutton.properties"
out=$("$NATDIAG" config check --root "$R2" --from "$FACTS" --for bigbluebutton --json); rc=$?
check_eq "bbb-web's defaults file without the override: exit 1" 1 "$rc"
check_eq "... found at its standard path" "/usr/share/bbb-web/WEB-INF/classes/bigbluebutton.properties" \
  "$(jq -r '.files[0].path | sub("^.*/root2"; "")' <<<"$out")"
check_contains "... the private address in serverURL" "bbb-web-server-url" "$(jq -r '.findings[].id' <<<"$out")"

# --file SERVER=PATH for each name, the syntax from the file's name; a SIP profile given with
# its vars.xml resolves $${NAME} there.
P=$TMP/files
mkdir -p "$P/conf/sip_profiles"
sed 's/data="unroll_loops/data="announce_ip=10.77.0.10"\/>\n  <X-PRE-PROCESS cmd="set" data="unroll_loops/' \
  "$DATA/config/bigbluebutton/vars.xml" >"$P/conf/vars.xml"
sed 's/\$\${external_rtp_ip}/$${announce_ip}/' "$DATA/config/bigbluebutton/external.xml" >"$P/conf/sip_profiles/external.xml"
out=$("$NATDIAG" config check --from "$FACTS" --file freeswitch="$P/conf/sip_profiles/external.xml" --json)
check_eq "--file freeswitch=external.xml alone: \$\${announce_ip} is not known, no finding" "0" \
  "$(jq '.findings | length' <<<"$out")"
out=$("$NATDIAG" config check --from "$FACTS" --file freeswitch="$P/conf/sip_profiles/external.xml" \
  --file freeswitch="$P/conf/vars.xml" --json); rc=$?
check_eq "... with its vars.xml: exit 1" 1 "$rc"
check_eq "... the private address where vars.xml sets it" "freeswitch-external-ip-private $P/conf/vars.xml:$(grep -n announce_ip= "$P/conf/vars.xml" | cut -d: -f1)" \
  "$(jq -r '.findings[] | "\(.id) \(.file):\(.line)"' <<<"$out")"
out=$("$NATDIAG" config check --from "$FACTS" --file bigbluebutton="$DATA/config/bigbluebutton/sip.nginx" \
  --file jitsi="$DATA/config/jitsi/jvb.conf" --file jitsi="$DATA/config/jitsi/sip-communicator-nat.properties" --json); rc=$?
check_eq "--file bigbluebutton=sip.nginx, jitsi=jvb.conf and sip-communicator.properties: right values, exit 0" 0 "$rc"
check_eq "... read as nginx, hocon, properties" "nginx hocon properties" "$(jq -r '[.files[].syntax] | join(" ")' <<<"$out")"

# --for jitsi: only Jitsi's files.
out=$("$NATDIAG" config check --root "$R" --from "$FACTS" --for jitsi --json)
check_eq "--for jitsi: only jvb.conf and sip-communicator.properties" "jitsi jitsi" \
  "$(jq -r '[.files[].server] | join(" ")' <<<"$out")"

# Measured, not --from: the STUN servers a vars.xml names are asked (natdiag serve on loopback
# answers one of them; nothing listens on the other).
PORT=$(free_port)
DEAD=$(free_port)
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$PORT" --transport udp
wait_for_udp_listener "$PORT" 5
sed "s/external_rtp_ip=stun:stun.freeswitch.org/external_rtp_ip=stun:127.0.0.1:$PORT/; \
     s/external_sip_ip=stun:stun.freeswitch.org/external_sip_ip=stun:127.0.0.1:$DEAD/" \
  "$DATA/config/freeswitch/vars.xml" >"$TMP/vars.xml"
out=$("$NATDIAG" config check --server "127.0.0.1:$PORT" --timeout 1 --file freeswitch="$TMP/vars.xml" --json); rc=$?
check_eq "measured: the STUN server that does not answer is a warning (exit 1)" 1 "$rc"
check_eq "... both asked" "$(printf '127.0.0.1:%s\n' "$PORT=true" "$DEAD=false" | sort | paste -sd' ')" \
  "$(jq -r '.stun_answers | to_entries | map("\(.key)=\(.value)") | sort | join(" ")' <<<"$out")"
check_eq "... only the one that did not answer, on its line" \
  "freeswitch-stun-unanswered $(grep -n "external_sip_ip=stun:" "$TMP/vars.xml" | cut -d: -f1)" \
  "$(jq -r '.findings[] | "\(.id) \(.line)"' <<<"$out")"

# natdiag profile runs the same check on the files at the standard paths (--root): in the lab
# (lab_config_coturn), where a STUN server outside measures a public address; here, with the
# STUN server on loopback, nothing public is measured and no address is judged.
R3=$TMP/root3
mkdir -p "$R3/etc/freeswitch"
cp -a "$P/conf/." "$R3/etc/freeswitch/"
sed -i "s/announce_ip=10.77.0.10/announce_ip=198.51.100.30/" "$R3/etc/freeswitch/vars.xml"
out=$("$NATDIAG" profile --server "127.0.0.1:$PORT" --timeout 1 --for freeswitch --root "$R3" --json)
check_eq "profile --root, STUN server on loopback: the files found, no public address, nothing stale" \
  "2 null stun-server-inside" \
  "$(jq -r '"\(.config.files | length) \(.public_ipv4) \([.findings[].id | select(startswith("config-") or . == "stun-server-inside")] | join(","))"' <<<"$out")"

# A syntax error in jvb.conf: file:line and the parser's message; the other files still checked.
printf 'videobridge {\n  ice {\n    udp.port = ${PORT}\n  }\n}\n' >"$TMP/jvb.conf"
out=$("$NATDIAG" config check --from "$FACTS" --file jitsi="$TMP/jvb.conf" --file bigbluebutton="$R$BBBFS/vars.xml" \
  --file bigbluebutton="$TMP/original/usr/share/bigbluebutton/nginx/sip.nginx" --json); rc=$?
check_eq "a HOCON syntax error: exit 1" 1 "$rc"
check_eq "... file:line and the parser's message" "config-syntax-error $TMP/jvb.conf:3 substitution" \
  "$(jq -r '.findings[] | select(.severity == "critical") | "\(.id) \(.file):\(.line) \(.why | capture("file: (?<w>[a-z]+)").w)"' <<<"$out")"
check_contains "... the other files are still checked" "bbb-sip-nginx-private" "$(jq -r '.findings[].id' <<<"$out")"
finish
