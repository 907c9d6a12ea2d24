/* Segments on POSIX: shm_open / ftruncate / posix_fallocate / mmap.
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "posix/sys.h"

/* "foo" -> "/foo". The portable name was validated: at most 30 bytes. */
static void shmpool__posix_os_name(char *out, const char *name) {
  size_t n = strlen(name);
  out[0] = '/';
  memcpy(out + 1, name, n + 1);
}

/* Whether size fits in off_t (it may not on a 32-bit build). */
static int shmpool__posix_fits_off_t(size_t size) {
  off_t off = (off_t)size;
  return off >= 0 && (size_t)off == size;
}

/* With NORESERVE, or where nothing can be reserved: at least refuse a size
 * the file system does not have room for right now. */
static int shmpool__posix_check_space(int fd, size_t size) {
  struct statvfs vfs;
  uint64_t unit, avail;
  if (shmpool__posix_sys.fstatvfs(fd, &vfs) != 0)
    return 0; /* cannot tell; the caller asked not to reserve */
  if (vfs.f_blocks == 0)
    return 0; /* no capacity reported: not a size-limited file system */
  unit = vfs.f_frsize != 0 ? (uint64_t)vfs.f_frsize : (uint64_t)vfs.f_bsize;
  avail = (uint64_t)vfs.f_bavail * unit;
  if (avail < (uint64_t)size)
    return shmpool__posix_error(ENOSPC);
  return 0;
}

/* Reserve the pages now, so a full /dev/shm is reported here as ENOSPC and
 * not later as SIGBUS on first touch (tmpfs allocates pages lazily). */
static int shmpool__posix_reserve(int fd, size_t size, unsigned flags) {
  if ((flags & SHMPOOL_SEG_NORESERVE) == 0) {
    int err = shmpool__posix_sys.fallocate(fd, 0, (off_t)size);
    if (err == 0)
      return 0;
    /* EOPNOTSUPP / EINVAL / ENOSYS: this system cannot reserve shared
     * memory (macOS, FreeBSD before 13); anything else is real. */
    if (err != EOPNOTSUPP && err != EINVAL && err != ENOSYS
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
        && err != ENOTSUP
#endif
    )
      return shmpool__posix_error(err);
  }
  return shmpool__posix_check_space(fd, size);
}

/* Whether the object can be given its head before its full size. macOS
 * refuses a second ftruncate of a shared-memory object (EINVAL), so there
 * it is sized once and its head written afterwards; openers then judge
 * any young header-less object as a create in progress. */
#if defined(__APPLE__)
#define SHMPOOL__POSIX_HEAD_FIRST 0
#else
#define SHMPOOL__POSIX_HEAD_FIRST 1
#endif

/* Whether a mapping may reach past the end of its object (its pages there
 * fault until the object grows). Linux allows it, so create maps the whole
 * segment once, while the object is only as long as its head; FreeBSD
 * refuses (EINVAL), so there the head is mapped alone and reserve maps the
 * grown object again, two more system calls per create. */
#if defined(__linux__)
#define SHMPOOL__POSIX_MAP_AHEAD 1
#else
#define SHMPOOL__POSIX_MAP_AHEAD 0
#endif

/* map->pending keeps a create's descriptor for reserve, plus one so that
 * a zeroed map (pending 0) holds none. */
static int shmpool__posix_create_fd(const shmpool__plat_map *map) {
  return (int)(map->pending - 1);
}

/* Map `size` bytes of fd read-write, or 0 and NULL for an empty object. */
static int shmpool__posix_map_rw(int fd, size_t size, void **base) {
  *base = NULL;
  if (size == 0)
    return 0;
  *base = shmpool__posix_sys.mmap(NULL, size, PROT_READ | PROT_WRITE,
                                  MAP_SHARED, fd, 0);
  if (*base == MAP_FAILED) {
    *base = NULL;
    return shmpool__posix_error(errno);
  }
  return 0;
}

