# shmpool_target_warnings(<target>): the project's warning flags, per
# compiler. Warnings become errors only with SHMPOOL_WERROR (CI presets),
# never in a consumer's default build.
function(shmpool_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<AND:$<C_COMPILER_ID:GNU,Clang,AppleClang>,$<NOT:$<BOOL:${MSVC}>>>:
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wstrict-prototypes -Wmissing-prototypes -Wundef>
    $<$<BOOL:${MSVC}>:/W4>)
  # clang-cl against Wine's headers (the msvc-wine presets) stands in for
  # cl here; make it see what cl /W4 sees and clang-cl's /W4 does not:
  # CRT deprecations (C4996; Wine's headers have none, see
  # cmake/msvc-crt-deprecations.h) and narrowing conversions (C4244,
  # C4267; on 32-bit, 64-bit values into size_t). Shift counts past the
  # width (C4293) are on by default. What no clang flag gives: C4127
  # (constant conditions), checked by tools/check-msvc-lint.py instead.
  if(MSVC AND CMAKE_C_COMPILER_ID STREQUAL "Clang" AND SHMPOOL_WINE_INCLUDE_DIR)
    target_compile_options(${target} PRIVATE
      "/FI${PROJECT_SOURCE_DIR}/cmake/msvc-crt-deprecations.h"
      -Wconversion -Wno-sign-conversion -Wshift-count-overflow)
  endif()
  if(SHMPOOL_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<BOOL:${MSVC}>:/WX>
      $<$<NOT:$<BOOL:${MSVC}>>:-Werror>)
  endif()
endfunction()
