/* Segments on Windows: pagefile-backed file mappings
 * (CreateFileMappingW / OpenFileMappingW / MapViewOfFile).
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include <string.h>

#include "internal.h"
#include "win32/sys.h"

int shmpool__plat_seg_create(const char *name, size_t map_size, unsigned flags,
                             int with_head, shmpool__plat_map *map) {
  WCHAR os_name[SHMPOOL__WIN_NAME_MAX];
  shmpool__win_sa sa;
  uint64_t size64 = (uint64_t)map_size;
  HANDLE h;
  DWORD err;
  void *base;
  int rc;

  (void)with_head; /* the header is written by the caller, in place */
  memset(map, 0, sizeof *map);
  shmpool__win_os_name(os_name, name, NULL, flags);
  rc = shmpool__win_sa_init(&sa);
  if (rc != 0)
    return rc;
  /* SEC_COMMIT charges the whole size against the commit limit now, so a
   * segment that cannot be backed fails here (ERROR_COMMITMENT_LIMIT) and
   * never later. It touches no pages, so there is nothing to skip for
   * SHMPOOL_SEG_NORESERVE. */
  h = shmpool__win_sys.CreateFileMappingW(
      INVALID_HANDLE_VALUE, &sa.sa, PAGE_READWRITE | SEC_COMMIT,
      (DWORD)(size64 >> 32), (DWORD)(size64 & 0xffffffffu), os_name);
  err = GetLastError();
  if (h == NULL) {
    /* ERROR_INVALID_HANDLE: the name belongs to another kind of object
     * (an event, say). For exclusive create that is "exists". */
    if (err == ERROR_INVALID_HANDLE) {
      shmpool__set_os_error((int)err);
      rc = SHMPOOL_EEXIST;
    } else {
      rc = shmpool__win_error(err);
    }
    goto done;
  }
  /* A handle to an existing mapping comes back with ERROR_ALREADY_EXISTS:
   * exclusive create must refuse it without touching it. */
  if (err == ERROR_ALREADY_EXISTS) {
    shmpool__win_sys.CloseHandle(h);
    rc = shmpool__win_error(ERROR_ALREADY_EXISTS);
    goto done;
  }
  base = shmpool__win_sys.MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0,
                                        map_size);
  if (base == NULL) {
    rc = shmpool__win_error(GetLastError());
    shmpool__win_sys.CloseHandle(h); /* the last handle: the object goes */
    goto done;
  }
  map->base = base;
  map->map_size = map_size;
  map->handle = (intptr_t)h;

done:
  shmpool__win_sa_free(&sa);
  return rc;
}

int shmpool__plat_seg_reserve(shmpool__plat_map *map, size_t map_size,
                              unsigned flags) {
  /* SEC_COMMIT charged the full size at create, and the section was made
   * at its full size: there is nothing left to do. */
  (void)map;
  (void)map_size;
  (void)flags;
  return 0;
}

int shmpool__plat_seg_open(const char *name, unsigned flags,
                           shmpool__plat_map *map) {
  WCHAR os_name[SHMPOOL__WIN_NAME_MAX];
  DWORD access = (flags & SHMPOOL_SEG_READONLY)
                     ? FILE_MAP_READ
                     : FILE_MAP_READ | FILE_MAP_WRITE;
  MEMORY_BASIC_INFORMATION info;
  HANDLE h;
  void *base;
  int rc;

  memset(map, 0, sizeof *map);
  shmpool__win_os_name(os_name, name, NULL, flags);
  h = shmpool__win_sys.OpenFileMappingW(access, FALSE, os_name);
  if (h == NULL) {
    DWORD err = GetLastError();
    /* The name belongs to another kind of object: not a segment. */
    if (err == ERROR_INVALID_HANDLE) {
      shmpool__set_os_error((int)err);
      return SHMPOOL_EFORMAT;
    }
    return shmpool__win_error(err);
  }
  base = shmpool__win_sys.MapViewOfFile(h, access, 0, 0, 0);
  if (base == NULL) {
    rc = shmpool__win_error(GetLastError());
    goto fail;
  }
  /* The OS does not say how big the section is, only how big the view is,
   * rounded up to a page: that is why the header carries the exact size. */
  if (shmpool__win_sys.VirtualQuery(base, &info, sizeof info) == 0) {
    rc = shmpool__win_error(GetLastError());
    shmpool__win_sys.UnmapViewOfFile(base);
    goto fail;
  }
  map->base = base;
  map->map_size = (size_t)info.RegionSize;
  map->handle = (intptr_t)h;
  return 0;

fail:
  shmpool__win_sys.CloseHandle(h);
  return rc;
}

int shmpool__plat_seg_unmap(shmpool__plat_map *map) {
  int rc = 0;
  if (map->base != NULL && !shmpool__win_sys.UnmapViewOfFile(map->base))
    rc = shmpool__win_error(GetLastError());
  if (map->handle != 0 && !shmpool__win_sys.CloseHandle((HANDLE)map->handle) &&
      rc == 0)
    rc = shmpool__win_error(GetLastError());
  memset(map, 0, sizeof *map);
  return rc;
}

int shmpool__plat_seg_unlink(const char *name, unsigned flags,
                             shmpool__unlink_mark mark) {
  /* Windows has no unlink: a named section lives until its last handle
   * and view are gone. The UNLINKED mark in the header makes new opens
   * fail with ENOENT, which is the observable half of unlink. */
  (void)name;
  (void)flags;
  switch (mark) {
  case SHMPOOL__UNLINK_MARKED:
    return 0;
  case SHMPOOL__UNLINK_WAS_MARKED:
    shmpool__set_os_error(0);
    return SHMPOOL_ENOENT;
  default:
    shmpool__set_os_error(0);
    return SHMPOOL_ENOTSUP;
  }
}

int shmpool__plat_seg_list(unsigned flags,
                           int (*fn)(const char *name, void *ctx), void *ctx) {
  /* Named objects live in the object manager's BaseNamedObjects
   * directory, which only the undocumented NtQueryDirectoryObject lists. */
  (void)flags;
  (void)fn;
  (void)ctx;
  return SHMPOOL_ENOTSUP;
}

#endif /* _WIN32 */
