#!/usr/bin/env bash
# The command-line contract on its error paths (issue 12): for each bad command line, the exit
# code, the --json error document {"schema","command","error":{kind,message,value}} (exactly one
# JSON document on stdout, nothing on stderr), and a text message that names the bad value.
# Nothing here sends a packet beyond loopback: bad input is refused before any socket opens.
source "$(dirname "$0")/lib.sh"

DATA=$(cd "$(dirname "$0")/../data" && pwd)
PEM="$TMP/not-a-cert.pem"
echo "hello" >"$PEM"
mkdir -p "$TMP/dir"

# One case per line: EXIT | KIND | TEXT the message must contain | ARGV (word-split; '…' is not
# needed: no argument below has spaces). A new command joins by adding lines.
CASES=$(cat <<EOF
2|bad-value|'70000'|stun 127.0.0.1 70000
2|usage|-4 and -6|stun -4 -6
2|bad-value|'-1'|stun 127.0.0.1 -1
2|bad-value|'0'|stun 127.0.0.1 0
2|usage|'--tmeout'|stun 127.0.0.1 --tmeout 1
2|usage|'x'|stun 127.0.0.1 1 x
2|bad-value|'1.2.3'|stun 1.2.3
2|bad-value|'3478'|stun 3478 19302
2|bad-value|'0x7f.1'|stun 0x7f.1
2|bad-value|'bad_host!'|stun bad_host!
2|bad-value|transport=udp|stun stuns:127.0.0.1?transport=udp
2|bad-value|'stun:127.0.0.1?foo=1'|stun stun:127.0.0.1?foo=1
2|bad-value|'turn:127.0.0.1'|stun turn:127.0.0.1
2|usage|2001:db8::10|stun 2001:db8::10 -4
2|usage|127.0.0.1|stun 127.0.0.1 -6
2|usage|[::1]:5|stun 127.0.0.1 --local [::1]:5
2|usage|10.0.0.1|stun ::1 --local 10.0.0.1 -6
2|bad-value|'/nonexistent/ca.pem'|stun stuns:127.0.0.1 --ca-file /nonexistent/ca.pem
2|bad-value|$PEM|stun stuns:127.0.0.1 --ca-file $PEM
2|usage|--ca-file|stun 127.0.0.1 --ca-file $PEM
2|bad-value|'-1'|stun 127.0.0.1 --timeout -1
2|bad-value|'abc'|stun 127.0.0.1 --count abc
2|bad-value|'udpp'|stun 127.0.0.1 --transport udpp
2|usage|127.0.0.1|nat 127.0.0.1 -6
2|usage|2001:db8::1|nat -s 2001:db8::1 -s 2001:db8::2 -4
2|usage|127.0.0.1:3478|nat -s 127.0.0.1:3478 -s 127.0.0.1:3478
2|bad-value|0.0.0.0|nat 127.0.0.1 --local 0.0.0.0
2|bad-value|'stuns:127.0.0.1'|nat stuns:127.0.0.1
2|bad-value|'80-'|nat 127.0.0.1 --local-ports 80-
2|bad-value|'90-80'|nat 127.0.0.1 --local-ports 90-80
2|usage|::1|nat 127.0.0.1 --local ::1
2|bad-value|'-1'|hairpin 203.0.113.1 --tcp -1
2|bad-value|'0-5'|hairpin 203.0.113.1 --udp 0-5
2|bad-value|'127.0.0.1'|hairpin 127.0.0.1
2|bad-value|'1.2.3'|hairpin 1.2.3
2|usage|EXTERNAL_IP|hairpin
2|bad-value|'bad_host!'|hairpin 203.0.113.1 --hostname bad_host!
2|usage|127.0.0.1|ice -6 --stun stun:127.0.0.1
2|usage|2001:db8::1|ice -4 --turn turn:[2001:db8::1] --user u --password p
2|bad-value|transport=tcp|ice --stun stun:127.0.0.1?transport=tcp
2|bad-value|'turns:127.0.0.1?transport=udp'|ice --turn turns:127.0.0.1?transport=udp --user u --password p
2|usage|--turn|ice --turn turn:127.0.0.1
2|usage|--relay-only|ice --relay-only
2|usage|'-1'|ice -1
2|bad-value|'bogus'|profile --for bogus
2|usage|127.0.0.1:3478|profile -s 127.0.0.1 -s 127.0.0.1:3478
2|usage|--user|profile --user u
2|bad-value|'/nonexistent'|advise --from /nonexistent
2|bad-value|directory|advise --from $TMP/dir
2|bad-value|not JSON|advise --from $PEM
2|usage|--from|advise
2|bad-value|facts.mapping|advise --from $TMP/bad-mapping.json
2|bad-value|facts.stun_server_port|advise --from $TMP/bad-port.json
2|bad-value|facts.public_ipv4|advise --from $TMP/missing-ip.json
2|bad-value|is missing|advise --from $TMP/empty-facts.json
2|usage|'--bogus'|serve --bogus
2|usage|203.0.113.11|serve --alternate 203.0.113.11
2|usage|0.0.0.0|serve --primary 0.0.0.0 --alternate 203.0.113.11
2|usage|'::'|serve --primary :: --alternate 2001:db8::11
2|usage|3478 twice|serve --port 3478 --alt-port 3478
2|bad-value|'65536'|serve --port 65536
2|usage|'bogus'|bogus
2|bad-value|'unknown'|config check --file unknown=/etc/x.conf --from $DATA/profile_lab.json
2|bad-value|SERVER=PATH|config check --file janus --from $DATA/profile_lab.json
2|usage|'frobnicate'|config frobnicate
2|usage|check|config
2|usage|given twice|config check --from $DATA/profile_lab.json --file janus=$DATA/config/janus/janus.jcfg --file coturn=$DATA/config/janus/janus.jcfg
2|bad-value|'/nonexistent'|config check --from /nonexistent --for janus
2|bad-value|$TMP/dir/x|config check --root $TMP/dir/x --from $DATA/profile_lab.json
3|cannot-run|$TMP/dir|config check --root $TMP/dir --from $DATA/profile_lab.json
3|cannot-run|janus|config check --for janus --root $TMP/dir --from $DATA/profile_lab.json
EOF
)

