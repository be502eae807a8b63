# Shared helpers for natdiag's shell integration tests. Source it; then `check`, `check_eq`,
# `check_contains` record results and `finish` prints "N passed, M failed" and sets the exit code.
# Every background process started through `spawn` is killed on exit.

set -u
NATDIAG=${NATDIAG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/natdiag}
BUILD_DIR=$(dirname "$NATDIAG")
PASSED=0
FAILED=0
SPAWNED=()
TMP=$(mktemp -d /tmp/natdiag-test.XXXXXX)

cleanup() {
  for pid in "${SPAWNED[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "  ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL - $1"; [ $# -gt 1 ] && printf '         %s\n' "${@:2}"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi; }
# check_contains DESCRIPTION NEEDLE HAYSTACK
check_contains() {
  if grep -qF -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "missing: $2" "in: $(head -c 600 <<<"$3")"; fi
}
# check_lines DESCRIPTION N TEXT: the text has exactly N lines.
check_lines() { local n; n=$(printf '%s\n' "$3" | grep -c ''); check_eq "$1" "$2" "$n"; }

# spawn LOG COMMAND...: starts a background process, remembered for cleanup.
spawn() { local log=$1; shift; "$@" >"$log" 2>&1 & SPAWNED+=($!); }
# wait_for_text FILE TEXT [SECONDS]: waits (bounded) for a line in a log file.
wait_for_text() {
  local i
  for i in $(seq 1 $(( ${3:-5} * 20 ))); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "  (timed out waiting for '$2' in $1:)"; sed 's/^/    /' "$1" | tail -5
  return 1
}
# free_port: a UDP+TCP port that is free on loopback right now.
free_port() {
  local p
  for p in $(shuf -i 20000-29999 -n 50); do
    if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then echo "$p"; return; fi
  done
  echo 0
}
# Debian 12's stock /etc/turnserver.conf, copied into the repository (its source is named in its
# header): coturn run with `-c` this file behaves as users' coturn does (no-stun-backward-
# compatibility, no-rfc5780, response-origin-only-with-rfc5780). It logs to syslog, so wait for
# its socket, not its log. Tests run coturn with it and with an empty file.
COTURN_STOCK_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)/turnserver-debian12.conf
# wait_for_udp_listener PORT SECONDS [PREFIX...]: waits (bounded) until something listens on UDP
# PORT; PREFIX runs `ss` elsewhere (e.g. `natlab.sh exec LAB outside`).
wait_for_udp_listener() {
  local port=$1 seconds=$2 i; shift 2
  for i in $(seq 1 $((seconds * 20))); do
    "$@" ss -Hlnu "sport = :$port" 2>/dev/null | grep -q . && return 0; sleep 0.05
  done
  echo "  (nothing listens on UDP $port after $seconds s)"; return 1
}
# jqv JSON FILTER: one value, raw.
jqv() { jq -r "$2" <<<"$1"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# needs_root NAME: lab tests need network namespaces; say so loudly and skip (CTest code 77).
needs_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: $1 needs root (network namespaces, iptables); run the suite as root (CI does)" >&2
    exit 77
  fi
}

# --- the NAT lab ---------------------------------------------------------------------------
NATLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/natlab.sh
LABS=()
# lab_up SPEC: builds a lab and sets its KEY=VALUE variables here; torn down on exit.
lab_up() {
  local out
  out=$("$NATLAB" up "$1") || { echo "natlab up $1 failed" >&2; return 1; }
  eval "$out"
  LABS+=("$LAB_NAME")
}
# lab_down: tears down the current lab now (processes inside it end too).
lab_down() { "$NATLAB" down "$LAB_NAME" >/dev/null 2>&1 || true; }
# in_ns HOST CMD...: runs CMD on a lab host (outside, router, server, client).
in_ns() { local host=$1; shift; "$NATLAB" exec "$LAB_NAME" "$host" "$@"; }
# serve_outside [ARGS...]: natdiag serve on the outside host, both addresses; waits until ready.
serve_outside() {
  spawn "$TMP/serve-$LAB_NAME.log" "$NATLAB" exec "$LAB_NAME" outside "$NATDIAG" serve \
    --primary "$OUTSIDE_IP" --alternate "$OUTSIDE_IP2" "$@"
  wait_for_text "$TMP/serve-$LAB_NAME.log" "natdiag serve: ready"
}
lab_cleanup() { for l in "${LABS[@]}"; do "$NATLAB" down "$l" >/dev/null 2>&1; done; }
trap 'lab_cleanup; cleanup' EXIT
