#!/usr/bin/env bash
# Generates natdiag's man pages and bash and zsh completion from the built binary's own --help,
# so they cannot drift from it. Run by the build (docs/CMakeLists.txt); by hand:
#   docs/generate.sh build/natdiag OUTDIR [SCHEMA_INSTALL_DIR] [--no-man]
# The commands are the ones `natdiag --help` lists under "Commands:"; each one's flags are the
# ones `natdiag CMD --help` lists. What --help cannot say comes from files beside this script:
#   man/common.h2m       sections every page gets (exit status, JSON contract)
#   man/natdiag.h2m      the natdiag(1) page's extra sections
#   man/natdiag-CMD.h2m  a command's extra sections (optional)
#   schema/natdiag-CMD.schema.json   the JSON OUTPUT section (each property's description)
#   completion/values    values completed after an option (--transport, --for, file names)
# Output: OUTDIR/man/*.1.gz, OUTDIR/completion/natdiag (bash), OUTDIR/completion/_natdiag (zsh),
# OUTDIR/commands (one name a line).
set -euo pipefail

NATDIAG=$(realpath "$1")
OUT=$2
SCHEMA_DIR_INSTALLED=${3:-/usr/share/natdiag/schema}
MAN=yes
[ "${4:-}" = --no-man ] && MAN=no
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$("$NATDIAG" --version | awk 'NR == 1 { print $2 }')

# help2man dates the pages; the last commit's date keeps them the same from build to build.
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && epoch=$(git -C "$HERE" log -1 --format=%ct 2>/dev/null); then
  export SOURCE_DATE_EPOCH=$epoch