int shmpool__plat_seg_create(const char *name, size_t map_size, unsigned flags,
                             int with_head, shmpool__plat_map *map) {
  char os_name[SHMPOOL__OS_NAME_MAX];
  size_t first_size;
  void *base;
  int fd;
  int rc;

  (void)flags; /* NORESERVE matters to reserve; POSIX has one namespace */
  memset(map, 0, sizeof *map);
  if (!shmpool__posix_fits_off_t(map_size))
    return SHMPOOL_ENOMEM;
  /* The object first has only the size of its head, and gets its full size
   * in reserve, after the caller wrote the head, so an opener never sees it
   * at full size without a complete header: a header-less object of any
   * other size is no shmpool segment. The window in which it has no head
   * is short: shm_open, fchmod, ftruncate, mmap, the caller's write. */
  first_size = with_head && SHMPOOL__POSIX_HEAD_FIRST
                   ? (size_t)SHMPOOL__PLAT_HEAD_SIZE
                   : map_size;
  shmpool__posix_os_name(os_name, name);
  fd = shmpool__posix_sys.shm_open(os_name, O_RDWR | O_CREAT | O_EXCL,
                                   S_IRUSR | S_IWUSR);
  if (fd < 0)
    return shmpool__posix_error(errno); /* nothing was created */

  /* The umask may have cleared bits of 0600; we want exactly 0600. */
  if (shmpool__posix_sys.fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    rc = shmpool__posix_error(errno);
    goto fail;
  }
  /* A raw segment is sized and mapped once, by reserve. */
  if (with_head) {
    size_t mapped =
        SHMPOOL__POSIX_MAP_AHEAD ? map_size : first_size; /* see above */
    if (shmpool__posix_sys.ftruncate(fd, (off_t)first_size) != 0) {
      rc = shmpool__posix_error(errno);
      goto fail;
    }
    rc = shmpool__posix_map_rw(fd, mapped, &base);
    if (rc != 0)
      goto fail;
    map->base = base;
    map->map_size = mapped;
  }
  map->pending = (intptr_t)fd + 1;
  return 0;

fail:
  /* No head was written: nobody can have claimed this object, so it is
   * still ours to remove. The raw error is already recorded; cleanup must
   * not change it. */
  (void)shmpool__posix_sys.close(fd);
  (void)shmpool__posix_sys.shm_unlink(os_name);
  return rc;
}

int shmpool__plat_seg_reserve(shmpool__plat_map *map, size_t map_size,
                              unsigned flags) {
  int fd = shmpool__posix_create_fd(map);
  void *base;
  int rc;

  /* The object is at its full size already only where it cannot be sized
   * twice (macOS, with a head): a raw object is empty, and elsewhere a
   * headed one is as long as its head. */
  int grown = !SHMPOOL__POSIX_HEAD_FIRST && map->base != NULL;

  if (!grown && shmpool__posix_sys.ftruncate(fd, (off_t)map_size) != 0) {
    rc = shmpool__posix_error(errno);
    goto done;
  }
  rc = shmpool__posix_reserve(fd, map_size, flags);
  if (rc != 0)
    goto done;
  if (map->map_size != map_size) {
    /* Nothing was mapped (raw) or only the head (FreeBSD): map the whole
     * object now, then drop the head's view. */
    rc = shmpool__posix_map_rw(fd, map_size, &base);
    if (rc != 0)
      goto done;
    if (map->base != NULL)
      (void)shmpool__posix_sys.munmap(map->base, map->map_size);
    map->base = base;
    map->map_size = map_size;
  }

done:
  /* The mapping keeps the object; the descriptor was only for this. */
  (void)shmpool__posix_sys.close(fd);
  map->pending = 0;
  return rc;
}

/* Whether the object may be a create whose head is not complete yet: of
 * size 0 or of exactly the head's size (on systems that write the head
 * first; anywhere on macOS), and changed within SHMPOOL__PLAT_YOUNG_MS.
 * The status change time (st_ctime) moves with shm_open's creation and
 * with every ftruncate; an object that stays tiny and unchanged for that
 * long has a creator that died or is stopped, or is not ours. A clock
 * stepped back makes objects look as if from the future: beyond the same
 * margin they count as old too. */
static int shmpool__posix_maybe_creating(const struct stat *st) {
  const int64_t young_ns = (int64_t)SHMPOOL__PLAT_YOUNG_MS * 1000000;
  struct timespec now;
  int64_t changed_ns, age_ns;
  if (SHMPOOL__POSIX_HEAD_FIRST && st->st_size != 0 &&
      st->st_size != (off_t)SHMPOOL__PLAT_HEAD_SIZE)
    return 0;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0)
    return 0;
