# ShmpoolCMocka.cmake - make the CMocka::cmocka target available.
#
#   list(APPEND CMAKE_MODULE_PATH "${PROJECT_SOURCE_DIR}/cmake")
#   include(ShmpoolCMocka)
#   shmpool_provide_cmocka()          # defines CMocka::cmocka (global)
#
# Native builds: find_package(CMocka) via cmake/FindCMocka.cmake; a missing
# cmocka is a configure error naming the Debian package (libcmocka-dev).
#
# Cross builds (CMAKE_CROSSCOMPILING): first look for a cmocka built for the
# target (CMOCKA_ROOT, CMAKE_PREFIX_PATH, the toolchain's find root, or a
# previous automatic build). If there is none and SHMPOOL_CMOCKA_AUTOBUILD is
# ON (default), run tools/build-cmocka.sh at configure time: it fetches
# cmocka's Debian source package with a private apt configuration and builds
# a static cmocka with the same toolchain file into
#   ${CMAKE_BINARY_DIR}/_deps/cmocka-install
# The result is cached (CMOCKA_LIBRARY / CMOCKA_INCLUDE_DIR in CMakeCache.txt,
# plus a stamp in the install dir), so re-configuring does not rebuild; the
# downloaded source is cached in ${XDG_CACHE_HOME:-~/.cache}/shmpool
# (override with SHMPOOL_CMOCKA_SOURCE_CACHE).
#
# Sets in the caller's scope: CMOCKA_FOUND, CMOCKA_INCLUDE_DIR,
# CMOCKA_LIBRARY, CMOCKA_VERSION, CMOCKA_IS_STATIC.

include_guard(GLOBAL)

set(_SHMPOOL_CMOCKA_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(_SHMPOOL_CMOCKA_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/../tools/build-cmocka.sh")
get_filename_component(_SHMPOOL_CMOCKA_SCRIPT "${_SHMPOOL_CMOCKA_SCRIPT}" ABSOLUTE)

option(SHMPOOL_CMOCKA_AUTOBUILD
  "When cross-compiling and CMocka is not found, build it at configure time with tools/build-cmocka.sh"
  ON)
set(SHMPOOL_CMOCKA_SOURCE_CACHE "" CACHE PATH
  "Where tools/build-cmocka.sh caches cmocka's source (empty: ~/.cache/shmpool)")

function(shmpool_provide_cmocka)
  list(PREPEND CMAKE_MODULE_PATH "${_SHMPOOL_CMOCKA_CMAKE_DIR}")

  if(TARGET CMocka::cmocka)
    set(CMOCKA_FOUND TRUE PARENT_SCOPE)
    return()
  endif()

  # Forget cached results that no longer exist (e.g. a deleted _deps dir).
  foreach(_v CMOCKA_LIBRARY CMOCKA_INCLUDE_DIR)
    if(${_v} AND NOT EXISTS "${${_v}}")
      unset(${_v} CACHE)
    endif()
  endforeach()

  if(NOT CMAKE_CROSSCOMPILING)
    find_package(CMocka MODULE)
    if(NOT CMOCKA_FOUND)
      message(FATAL_ERROR
        "CMocka (unit-test framework) not found, but tests are enabled.\n"
        "On Debian/Ubuntu install it with:  apt-get install libcmocka-dev\n"
        "or point CMOCKA_ROOT / CMAKE_PREFIX_PATH at a cmocka installation, "
        "or configure with -DSHMPOOL_BUILD_TESTS=OFF.")
    endif()
  else()
    set(_install "${CMAKE_BINARY_DIR}/_deps/cmocka-install")
    # With CMAKE_FIND_ROOT_PATH_MODE_* = ONLY, hints and prefixes outside the
    # find roots would be re-rooted below the sysroot; make the places where a
    # target cmocka may live roots of their own (function scope only).
    foreach(_r IN ITEMS "${CMOCKA_ROOT}" "$ENV{CMOCKA_ROOT}" "${_install}")
      if(_r)
        list(APPEND CMAKE_FIND_ROOT_PATH "${_r}")
        list(APPEND CMAKE_PREFIX_PATH "${_r}")
      endif()
    endforeach()

    find_package(CMocka MODULE QUIET)

    if(NOT CMOCKA_FOUND AND SHMPOOL_CMOCKA_AUTOBUILD)
      set(_tc "${CMAKE_TOOLCHAIN_FILE}")
      if(_tc AND NOT IS_ABSOLUTE "${_tc}")
        if(EXISTS "${CMAKE_BINARY_DIR}/${_tc}")
          set(_tc "${CMAKE_BINARY_DIR}/${_tc}")
        else()
          set(_tc "${CMAKE_SOURCE_DIR}/${_tc}")
        endif()
      endif()
      if(NOT _tc OR NOT EXISTS "${_tc}")
        message(FATAL_ERROR
          "CMocka for the target was not found and cannot be built automatically: "
          "CMAKE_TOOLCHAIN_FILE is not set or does not exist ('${CMAKE_TOOLCHAIN_FILE}'). "
          "Set CMOCKA_ROOT to a cmocka built for the target.")
      endif()
      set(_args "${_tc}" "${_install}")
      if(SHMPOOL_CMOCKA_SOURCE_CACHE)
        list(APPEND _args "${SHMPOOL_CMOCKA_SOURCE_CACHE}")
      endif()
      message(STATUS "CMocka for the target not found; building it with "
                     "tools/build-cmocka.sh into ${_install} (one-time)")
      find_program(_SHMPOOL_SH NAMES sh bash)
      execute_process(
        COMMAND "${CMAKE_COMMAND}" -E env "CMAKE=${CMAKE_COMMAND}"
                "${_SHMPOOL_SH}" "${_SHMPOOL_CMOCKA_SCRIPT}" ${_args}
        RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR
          "tools/build-cmocka.sh failed (exit status ${_rc}); see the output above. "
          "Alternatively set CMOCKA_ROOT to a cmocka built for the target or "
          "disable tests with -DSHMPOOL_BUILD_TESTS=OFF.")
      endif()
      # Forget the cached NOTFOUND results and search again.
      unset(CMOCKA_INCLUDE_DIR CACHE)
      unset(CMOCKA_LIBRARY CACHE)
      find_package(CMocka MODULE)
    endif()

    if(NOT CMOCKA_FOUND)
      message(FATAL_ERROR
        "CMocka for the target (${CMAKE_SYSTEM_NAME}/${CMAKE_SYSTEM_PROCESSOR}) not found. "
        "Set CMOCKA_ROOT to a cmocka built with this toolchain, enable "
        "SHMPOOL_CMOCKA_AUTOBUILD, or configure with -DSHMPOOL_BUILD_TESTS=OFF.")
    endif()
  endif()

  if(TARGET CMocka::cmocka)
    set_property(TARGET CMocka::cmocka PROPERTY IMPORTED_GLOBAL TRUE)
  endif()
  foreach(v CMOCKA_FOUND CMocka_FOUND CMOCKA_INCLUDE_DIR CMOCKA_LIBRARY
            CMOCKA_VERSION CMOCKA_IS_STATIC CMOCKA_INCLUDE_DIRS CMOCKA_LIBRARIES)
    set(${v} "${${v}}" PARENT_SCOPE)
  endforeach()
endfunction()
