#!/usr/bin/env bash
# natlab.sh - a NAT lab made of Linux network namespaces, for natdiag's real-network tests.
#
# Usage:
#   natlab.sh up SPEC [--name NAME]      build a lab, print KEY=VALUE lines (also saved to
#                                        /run/natdiag-lab/NAME.env)
#   natlab.sh down NAME | --all          remove a lab (idempotent) / every lab named ndl*
#   natlab.sh exec NAME HOST CMD...      run CMD in HOST's namespace (outside|router|server|client)
#   natlab.sh run SPEC [--name NAME] -- CMD...
#                                        up, export the keys + NATLAB + LAB_NAME, run CMD in the
#                                        root namespace, always tear down, exit with CMD's code
#   natlab.sh env NAME                   print the saved KEY=VALUE lines
#   natlab.sh list                       print the names of the labs that exist
#
# Exit codes: 0 ok; 1 CMD failed (run passes CMD's code through); 2 usage error or bad spec;
#             3 cannot run here (not root, missing tool, the kernel refused a step).
# NATLAB_VERBOSE=1 logs every step to stderr. Nothing but KEY=VALUE lines ever goes to stdout
# from `up`.
#
# Topology. Nothing is created in the root namespace: every veth pair is created with both ends
# directly inside lab namespaces. Interface names avoid the veth/docker/virbr/vnet prefixes that
# libnice ignores.
#
#   NAME-out (outside)        NAME-rtr (router: NAT by iptables)          NAME-srv (server)
#  +------------------+      +------------------------------------+     +------------------+
#  | wan0             |      | wan0             lan0 (a bridge)   |     | lan0             |
#  |  203.0.113.10    |      |  203.0.113.1      10.77.0.1        |     |  10.77.0.10      |
#  |  203.0.113.11    |veth  |  2001:db8:1::1    2001:db8:2::1    |veth |  2001:db8:2::10  |
#  |  2001:db8:1::10  |======|                   [198.51.100.1]   |  +==|  [198.51.100.10] |
#  |  2001:db8:1::11  |      |                   ports: srv0 =====|==+  +------------------+
#  +------------------+      |                          cli0 =====|==+  NAME-cli (client)
#                            +------------------------------------+  |  +------------------+
#                                                                veth +==| lan0 10.77.0.20  |
#                                                                        |  2001:db8:2::20  |
#   [..] = flavour nonat only                                            +------------------+
#
# The LAN: in the router namespace a Linux bridge named `lan0` carries the router's LAN
# addresses; its ports srv0 and cli0 are the router ends of the veth pairs whose other ends are
# `lan0` in the server and client namespaces. So server, client and router share one L2 segment.
# br_netfilter is switched off in the router namespace (bridged LAN<->LAN frames never see
# iptables) and the router sends no ICMP redirects (they would break hairpinning).
#
# Address plan
#   outside  wan0  203.0.113.10/24 (OUTSIDE_IP, primary)     2001:db8:1::10/64 (OUTSIDE_IP6)
#                  203.0.113.11/24 (OUTSIDE_IP2, secondary)  2001:db8:1::11/64 (OUTSIDE_IP6_2,
#                                                            deprecated: never picked as source)
#            default via 203.0.113.1 / 2001:db8:1::1
#   router   wan0  203.0.113.1/24 (PUBLIC_IP)                2001:db8:1::1/64
#            lan0  10.77.0.1/24                              2001:db8:2::1/64
#                  [198.51.100.1/24, flavour nonat only]
#   server   lan0  10.77.0.10/24 (SERVER_IP)                 2001:db8:2::10/64 (SERVER_IP6)
#                  [198.51.100.10/24, nonat only: default route via 198.51.100.1 src 198.51.100.10]
#   client   lan0  10.77.0.20/24 (CLIENT_IP)                 2001:db8:2::20/64 (CLIENT_IP6)
#            default via 10.77.0.1 / 2001:db8:2::1
#   IPv6 is routed, never NATed: the server's public IPv6 is SERVER_IP6 (printed as PUBLIC_IP6).
#   Server and client use ephemeral ports 32768-49999, outside the media range 50000-60000.
#   The router never forwards a new connection from wan0 whose original destination is in
#   10.77.0.0/24 (the internet does not route private addresses); DNATed traffic is unaffected.
#
# SPEC: comma-separated; at most one base, any modifiers; no base means cone.
#   bases:     cone       MASQUERADE (EIM mapping, address-and-port-dependent filtering)
#              symmetric  MASQUERADE --random-fully
#              fullcone   MASQUERADE + DNAT of all UDP to PUBLIC_IP arriving on wan0 -> server
#              nonat      server has routed 198.51.100.10; client still MASQUERADEd
#   modifiers: udp-blocked   FORWARD -p udp -j DROP (IPv4 and IPv6)
#              forwards      DNAT wan0 PUBLIC_IP tcp 80,443,7881 + udp 50000:60000 -> server
#              hairpin       forwards also from the LAN side + MASQUERADE LAN->LAN (implies forwards)
#              lossy[=P]     FORWARD udp random drop with probability P (default 0.2; IPv4 and IPv6)
#              forwards-partial  DNAT tcp 80,443,7881 + udp 50000:54999 only -> server; the router
#                            drops WAN input to udp 55000:60000 (as home routers drop unsolicited input)
#              forwards-bbb  DNAT udp 16384:32768 (BigBlueButton's media range) -> server
#              hairpin-bbb   DNAT tcp 80,443,7881 + udp 16384:32768 only (no 50000-60000), from
#                            the WAN and the LAN side, + MASQUERADE LAN->LAN: hairpin on, BBB's ports
#              turn          DNAT wan0 PUBLIC_IP udp+tcp 3478 and tcp 5349 -> server (a TURN server
#                            inside; combine with forwards for its relay ports 50000-60000)
#   aliases:   hairpin-on = forwards,hairpin   hairpin-off = forwards (and forbids hairpin)
#              media = forwards
#   e.g. cone | symmetric,lossy=0.1 | hairpin-on | udp-blocked | nonat,forwards
set -euo pipefail

