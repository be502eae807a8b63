#!/usr/bin/env bash
# Builds the Debian package: build-package/natdiag_VERSION_ARCH.deb (CPack DEB, dependencies from
# dpkg-shlibdeps), then runs lintian on it (README "Debian package" explains what it reports).
# A Release build of its own, configured for /usr, without tests or benchmarks.
#   scripts/package.sh            prints the .deb's path as its last line
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${PACKAGE_BUILD_DIR:-build-package}
# Debian's hardening flags (what dpkg-buildpackage would pass), without -g: the package ships
# stripped, with no -dbgsym package.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CXXFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS | sed 's/\(^\| \)-g\( \|$\)/ /')"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CXXFLAGS LDFLAGS
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# A fresh configure when the flags changed: CMake reads CXXFLAGS only on a first configure.
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -qxF "CMAKE_CXX_FLAGS:STRING=$CXXFLAGS" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DNATDIAG_TESTS=OFF -DNATDIAG_BENCH=OFF -DNATDIAG_MAN=ON -DCMAKE_STRIP="$PWD/docs/debian/strip" \
  "${launcher[@]}" >/dev/null
cmake --build "$BUILD" --target natdiag natdiag_docs natdiag_changelog
rm -f "$BUILD"/natdiag_*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null)
deb=$(ls "$BUILD"/natdiag_*.deb)
if command -v lintian >/dev/null; then
  echo "== lintian $deb"
  lintian --info "$deb" || true
fi
echo "$deb"
