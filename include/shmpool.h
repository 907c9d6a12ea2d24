/* shmpool: named shared-memory segments and a spawn-safe worker pool, with
 * the same semantics on Windows and POSIX systems.
 *
 * This header is the whole public API. Conventions used throughout:
 *
 *  - Functions that can fail return 0 on success and a negative SHMPOOL_E*
 *    code on failure. shmpool_strerror() and shmpool_err_name() describe a
 *    code; shmpool_last_os_error() gives the raw errno / GetLastError() value
 *    behind the most recent failure in the calling thread.
 *  - Handles are opaque and created by the library. Out-parameters are set to
 *    NULL on failure. Functions that free a handle accept NULL.
 *  - A handle may be used from any thread, but not from two threads at once.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SHMPOOL_H
#define SHMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "shmpool/version.h"

/* SHMPOOL_EXTERN marks the public functions. Building the shared library
 * defines SHMPOOL_BUILDING_SHARED; consumers of a Windows DLL get
 * SHMPOOL_SHARED from the CMake package / pkg-config file (define it yourself
 * when you link the DLL by hand). A static library needs neither. */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(SHMPOOL_BUILDING_SHARED)
#define SHMPOOL_EXTERN __declspec(dllexport)
#elif defined(SHMPOOL_SHARED)
#define SHMPOOL_EXTERN __declspec(dllimport)
#else
#define SHMPOOL_EXTERN /* static library */
#endif
#elif defined(SHMPOOL_BUILDING_SHARED) && defined(__GNUC__)
#define SHMPOOL_EXTERN __attribute__((visibility("default")))
#else
#define SHMPOOL_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* Every error code, its value and its description. The values are part of
 * the ABI and never change. Task functions should return positive values (or
 * values below -1000) for their own failures so they never collide. */
#define SHMPOOL_ERRNO_MAP(XX)                                                  \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENAMETOOLONG, -2, "segment name too long")                                \
  XX(EEXIST, -3, "segment already exists")                                     \
  XX(ENOENT, -4, "no such segment")                                            \
  XX(EFORMAT, -5, "not a shmpool segment, or its header is corrupt")           \
  XX(EACCES, -6, "permission denied")                                          \
  XX(ENOSPC, -7, "not enough shared memory to back the segment")               \
  XX(ENOMEM, -8, "out of memory or address space")                             \
  XX(ENOTSUP, -9, "not supported on this platform")                            \
  XX(EAGAIN, -10, "resource temporarily unavailable, try again")               \
  XX(ETIMEDOUT, -11, "timed out")                                              \
  XX(ENOTASK, -12, "no task of that name is registered in the worker")         \
  XX(EWORKER, -13, "the worker running the task died")                         \
  XX(EMSGSIZE, -14, "argument or reply larger than the pool allows")           \
  XX(EMFILE, -15, "too many open files, handles or segments")                  \
  XX(ESPAWN, -16, "cannot start a worker process")                             \
  XX(EPROTO, -17, "corrupt data in a pool's control segment")                  \
  XX(EBUSY, -18, "resource busy")                                              \
  XX(EIO, -19, "unexpected operating system error")

enum shmpool_errno {
#define SHMPOOL_ERRNO_ENUM_(name, value, text) SHMPOOL_##name = (value),
  SHMPOOL_ERRNO_MAP(SHMPOOL_ERRNO_ENUM_)
#undef SHMPOOL_ERRNO_ENUM_
      SHMPOOL_ERRNO_END_ = -20
};

/* A sentence describing err ("no such segment"). Unknown codes give
 * "unknown error". Never NULL. */
SHMPOOL_EXTERN const char *shmpool_strerror(int err);

/* The symbolic name of err ("SHMPOOL_ENOENT"), or "SHMPOOL_E?" for an
 * unknown code. Never NULL. */
SHMPOOL_EXTERN const char *shmpool_err_name(int err);

/* The raw operating-system error behind the most recent shmpool failure in
 * the calling thread that came from a system call: an errno value on POSIX,
 * a GetLastError() value on Windows. 0 when the last failure did not come
 * from the OS (bad arguments, a corrupt header). Thread-local, like errno. */
SHMPOOL_EXTERN int shmpool_last_os_error(void);

/* SHMPOOL_VERSION_HEX of the library actually linked. */
SHMPOOL_EXTERN unsigned shmpool_version(void);

/* "MAJOR.MINOR.PATCH" of the library actually linked. */
SHMPOOL_EXTERN const char *shmpool_version_string(void);

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/* A mapped named shared-memory segment. */
typedef struct shmpool_seg shmpool_seg;

/* open: map read-only. A write through the mapping faults (SIGSEGV on POSIX,
 * an access violation on Windows); the OS enforces it. Not valid at create. */
#define SHMPOOL_SEG_READONLY 0x1u
/* create: closing the creator's handle does not unlink the name.
 * Windows: the OS destroys a segment when its last handle closes, so a
 * persistent segment lives only while some process holds it open. */
#define SHMPOOL_SEG_PERSIST 0x2u
/* create/open: no shmpool header; the user's bytes start at offset 0. For
 * sharing with programs that do not use shmpool (Python's
 * multiprocessing.shared_memory, for one). On open the size is what the OS
 * reports, which may be rounded up to a page. */
#define SHMPOOL_SEG_RAW 0x4u
/* create/open on Windows: use the Global\ namespace instead of Local\
 * (creating there needs SeCreateGlobalPrivilege). POSIX has one namespace;
 * the flag is accepted and changes nothing. */
