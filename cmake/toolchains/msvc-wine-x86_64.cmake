# CMake toolchain: cross-compile for Windows x86-64 in the *MSVC dialect*
# (clang-cl + lld-link + llvm-lib) against Wine's MSVC-style CRT/Win32 headers
# and import libraries, and run the results (CTest tests, try_run) under Wine.
# No Microsoft SDK/CRT is needed.
#
#   cmake -S . -B build-msvc -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/msvc-wine-x86_64.cmake
#   cmake --build build-msvc && ctest --test-dir build-msvc --output-on-failure
#
# Debian 12 packages: clang-14 (clang), lld-14 (lld), llvm-14 (llvm-lib,
# llvm-rc, llvm-mt; pulled in by clang's Recommends), libwine-dev (headers in
# /usr/include/wine/wine/{msvcrt,windows}), wine64 + wine64-tools (import
# libraries in /usr/lib/x86_64-linux-gnu/wine/x86_64-windows, Wine itself).
# clang-tools-14 (the clang-cl symlink) is optional: without it a "clang-cl"
# symlink to clang is created in the build tree (clang picks its cl driver
# mode from argv[0]). Without llvm-lib a "lld-link /lib" wrapper is used;
# llvm-rc is required (CMake enables RC for MSVC-like compilers).
#
# How it works
#  * Compiler: clang-cl --target=x86_64-pc-windows-msvc (CMake: Clang with
#    MSVC frontend variant, CMAKE_C_SIMULATE_ID=MSVC, so MSVC=1 and the
#    MSVC-style rules apply: foo.lib static libs, foo.dll + foo.lib import
#    libs for SHARED libraries, /subsystem:console executables).
#    Flags: /X (no %INCLUDE%) -imsvc <wine>/msvcrt -imsvc <wine>/windows
#    (system include dirs -> no warnings from Wine headers), /GS- (there is
#    no __security_cookie / __security_check_cookie without the MS CRT).
#    The default CRT selection is /MD (MultiThreadedDLL); /MDd is avoided
#    because it only sets _DEBUG (there is no debug CRT import lib we use).
#  * Linker: lld-link /nodefaultlib /manifest:no. Entry points: exe
#    shmpool_mainCRTStartup, DLL shmpool_DllMainCRTStartup (from
#    shmpool_crtsup.lib below): they run the .CRT$XC* initializers and then
#    call Wine's mainCRTStartup (libucrtbase.a) / DllMainCRTStartup
#    (libwinecrt0.a), which replace the static part of the MS CRT.
#  * Wine's import libraries are named libfoo.a; lld-link only looks for
#    foo.lib. A directory of symlinks foo.lib -> libfoo.a is created in the
#    build tree (SHMPOOL_MSVC_WINE_DIR/lib) and added with /libpath, so plain
#    names work as with real MSVC: target_link_libraries(x PRIVATE bcrypt)
#    -> bcrypt.lib, and CMake's default kernel32.lib user32.lib ... resolve.
#    Aliases synchronization.lib / onecore.lib / mincore.lib -> kernelbase
#    (WaitOnAddress, WakeByAddress*, MapViewOfFile3, VirtualAlloc2).
#    That directory is also the CMAKE_FIND_ROOT_PATH, so
#    find_library(... bcrypt) finds <dir>/lib/bcrypt.lib.
#  * Libraries linked into every exe/DLL (CRT core via CMAKE_*_LINKER_FLAGS,
#    the rest via CMAKE_C_STANDARD_LIBRARIES):
#      ucrtbase.lib  CRT (printf via __stdio_common_*, malloc, string,
#                    _beginthreadex, _wfopen, ...) + mainCRTStartup
#      winecrt0.lib  DllMainCRTStartup, default DllMain, _fltused
#      shmpool_crtsup.lib  built at configure time from a generated
#                    crtsup.c: static TLS directory (_tls_index/_tls_used, so
#                    _Thread_local / __declspec(thread) work), atexit /
#                    _onexit (ucrtbase.dll exports only _crt_atexit), and the
#                    entry points above (constructors)
#      kernel32.lib ntdll.lib   (linker flags)
#      advapi32.lib bcrypt.lib user32.lib   (standard libraries)
#    plus CMake's usual gdi32/shell32/ole32/oleaut32/uuid/comdlg32
#    (import libs only add a DLL dependency if a symbol is used).
#  * Not available (no MS static CRT): /GS (__security_cookie), /RTC
#    (clang-cl ignores /RTC), C++ EH runtime, _CrtDbg* debug heap, .CRT$XI*
#    (C-level) initializers. atexit/_onexit register process-wide (also when
#    called from a DLL), via ucrtbase's _crt_atexit.
#
# Cache variables: SHMPOOL_LLVM_BIN_DIR, SHMPOOL_WINE_INCLUDE_DIR,
# SHMPOOL_WINE_LIB_DIR, SHMPOOL_WINE, SHMPOOL_WINEPREFIX (see mingw file).
#
# 32-bit x86: msvc-wine-x86.cmake sets SHMPOOL_MSVC_WINE_ARCH to i686 and
# includes this file. The target is then i686-pc-windows-msvc with
# /arch:SSE2 (cl's default for x86; clang-cl's is plain i686), and the
# import libraries are Wine's i386-windows ones: from libwine-dev:i386 if
# installed, else unpacked by tools/fetch-wine-i386.sh into
# $XDG_CACHE_HOME/shmpool/wine-i386-dev (see that script for why).

