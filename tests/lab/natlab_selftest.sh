#!/usr/bin/env bash
# natlab_selftest.sh - checks that scripts/natlab.sh builds the labs it promises.
#
# Needs root (exit 77 = skipped otherwise, CTest's SKIP_RETURN_CODE). Uses only bash, iproute2,
# iptables and coreutils: no listener tool exists on a stock machine, so reachability is judged
# by TCP connects with bash's /dev/tcp (a "Connection refused" proves the SYN arrived and the RST
# came back) and by iptables packet counters (INPUT rules with a comment and no target) in the
# receiving namespace. Source ports are pinned by narrowing ip_local_port_range to one port.
#
#   tests/lab/natlab_selftest.sh            all checks (about 20 s)
#   tests/lab/natlab_selftest.sh cone ...   only the lab checks of these specs
#   NATLAB=/path/natlab.sh                  the script under test (default: ../../scripts/)
#   SELFTEST_VERBOSE=1                      also print the checks that passed
#   SELFTEST_JOBS=N                         labs checked at the same time (default 2)

# shellcheck disable=SC2016 # single-quoted scripts are expanded by the inner bash
# shellcheck disable=SC2153 # FLAVOUR, LAB_NAME, ... come from natlab.sh run
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
FLAVOURS=(cone symmetric fullcone nonat udp-blocked hairpin-on hairpin-off lossy=0.5)

FAILS=0
CTX=main

fail() {
  echo "FAIL [$CTX] $*" >&2
  FAILS=$((FAILS + 1))
}
pass() {
  if [[ ${SELFTEST_VERBOSE:-0} == 1 ]]; then echo "ok   [$CTX] $*" >&2; fi
}
check() { # check DESCRIPTION TEST-COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
eq() { # eq DESCRIPTION ACTUAL EXPECTED
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# =============================================================================================
# inside mode: runs under `natlab.sh run SPEC -- natlab_selftest.sh --inside SPEC`, with the
# lab's KEY=VALUE lines, NATLAB and LAB_NAME in the environment.

# lx HOST CMD...: like "$NATLAB exec $LAB_NAME HOST CMD..." (tested in the outer mode), but
# 4 times cheaper: ip netns exec straight into the namespace named by the lab's keys.
lx() {
  local ns
  case $1 in
    outside) ns=$NS_OUTSIDE ;;
    router) ns=$NS_ROUTER ;;
    server) ns=$NS_SERVER ;;
    client) ns=$NS_CLIENT ;;
  esac
  shift
  ip netns exec "$ns" "$@"
}

# tcp HOST IP PORT -> open | refused | timeout | error:<message>
tcp() {
  local err rc
  err=$(lx "$1" timeout "${TCP_WAIT:-1}" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1)
  rc=$?
  if ((rc == 0)); then
    echo open
  elif ((rc == 124)); then
    echo timeout
  elif [[ $err == *refused* ]]; then
    echo refused
  else
    echo "error:${err##*: }"
  fi
}

udp() { # udp HOST IP PORT: send one datagram
  lx "$1" bash -c 'echo natlab-selftest >"/dev/udp/$0/$1"' "$2" "$3" 2>/dev/null || true
}

set_range() { # set_range HOST "LO HI": the host's ephemeral port range
  lx "$1" bash -c 'echo "$0" >/proc/sys/net/ipv4/ip_local_port_range' "$2"
}

# count_add HOST TAG [-6] MATCH...: a counting rule (no target) at the top of INPUT
count_add() {
  local host=$1 tag=$2 ipt=iptables
  shift 2
  if [[ ${1:-} == -6 ]]; then ipt=ip6tables; shift; fi
  lx "$host" "$ipt" -w 5 -I INPUT "$@" -m comment --comment "$tag"
}