fi
mkdir -p "$OUT/man" "$OUT/completion" "$OUT/work"
rm -f "$OUT"/man/*.1.gz

# name<TAB>summary for each line of the "Commands:" block of natdiag --help.
"$NATDIAG" --help | perl -ne '
  if (/^Commands:/) { $in = 1; next }
  if ($in && /^\s*$/) { $in = 0 }
  print "$1\t$2\n" if $in && /^  ([a-z][a-z0-9-]*)\b.*?\s{2,}(\S.*?)\s*$/' >"$OUT/work/commands.tsv"
if ! [ -s "$OUT/work/commands.tsv" ]; then
  echo "generate.sh: found no commands in '$NATDIAG --help' (a \"Commands:\" block of \"  NAME ...  summary\" lines)" >&2
  exit 1
fi
cut -f1 "$OUT/work/commands.tsv" >"$OUT/work/commands.new"
COMMANDS=$(cat "$OUT/work/commands.new")

# --- bash completion -------------------------------------------------------------------------
# Each option line of `natdiag CMD --help` ("  -t, --transport arg  text"): its flags, and
# whether it takes a value.
options_of() {
  "$NATDIAG" "$1" --help | perl -ne '
    next unless /^\s+(-\w, )?(--[\w-]+)( arg)?\s/;
    my ($short, $long, $arg) = ($1, $2, $3);
    $short =~ s/, $// if defined $short;
    print join("\t", $long, $short // "", $arg ? "arg" : ""), "\n"'
}

{
  echo "# bash completion for natdiag $VERSION: commands, flags, option values."
  echo "# Generated from natdiag --help and docs/completion/values by docs/generate.sh; do not edit."
  echo
  printf '_natdiag_commands="%s"\n' "$(echo $COMMANDS)"
  for c in $COMMANDS; do
    options_of "$c" >"$OUT/work/options-$c.tsv"
    flags=$(awk -F'\t' '{ print $1; if ($2 != "") print $2 }' "$OUT/work/options-$c.tsv" | tr '\n' ' ')
    takes=$(awk -F'\t' '$3 == "arg" { print $1; if ($2 != "") print $2 }' "$OUT/work/options-$c.tsv" | tr '\n' ' ')
    var=${c//-/_}
    printf '_natdiag_flags_%s="%s"\n' "$var" "${flags% }"
    printf '_natdiag_takes_value_%s=" %s"\n' "$var" "$takes"
  done
  cat <<'EOF'

# _natdiag_values COMMAND OPTION: "KIND VALUES..." for the option's value (KIND one, list, file).
_natdiag_values() {
  case "$1 $2" in
EOF
  grep -v '^\s*\(#\|$\)' "$HERE/completion/values" | while read -r cmd opt kind values; do
    printf '    "%s %s") echo "%s %s" ;;\n' "$cmd" "$opt" "$kind" "$values"
  done
  cat <<'EOF'
  esac
}

_natdiag() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=${COMP_WORDS[1]:-}
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # "--for=ku": bash splits at '=' (COMP_WORDBREAKS), so the option is two words back.
  if [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  elif [ "$cur" = "=" ]; then
    cur=
  fi
  COMPREPLY=()
  if [ "$COMP_CWORD" -le 1 ]; then
    COMPREPLY=($(compgen -W "$_natdiag_commands --help --version" -- "$cur"))
    return 0
  fi
  local var=${cmd//-/_} flags takes
  flags=_natdiag_flags_$var
  takes=_natdiag_takes_value_$var
  [ -n "${!flags+set}" ] || return 0
  if [[ "${!takes} " == *" $prev "* ]]; then
    local spec kind
    spec=$(_natdiag_values "$cmd" "$prev")
    kind=${spec%% *}
    case "$kind" in
      one) COMPREPLY=($(compgen -W "${spec#* }" -- "$cur")) ;;
      list)
        # A comma-separated list: complete the item after the last comma.
        local done_part=
        [[ "$cur" == *,* ]] && done_part=${cur%,*},
        COMPREPLY=($(compgen -W "${spec#* }" -P "$done_part" -- "${cur##*,}"))
        compopt -o nospace 2>/dev/null
        ;;
      file)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    esac
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${!flags}" -- "$cur"))
  fi
  return 0
}
complete -F _natdiag natdiag
EOF
} >"$OUT/completion/natdiag.new"
mv "$OUT/completion/natdiag.new" "$OUT/completion/natdiag"

# --- zsh completion: the same tables, as a native #compdef function --------------------------
{
  echo "#compdef natdiag"
  echo "# zsh completion for natdiag $VERSION: commands, flags, option values."
  echo "# Generated from natdiag --help and docs/completion/values by docs/generate.sh; do not edit."
  echo
  echo "_natdiag() {"
  echo "  local -a commands flags takes"
  echo "  commands=("
  while IFS=$'\t' read -r name summary; do
    printf "    '%s:%s'\n" "$name" "${summary//\'/\'\\\'\'}"
  done <"$OUT/work/commands.tsv"
  echo "  )"
  echo "  if (( CURRENT == 2 )); then"
  echo "    _describe -t commands 'natdiag command' commands"
  echo "    compadd -- --help --version"
  echo "    return"
  echo "  fi"
  echo '  local cmd=${words[2]} prev=${words[CURRENT-1]}'
  echo '  case $cmd in'
  for c in $COMMANDS; do
    flags=$(awk -F'\t' '{ print $1; if ($2 != "") print $2 }' "$OUT/work/options-$c.tsv" | tr '\n' ' ')
    takes=$(awk -F'\t' '$3 == "arg" { print $1; if ($2 != "") print $2 }' "$OUT/work/options-$c.tsv" | tr '\n' ' ')
    printf '    %s) flags=(%s); takes=(%s) ;;\n' "$c" "${flags% }" "${takes% }"
  done
  echo '    *) return 1 ;;'
  echo '  esac'
  echo '  if (( ${takes[(Ie)$prev]} )); then'
  echo '    case "$cmd $prev" in'
  grep -v '^\s*\(#\|$\)' "$HERE/completion/values" | while read -r cmd opt kind values; do
    case $kind in
      one) printf '      "%s %s") compadd -- %s ;;\n' "$cmd" "$opt" "$values" ;;
      list) printf "      \"%s %s\") _values -s , 'value' %s ;;\n" "$cmd" "$opt" "$values" ;;
      file) printf '      "%s %s") _files ;;\n' "$cmd" "$opt" ;;
    esac
  done
  echo '    esac'
  echo '    return'
  echo '  fi'
  echo '  [[ $PREFIX == -* ]] && compadd -- $flags'
  echo '}'
  echo
  echo '_natdiag "$@"'
} >"$OUT/completion/_natdiag.new"
mv "$OUT/completion/_natdiag.new" "$OUT/completion/_natdiag"

# --- man pages (help2man) --------------------------------------------------------------------
if [ "$MAN" = yes ]; then
  see_also() {  # every page but $1, as .BR lines
    local page
    for page in natdiag $(sed 's/^/natdiag-/' <<<"$COMMANDS"); do
      [ "$page" = "$1" ] || printf '.BR %s (1)\n' "$page"
    done
  }
  # help2man reads "Usage: PROG ..." on one line and options after an "Options:" line; cxxopts
  # puts the usage on the line after "Usage:" and has no options heading. "arg" reads as ARG.
  cat >"$OUT/work/help-filter.pl" <<'EOF'
my $usage = 0; my $options = 0;
while (<>) {
  if (/^Usage:\s*$/) { $usage = 1; next }
  if ($usage) { s/^\s+//; print "Usage: $_"; $usage = 0; next }
  if (!$options && /^\s+-/) { print "Options:\n"; $options = 1 }
  s/^(\s+(?:-\w, )?--[\w-]+) arg\b/$1 ARG/;
  print;
}
EOF
  for c in $COMMANDS; do
    page=natdiag-$c
    wrapper=$OUT/work/$page
    printf '#!/bin/sh\n"%s" %s "$@" | perl "%s"\n' "$NATDIAG" "$c" "$OUT/work/help-filter.pl" >"$wrapper"
    chmod +x "$wrapper"
    summary=$(awk -F'\t' -v c="$c" '$1 == c { print $2 }' "$OUT/work/commands.tsv")
    schema=$HERE/schema/$page.schema.json
    {
      echo "[SEE ALSO]"
      see_also "$page"
      if [ -f "$schema" ]; then
        echo "[JSON OUTPUT]"
        echo ".PP"
        echo "With \\fB\\-\\-json\\fR, one JSON object (\"schema\": \"natdiag/1\", \"command\": \"$c\"),"
        echo "described by the JSON Schema \\fI$SCHEMA_DIR_INSTALLED/$page.schema.json\\fR. Its fields:"
        jq -r '.properties | to_entries[] | "\(.key)\t\(.value.description // "")"' "$schema" |
          perl -ne 'chomp; my ($k, $d) = split /\t/, $_, 2; $d =~ s/\\/\\e/g; $d =~ s/^([.\x27])/\\&$1/;
                    print ".TP\n.B $k\n$d\n"'
      fi
    } >"$OUT/work/$page.generated.h2m"
    includes=(--include "$HERE/man/common.h2m" --include "$OUT/work/$page.generated.h2m")
    [ -f "$HERE/man/$page.h2m" ] && includes+=(--include "$HERE/man/$page.h2m")
    help2man --no-info --version-string="$VERSION" --manual="natdiag manual" --source="natdiag $VERSION" \
      --name="$summary" "${includes[@]}" --output="$OUT/work/$page.1" "$wrapper"
    gzip -9n <"$OUT/work/$page.1" >"$OUT/man/$page.1.gz"
  done
  { echo "[SEE ALSO]"; see_also natdiag; } >"$OUT/work/natdiag.generated.h2m"
  help2man --no-info --version-string="$VERSION" --manual="natdiag manual" --source="natdiag $VERSION" \
    --name="NAT and STUN/TURN diagnostics for self-hosted WebRTC media servers" \
    --include "$HERE/man/natdiag.h2m" --include "$HERE/man/common.h2m" \
    --include "$OUT/work/natdiag.generated.h2m" --output="$OUT/work/natdiag.1" "$NATDIAG"
  gzip -9n <"$OUT/work/natdiag.1" >"$OUT/man/natdiag.1.gz"
fi
mv "$OUT/work/commands.new" "$OUT/commands"