readonly ENV_DIR=/run/natdiag-lab
readonly NAME_PREFIX=ndl

# Address plan (see the header).
readonly OUTSIDE_IP=203.0.113.10 OUTSIDE_IP2=203.0.113.11
readonly OUTSIDE_IP6=2001:db8:1::10 OUTSIDE_IP6_2=2001:db8:1::11
readonly PUBLIC_IP=203.0.113.1 ROUTER_WAN_IP6=2001:db8:1::1
readonly ROUTER_LAN_IP=10.77.0.1 ROUTER_LAN_IP6=2001:db8:2::1
readonly LAN_PREFIX=10.77.0.0/24 LAN_PREFIX6=2001:db8:2::/64
readonly SERVER_IP=10.77.0.10 SERVER_IP6=2001:db8:2::10
readonly CLIENT_IP=10.77.0.20 CLIENT_IP6=2001:db8:2::20
readonly NONAT_NET=198.51.100.0/24 NONAT_GW=198.51.100.1 SERVER_PUBLIC_IP_NONAT=198.51.100.10
readonly MEDIA_PORTS=50000-60000 MEDIA_LO=50000 MEDIA_HI=60000
readonly TCP_FORWARDS="80 443 7881"
readonly PARTIAL_HI=54999 BBB_LO=16384 BBB_HI=32768
readonly HOST_PORT_RANGE="32768 49999"

SELF=$(readlink -f "${BASH_SOURCE[0]}")
readonly SELF

# ---------------------------------------------------------------------------------------------
# small helpers

die() { # die CODE MESSAGE: one line on stderr
  echo "natlab: $2" >&2
  exit "$1"
}

log() {
  if [[ ${NATLAB_VERBOSE:-0} == 1 ]]; then echo "natlab: $*" >&2; fi
  return 0
}

x() { # run a command, logging it when verbose and naming it when it fails
  log "+ $*"
  local rc=0
  "$@" || rc=$?
  if ((rc != 0)); then echo "natlab: failed (exit $rc): $*" >&2; fi
  return "$rc"
}

usage() { # usage EXIT-CODE: the header's usage part, to stderr
  sed -n '3,18p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit "$1"
}

need_root() {
  [[ $EUID -eq 0 ]] || die 3 "needs root (network namespaces, iptables)"
  local t
  for t in ip iptables ip6tables; do
    command -v "$t" >/dev/null 2>&1 || die 3 "missing tool '$t' (install iproute2 / iptables)"
  done
}

check_name() {
  [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}$ ]] || die 2 "bad lab name '$1' (letters, digits, _ . -; at most 40)"
}