# count HOST TAG [-6] -> packets counted by the rules tagged TAG
count() {
  local host=$1 tag=$2 save=iptables-save line n=0
  if [[ ${3:-} == -6 ]]; then save=ip6tables-save; fi
  while IFS= read -r line; do
    if [[ $line == *"--comment $tag"* && $line =~ ^\[([0-9]+): ]]; then
      n=$((n + BASH_REMATCH[1]))
    fi
  done < <(lx "$host" "$save" -c -t filter)
  echo "$n"
}

rules() { lx router iptables-save; }
rules6() { lx router ip6tables-save; }
has_rule() { grep -qF -- "$2" <<<"$1"; }

# mapped ports the router chose for SERVER_IP:40000 -> DST:3478 (from the conntrack table)
mapped_port() {
  local f=/proc/net/nf_conntrack
  lx router bash -c '[[ -r $0 ]] && grep -E "src=$1 dst=$2 sport=40000 dport=3478 " "$0"' \
    "$f" "$SERVER_IP" "$1" 2>/dev/null | sed -n 's/.* dport=\([0-9]*\) .*/\1/p' | tail -1
}

common_checks() {
  local ns h k v
  for ns in "$NS_OUTSIDE" "$NS_ROUTER" "$NS_SERVER" "$NS_CLIENT"; do
    check "namespace $ns exists" test -e "/run/netns/$ns"
  done
  eq "FLAVOUR key" "$FLAVOUR" "$SPEC"
  eq "saved env equals the environment" "$("$NATLAB" env "$LAB_NAME" | grep -c .)" \
    "$("$NATLAB" env "$LAB_NAME" | while IFS='=' read -r k v; do
      [[ ${!k-unset} == "$v" ]] && echo "$k"
    done | grep -c .)"
  for h in server client; do
    eq "$h ephemeral port range" "$(lx "$h" cat /proc/sys/net/ipv4/ip_local_port_range)" $'32768\t49999'
  done
  eq "router ip_forward" "$(lx router cat /proc/sys/net/ipv4/ip_forward)" 1
  eq "router ipv6 forwarding" "$(lx router cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
  eq "router rp_filter" "$(lx router cat /proc/sys/net/ipv4/conf/all/rp_filter)" 0
  local links
  for h in outside router server client; do
    links=$(lx "$h" ip -o link show)
    eq "$h lo is up" "$(grep -c '^1: lo: .*,UP' <<<"$links")" 1
    eq "$h has no interface named veth*/docker*/virbr*/vnet*" \
      "$(awk -F': ' '{print $2}' <<<"$links" | grep -cE '^(veth|docker|virbr|vnet)')" 0
  done
  eq "server and client share the router's L2 LAN (bridge lan0 ports)" \
    "$(lx router ip -o link show master lan0 | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')" "cli0 srv0 "

  # TCP from the inside to both outside addresses (refused = the SYN got there and back)
  eq "server -> OUTSIDE_IP tcp" "$(tcp server "$OUTSIDE_IP" 9)" refused
  eq "client -> OUTSIDE_IP2 tcp" "$(tcp client "$OUTSIDE_IP2" 9)" refused
  eq "server -> client on the LAN tcp" "$(tcp server "$CLIENT_IP" 9)" refused
  # the internet does not route private addresses
  eq "outside -> SERVER_IP (private) is dropped" "$(TCP_WAIT=0.5 tcp outside "$SERVER_IP" 9)" timeout

  # IPv6 is routed without NAT, both ways
  count_add outside T6SRC -6 -s "$SERVER_IP6" -p tcp --dport 9
  # The first IPv6 packet waits for neighbour discovery (longer on a loaded machine).
  eq "server -> OUTSIDE_IP6 tcp" "$(TCP_WAIT=3 tcp server "$OUTSIDE_IP6" 9)" refused
  check "outside sees SERVER_IP6 as the IPv6 source (no NAT)" test "$(count outside T6SRC -6)" -ge 1
  eq "outside -> SERVER_IP6 tcp" "$(tcp outside "$SERVER_IP6" 9)" refused
  eq "outside -> CLIENT_IP6 tcp" "$(tcp outside "$CLIENT_IP6" 9)" refused
  eq "PUBLIC_IP6 is SERVER_IP6" "$PUBLIC_IP6" "$SERVER_IP6"
}

