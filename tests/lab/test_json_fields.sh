#!/usr/bin/env bash
# Every command's --json keys against the fields README.md documents for it (issue 12): run in
# the lab (cone NAT with forwards, no hairpin, natdiag serve outside), so the reports are real
# and their arrays and objects are filled. tests/tools/json_fields.py does the comparing.
source "$(dirname "$0")/../integration/lib.sh"
needs_root "lab_json_fields"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
README=$ROOT/README.md
FIELDS="python3 $ROOT/tests/tools/json_fields.py"

lab_up hairpin-off
serve_outside

# One line per report: README table | host | argv. A new command joins with a line here and a
# "`name`:" table in README.md's JSON section.
RUNS=$(cat <<EOF
stun|server|stun $OUTSIDE_IP
stun|server|stun $OUTSIDE_IP --count 2 --transport tcp
stun|server|stun 127.0.0.1 9
nat|server|nat $OUTSIDE_IP
nat|server|nat -s $OUTSIDE_IP -s $OUTSIDE_IP2
nat|server|nat $OUTSIDE_IP --transport tcp
hairpin|server|hairpin $PUBLIC_IP --hostname bbb.example.org --stun $OUTSIDE_IP
hairpin|server|hairpin $PUBLIC_IP
ice|server|ice --stun stun:$OUTSIDE_IP --check
profile|server|profile --server $OUTSIDE_IP --hostname bbb.example.org
config|server|config check --server $OUTSIDE_IP --file janus=$ROOT/tests/data/config/janus/janus.jcfg
error|server|stun $OUTSIDE_IP 70000
error|server|nat $OUTSIDE_IP -6
EOF
)

while IFS='|' read -r table host argv; do
  [ -z "$argv" ] && continue
  read -r -a words <<<"$argv"
  in_ns "$host" "$NATDIAG" "${words[@]}" --json >"$TMP/out.json" 2>/dev/null
  if ! jq -e . "$TMP/out.json" >/dev/null 2>&1; then
    fail "$argv --json: not one JSON document" "$(head -c 300 "$TMP/out.json")"
    continue
  fi
  mapfile -t problems < <($FIELDS "$README" "$table" "$TMP/out.json")
  if [ ${#problems[@]} -eq 0 ]; then pass "$argv --json: keys as README's \`$table\` table"; else fail "$argv --json: keys differ from README's \`$table\` table" "${problems[@]}"; fi
done <<<"$RUNS"

# advise: from the profile just measured.
in_ns server "$NATDIAG" profile --server "$OUTSIDE_IP" --json >"$TMP/profile.json" 2>/dev/null
"$NATDIAG" advise --from "$TMP/profile.json" --json >"$TMP/advise.json"
mapfile -t problems < <($FIELDS "$README" advise "$TMP/advise.json")
if [ ${#problems[@]} -eq 0 ]; then pass "advise --json: keys as README's \`advise\` table"; else fail "advise --json: keys differ" "${problems[@]}"; fi

finish