if(NOT SHMPOOL_MSVC_WINE_ARCH)
  set(SHMPOOL_MSVC_WINE_ARCH x86_64)
endif()
set(CMAKE_SYSTEM_NAME Windows)
if(SHMPOOL_MSVC_WINE_ARCH STREQUAL "i686")
  set(CMAKE_SYSTEM_PROCESSOR X86)
  set(_shmpool_wine_pe_dir i386-windows)
  set(_shmpool_deb_arch i386-linux-gnu)
else()
  set(CMAKE_SYSTEM_PROCESSOR AMD64)
  set(_shmpool_wine_pe_dir x86_64-windows)
  set(_shmpool_deb_arch x86_64-linux-gnu)
endif()
set(CMAKE_SYSTEM_VERSION 10.0)

# ---------------------------------------------------------------------------
# Locate LLVM (clang, lld-link, llvm-lib, llvm-rc, llvm-mt) and Wine
# ---------------------------------------------------------------------------
if(NOT SHMPOOL_LLVM_BIN_DIR)
  set(_shmpool_llvm_dirs)
  foreach(_v 20 19 18 17 16 15 14 13)
    list(APPEND _shmpool_llvm_dirs "/usr/lib/llvm-${_v}/bin")
  endforeach()
  foreach(_d IN LISTS _shmpool_llvm_dirs)
    if(EXISTS "${_d}/clang" AND EXISTS "${_d}/lld-link")
      set(SHMPOOL_LLVM_BIN_DIR "${_d}")
      break()
    endif()
  endforeach()
  if(NOT SHMPOOL_LLVM_BIN_DIR)
    find_program(_shmpool_clang NAMES clang NO_CMAKE_FIND_ROOT_PATH)
    if(_shmpool_clang)
      get_filename_component(_shmpool_clang "${_shmpool_clang}" REALPATH)
      get_filename_component(SHMPOOL_LLVM_BIN_DIR "${_shmpool_clang}" DIRECTORY)
    endif()
  endif()
  unset(_shmpool_llvm_dirs)
  unset(_v)
  unset(_d)
endif()
set(SHMPOOL_LLVM_BIN_DIR "${SHMPOOL_LLVM_BIN_DIR}" CACHE PATH
  "Directory with clang, lld-link, llvm-lib, llvm-rc (e.g. /usr/lib/llvm-14/bin)")
if(NOT EXISTS "${SHMPOOL_LLVM_BIN_DIR}/clang" OR NOT EXISTS "${SHMPOOL_LLVM_BIN_DIR}/lld-link")
  message(FATAL_ERROR "msvc-wine toolchain: clang and lld-link not found "
    "(SHMPOOL_LLVM_BIN_DIR='${SHMPOOL_LLVM_BIN_DIR}'). Debian: apt-get install clang lld llvm")
endif()