# Server sends UDP from port 40000 to OUTSIDE_IP:3478 and OUTSIDE_IP2:3478. Sets MAP1 MAP2
# (packets seen with source PUBLIC_IP:40000 at each) and MAPANY (packets from PUBLIC_IP at all).
udp_mapping_probe() {
  local src=${1:-$PUBLIC_IP}
  count_add outside TMAP1 -s "$src" -d "$OUTSIDE_IP" -p udp --sport 40000 --dport 3478
  count_add outside TMAP2 -s "$src" -d "$OUTSIDE_IP2" -p udp --sport 40000 --dport 3478
  count_add outside TMAPANY -s "$src" -p udp --dport 3478
  set_range server "40000 40000"
  udp server "$OUTSIDE_IP" 3478
  udp server "$OUTSIDE_IP2" 3478
  set_range server "32768 49999"
  MAP1=$(count outside TMAP1) MAP2=$(count outside TMAP2) MAPANY=$(count outside TMAPANY)
}

# The server sends from port 40001 to OUTSIDE_IP:3478 only; then the outside sends to DST:40001
# from OUTSIDE_IP:3478 (that endpoint), from OUTSIDE_IP:3479 (other port) and from
# OUTSIDE_IP2:3478 (other address). Sets FILT_SAME FILT_PORT FILT_ADDR: 1 if that datagram
# reached the server, else 0.
udp_filtering_probe() {
  local dst=${1:-$PUBLIC_IP} a b c
  count_add server TFILT -p udp --dport 40001
  set_range server "40001 40001"
  udp server "$OUTSIDE_IP" 3478
  set_range server "32768 49999"
  set_range outside "3478 3478"
  udp outside "$dst" 40001
  a=$(count server TFILT)
  set_range outside "3479 3479"
  udp outside "$dst" 40001
  b=$(count server TFILT)
  set_range outside "3478 3478"
  if [[ $dst == "$PUBLIC_IP" ]]; then
    lx outside ip route replace "$dst/32" dev wan0 src "$OUTSIDE_IP2"
  else
    lx outside ip route replace "$dst/32" via "$PUBLIC_IP" dev wan0 src "$OUTSIDE_IP2"
  fi
  udp outside "$dst" 40001
  c=$(count server TFILT)
  lx outside ip route del "$dst/32" dev wan0
  set_range outside "32768 60999"
  FILT_SAME=$a FILT_PORT=$((b - a)) FILT_ADDR=$((c - b))
}

# Forwards from the outside reach the server (counted there, source OUTSIDE_IP).
forwards_checks() {
  local p
  eq "MEDIA_PORTS key" "${MEDIA_PORTS:-}" 50000-60000
  eq "FORWARDS key" "$FORWARDS" on
  count_add server TFWDTCP -s "$OUTSIDE_IP" -p tcp -m multiport --dports 80,443,7881
  for p in 80 443 7881; do
    eq "outside -> PUBLIC_IP:$p tcp is refused by the server" "$(tcp outside "$PUBLIC_IP" "$p")" refused
  done
  eq "the 3 forwarded tcp connections reached the server" "$(count server TFWDTCP)" 3
  count_add server TFWDUDP -s "$OUTSIDE_IP" -p udp
  udp outside "$PUBLIC_IP" 50000
  udp outside "$PUBLIC_IP" 60000
  eq "outside -> PUBLIC_IP udp 50000 and 60000 reach the server" "$(count server TFWDUDP)" 2
  udp outside "$PUBLIC_IP" 60001
  eq "outside -> PUBLIC_IP udp 60001 does not" "$(count server TFWDUDP)" 2
}

# A LAN host connects to PUBLIC_IP: counts what the server sees from the router (hairpin SNAT)
# and from the client itself. Sets HP_TCP_RESULT HP_TCP HP_UDP HP_DIRECT.
hairpin_probe() {
  count_add server THPTCP -s "$ROUTER_LAN_IP" -p tcp --dport 443
  count_add server THPUDP -s "$ROUTER_LAN_IP" -p udp --dport 50000
  count_add server THPDIRECT -s "$CLIENT_IP" -p tcp --dport 443
  HP_TCP_RESULT=$(tcp client "$PUBLIC_IP" 443)
  udp client "$PUBLIC_IP" 50000
  HP_TCP=$(count server THPTCP) HP_UDP=$(count server THPUDP) HP_DIRECT=$(count server THPDIRECT)
}

