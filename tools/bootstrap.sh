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
# check, the API reference (doxygen).
full="$native lld llvm libclang-rt-14-dev mingw-w64 wine64 libwine-dev \
wine64-tools xz-utils python3-numpy python3-yaml python3-pytest python3-venv \
python3-setuptools python3-wheel doxygen"

pkgs=$full
[ "${1:-}" = "--native" ] && pkgs=$native

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "bootstrap: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "bootstrap: missing:$missing; run as root or install sudo" >&2
    exit 1
  }
  sudo=sudo
fi
echo "bootstrap: installing$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
