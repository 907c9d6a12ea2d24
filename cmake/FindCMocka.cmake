# FindCMocka
# ----------
#
# Finds the CMocka unit-testing library.
#
# Imported target:
#   CMocka::cmocka
#
# Result variables:
#   CMOCKA_FOUND / CMocka_FOUND
#   CMOCKA_INCLUDE_DIR   directory containing cmocka.h (cache)
#   CMOCKA_LIBRARY       the library linked (cache): static archive or import
#                        library / shared object
#   CMOCKA_LIBRARIES, CMOCKA_INCLUDE_DIRS
#   CMOCKA_VERSION       if it could be read from cmocka.pc / the config-version file
#   CMOCKA_IS_STATIC     TRUE if CMOCKA_LIBRARY is a static archive
#
# Hints:
#   CMOCKA_ROOT (variable or environment), CMAKE_PREFIX_PATH
#   CMOCKA_PREFER_STATIC  (default: ON when targeting Windows or when
#                         cross-compiling, OFF otherwise) - prefer the static
#                         library "cmocka-static" so that no cmocka DLL is
#                         needed when running tests (e.g. under Wine).
#
# Works with:
#   * Debian's libcmocka-dev (/usr/include/cmocka.h, libcmocka.so)
#   * a MinGW build of cmocka 1.1.5 (libcmocka-static.a, libcmocka.dll.a +
#     bin/cmocka.dll). The cmocka-config.cmake installed by 1.1.5 names a
#     nonexistent "cmocka.dll.a", so it is deliberately NOT used.
#   * a clang-cl/MSVC build (cmocka-static.lib, cmocka.lib + bin/cmocka.dll).
#
# cmocka's public header has no __declspec(dllimport) decorations, so linking
# the static library needs no extra compile definitions on any platform.

include(FindPackageHandleStandardArgs)

if(NOT DEFINED CMOCKA_PREFER_STATIC)
  if(WIN32 OR CMAKE_CROSSCOMPILING)
    set(CMOCKA_PREFER_STATIC ON)
  else()
    set(CMOCKA_PREFER_STATIC OFF)
  endif()
endif()

set(_cmocka_hints)
foreach(_cmocka_h IN ITEMS "${CMOCKA_ROOT}" "$ENV{CMOCKA_ROOT}")
  if(_cmocka_h)
    list(APPEND _cmocka_hints "${_cmocka_h}")
  endif()
endforeach()

# When cross-compiling with CMAKE_FIND_ROOT_PATH_MODE_* = ONLY, HINTS would be
# re-rooted below the sysroot; make each hint a find root of its own while
# this module runs.
set(_cmocka_saved_frp "${CMAKE_FIND_ROOT_PATH}")
if(CMAKE_CROSSCOMPILING)
  list(APPEND CMAKE_FIND_ROOT_PATH ${_cmocka_hints})
endif()

find_path(CMOCKA_INCLUDE_DIR
  NAMES cmocka.h
  HINTS ${_cmocka_hints}
  PATH_SUFFIXES include)

# Names: "cmocka-static" -> libcmocka-static.a (GNU/MinGW) / cmocka-static.lib
# (MSVC); "cmocka" -> libcmocka.so / libcmocka.dll.a / cmocka.lib (import lib).
# find_library applies CMAKE_FIND_LIBRARY_PREFIXES/SUFFIXES of the target.
set(_cmocka_static_names cmocka-static libcmocka-static)
set(_cmocka_shared_names cmocka libcmocka)
if(CMOCKA_PREFER_STATIC)
  set(_cmocka_names ${_cmocka_static_names} ${_cmocka_shared_names})
else()
  set(_cmocka_names ${_cmocka_shared_names} ${_cmocka_static_names})
endif()

if(NOT CMOCKA_LIBRARY)
  # Search the include dir's prefix first so header and library match.
  set(_cmocka_lib_hints ${_cmocka_hints})
  if(CMOCKA_INCLUDE_DIR)
    get_filename_component(_cmocka_prefix "${CMOCKA_INCLUDE_DIR}" DIRECTORY)
    list(APPEND _cmocka_lib_hints "${_cmocka_prefix}")
  endif()
  foreach(_cmocka_n IN LISTS _cmocka_names)
    find_library(CMOCKA_LIBRARY
      NAMES ${_cmocka_n}
      NAMES_PER_DIR
      HINTS ${_cmocka_lib_hints}
      PATH_SUFFIXES lib lib64)
    if(CMOCKA_LIBRARY)
      break()
    endif()
  endforeach()
endif()

set(CMAKE_FIND_ROOT_PATH "${_cmocka_saved_frp}")
unset(_cmocka_saved_frp)