check_cone() {
  local r
  r=$(rules)
  check "MASQUERADE on wan0" has_rule "$r" "-A POSTROUTING -o wan0 -j MASQUERADE"
  check "no --random-fully" test "$(grep -c -- --random-fully <<<"$r")" = 0
  eq "HAIRPIN key" "$HAIRPIN" off
  eq "FORWARDS key" "$FORWARDS" off
  check "no MEDIA_PORTS key" test -z "${MEDIA_PORTS+set}"
  udp_mapping_probe
  eq "mapping to OUTSIDE_IP keeps port 40000" "$MAP1" 1
  eq "mapping to OUTSIDE_IP2 keeps port 40000 (endpoint-independent)" "$MAP2" 1
  udp_filtering_probe
  eq "reply from the same endpoint passes" "$FILT_SAME" 1
  eq "other port is filtered (port-dependent)" "$FILT_PORT" 0
  eq "other address is filtered (address-dependent)" "$FILT_ADDR" 0
}

check_symmetric() {
  local r p1 p2
  r=$(rules)
  check "MASQUERADE --random-fully on wan0" has_rule "$r" "-A POSTROUTING -o wan0 -j MASQUERADE --random-fully"
  udp_mapping_probe
  eq "both datagrams left through PUBLIC_IP" "$MAPANY" 2
  eq "source port 40000 is not preserved" "$((MAP1 + MAP2))" 0
  p1=$(mapped_port "$OUTSIDE_IP") p2=$(mapped_port "$OUTSIDE_IP2")
  if [[ -n $p1 && -n $p2 ]]; then
    check "mapped ports differ per destination ($p1, $p2)" test "$p1" != "$p2"
  else
    pass "conntrack table not readable: per-destination ports not compared"
  fi
}

check_fullcone() {
  local r
  r=$(rules)
  check "MASQUERADE on wan0" has_rule "$r" "-A POSTROUTING -o wan0 -j MASQUERADE"
  check "DNAT of all udp to the server" has_rule "$r" \
    "-A PREROUTING -d $PUBLIC_IP/32 -i wan0 -p udp -j DNAT --to-destination $SERVER_IP"
  udp_mapping_probe
  eq "mapping to OUTSIDE_IP keeps port 40000" "$MAP1" 1
  eq "mapping to OUTSIDE_IP2 keeps port 40000" "$MAP2" 1
  udp_filtering_probe
  eq "reply from the same endpoint passes" "$FILT_SAME" 1
  eq "other port passes (endpoint-independent filtering)" "$FILT_PORT" 1
  eq "other address passes (endpoint-independent filtering)" "$FILT_ADDR" 1
}

check_nonat() {
  local r
  r=$(rules)
  eq "SERVER_PUBLIC_IP key" "${SERVER_PUBLIC_IP:-}" 198.51.100.10
  check "client MASQUERADE only" has_rule "$r" "-A POSTROUTING -s $LAN_PREFIX -o wan0 -j MASQUERADE"
  udp_mapping_probe "$SERVER_PUBLIC_IP"
  eq "server's udp leaves as SERVER_PUBLIC_IP:40000 (direct)" "$((MAP1 + MAP2))" 2
  eq "outside -> SERVER_PUBLIC_IP tcp" "$(tcp outside "$SERVER_PUBLIC_IP" 9)" refused
  udp_filtering_probe "$SERVER_PUBLIC_IP"
  eq "unsolicited udp from another port reaches the server" "$FILT_PORT" 1
  eq "unsolicited udp from another address reaches the server" "$FILT_ADDR" 1
  count_add outside TCLI -s "$PUBLIC_IP" -p udp --dport 3479
  udp client "$OUTSIDE_IP" 3479
  eq "client is still NATed to PUBLIC_IP" "$(count outside TCLI)" 1
}