ns_of() { # ns_of NAME HOST -> namespace name
  case $2 in
    outside | out) echo "$1-out" ;;
    router | rtr) echo "$1-rtr" ;;
    server | srv) echo "$1-srv" ;;
    client | cli) echo "$1-cli" ;;
    *) die 2 "bad host '$2' (outside, router, server or client)" ;;
  esac
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

lab_exists() { # any of its namespaces or its env file
  ns_exists "$1-out" || ns_exists "$1-rtr" || ns_exists "$1-srv" || ns_exists "$1-cli" ||
    [[ -e $ENV_DIR/$1.env ]]
}

random_name() {
  local i n
  for ((i = 0; i < 20; i++)); do
    n=$(printf '%s%05x' "$NAME_PREFIX" $(((RANDOM << 5 ^ RANDOM) & 0xfffff)))
    if ! lab_exists "$n"; then
      echo "$n"
      return 0
    fi
  done
  die 3 "could not find a free lab name"
}

# ns_sysctl NS key=value... ; a key starting with '?' is skipped when the kernel lacks it.
ns_sysctl() {
  local ns=$1
  shift
  log "+ [$ns] sysctl $*"
  # shellcheck disable=SC2016 # expanded by the inner bash
  ip netns exec "$ns" bash -c '
    for kv; do
      k=${kv%%=*} v=${kv#*=} opt=0
      if [[ $k == "?"* ]]; then k=${k#?} opt=1; fi
      f=/proc/sys/${k//.//}
      if [[ ! -e $f ]]; then
        [[ $opt == 1 ]] && continue
        echo "natlab: no sysctl $k" >&2; exit 1
      fi
      printf "%s\n" "$v" >"$f" || exit 1
    done' _ "$@"
}

# ns_ip NS <<EOF ... : several ip commands (one a line, family taken from the addresses) in one
# `ip -n NS -batch -`, which stops at the first failing line and names it.
ns_ip() {
  local ns=$1 cmds
  cmds=$(cat)
  log "+ ip -n $ns -batch: ${cmds//$'\n'/; }"
  if ! ip -n "$ns" -batch - <<<"$cmds"; then
    echo "natlab: failed: ip -n $ns -batch with lines:" >&2
    nl -ba <<<"$cmds" >&2
    return 1
  fi
}

rtr_ipt() { x ip netns exec "$NS_RTR" iptables -w 5 "$@"; }
rtr_ip6t() { x ip netns exec "$NS_RTR" ip6tables -w 5 "$@"; }

# ---------------------------------------------------------------------------------------------
# SPEC parsing: sets BASE FORWARDS HAIRPIN UDP_BLOCKED LOSSY

parse_spec() {
  local spec=$1 tok base="" hp_forbid=0 hp=0 fwd=0 udpb=0 loss="" part=0 bbb=0 turnfwd=0 hpbbb=0
  [[ -n $spec && $spec =~ ^[a-z0-9.,=-]+$ ]] || die 2 "bad spec '$spec' (comma-separated flavour and modifiers, e.g. cone,forwards)"
  local IFS=,
  for tok in $spec; do
    case $tok in
      cone | symmetric | fullcone | nonat)
        [[ -z $base || $base == "$tok" ]] || die 2 "bad spec '$spec': two base flavours '$base' and '$tok'"
        base=$tok ;;
      udp-blocked) udpb=1 ;;
      forwards-partial) part=1 ;;
      forwards-bbb) bbb=1 ;;
      hairpin-bbb) hpbbb=1 ;;
      turn) turnfwd=1 ;;
      forwards | media) fwd=1 ;;
      hairpin | hairpin-on) fwd=1 hp=1 ;;
      hairpin-off) fwd=1 hp_forbid=1 ;;
      lossy) loss=0.2 ;;
      lossy=*)
        loss=${tok#lossy=}
        [[ $loss =~ ^(0(\.[0-9]{1,6})?|1(\.0*)?|\.[0-9]{1,6})$ ]] ||
          die 2 "bad spec '$spec': lossy probability '$loss' must be between 0 and 1" ;;
      "") die 2 "bad spec '$spec': empty piece" ;;
      *) die 2 "bad spec '$spec': unknown flavour or modifier '$tok'" ;;
    esac
  done
  ((hp && hp_forbid)) && die 2 "bad spec '$spec': hairpin-off together with hairpin"
  ((part && fwd)) && die 2 "bad spec '$spec': forwards-partial together with forwards"
  ((hpbbb && (fwd || part || bbb))) && die 2 "bad spec '$spec': hairpin-bbb brings its own forwards"
  BASE=${base:-cone}
  FORWARDS=$fwd HAIRPIN=$hp UDP_BLOCKED=$udpb LOSSY=$loss TURN_FORWARD=$turnfwd
  FORWARDS_PARTIAL=$part FORWARDS_BBB=$bbb HAIRPIN_BBB=$hpbbb
}

