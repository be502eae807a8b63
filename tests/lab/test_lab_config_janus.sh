#!/usr/bin/env bash
# Acceptance 2 of issue 16, end to end with a real media server: Debian's janus runs on the lab's
# server host behind the lab NAT with Debian's own janus.jcfg (copied from /etc/janus; only the
# module folders point at the HTTP transport and the echotest plugin, to start fast). natdiag
# config check, with the facts of a lab natdiag profile, says Janus will announce only its
# private address; a small client (tests/tools/janus_candidates.py: Janus' HTTP API, echotest,
# an offer) shows that in the answer's candidates; natdiag's --diff applied with GNU patch and a
# restart later, Janus announces the public address and config check is clean.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_config_janus"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v janus >/dev/null || { echo "SKIPPED: lab_config_janus needs Debian's janus (apt-get install janus)" >&2; exit 77; }
[ -r /etc/janus/janus.jcfg ] || { echo "SKIPPED: lab_config_janus needs /etc/janus (the janus package)" >&2; exit 77; }
LIBDIR=$(dirname "$(dpkg -L janus | grep -m1 '/janus/plugins/libjanus_echotest.so$')")/..

# Janus' folder: Debian's configuration, the module folders holding only what the test uses.
J=$TMP/janus
mkdir -p "$J/plugins" "$J/transports" "$J/events" "$J/loggers"
cp /etc/janus/janus.jcfg /etc/janus/janus.plugin.echotest.jcfg /etc/janus/janus.transport.http.jcfg "$J/"
ln -s "$LIBDIR/plugins/libjanus_echotest.so" "$J/plugins/"
ln -s "$LIBDIR/transports/libjanus_http.so" "$J/transports/"
sed -i -e "s|^\(\s*configs_folder = \)\"[^\"]*\"|\1\"$J\"|" -e "s|^\(\s*plugins_folder = \)\"[^\"]*\"|\1\"$J/plugins\"|" \
  -e "s|^\(\s*transports_folder = \)\"[^\"]*\"|\1\"$J/transports\"|" -e "s|^\(\s*events_folder = \)\"[^\"]*\"|\1\"$J/events\"|" \
  -e "s|^\(\s*loggers_folder = \)\"[^\"]*\"|\1\"$J/loggers\"|" "$J/janus.jcfg"
check_eq "janus.jcfg's nat section is Debian's" "$(sed -n '/^nat: {/,/^}/p' /etc/janus/janus.jcfg)" "$(sed -n '/^nat: {/,/^}/p' "$J/janus.jcfg")"

JANUS_PID=
start_janus() {  # start_janus LOG: janus in the server namespace, until its HTTP API answers (bounded)
  spawn "$1" "$NATLAB" exec "$LAB_NAME" server janus -F "$J" -C "$J/janus.jcfg" -o -d 4
  JANUS_PID=$!
  local i
  for i in $(seq 1 100); do
    in_ns server python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8088/janus/info", timeout=1)' \
      2>/dev/null && return 0
    kill -0 "$JANUS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "  (janus did not come up:)"; tail -15 "$1" | sed 's/^/    /'
  return 1
}
stop_janus() { [ -n "$JANUS_PID" ] && kill "$JANUS_PID" 2>/dev/null; wait "$JANUS_PID" 2>/dev/null; JANUS_PID=; }
candidates() { in_ns server timeout 20 python3 "$ROOT/tests/tools/janus_candidates.py" http://127.0.0.1:8088/janus 10; }
trap 'stop_janus; lab_cleanup; cleanup' EXIT

lab_up cone
serve_outside
in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --for janus --json >"$TMP/profile.json"
check_eq "profile: behind NAT, the router's public address" "true $PUBLIC_IP" \
  "$(jq -r '"\(.behind_nat) \(.public_ipv4)"' "$TMP/profile.json")"

# profile runs the check itself when it finds the file at its standard path (here under --root).
install -D -m 644 /etc/janus/janus.jcfg "$TMP/root/etc/janus/janus.jcfg"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --for janus --root "$TMP/root" --json)
check_eq "profile --root: it checked janus.jcfg" "$TMP/root/etc/janus/janus.jcfg" "$(jq -r '.config.files[0].path' <<<"$json")"
check_contains "profile lists the config finding with the rest" config-janus-private-only "$(jq -r '.findings[].id' <<<"$json")"
check_eq "... and it makes the verdict broken" broken "$(jq -r .verdict <<<"$json")"

out=$("$NATDIAG" config check --from "$TMP/profile.json" --file janus="$J/janus.jcfg" --json); rc=$?
check_eq "config check on Debian's janus.jcfg: exit 1" 1 "$rc"
check_eq "the finding: janus-private-only, critical, nat.nat_1_1_mapping -> the public address" \
  "janus-private-only critical nat.nat_1_1_mapping $PUBLIC_IP" \
  "$(jq -r '.findings[0] | "\(.id) \(.severity) \(.setting) \(.expected)"' <<<"$out")"
check_contains "it says Janus will announce only its private address" "announce only its private address ($SERVER_IP)" \
  "$(jq -r '.findings[0].why' <<<"$out")"

start_janus "$TMP/janus1.log"
before=$(candidates); rc=$?
check_eq "janus answered the offer (before the fix)" 0 "$rc"
check_contains "before: Janus announces its private address" " $SERVER_IP " "$before"
check "before: Janus does not announce the public address" bash -c "! grep -qF ' $PUBLIC_IP ' <<<\"\$1\"" _ "$before"
stop_janus

"$NATDIAG" config check --from "$TMP/profile.json" --file janus="$J/janus.jcfg" --diff >"$TMP/fix.diff"
check_contains "the diff adds nat_1_1_mapping" "+	nat_1_1_mapping = \"$PUBLIC_IP\"" "$(cat "$TMP/fix.diff")"
check "GNU patch -d / -p1 applies natdiag's diff" patch -d / -p1 -s -F0 <"$TMP/fix.diff"

start_janus "$TMP/janus2.log"
after=$(candidates); rc=$?
check_eq "janus answered the offer (after the fix)" 0 "$rc"
check_contains "after: Janus announces the public address" " $PUBLIC_IP " "$after"
stop_janus
out=$("$NATDIAG" config check --from "$TMP/profile.json" --file janus="$J/janus.jcfg"); rc=$?
check_eq "after: config check is clean (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out"
echo "  candidates before: $(tr '\n' '|' <<<"$before")"
echo "  candidates after:  $(tr '\n' '|' <<<"$after")"
finish
