#!/usr/bin/env bash
# `natdiag ports` in the NAT lab: the server host behind a router that forwards LiveKit's ports
# (all of them, or only udp 50000-54999), natdiag serve --probe-back on the outside host.
# --via and listen+probe; a TLS nginx holding 443; the router answering on a port it does not
# forward; the abuse rules of serve --probe-back; bad input.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_ports"

ports_json() {  # ports_json HOST ARGS...: natdiag ports --json on a lab host; sets $json, $rc
  local host=$1; shift
  json=$(in_ns "$host" "$NATDIAG" ports "$@" --json 2>"$TMP/ports.err"); rc=$?
}
ports_text() {  # ports_text HOST ARGS...: sets $out (stdout and stderr), $rc
  local host=$1; shift
  out=$(in_ns "$host" "$NATDIAG" ports "$@" 2>&1); rc=$?
}
ranges() {  # ranges PROTO: "first-last:state ..." from $json
  jqv "$json" "[.$1.ranges[] | \"\(.first)-\(.last):\(.state)\"] | join(\" \")"
}
serve_probe_back() {  # serve_probe_back LOG ARGS...: serve --probe-back outside, waits until ready
  local log=$1; shift
  spawn "$log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve "$@"
  wait_for_text "$log" "natdiag serve: ready"
}
listen_probe() {  # listen_probe ARGS...: ports listen on the server, ports probe from outside
  local code=k7fq-2mxa-9pwe
  spawn "$TMP/listen.log" "$NATLAB" exec "$LAB_NAME" server "$NATDIAG" ports listen "$@" --code "$code" --duration 20 --json
  wait_for_text "$TMP/listen.log" "stops after" || return 1
  ports_json outside probe "$PUBLIC_IP" "$@" --code "$code"
}

echo "# all of LiveKit's ports forwarded (and BigBlueButton's media range)"
lab_up forwards,forwards-bbb
serve_probe_back "$TMP/serve.log" --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" --probe-back --probe-per-minute 100
check_contains "serve lists the probe-back control port" "listening on tcp $OUTSIDE_IP:3480 (probe-back control)" "$(cat "$TMP/serve.log")"
ports_json server --via "$OUTSIDE_IP" --for livekit
check_eq "via, livekit: exit 0" 0 "$rc"
check_eq "via: one JSON object, schema and command first" '["natdiag/1","ports"]' "$(jq -c '[.schema, .command]' <<<"$json")"
check_eq "via: the first keys" '["schema","command","mode","verdict"]' "$(jq -c 'keys_unsorted[:4]' <<<"$json")"
check_eq "via: contract fields present" "[]" "$(jq -c '["far_end","public_ip","local_ip","tcp","udp","servers","rounds","probes_sent","elapsed_ms","notes","advice","summary"] - keys' <<<"$json")"
check_eq "via: verdict open" open "$(jqv "$json" .verdict)"
check_eq "via: TCP 80, 443, 7881 open" "80-80:open 443-443:open 7881-7881:open" "$(ranges tcp)"
check_eq "via: UDP 50000-60000 open" "50000-60000:open" "$(ranges udp)"
check_eq "via: 10,001 UDP ports tested" "10001 50000-60000" "$(jqv "$json" '"\(.udp.count) \(.udp.tested)"')"
check_eq "via: the public address as serve saw it, the local one" "$PUBLIC_IP $SERVER_IP" "$(jqv "$json" '"\(.public_ip) \(.local_ip)"')"
check_contains "via: evidence names serve" "natdiag's probe arrived from $OUTSIDE_IP" "$(jqv "$json" '.udp.ranges[0].evidence')"
check_eq "via: no advice" 0 "$(jqv "$json" '.advice | length')"
ports_text server --via "$OUTSIDE_IP" --for livekit
check_eq "via, text: the verdict first" "All 10,004 ports tested are open from outside" "$(head -1 <<<"$out")"
check_contains "via, text: UDP range line" "UDP 50000-60000            open" "$out"