onoff() { if (($1)); then echo on; else echo off; fi; }

# The KEY=VALUE lines describing a lab (values never need quoting).
lab_keys() {
  local name=$1 spec=$2
  cat <<EOF
LAB_NAME=$name
FLAVOUR=$spec
NAT_BASE=$BASE
NS_OUTSIDE=$name-out
NS_ROUTER=$name-rtr
NS_SERVER=$name-srv
NS_CLIENT=$name-cli
OUTSIDE_IP=$OUTSIDE_IP
OUTSIDE_IP2=$OUTSIDE_IP2
OUTSIDE_IP6=$OUTSIDE_IP6
OUTSIDE_IP6_2=$OUTSIDE_IP6_2
PUBLIC_IP=$PUBLIC_IP
PUBLIC_IP6=$SERVER_IP6
ROUTER_WAN_IP6=$ROUTER_WAN_IP6
ROUTER_LAN_IP=$ROUTER_LAN_IP
ROUTER_LAN_IP6=$ROUTER_LAN_IP6
LAN_PREFIX=$LAN_PREFIX
LAN_PREFIX6=$LAN_PREFIX6
SERVER_IP=$SERVER_IP
SERVER_IP6=$SERVER_IP6
CLIENT_IP=$CLIENT_IP
CLIENT_IP6=$CLIENT_IP6
OUTSIDE_IF=wan0
ROUTER_WAN_IF=wan0
ROUTER_LAN_IF=lan0
HOST_IF=lan0
HAIRPIN=$(onoff "$((HAIRPIN || HAIRPIN_BBB))")
FORWARDS=$(onoff "$FORWARDS")
UDP_BLOCKED=$(onoff "$UDP_BLOCKED")
LOSSY=${LOSSY:-off}
EOF
  if ((FORWARDS)); then echo "MEDIA_PORTS=$MEDIA_PORTS"; fi
  if ((FORWARDS_PARTIAL)); then echo "MEDIA_PORTS_FORWARDED=$MEDIA_LO-$PARTIAL_HI"; fi
  if ((FORWARDS_BBB || HAIRPIN_BBB)); then echo "BBB_PORTS=$BBB_LO-$BBB_HI"; fi
  if ((TURN_FORWARD)); then echo "TURN_PORTS=3478,5349"; fi
  if [[ $BASE == nonat ]]; then echo "SERVER_PUBLIC_IP=$SERVER_PUBLIC_IP_NONAT"; fi
}

# ---------------------------------------------------------------------------------------------
# building blocks of a lab (all but make_namespaces run under set -e in build_lab's subshell)

# Creates the 4 namespaces (in the calling shell, so that a name taken meanwhile by another lab
# is never torn down by us): on failure removes the ones it made and returns 1.
make_namespaces() {
  local ns made=()
  for ns in "$NS_OUT" "$NS_RTR" "$NS_SRV" "$NS_CLI"; do
    if ! x ip netns add "$ns"; then
      local m
      for m in "${made[@]}"; do remove_namespace "$m"; done
      return 1
    fi
    made+=("$ns")
  done
}

setup_namespaces() {
  local ns
  for ns in "$NS_OUT" "$NS_RTR" "$NS_SRV" "$NS_CLI"; do
    ns_ip "$ns" <<<"link set lo up"
  done
  # no duplicate address detection at all (link-local included): addresses usable at once;
  # ephemeral ports of the inside hosts stay below the forwarded media range
  local nodad=(net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0)
  ns_sysctl "$NS_OUT" "${nodad[@]}"
  ns_sysctl "$NS_RTR" "${nodad[@]}"
  ns_sysctl "$NS_SRV" "${nodad[@]}" "net.ipv4.ip_local_port_range=$HOST_PORT_RANGE"
  ns_sysctl "$NS_CLI" "${nodad[@]}" "net.ipv4.ip_local_port_range=$HOST_PORT_RANGE"
}

