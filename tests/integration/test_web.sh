#!/usr/bin/env bash
# `natdiag serve --web` over loopback without a browser: the page and its files, the TURN REST
# config (the secret never in it), signaling, bad input (400/413, nothing written), the per-IP
# limits (a flood of results: 429), a client leaving mid-check, start-up errors (unwritable
# --results: exit 3; bad options: exit 2), `web-report`.
source "$(dirname "$0")/lib.sh"

RESULTS=$TMP/results.jsonl
STUN_PORT=$(free_port)
WEB_PORT=$(free_port)
WEB="http://127.0.0.1:$WEB_PORT"
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

echo "# start-up errors"
"$NATDIAG" serve --primary 127.0.0.1 --port "$STUN_PORT" --web "127.0.0.1:$WEB_PORT" \
  --results /nonexistent-dir/results.jsonl >"$TMP/out" 2>&1; rc=$?
check_eq "unwritable --results: exit 3" 3 "$rc"
check_contains "unwritable --results: names the file" "/nonexistent-dir/results.jsonl" "$(cat "$TMP/out")"
for bad in "--web 127.0.0.1" "--web 127.0.0.1:$WEB_PORT --turn turn:127.0.0.1:3478" \
           "--results $RESULTS" "--web 127.0.0.1:$WEB_PORT --turn http://x --turn-secret s" \
           "--web 127.0.0.1:$WEB_PORT --tls-cert $TMP/none.pem" "--web 127.0.0.1:$WEB_PORT --media-ports 9-1"; do
  # shellcheck disable=SC2086
  timeout 5 "$NATDIAG" serve --primary 127.0.0.1 --port "$STUN_PORT" $bad >/dev/null 2>&1; rc=$?
  check_eq "usage error: serve $bad: exit 2" 2 "$rc"
done

echo "# serve --web on loopback"
spawn "$TMP/serve.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$STUN_PORT" --web "127.0.0.1:$WEB_PORT" \
  --media-ports 40000-40100 --turn "turn:127.0.0.1:3478" --turn-secret northwind --results "$RESULTS"
wait_for_text "$TMP/serve.log" "natdiag serve: ready"
check_contains "prints the page's URL" "web check page on $WEB/" "$(cat "$TMP/serve.log")"
check_eq "GET /: 200" 200 "$(code "$WEB/")"
check_contains "GET /: the page" "Can your browser reach the call server?" "$(cat "$TMP/body")"
check_contains "GET /app.mjs: JavaScript" "text/javascript" "$(curl -s -o /dev/null -w '%{content_type}' "$WEB/app.mjs")"
check_eq "GET /verdict.mjs: 200" 200 "$(code "$WEB/verdict.mjs")"
check_eq "GET /nope: 404" 404 "$(code "$WEB/nope")"
check_eq "PUT /: 405" 405 "$(code -X PUT "$WEB/")"
config=$(curl -s "$WEB/api/config")
check_eq "config: STUN is serve's socket" "127.0.0.1:$STUN_PORT" "$(jqv "$config" '.stun[0]')"
check_eq "config: turn: URI expanded to UDP and TCP" \
  "turn:127.0.0.1:3478?transport=udp turn:127.0.0.1:3478?transport=tcp" "$(jqv "$config" '[.turn[].urls] | join(" ")')"
check_eq "config: TURN REST username is expiry:name, about 10 min ahead" true \
  "$(jqv "$config" ".turn[0].username | split(\":\")[0] | tonumber - $(date +%s) | . > 500 and . <= 600")"
expect=$(printf '%s' "$(jqv "$config" '.turn[0].username')" | openssl dgst -sha1 -hmac northwind -binary | base64)
check_eq "config: credential is base64(HMAC-SHA1(secret, username))" "$expect" "$(jqv "$config" '.turn[0].credential')"
check "config: the secret itself is never sent" bash -c "! grep -q northwind <<<'$config'"