ports_json server --via "$OUTSIDE_IP" --for bigbluebutton,livekit
check_eq "bigbluebutton + livekit (26,386 UDP ports: two requests to serve): all open, exit 0" "open 0 26386" "$(jqv "$json" .verdict) $rc $(jqv "$json" .udp.count)"
check_eq "bigbluebutton + livekit: both ranges open" "16384-32768:open 50000-60000:open" "$(ranges udp)"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --via "$OUTSIDE_IP" --for livekit --json 2>/dev/null)
check_eq "profile --via, all forwarded: ports-open, no port finding worse than info, no firewall advice" "ports-open 0 null" \
  "$(jqv "$json" '"\([.findings[] | select(.id == "ports-open")][0].id) \([.findings[] | select(.id | startswith("ports-")) | select(.severity != "info")] | length) \(.advice.firewall)"')"

listen_probe --for livekit
check_eq "listen+probe, livekit: probe exits 0" 0 "$rc"
check_eq "listen+probe: probe sees TCP open" "80-80:open 443-443:open 7881-7881:open" "$(ranges tcp)"
check_eq "listen+probe: probe sees UDP 50000-60000 open" "50000-60000:open" "$(ranges udp)"
for i in $(seq 1 100); do grep -q '"verdict"' "$TMP/listen.log" && break; sleep 0.1; done
listen_json=$(sed -n '/^{/,$p' "$TMP/listen.log")
check_eq "listen+probe: listen saw every port and stopped by itself" "open 50000-60000:open" "$(jqv "$listen_json" '"\(.verdict) \([.udp.ranges[] | "\(.first)-\(.last):\(.state)"] | join(" "))"')"

echo "# IPv6 (routed, no NAT): serve on the outside host's IPv6 address"
serve_probe_back "$TMP/serve6.log" --primary "$OUTSIDE_IP6" --probe-back --probe-per-minute 100
ports_json server --via "[$OUTSIDE_IP6]" --udp 50000-50099 --tcp 7881
check_eq "IPv6: all open, exit 0" "open 0" "$(jqv "$json" .verdict) $rc"
check_eq "IPv6: this host's public address is its own" "$SERVER_IP6" "$(jqv "$json" .public_ip)"
check_eq "IPv6: UDP range" "50000-50099:open" "$(ranges udp)"

echo "# IPv4 and IPv6 in one run: a dual-stack serve, a router whose IPv6 firewall opens only udp 50000-54999"
# serve without --primary takes probe-back requests on [::] (IPv4 and IPv6); the IPv6 path has
# no NAT but a stateful firewall, like a home router's.
serve_probe_back "$TMP/serve-dual.log" --port 3578 --alt-port 3579 --probe-port 3580 --probe-back --probe-per-minute 100
check_contains "dual-stack serve: probe-back control on [::]" "listening on tcp [::]:3580 (probe-back control)" "$(cat "$TMP/serve-dual.log")"
in_ns router ip6tables -A FORWARD -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
in_ns router ip6tables -A FORWARD -i wan0 -p tcp -m multiport --dports 80,443,7881 -j ACCEPT
in_ns router ip6tables -A FORWARD -i wan0 -p udp --dport 50000:54999 -j ACCEPT
in_ns router ip6tables -A FORWARD -i wan0 -j DROP
ports_json server --via "$OUTSIDE_IP:3580" --via "[$OUTSIDE_IP6]:3580" --for livekit
check_eq "both families: exit 1 (IPv6 is not all open)" 1 "$rc"
check_eq "both families: IPv4 at the top, all open" "ipv4 open 50000-60000:open" "$(jqv "$json" .family) $(jqv "$json" .verdict) $(ranges udp)"
check_eq "both families: the IPv6 run beside it" "ipv6 not-open $SERVER_IP6" "$(jqv "$json" '"\(.ipv6.family) \(.ipv6.verdict) \(.ipv6.public_ip)"')"
check_eq "both families: IPv6 exactly 50000-54999 open, 55000-60000 filtered" "50000-54999:open 55000-60000:filtered" \
  "$(jqv "$json" '[.ipv6.udp.ranges[] | "\(.first)-\(.last):\(.state)"] | join(" ")')"
