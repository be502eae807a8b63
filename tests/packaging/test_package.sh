#!/usr/bin/env bash
# The .deb: scripts/package.sh builds natdiag_VERSION_ARCH.deb; dpkg installs it into a scratch
# root made here (dpkg --root, an empty dpkg database); then the installed files are used:
# natdiag --version (the commit of this checkout), man -l on an installed page, natdiag stun
# against the installed natdiag serve on loopback (its JSON checked with the installed schema),
# the installed bash completion and systemd unit. Dependencies come from dpkg-shlibdeps: every
# library the binary links is in Depends, and apt can satisfy them here. Every lintian warning
# or error is one the README explains. Purge leaves nothing behind.
source "$(dirname "$0")/../integration/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: package: dpkg --root into a scratch root needs root; run the suite as root (CI does)" >&2
  exit 77
fi
for tool in dpkg-deb cpack help2man; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: package: no $tool (scripts/setup.sh installs it)" >&2; exit 77; }
done

if ! "$SRC/scripts/package.sh" >"$TMP/package.log" 2>&1; then
  fail "scripts/package.sh builds the package" "$(tail -20 "$TMP/package.log")"
  finish; exit 1
fi
deb=$SRC/$(tail -1 "$TMP/package.log")
version=$(sed -n 's/^project(natdiag VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
check_eq "package name" "natdiag_${version}_$(dpkg --print-architecture).deb" "$(basename "$deb")"

# --- dependencies ---------------------------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
echo "  Depends: $depends"
for lib in $(objdump -p "$SRC/${PACKAGE_BUILD_DIR:-build-package}/natdiag" | awk '/NEEDED/ { print $2 }'); do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x32|AArch64|,/ { print $NF; exit }')
  # dpkg knows a library by one of its names: as listed, resolved, or resolved without /usr.
  pkg=
  for p in "$path" "$(realpath "$path")" "$(realpath "$path" | sed 's|^/usr||')"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  if [ -n "$pkg" ]; then check_contains "$lib (from $pkg) is in Depends" "$pkg" "$depends"
  else fail "$lib: no Debian package holds it ($path)"; fi
done
check "apt can satisfy Depends here (apt-get install --simulate)" \
  apt-get install --simulate -qq "$deb" >/dev/null 2>&1

# --- install into a scratch root --------------------------------------------------------------
ROOT=$TMP/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
touch "$ROOT/var/lib/dpkg/status"
# --force-depends: the scratch root holds no libc; the binary runs with this host's libraries.
out=$(dpkg --root="$ROOT" --force-depends -i "$deb" 2>&1)
check "dpkg --root installs it" test $? -eq 0 || echo "$out"
check_eq "dpkg marks /etc/default/natdiag-serve as a conffile" "/etc/default/natdiag-serve" \
  "$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Conffiles}' natdiag | awk '{ print $1 }')"
for f in /usr/bin/natdiag /usr/share/man/man1/natdiag.1.gz /usr/share/man/man1/natdiag-stun.1.gz \
  /usr/share/bash-completion/completions/natdiag /usr/share/zsh/vendor-completions/_natdiag \
  /lib/systemd/system/natdiag-serve.service \
  /usr/share/natdiag/schema/natdiag-stun.schema.json /usr/share/doc/natdiag/copyright \
  /usr/share/doc/natdiag/changelog.gz; do
  check "installed: $f" test -f "$ROOT$f"
done
BIN=$ROOT/usr/bin/natdiag

commit=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
check_contains "installed natdiag --version names version and commit" "natdiag $version (git $commit" "$("$BIN" --version)"
page=$(MANWIDTH=200 man -l "$ROOT/usr/share/man/man1/natdiag-stun.1.gz" 2>&1 | col -b)
check_contains "man -l natdiag-stun.1.gz: NAME" "natdiag-stun - Binding test" "$page"
check_contains "man -l natdiag-stun.1.gz: an option" "--transport" "$page"
check_contains "man -l natdiag-stun.1.gz: exit status" "EXIT STATUS" "$page"

# The installed serve and stun, on loopback.
PORT=$(free_port)
spawn "$TMP/serve.log" "$BIN" serve --primary 127.0.0.1 --port "$PORT" --alt-port $((PORT + 1)) --transport udp
wait_for_text "$TMP/serve.log" "natdiag serve: ready"
"$BIN" stun 127.0.0.1 "$PORT" --json >"$TMP/stun.json"
check_eq "installed natdiag stun against installed natdiag serve: exit 0" 0 "$?"
check_eq "binding success" success "$(jq -r .binding "$TMP/stun.json")"
check_eq "the server was the installed natdiag serve" "natdiag $version" "$(jq -r .software "$TMP/stun.json")"
check "its JSON validates against the installed schema" \
  python3 "$SRC/tests/tools/validate_json.py" "$ROOT/usr/share/natdiag/schema" "$TMP/stun.json" >/dev/null

check_eq "installed completion: natdiag pr<TAB>" profile "$(bash --norc -c '
  source "$1"; COMP_WORDS=(natdiag pr); COMP_CWORD=1; _natdiag; echo "${COMPREPLY[@]}"' _ \
  "$ROOT/usr/share/bash-completion/completions/natdiag")"
unit=$ROOT/lib/systemd/system/natdiag-serve.service
check_contains "installed unit runs /usr/bin/natdiag" "ExecStart=/usr/bin/natdiag serve" "$(cat "$unit")"
check_contains "installed unit reads /etc/default/natdiag-serve" "EnvironmentFile=-/etc/default/natdiag-serve" "$(cat "$unit")"

# --- lintian ----------------------------------------------------------------------------------
tags=$(sed -n 's/^\([EW]\): natdiag[^:]*: \([a-z0-9-]*\).*/\1 \2/p' "$TMP/package.log" | sort -u)
echo "  lintian errors and warnings: ${tags:-none}"
while read -r level tag; do
  [ -n "$tag" ] || continue
  check_contains "lintian $level $tag is explained in the README" "$tag" "$(cat "$SRC/README.md")"
done <<<"$tags"

# --- remove and purge ---------------------------------------------------------------------------
dpkg --root="$ROOT" --purge natdiag >/dev/null 2>&1
check_eq "dpkg --purge leaves no file behind" "" "$(find "$ROOT" -type f -not -path "$ROOT/var/*")"
finish
