#!/usr/bin/env bash
# `natdiag serve --web` with a real browser: Debian's chromium (headless, driven by
# tests/web/drive.mjs through puppeteer-core) in the lab's client namespace, behind the lab NAT,
# opens the check page served from the outside host, with coturn outside for the TURN checks.
#   open UDP                                  -> "Direct UDP works"
#   UDP dropped at the client's router        -> "Works through TURN over TCP/TLS"
#   + TURN stopped and TCP to the media ports -> "Cannot connect"
#     dropped (else ICE-TCP would still work)
#   no --turn, HTTPS                           -> direct UDP, "only direct UDP and ICE-TCP were tested"
#   symmetric NAT                              -> direct UDP, mapping address-and-port-dependent
#   + UDP dropped, no TURN                     -> "Works over ICE-TCP only"
# Each time the verdict is read from the page's DOM and from the line --results got (?send=1).
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_web"
WEB_DIR=$(cd "$(dirname "$0")/../web" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIPPED: lab_web needs chromium (scripts/setup.sh installs it)" >&2; exit 77; }
if [ ! -d "$WEB_DIR/node_modules/puppeteer-core" ]; then
  (cd "$WEB_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
    { echo "SKIPPED: lab_web needs puppeteer-core (cd tests/web && npm ci)" >&2; exit 77; }
fi

: >"$TMP/empty.conf"
RESULTS=$TMP/results.jsonl
MEDIA=50000:50099
# browse URL: the page in chromium on the client host; sets $page (one JSON line) and $result
# (the line the server appended to --results for this visit, or "").
browse() {
  local before; before=$(wc -l <"$RESULTS" 2>/dev/null || echo 0)
  page=$(in_ns client env HOME="$TMP" CHROMIUM="$CHROMIUM" node "$WEB_DIR/drive.mjs" "$1" ${2:+"$2"} 2>"$TMP/drive.err")
  [ -n "$page" ] || cat "$TMP/drive.err" >&2
  result=$(tail -n +$((before + 1)) "$RESULTS" 2>/dev/null | tail -1)
}
coturn() {
  spawn "$TMP/coturn.log" "$NATLAB" exec "$LAB_NAME" outside turnserver -c "$TMP/empty.conf" \
    --no-cli --no-tls --no-dtls --listening-ip "$OUTSIDE_IP" --listening-port 3490 --relay-ip "$OUTSIDE_IP" \
    --min-port 49200 --max-port 49239 --use-auth-secret --static-auth-secret northwind --realm natdiag.test \
    --log-file stdout --simple-log --pidfile "$TMP/coturn.pid"
  COTURN_PID=${SPAWNED[-1]}
  wait_for_text "$TMP/coturn.log" "Total General servers" 10 || sleep 1
}

echo "# cone NAT, coturn outside, serve --web on the outside host"
lab_up cone
coturn
serve_outside --web "$OUTSIDE_IP:8080" --media-ports "${MEDIA/:/-}" \
  --turn "turn:$OUTSIDE_IP:3490" --turn-secret northwind --results "$RESULTS"
URL="http://$OUTSIDE_IP:8080/?send=1"

echo "# open UDP"
browse "$URL" "${SCREENSHOT:-}"
check_eq "open: page verdict" "direct-udp Direct UDP works" "$(jqv "$page" '"\(.verdict) \(.headline)"')"
check_eq "open: page says it sent the result by itself" "stored" "$(jqv "$page" .sent)"
check_contains "open: and tells the user" "Sent automatically" "$(jqv "$page" .send_status)"
check_eq "open: results line: same verdict" "natdiag/1 web-check direct-udp" \
  "$(jqv "$result" '"\(.schema) \(.command) \(.verdict.id)"')"
check_eq "open: direct UDP and ICE-TCP work" "works works" \
  "$(jqv "$result" '[.checks[] | select(.name=="udp" or .name=="tcp") | .result] | join(" ")')"
check_eq "open: TURN UDP and TCP relays work" "works works" \
  "$(jqv "$result" '[.checks[] | select(.name|startswith("turn")) | .result] | join(" ")')"
check_eq "open: a relay candidate from coturn" "true" \
  "$(jqv "$result" 'any(.candidates[]; .type=="relay" and .address=="'"$OUTSIDE_IP"'")')"
check_eq "open: cone NAT mapping seen from two STUN ports" "endpoint-independent" "$(jqv "$result" .nat.mapping)"
check_eq "open: srflx is the router's public address" "$PUBLIC_IP" \
  "$(jqv "$result" '.nat.srflx[0].address | sub(":[0-9]+$"; "")')"
check_eq "open: RTT measured" "true" "$(jqv "$result" '.rtt_ms | type == "number"')"
check_contains "open: serve logged the UDP check" "check udp from $PUBLIC_IP: ICE connected" "$(cat "$TMP/serve-$LAB_NAME.log")"

echo "# UDP dropped at the client's router"
in_ns router iptables -I FORWARD -s "$CLIENT_IP" -p udp -j DROP
browse "$URL"
check_eq "udp dropped: page verdict" "turn-tcp Works through TURN over TCP/TLS" "$(jqv "$page" '"\(.verdict) \(.headline)"')"
check_eq "udp dropped: results line: same verdict" "turn-tcp" "$(jqv "$result" .verdict.id)"
check_eq "udp dropped: direct UDP and TURN UDP fail, TURN TCP works" "udp=fails turn-udp=fails turn-tcp=works" \
  "$(jqv "$result" '[.checks[] | select(.name!="tcp") | "\(.name)=\(.result)"] | join(" ")')"

echo "# ... and TURN stopped, TCP to the media ports dropped"
kill "$COTURN_PID" 2>/dev/null; sleep 0.5
in_ns router iptables -I FORWARD -s "$CLIENT_IP" -p tcp --dport "$MEDIA" -j DROP
browse "$URL"
check_eq "nothing: page verdict" "cannot-connect Cannot connect" "$(jqv "$page" '"\(.verdict) \(.headline)"')"
check_eq "nothing: results line: same verdict" "cannot-connect" "$(jqv "$result" .verdict.id)"
check_eq "nothing: every check fails" "true" "$(jqv "$result" '[.checks[].result] | all(. == "fails")')"
check_eq "web-report: 3 users, 1 needed TURN, 1 failed" "3 1 1" \
  "$("$NATDIAG" web-report "$RESULTS" --json | jq -r '"\(.users) \(.needed_turn) \(.failed)"')"
[ -n "${KEEP_RESULTS:-}" ] && cp "$RESULTS" "$KEEP_RESULTS"
lab_down

echo "# no TURN options, HTTPS"
lab_up cone
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
  -subj /CN=web.natdiag.test >/dev/null 2>&1
serve_outside --web "$OUTSIDE_IP:8443" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --results "$RESULTS"
browse "https://$OUTSIDE_IP:8443/?send=1"
check_eq "no turn, https: page verdict" "direct-udp" "$(jqv "$page" .verdict)"
check_contains "no turn: the page says what it tested" "only direct UDP and ICE-TCP were tested" "$(jqv "$page" '.notes | join(" ")')"
check_eq "no turn: results line says TURN was not configured" "direct-udp false" \
  "$(jqv "$result" '"\(.verdict.id) \(.turn_configured)"')"
check_eq "no turn: no TURN check was run" "udp tcp" "$(jqv "$result" '[.checks[].name] | join(" ")')"
lab_down

echo "# symmetric NAT: the browser sees two mappings"
lab_up symmetric
serve_outside --web "$OUTSIDE_IP:8080" --results "$RESULTS"
browse "http://$OUTSIDE_IP:8080/?send=1"
check_eq "symmetric: direct UDP still works (ICE learns the peer-reflexive address)" "direct-udp" "$(jqv "$page" .verdict)"
check_eq "symmetric: mapping from two STUN ports of one IP" "address-and-port-dependent" "$(jqv "$result" .nat.mapping)"
echo "# ... UDP dropped, no TURN: only ICE-TCP is left"
in_ns router iptables -I FORWARD -s "$CLIENT_IP" -p udp -j DROP
browse "http://$OUTSIDE_IP:8080/?send=1"
check_eq "ICE-TCP only: page verdict" "ice-tcp Works over ICE-TCP only" "$(jqv "$page" '"\(.verdict) \(.headline)"')"
check_eq "ICE-TCP only: results line" "ice-tcp udp=fails tcp=works" \
  "$(jqv "$result" '"\(.verdict.id) " + ([.checks[] | "\(.name)=\(.result)"] | join(" "))')"
finish
