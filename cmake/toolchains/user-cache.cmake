# Included by the toolchain files: _shmpool_cache, the per-user cache
# directory ($XDG_CACHE_HOME, else ~/.cache, else /tmp) that Wine prefixes
# and fetched import libraries share across build trees.
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_shmpool_cache "$ENV{XDG_CACHE_HOME}")
elseif(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
  set(_shmpool_cache "$ENV{HOME}/.cache")
else()
  set(_shmpool_cache "/tmp")
endif()