make_links() {
  # outside <-> router WAN
  x ip link add wan0 netns "$NS_OUT" type veth peer name wan0 netns "$NS_RTR"
  # the LAN: a bridge named lan0 in the router, one port per inside host
  x ip -n "$NS_RTR" link add lan0 type bridge stp_state 0 forward_delay 0
  x ip link add lan0 netns "$NS_SRV" type veth peer name srv0 netns "$NS_RTR"
  x ip link add lan0 netns "$NS_CLI" type veth peer name cli0 netns "$NS_RTR"
  x ip -n "$NS_RTR" link set srv0 master lan0
  x ip -n "$NS_RTR" link set cli0 master lan0
}

setup_router_sysctls() { # forwarding on, no rp_filter, no ICMP redirects, no br_netfilter
  ns_sysctl "$NS_RTR" \
    net.ipv4.ip_forward=1 \
    net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv4.conf.wan0.rp_filter=0 net.ipv4.conf.lan0.rp_filter=0 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
    net.ipv4.conf.lan0.send_redirects=0 \
    '?net.bridge.bridge-nf-call-iptables=0' '?net.bridge.bridge-nf-call-ip6tables=0' \
    '?net.bridge.bridge-nf-call-arptables=0'
}

setup_outside() {
  # OUTSIDE_IP6_2 is deprecated (preferred_lft 0): usable when bound, never picked as source
  ns_ip "$NS_OUT" <<EOF
addr add $OUTSIDE_IP/24 dev wan0
addr add $OUTSIDE_IP2/24 dev wan0
addr add $OUTSIDE_IP6/64 dev wan0 nodad
addr add $OUTSIDE_IP6_2/64 dev wan0 nodad preferred_lft 0
link set wan0 up
route add default via $PUBLIC_IP
route add default via $ROUTER_WAN_IP6
EOF
}

setup_router() {
  ns_ip "$NS_RTR" <<EOF
addr add $PUBLIC_IP/24 dev wan0
addr add $ROUTER_WAN_IP6/64 dev wan0 nodad
addr add $ROUTER_LAN_IP/24 dev lan0
addr add $ROUTER_LAN_IP6/64 dev lan0 nodad
link set wan0 up
link set srv0 up
link set cli0 up
link set lan0 up
EOF
}

setup_inside_host() { # NS IPv4 IPv6
  ns_ip "$1" <<EOF
addr add $2/24 dev lan0
addr add $3/64 dev lan0 nodad
link set lan0 up
route add default via $ROUTER_LAN_IP
route add default via $ROUTER_LAN_IP6
EOF
}

# The internet does not route private addresses: drop new connections from the WAN whose
# original destination is in the LAN (DNATed ones have PUBLIC_IP as original destination).
router_isolate_lan() {
  rtr_ipt -A FORWARD -i wan0 -m conntrack --ctstate NEW --ctorigdst "$LAN_PREFIX" -j DROP
}

nat_cone() {
  rtr_ipt -t nat -A POSTROUTING -o wan0 -j MASQUERADE
}

nat_symmetric() {
  rtr_ipt -t nat -A POSTROUTING -o wan0 -j MASQUERADE --random-fully
}

nat_fullcone() {
  rtr_ipt -t nat -A POSTROUTING -o wan0 -j MASQUERADE
  # endpoint-independent filtering for the server: any UDP to the public address reaches it
  rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p udp -j DNAT --to-destination "$SERVER_IP"
}

nat_nonat() {
  # the server gets a routed public address on the same LAN; the client stays behind NAT
  x ip -n "$NS_RTR" addr add "$NONAT_GW/24" dev lan0
  x ip -n "$NS_SRV" addr add "$SERVER_PUBLIC_IP_NONAT/24" dev lan0
  x ip -n "$NS_SRV" route replace default via "$NONAT_GW" src "$SERVER_PUBLIC_IP_NONAT"
  x ip -n "$NS_OUT" route add "$NONAT_NET" via "$PUBLIC_IP"
  rtr_ipt -t nat -A POSTROUTING -s "$LAN_PREFIX" -o wan0 -j MASQUERADE
}

