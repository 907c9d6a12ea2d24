# cmake -DBIN=<dir> -DDIR=<dir> -P copy_runtime.cmake: copy the executables
# and DLLs of BIN into DIR (a Windows test binary needs its DLLs beside it).
file(GLOB _files "${BIN}/*.exe" "${BIN}/*.dll")
if(NOT _files)
  message(FATAL_ERROR "nothing to copy in ${BIN}")
endif()
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
file(COPY ${_files} DESTINATION "${DIR}")