echo "# bad POSTs: 400 / 413, nothing written"
check_eq "malformed JSON: 400" 400 "$(code -X POST -d '{"schema":' "$WEB/api/result")"
check_eq "not a web-check: 400" 400 "$(code -X POST -d '{"schema":"natdiag/1","command":"stun"}' "$WEB/api/result")"
check_eq "unknown verdict: 400" 400 "$(code -X POST -d '{"schema":"natdiag/1","command":"web-check","verdict":{"id":"fine"},"checks":[]}' "$WEB/api/result")"
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
check_eq "body over 64 KiB: 413" 413 "$(code -X POST --data-binary @"$TMP/big" "$WEB/api/result")"
check_eq "chunked body over 64 KiB: 413" 413 "$(code -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big" "$WEB/api/result")"
check_eq "bad check request: 400" 400 "$(code -X POST -d '{"check":"udp"}' "$WEB/api/check")"
check_eq "nothing written to --results" 0 "$(wc -c <"$RESULTS")"

echo "# a good result is appended as one JSON line"
good='{"schema":"natdiag/1","command":"web-check","verdict":{"id":"turn-tcp","headline":"x"},"checks":[{"name":"udp","result":"fails"},{"name":"turn-tcp","result":"works"}],"nat":{"mapping":"unknown"}}'
check_eq "good result: 200" 200 "$(code -X POST -d "$good" "$WEB/api/result")"
check_eq "stored: true" true "$(jq -r .stored "$TMP/body")"
check_eq "one line, with received_at" "1 turn-tcp number" "$(wc -l <"$RESULTS") $(jq -r '"\(.verdict.id) \(.received_at|type)"' "$RESULTS")"
check_contains "serve logs the result" "result from 127.0.0.1: turn-tcp" "$(cat "$TMP/serve.log")"

echo "# signaling: a check gets the server's ICE side; the per-IP limit"
offer='{"check":"udp","ufrag":"abcd","pwd":"abcdefghijklmnopqrstuvwx","candidates":["candidate:1 1 udp 2122260223 127.0.0.1 40999 typ host"]}'
answer=$(curl -s -X POST -d "$offer" "$WEB/api/check")
check_eq "answer: ufrag, pwd and a UDP candidate in --media-ports" true \
  "$(jqv "$answer" '(.ufrag|length) >= 4 and (.pwd|length) >= 22 and (.candidates[0] | test("^candidate:.* (?i:udp) .* 127\\.0\\.0\\.1 40[01][0-9][0-9] typ host"))')"
tcp=$(curl -s -X POST -d "${offer/\"udp\"/\"tcp\"}" "$WEB/api/check")
check_eq "ICE-TCP answer: a passive TCP candidate" true "$(jqv "$tcp" 'any(.candidates[]; test("(?i:tcp) .* tcptype passive"))')"
codes=""
for _ in $(seq 1 16); do codes+="$(code -X POST -d "$offer" "$WEB/api/check") "; done
check_contains "per-IP limit: 429 beyond 16 sessions at once" "429" "$codes"

echo "# a client that goes away during ICE gathering: the paused message is not answered after libsoup freed it"
body="${offer/\"udp\"/\"tcp\"}"
for _ in $(seq 1 20); do
  # Send the whole request and close at once: libsoup finishes the message while it is paused.
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#2}" "$2" >&3; exec 3>&-' \
    _ "$WEB_PORT" "$body" 2>/dev/null
done
sleep 1
check_eq "still serving after 20 clients left mid-check" 200 "$(code "$WEB/")"

echo "# serve --json-log: the web lines are JSON too"
JPORT=$(free_port); JWEB=$(free_port)
spawn "$TMP/serve-json.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$JPORT" --web "127.0.0.1:$JWEB" --json-log
wait_for_text "$TMP/serve-json.log" '"event":"ready"'
curl -s -X POST -d "$good" "http://127.0.0.1:$JWEB/api/result" >/dev/null
wait_for_text "$TMP/serve-json.log" '"event":"web-result"' >/dev/null
check_eq "json-log: every stdout line is a natdiag/1 serve object" true \
  "$(grep '^{' "$TMP/serve-json.log" | jq -s 'all(.schema == "natdiag/1" and .command == "serve")')"