check_contains "both families: the IPv6 advice opens the rest" "ufw allow 55000:60000/udp" "$(jqv "$json" '.ipv6.advice | join("\n")')"
ports_text server --via "$OUTSIDE_IP:3580" --via "[$OUTSIDE_IP6]:3580" --for livekit
check_eq "both families, text: IPv4's verdict line first" "IPv4: All 10,004 ports tested are open from outside" "$(head -1 <<<"$out")"
check_contains "both families, text: IPv6's verdict line" "IPv6: Not every port is open from outside: TCP 80, 443, 7881 open; UDP 50000-54999 open, 55000-60000 filtered (5,001 ports)" "$out"
ports_json server --via "$OUTSIDE_IP:3580" --udp 50000-50009
check_contains "an IPv4 literal alone: IPv6 not tested, and why" "IPv6 not tested: '$OUTSIDE_IP' has no IPv6 address" "$(jqv "$json" '.notes | join(" ")')"
check_eq "an IPv4 literal alone: no IPv6 run" null "$(jqv "$json" .ipv6)"
ports_json server --via "$OUTSIDE_IP:3580" --via "$OUTSIDE_IP2:3580" --udp 50000-50009
check_eq "two IPv4 --via: exit 2 (bad input)" 2 "$rc"
check_contains "two IPv4 --via: says it adds no family" "adds no address family" "$(jqv "$json" .error.message)"
in_ns router ip6tables -F FORWARD

echo "# a TLS nginx holds 443 on the server"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=bbb.lab.example" -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>/dev/null
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<CONF
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body; proxy_temp_path $TMP/nginx/proxy; fastcgi_temp_path $TMP/nginx/fcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi; scgi_temp_path $TMP/nginx/scgi;
  server { listen 443 ssl; ssl_certificate $TMP/tls.crt; ssl_certificate_key $TMP/tls.key; return 200 "bbb\n"; }
}
CONF
spawn "$TMP/nginx.log" "$NATLAB" exec "$LAB_NAME" server nginx -c "$TMP/nginx.conf" -g "daemon off;"
for i in $(seq 1 100); do in_ns server ss -Hltn "sport = :443" | grep -q . && break; sleep 0.05; done
ports_json server --via "$OUTSIDE_IP" --tcp 443,80 --udp 50000-50099
check_eq "nginx on 443: open, exit 0" "open 0" "$(jqv "$json" '[.tcp.ranges[] | select(.first == 443)][0].state') $rc"
check_contains "nginx on 443: the owner is named" "nginx (pid " "$(jqv "$json" '[.tcp.ranges[] | select(.first == 443)][0].owner')"
check_contains "nginx on 443: by the TLS certificate" "TLS certificate" "$(jqv "$json" '[.tcp.ranges[] | select(.first == 443)][0].evidence')"
check_eq "nginx on 443: port 80 still natdiag's own" "open null" "$(jqv "$json" '[.tcp.ranges[] | select(.first == 80)][0] | "\(.state) \(.owner)"')"
# The router's firewall resets 443 while nginx listens here: filtered, never "closed".
in_ns router iptables -I FORWARD -i wan0 -p tcp --dport 443 -j REJECT --reject-with tcp-reset
ports_json server --via "$OUTSIDE_IP" --tcp 443
check_eq "nginx on 443, reset on the way: filtered, exit 1" "filtered 1" "$(jqv "$json" '.tcp.ranges[0].state') $rc"
check_contains "nginx on 443, reset on the way: nginx listens here, said" "nginx (pid" "$(jqv "$json" '.tcp.ranges[0].evidence')"
in_ns router iptables -D FORWARD -i wan0 -p tcp --dport 443 -j REJECT --reject-with tcp-reset