#if defined(__APPLE__)
  changed_ns =
      (int64_t)st->st_ctimespec.tv_sec * 1000000000 + st->st_ctimespec.tv_nsec;
#else
  changed_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
#endif
  age_ns = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec) - changed_ns;
  return age_ns < young_ns && age_ns > -young_ns;
}

int shmpool__plat_seg_open(const char *name, unsigned flags,
                           shmpool__plat_map *map) {
  char os_name[SHMPOOL__OS_NAME_MAX];
  int readonly = (flags & SHMPOOL_SEG_READONLY) != 0;
  struct stat st;
  void *base;
  size_t size;
  int fd;
  int rc;

  memset(map, 0, sizeof *map);
  shmpool__posix_os_name(os_name, name);
  fd = shmpool__posix_sys.shm_open(os_name, readonly ? O_RDONLY : O_RDWR, 0);
  if (fd < 0)
    return shmpool__posix_error(errno);
  if (shmpool__posix_sys.fstat(fd, &st) != 0) {
    rc = shmpool__posix_error(errno);
    goto fail;
  }
  /* Another user's object could be a trap (a squatted name); root would
   * otherwise open anything, so check ownership explicitly. */
  if (st.st_uid != geteuid()) {
    shmpool__set_os_error(0);
    rc = SHMPOOL_EACCES;
    goto fail;
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
    shmpool__set_os_error(0);
    rc = SHMPOOL_ENOMEM;
    goto fail;
  }
  size = (size_t)st.st_size;
  /* Judged before the caller reads the header: an object that is neither
   * tiny nor young had its head complete before this fstat saw it. */
  if ((flags & SHMPOOL_SEG_RAW) == 0)
    map->creating = shmpool__posix_maybe_creating(&st);
  if (size > 0) {
    base = shmpool__posix_sys.mmap(
        NULL, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
        fd, 0);
    if (base == MAP_FAILED) {
      rc = shmpool__posix_error(errno);
      goto fail;
    }
    map->base = base;
    map->map_size = size;
  }
  (void)shmpool__posix_sys.close(fd);
  return 0;

fail:
  (void)shmpool__posix_sys.close(fd);
  return rc;
}

int shmpool__plat_seg_unmap(shmpool__plat_map *map) {
  int rc = 0;
  if (map->base != NULL &&
      shmpool__posix_sys.munmap(map->base, map->map_size) != 0)
    rc = shmpool__posix_error(errno);
  if (map->pending != 0) /* a create whose reserve never ran */
    (void)shmpool__posix_sys.close(shmpool__posix_create_fd(map));
  memset(map, 0, sizeof *map);
  return rc;
}

int shmpool__plat_seg_unlink(const char *name, unsigned flags,
                             shmpool__unlink_mark mark) {
  char os_name[SHMPOOL__OS_NAME_MAX];
  (void)flags; /* POSIX has one namespace */
  (void)mark;  /* the caller decided that this name is its to remove */
  shmpool__posix_os_name(os_name, name);
  if (shmpool__posix_sys.shm_unlink(os_name) != 0)
    return shmpool__posix_error(errno);
  return 0;
}

int shmpool__plat_seg_list(unsigned flags,
                           int (*fn)(const char *name, void *ctx), void *ctx) {
#if defined(__linux__)
  DIR *dir;
  struct dirent *e;
  (void)flags;
  dir = opendir("/dev/shm");
  if (dir == NULL)
    return shmpool__posix_error(errno);
  while ((e = readdir(dir)) != NULL) {
    /* glibc keeps named semaphores beside shared memory as "sem.NAME". */
    if (strncmp(e->d_name, "sem.", 4) == 0 ||
        shmpool_name_check(e->d_name) != 0)
      continue;
    if (fn(e->d_name, ctx) != 0)
      break;
  }
  closedir(dir);
  return 0;
#else
  (void)flags;
  (void)fn;
  (void)ctx;
  return SHMPOOL_ENOTSUP;
#endif
}

#endif /* !_WIN32 */
