#!/usr/bin/env bash
# Installs what natdiag needs from Debian (apt-get update first), then configures and builds
# Release into build/. The binary is build/natdiag. Safe to run again: it installs only what is
# missing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config
  # libraries (design.md: Debian's packages only)
  libnice-dev libglib2.0-dev libsoup-3.0-dev glib-networking libssl-dev libcxxopts-dev doctest-dev nlohmann-json3-dev libbenchmark-dev
  # natdiag config check: the media servers' own parsers' syntaxes (YAML, libconfig, XML)
  libyaml-cpp-dev libconfig++-dev libpugixml-dev
  # tests: real peers, the namespace lab, the fuzzer, JSON checks
  coturn iproute2 iptables conntrack clang libclang-rt-14-dev jq openssl procps psmisc python3
  # config check: GNU patch applies its --diff; Debian's janus is the lab's real media server
  patch janus
  # packaging: man pages, the .deb and its checks, the systemd unit, the JSON Schemas
  help2man dpkg-dev file binutils lintian man-db bsdextrautils systemd strace zsh python3-jsonschema
  # natdiag ports: a real service holding 443, and the nmap -sU comparison
  nginx nmap
  # the browser check page (serve --web): a real browser, node for eslint and puppeteer-core
  chromium nodejs curl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm: Debian's package, unless the installed nodejs brings its own (NodeSource's does).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 3
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With recommends, as the suite was developed and tested. libclang-rt-14-dev is named above
  # because clang does not depend on it, and it holds libFuzzer and the sanitizer runtimes.
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

BUILD_TYPE=${BUILD_TYPE:-Release}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build
echo "setup: built $(pwd)/build/natdiag ($(build/natdiag --version))"