echo "# the router answers on a port it does not forward"
spawn "$TMP/router-web.log" "$NATLAB" exec "$LAB_NAME" router python3 -m http.server 8080 --bind "$PUBLIC_IP"
for i in $(seq 1 100); do in_ns router ss -Hltn "sport = :8080" | grep -q . && break; sleep 0.05; done
ports_json server --via "$OUTSIDE_IP" --tcp 8080,7881
check_eq "router on 8080: answered-by-other, never open" "answered-by-other" "$(jqv "$json" '[.tcp.ranges[] | select(.first == 8080)][0].state')"
check_eq "router on 8080: 7881 open, exit 1" "open 1" "$(jqv "$json" '[.tcp.ranges[] | select(.first == 7881)][0].state') $rc"

echo "# ports the router does not forward: its own RST and ICMP port unreachable"
# From outside the router is the target, but natdiag listens on these ports here: not "closed".
ports_json server --via "$OUTSIDE_IP" --tcp 7882 --udp 40000
check_eq "TCP 7882 (not forwarded): a RST, filtered" "filtered connection refused (TCP RST), though natdiag listens on this port here: a firewall on the way or on this host rejects it, or the router does not forward it here" "$(jqv "$json" '.tcp.ranges[0] | "\(.state) \(.evidence)"')"
check_eq "UDP 40000 (not forwarded): ICMP from the router, filtered" "filtered ICMP port unreachable from $PUBLIC_IP, though natdiag listens on this port here: a firewall on the way or on this host rejects it, or the router does not forward it here" "$(jqv "$json" '.udp.ranges[0] | "\(.state) \(.evidence)"')"
check_eq "not forwarded: exit 1" 1 "$rc"

echo "# a UDP port another program holds"
spawn "$TMP/holder.log" "$NATLAB" exec "$LAB_NAME" server python3 -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 50005)); print("bound", flush=True); time.sleep(60)'
wait_for_text "$TMP/holder.log" "bound"
ports_json server --via "$OUTSIDE_IP" --udp 50000-50009
check_eq "held UDP 50005: in-use, the rest open" "50000-50004:open 50005-50005:in-use 50006-50009:open" "$(ranges udp)"
check_contains "held UDP 50005: the owner is named" "python3 (pid " "$(jqv "$json" '.udp.ranges[1].owner')"
check_eq "held UDP 50005: not a failure, exit 0" 0 "$rc"

echo "# abuse rules"
# Probes go only to the control connection's source: count what serve sends elsewhere, also
# for a hand-made request that names another address in fields the protocol does not have.
in_ns outside iptables -A OUTPUT -p udp --dport 50000:50099 -d "$PUBLIC_IP"
in_ns outside iptables -A OUTPUT -p udp --dport 50000:50099 ! -d "$PUBLIC_IP"
in_ns server python3 - "$OUTSIDE_IP" <<'PY' >"$TMP/crafted.log" 2>&1
import json, os, socket, sys
s = socket.create_connection((sys.argv[1], 3480), timeout=5)
f = s.makefile("rw")
hello = json.loads(f.readline())
f.write(json.dumps({"type": "request", "key": os.urandom(32).hex(), "session": os.urandom(8).hex(),
                    "udp": "50000-50099", "tcp": "", "compare_tcp": "", "seconds": 1, "mac": None,
                    "address": "203.0.113.11", "target": "198.51.100.7", "to": "10.77.0.20"}) + "\n")
f.flush()
for line in f:
    m = json.loads(line)
    if m["type"] == "round":
        f.write(json.dumps({"type": "missing", "udp": ""}) + "\n"); f.flush()
    if m["type"] in ("done", "refused"):
        print(m["type"]); break
PY
check_eq "crafted request with extra address fields: served" done "$(tail -1 "$TMP/crafted.log")"
counts=$(in_ns outside iptables -nvxL OUTPUT | awk '/dpts:50000:50099/ {print $1}' | paste -sd' ')
check_eq "probes went to the source ($PUBLIC_IP) only: 100 there, 0 elsewhere" "100 0" "$counts"

