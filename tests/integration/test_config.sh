#!/usr/bin/env bash
# natdiag config check on the repository's realistic files, with the lab's saved profile as facts
# (no network): every server's default file behind NAT gives its findings, `--diff` applies with
# GNU patch (-p1, in a --root tree), a re-check is clean, untouched lines stay byte for byte;
# --json validates against its schema; bad input: an unreadable file exits 3 naming the path, a
# syntax error is file:line and the parser's message (exit 1) while the other files are still
# checked, --file unknown=PATH exits 2 naming 'unknown'.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$ROOT/tests/data
FACTS=$DATA/profile_lab.json

# The standard paths under a --root tree, filled with the test files.
R=$TMP/root
install -D -m 644 "$DATA/config/kurento/WebRtcEndpoint.conf.ini" "$R/etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini"
install -D -m 644 "$DATA/config/kurento/BaseRtpEndpoint.conf.ini" "$R/etc/kurento/modules/kurento/BaseRtpEndpoint.conf.ini"
install -D -m 644 "$DATA/config/livekit/livekit.yaml" "$R/etc/livekit.yaml"
install -D -m 644 "$DATA/config/plugnmeet/livekit.yaml" "$R/opt/plugNmeet/etc/livekit.yaml"
install -D -m 644 "$DATA/config/janus/janus.jcfg" "$R/etc/janus/janus.jcfg"
install -D -m 644 "$DATA/turnserver-debian12.conf" "$R/etc/turnserver.conf"
# coturn's default relay range 49152-65535 would overlap LiveKit's 50000-60000 on one host: this
# admin gave coturn its own (the overlap itself is tested below).
printf 'min-port=40000\nmax-port=49999\n' >>"$R/etc/turnserver.conf"
install -D -m 644 "$DATA/config/bigbluebutton/default.yml" "$R/usr/local/bigbluebutton/bbb-webrtc-sfu/config/default.yml"
# An old public address left in production.yml, and no final newline in it.
mkdir -p "$R/etc/bigbluebutton/bbb-webrtc-sfu"
sed 's/announcedIp: 203.0.113.1/announcedIp: 198.51.100.30/' "$DATA/config/bigbluebutton/production.yml" |
  head -c -1 >"$R/etc/bigbluebutton/bbb-webrtc-sfu/production.yml"
cp -a "$R" "$TMP/original"

out=$("$NATDIAG" config check --root "$R" --from "$FACTS" --json); rc=$?
check_eq "the default files behind NAT: findings, exit 1" 1 "$rc"
for id in kurento-private-only livekit-private-only janus-private-only coturn-external-ip-missing \
          bbb-sfu-announced-ip-stale; do
  check_contains "finding $id" "$id" "$(jq -r '.findings[].id' <<<"$out")"
done
check "default.yml's empty announcedIp: overridden by production.yml, no finding" \
  bash -c "! grep -q bbb-sfu-announced-ip-missing <<<\"\$1\"" _ "$(jq -r '.findings[].id' <<<"$out")"
check_eq "janus' finding is on the line of its commented example" \
  "$(grep -n '#nat_1_1_mapping = "1.2.3.4"' "$R/etc/janus/janus.jcfg" | cut -d: -f1)" \
  "$(jq -r '.findings[] | select(.id == "janus-private-only") | .line' <<<"$out")"
check_eq "the stale announcedIp: current and right value" "198.51.100.30 203.0.113.1" \
  "$(jq -r '.findings[] | select(.id == "bbb-sfu-announced-ip-stale") | "\(.current) \(.expected)"' <<<"$out")"
check_eq "eight files found at their standard paths" 8 "$(jq '[.files[] | select(.found_by == "standard-path")] | length' <<<"$out")"
if command -v python3 >/dev/null && python3 -c 'import jsonschema' 2>/dev/null; then
  echo "$out" >"$TMP/config.json"
  check "the --json output validates against natdiag-config.schema.json" \
    python3 "$ROOT/tests/tools/validate_json.py" "$ROOT/docs/schema" "$TMP/config.json"
fi

"$NATDIAG" config check --root "$R" --from "$FACTS" --diff >"$TMP/fix.diff"; rc=$?
check_eq "--diff exits as the check does" 1 "$rc"
check_contains "the diff names files relative to --root" "--- a/etc/janus/janus.jcfg" "$(cat "$TMP/fix.diff")"
check "GNU patch -p1 applies the diff cleanly" patch -d "$R" -p1 --dry-run -s -F0 <"$TMP/fix.diff"
patch -d "$R" -p1 -s -F0 <"$TMP/fix.diff" >/dev/null
out=$("$NATDIAG" config check --root "$R" --from "$FACTS"); rc=$?
check_eq "after the patch a re-check is clean (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out"
check_eq "after the patch --diff is empty" "" "$("$NATDIAG" config check --root "$R" --from "$FACTS" --diff)"
# Every line of the originals is still there, in order (only additions and the changed values).
changed=$(diff -r "$TMP/original" "$R" | grep -c '^<')
# production.yml's two stale announcedIp (default.yml's empty ones are overridden by it).
check_eq "only the wrong values' lines changed" 2 "$changed"
check "production.yml still has no final newline" test "$(tail -c 1 "$R/etc/bigbluebutton/bbb-webrtc-sfu/production.yml" | od -An -c | tr -d ' ')" != '\n'
check_contains "janus.jcfg: the mapping under its commented example" \
  "$(printf '\t#nat_1_1_mapping = "1.2.3.4"\n\tnat_1_1_mapping = "203.0.113.1"')" "$(cat "$R/etc/janus/janus.jcfg")"

