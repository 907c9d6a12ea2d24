#!/bin/sh
# build-cmocka.sh - fetch cmocka's Debian source package and build it as a
# static library for a (cross) CMake toolchain.
#
# Usage: tools/build-cmocka.sh <toolchain-file> <install-prefix> [<source-cache-dir>]
#
#   <toolchain-file>    CMake toolchain file (e.g. cmake/toolchains/mingw-w64-x86_64.cmake);
#                       an empty string means "native build, no toolchain".
#   <install-prefix>    where cmocka is installed (include/cmocka.h, lib/...).
#   <source-cache-dir>  where the pristine source is cached; default
#                       ${XDG_CACHE_HOME:-$HOME/.cache}/shmpool
#
# The source comes from the Debian "bookworm" deb-src archive via apt, using a
# PRIVATE apt configuration (sources, lists and caches in a temp dir): the
# system's apt configuration, lists and caches are not modified.
#
# Debian 12 packages this script needs (fresh machine, as root):
#   apt-get install -y xz-utils cmake ninja-build
#     (apt, gpgv, debian-archive-keyring, tar, sed are in every Debian install;
#      without ninja-build, make is used)
# plus the packages of the toolchain file passed in:
#   mingw-w64-x86_64.cmake:  mingw-w64
#   msvc-wine-x86_64.cmake:  clang lld llvm-14 libwine-dev wine64-tools
#     (llvm-14 = llvm-rc/llvm-lib; installed anyway via clang-14's Recommends)
# The project's one-liner covers everything (wine64 is only needed to run tests):
#   apt-get install -y mingw-w64 wine64 libwine-dev wine64-tools clang lld cmake ninja-build xz-utils
# dpkg-dev is NOT needed: the .orig.tar.xz is unpacked with tar.
#
# The build is idempotent: if <install-prefix> holds a stamp for the same
# toolchain file (path + checksum) and script revision, nothing is done.
# Quiet on success; the
# full logs are printed on failure.
#
# Patches: none are needed. cmocka 1.1.5 builds unmodified (no warnings) with
# both toolchains and its own unit tests pass under Wine (except the ones that
# depend on /usr/bin/wine's stderr noise or on a NULL write that clang turns
# into a trap at -O2). Two things that look like they need patches are handled
# elsewhere:
#   * cmocka uses __thread/__declspec(thread) when its configure check
#     "compiles"; with clang-cl + Wine libs that needs _tls_index/_tls_used,
#     which msvc-wine-x86_64.cmake provides (shmpool_crtsup.lib).
#   * the installed cmocka-config.cmake names a nonexistent cmocka.dll.a for
#     MinGW; cmake/FindCMocka.cmake does not use it.
# apply_patches() below is the place for build-time edits (sed on a private
# copy of the source; the cache stays pristine) should a future cmocka or
# Wine need them.
set -eu

SCRIPT_REV=3             # bump when the build recipe changes (invalidates stamps)
CMOCKA_SRCPKG=cmocka
CMOCKA_SUITE=bookworm

die() { echo "build-cmocka.sh: error: $*" >&2; exit 1; }
note() { [ -z "${BUILD_CMOCKA_VERBOSE:-}" ] || echo "build-cmocka.sh: $*" >&2; }

[ $# -ge 2 ] && [ $# -le 3 ] || {
    echo "usage: $0 <toolchain-file> <install-prefix> [<source-cache-dir>]" >&2
    exit 2
}

TOOLCHAIN=$1
PREFIX=$2
CACHE_DIR=${3:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/shmpool}

if [ -n "$TOOLCHAIN" ]; then
    [ -f "$TOOLCHAIN" ] || die "toolchain file '$TOOLCHAIN' not found"
    TOOLCHAIN=$(cd "$(dirname "$TOOLCHAIN")" && pwd)/$(basename "$TOOLCHAIN")
fi
case $PREFIX in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac
case $CACHE_DIR in /*) ;; *) CACHE_DIR=$(pwd)/$CACHE_DIR ;; esac

CMAKE=${CMAKE:-cmake}
for tool in apt-get tar xz "$CMAKE" sed; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (Debian: apt-get install -y apt tar xz-utils cmake sed)"
done

STAMP="$PREFIX/.shmpool-cmocka-stamp"
TC_SUM=none
[ -z "$TOOLCHAIN" ] || TC_SUM=$(cksum <"$TOOLCHAIN" | cut -d' ' -f1)
STAMP_CONTENT="rev=$SCRIPT_REV toolchain=$TOOLCHAIN sum=$TC_SUM"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_CONTENT" ]; then
    note "cmocka already installed in $PREFIX"
    exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/build-cmocka.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
LOG="$TMP/log"
: >"$LOG"

# run <description> <cmd...>: run quietly, dump the log and fail on error.
run() {
    desc=$1; shift
    echo "+ $*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        cat "$LOG" >&2
        die "$desc failed (command: $*)"
    fi
}

# ---------------------------------------------------------------------------
# 1. Source: cached extracted tree <cache>/cmocka-<version>/ (pristine).
# ---------------------------------------------------------------------------
find_cached_src() {
    for d in "$CACHE_DIR"/cmocka-*/; do
        [ -f "$d/include/cmocka.h" ] && [ -f "$d/CMakeLists.txt" ] && [ -f "$d/.complete" ] &&
            { echo "${d%/}"; return 0; }
    done
    return 1
}