# Saved profiles with one fact broken, from the real lab profile.
jq '.facts.mapping = "weird"' "$DATA/profile_lab.json" >"$TMP/bad-mapping.json"
jq '.facts.stun_server_port = 70000' "$DATA/profile_lab.json" >"$TMP/bad-port.json"
jq 'del(.facts.public_ipv4)' "$DATA/profile_lab.json" >"$TMP/missing-ip.json"
jq '.facts = {}' "$DATA/profile_lab.json" >"$TMP/empty-facts.json"

echo "# bad command lines: exit code, one JSON error document, a message naming the value"
while IFS='|' read -r want_rc want_kind want_text argv; do
  [ -z "$argv" ] && continue
  read -r -a words <<<"$argv"
  name="${argv}"
  # text mode: the exit code, nothing on stdout, one line on stderr naming the value
  out=$("$NATDIAG" "${words[@]}" 2>"$TMP/err" </dev/null); rc=$?
  err=$(cat "$TMP/err")
  check_eq "$name: exit $want_rc" "$want_rc" "$rc"
  check_contains "$name: message names the value" "$want_text" "$err"
  check_eq "$name: one line on stderr" 1 "$(printf '%s\n' "$err" | grep -c .)"
  check_eq "$name: nothing on stdout" "" "$out"
  # --json: one JSON document on stdout, the same code, nothing on stderr
  json=$("$NATDIAG" "${words[@]}" --json 2>"$TMP/err" </dev/null); rc=$?
  check_eq "$name --json: exit $want_rc" "$want_rc" "$rc"
  check_eq "$name --json: one JSON document" 1 "$(jq -s length <<<"$json" 2>/dev/null || echo invalid)"
  check_eq "$name --json: schema, command, error first" '["schema","command","error"]' "$(jq -c keys_unsorted <<<"$json" 2>/dev/null)"
  check_eq "$name --json: error.kind" "$want_kind" "$(jq -r .error.kind <<<"$json" 2>/dev/null)"
  check_eq "$name --json: error has kind, message, value" '["kind","message","value"]' "$(jq -c '.error|keys_unsorted' <<<"$json" 2>/dev/null)"
  check_contains "$name --json: error.message names the value" "$want_text" "$(jq -r .error.message <<<"$json" 2>/dev/null)"
  check_eq "$name --json: nothing on stderr" "" "$(cat "$TMP/err")"