check_udp_blocked() {
  local r
  r=$(rules)
  check "FORWARD udp DROP (IPv4)" has_rule "$r" "-A FORWARD -p udp -j DROP"
  check "FORWARD udp DROP (IPv6)" has_rule "$(rules6)" "-A FORWARD -p udp -j DROP"
  eq "UDP_BLOCKED key" "$UDP_BLOCKED" on
  count_add outside TUDP -p udp
  count_add outside TUDP6 -6 -p udp
  udp server "$OUTSIDE_IP" 3478
  udp client "$OUTSIDE_IP2" 3478
  udp server "$OUTSIDE_IP6" 3478
  eq "no udp gets out (IPv4)" "$(count outside TUDP)" 0
  eq "no udp gets out (IPv6)" "$(count outside TUDP6 -6)" 0
  eq "tcp still gets out" "$(tcp server "$OUTSIDE_IP" 3478)" refused
  count_add client TLANUDP -s "$SERVER_IP" -p udp
  udp server "$CLIENT_IP" 3478
  eq "udp on the LAN is not blocked" "$(count client TLANUDP)" 1
}

check_hairpin_on() {
  local r
  r=$(rules)
  eq "HAIRPIN key" "$HAIRPIN" on
  check "LAN->LAN MASQUERADE" has_rule "$r" "-A POSTROUTING -s $LAN_PREFIX -d $LAN_PREFIX -j MASQUERADE"
  check "DNAT from lan0" has_rule "$r" "-i lan0 -p tcp -m tcp --dport 443 -j DNAT --to-destination $SERVER_IP"
  forwards_checks
  hairpin_probe
  eq "client -> PUBLIC_IP:443 answered by the server" "$HP_TCP_RESULT" refused
  eq "hairpinned tcp reached the server from the router" "$HP_TCP" 1
  eq "hairpinned udp 50000 reached the server" "$HP_UDP" 1
  eq "nothing bypassed the router" "$HP_DIRECT" 0
}

check_hairpin_off() {
  local r
  r=$(rules)
  eq "HAIRPIN key" "$HAIRPIN" off
  check "no DNAT from lan0" test "$(grep -c -- '-i lan0' <<<"$r")" = 0
  check "DNAT only from wan0" has_rule "$r" "-A PREROUTING -d $PUBLIC_IP/32 -i wan0 -p tcp -m tcp --dport 443 -j DNAT --to-destination $SERVER_IP"
  forwards_checks
  hairpin_probe
  eq "client -> PUBLIC_IP:443 refused by the router itself" "$HP_TCP_RESULT" refused
  eq "no hairpinned tcp at the server" "$((HP_TCP + HP_DIRECT))" 0
  eq "no hairpinned udp at the server" "$HP_UDP" 0
}

check_lossy() {
  check "statistic drop rule (IPv4)" has_rule "$(rules)" "-A FORWARD -p udp -m statistic --mode random --probability 0.5"
  check "statistic drop rule (IPv6)" has_rule "$(rules6)" "-A FORWARD -p udp -m statistic --mode random --probability 0.5"
  eq "LOSSY key" "$LOSSY" 0.5
  # 24 datagrams through p=0.5: all or none arriving has probability 2^-23
  local i n
  count_add outside TLOSS -p udp --dport 3478
  for ((i = 0; i < 24; i++)); do udp server "$OUTSIDE_IP" 3478; done
  n=$(count outside TLOSS)
  check "some but not all of 24 udp datagrams arrive ($n)" test "$n" -gt 0 -a "$n" -lt 24
}

inside_main() {
  SPEC=$1 CTX=$1
  local t0=$SECONDS
  common_checks
  case $SPEC in
    cone) check_cone ;;
    symmetric) check_symmetric ;;
    fullcone) check_fullcone ;;
    nonat) check_nonat ;;
    udp-blocked) check_udp_blocked ;;
    hairpin-on) check_hairpin_on ;;
    hairpin-off) check_hairpin_off ;;
    lossy=0.5) check_lossy ;;
    *) ;; # any other spec: the common checks only
  esac
  echo "$LAB_NAME" >"${SELFTEST_NAME_FILE:-/dev/null}"
  local verdict=ok
  ((FAILS == 0)) || verdict=FAIL
  echo "$verdict [$SPEC] lab $LAB_NAME: $FAILS failure(s), $((SECONDS - t0)) s" >&2
  ((FAILS == 0))
}

# =============================================================================================
# outer mode

