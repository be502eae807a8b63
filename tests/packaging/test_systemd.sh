#!/usr/bin/env bash
# The systemd unit as `cmake --install` puts it (into a scratch DESTDIR): systemd-analyze verify
# passes, systemd-analyze security --offline rates its exposure 2.0 or better (README gives the
# number), the hardening the README promises is in it, natdiag serve works inside its system-call
# and address-family filters (strace), and the example options in /etc/default/natdiag-serve are
# options natdiag serve accepts.
source "$(dirname "$0")/../integration/lib.sh"
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd_unit: no systemd-analyze (apt-get install systemd)" >&2
  exit 77
fi
ROOT=$TMP/root
DESTDIR=$ROOT cmake --install "$BUILD_DIR" >/dev/null
unit=$(find "$ROOT" -name natdiag-serve.service)
check "the unit is installed" test -f "$unit" || { finish; exit 1; }
default=$(find "$ROOT" -path '*/default/natdiag-serve')
check "/etc/default/natdiag-serve is installed" test -f "$default"
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
env_path=$(sed -n 's/^EnvironmentFile=-\(.*\)/\1/p' "$unit")
check "ExecStart ($exec_path) is the installed natdiag" test -x "$ROOT$exec_path"
check "EnvironmentFile ($env_path) is the installed defaults file" test -f "$ROOT$env_path"

# verify checks that ExecStart exists on this system: the same unit, its paths under the root.
mkdir -p "$TMP/units"
sed "s|$exec_path|$ROOT$exec_path|; s|$env_path|$ROOT$env_path|" "$unit" >"$TMP/units/natdiag-serve.service"
out=$(systemd-analyze verify --man=no "$TMP/units/natdiag-serve.service" 2>&1)
check_eq "systemd-analyze verify: exit 0, nothing to say" "0 " "$? $out"

security=$(systemd-analyze security --offline=yes --threshold=20 "$TMP/units/natdiag-serve.service" 2>&1)
rc=$?
score=$(sed -n 's/.*Overall exposure level for natdiag-serve.service: \([0-9.]*\).*/\1/p' <<<"$security")
echo "  systemd-analyze security --offline=yes: exposure $score (0 best, 10 worst)"
check_eq "systemd-analyze security: exposure at most 2.0 (--threshold=20)" 0 "$rc"

for line in DynamicUser=yes CapabilityBoundingSet= AmbientCapabilities= NoNewPrivileges=yes \
  ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
  "RestrictAddressFamilies=AF_INET AF_INET6" SystemCallFilter=@system-service MemoryDenyWriteExecute=yes; do
  check "unit has $line" grep -qx -- "$line" "$unit"
done
check "unit caps memory (MemoryMax=)" grep -q '^MemoryMax=[0-9]' "$unit"

# The sandbox lets natdiag serve do its work: run it under strace (two addresses, two UDP
# threads, UDP and TCP, CHANGE-REQUEST answered by nat), then every system call it made must be
# in @system-service and not in the denied @privileged @resources, and every socket AF_INET(6).
if command -v strace >/dev/null; then
  # expand GROUP: the system calls of a systemd syscall-filter group, nested groups included.
  expand() {
    systemd-analyze syscall-filter "$1" 2>/dev/null | sed 1d | grep -v '^ *#' | tr -s ' ' '\n' | grep . |
      while read -r x; do case $x in @*) expand "$x" ;; *) echo "$x" ;; esac; done
  }
  allowed=$(expand @system-service | sort -u)
  denied=$( (expand @privileged; expand @resources) | sort -u)
  PORT=$(free_port)
  strace -f -qq -o "$TMP/trace" "$NATDIAG" serve --primary 127.0.0.1 --alternate 127.0.0.2 \
    --port "$PORT" --alt-port $((PORT + 1)) --threads 2 >"$TMP/serve.log" 2>&1 &
  tracer=$!
  wait_for_text "$TMP/serve.log" "natdiag serve: ready" 10
  "$NATDIAG" stun 127.0.0.1 "$PORT" >/dev/null
  "$NATDIAG" stun 127.0.0.1 "$PORT" --transport tcp >/dev/null
  "$NATDIAG" nat "127.0.0.1:$PORT" >/dev/null
  served=$(pgrep -P "$tracer")
  [ -n "$served" ] && kill -TERM "$served"
  wait "$tracer"
  check_contains "natdiag serve under strace stopped cleanly on SIGTERM" "stopped after" "$(cat "$TMP/serve.log")"
  calls=$(sed -E 's/^[0-9]+ +//' "$TMP/trace" | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort -u)
  outside=$(comm -23 <(echo "$calls") <(echo "$allowed") | tr '\n' ' ')
  check_eq "every system call of serve is in @system-service ($(wc -w <<<"$calls") calls)" "" "$outside"
  check_eq "no system call of serve is in @privileged @resources" "" "$(comm -12 <(echo "$calls") <(echo "$denied") | tr '\n' ' ')"
  families=$(grep -oE 'socket\((AF_[A-Z0-9]+)' "$TMP/trace" | sed 's/socket(//' | sort -u | tr '\n' ' ')
  check_eq "serve opens only AF_INET and AF_INET6 sockets" "AF_INET " "${families/AF_INET6 /}"
else
  echo "  note - no strace: the system-call check of natdiag serve did not run (apt-get install strace)"
fi

# The defaults file: sourced, NATDIAG_SERVE_ARGS is empty (serve's own defaults); its example
# line is valid input (natdiag serve cannot bind those documentation addresses here: exit 3, not 2).
# shellcheck disable=SC1090
check_eq "NATDIAG_SERVE_ARGS is empty by default" "" "$(. "$default"; echo "$NATDIAG_SERVE_ARGS")"
example=$(sed -n 's/^#NATDIAG_SERVE_ARGS="\(.*\)"$/\1/p' "$default")
check "the defaults file has an example" test -n "$example"
# shellcheck disable=SC2086
timeout 5 "$NATDIAG" serve $example >/dev/null 2>&1
check_eq "natdiag serve $example: options accepted (exit 3: cannot bind here, not 2)" 3 "$?"
finish
