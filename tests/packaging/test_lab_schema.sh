#!/usr/bin/env bash
# Every command's --json output from the NAT lab (cone NAT with forwarded media ports, no
# hairpin; coturn for ice's relay, TURN probe and --check, and for turn; serve --probe-back for
# ports --via) validates against its JSON Schema in docs/schema; each document broken on purpose
# fails. Keeps the documents in $SCHEMA_SAMPLES when that is set (for reading, not for tests).
source "$(dirname "$0")/../integration/lib.sh"
needs_root lab_schema
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VALIDATE="python3 $ROOT/tests/tools/validate_json.py $ROOT/docs/schema"
OUTDIR=${SCHEMA_SAMPLES:-$TMP/json}
mkdir -p "$OUTDIR"

lab_up cone,forwards
spawn "$OUTDIR/serve.jsonl" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve \
  --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" --json-log --rate-limit 5 \
  --probe-back --probe-port 3490 --probe-per-minute 100
wait_for_text "$OUTDIR/serve.jsonl" '"event":"ready"'

# run NAME CMD...: a command on the media server, its --json output kept as NAME.json.
run() { local name=$1; shift; in_ns server "$NATDIAG" "$@" --json >"$OUTDIR/$name.json" 2>"$TMP/$name.err"; }
run stun stun "$OUTSIDE_IP"
run stun-tcp stun "$OUTSIDE_IP" --transport tcp --count 2
run stun-fail stun "$OUTSIDE_IP" 9 --timeout 0.5
run nat nat "$OUTSIDE_IP"
run nat-tcp nat "$OUTSIDE_IP" --transport tcp
run hairpin hairpin "$PUBLIC_IP"
run ice ice --stun "stun:$OUTSIDE_IP"
# coturn outside on port 3480 (serve holds 3478/3479): relay candidates, the TURN probe, --check.
: >"$TMP/empty.conf"
spawn "$TMP/coturn.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" --no-cli \
  --no-tls --no-dtls --listening-ip "$OUTSIDE_IP" --listening-port 3480 --relay-ip "$OUTSIDE_IP" \
  --min-port 49160 --max-port 49199 --lt-cred-mech --user natdiag:secretpw --realm natdiag.test \
  --log-file stdout --simple-log --pidfile "$TMP/coturn.pid"
wait_for_text "$TMP/coturn.log" "Total General servers" 10 || sleep 1
TURN="turn:$OUTSIDE_IP:3480"
# A relay-to-relay check through coturn takes libnice about 10 s here (permissions first).
run ice-turn ice --stun "stun:$OUTSIDE_IP:3480" --turn "$TURN" --user natdiag --password secretpw --check --timeout 20
run ice-turn-wrong ice --turn "$TURN" --user natdiag --password wrong
run hairpin-hostname hairpin "$PUBLIC_IP" --hostname media.natdiag.test
run profile-turn profile --server "$OUTSIDE_IP" --turn "$TURN" --user natdiag --password secretpw --timeout 3
check_eq "ice with coturn: a relay candidate" relay "$(jq -r '[.candidates[].type] | map(select(. == "relay")) | first' "$OUTDIR/ice-turn.json")"
check_eq "ice with coturn: --check ran" success "$(jq -r .check.result "$OUTDIR/ice-turn.json")"
check_eq "ice with a wrong password: auth-failed" auth-failed "$(jq -r '.turn[0].result' "$OUTDIR/ice-turn-wrong.json")"
check_eq "hairpin --hostname: a hostname object" media.natdiag.test "$(jq -r .hostname.name "$OUTDIR/hairpin-hostname.json")"
run ports ports --via "$OUTSIDE_IP:3490" --tcp 7881 --udp 50000-50099
run turn turn "$TURN" --user natdiag --password secretpw
run turn-wrong turn "$TURN?transport=udp" --user natdiag --password wrong
check_eq "ports --via: the forwarded ports are open" open "$(jq -r .verdict "$OUTDIR/ports.json")"
check_eq "turn: the relay works over UDP" true "$(jq -r '.uris[] | select(.transport == "udp") | .working' "$OUTDIR/turn.json")"
check_eq "turn with a wrong password: wrong-credentials" wrong-credentials "$(jq -r '.uris[0].problem' "$OUTDIR/turn-wrong.json")"
run profile profile --server "$OUTSIDE_IP" --timeout 3
run advise advise --from "$OUTDIR/profile.json"
# 30 clients at once, over the burst of 20 (rate limit 5/s): serve logs a refusal as a JSON line.
pids=()
for _ in $(seq 30); do in_ns server "$NATDIAG" stun "$OUTSIDE_IP" --timeout 0.3 >/dev/null 2>&1 & pids+=($!); done
wait "${pids[@]}"
wait_for_text "$OUTDIR/serve.jsonl" '"event":"refused"' 12
check_contains "serve --json-log logged a refusal" '"event":"refused"' "$(cat "$OUTDIR/serve.jsonl")"

for f in "$OUTDIR"/*.json "$OUTDIR/serve.jsonl"; do
  if out=$($VALIDATE "$f" 2>&1); then pass "$(basename "$f") validates against its schema"
  else fail "$(basename "$f") validates against its schema" "$out"; fi
done
if out=$($VALIDATE --broken "$OUTDIR"/*.json 2>&1); then
  pass "every lab document broken on purpose fails validation ($(grep -c rejected <<<"$out") variants)"
else
  fail "every lab document broken on purpose fails validation" "$(grep FAIL <<<"$out")"
fi
finish
