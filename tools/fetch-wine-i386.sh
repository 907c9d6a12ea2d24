#!/bin/sh
# fetch-wine-i386.sh - Wine's 32-bit PE import libraries, for the
# msvc-wine-x86 toolchain (cmake/toolchains/msvc-wine-x86.cmake).
#
# Usage: tools/fetch-wine-i386.sh <dest-dir>
#
# clang-cl for i686-pc-windows-msvc links against Wine's i386-windows
# import libraries (libucrtbase.a, libkernel32.a, libwinecrt0.a, ...).
# Debian 12 ships them only in libwine-dev:i386
# (/usr/lib/i386-linux-gnu/wine/i386-windows); libwine-dev:amd64 and
# wine64-tools have the x86_64 ones only. Installing libwine-dev:i386 needs
# the i386 architecture in dpkg, and its Multi-Arch: same dependencies at
# exactly the amd64 versions, which fails whenever Debian's i386 security
# index lags the amd64 one (as it does at times: "File has unexpected
# size ... Mirror sync in progress?"). A foreign architecture that cannot
# be updated also makes every later "apt-get update" on the machine exit
# 100.
#
# So this script installs nothing: it downloads the one .deb with a
# PRIVATE apt state (lists and caches in a temporary directory, the
# system's sources, i386 added for this command only) and unpacks it into
# <dest-dir> with dpkg-deb -x. The system's apt and dpkg state are not
# touched. The result is then <dest-dir>/usr/lib/i386-linux-gnu/wine/
# i386-windows/lib*.a. Idempotent: nothing is done if that directory holds
# libucrtbase.a already.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 <dest-dir>" >&2; exit 2; }
dest=$1
libdir="$dest/usr/lib/i386-linux-gnu/wine/i386-windows"
[ -f "$libdir/libucrtbase.a" ] && exit 0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-wine-i386.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/dl"
set -- \
  -o Dir::State::Lists="$tmp/lists" \
  -o Dir::Cache="$tmp" \
  -o Dir::Cache::archives="$tmp/archives" \
  -o Dir::Cache::pkgcache= \
  -o Dir::Cache::srcpkgcache= \
  -o APT::Architectures::=i386 \
  -o APT::Sandbox::User="$(id -un)" \
  -o Debug::NoLocking=1 \
  -o Acquire::Languages=none \
  -q
# An i386 index that fails (the security archive out of sync) is harmless
# here: libwine-dev comes from the main archive. Whether it worked shows in
# the download.
apt-get "$@" update >"$tmp/update.log" 2>&1 || true
if ! (cd "$tmp/dl" && apt-get "$@" download libwine-dev:i386) \
  >"$tmp/download.log" 2>&1; then
  cat "$tmp/update.log" "$tmp/download.log" >&2
  echo "fetch-wine-i386.sh: could not download libwine-dev:i386" >&2
  exit 1
fi
mkdir -p "$dest"
dpkg-deb -x "$tmp"/dl/libwine-dev_*_i386.deb "$dest"
[ -f "$libdir/libucrtbase.a" ] || {
  echo "fetch-wine-i386.sh: $libdir/libucrtbase.a missing after unpacking" >&2
  exit 1
}