lab_gone() { # lab_gone NAME: no namespace and no env file left
  local n
  for n in out rtr srv cli; do [[ ! -e /run/netns/$1-$n ]] || return 1; done
  [[ -z $(ip netns list | awk -v p="$1-" 'index($1, p) == 1') && ! -e /run/natdiag-lab/$1.env ]]
}

wait_for_file() { # bounded: 10 s
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.1
  done
  return 1
}

test_usage() {
  CTX=usage
  local err rc
  err=$("$NATLAB" up cone,bogus 2>&1 >/dev/null)
  rc=$?
  eq "bad spec exits 2" "$rc" 2
  eq "bad spec: one line naming it" "$(grep -c . <<<"$err")/$(grep -c bogus <<<"$err")" 1/1
  "$NATLAB" up cone,symmetric >/dev/null 2>&1
  eq "two bases exit 2" "$?" 2
  "$NATLAB" up lossy=2 >/dev/null 2>&1
  eq "lossy=2 exits 2" "$?" 2
  "$NATLAB" run cone >/dev/null 2>&1
  eq "run without a command exits 2" "$?" 2
  "$NATLAB" frobnicate >/dev/null 2>&1
  eq "unknown command exits 2" "$?" 2

  # not root: exit 3 with one clear line (run as nobody when setpriv exists)
  if command -v setpriv >/dev/null 2>&1; then
    local tmp
    tmp=$(mktemp -d)
    cp "$NATLAB" "$tmp/natlab.sh"
    chmod 755 "$tmp" "$tmp/natlab.sh"
    err=$(setpriv --reuid=65534 --regid=65534 --clear-groups bash "$tmp/natlab.sh" up cone 2>&1 >/dev/null)
    rc=$?
    rm -rf "$tmp"
    eq "not root exits 3" "$rc" 3
    eq "not root message" "$err" "natlab: needs root (network namespaces, iptables)"
  else
    pass "setpriv missing: not-root path not tested"
  fi
}

test_up_down() {
  CTX=up-down
  local name out links_before links_after pid rc
  name=ndlst$(printf '%04x' $((RANDOM)))
  links_before=$(ip -o link show | wc -l)
  out=$("$NATLAB" up hairpin-on --name "$name" 2>/dev/null)
  eq "up exits 0" "$?" 0
  eq "stdout is only KEY=VALUE lines" "$(grep -cvE '^[A-Z][A-Z0-9_]*=[^ ]*$' <<<"$out")" 0
  check "LAB_NAME printed" grep -qx "LAB_NAME=$name" <<<"$out"
  eq "saved env equals stdout" "$("$NATLAB" env "$name")" "$out"
  eq "4 namespaces" "$(ip netns list | awk '{print $1}' | grep -c "^$name-")" 4
  links_after=$(ip -o link show | wc -l)
  eq "nothing appeared in the root namespace" "$links_after" "$links_before"
  "$NATLAB" up cone --name "$name" >/dev/null 2>&1
  eq "up of an existing name exits 2" "$?" 2
  eq "... and leaves the lab alone" "$(ip netns list | awk '{print $1}' | grep -c "^$name-")" 4
  eq "exec runs in the server namespace" \
    "$("$NATLAB" exec "$name" server ip -4 -o addr show lan0 | awk '{print $4}')" 10.77.0.10/24
  "$NATLAB" exec "$name" server true
  eq "exec passes the exit code (0)" "$?" 0
  "$NATLAB" exec "$name" client sh -c 'exit 5'
  eq "exec passes the exit code (5)" "$?" 5
  "$NATLAB" exec "$name" dmz true 2>/dev/null
  eq "exec with a bad host exits 2" "$?" 2
  # a process left in the lab is ended by down
  "$NATLAB" exec "$name" server sleep 30 &
  pid=$!
  sleep 0.3
  "$NATLAB" down "$name"
  eq "down exits 0" "$?" 0
  check "down removed namespaces and env file" lab_gone "$name"
  wait "$pid" 2>/dev/null
  rc=$?
  check "down ended the process left in the lab (status $rc)" test "$rc" -ge 128
  "$NATLAB" down "$name"
  eq "down again exits 0" "$?" 0
  "$NATLAB" env "$name" >/dev/null 2>&1
  eq "env of a removed lab exits 2" "$?" 2
}

