#!/bin/sh
# Build and run every test leg, the way CI does: native (dev), sanitizers
# (asan, tsan), Windows under Wine (mingw-wine, msvc-wine), 32-bit Windows
# (mingw-i686, msvc-wine-x86: built and checked always, tests run where
# 32-bit Wine is installed), cl's C4127 lint (msvc-lint), and the consumer
# builds (installed CMake package, pkg-config shared and static, MinGW and
# clang-cl packages, add_subdirectory), the MPI example (skipped where no MPI
# is installed), bounded libFuzzer runs, and a structural check of
# appveyor.yml, which cannot run here. One summary line per leg; logs in
# build/logs/. Exit status 1 if any leg failed.
#
#   tools/test-all.sh [leg...]      (default: all legs)
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
logs="$root/build/logs"
mkdir -p "$logs"
failed=0
# Debian's interpreter has the Debian packages (python3-yaml, -numpy).
py=/usr/bin/python3
[ -x "$py" ] || py=python3

now() { date +%s; }

leg() { # leg NAME COMMAND...: run, log, summarise
  name=$1
  shift
  start=$(now)
  if "$@" >"$logs/$name.log" 2>&1; then
    status=PASS
  else
    status=FAIL
    failed=1
  fi
  tests=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' \
          "$logs/$name.log" | tail -n 1)
  # A Wine leg that passed on a rerun says so, with its first count.
  rerun=$(grep -o '^RERUN: .*' "$logs/$name.log" | tail -n 1)
  [ -z "$rerun" ] ||
    tests="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' \
             "$logs/$name.log" | head -n 1); $rerun"
  # A leg that could not run its tests says so on a line of its own.
  [ -n "$tests" ] ||
    tests=$(grep -o '^SKIPPED: .*' "$logs/$name.log" | head -n 1)
  printf 'leg %-18s %s  %4ss  %s\n' "$name" "$status" "$(($(now) - start))" \
    "${tests:-}"
  if [ "$status" = FAIL ]; then
    echo "---- last lines of build/logs/$name.log ----"
    tail -n 40 "$logs/$name.log"
    echo "----"
  fi
}

workflow() { cmake --workflow --preset "$1" --fresh; }

# The Wine legs share one prefix. The first Wine program to start when no
# wineserver runs also starts Wine's system processes (services.exe,
# winedevice...), and they inherit that program's stdout and stderr; CTest
# then waits for EOF on that test's pipes until they exit, and the test
# "times out" after passing (seen in clean-clone runs: test_seg ran all its
# cases, then hit CTest's 120 s limit). The emulator's wrapper boots the
# prefix with stdio on /dev/null, but tests starting together can race it.
# So before the tests, the prefix's server is restarted and booted here,
# alone, with stdio on /dev/null; every test then finds it running.
wine_server_boot() {
  cache="$root/build/$1/CMakeCache.txt"
  prefix=$(sed -n 's/^SHMPOOL_WINEPREFIX:PATH=//p' "$cache")
  server=$(sed -n 's/^SHMPOOL_WINESERVER:FILEPATH=//p' "$cache")
  wine=$(sed -n 's/^SHMPOOL_WINE:FILEPATH=//p' "$cache")
  persist=$(sed -n 's/^SHMPOOL_WINESERVER_PERSIST:STRING=//p' "$cache")
  [ -n "$prefix" ] && [ -n "$server" ] && [ -n "$wine" ] || return 0
  mkdir -p "$prefix"
  (
    export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    unset DISPLAY WAYLAND_DISPLAY
    "$server" -k || true
    "$server" -w || true
    "$server" -p"${persist:-30}" || true
    "$wine" cmd.exe /c exit || true
  ) </dev/null >/dev/null 2>&1
}

# Under Wine only, a test that fails gets one more run, and the leg's
# summary names it ("RERUN: ..."): a safety net for Wine's own start-up
# (docs/PLATFORMS.md, "Known problems under Wine"). A test that fails
# twice fails the leg.
wine_workflow() {
  cmake --preset "$1" --fresh
  cmake --build --preset "$1"
  wine_server_boot "$1"
  if ctest --preset "$1"; then
    return 0
  fi
  again=$(sed -n 's/^[0-9]*:\(.*\)$/\1/p' \
    "$root/build/$1/Testing/Temporary/LastTestsFailed.log" | tr '\n' ' ')
  wine_server_boot "$1"
  ctest --preset "$1" --rerun-failed --output-on-failure
  echo "RERUN: failed once under Wine, passed on a second run: $again"
}

# ---- 32-bit Windows -------------------------------------------------------