# DNAT of the media-server ports on PUBLIC_IP to the server, for packets arriving on IFACE.
dnat_forwards() {
  local iface=$1 p
  for p in $TCP_FORWARDS; do
    rtr_ipt -t nat -A PREROUTING -i "$iface" -d "$PUBLIC_IP" -p tcp --dport "$p" \
      -j DNAT --to-destination "$SERVER_IP"
  done
  rtr_ipt -t nat -A PREROUTING -i "$iface" -d "$PUBLIC_IP" -p udp --dport "$MEDIA_LO:$MEDIA_HI" \
    -j DNAT --to-destination "$SERVER_IP"
}

mod_forwards() { dnat_forwards wan0; }

mod_turn() { # a TURN server on the server host: 3478 (UDP, TCP) and 5349 (TLS)
  local proto
  for proto in udp tcp; do
    rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p "$proto" --dport 3478 \
      -j DNAT --to-destination "$SERVER_IP"
  done
  rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p tcp --dport 5349 \
    -j DNAT --to-destination "$SERVER_IP"
}

mod_hairpin() {
  dnat_forwards lan0
  # LAN->LAN via the public address: SNAT so the replies come back through the router
  rtr_ipt -t nat -A POSTROUTING -s "$LAN_PREFIX" -d "$LAN_PREFIX" -j MASQUERADE
}

mod_forwards_partial() {
  local p
  for p in $TCP_FORWARDS; do
    rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p tcp --dport "$p" -j DNAT --to-destination "$SERVER_IP"
  done
  rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p udp --dport "$MEDIA_LO:$PARTIAL_HI" \
    -j DNAT --to-destination "$SERVER_IP"
  rtr_ipt -A INPUT -i wan0 -d "$PUBLIC_IP" -p udp --dport "$((PARTIAL_HI + 1)):$MEDIA_HI" -j DROP
}

mod_forwards_bbb() {
  rtr_ipt -t nat -A PREROUTING -i wan0 -d "$PUBLIC_IP" -p udp --dport "$BBB_LO:$BBB_HI" \
    -j DNAT --to-destination "$SERVER_IP"
}

mod_hairpin_bbb() { # BigBlueButton's forwards only, on both sides, and hairpin NAT
  local iface p
  for iface in wan0 lan0; do
    for p in $TCP_FORWARDS; do
      rtr_ipt -t nat -A PREROUTING -i "$iface" -d "$PUBLIC_IP" -p tcp --dport "$p" -j DNAT --to-destination "$SERVER_IP"
    done
    rtr_ipt -t nat -A PREROUTING -i "$iface" -d "$PUBLIC_IP" -p udp --dport "$BBB_LO:$BBB_HI" \
      -j DNAT --to-destination "$SERVER_IP"
  done
  rtr_ipt -t nat -A POSTROUTING -s "$LAN_PREFIX" -d "$LAN_PREFIX" -j MASQUERADE
}

mod_udp_blocked() {
  rtr_ipt -A FORWARD -p udp -j DROP
  rtr_ip6t -A FORWARD -p udp -j DROP
}

mod_lossy() {
  rtr_ipt -A FORWARD -p udp -m statistic --mode random --probability "$1" -j DROP
  rtr_ip6t -A FORWARD -p udp -m statistic --mode random --probability "$1" -j DROP
}

wait_ready() { # the bridge has carrier and no address is tentative (bounded: 2 s)
  local i
  for ((i = 0; i < 40; i++)); do
    if [[ $(ip -n "$NS_RTR" link show lan0) == *LOWER_UP* &&
      -z $(ip -n "$NS_RTR" -6 addr show tentative) && -z $(ip -n "$NS_SRV" -6 addr show tentative) &&
      -z $(ip -n "$NS_CLI" -6 addr show tentative) && -z $(ip -n "$NS_OUT" -6 addr show tentative) ]]; then
      return 0
    fi
    sleep 0.05
  done
  echo "natlab: lab network did not become ready within 2 s" >&2
  return 1
}

build_lab() { # everything after make_namespaces; runs under set -e
  setup_namespaces
  make_links
  setup_router_sysctls
  setup_outside
  setup_router
  setup_inside_host "$NS_SRV" "$SERVER_IP" "$SERVER_IP6"
  setup_inside_host "$NS_CLI" "$CLIENT_IP" "$CLIENT_IP6"
  router_isolate_lan
  "nat_$BASE"
  if ((FORWARDS)); then mod_forwards; fi
  if ((TURN_FORWARD)); then mod_turn; fi
  if ((HAIRPIN)); then mod_hairpin; fi
  if ((FORWARDS_PARTIAL)); then mod_forwards_partial; fi
  if ((FORWARDS_BBB)); then mod_forwards_bbb; fi
  if ((HAIRPIN_BBB)); then mod_hairpin_bbb; fi
  if ((UDP_BLOCKED)); then mod_udp_blocked; fi
  if [[ -n $LOSSY ]]; then mod_lossy "$LOSSY"; fi
  wait_ready
}