ports_text server --via "$OUTSIDE_IP2" --tcp 80
check_eq "--probe-back off (nothing on $OUTSIDE_IP2:3480): exit 1" 1 "$rc"
check_contains "--probe-back off: why" "connection refused: nothing listens there (is natdiag serve running with --probe-back?)" "$out"

serve_probe_back "$TMP/serve2.log" --primary "$OUTSIDE_IP2" --port 3490 --alt-port 3491 --probe-back --probe-secret s3cret --probe-per-minute 3
ports_text server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1
check_eq "--probe-secret: a request without it is refused, exit 1" 1 "$rc"
check_contains "--probe-secret: why" "refused the request: this serve needs --probe-secret, and the request's HMAC does not match" "$out"
ports_text server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret wrong
check_contains "--probe-secret: a wrong secret is refused" "HMAC does not match" "$out"
ports_json server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret s3cret
check_eq "--probe-secret: the right secret works, exit 0" "open 0" "$(jqv "$json" .verdict) $rc"
ports_json server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret s3cret
ports_json server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret s3cret
ports_text server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret s3cret
check_eq "per-IP budget (3 a minute): the 4th request is refused, exit 1" 1 "$rc"
check_contains "per-IP budget: why" "over the budget of 3 requests per minute from $PUBLIC_IP" "$out"
ports_text server --via "$OUTSIDE_IP2" --tcp 80 --timeout 1 --probe-secret s3cret
sleep 0.5
refusals=$(grep -c "refused .* probe-back request (per-ip-budget)" "$TMP/serve2.log")
check_eq "per-IP budget: logged once for two refusals" 1 "$refusals"
check_contains "bad-mac refusals logged with the source" "probe-back request (bad-mac), last from $PUBLIC_IP" "$(cat "$TMP/serve2.log")"

in_ns server bash -c "for i in \$(seq 40); do exec {fd}<>/dev/tcp/$OUTSIDE_IP2/3480; done; sleep 1" 2>/dev/null
wait_for_text "$TMP/serve2.log" "probe-back request (too-many-connections)" 3
check_eq "a flood of idle control connections: beyond 32 refused, logged once (the count follows later)" 1 \
  "$(grep -c "refused 1 probe-back request (too-many-connections), last from $PUBLIC_IP" "$TMP/serve2.log")"

echo "# bad input"
for bad in "--udp 60000-50000|--udp: the range '60000-50000' goes down" "--udp 70000|--udp: ports are 1 to 65535, got '70000'" \
           "--tcp ''|--tcp needs ports (e.g. 80,443 or 50000-60000), got ''" "--for foo|--for: unknown media server 'foo'"; do
  args=${bad%%|*} want=${bad#*|}
  out=$(eval "in_ns server \"\$NATDIAG\" ports --via \"\$OUTSIDE_IP\" $args" 2>&1); rc=$?
  check_eq "bad input $args: exit 2, one line" "2 1" "$rc $(printf '%s\n' "$out" | grep -c '')"
  check_contains "bad input $args: names the value" "$want" "$out"
done
out=$(ulimit -n 1000 && in_ns server "$NATDIAG" ports listen --udp 50000-51000 --duration 1 --json 2>/dev/null); rc=$?
check_eq "not enough file descriptors (ulimit -n 1000 for 1,001 sockets): exit 3, JSON error" "3 cannot-run" "$rc $(jqv "$out" .error.kind)"
lab_down

echo "# the router forwards only udp 50000-54999"
lab_up forwards-partial
serve_probe_back "$TMP/serve3.log" --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" --probe-back --probe-per-minute 100
ports_json server --via "$OUTSIDE_IP" --for livekit
check_eq "partial, via: exit 1" 1 "$rc"
check_eq "partial, via: exactly 50000-54999 open, 55000-60000 filtered" "50000-54999:open 55000-60000:filtered" "$(ranges udp)"
check_eq "partial, via: TCP still open" "80-80:open 443-443:open 7881-7881:open" "$(ranges tcp)"
check_contains "partial, via: forward advice names the server host and livekit" "Forward UDP 55000-60000 to $SERVER_IP on the router" "$(jqv "$json" '.advice[0]')"
check_contains "partial, via: what breaks" "livekit needs it: without it clients fall back to TCP 7881 or TURN" "$(jqv "$json" '.advice[0]')"
check_contains "partial, via: the ufw line" "ufw allow 55000:60000/udp" "$(jqv "$json" '.advice | join("\n")')"
ports_text server --via "$OUTSIDE_IP" --for livekit
check_contains "partial, text: the verdict first" "UDP 50000-54999 open, 55000-60000 filtered (5,001 ports): only part of livekit's UDP range" "$(head -1 <<<"$out")"
echo "# profile --via: the port check inside the profile (issue 13)"
json=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --via "$OUTSIDE_IP" --for livekit --json 2>"$TMP/profile.err"); rc=$?
check_eq "profile --via, partial: exit 1, verdict broken" "1 broken" "$rc $(jqv "$json" .verdict)"
check_eq "profile --via: the measured ranges in the facts" "tcp 80-80:open tcp 443-443:open tcp 7881-7881:open udp 50000-54999:open udp 55000-60000:filtered" \
  "$(jqv "$json" '[.facts.ports_measured[] | "\(.protocol) \(.first)-\(.last):\(.state)"] | join(" ")')"