# Configure and build with warnings as errors (the presets set
# SHMPOOL_WERROR), check that every binary is a 32-bit PE, then run the
# tests under 32-bit Wine if it is installed. tools/bootstrap.sh tries to
# install it and records why it could not; then the tests are skipped and
# this says why, while the build has still been checked.
win32_leg() {
  cmake --preset "$1" --fresh
  cmake --build --preset "$1"
  n=0
  for f in "$root/build/$1/bin"/*.exe "$root/build/$1/bin"/*.dll; do
    [ -e "$f" ] || continue
    i686-w64-mingw32-objdump -f "$f" | grep -q 'file format pei-i386' || {
      echo "$f is not a 32-bit PE"
      return 1
    }
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "no binaries in build/$1/bin"; return 1; }
  echo "$n binaries in build/$1/bin, all 32-bit PE (pei-i386)"
  # Installed is not enough: a kernel without IA32 emulation (some VMs boot
  # with it off) installs wine32 fine and then cannot execute it.
  if ! dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null |
    grep -q "ok installed"; then
    status="${XDG_CACHE_HOME:-$HOME/.cache}/shmpool/wine32-status"
    why="not installed (tools/bootstrap.sh has not tried)"
    [ -f "$status" ] && why=$(tr '\n' ' ' <"$status")
    echo "SKIPPED: $1 tests: no 32-bit Wine to run them: $why"
  elif ! err=$(/usr/lib/wine/wine --version 2>&1); then
    echo "SKIPPED: $1 tests: wine32:i386 is installed but does not run" \
      "(${err:-no output}); this kernel cannot execute 32-bit programs"
  else
    wine_server_boot "$1"
    ctest --preset "$1"
  fi
}

# ---- consumers -------------------------------------------------------------

consumers_native() {
  b="$root/build/consumers"
  rm -rf "$b"
  # Shared library, installed.
  cmake -S "$root" -B "$b/shared" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSHMPOOL_BUILD_TESTS=OFF -DSHMPOOL_BUILD_EXAMPLES=OFF \
    -DSHMPOOL_BUILD_BENCH=OFF -DSHMPOOL_BUILD_TOOLS=ON -DSHMPOOL_INSTALL=ON
  cmake --build "$b/shared"
  cmake --install "$b/shared" --prefix "$b/prefix"
  # Only shmpool_* may be exported.
  extra=$(nm -D --defined-only "$b"/prefix/lib*/libshmpool.so |
          awk '{print $3}' | grep -v '^shmpool_' || true)
  if [ -n "$extra" ]; then
    echo "exported symbols outside shmpool_*: $extra"
    return 1
  fi
  readelf -d "$b"/prefix/lib*/libshmpool.so | grep -q 'SONAME.*libshmpool.so.0'
  # find_package(shmpool CONFIG)
  cmake -S "$root/tests/consumers/find_package" -B "$b/fp" -G Ninja \
    -DCMAKE_PREFIX_PATH="$b/prefix"
  cmake --build "$b/fp"
  (cd "$b/fp" && ctest --output-on-failure)
  # A version the package does not satisfy must be refused.
  mkdir -p "$b/fp-v9"
  printf 'cmake_minimum_required(VERSION 3.16)\nproject(v C)\nfind_package(shmpool 9 CONFIG REQUIRED)\n' \
    >"$b/fp-v9/CMakeLists.txt"
  if cmake -S "$b/fp-v9" -B "$b/fp-v9/build" -DCMAKE_PREFIX_PATH="$b/prefix" \
     >/dev/null 2>&1; then
    echo "find_package(shmpool 9) should have failed"
    return 1
  fi
  # pkg-config, shared.
  pc=$(ls -d "$b"/prefix/lib*/pkgconfig)
  PKG_CONFIG_PATH=$pc cc -o "$b/pc-shared" "$root/tests/consumers/consumer.c" \
    $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs shmpool) \
    -Wl,-rpath,"$(dirname "$pc")"
  "$b/pc-shared" | grep -q "consumer ok"
  # Static library, installed; pkg-config --static.
  cmake -S "$root" -B "$b/static" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DSHMPOOL_BUILD_TESTS=OFF \
    -DSHMPOOL_BUILD_EXAMPLES=OFF -DSHMPOOL_BUILD_BENCH=OFF -DSHMPOOL_INSTALL=ON
  cmake --build "$b/static"
  cmake --install "$b/static" --prefix "$b/prefix-static"
  pc=$(ls -d "$b"/prefix-static/lib*/pkgconfig)
  cc -o "$b/pc-static" "$root/tests/consumers/consumer.c" \
    $(PKG_CONFIG_PATH=$pc pkg-config --static --cflags --libs shmpool)
  if ldd "$b/pc-static" | grep -q libshmpool; then
    echo "static consumer links libshmpool.so"
    return 1
  fi
  "$b/pc-static" | grep -q "consumer ok"
  # add_subdirectory: the library only; the parent's libraries stay static
  # and its installed executable runs from the install tree.
  cmake -S "$root/tests/consumers/add_subdirectory" -B "$b/subdir" -G Ninja
  cmake --build "$b/subdir"
  (cd "$b/subdir" && ctest --output-on-failure)
  cmake --install "$b/subdir" --prefix "$b/prefix-subdir"
  "$b/prefix-subdir/bin/consumer" | grep -q "consumer ok"
  # The same with a parent that asks for shared libraries (and sets the
  # rpath its installed executables need): shmpool's runtime is installed.
  cmake -S "$root/tests/consumers/add_subdirectory" -B "$b/subdir-shared" \
    -G Ninja -DBUILD_SHARED_LIBS=ON -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib'
  cmake --build "$b/subdir-shared"
  cmake --install "$b/subdir-shared" --prefix "$b/prefix-subdir-shared"
  ls "$b"/prefix-subdir-shared/lib*/libshmpool.so* >/dev/null
  "$b/prefix-subdir-shared/bin/consumer" | grep -q "consumer ok"
  # The installed tool finds the installed shared library by itself.
  "$b/prefix/bin/shmpool" version | grep -q "^shmpool "
  if "$b/prefix/bin/shmpool" info /bad/name 2>"$b/tool.err"; then
    echo "shmpool info /bad/name should fail"
    return 1
  fi
  grep -q "A-Z a-z 0-9" "$b/tool.err"
  echo "100% tests passed, 0 tests failed out of 5"
}