done <<<"$CASES"

echo "# advise --from on mutated real profiles: exit 0, 1 or 2, never a planted command"
FACTS=$(jq -r '.facts | keys[]' "$DATA/profile_lab.json")
PLANTS=('"rm -rf / #ndz"' '"$(reboot)"' '"1.2.3.4; rm -rf /"' '"evil\nip addr add 6.6.6.6/32 dev lo"' \
        '["rm -rf / #ndz"]' 'null' '70000' '"weird"' '{}' '"::ffff:203.0.113.1"')
bad=0 runs=0
for key in $FACTS dummy_nic_commands; do
  for plant in "${PLANTS[@]}"; do
    jq --arg k "$key" --argjson v "$plant" '.facts[$k] = $v | .dummy_nic.commands = ["rm -rf / #ndz"]' \
      "$DATA/profile_lab.json" >"$TMP/mutated.json"
    out=$("$NATDIAG" advise --from "$TMP/mutated.json" 2>&1); rc=$?
    runs=$((runs + 1))
    if [ "$rc" -gt 2 ] || grep -qF -e 'rm -rf' -e '$(reboot)' -e '6.6.6.6' <<<"$out"; then
      bad=$((bad + 1)); echo "  mutated facts.$key = $plant: exit $rc: $(head -c 200 <<<"$out")"
    fi
  done
done
check_eq "advise --from: $runs mutated profiles, none crashed or printed a planted command" 0 "$bad"
out=$("$NATDIAG" advise --from "$DATA/profile_lab.json"); rc=$?
check_eq "advise --from the real lab profile: exit 1 (needs-config)" 1 "$rc"
check_contains "advise --from: the dummy NIC command is made from the facts" "ip addr add 203.0.113.1/32 dev lo" "$out"

echo "# the value field carries the bad value itself"
check_eq "stun 127.0.0.1 70000: value" "70000" "$("$NATDIAG" stun 127.0.0.1 70000 --json | jq -r .error.value)"
check_eq "stun 1.2.3: value" "1.2.3" "$("$NATDIAG" stun 1.2.3 --json | jq -r .error.value)"
check_eq "hairpin --tcp -1: value" "-1" "$("$NATDIAG" hairpin 203.0.113.1 --tcp -1 --json | jq -r .error.value)"
check_eq "unknown command: command is null" "null" "$("$NATDIAG" bogus --json | jq -r .command)"

echo "# addresses: only dotted quads; ::ffff:a.b.c.d is IPv4; schemes are case-insensitive"
PORT=$(free_port)
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$PORT" --alt-port "$((PORT + 1))" --transport udp
wait_for_text "$TMP/serve.log" "natdiag serve: ready"
json=$("$NATDIAG" stun "::ffff:127.0.0.1" "$PORT" --json --timeout 2); rc=$?
check_eq "::ffff:127.0.0.1: exit 0" 0 "$rc"
check_eq "::ffff:127.0.0.1 is asked as 127.0.0.1" "127.0.0.1:$PORT" "$(jqv "$json" .server.address)"
json=$("$NATDIAG" stun "[::ffff:127.0.0.1]:$PORT" -4 --json --timeout 2); rc=$?
check_eq "[::ffff:127.0.0.1]:PORT with -4: exit 0 (it is IPv4)" 0 "$rc"
json=$("$NATDIAG" stun "STUN:127.0.0.1:$PORT" --json --timeout 2); rc=$?
check_eq "STUN:host (upper-case scheme): exit 0" 0 "$rc"
check_eq "STUN:host: udp" udp "$(jqv "$json" .server.transport)"
json=$("$NATDIAG" stun "127.0.0.1" "$PORT" --json --timeout 2)
check_eq "stun: SOFTWARE has no embedded quotes" "natdiag 0.1.0" "$(jq -r '.attempts[0].attributes[] | select(.type == "SOFTWARE") | .value' <<<"$json")"