set_ns_names() {
  NS_OUT=$1-out NS_RTR=$1-rtr NS_SRV=$1-srv NS_CLI=$1-cli
}

# ---------------------------------------------------------------------------------------------
# teardown

kill_ns_procs() { # processes left inside a lab namespace belong to the lab: end them
  local ns=$1 pids p i
  pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "$$" || true)
  [[ -n $pids ]] || return 0
  log "ending processes in $ns: ${pids//$'\n'/ }"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 20; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "$$" || true)
    [[ -n $pids ]] || return 0
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
}

remove_namespace() { # never fails
  if ns_exists "$1"; then
    kill_ns_procs "$1"
    log "+ ip netns del $1"
    ip netns del "$1" 2>/dev/null || true
  fi
}

lab_teardown() { # never fails
  local name=$1 ns
  for ns in "$name-cli" "$name-srv" "$name-rtr" "$name-out"; do
    remove_namespace "$ns"
  done
  rm -f "$ENV_DIR/$name.env" 2>/dev/null || true
  log "lab $name is down"
  return 0
}

# ---------------------------------------------------------------------------------------------
# commands

# do_up NAME SPEC: builds, prints the keys, saves them. Exit status 0 or 3 (torn down).
do_up() {
  local name=$1 spec=$2 rc keys
  set_ns_names "$name"
  lab_exists "$name" && die 2 "lab '$name' already exists; natlab.sh down $name"
  log "building lab $name: base $BASE, forwards $(onoff "$FORWARDS"), hairpin $(onoff "$HAIRPIN"), udp-blocked $(onoff "$UDP_BLOCKED"), lossy ${LOSSY:-off}"
  make_namespaces || die 3 "could not create the namespaces of lab '$name'"
  rc=0
  set +e
  (
    set -eE
    # name the failing step (x names its own commands)
    trap '[[ $BASH_COMMAND == "x "* || $BASH_COMMAND == "return "* ]] ||
      echo "natlab: step failed: $BASH_COMMAND" >&2' ERR
    exec >&2 # nothing from the tools may reach stdout
    build_lab
  )
  rc=$?
  set -e
  if ((rc != 0)); then
    lab_teardown "$name"
    die 3 "could not build lab '$name' (spec '$spec'); removed what was created"
  fi
  keys=$(lab_keys "$name" "$spec")
  if ! { mkdir -p "$ENV_DIR" && printf '%s\n' "$keys" >"$ENV_DIR/$name.env.tmp" &&
    mv -f "$ENV_DIR/$name.env.tmp" "$ENV_DIR/$name.env"; }; then
    lab_teardown "$name"
    die 3 "could not write $ENV_DIR/$name.env"
  fi
  log "lab $name is up"
  printf '%s\n' "$keys"
}

# parse "SPEC [--name NAME]" (in any order) into SPEC_ARG / NAME_ARG; stops at "--"
parse_up_args() {
  SPEC_ARG="" NAME_ARG="" REST_ARGS=()
  while (($#)); do
    case $1 in
      --name)
        (($# >= 2)) || die 2 "--name needs a value"
        NAME_ARG=$2
        shift 2 ;;
      --name=*) NAME_ARG=${1#--name=}; shift ;;
      --) shift; REST_ARGS=("$@"); return 0 ;;
      -*) die 2 "unknown option '$1'" ;;
      *)
        [[ -z $SPEC_ARG ]] || die 2 "unexpected argument '$1'"
        SPEC_ARG=$1
        shift ;;
    esac
  done
}