# Static or not? (file name based: *-static.*, or a .a that is not .dll.a on
# Windows, or a .a on ELF platforms)
set(CMOCKA_IS_STATIC FALSE)
if(CMOCKA_LIBRARY)
  get_filename_component(_cmocka_fn "${CMOCKA_LIBRARY}" NAME)
  if(_cmocka_fn MATCHES "cmocka-static\\.(a|lib)$"
     OR (_cmocka_fn MATCHES "\\.a$" AND NOT _cmocka_fn MATCHES "\\.dll\\.a$"))
    set(CMOCKA_IS_STATIC TRUE)
  endif()
endif()

# Version: pkg-config file or cmocka-config-version.cmake next to the library.
unset(CMOCKA_VERSION)
if(CMOCKA_LIBRARY)
  get_filename_component(_cmocka_libdir "${CMOCKA_LIBRARY}" DIRECTORY)
  if(EXISTS "${_cmocka_libdir}/pkgconfig/cmocka.pc")
    file(STRINGS "${_cmocka_libdir}/pkgconfig/cmocka.pc" _cmocka_v
         REGEX "^Version:[ \t]*[0-9]")
    if(_cmocka_v MATCHES "^Version:[ \t]*([0-9][0-9.]*)")
      set(CMOCKA_VERSION "${CMAKE_MATCH_1}")
    endif()
  endif()
  if(NOT CMOCKA_VERSION AND EXISTS "${_cmocka_libdir}/cmake/cmocka/cmocka-config-version.cmake")
    file(STRINGS "${_cmocka_libdir}/cmake/cmocka/cmocka-config-version.cmake" _cmocka_v
         REGEX "PACKAGE_VERSION \"[0-9]")
    if(_cmocka_v MATCHES "PACKAGE_VERSION \"([0-9][0-9.]*)\"")
      set(CMOCKA_VERSION "${CMAKE_MATCH_1}")
    endif()
  endif()
endif()

find_package_handle_standard_args(CMocka
  REQUIRED_VARS CMOCKA_LIBRARY CMOCKA_INCLUDE_DIR
  VERSION_VAR CMOCKA_VERSION)
set(CMOCKA_FOUND ${CMocka_FOUND})

if(CMocka_FOUND)
  set(CMOCKA_INCLUDE_DIRS "${CMOCKA_INCLUDE_DIR}")
  set(CMOCKA_LIBRARIES "${CMOCKA_LIBRARY}")
  if(NOT TARGET CMocka::cmocka)
    if(CMOCKA_IS_STATIC)
      add_library(CMocka::cmocka STATIC IMPORTED)
      set_target_properties(CMocka::cmocka PROPERTIES
        IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
        IMPORTED_LINK_INTERFACE_LANGUAGES "C")
    elseif(WIN32)
      # Import library; the DLL (bin/cmocka.dll or libcmocka.dll) must be on
      # the DLL search path at run time.
      get_filename_component(_cmocka_prefix "${CMOCKA_LIBRARY}" DIRECTORY)
      get_filename_component(_cmocka_prefix "${_cmocka_prefix}" DIRECTORY)
      find_file(CMOCKA_DLL NAMES cmocka.dll libcmocka.dll
        HINTS "${_cmocka_prefix}/bin" NO_DEFAULT_PATH)
      mark_as_advanced(CMOCKA_DLL)
      if(CMOCKA_DLL)
        add_library(CMocka::cmocka SHARED IMPORTED)
        set_target_properties(CMocka::cmocka PROPERTIES
          IMPORTED_LOCATION "${CMOCKA_DLL}"
          IMPORTED_IMPLIB "${CMOCKA_LIBRARY}")
      else()
        add_library(CMocka::cmocka UNKNOWN IMPORTED)
        set_target_properties(CMocka::cmocka PROPERTIES
          IMPORTED_LOCATION "${CMOCKA_LIBRARY}")
      endif()
    else()
      add_library(CMocka::cmocka UNKNOWN IMPORTED)
      set_target_properties(CMocka::cmocka PROPERTIES
        IMPORTED_LOCATION "${CMOCKA_LIBRARY}")
    endif()
    set_target_properties(CMocka::cmocka PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
  endif()
endif()

mark_as_advanced(CMOCKA_INCLUDE_DIR CMOCKA_LIBRARY)
unset(_cmocka_hints)
unset(_cmocka_h)
unset(_cmocka_lib_hints)
unset(_cmocka_prefix)
unset(_cmocka_names)
unset(_cmocka_n)
unset(_cmocka_static_names)
unset(_cmocka_shared_names)
unset(_cmocka_fn)
unset(_cmocka_libdir)
unset(_cmocka_v)