check_eq "json-log: web-ready and web-result events" "web-ready web-result turn-tcp" \
  "$(grep -E 'web-(ready|result)' "$TMP/serve-json.log" | jq -rs '"\(.[0].event) \(.[1].event) \(.[1].verdict)"')"
check_eq "json-log: nothing but JSON lines" 0 "$(grep -vc '^{' "$TMP/serve-json.log")"

echo "# abuse: 1,000 POSTs from one address store at most the burst, then 429; /api/config shares the budget"
FPORT=$(free_port); FWEB=$(free_port); FLOOD=$TMP/flood.jsonl
spawn "$TMP/flood.log" "$NATDIAG" serve --primary 127.0.0.1 --port "$FPORT" --web "127.0.0.1:$FWEB" --results "$FLOOD" \
  --turn "turn:127.0.0.1:3478" --turn-secret northwind
wait_for_text "$TMP/flood.log" "natdiag serve: ready"
urls=(); for _ in $(seq 1 1000); do urls+=("http://127.0.0.1:$FWEB/api/result"); done
# One curl, one connection: -o applies to the first URL only, so the codes go on lines of their own.
flood_codes=$(curl -s -w '\n%{http_code}\n' -X POST -H 'Content-Type: application/json' -d "$good" "${urls[@]}" |
  grep -E '^[0-9]{3}$')
check_eq "1,000 POSTs: 1,000 answers" 1000 "$(wc -l <<<"$flood_codes")"
stored=$(wc -l <"$FLOOD")
check "at most the burst (20) stored, got $stored" test "$stored" -le 20 -a "$stored" -ge 1
check_eq "every POST beyond what was stored got 429" $((1000 - stored)) "$(grep -c '^429$' <<<"$flood_codes")"
check_eq "GET /api/config (TURN credentials) is over the same budget: 429" 429 "$(code "http://127.0.0.1:$FWEB/api/config")"
check_eq "the stored lines have no field the page does not send" "[]" \
  "$(head -1 "$FLOOD" | jq -c '[keys[] | select(IN("schema","command","verdict","checks","turn_configured","nat","ipv6","rtt_ms","candidates","user_agent","received_at") | not)]')"
check "the refusals are logged once per reason and interval, not per request" \
  test "$(grep -c 'refused .* web-api-rate-limited' "$TMP/flood.log")" -le 2
check "the refusal log names the client" grep -qE 'refused [0-9]+ web-api-rate-limited requests?, last from 127\.0\.0\.1:[0-9]+' "$TMP/flood.log"
head -c 9000 /dev/zero | tr '\0' ' ' >"$TMP/9k"
check_eq "a result body over 8 KiB: 413 (another client, so not 429)" 413 \
  "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.9 -X POST --data-binary @"$TMP/9k" "http://127.0.0.1:$FWEB/api/result")"
check_eq "another client keeps its own budget" 200 "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.10 "http://127.0.0.1:$FWEB/api/config")"

echo "# web-report"
out=$("$NATDIAG" web-report "$RESULTS"); rc=$?
check_eq "web-report: exit 0 (nobody failed entirely)" 0 "$rc"
check_contains "web-report: text" "needed TURN:           1 (100%)" "$out"
json=$("$NATDIAG" web-report "$RESULTS" --json)
check_eq "web-report --json" "natdiag/1 web-report 1 1 0" "$(jqv "$json" '"\(.schema) \(.command) \(.users) \(.needed_turn) \(.failed)"')"
"$NATDIAG" web-report "$TMP/missing.jsonl" >/dev/null 2>&1; rc=$?
check_eq "web-report on a missing file: exit 2" 2 "$rc"
finish
