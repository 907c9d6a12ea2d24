# CMake toolchain: cross-compile for Windows x86-64 with MinGW-w64 GCC and run
# the resulting programs (CTest tests, try_run) under Wine.
#
#   cmake -S . -B build-mingw -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-x86_64.cmake
#   cmake --build build-mingw && ctest --test-dir build-mingw --output-on-failure
#
# Debian 12 packages: mingw-w64 (gcc-mingw-w64-x86-64, binutils), wine64.
#
# Cache variables you may set on the command line:
#   SHMPOOL_MINGW_PREFIX  tool prefix (default x86_64-w64-mingw32); the
#                         -posix / -win32 thread-model variants can be chosen
#                         with SHMPOOL_MINGW_SUFFIX (e.g. -posix).
#   SHMPOOL_WINE          the wine loader used as emulator (default: wine64
#                         searched in /usr/lib/wine, /usr/lib64/wine, PATH ...)
#   SHMPOOL_WINEPREFIX    the Wine prefix (default
#                         $XDG_CACHE_HOME/shmpool/wine-x86_64, i.e. shared by all
#                         build trees so that the 6-10 s prefix creation is paid
#                         once per machine/user).
#   SHMPOOL_WINE_FAST_START (ON), SHMPOOL_WINESERVER_PERSIST (30): see the
#                         emulator block at the end of this file.
#
# MinGW runtime DLLs (chosen approach: static runtime, no WINEPATH):
# executables and DLLs are linked with "-static". With the GCC driver this
# makes every -l<name> lookup use static archives only, so GCC's runtime
# (libgcc, libwinpthread for the -posix thread model, libssp, libatomic) is
# linked in and no libgcc_s_seh-1.dll / libwinpthread-1.dll is needed at run
# time. Unaffected: Windows system libraries (-lkernel32, -lbcrypt, ... are
# import-library archives libX.a) and the project's own DLLs (CMake links
# their import library libfoo.dll.a by full path). Only a third-party
# -lfoo that exists solely as libfoo.dll.a would no longer be found.
# Result: a test exe depends on system DLLs (+ msvcrt.dll) and libshmpool.dll
# only, so Wine needs no WINEPATH into /usr/lib/gcc/x86_64-w64-mingw32/12-*
# or /usr/x86_64-w64-mingw32/lib. The project's own DLL must sit next to the
# test executables: set CMAKE_RUNTIME_OUTPUT_DIRECTORY to a common bin dir
# (Windows has no rpath; the DLL search path is the exe dir + PATH).

# 32-bit x86: mingw-w64-i686.cmake sets SHMPOOL_MINGW_ARCH to i686 and
# includes this file (tools i686-w64-mingw32-*, 32-bit Wine to run tests).
if(NOT SHMPOOL_MINGW_ARCH)
  set(SHMPOOL_MINGW_ARCH x86_64)
endif()
set(CMAKE_SYSTEM_NAME Windows)
if(SHMPOOL_MINGW_ARCH STREQUAL "i686")
  set(CMAKE_SYSTEM_PROCESSOR X86)
else()
  set(CMAKE_SYSTEM_PROCESSOR AMD64)
endif()
set(CMAKE_SYSTEM_VERSION 10.0)

set(SHMPOOL_MINGW_PREFIX "${SHMPOOL_MINGW_ARCH}-w64-mingw32" CACHE STRING
    "MinGW-w64 tool prefix")
set(SHMPOOL_MINGW_SUFFIX "" CACHE STRING "MinGW-w64 gcc suffix (e.g. -posix or -win32)")

set(CMAKE_C_COMPILER   ${SHMPOOL_MINGW_PREFIX}-gcc${SHMPOOL_MINGW_SUFFIX})
set(CMAKE_CXX_COMPILER ${SHMPOOL_MINGW_PREFIX}-g++${SHMPOOL_MINGW_SUFFIX})
find_program(SHMPOOL_MINGW_WINDRES ${SHMPOOL_MINGW_PREFIX}-windres NO_CMAKE_FIND_ROOT_PATH)
find_program(SHMPOOL_MINGW_AR      ${SHMPOOL_MINGW_PREFIX}-ar      NO_CMAKE_FIND_ROOT_PATH)
find_program(SHMPOOL_MINGW_RANLIB  ${SHMPOOL_MINGW_PREFIX}-ranlib  NO_CMAKE_FIND_ROOT_PATH)
mark_as_advanced(SHMPOOL_MINGW_WINDRES SHMPOOL_MINGW_AR SHMPOOL_MINGW_RANLIB)
if(SHMPOOL_MINGW_WINDRES)
  set(CMAKE_RC_COMPILER "${SHMPOOL_MINGW_WINDRES}")
endif()
if(SHMPOOL_MINGW_AR)
  set(CMAKE_AR "${SHMPOOL_MINGW_AR}" CACHE FILEPATH "Archiver")
endif()
if(SHMPOOL_MINGW_RANLIB)
  set(CMAKE_RANLIB "${SHMPOOL_MINGW_RANLIB}" CACHE FILEPATH "Ranlib")
endif()

# Target root: the MinGW sysroot. find_library/find_path/find_package only
# look below the roots (MODE_* ONLY), never in the host's /usr/include or
# /usr/lib. Every absolute entry of CMAKE_PREFIX_PATH known when this file is
# read (e.g. -DCMAKE_PREFIX_PATH=/opt/win64-deps on the command line) is added
# as a further root, which makes find_* search it as-is (paths that already
# lie inside a root are not re-rooted). Prefixes added later by the project
# must be appended to CMAKE_FIND_ROOT_PATH as well (ShmpoolCMocka.cmake does).
set(CMAKE_FIND_ROOT_PATH "/usr/${SHMPOOL_MINGW_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Entries of CMAKE_PREFIX_PATH are used as additional roots (each root R
# makes find_* look in R/include, R/lib, R/lib/cmake/... in ONLY mode).
foreach(_shmpool_p IN LISTS CMAKE_PREFIX_PATH)
  if(IS_ABSOLUTE "${_shmpool_p}")
    list(APPEND CMAKE_FIND_ROOT_PATH "${_shmpool_p}")
  endif()
endforeach()
unset(_shmpool_p)

# Static GCC runtime, see the header comment.
foreach(_shmpool_t EXE SHARED MODULE)
  string(APPEND CMAKE_${_shmpool_t}_LINKER_FLAGS_INIT " -static")
endforeach()
unset(_shmpool_t)

# ---------------------------------------------------------------------------
# Wine as CMAKE_CROSSCOMPILING_EMULATOR: see wine-emulator.cmake.
# ---------------------------------------------------------------------------
set(SHMPOOL_WINE_ARCH ${SHMPOOL_MINGW_ARCH})
include("${CMAKE_CURRENT_LIST_DIR}/wine-emulator.cmake")