# Two servers on one host whose UDP ranges overlap: coturn's default and LiveKit's.
mkdir -p "$TMP/overlap/etc"
cp "$DATA/config/livekit/livekit.yaml" "$TMP/overlap/etc/livekit.yaml"
cp "$DATA/turnserver-debian12.conf" "$TMP/overlap/etc/turnserver.conf"
out=$("$NATDIAG" config check --root "$TMP/overlap" --from "$FACTS" --json)
check_contains "coturn's default range overlaps LiveKit's: said, naming both" \
  "coturn's UDP range 49152-65535 (its default: min-port-max-port is not set in $TMP/overlap/etc/turnserver.conf) overlaps livekit's UDP range 50000-60000" \
  "$(jq -r '.findings[] | select(.id == "port-ranges-overlap") | .why' <<<"$out")"

# Measured ports (a saved natdiag ports --json): LiveKit's range half filtered.
cat >"$TMP/ports.json" <<'JSON'
{"schema": "natdiag/1", "command": "ports", "mode": "via",
 "udp": {"ranges": [{"first": 50000, "last": 54999, "count": 5000, "state": "open"},
                    {"first": 55000, "last": 60000, "count": 5001, "state": "filtered"}]},
 "tcp": {"ranges": [{"first": 7881, "last": 7881, "count": 1, "state": "open"}]}}
JSON
out=$("$NATDIAG" config check --root "$R" --from "$FACTS" --ports "$TMP/ports.json" --for livekit --json); rc=$?
check_eq "--ports: LiveKit's range not all open: exit 1" 1 "$rc"
check_eq "--ports: the finding names the filtered part" "livekit-port-range-not-open" \
  "$(jq -r '.findings[] | select(.why | contains("55000-60000 filtered")) | .id' <<<"$out")"
# The same from a profile saved with --via: its facts carry the ranges it measured.
jq '.facts.ports_measured = [{"family": "ipv4", "protocol": "udp", "first": 50000, "last": 54999, "state": "open"},
                             {"family": "ipv4", "protocol": "udp", "first": 55000, "last": 60000, "state": "filtered"},
                             {"family": "ipv6", "protocol": "udp", "first": 50000, "last": 60000, "state": "open"}]' \
  "$FACTS" >"$TMP/profile-via.json"
out=$("$NATDIAG" config check --root "$R" --from "$TMP/profile-via.json" --for livekit --json)
check_eq "--from a profile --via: its IPv4 ranges are the measured ports" "livekit-port-range-not-open" \
  "$(jq -r '.findings[] | select(.why | contains("55000-60000 filtered")) | .id' <<<"$out")"
echo '{"udp": {"ranges": [{"first": 0, "last": 5, "state": "open"}]}}' >"$TMP/bad-ports.json"
"$NATDIAG" config check --root "$R" --from "$FACTS" --ports "$TMP/bad-ports.json" >/dev/null 2>&1
check_eq "--ports with a range from port 0: exit 2" 2 "$?"

# Bad input (acceptance 3).
out=$("$NATDIAG" config check --from "$FACTS" --file janus=/nonexistent/janus.jcfg 2>&1); rc=$?
check_eq "a file that cannot be read: exit 3" 3 "$rc"
check_contains "... naming the path" "/nonexistent/janus.jcfg" "$out"
out=$("$NATDIAG" config check --from "$FACTS" --file janus="$TMP" --json); rc=$?
check_eq "a directory as the file: exit 3" 3 "$rc"
check_eq "... the --json error names it" "$TMP" "$(jq -r .error.value <<<"$out")"
printf 'general: {\n}\nnat: {\n\tstun_port = ;\n}\n' >"$TMP/broken.jcfg"
out=$("$NATDIAG" config check --from "$FACTS" --file janus="$TMP/broken.jcfg" --file coturn="$DATA/turnserver-debian12.conf"); rc=$?
check_eq "a syntax error: exit 1" 1 "$rc"
check_contains "... file:line and the parser's message" "$TMP/broken.jcfg:4" "$out"
check_contains "... the parser's message" "syntax error" "$out"
check_contains "... the other files are still checked" "external-ip" "$out"
out=$("$NATDIAG" config check --from "$FACTS" --file unknown="$TMP/broken.jcfg" 2>&1); rc=$?
check_eq "--file unknown=PATH: exit 2" 2 "$rc"
check_contains "... naming 'unknown'" "'unknown'" "$out"
out=$("$NATDIAG" config check --from "$FACTS" --file unknown=x --json); rc=$?
check_eq "... and with --json the error document names it" "unknown" "$(jq -r .error.value <<<"$out")"
"$NATDIAG" config frobnicate >/dev/null 2>&1
check_eq "an unknown action: exit 2" 2 "$?"
finish
