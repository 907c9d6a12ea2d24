# CMake toolchain: cross-compile for 32-bit Windows (x86) with MinGW-w64 GCC
# (i686-w64-mingw32-*, Debian 12 package gcc-mingw-w64-i686, part of
# mingw-w64) and run the results under 32-bit Wine (wine32:i386).
#
#   cmake --preset mingw-i686 && cmake --build --preset mingw-i686
#
# Everything else (static GCC runtime, find roots, the Wine emulator) is
# the x86_64 file's: see mingw-w64-x86_64.cmake.
set(SHMPOOL_MINGW_ARCH i686)
include("${CMAKE_CURRENT_LIST_DIR}/mingw-w64-x86_64.cmake")