# Print "URI KEYRING" for the Debian main archive, taken from the system's
# deb822 sources (stanza whose Suites contains the plain suite name), else
# from a one-line sources.list, else the Debian defaults.
debian_archive() {
    uri='' key=''
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        # shellcheck disable=SC2046  # word splitting intended (URI KEYRING)
        set -- $(awk -v suite="$CMOCKA_SUITE" '
            function flush() {
                if (!done && uris != "" && (" " suites " ") ~ (" " suite " ")) {
                    split(uris, u, " "); print u[1], (key == "" ? "-" : key); done = 1
                }
                uris = ""; suites = ""; key = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^URIs:/      { sub(/^URIs:[ \t]*/, ""); uris = $0 }
            /^Suites:/    { sub(/^Suites:[ \t]*/, ""); suites = $0 }
            /^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); key = $0 }
            END { flush() }' /etc/apt/sources.list.d/debian.sources)
        uri=${1:-} key=${2:-}
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk -v suite="$CMOCKA_SUITE" '$1 == "deb" && $3 == suite { print $2; exit }
            $1 == "deb" && $2 ~ /^\[/ && $4 == suite { print $3; exit }' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    if [ -z "$key" ] || [ "$key" = "-" ] || [ ! -f "$key" ]; then
        key=/usr/share/keyrings/debian-archive-keyring.gpg
    fi
    [ -f "$key" ] || die "keyring $key not found (apt-get install debian-archive-keyring)"
    echo "$uri $key"
}

fetch_source() {
    archive=$(debian_archive) || exit 1
    set -- $archive
    uri=$1 key=$2
    apt_dir="$TMP/apt"
    mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$TMP/dl"
    : >"$apt_dir/sources.list"
    cat >"$apt_dir/sources.list.d/shmpool-cmocka-src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: $CMOCKA_SUITE
Components: main
Signed-By: $key
EOF
    # Everything apt writes goes below $apt_dir: lists, (disabled) binary
    # caches, archives. The _apt sandbox user cannot write into a 0700
    # mktemp dir, so download as the invoking user.
    set -- \
        -o Dir::Etc::SourceList="$apt_dir/sources.list" \
        -o Dir::Etc::SourceParts="$apt_dir/sources.list.d" \
        -o Dir::State::Lists="$apt_dir/lists" \
        -o Dir::Cache="$apt_dir" \
        -o Dir::Cache::archives="$apt_dir/archives" \
        -o Dir::Cache::pkgcache= \
        -o Dir::Cache::srcpkgcache= \
        -o APT::Sandbox::User="$(id -un)" \
        -o Debug::NoLocking=1 \
        -o Acquire::Languages=none \
        -q
    note "fetching cmocka source from $uri ($CMOCKA_SUITE, deb-src)"
    run "apt-get update (private deb-src lists for $uri $CMOCKA_SUITE)" \
        apt-get "$@" update
    (cd "$TMP/dl" && run "apt-get source --download-only $CMOCKA_SRCPKG" \
        apt-get "$@" source --download-only "$CMOCKA_SRCPKG")
    orig=$(ls "$TMP"/dl/"${CMOCKA_SRCPKG}"_*.orig.tar.* 2>/dev/null | head -n 1)
    [ -n "$orig" ] || { cat "$LOG" >&2; die "no ${CMOCKA_SRCPKG}_*.orig.tar.* downloaded"; }
    ver=${orig##*/${CMOCKA_SRCPKG}_}; ver=${ver%.orig.tar.*}
    mkdir -p "$CACHE_DIR"
    dest="$CACHE_DIR/cmocka-$ver"
    rm -rf "$dest" "$dest.tmp"
    mkdir -p "$dest.tmp"
    run "extracting $orig" tar -xf "$orig" -C "$dest.tmp" --strip-components=1
    : >"$dest.tmp/.complete"
    mv "$dest.tmp" "$dest"
    echo "$dest"
}

SRC=$(find_cached_src) || SRC=$(fetch_source) || exit 1
note "using source $SRC"

# ---------------------------------------------------------------------------
# 2. Patches (on a private copy).
# ---------------------------------------------------------------------------
WORK_SRC="$TMP/src"
cp -R "$SRC" "$WORK_SRC"

apply_patches() {
    # Nothing to patch for cmocka 1.1.5 (see the header comment). Example of
    # the intended style, should it become necessary:
    #   sed -i 's/^check_c_source_compiles("$/&/' "$WORK_SRC/ConfigureChecks.cmake"
    :
}
apply_patches

# ---------------------------------------------------------------------------
# 3. Configure / build / install.
# ---------------------------------------------------------------------------
GEN=
if command -v ninja >/dev/null 2>&1; then GEN="-G Ninja"; fi
BUILD="$TMP/build"

set -- -S "$WORK_SRC" -B "$BUILD" $GEN \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DWITH_STATIC_LIB=ON \
    -DWITH_EXAMPLES=OFF \
    -DUNIT_TESTING=OFF \
    -DWITH_CMOCKERY_SUPPORT=OFF \
    -DPICKY_DEVELOPER=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_Doxygen=ON
[ -z "$TOOLCHAIN" ] || set -- "$@" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN"

run "configuring cmocka" "$CMAKE" "$@"
run "building cmocka" "$CMAKE" --build "$BUILD"
rm -rf "$PREFIX"
run "installing cmocka" "$CMAKE" --install "$BUILD"
echo "$STAMP_CONTENT" >"$STAMP"
note "cmocka installed in $PREFIX"