if(NOT SHMPOOL_WINE_INCLUDE_DIR)
  foreach(_d /usr/include/wine/wine /usr/include/wine /usr/local/include/wine/wine
             /usr/local/include/wine /opt/wine-stable/include/wine)
    if(EXISTS "${_d}/msvcrt/stdio.h" AND EXISTS "${_d}/windows/windows.h")
      set(SHMPOOL_WINE_INCLUDE_DIR "${_d}")
      break()
    endif()
  endforeach()
  unset(_d)
endif()
set(SHMPOOL_WINE_INCLUDE_DIR "${SHMPOOL_WINE_INCLUDE_DIR}" CACHE PATH
  "Wine include dir containing msvcrt/ and windows/ (libwine-dev)")
if(NOT EXISTS "${SHMPOOL_WINE_INCLUDE_DIR}/msvcrt/stdio.h")
  message(FATAL_ERROR "msvc-wine toolchain: Wine's MSVC-style headers not found "
    "(SHMPOOL_WINE_INCLUDE_DIR). Debian: apt-get install libwine-dev")
endif()

include("${CMAKE_CURRENT_LIST_DIR}/user-cache.cmake")
set(_shmpool_fetched "${_shmpool_cache}/shmpool/wine-i386-dev")
unset(_shmpool_cache)
foreach(_pass 1 2)
  if(NOT SHMPOOL_WINE_LIB_DIR)
    foreach(_d /usr/lib/${_shmpool_deb_arch}/wine/${_shmpool_wine_pe_dir}
               /usr/lib64/wine/${_shmpool_wine_pe_dir}
               /usr/lib/wine/${_shmpool_wine_pe_dir}
               /usr/local/lib/wine/${_shmpool_wine_pe_dir}
               /opt/wine-stable/lib64/wine/${_shmpool_wine_pe_dir}
               /opt/wine-stable/lib/wine/${_shmpool_wine_pe_dir}
               "${_shmpool_fetched}/usr/lib/${_shmpool_deb_arch}/wine/${_shmpool_wine_pe_dir}")
      if(EXISTS "${_d}/libucrtbase.a" AND EXISTS "${_d}/libkernel32.a")
        set(SHMPOOL_WINE_LIB_DIR "${_d}")
        break()
      endif()
    endforeach()
    unset(_d)
  endif()
  # Debian 12 has the i386 import libraries only in libwine-dev:i386,
  # which often cannot be installed beside wine64: unpack it privately.
  if(NOT SHMPOOL_WINE_LIB_DIR AND _pass EQUAL 1 AND
     SHMPOOL_MSVC_WINE_ARCH STREQUAL "i686")
    message(STATUS "msvc-wine-x86: fetching Wine's i386 import libraries "
                   "(tools/fetch-wine-i386.sh ${_shmpool_fetched})")
    execute_process(
      COMMAND sh "${CMAKE_CURRENT_LIST_DIR}/../../tools/fetch-wine-i386.sh"
              "${_shmpool_fetched}"
      RESULT_VARIABLE _shmpool_rc)
    unset(_shmpool_rc)
  endif()
endforeach()
unset(_pass)
unset(_shmpool_fetched)
set(SHMPOOL_WINE_LIB_DIR "${SHMPOOL_WINE_LIB_DIR}" CACHE PATH
  "Wine's ${_shmpool_wine_pe_dir} dir with libucrtbase.a, libkernel32.a, ... (libwine-dev)")
if(NOT EXISTS "${SHMPOOL_WINE_LIB_DIR}/libucrtbase.a")
  message(FATAL_ERROR "msvc-wine toolchain: Wine's PE import libraries not found "
    "(SHMPOOL_WINE_LIB_DIR). Debian: apt-get install libwine-dev wine64-tools")
endif()

# ---------------------------------------------------------------------------
# Helper directory in the build tree (created once; try_compile projects get
# the same path through CMAKE_TRY_COMPILE_PLATFORM_VARIABLES).
# ---------------------------------------------------------------------------
if(NOT SHMPOOL_MSVC_WINE_DIR)
  set(SHMPOOL_MSVC_WINE_DIR "${CMAKE_BINARY_DIR}/_msvc-wine")