echo "# exit 3: a bind that failed, with --json too"
json=$("$NATDIAG" stun 127.0.0.1 "$PORT" --local 192.0.2.123 --json 2>"$TMP/err"); rc=$?
check_eq "--local an address not on this host: exit 3" 3 "$rc"
check_eq "--local not here: kind cannot-run" cannot-run "$(jqv "$json" .error.kind)"
check_eq "--local not here: nothing on stderr" "" "$(cat "$TMP/err")"
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && runuser -u nobody -- test -x "$NATDIAG" 2>/dev/null; then
  out=$(runuser -u nobody -- "$NATDIAG" nat "127.0.0.1:$PORT" --transport tcp --local-ports 80-82 --timeout 1 2>&1); rc=$?
  check_eq "unprivileged nat --transport tcp --local-ports 80-82: exit 3" 3 "$rc"
  check_contains "unprivileged: says the bind failed" "bind TCP" "$out"
  json=$(runuser -u nobody -- "$NATDIAG" nat "127.0.0.1:$PORT" --local-ports 80-82 --timeout 1 --json); rc=$?
  check_eq "unprivileged nat (UDP) --local-ports 80-82 --json: exit 3" 3 "$rc"
  check_eq "unprivileged nat --json: kind cannot-run" cannot-run "$(jqv "$json" .error.kind)"
  json=$(runuser -u nobody -- "$NATDIAG" stun 127.0.0.1 "$PORT" --transport tcp --local 127.0.0.1:80 --json); rc=$?
  check_eq "unprivileged stun --transport tcp --local :80: exit 3" 3 "$rc"
else
  echo "  (skipped the unprivileged bind cases: not root, or nobody cannot run $NATDIAG)"
fi

echo "# serve --json: JSON lines on stdout from ready to stopped, nothing else"
SPORT=$(free_port)
"$NATDIAG" serve --primary 127.0.0.1 --port "$SPORT" --alt-port "$((SPORT + 1))" --json >"$TMP/serve.jsonl" 2>"$TMP/serve.err" &
spid=$!
SPAWNED+=("$spid")
wait_for_text "$TMP/serve.jsonl" '"ready"'
"$NATDIAG" stun 127.0.0.1 "$SPORT" --timeout 1 >/dev/null
printf 'garbage' >/dev/udp/127.0.0.1/"$SPORT"
sleep 0.2
kill -INT "$spid"; wait "$spid"; rc=$?
check_eq "serve --json: exit 0 on SIGINT" 0 "$rc"
check_eq "serve --json: every line is a JSON object" "$(grep -c . "$TMP/serve.jsonl")" "$(jq -c 'select(type == "object")' "$TMP/serve.jsonl" | grep -c .)"
check_eq "serve --json: events in order" "ready stopped" "$(jq -r .event "$TMP/serve.jsonl" | grep -v refused | tr '\n' ' ' | sed 's/ $//')"
check_eq "serve --json: stopped counts the request" "1" "$(jq -r 'select(.event == "stopped") | .answered' "$TMP/serve.jsonl")"
check_eq "serve --json: nothing on stderr" "" "$(cat "$TMP/serve.err")"
json=$("$NATDIAG" serve --primary 127.0.0.1 --port "$PORT" --alt-port "$((PORT + 1))" --json 2>"$TMP/err"); rc=$?
check_eq "serve --json on a port in use: exit 3" 3 "$rc"
check_eq "serve --json on a port in use: the error document" cannot-run "$(jqv "$json" .error.kind)"

finish
