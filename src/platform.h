/* The platform contract: what every backend (src/posix, src/win32)
 * implements, and what the portable layer (the files directly in src) may rely
 * on.
 *
 * The build compiles exactly one backend. The portable layer never tests
 * for an operating system; everything that differs lives behind the
 * functions below. Each is described in prose: what it must do, what it may
 * assume, and which SHMPOOL_E* codes it returns.
 *
 * Common rules for every backend function:
 *  - Arguments have already been validated by the portable layer (names are
 *    portable names, sizes are nonzero, pointers are non-NULL) unless the
 *    description says otherwise.
 *  - An OS error is translated to a SHMPOOL_E* code exactly once, at the
 *    point of failure, by the backend's translate function, which also
 *    records the raw value for shmpool_last_os_error().
 *  - A function that fails releases everything it acquired, including the
 *    OS object of a half-done create, and leaves its out-parameters in a
 *    state that the matching release function accepts (zeroed).
 *  - Every system call goes through the backend's system-call table
 *    (src/posix/sys.h, src/win32/sys.h) so tests can inject failures.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_PLATFORM_H
#define SHMPOOL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Raw OS errors                                                            */
/* ------------------------------------------------------------------------ */

/* Record the raw OS error value (errno, GetLastError()) that a backend is
 * about to translate; 0 clears it. Implemented in the portable layer on a
 * thread-local, read back by shmpool_last_os_error(). */
void shmpool__set_os_error(int raw);

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/* One mapped OS shared-memory object. */
typedef struct shmpool__plat_map {
  void *base;      /* start of the mapping (NULL when map_size is 0) */
  size_t map_size; /* bytes mapped: the whole object */
  intptr_t handle; /* backend-private: Windows keeps the mapping handle */
} shmpool__plat_map;

/* Longest OS-level name a backend needs for a portable name, with NUL. */
#define SHMPOOL__OS_NAME_MAX 40

/* Called by shmpool__plat_seg_create once the new object is mapped and
 * before its pages are reserved, so the portable layer can write a header
 * that tells concurrent openers a create is in progress. */
typedef void (*shmpool__plat_prepare_fn)(void *base, void *ctx);

/* Create the object `name` (a validated portable name) exclusively, with
 * exactly `map_size` bytes, zero-filled, accessible to the creating user
 * only, and map all of it read-write into *map. Once mapped, call
 * prepare(base, ctx) (prepare may be NULL), then reserve.
 *
 * flags may contain SHMPOOL_SEG_GLOBAL (Windows namespace) and
 * SHMPOOL_SEG_NORESERVE. Without NORESERVE the backend reserves the backing
 * store now (POSIX: posix_fallocate where the system has it; Windows:
 * SEC_COMMIT), so that running out of memory is reported here as ENOSPC or
 * ENOMEM and never later as a fault. With NORESERVE it only checks that the
 * backing file system has room for map_size bytes, where it can tell.
 *
 * Errors: EEXIST (the name exists; nothing was touched), ENOSPC, ENOMEM,
 * EACCES, EMFILE, EIO. On any failure the object is removed again. */
int shmpool__plat_seg_create(const char *name, size_t map_size, unsigned flags,
                             shmpool__plat_map *map,
                             shmpool__plat_prepare_fn prepare, void *ctx);

/* Open the existing object `name` and map all of it: read-only if flags has
 * SHMPOOL_SEG_READONLY, else read-write. map_size is the object's size as
 * the OS reports it (possibly rounded up to a page). An object of size 0 is
 * not mapped: return 0 with base NULL and map_size 0.
 *
 * POSIX: an object whose owner is not the effective user is refused with
 * EACCES, also for root.
 *
 * Errors: ENOENT, EACCES, ENOMEM, EMFILE, EIO. */
int shmpool__plat_seg_open(const char *name, unsigned flags,
                           shmpool__plat_map *map);

/* Unmap and release what create/open acquired. Accepts a zeroed map.
 * Errors: EIO (the handle state is released anyway). */
int shmpool__plat_seg_unmap(shmpool__plat_map *map);

/* What the portable layer did to the object's header before unlinking. */
typedef enum shmpool__unlink_mark {
  SHMPOOL__UNLINK_RAW = 0,       /* no shmpool header: nothing marked */
  SHMPOOL__UNLINK_MARKED = 1,    /* UNLINKED state set just now */
  SHMPOOL__UNLINK_WAS_MARKED = 2 /* UNLINKED state was already set */
} shmpool__unlink_mark;

/* Remove the name `name` (flags: SHMPOOL_SEG_GLOBAL), so new opens fail.
 *
 * POSIX removes the name whatever `mark` says (shm_unlink). Windows cannot
 * remove a name from a live object: the header mark is the removal, so it
 * returns 0 for MARKED, ENOENT for WAS_MARKED and ENOTSUP for RAW.
 *
 * Errors: ENOENT, EACCES, ENOTSUP, EIO. */
int shmpool__plat_seg_unlink(const char *name, unsigned flags,
                             shmpool__unlink_mark mark);

/* ------------------------------------------------------------------------ */
/* Randomness, time, identity                                               */
/* ------------------------------------------------------------------------ */

/* Fill buf with len bytes from the OS CSPRNG (getrandom, arc4random_buf,
 * BCryptGenRandom). Errors: EIO. */
int shmpool__plat_random(void *buf, size_t len);

/* A monotonic clock in nanoseconds; only differences are meaningful. */
uint64_t shmpool__plat_now_ns(void);

/* Sleep for about `ms` milliseconds (0 yields the processor). */
void shmpool__plat_sleep_ms(unsigned ms);

/* The calling process's id. */
uint64_t shmpool__plat_pid(void);

/* The calling process's start time in an OS-specific unit that, together
 * with the pid, identifies a process across pid reuse (Linux: clock ticks
 * after boot from /proc/self/stat; Windows: the creation FILETIME). 0 when
 * the OS cannot tell. self_pid is shmpool__plat_pid(), passed in because
 * the caller has it already. Cheap after the first call. */
uint64_t shmpool__plat_proc_start(uint64_t self_pid);

#endif /* SHMPOOL_PLATFORM_H */