cmd_up() {
  parse_up_args "$@"
  ((${#REST_ARGS[@]} == 0)) || die 2 "up takes no command (did you mean run?)"
  [[ -n $SPEC_ARG ]] || die 2 "up needs a SPEC (e.g. cone, symmetric, hairpin-on)"
  parse_spec "$SPEC_ARG"
  [[ -z $NAME_ARG ]] || check_name "$NAME_ARG"
  need_root
  do_up "${NAME_ARG:-$(random_name)}" "$SPEC_ARG"
}

cmd_down() {
  (($# == 1)) || die 2 "usage: natlab.sh down NAME | --all"
  if [[ $1 == --all ]]; then
    need_root
    local names n
    names=$({
      ip netns list 2>/dev/null | awk '{print $1}' |
        sed -n "s/^\(${NAME_PREFIX}[^ ]*\)-\(out\|rtr\|srv\|cli\)\$/\1/p"
      if [[ -d $ENV_DIR ]]; then
        find "$ENV_DIR" -maxdepth 1 -name "${NAME_PREFIX}*.env" -printf '%f\n' | sed 's/\.env$//'
      fi
    } | sort -u)
    for n in $names; do lab_teardown "$n"; done
    return 0
  fi
  check_name "$1"
  need_root
  lab_teardown "$1"
}

cmd_exec() {
  (($# >= 3)) || die 2 "usage: natlab.sh exec NAME HOST CMD..."
  local name=$1 host=$2 ns
  shift 2
  check_name "$name"
  ns=$(ns_of "$name" "$host")
  need_root
  ns_exists "$ns" || die 2 "no lab '$name' (namespace $ns does not exist)"
  exec ip netns exec "$ns" "$@"
}

cmd_env() {
  (($# == 1)) || die 2 "usage: natlab.sh env NAME"
  check_name "$1"
  [[ -r $ENV_DIR/$1.env ]] || die 2 "no lab '$1' ($ENV_DIR/$1.env missing)"
  cat "$ENV_DIR/$1.env"
}

cmd_list() {
  need_root
  ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/-rtr$//p' | while read -r n; do
    if [[ -e $ENV_DIR/$n.env ]]; then echo "$n"; fi
  done
}

RUN_NAME="" RUN_CHILD=""

run_cleanup() { # EXIT trap of run
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $RUN_NAME ]]; then lab_teardown "$RUN_NAME"; fi
  exit "$rc"
}

run_signal() { # INT/TERM trap of run: stop CMD (bounded), then exit -> EXIT trap tears down
  local code=$1 i
  log "signal received, stopping"
  if [[ -n $RUN_CHILD ]]; then
    kill -TERM "$RUN_CHILD" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      kill -0 "$RUN_CHILD" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$RUN_CHILD" 2>/dev/null || true
  fi
  exit "$code"
}

cmd_run() {
  parse_up_args "$@"
  [[ -n $SPEC_ARG ]] || die 2 "usage: natlab.sh run SPEC [--name NAME] -- CMD..."
  ((${#REST_ARGS[@]} > 0)) || die 2 "run needs a command after --"
  parse_spec "$SPEC_ARG"
  [[ -z $NAME_ARG ]] || check_name "$NAME_ARG"
  need_root
  local name=${NAME_ARG:-$(random_name)} keys line rc
  # never tear down a lab that someone else owns
  lab_exists "$name" && die 2 "lab '$name' already exists; natlab.sh down $name"
  RUN_NAME=$name
  trap run_cleanup EXIT
  trap 'run_signal 130' INT
  trap 'run_signal 143' TERM
  # not "keys=$(do_up ...) || exit": that would disable set -e inside the build
  set +e
  keys=$(do_up "$name" "$SPEC_ARG")
  rc=$?
  set -e
  ((rc == 0)) || exit "$rc"
  local -a vars=()
  while IFS= read -r line; do
    [[ -n $line ]] && vars+=("$line")
  done <<<"$keys"
  vars+=("NATLAB=$SELF" "LAB_NAME=$name")
  # CMD runs in the background so that INT/TERM reach our trap at once; keep its stdin.
  env -- "${vars[@]}" "${REST_ARGS[@]}" <&0 &
  RUN_CHILD=$!
  rc=0
  wait "$RUN_CHILD" || rc=$?
  RUN_CHILD=""
  exit "$rc"
}

main() {
  (($# >= 1)) || usage 2
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    exec) cmd_exec "$@" ;;
    run) cmd_run "$@" ;;
    env) cmd_env "$@" ;;
    list) cmd_list "$@" ;;
    -h | --help | help) usage 0 ;;
    *) die 2 "unknown command '$cmd' (up, down, exec, run, env, list)" ;;
  esac
}

main "$@"
