# Included by the Windows toolchain files (mingw-w64-x86_64.cmake,
# msvc-wine-x86_64.cmake): run cross-compiled programs (CTest tests,
# try_run) under Wine.
# ---------------------------------------------------------------------------
# Wine as CMAKE_CROSSCOMPILING_EMULATOR, for both Windows toolchain files
#
# Plain form: env WINEDEBUG=-all WINEPREFIX=... wine64 <exe> <args>.
# Wine starts wineserver + its "system" processes (services.exe, winedevice,
# plugplay, rpcss, ...) from the first program; they inherit that program's
# stdout/stderr. CTest waits for EOF on the test's output pipes, so with the
# plain form every test takes ~2.5 s extra (until wineserver's 3 s linger
# ends), and the first test ~10 s (prefix creation). With
# SHMPOOL_WINE_FAST_START (default ON) a tiny sh wrapper first starts a
# persistent wineserver (-p<SHMPOOL_WINESERVER_PERSIST> seconds) and boots the
# prefix with stdio on /dev/null (only when no wineserver is running yet), then
# execs wine64: later tests then cost ~0.1-0.4 s each.
# ---------------------------------------------------------------------------
#
# SHMPOOL_WINE_ARCH (set by the toolchain file: x86_64 or i686) picks the
# loader: wine64 for 64-bit programs; wine for 32-bit ones, which Debian
# ships in wine32:i386 (/usr/lib/wine/wine). Without it, wine64 cannot
# start a 32-bit program ("failed to open ... syswow64\rundll32.exe"):
# tools/test-all.sh then builds the 32-bit legs and skips their tests.
# ---------------------------------------------------------------------------
if(NOT SHMPOOL_WINE_ARCH)
  set(SHMPOOL_WINE_ARCH x86_64)
endif()
if(SHMPOOL_WINE_ARCH STREQUAL "i686")
  set(_shmpool_wine_names wine)
else()
  set(_shmpool_wine_names wine64 wine)
endif()
find_program(SHMPOOL_WINE
  NAMES ${_shmpool_wine_names}
  PATHS /usr/lib/wine /usr/lib64/wine /usr/lib/x86_64-linux-gnu/wine
        /usr/lib/i386-linux-gnu/wine
        /opt/wine-stable/bin /opt/wine-devel/bin /opt/wine-staging/bin
  NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
find_program(SHMPOOL_WINE NAMES ${_shmpool_wine_names} NO_CMAKE_FIND_ROOT_PATH)
unset(_shmpool_wine_names)
if(SHMPOOL_WINE)
  get_filename_component(_shmpool_wd "${SHMPOOL_WINE}" DIRECTORY)
  find_program(SHMPOOL_WINESERVER NAMES wineserver64 wineserver
    HINTS "${_shmpool_wd}" NO_CMAKE_FIND_ROOT_PATH)
  unset(_shmpool_wd)
endif()
include("${CMAKE_CURRENT_LIST_DIR}/user-cache.cmake")
set(SHMPOOL_WINEPREFIX "${_shmpool_cache}/shmpool/wine-${SHMPOOL_WINE_ARCH}" CACHE PATH
  "WINEPREFIX used to run cross-compiled tests under Wine (shared by build trees)")
unset(_shmpool_cache)
option(SHMPOOL_WINE_FAST_START "Pre-start a persistent wineserver for tests (see toolchain file)" ON)
set(SHMPOOL_WINESERVER_PERSIST 30 CACHE STRING "wineserver -p<seconds> used by SHMPOOL_WINE_FAST_START")
if(SHMPOOL_WINE)
  get_filename_component(_shmpool_pp "${SHMPOOL_WINEPREFIX}" DIRECTORY)
  file(MAKE_DIRECTORY "${_shmpool_pp}")
  unset(_shmpool_pp)
  # env -u DISPLAY: never pop up windows (crash dialogs) from tests.
  # WINEDLLOVERRIDES: skip the Mono/Gecko installers on prefix creation.
  set(CMAKE_CROSSCOMPILING_EMULATOR
    /usr/bin/env -u DISPLAY -u WAYLAND_DISPLAY
    WINEDEBUG=-all
    "WINEPREFIX=${SHMPOOL_WINEPREFIX}"
    "WINEDLLOVERRIDES=mscoree,mshtml=")
  if(SHMPOOL_WINE_FAST_START AND SHMPOOL_WINESERVER)
    # The script must contain no ';' (CMake list separator) and no '"'
    # (try_run joins the emulator arguments into one "..."-quoted string);
    # IFS= and set -f make the unquoted expansions safe instead (arguments
    # keep embedded spaces; only empty test arguments would be dropped).
    list(APPEND CMAKE_CROSSCOMPILING_EMULATOR /bin/sh -c [=[
IFS=
set -f
mkdir -p $WINEPREFIX && $1 -p$3 </dev/null >/dev/null 2>&1 && $2 cmd.exe /c exit </dev/null >/dev/null 2>&1
w=$2
shift 3
exec $w $@]=] shmpool-wine "${SHMPOOL_WINESERVER}" "${SHMPOOL_WINE}" "${SHMPOOL_WINESERVER_PERSIST}")
  else()
    list(APPEND CMAKE_CROSSCOMPILING_EMULATOR "${SHMPOOL_WINE}")
  endif()
else()
  message(WARNING "wine64 not found: cross-compiled tests cannot be run "
                  "(Debian: apt-get install wine64)")
endif()
