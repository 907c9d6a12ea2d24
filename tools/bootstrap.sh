#!/bin/sh
# Install what building and testing shmpool needs on Debian 12 (bookworm),
# skipping what is already there. Run as root (or with sudo available).
#
#   tools/bootstrap.sh            everything (native, sanitizers, Windows legs)
#   tools/bootstrap.sh --native   only what the native build and demo need
set -eu

native="cmake ninja-build gcc clang libcmocka-dev pkg-config python3"
# The Windows legs (MinGW-w64 and clang-cl, both run under Wine), the
# sanitizer runtimes, the Python interop tests and the Python package's
# (pytest, an offline venv install: venv, setuptools, wheel), appveyor.yml's
# check, the API reference (doxygen), reproducing docs/PERFORMANCE.md (numpy
# for bench/compare.py's Python series, gnuplot-nox for bench/plot.gp's
# pngcairo terminal), the MPI example and its leg (Open MPI).
full="$native lld llvm libclang-rt-14-dev mingw-w64 wine64 libwine-dev \
wine64-tools xz-utils python3-numpy python3-yaml python3-pytest python3-venv \
python3-setuptools python3-wheel doxygen gnuplot-nox libopenmpi-dev openmpi-bin"

pkgs=$full
[ "${1:-}" = "--native" ] && pkgs=$native

# 32-bit Wine (wine32:i386) runs the mingw-i686 / msvc-wine-x86 legs'
# tests. It is optional: installing it needs the i386 architecture, and
# Debian's i386 security index is at times out of step with amd64's, when
# wine32's Multi-Arch: same dependencies cannot be resolved. Then the
# architecture is removed again (a foreign architecture whose index fails
# makes every later "apt-get update" exit 100, this script's included) and
# the reason is left where tools/test-all.sh reports it.
wine32_status="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/shmpool/wine32-status"
try_wine32() {
  if dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null |
    grep -q "ok installed"; then
    echo "installed" >"$wine32_status"
    return 0
  fi
  log=$(mktemp)
  echo "bootstrap: trying 32-bit Wine (wine32:i386) for the i686 legs"
  $sudo dpkg --add-architecture i386
  $sudo apt-get update -q >"$log" 2>&1 || true
  if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q wine32:i386 \
    >>"$log" 2>&1; then
    if /usr/lib/wine/wine --version >/dev/null 2>&1; then
      echo "installed" >"$wine32_status"
    else
      echo "wine32:i386 installed but does not run: this kernel cannot" \
        "execute 32-bit programs (IA32 emulation off)" >"$wine32_status"
      echo "bootstrap: $(cat "$wine32_status"); the i686 legs will build" \
        "but not run their tests"
    fi
  else
    # One line: the first error apt gave (often the i386 index's size).
    first_error=$(grep -m 1 -E '^E: ' "$log" ||
      echo "see apt-get install wine32:i386")
    echo "wine32:i386 could not be installed ($(date -u +%Y-%m-%d)):" \
      "$first_error" >"$wine32_status"
    if [ -z "$(dpkg-query -W -f='${Package}:${Architecture}\n' 2>/dev/null |
      grep ':i386$')" ]; then
      $sudo dpkg --remove-architecture i386
      $sudo apt-get update -q >/dev/null 2>&1 || true
    fi
    echo "bootstrap: no 32-bit Wine; the i686 legs will build but not run" \
      "their tests (see $wine32_status)"
  fi
  rm -f "$log"
}

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo=sudo
fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; then
    echo "bootstrap: missing:$missing; run as root or install sudo" >&2
    exit 1
  fi
  echo "bootstrap: installing$missing"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
else
  echo "bootstrap: all packages present"
fi
if [ "$pkgs" = "$full" ] && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  mkdir -p "$(dirname "$wine32_status")"
  try_wine32
fi
