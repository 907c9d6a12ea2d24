/* Segments on Windows: pagefile-backed file mappings
 * (CreateFileMappingW / OpenFileMappingW / MapViewOfFile).
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include <string.h>

#include "internal.h"
#include "win32/sys.h"

/* The marker of a create in progress: a named event "<name>:creating" in
 * the segment's namespace. ':' is no portable-name character, so it never
 * names a segment nor a pool's wake event ("<name>.p"). */
#define SHMPOOL__WIN_CREATING_SUFFIX ":creating"

/* A section is zero-filled at its full size the moment its name exists, so
 * an opener can see it before the header is written. The creator holds the
 * marker from before CreateFileMappingW until the header is complete
 * (reserve closes it); an opener that finds a header-less section checks
 * for it. Events die with their last handle, so the marker of a creator
 * that was killed goes with it: an opener waits exactly as long as the
 * creator lives. A marker that already exists belongs to a creator racing
 * us for the same name, which is fine: whichever of us makes the section
 * holds a marker until its header is written. */
static int shmpool__win_marker_create(const char *name, unsigned flags,
                                      shmpool__win_sa *sa, HANDLE *marker) {
  WCHAR os_name[SHMPOOL__WIN_NAME_MAX];
  shmpool__win_os_name(os_name, name, SHMPOOL__WIN_CREATING_SUFFIX, flags);
  *marker = shmpool__win_sys.CreateEventW(&sa->sa, TRUE, FALSE, os_name);
  if (*marker == NULL)
    return shmpool__win_error(GetLastError());
  return 0;
}

static void shmpool__win_marker_close(shmpool__plat_map *map) {
  if (map->pending != 0)
    shmpool__win_sys.CloseHandle((HANDLE)map->pending);
  map->pending = 0;
}

static int shmpool__win_marker_exists(const char *name, unsigned flags) {
  WCHAR os_name[SHMPOOL__WIN_NAME_MAX];
  HANDLE h;
  shmpool__win_os_name(os_name, name, SHMPOOL__WIN_CREATING_SUFFIX, flags);
  h = shmpool__win_sys.OpenEventW(SYNCHRONIZE, FALSE, os_name);
  if (h == NULL)
    return 0;
  shmpool__win_sys.CloseHandle(h);
  return 1;
}

int shmpool__plat_seg_create(const char *name, size_t map_size, unsigned flags,
                             int with_head, shmpool__plat_map *map) {
  WCHAR os_name[SHMPOOL__WIN_NAME_MAX];
  shmpool__win_sa sa;
  uint64_t size64 = (uint64_t)map_size;
  HANDLE h, marker = NULL;
  DWORD err;
  void *base;
  int rc;

  memset(map, 0, sizeof *map);
  shmpool__win_os_name(os_name, name, NULL, flags);
  rc = shmpool__win_sa_init(&sa);
  if (rc != 0)
    return rc;
  /* A raw segment has no header to wait for. */
  if (with_head) {
    rc = shmpool__win_marker_create(name, flags, &sa, &marker);
    if (rc != 0)
      goto done;
  }
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
  map->pending = (intptr_t)marker; /* until the header is written */
  marker = NULL;

done:
  if (marker != NULL)
    shmpool__win_sys.CloseHandle(marker);
  shmpool__win_sa_free(&sa);
  return rc;
}

int shmpool__plat_seg_reserve(shmpool__plat_map *map, size_t map_size,
                              unsigned flags) {
  /* SEC_COMMIT charged the full size at create, and the section was made
   * at its full size. The header is written now: an opener that no longer
   * finds the marker finds the header complete. */
  (void)map_size;
  (void)flags;
  shmpool__win_marker_close(map);
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
  /* Checked after the section was opened and before the caller reads its
   * header: a marker that is gone by now was closed after the header was
   * written (see shmpool__win_marker_create). */
  if ((flags & SHMPOOL_SEG_RAW) == 0)
    map->creating = shmpool__win_marker_exists(name, flags);
  return 0;

fail:
  shmpool__win_sys.CloseHandle(h);
  return rc;
}

int shmpool__plat_seg_unmap(shmpool__plat_map *map) {
  int rc = 0;
  shmpool__win_marker_close(map); /* a create whose reserve never ran */
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
   * and view are gone. The UNLINKED mark in the header, which the caller
   * claimed, makes new opens fail with ENOENT: the observable half of
   * unlink. */
  (void)name;
  (void)flags;
  if (mark == SHMPOOL__UNLINK_CLAIMED)
    return 0;
  shmpool__set_os_error(0);
  return SHMPOOL_ENOTSUP;
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