consumers_windows() {
  b="$root/build/consumers-win"
  rm -rf "$b"
  for tc in mingw-w64 msvc-wine; do
    for shared in OFF ON; do
      d="$b/$tc-$shared"
      cmake -S "$root" -B "$d/lib" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$tc-x86_64.cmake" \
        -DBUILD_SHARED_LIBS=$shared -DBUILD_TESTING=OFF \
        -DSHMPOOL_BUILD_EXAMPLES=OFF -DSHMPOOL_BUILD_BENCH=OFF \
        -DSHMPOOL_INSTALL=ON
      cmake --build "$d/lib"
      cmake --install "$d/lib" --prefix "$d/prefix"
      cmake -S "$root/tests/consumers/find_package" -B "$d/consumer" -G Ninja \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$tc-x86_64.cmake" \
        -DCMAKE_PREFIX_PATH="$d/prefix" -DCMAKE_FIND_ROOT_PATH="$d/prefix"
      cmake --build "$d/consumer"
      # Windows finds a DLL next to the executable.
      if [ "$shared" = ON ]; then
        cp "$d"/prefix/bin/*.dll "$d/consumer/"
      fi
      (cd "$d/consumer" && ctest --output-on-failure)
    done
  done
  echo "100% tests passed, 0 tests failed out of 4"
}

# ---- MPI ---------------------------------------------------------------------

# The MPI example the way an outsider builds it (plain CMake, no preset), run
# on two ranks. Open MPI refuses to run as root unless told twice, and a
# 2-core machine needs --oversubscribe for 2 ranks plus their pools.
mpi_example() {
  if ! command -v mpicc >/dev/null 2>&1 ||
     ! command -v mpirun >/dev/null 2>&1; then
    echo "SKIPPED: no MPI installed (mpicc, mpirun; tools/bootstrap.sh" \
      "installs Open MPI)"
    return 0
  fi
  b="$root/build/mpi"
  rm -rf "$b"
  cmake -S "$root" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSHMPOOL_WERROR=ON
  # MPI is installed, so not finding it is a failure, not a skip.
  cmake --build "$b" --target mpi_hybrid
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # As the issue's acceptance runs it, then with a task that crashes: its
  # worker dies, the rank retries the slice, and the job goes on. Rank 0
  # alone prints, so "check: ok" must be the last line of stdout.
  for extra in "" "--workers 2 --crash"; do
    echo "== mpirun --oversubscribe -np 2 mpi_hybrid $extra"
    status=0
    # $extra is split into options on purpose.
    # shellcheck disable=SC2086
    mpirun --oversubscribe -np 2 "$b/examples/mpi_hybrid" $extra \
      >"$b/out.txt" 2>"$b/err.txt" || status=$?
    cat "$b/out.txt" "$b/err.txt"
    [ "$status" = 0 ] || { echo "mpirun exited with $status"; return 1; }
    [ "$(tail -n 1 "$b/out.txt")" = "check: ok" ] ||
      { echo "the last line is not 'check: ok'"; return 1; }
  done
  (cd "$b" && ctest -L mpi --output-on-failure)
}

# A leg's body runs as its own process ("--body NAME"), where set -e
# holds: inside an "if", a shell ignores set -e in the functions it calls.
if [ "${1:-}" = "--body" ]; then
  set -e
  case $2 in
  consumers) consumers_native ;;
  consumers-windows) consumers_windows ;;
  appveyor) "$py" tools/check-appveyor.py ;;
  msvc-lint) "$py" tools/check-msvc-lint.py ;;
  mingw-i686 | msvc-wine-x86) win32_leg "$2" ;;
  fuzz) sh tools/fuzz.sh ;;
  mpi) mpi_example ;;
  docs)
    rm -rf build/docs
    cmake -S . -B build/docs -G Ninja -DSHMPOOL_BUILD_DOCS=ON \
      -DSHMPOOL_BUILD_TESTS=OFF -DSHMPOOL_BUILD_EXAMPLES=OFF \
      -DSHMPOOL_BUILD_BENCH=OFF -DSHMPOOL_BUILD_TOOLS=OFF
    cmake --build build/docs -t docs
    # (The docs target itself fails on any Doxygen warning, an
    # undocumented public symbol included.)
    # Every public function has its page entry.
    for f in $(grep -o 'SHMPOOL_EXTERN [^(]*(' include/shmpool.h |
               grep -o 'shmpool_[a-z_]*'); do
      grep -q "$f" build/docs/docs/html/shmpool_8h.html ||
        { echo "undocumented in the reference: $f"; exit 1; }
    done
    # No page links to a file the reference does not have.
    dead=$(cd build/docs/docs/html && for f in *.html; do
             grep -o '\(href\|src\)="[^"#]*' "$f" | sed 's/^[a-z]*="//' |
               grep -v '^[a-z]*:' | grep -v '^$' | while read -r l; do
                 [ -e "$l" ] || echo "$f -> $l"
               done
           done)
    [ -z "$dead" ] || { echo "dead links in the reference:"; echo "$dead"; exit 1; }
    # The enum's per-value docs begin with the X-macro's text, word for
    # word: shmpool_strerror() and the reference say the same.
    "$py" - include/shmpool.h <<'PY'
import re, sys
src = open(sys.argv[1]).read()
body = re.search(r"#define SHMPOOL_ERRNO_MAP\(XX\)(.*?)\n\n", src, re.S).group(1)
xmacro = {n: (int(v), "".join(re.findall(r'"([^"]*)"', t))) for n, v, t in
          re.findall(r'XX\((\w+),\s*(-?\d+),((?:\s*\\?\s*"[^"]*")+)\s*\)',
                     body.replace("\\\n", " "))}
enum = re.search(r"enum shmpool_errno \{(.*?)\};", src, re.S).group(1)
docs = {n: (int(v), " ".join(d.replace("*", " ").split())) for d, n, v in
        re.findall(r"/\*\*(.*?)\*/\s*SHMPOOL_(E\w+) = \((-?\d+)\),", enum, re.S)}
bad = [n for n in sorted(set(xmacro) | set(docs))
       if n not in xmacro or n not in docs or xmacro[n][0] != docs[n][0]
       or not docs[n][1].startswith(xmacro[n][1] + ".")]
for n in bad:
    print("SHMPOOL_%s: X-macro %s, enum %s" % (n, xmacro.get(n), docs.get(n)))
print("%d error codes: enum docs and X-macro agree" % len(xmacro)
      if not bad and len(xmacro) > 20 else "error docs disagree")
sys.exit(1 if bad or len(xmacro) <= 20 else 0)
PY
    ;;
  mingw-wine | msvc-wine) wine_workflow "$2" ;;
  *) workflow "$2" ;;
  esac
  exit 0
fi

run_leg() {
  case $1 in
  dev | asan | tsan | mingw-wine | msvc-wine | mingw-i686 | msvc-wine-x86 | \
    msvc-lint | consumers | consumers-windows | mpi | appveyor | fuzz | docs)
    leg "$1" sh "$0" --body "$1"
    ;;
  *)
    echo "unknown leg $1" >&2
    failed=1
    ;;
  esac
}

total_start=$(now)
if [ $# -eq 0 ]; then
  set -- dev asan tsan mingw-wine msvc-wine mingw-i686 msvc-wine-x86 \
    msvc-lint consumers consumers-windows mpi fuzz docs appveyor
fi
for l in "$@"; do
  run_leg "$l"
done
echo "all legs: $([ $failed = 0 ] && echo PASS || echo FAIL) in $(($(now) - total_start)) s"
exit $failed