check_eq "profile --via: the ports report beside them" "not-open ipv4" "$(jqv "$json" '"\(.ports.verdict) \(.ports.family)"')"
check_eq "profile --via: the first finding is the filtered range, naming livekit" \
  "ports-not-open|From outside over IPv4, UDP 55000-60000 is filtered (5,001 ports): livekit needs it: clients fall back to TCP 7881 or TURN." \
  "$(jqv "$json" '.findings[0] | "\(.id)|\(.message)"')"
check_contains "profile --via: the fix forwards it to this host" "Forward UDP 55000-60000 to $SERVER_IP on the router" "$(jqv "$json" '.findings[0].fix')"
check_eq "profile --via: the firewall advice is only what did not get through" \
  "ufw allow 55000:60000/udp|nft add rule inet filter input udp dport 55000-60000 accept|on the router: forward UDP 55000-60000 to $SERVER_IP" \
  "$(jqv "$json" '.advice.firewall.lines | join("|")')"
check_eq "profile --via: no 'forward the media ports' guess from the filtering behaviour" 0 "$(jqv "$json" '[.findings[] | select(.id == "filtering")] | length')"
echo "$json" >"$TMP/profile-via.json"
out=$(in_ns server "$NATDIAG" advise --from "$TMP/profile-via.json" --for livekit --json); rc=$?
check_eq "advise --from the saved profile: the same port finding" "ports-not-open" "$(jqv "$out" '.findings[0].id')"
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --via "$OUTSIDE_IP" --for livekit 2>&1)
check_contains "profile --via, text: the Ports row" "Ports:        IPv4: Not every port is open from outside" "$out"
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --via "$OUTSIDE_IP2" --for livekit --json 2>/dev/null)
check_eq "profile --via a host without probe-back: a warning, the documented firewall lines stay" "ports-untested ufw allow 50000:60000/udp" \
  "$(jqv "$out" '"\([.findings[] | select(.id == "ports-untested")][0].id) \(.advice.firewall.lines | map(select(test("/udp"))) | .[0])"')"
out=$(in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --via "$OUTSIDE_IP" --for kurento 2>&1); rc=$?
check_eq "profile --via --for kurento (no fixed ports): exit 2, one line" "2 1" "$rc $(grep -c '' <<<"$out")"

listen_probe --for livekit
check_eq "partial, listen+probe: probe exits 1" 1 "$rc"
check_eq "partial, listen+probe: exactly 50000-54999 open, 55000-60000 filtered" "50000-54999:open 55000-60000:filtered" "$(ranges udp)"
check_eq "partial, listen+probe: TCP open" "80-80:open 443-443:open 7881-7881:open" "$(ranges tcp)"
finish
