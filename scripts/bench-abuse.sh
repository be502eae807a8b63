#!/usr/bin/env bash
# natdiag serve and coturn under the same abuse, in one run, on loopback only (127.0.0.0/8 gives
# the attackers and the legitimate client different source addresses without any set-up):
#   - legit success: a client at 127.0.0.3 asking 50 times a second, while 127.0.0.2 floods
#     valid Binding requests and 127.0.0.4 floods garbage, both as fast as the socket takes them
#   - amplification: reply bytes / request bytes for each request shape
#   - RSS (peak) and open fds of the server after the floods, with 300 slowloris connections open
#   - TCP from another source while one source holds 300 slowloris connections
#   - time to shed idle TCP connections that never send a byte
# natdiag serve runs with one thread and with --threads 2; coturn runs twice: with an empty configuration file (-c empty) and with Debian's stock
# /etc/turnserver.conf (what users have); both STUN-only on the same loopback address and port
# range. Every generator is bounded (build/stun-abuse): FLOOD_SECONDS (default 4) per flood,
# IDLE_SECONDS (default 15) for the idle connections.
#   scripts/bench-abuse.sh            prints one table, measured now
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/natdiag ] && [ -x build/stun-abuse ] || scripts/setup.sh >/dev/null
command -v turnserver >/dev/null || { echo "bench-abuse: coturn missing: run scripts/setup.sh" >&2; exit 3; }
FLOOD_SECONDS=${FLOOD_SECONDS:-4}
IDLE_SECONDS=${IDLE_SECONDS:-15}
ABUSE=build/stun-abuse

TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }
free_port() {
  local p
  for p in $(shuf -i 20000-29999 -n 50); do
    if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then echo "$p"; return; fi
  done
  echo 0
}

# measure NAME PID PORT: every figure for one running server, appended to $TMP/NAME.
measure() {
  local name=$1 pid=$2 port=$3 out
  out="$TMP/$name"
  : >"$out"
  # Amplification per request shape.
  "$ABUSE" shapes 127.0.0.1 "$port" >"$out.shapes"
  # Legitimate client during two floods.
  "$ABUSE" flood 127.0.0.1 "$port" --kind binding --count 10000000 --seconds "$FLOOD_SECONDS" --local 127.0.0.2 >"$out.flood1" &
  local f1=$!
  "$ABUSE" flood 127.0.0.1 "$port" --kind malformed --count 10000000 --seconds "$FLOOD_SECONDS" --local 127.0.0.4 >"$out.flood2" &
  local f2=$!
  sleep 0.3
  "$ABUSE" probe 127.0.0.1 "$port" --rate 50 --seconds "$(awk -v s="$FLOOD_SECONDS" 'BEGIN { print s - 0.6 }')" \
    --local 127.0.0.3 >"$out.probe"
  wait "$f1" "$f2"
  # Slowloris from one source; a TCP client from another meanwhile; RSS and fds then.
  "$ABUSE" slowloris 127.0.0.1 "$port" --connections 300 --seconds 5 --local 127.0.0.2 >"$out.slow" &
  local s=$!
  for _ in $(seq 1 100); do grep -q connected "$out.slow" 2>/dev/null && break; sleep 0.05; done
  sleep 0.5
  if build/natdiag stun 127.0.0.1 "$port" --transport tcp --local 127.0.0.3 --timeout 2 >/dev/null 2>&1; then
    echo "tcp_during_slowloris ok" >>"$out"
  else
    echo "tcp_during_slowloris refused" >>"$out"
  fi
  echo "rss_kib $(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" >>"$out"
  echo "fds $(ls "/proc/$pid/fd" | wc -l)" >>"$out"
  wait "$s"
  # Idle connections that never send a byte.
  "$ABUSE" idle 127.0.0.1 "$port" --connections 50 --seconds "$IDLE_SECONDS" --local 127.0.0.5 >"$out.idle"
  echo "alive $(kill -0 "$pid" 2>/dev/null && echo yes || echo no)" >>"$out"
}

wait_port() { for _ in $(seq 1 100); do ss -Hlnu "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }

P=$(free_port)
build/natdiag serve --primary 127.0.0.1 --port "$P" >"$TMP/natdiag.log" 2>&1 &
PIDS+=($!)
wait_port "$P"
measure natdiag "${PIDS[-1]}" "$P"
kill "${PIDS[-1]}"
P=$(free_port)
build/natdiag serve --primary 127.0.0.1 --port "$P" --threads 2 >"$TMP/natdiag2.log" 2>&1 &
PIDS+=($!)
wait_port "$P"
measure natdiag2 "${PIDS[-1]}" "$P"
kill "${PIDS[-1]}"

: >"$TMP/empty.conf"
for config in empty stock; do
  P=$(free_port)
  file=$TMP/empty.conf
  [ "$config" = stock ] && file=/etc/turnserver.conf
  turnserver -c "$file" --stun-only --no-cli --no-tls --no-dtls --listening-ip 127.0.0.1 --listening-port "$P" \
    --log-file stdout --simple-log --no-stdout-log --pidfile "$TMP/turn-$config.pid" >"$TMP/coturn-$config.log" 2>&1 &
  PIDS+=($!)
  wait_port "$P"
  sleep 0.5
  measure "coturn-$config" "${PIDS[-1]}" "$P"
  kill "${PIDS[-1]}"
done

row() {  # row LABEL then one value per server
  printf '%-44s' "$1"; shift
  for v in "$@"; do printf ' %16s' "$v"; done; echo
}
value() { field "$2" "$(cat "$TMP/$1")"; }
servers=(natdiag natdiag2 coturn-empty coturn-stock)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r); coturn $(turnserver --version 2>/dev/null | head -1)"
row "" "natdiag serve" "--threads 2" "coturn -c empty" "coturn stock conf"
vals=(); for s in "${servers[@]}"; do vals+=("$(field percent "$(cat "$TMP/$s.probe")") %"); done
row "legit client answered during floods" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(field sent "$(cat "$TMP/$s.flood1")")"); done
row "  valid-request flood: sent (from one IP)" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(field answered "$(cat "$TMP/$s.flood1")")"); done
row "  valid-request flood: answered" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(field sent "$(cat "$TMP/$s.flood2")")"); done
row "  garbage flood: sent" "${vals[@]}"
for shape in $(awk '{print $2}' "$TMP/natdiag.shapes"); do
  vals=()
  for s in "${servers[@]}"; do
    line=$(grep " $shape " "$TMP/$s.shapes")
    vals+=("$(field reply "$line")/$(field request "$line") = $(field factor "$line")")
  done
  row "amplification $shape" "${vals[@]}"
done
vals=(); for s in "${servers[@]}"; do vals+=("$(value "$s" tcp_during_slowloris)"); done
row "TCP from another IP during 300-conn slowloris" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(field open_at_end "$(cat "$TMP/$s.slow")")"); done
row "slowloris connections still open after 5 s" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(( $(value "$s" rss_kib) / 1024 )) MiB"); done
row "peak RSS" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(value "$s" fds)"); done
row "open fds with slowloris running" "${vals[@]}"
vals=()
for s in "${servers[@]}"; do
  idle=$(cat "$TMP/$s.idle")
  if [ "$(field closed "$idle")" = 50 ]; then vals+=("$(field max_close_s "$idle") s"); else
    vals+=("$(field closed "$idle")/50 in ${IDLE_SECONDS} s"); fi
done
row "time to shed 50 idle TCP connections" "${vals[@]}"
vals=(); for s in "${servers[@]}"; do vals+=("$(value "$s" alive)"); done
row "still running at the end" "${vals[@]}"
