# CMake toolchain: 32-bit Windows (x86) in the MSVC dialect: clang-cl for
# i686-pc-windows-msvc with /arch:SSE2 (cl's x86 default), lld-link, and
# Wine's i386 headers and import libraries; tests run under 32-bit Wine
# (wine32:i386) where it is installed.
#
#   cmake --preset msvc-wine-x86 && cmake --build --preset msvc-wine-x86
#
# The import libraries come from libwine-dev:i386 when installed, else
# tools/fetch-wine-i386.sh unpacks that package into the user's cache at
# configure time. Everything else: see msvc-wine-x86_64.cmake.
set(SHMPOOL_MSVC_WINE_ARCH i686)
include("${CMAKE_CURRENT_LIST_DIR}/msvc-wine-x86_64.cmake")
