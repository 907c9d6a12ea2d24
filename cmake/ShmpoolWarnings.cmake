# shmpool_target_warnings(<target>): the project's warning flags, per
# compiler. Warnings become errors only with SHMPOOL_WERROR (CI presets),
# never in a consumer's default build.
function(shmpool_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<AND:$<C_COMPILER_ID:GNU,Clang,AppleClang>,$<NOT:$<BOOL:${MSVC}>>>:
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wstrict-prototypes -Wmissing-prototypes -Wundef>
    $<$<BOOL:${MSVC}>:/W4>)
  if(SHMPOOL_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<BOOL:${MSVC}>:/WX>
      $<$<NOT:$<BOOL:${MSVC}>>:-Werror>)
  endif()
endfunction()