#define SHMPOOL_SEG_GLOBAL 0x8u
/* create: do not reserve the pages up front. For sparse segments: create
 * only checks that the file system has room for the whole size, and touching
 * a page later can still fail (SIGBUS on POSIX) if memory runs out then.
 * Windows: commit is always charged at create (it touches no pages, so it is
 * cheap); the flag is accepted and changes nothing. */
#define SHMPOOL_SEG_NORESERVE 0x10u

/* Longest portable segment name, without the terminating NUL. */
#define SHMPOOL_NAME_MAX 30

/* Create a new segment of exactly `size` user bytes and map it read-write.
 *
 * name:  1 to SHMPOOL_NAME_MAX characters of [A-Za-z0-9._-] ("." and ".."
 *        are refused). POSIX maps "foo" to "/foo"; Windows to "Local\foo"
 *        (or "Global\foo"). NULL generates an unguessable name (at least 96
 *        random bits from the OS CSPRNG); read it with shmpool_seg_name().
 * size:  user bytes, > 0. The data is zero-filled and 64-byte aligned.
 * flags: SHMPOOL_SEG_PERSIST, _RAW, _GLOBAL, _NORESERVE.
 *
 * Creation is always exclusive. The caller owns the segment: closing this
 * handle unlinks the name unless SHMPOOL_SEG_PERSIST was given. The memory
 * is reserved at create (unless SHMPOOL_SEG_NORESERVE), so a segment that
 * cannot be backed fails here and never later with SIGBUS.
 *
 * Errors: EINVAL (NULL seg, size 0, bad character or flag, READONLY),
 * ENAMETOOLONG, EEXIST (the name exists; nothing was attached), ENOSPC (the
 * shared-memory file system or commit limit is full; no object is left
 * behind), ENOMEM (no address space, or size too large for this build),
 * EACCES, EMFILE, EIO.
 *
 * POSIX: the object is created with mode 0600 whatever the umask.
 * Windows: the mapping gets a security descriptor that grants access to the
 * creating user only. Creating a name that was unlinked while another
 * process still holds it fails with EEXIST until that process closes it
 * (Windows cannot remove a name from a live object). */
SHMPOOL_EXTERN int shmpool_seg_create(shmpool_seg **seg, const char *name,
                                      size_t size, unsigned flags);

/* Open an existing segment by name and map it. Never creates.
 *
 * flags: SHMPOOL_SEG_READONLY, _RAW, _GLOBAL.
 *
 * Without SHMPOOL_SEG_RAW the header is validated: an object that is not a
 * shmpool segment, or is too short, or has a corrupt header gives EFORMAT
 * (never a crash). shmpool_seg_size() is then the exact size given at
 * create. Openers never unlink implicitly.
 *
 * Errors: EINVAL, ENAMETOOLONG, ENOENT (no such name, or it was unlinked),
 * EFORMAT, EACCES (POSIX: the object belongs to another user, refused even
 * for root), ENOMEM, EMFILE, EIO. */
SHMPOOL_EXTERN int shmpool_seg_open(shmpool_seg **seg, const char *name,
                                    unsigned flags);

/* The first user byte (64-byte aligned). NULL for a NULL seg. */
SHMPOOL_EXTERN void *shmpool_seg_data(const shmpool_seg *seg);

/* The user size: exactly the size given at create on every platform (for a
 * raw segment opened by name, what the OS reports). 0 for a NULL seg. */
SHMPOOL_EXTERN size_t shmpool_seg_size(const shmpool_seg *seg);

/* The portable name ("foo", not "/foo"). Valid until the handle is closed.
 * NULL for a NULL seg. */
SHMPOOL_EXTERN const char *shmpool_seg_name(const shmpool_seg *seg);

/* The flags the handle was created or opened with. */
SHMPOOL_EXTERN unsigned shmpool_seg_flags(const shmpool_seg *seg);

/* Close a handle and unmap it. If the handle created the segment without
 * SHMPOOL_SEG_PERSIST, the name is unlinked too: later opens fail with
 * ENOENT, while mappings other processes hold stay valid until they close.
 *
 * A pool that still has tasks in flight naming this segment keeps it alive:
 * the unmap and unlink then happen when the last such task completes (or the
 * pool is destroyed), and the name stays taken until then.
 *
 * NULL is fine. Returns 0, or EIO if the OS refused to unmap (the handle is
 * freed anyway). */
SHMPOOL_EXTERN int shmpool_seg_close(shmpool_seg *seg);

/* Remove a name explicitly (for a persistent segment, or one whose creator
 * died). Mappings that are already open stay valid; new opens fail with
 * ENOENT.
 *
 * Errors: EINVAL, ENAMETOOLONG, ENOENT, EACCES.
 * Windows: there is no unlink. The header is marked unlinked so that new
 * opens fail with ENOENT, and the object disappears when its last handle
 * closes. A raw (headerless) object cannot be marked: ENOTSUP. */
SHMPOOL_EXTERN int shmpool_seg_unlink(const char *name);

/* Unlink by name with explicit flags: SHMPOOL_SEG_GLOBAL selects the Windows
 * Global\ namespace. shmpool_seg_unlink(name) is
 * shmpool_seg_unlink_flags(name, 0). */
SHMPOOL_EXTERN int shmpool_seg_unlink_flags(const char *name, unsigned flags);

/* Check a portable name: 0 if valid, else EINVAL or ENAMETOOLONG. */
SHMPOOL_EXTERN int shmpool_name_check(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* SHMPOOL_H */