endif()
set(SHMPOOL_MSVC_WINE_DIR "${SHMPOOL_MSVC_WINE_DIR}" CACHE INTERNAL "")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES
  SHMPOOL_MSVC_WINE_DIR SHMPOOL_LLVM_BIN_DIR SHMPOOL_WINE_INCLUDE_DIR
  SHMPOOL_WINE_LIB_DIR SHMPOOL_WINE SHMPOOL_WINEPREFIX)
list(REMOVE_DUPLICATES CMAKE_TRY_COMPILE_PLATFORM_VARIABLES)

set(_shmpool_stamp "${SHMPOOL_MSVC_WINE_DIR}/.stamp-v6")
set(_shmpool_stamp_content "${SHMPOOL_LLVM_BIN_DIR}|${SHMPOOL_WINE_LIB_DIR}")
set(_shmpool_old "")
if(EXISTS "${_shmpool_stamp}")
  file(READ "${_shmpool_stamp}" _shmpool_old)
endif()
if(NOT _shmpool_old STREQUAL _shmpool_stamp_content)
  file(REMOVE_RECURSE "${SHMPOOL_MSVC_WINE_DIR}")
  file(MAKE_DIRECTORY "${SHMPOOL_MSVC_WINE_DIR}/lib" "${SHMPOOL_MSVC_WINE_DIR}/bin")
  # foo.lib -> libfoo.a for every Wine import library
  file(GLOB _shmpool_libs RELATIVE "${SHMPOOL_WINE_LIB_DIR}" "${SHMPOOL_WINE_LIB_DIR}/lib*.a")
  foreach(_l IN LISTS _shmpool_libs)
    string(REGEX REPLACE "^lib(.*)\\.a$" "\\1.lib" _n "${_l}")
    file(CREATE_LINK "${SHMPOOL_WINE_LIB_DIR}/${_l}" "${SHMPOOL_MSVC_WINE_DIR}/lib/${_n}" SYMBOLIC)
  endforeach()
  # clang-cl: use the real one if installed (clang-tools), else a symlink.
  if(EXISTS "${SHMPOOL_LLVM_BIN_DIR}/clang-cl")
    file(CREATE_LINK "${SHMPOOL_LLVM_BIN_DIR}/clang-cl" "${SHMPOOL_MSVC_WINE_DIR}/bin/clang-cl" SYMBOLIC)
  else()
    file(CREATE_LINK "${SHMPOOL_LLVM_BIN_DIR}/clang" "${SHMPOOL_MSVC_WINE_DIR}/bin/clang-cl" SYMBOLIC)
  endif()
  # llvm-lib (llvm-14 package); fallback: "lld-link /lib" wrapper.
  if(NOT EXISTS "${SHMPOOL_LLVM_BIN_DIR}/llvm-lib")
    file(WRITE "${SHMPOOL_MSVC_WINE_DIR}/bin/llvm-lib"
      "#!/bin/sh\nexec \"${SHMPOOL_LLVM_BIN_DIR}/lld-link\" /lib \"$@\"\n")
    file(CHMOD "${SHMPOOL_MSVC_WINE_DIR}/bin/llvm-lib"
      PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endif()
  # Aliases for MS SDK umbrella/API-set libraries that Wine does not ship
  # under that name (WaitOnAddress & co live in kernelbase).
  foreach(_n synchronization onecore mincore)
    file(CREATE_LINK "${SHMPOOL_WINE_LIB_DIR}/libkernelbase.a"
         "${SHMPOOL_MSVC_WINE_DIR}/lib/${_n}.lib" SYMBOLIC)
  endforeach()
  # shmpool_crtsup.lib: the few bits of the MS CRT's *static* part that a C
  # program needs and that neither ucrtbase.dll nor winecrt0 provide:
  #  - static TLS directory (_tls_index, _tls_used, .tls bounds; tlssup.obj
  #    in the MS CRT) -> _Thread_local / __declspec(thread) work;
  #  - atexit/_onexit (ucrtbase.dll only exports _crt_atexit).
  # One source, compiled once per part so that each piece is a separate
  # archive member (a DLL must not pull in the exe entry point and vice versa).
  file(WRITE "${SHMPOOL_MSVC_WINE_DIR}/crtsup.c" [=[
/* Generated by msvc-wine-x86_64.cmake: minimal pieces of the MS CRT static lib. */
typedef void (__cdecl *shmpool_pvfv)(void);
typedef int (__cdecl *shmpool_onexit_t)(void);

#if defined(PART_TLS)
/* static TLS directory, as tlssup.obj of the MS CRT */
typedef void (__stdcall *shmpool_tls_cb)(void *, unsigned long, void *);
#if defined(_WIN64)
typedef unsigned long long shmpool_uptr;
#else
typedef unsigned long shmpool_uptr;
#endif
typedef struct {
    shmpool_uptr StartAddressOfRawData, EndAddressOfRawData, AddressOfIndex,
        AddressOfCallBacks;
    unsigned long SizeOfZeroFill, Characteristics;
} shmpool_tls_dir;
unsigned long _tls_index = 0;
#if defined(_M_IX86)
/* x86 code reads the TLS array at fs:[__tls_array]: an absolute symbol,
   the TEB's ThreadLocalStoragePointer offset */
__asm__(".globl __tls_array\n.set __tls_array, 0x2c\n");
#endif
#pragma section(".tls", read, write)
#pragma section(".tls$ZZZ", read, write)
#pragma section(".CRT$XLA", read)
#pragma section(".CRT$XLZ", read)
#pragma section(".rdata$T", read)
__declspec(allocate(".tls")) char _tls_start = 0;
__declspec(allocate(".tls$ZZZ")) char _tls_end = 0;
__declspec(allocate(".CRT$XLA")) shmpool_tls_cb __xl_a = 0;
__declspec(allocate(".CRT$XLZ")) shmpool_tls_cb __xl_z = 0;
extern const shmpool_tls_dir _tls_used;
__declspec(allocate(".rdata$T")) const shmpool_tls_dir _tls_used = {
    (shmpool_uptr)&_tls_start, (shmpool_uptr)&_tls_end,
    (shmpool_uptr)&_tls_index, (shmpool_uptr)(&__xl_a + 1), 0, 0 };

#elif defined(PART_ATEXIT)
/* ucrtbase.dll exports only _crt_atexit */
__declspec(dllimport) int __cdecl _crt_atexit(shmpool_pvfv);
int __cdecl atexit(shmpool_pvfv f) { return _crt_atexit(f) == 0 ? 0 : -1; }
shmpool_onexit_t __cdecl _onexit(shmpool_onexit_t f)
{ return _crt_atexit((shmpool_pvfv)f) == 0 ? f : 0; }
/* callers compiled against the headers use __declspec(dllimport); x86
   decorates C names with a leading underscore */
#if defined(_M_IX86)
void *_imp__atexit = (void *)atexit;
void *_imp___onexit = (void *)_onexit;
#else
void *__imp_atexit = (void *)atexit;
void *__imp__onexit = (void *)_onexit;
#endif

#elif defined(PART_XC)
/* bounds of the C/C++ initializer table (.CRT$XCU: constructors, C++ statics) */
#pragma section(".CRT$XCA", read)
#pragma section(".CRT$XCZ", read)
__declspec(allocate(".CRT$XCA")) shmpool_pvfv __xc_a[] = { 0 };
__declspec(allocate(".CRT$XCZ")) shmpool_pvfv __xc_z[] = { 0 };

#elif defined(PART_EXE)
/* Wine's mainCRTStartup (libucrtbase.a) does not run initializers */
extern shmpool_pvfv __xc_a[], __xc_z[];
__declspec(dllimport) void __cdecl _initterm(shmpool_pvfv *, shmpool_pvfv *);
int __cdecl mainCRTStartup(void);
int __cdecl shmpool_mainCRTStartup(void)
{ _initterm(__xc_a, __xc_z); return mainCRTStartup(); }

#elif defined(PART_DLL)
/* Wine's DllMainCRTStartup (libwinecrt0.a) does not run initializers */
extern shmpool_pvfv __xc_a[], __xc_z[];
__declspec(dllimport) void __cdecl _initterm(shmpool_pvfv *, shmpool_pvfv *);
int __stdcall DllMainCRTStartup(void *, unsigned long, void *);
int __stdcall shmpool_DllMainCRTStartup(void *h, unsigned long reason, void *r)
{ if (reason == 1 /* DLL_PROCESS_ATTACH */) _initterm(__xc_a, __xc_z);
  return DllMainCRTStartup(h, reason, r); }
#endif
]=])
  set(_shmpool_rc 0)
  set(_shmpool_objs)
  foreach(_part TLS ATEXIT XC EXE DLL)
    if(_shmpool_rc EQUAL 0)
      execute_process(
        COMMAND "${SHMPOOL_MSVC_WINE_DIR}/bin/clang-cl"
                --target=${SHMPOOL_MSVC_WINE_ARCH}-pc-windows-msvc
                /nologo /c /O2 /GS- /Zl /X /DPART_${_part} crtsup.c /Focrtsup_${_part}.obj
        WORKING_DIRECTORY "${SHMPOOL_MSVC_WINE_DIR}"
        RESULT_VARIABLE _shmpool_rc OUTPUT_VARIABLE _shmpool_out ERROR_VARIABLE _shmpool_out)
      list(APPEND _shmpool_objs crtsup_${_part}.obj)
    endif()
  endforeach()
  unset(_part)
  if(_shmpool_rc EQUAL 0)
    execute_process(
      COMMAND "${SHMPOOL_LLVM_BIN_DIR}/lld-link" /lib /nologo
              /out:lib/shmpool_crtsup.lib ${_shmpool_objs}
      WORKING_DIRECTORY "${SHMPOOL_MSVC_WINE_DIR}"
      RESULT_VARIABLE _shmpool_rc OUTPUT_VARIABLE _shmpool_out ERROR_VARIABLE _shmpool_out)
  endif()
  unset(_shmpool_objs)
  if(NOT _shmpool_rc EQUAL 0)
    message(FATAL_ERROR "msvc-wine toolchain: building shmpool_crtsup.lib failed:\n${_shmpool_out}")
  endif()
  unset(_shmpool_rc)
  unset(_shmpool_out)
  file(WRITE "${_shmpool_stamp}" "${_shmpool_stamp_content}")
  unset(_shmpool_libs)
  unset(_l)
  unset(_n)
endif()
unset(_shmpool_stamp)
unset(_shmpool_stamp_content)
unset(_shmpool_old)

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------
set(CMAKE_C_COMPILER   "${SHMPOOL_MSVC_WINE_DIR}/bin/clang-cl")
set(CMAKE_CXX_COMPILER "${SHMPOOL_MSVC_WINE_DIR}/bin/clang-cl")
set(CMAKE_C_COMPILER_TARGET   ${SHMPOOL_MSVC_WINE_ARCH}-pc-windows-msvc)
set(CMAKE_CXX_COMPILER_TARGET ${SHMPOOL_MSVC_WINE_ARCH}-pc-windows-msvc)
set(CMAKE_LINKER "${SHMPOOL_LLVM_BIN_DIR}/lld-link" CACHE FILEPATH "")
if(EXISTS "${SHMPOOL_LLVM_BIN_DIR}/llvm-lib")
  set(CMAKE_AR "${SHMPOOL_LLVM_BIN_DIR}/llvm-lib" CACHE FILEPATH "")
else()
  set(CMAKE_AR "${SHMPOOL_MSVC_WINE_DIR}/bin/llvm-lib" CACHE FILEPATH "")
endif()
if(EXISTS "${SHMPOOL_LLVM_BIN_DIR}/llvm-rc")
  set(CMAKE_RC_COMPILER "${SHMPOOL_LLVM_BIN_DIR}/llvm-rc")
endif()
if(EXISTS "${SHMPOOL_LLVM_BIN_DIR}/llvm-mt")
  set(CMAKE_MT "${SHMPOOL_LLVM_BIN_DIR}/llvm-mt" CACHE FILEPATH "")
endif()

# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------
set(_shmpool_inc
  "/X -imsvc \"${SHMPOOL_WINE_INCLUDE_DIR}/msvcrt\" -imsvc \"${SHMPOOL_WINE_INCLUDE_DIR}/windows\"")
if(SHMPOOL_MSVC_WINE_ARCH STREQUAL "i686")
  # cl's default for x86 (and Windows 8's minimum); clang-cl's is i686.
  string(APPEND _shmpool_inc " /arch:SSE2")
endif()
set(CMAKE_C_FLAGS_INIT   "${_shmpool_inc} /GS-")
set(CMAKE_CXX_FLAGS_INIT "${_shmpool_inc} /GS-")
# llvm-rc: CMake preprocesses .rc with clang-cl and passes RC flags to both.
set(CMAKE_RC_FLAGS_INIT
  "/I \"${SHMPOOL_WINE_INCLUDE_DIR}/windows\" /I \"${SHMPOOL_WINE_INCLUDE_DIR}/msvcrt\"")
unset(_shmpool_inc)

# Release CRT DLL flavour for every configuration (CMP0091 NEW projects).
set(CMAKE_MSVC_RUNTIME_LIBRARY "MultiThreadedDLL")

# The CRT core goes into the linker flags (lld-link does not care about the
# position of libraries): CMake's compiler ABI check links its test program
# without CMAKE_C_STANDARD_LIBRARIES, and would otherwise fail (leaving
# CMAKE_SIZEOF_VOID_P empty, which breaks e.g. GNUInstallDirs).
set(_shmpool_link "/nodefaultlib /manifest:no /libpath:\"${SHMPOOL_MSVC_WINE_DIR}/lib\"")
if(SHMPOOL_MSVC_WINE_ARCH STREQUAL "i686")
  # Wine's i386 import libraries carry no SafeSEH tables.
  string(APPEND _shmpool_link " /safeseh:no")
endif()
set(_shmpool_crt "shmpool_crtsup.lib ucrtbase.lib winecrt0.lib kernel32.lib ntdll.lib")
set(CMAKE_EXE_LINKER_FLAGS_INIT    "${_shmpool_link} /entry:shmpool_mainCRTStartup ${_shmpool_crt}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_shmpool_link} /entry:shmpool_DllMainCRTStartup ${_shmpool_crt}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_shmpool_link} /entry:shmpool_DllMainCRTStartup ${_shmpool_crt}")
unset(_shmpool_link)
unset(_shmpool_crt)

# Windows-MSVC.cmake sets CMAKE_C_STANDARD_LIBRARIES_INIT after this file is
# read, so pre-seed the cache entry instead (user -D values still win).
set(_shmpool_stdlibs
  "advapi32.lib bcrypt.lib user32.lib gdi32.lib shell32.lib ole32.lib oleaut32.lib uuid.lib comdlg32.lib")
set(CMAKE_C_STANDARD_LIBRARIES "${_shmpool_stdlibs}" CACHE STRING
  "Libraries linked by default with all C applications (Wine import libs)")
set(CMAKE_CXX_STANDARD_LIBRARIES "${_shmpool_stdlibs}" CACHE STRING
  "Libraries linked by default with all C++ applications (Wine import libs)")
unset(_shmpool_stdlibs)

# find_* root: only the helper dir (lib/*.lib) plus absolute CMAKE_PREFIX_PATH
# entries known now (see mingw-w64-x86_64.cmake); never the host /usr.
set(CMAKE_FIND_ROOT_PATH "${SHMPOOL_MSVC_WINE_DIR}")
foreach(_shmpool_p IN LISTS CMAKE_PREFIX_PATH)
  if(IS_ABSOLUTE "${_shmpool_p}")
    list(APPEND CMAKE_FIND_ROOT_PATH "${_shmpool_p}")
  endif()
endforeach()
unset(_shmpool_p)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ---------------------------------------------------------------------------
# Wine as CMAKE_CROSSCOMPILING_EMULATOR: see wine-emulator.cmake.
# ---------------------------------------------------------------------------
set(SHMPOOL_WINE_ARCH ${SHMPOOL_MSVC_WINE_ARCH})
unset(_shmpool_wine_pe_dir)
unset(_shmpool_deb_arch)
include("${CMAKE_CURRENT_LIST_DIR}/wine-emulator.cmake")