test_run_failing() {
  CTX=run-fail
  local nf name rc
  nf=$(mktemp)
  "$NATLAB" run cone -- bash -c 'echo "$LAB_NAME" >"$0"; [[ -x $NATLAB ]] || exit 9; "$NATLAB" exec "$LAB_NAME" server true || exit 8; exit 7' "$nf" 2>/dev/null
  rc=$?
  name=$(cat "$nf")
  rm -f "$nf"
  eq "run exits with CMD's code" "$rc" 7
  check "a lab name was exported ($name)" test -n "$name"
  check "run removed the lab after CMD failed" lab_gone "${name:-none}"
}

test_run_signal() {
  CTX=run-signal
  local nf pf name pid rc cmdpid
  nf=$(mktemp -u) pf=$(mktemp -u)
  "$NATLAB" run cone -- bash -c 'echo $$ >"$1"; echo "$LAB_NAME" >"$0"; exec sleep 30' "$nf" "$pf" 2>/dev/null &
  pid=$!
  if ! wait_for_file "$nf"; then
    fail "run did not start CMD within 10 s"
    kill -KILL "$pid" 2>/dev/null
    return
  fi
  name=$(cat "$nf") cmdpid=$(cat "$pf")
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  rm -f "$nf" "$pf"
  eq "run killed by TERM exits 143" "$rc" 143
  check "run removed the lab after TERM" lab_gone "$name"
  check "run ended CMD" bash -c '! kill -0 "$0" 2>/dev/null' "$cmdpid"
}

test_half_built() {
  CTX=half-built
  local fake name
  fake=$(mktemp -d)
  printf '#!/bin/sh\necho "iptables: simulated failure" >&2\nexit 1\n' >"$fake/iptables"
  chmod +x "$fake/iptables"
  name=ndlst$(printf '%04x' $((RANDOM)))
  PATH="$fake:$PATH" "$NATLAB" up cone --name "$name" >/dev/null 2>&1
  eq "a failing step makes up exit 3" "$?" 3
  check "... and removes what it created" lab_gone "$name"
  rm -rf "$fake"
}

outer_main() {
  if [[ $EUID -ne 0 ]]; then
    echo "SKIPPED: lab tests need root" >&2
    exit 77
  fi
  local t
  for t in ip iptables ip6tables iptables-save timeout; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "SKIPPED: lab tests need '$t'" >&2
      exit 77
    fi
  done
  NATLAB=${NATLAB:-$(readlink -f "$HERE/../../scripts/natlab.sh")}
  export NATLAB
  local t0=$SECONDS specs=("$@") rc name
  if ((${#specs[@]} == 0)); then
    specs=("${FLAVOURS[@]}")
    test_usage
    test_up_down
    test_run_failing
    test_run_signal
    test_half_built
  fi
  # the labs are independent (own namespaces, own names): check SELFTEST_JOBS (2) at a time
  local jobs=${SELFTEST_JOBS:-2} i j dir
  dir=$(mktemp -d)
  for ((i = 0; i < ${#specs[@]}; i += jobs)); do
    for ((j = i; j < i + jobs && j < ${#specs[@]}; j++)); do
      SELFTEST_NAME_FILE=$dir/$j.name "$NATLAB" run "${specs[j]}" -- "$SELF" --inside "${specs[j]}" \
        >"$dir/$j.log" 2>&1 &
      echo $! >"$dir/$j.pid"
    done
    for ((j = i; j < i + jobs && j < ${#specs[@]}; j++)); do
      rc=0
      wait "$(cat "$dir/$j.pid")" || rc=$?
      CTX=${specs[j]}
      cat "$dir/$j.log" >&2
      if ((rc != 0)); then fail "lab checks failed (exit $rc)"; fi
      name=$(cat "$dir/$j.name" 2>/dev/null)
      if [[ -n $name ]]; then check "lab removed after run" lab_gone "$name"; fi
    done
  done
  rm -rf "$dir"
  echo "natlab selftest: $FAILS failure(s), $((SECONDS - t0)) s" >&2
  ((FAILS == 0))
}

if [[ ${1:-} == --inside ]]; then
  inside_main "$2"
else
  outer_main "$@"
fi
