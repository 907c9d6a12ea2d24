/** @file shmpool.h
 * shmpool: named shared-memory segments and a spawn-safe worker pool, with
 * the same semantics on Windows and POSIX systems.
 *
 * This header is the whole public API, in five groups: @ref errors,
 * @ref segments, @ref inspection, @ref pool and @ref worker. Conventions
 * used throughout:
 *
 *  - Functions that can fail return 0 on success and a negative SHMPOOL_E*
 *    code on failure. shmpool_strerror() and shmpool_err_name() describe a
 *    code; shmpool_last_os_error() gives the raw errno / GetLastError() value
 *    behind the most recent failure in the calling thread. The exceptions
 *    say so: shmpool_map() and shmpool_map_finish() return a failing task's
 *    own status, which may be positive; shmpool_cancel_all() returns a
 *    count; the accessors return a value.
 *  - Task statuses and library codes never collide: a task's own negative
 *    status in the range the library reserves arrives as SHMPOOL_ESTATUS
 *    (see shmpool_task_fn).
 *  - Handles are opaque and created by the library. Out-parameters are set to
 *    NULL on failure. Functions that free a handle accept NULL.
 *  - A segment handle may be used from any thread, but not from two threads
 *    at once. A pool may be used from any number of threads at once.
 *  - Every struct the library reads or writes starts with a struct_size
 *    field, set by its _init() macro to the size the caller was compiled
 *    with: later versions can add fields without breaking the ABI. Always
 *    initialise such a struct with its _init() macro before use.
 *  - The library never prints. Events a user may want to see go to
 *    shmpool_options::log, if set.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SHMPOOL_H
#define SHMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "shmpool/version.h"

/** @cond INTERNAL */
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
/** @endcond */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/** @defgroup errors Errors and versions
 * Error codes, their names and descriptions, the raw OS error, versions.
 *
 * 0 is success; every failure of a library call is a negative SHMPOOL_E*
 * code. A task's status (shmpool_result::status, shmpool_map()'s return
 * value and statuses) is either a library code or the task function's own
 * return value, which is positive or below SHMPOOL_TASK_STATUS_MIN: a task
 * that returns a negative value in the reserved range completes with
 * SHMPOOL_ESTATUS instead, so the two never collide.
 * @{ */

/** The X-macro of every error code: XX(NAME, value, "description") for
 * each SHMPOOL_E<NAME>. shmpool_strerror() and shmpool_err_name() are
 * generated from it; use it to build your own tables. The values are part
 * of the ABI and never change; the enum shmpool_errno below repeats them,
 * each with its description, and tools/test-all.sh checks that the two
 * agree word for word. */
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
  XX(EIO, -19, "unexpected operating system error")                            \
  XX(EIDLE, -20, "nothing to wait for: no task is in flight")                  \
  XX(ECANCELED, -21, "the task was canceled")                                  \
  XX(EFORK, -22, "the pool belongs to the process this one was forked from")   \
  XX(EWORKERMAIN, -23,                                                         \
     "this process was started as a pool worker: main() must call "            \
     "shmpool_is_worker() and shmpool_worker_main() before anything else")     \
  XX(ESTATUS, -24,                                                             \
     "the task returned a negative status reserved for library codes")

/** The library's error codes: negative, and 0 is success. The values are
 * part of the ABI and never change. Each value's first sentence is what
 * shmpool_strerror() returns for it. */
enum shmpool_errno {
  /** invalid argument. A NULL pointer where one is needed, a bad flag, name or
   * size, or a struct not initialised with its _init() macro. */
  SHMPOOL_EINVAL = (-1),
  /** segment name too long. More than SHMPOOL_NAME_MAX characters. */
  SHMPOOL_ENAMETOOLONG = (-2),
  /** segment already exists. Creation is always exclusive; nothing was
   * attached. */
  SHMPOOL_EEXIST = (-3),
  /** no such segment. No object of that name (or it was unlinked); for
   * shmpool_wait_id() and shmpool_cancel(): no such task in flight. */
  SHMPOOL_ENOENT = (-4),
  /** not a shmpool segment, or its header is corrupt. Opening without
   * SHMPOOL_SEG_RAW validates the header. */
  SHMPOOL_EFORMAT = (-5),
  /** permission denied. */
  SHMPOOL_EACCES = (-6),
  /** not enough shared memory to back the segment. The shared-memory file
   * system (/dev/shm) or the commit limit is full; returned at create, never a
   * SIGBUS later. */
  SHMPOOL_ENOSPC = (-7),
  /** out of memory or address space. */
  SHMPOOL_ENOMEM = (-8),
  /** not supported on this platform. A request the platform cannot honour is
   * refused, never quietly done some other way. */
  SHMPOOL_ENOTSUP = (-9),
  /** resource temporarily unavailable, try again. shmpool_submit_timeout():
   * still no room in any queue. */
  SHMPOOL_EAGAIN = (-10),
  /** timed out. A wait that ran out of time, or a task's deadline or a map's
   * timeout that passed. */
  SHMPOOL_ETIMEDOUT = (-11),
  /** no task of that name is registered in the worker. The name is not in the
   * task table the worker serves (or in shmpool_options::tasks, which the
   * parent checks at submit). */
  SHMPOOL_ENOTASK = (-12),
  /** the worker running the task died. A crash, exit() or kill;
   * shmpool_result::exit_code and term_signal say how. The worker is replaced.
   */
  SHMPOOL_EWORKER = (-13),
  /** argument or reply larger than the pool allows. Larger than max_arg_size or
   * max_reply_size, or a map element's reply larger than result_size. */
  SHMPOOL_EMSGSIZE = (-14),
  /** too many open files, handles or segments. */
  SHMPOOL_EMFILE = (-15),
  /** cannot start a worker process. */
  SHMPOOL_ESPAWN = (-16),
  /** corrupt data in a pool's control segment. A worker wrote something the
   * parent refuses to believe. */
  SHMPOOL_EPROTO = (-17),
  /** resource busy. */
  SHMPOOL_EBUSY = (-18),
  /** unexpected operating system error. shmpool_last_os_error() has the raw
   * value. */
  SHMPOOL_EIO = (-19),
  /** nothing to wait for: no task is in flight. shmpool_wait() with nothing in
   * flight, or shmpool_map_next() once every element was reported. */
  SHMPOOL_EIDLE = (-20),
  /** the task was canceled. By shmpool_cancel(), shmpool_cancel_all() or
   * shmpool_map_cancel(). */
  SHMPOOL_ECANCELED = (-21),
  /** the pool belongs to the process this one was forked from. A pool belongs
   * to the process that created it; in a child created by fork() every pool
   * call fails with this. */
  SHMPOOL_EFORK = (-22),
  /** this process was started as a pool worker: main() must call
   * shmpool_is_worker() and shmpool_worker_main() before anything else.
   * Returned by shmpool_create() in such a process, so that a forgotten check
   * cannot start workers that start workers. */
  SHMPOOL_EWORKERMAIN = (-23),
  /** the task returned a negative status reserved for library codes. A task
   * function returned a value from -1 down to SHMPOOL_TASK_STATUS_MIN. */
  SHMPOOL_ESTATUS = (-24),
  /** @cond INTERNAL */
  SHMPOOL_ERRNO_END_ = -25
  /** @endcond */
};

/** A sentence describing err ("no such segment"): the first sentence of
 * its shmpool_errno entry. 0 gives "success"; unknown codes, a task's own
 * statuses among them, give "unknown error". Never NULL. */
SHMPOOL_EXTERN const char *shmpool_strerror(int err);

/** The symbolic name of err ("SHMPOOL_ENOENT"), or "SHMPOOL_E?" for an
 * unknown code. 0 is not an error and has no SHMPOOL_ name: it gives "0",
 * so that a log line built as "status %s" reads "status 0". Never NULL. */
SHMPOOL_EXTERN const char *shmpool_err_name(int err);

/** The raw operating-system error behind the most recent shmpool failure in
 * the calling thread that came from a system call: an errno value on POSIX,
 * a GetLastError() value on Windows. 0 when the last failure did not come
 * from the OS (bad arguments, a corrupt header). Thread-local, like errno. */
SHMPOOL_EXTERN int shmpool_last_os_error(void);

/** SHMPOOL_VERSION_HEX of the library actually linked. */
SHMPOOL_EXTERN unsigned shmpool_version(void);

/** "MAJOR.MINOR.PATCH" of the library actually linked. */
SHMPOOL_EXTERN const char *shmpool_version_string(void);

/** @file shmpool/version.h
 * The version of the header a program was compiled with (shmpool.h
 * includes it). Compare with shmpool_version() for the library it runs
 * with: the ABI is kept within a major version. */
/** @def SHMPOOL_VERSION_MAJOR
 * Major version of the header: a change breaks the ABI. */
/** @def SHMPOOL_VERSION_MINOR
 * Minor version of the header: additions only. */
/** @def SHMPOOL_VERSION_PATCH
 * Patch version of the header: fixes only. */
/** @def SHMPOOL_VERSION_HEX
 * The header's version as 0xMMmmpp, comparable with <, like
 * shmpool_version(). */
/** @def SHMPOOL_VERSION_STRING
 * The header's version as "MAJOR.MINOR.PATCH", like
 * shmpool_version_string(). */

/** @} */

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/** @defgroup segments Segments
 * Named shared-memory segments: create, open, map, close, unlink.
 *
 * A segment is created once, exclusively, by the process that owns it, and
 * opened by name anywhere else (a pool's workers attach the segments a
 * task names by themselves). Closing the creator's handle unlinks the name
 * unless SHMPOOL_SEG_PERSIST was given.
 * @{ */

/** A mapped named shared-memory segment. */
typedef struct shmpool_seg shmpool_seg;

/** @name Segment flags
 * Flags of shmpool_seg_create(), shmpool_seg_open() and
 * shmpool_seg_unlink_flags(); each says where it is valid.
 * @{ */

/** open: map read-only. A write through the mapping faults (SIGSEGV on POSIX,
 * an access violation on Windows); the OS enforces it. Not valid at create. */
#define SHMPOOL_SEG_READONLY 0x1u
/** create: closing the creator's handle does not unlink the name.
 * Windows: the OS destroys a segment when its last handle closes, so a
 * persistent segment lives only while some process holds it open. */
#define SHMPOOL_SEG_PERSIST 0x2u
/** create/open: no shmpool header; the user's bytes start at offset 0. For
 * sharing with programs that do not use shmpool (Python's
 * multiprocessing.shared_memory, for one). On open the size is what the OS
 * reports, which may be rounded up to a page. */
#define SHMPOOL_SEG_RAW 0x4u
/** create/open on Windows: use the Global\ namespace instead of Local\
 * (creating there needs SeCreateGlobalPrivilege). POSIX has one namespace;
 * the flag is accepted and changes nothing. */
#define SHMPOOL_SEG_GLOBAL 0x8u
/** create: do not reserve the pages up front. For sparse segments: create
 * only checks that the file system has room for the whole size, and touching
 * a page later can still fail (SIGBUS on POSIX) if memory runs out then.
 * Windows: commit is always charged at create (it touches no pages, so it is
 * cheap); the flag is accepted and changes nothing. */
#define SHMPOOL_SEG_NORESERVE 0x10u
/** @} */

/** Longest portable segment name, without the terminating NUL. */
#define SHMPOOL_NAME_MAX 30

/** Create a new segment of exactly `size` user bytes and map it read-write.
 *
 * name:  1 to SHMPOOL_NAME_MAX characters of [A-Za-z0-9._-] ("." and ".."
 *        are refused): plain ASCII, the same bytes in UTF-8 and in every
 *        code page; any other byte is EINVAL. POSIX maps "foo" to "/foo";
 *        Windows to "Local\foo" (or "Global\foo"). NULL generates an
 *        unguessable name (at least 96 random bits from the OS CSPRNG);
 *        read it with shmpool_seg_name().
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

/** Open an existing segment by name and map it. Never creates.
 *
 * flags: SHMPOOL_SEG_READONLY, _RAW, _GLOBAL.
 *
 * Without SHMPOOL_SEG_RAW the header is validated: an object that is not a
 * shmpool segment, or is too short, or has a corrupt header gives EFORMAT
 * (never a crash). shmpool_seg_size() is then the exact size given at
 * create. Openers never unlink implicitly.
 *
 * A segment that another process is still creating (reserving its memory
 * can take seconds) is waited for, for as long as its creator lives: open
 * then returns the segment, or ENOENT if the create failed. It gives
 * EFORMAT if the creator died mid-create, and ETIMEDOUT after 60 s with the
 * creator alive. docs/FORMAT.md describes the protocol; its one guess: on
 * POSIX, an object of 0 or 64 bytes without a header is waited for until
 * it is 5 s old (the first system calls of a create).
 *
 * Errors: EINVAL, ENAMETOOLONG, ENOENT (no such name, or it was unlinked,
 * or its create failed), EFORMAT, ETIMEDOUT, EACCES (POSIX: the object
 * belongs to another user, refused even for root), ENOMEM, EMFILE, EIO. */
SHMPOOL_EXTERN int shmpool_seg_open(shmpool_seg **seg, const char *name,
                                    unsigned flags);

/** The first user byte (64-byte aligned). NULL for a NULL seg. */
SHMPOOL_EXTERN void *shmpool_seg_data(const shmpool_seg *seg);

/** The user size: exactly the size given at create on every platform (for a
 * raw segment opened by name, what the OS reports). 0 for a NULL seg. */
SHMPOOL_EXTERN size_t shmpool_seg_size(const shmpool_seg *seg);

/** The portable name ("foo", not "/foo"). Valid until the handle is closed.
 * NULL for a NULL seg. */
SHMPOOL_EXTERN const char *shmpool_seg_name(const shmpool_seg *seg);

/** The flags the handle was created or opened with. */
SHMPOOL_EXTERN unsigned shmpool_seg_flags(const shmpool_seg *seg);

/** Close a handle and unmap it. If the handle created the segment without
 * SHMPOOL_SEG_PERSIST, the name is unlinked too: later opens fail with
 * ENOENT, while mappings other processes hold stay valid until they close.
 *
 * Pools that sent the segment to their workers hold it too. If tasks
 * naming it are still in flight, the name stays linked (and taken) until
 * the last of them completes, so a worker can still attach; otherwise it
 * is unlinked now. The pool's and its workers' mappings go when the pool
 * releases the segment: as soon as its last task completes, or at the
 * pool's next call (submit, wait, map) or destroy.
 *
 * NULL is fine. Returns 0, EIO if the OS refused to unmap, or the error of
 * the unlink (EACCES...); the handle is freed anyway. */
SHMPOOL_EXTERN int shmpool_seg_close(shmpool_seg *seg);

/** Remove a name explicitly (for a persistent segment, or one whose creator
 * died). Mappings that are already open stay valid; new opens fail with
 * ENOENT.
 *
 * Exactly one caller removes a segment's name: this call, the owner's
 * shmpool_seg_close and a failed create each mark the header UNLINKED
 * atomically first, and only the one that set the mark removes the name.
 * ENOENT therefore also means "someone else is unlinking it"; the name is
 * then never removed twice, so a newer segment created under it in between
 * is safe. A segment whose create has not written its header yet is waited
 * for so that it can be marked (as open does: up to 5 s on POSIX).
 *
 * Raw (headerless) segments cannot be marked: the object that has the name
 * at that moment is removed, and a raw owner's close does the same, so a
 * raw segment unlinked by name while its owner holds it can cost a newer
 * object of that name its name at the owner's close (create raw segments
 * that you unlink by name with SHMPOOL_SEG_PERSIST).
 *
 * Errors: EINVAL, ENAMETOOLONG, ENOENT, EACCES.
 * Windows: there is no unlink. The header is marked unlinked so that new
 * opens fail with ENOENT, and the object disappears when its last handle
 * closes. A raw (headerless) object cannot be marked: ENOTSUP. */
SHMPOOL_EXTERN int shmpool_seg_unlink(const char *name);

/** Unlink by name with explicit flags: SHMPOOL_SEG_GLOBAL selects the Windows
 * Global\ namespace. shmpool_seg_unlink(name) is
 * shmpool_seg_unlink_flags(name, 0). */
SHMPOOL_EXTERN int shmpool_seg_unlink_flags(const char *name, unsigned flags);

/** Check a portable name: 0 if valid, else EINVAL or ENAMETOOLONG. */
SHMPOOL_EXTERN int shmpool_name_check(const char *name);

/** @} */

/* ---- inspecting and listing (what the shmpool tool uses) ---------------- */

/** @defgroup inspection Inspecting and listing segments
 * Look at segments without taking part in their lifetime, and list the
 * shared-memory objects of this OS: what the shmpool tool (ls, info, gc)
 * is built on.
 * @{ */

/** @name Kinds of object
 * shmpool_seg_info::kind: what shmpool_seg_inspect() found.
 * @{ */
#define SHMPOOL_KIND_SEGMENT 1 /**< a shmpool segment */
#define SHMPOOL_KIND_CONTROL 2 /**< a pool's control segment */
#define SHMPOOL_KIND_RAW 3     /**< no valid shmpool header */
/** @} */

/** @name Segment states
 * Bits of shmpool_seg_info::state: the header's state word as it is now.
 * @{ */
#define SHMPOOL_STATE_READY 0x1u    /**< its creator finished creating it */
#define SHMPOOL_STATE_UNLINKED 0x2u /**< its name was removed */
/** @} */

/** What shmpool_seg_inspect() found. Initialise with
 * shmpool_seg_info_init() so the library knows the struct's size. */
typedef struct shmpool_seg_info {
  size_t struct_size; /**< set by shmpool_seg_info_init() */
  int kind;           /**< SHMPOOL_KIND_* */
  /** Whether the creator still runs: 1 yes, 0 no (or its pid now belongs
   * to a later process), -1 unknown or a raw object. */
  int creator_alive;
  uint64_t size;          /**< exact user size (raw: what the OS reports) */
  uint64_t os_size;       /**< the object's size as the OS reports it */
  uint64_t data_offset;   /**< where the user bytes start (raw: 0) */
  uint64_t creator_pid;   /**< 0 for raw objects */
  uint64_t creator_start; /**< the creator's start time, OS-specific */
  uint64_t creation_id;   /**< unique per created segment; 0 for raw */
  unsigned state;         /**< SHMPOOL_STATE_* bits */
  int persistent;         /**< created with SHMPOOL_SEG_PERSIST */
} shmpool_seg_info;

/** Set info->struct_size to the size the caller was compiled with and
 * clear the rest. */
SHMPOOL_EXTERN void shmpool_seg_info_init_sized(shmpool_seg_info *info,
                                                size_t struct_size);
/** shmpool_seg_info_init(&info): the usual way to call
 * shmpool_seg_info_init_sized(). */
#define shmpool_seg_info_init(info)                                            \
  shmpool_seg_info_init_sized((info), sizeof *(info))

/** Look at the object `name` without taking part in its lifetime: map it
 * read-only, read its header, unmap. Does not wait for a create in
 * progress (state then lacks SHMPOOL_STATE_READY).
 *
 * flags: SHMPOOL_SEG_GLOBAL (Windows namespace); nothing else.
 * Errors: EINVAL (bad name or flags, or info not initialised),
 * ENAMETOOLONG, ENOENT, EACCES, ENOMEM, EMFILE, EIO. */
SHMPOOL_EXTERN int shmpool_seg_inspect(const char *name, unsigned flags,
                                       shmpool_seg_info *info);

/** Call fn(name, ctx) for every shared-memory object whose name is a
 * portable name, as far as this OS can list them; fn returns nonzero to
 * stop early. Objects that are not shmpool segments are listed too
 * (shmpool_seg_inspect() tells them apart).
 *
 * Linux lists /dev/shm (skipping glibc's named semaphores, "sem.*").
 * Other systems have no supported way to list shared memory: macOS none at
 * all, FreeBSD only through a sysctl not implemented here, Windows only
 * through an undocumented native call; they return ENOTSUP.
 *
 * Errors: EINVAL, ENOTSUP, EACCES, EIO. */
SHMPOOL_EXTERN int shmpool_seg_list(unsigned flags,
                                    int (*fn)(const char *name, void *ctx),
                                    void *ctx);

/** @} */

/* ------------------------------------------------------------------------ */
/* Worker pool                                                              */
/* ------------------------------------------------------------------------ */

/** @defgroup pool The worker pool
 * The parent's side of a pool: start it, submit tasks and wait for them,
 * run maps, cancel, stop.
 *
 * Workers are new processes (posix_spawn / CreateProcessW), by default of
 * this same executable, whose main() hands over to shmpool_worker_main()
 * (see @ref worker). They are reused: each runs one task at a time, many
 * tasks in its life. Tasks name their segments; a worker attaches them by
 * name. Every call may come from any thread. The library never prints:
 * set shmpool_options::log to see what happens to workers.
 *
 * Ctrl-C, SIGTERM, SIGKILL or a crash of the parent: its workers ignore
 * the terminal's signals, notice the parent's death within a second,
 * remove the segments it owned and exit (see shmpool_create()).
 * @{ */

/** A pool of worker processes.
 *
 * Threads: every pool function may be called from any number of threads
 * at once (shmpool_destroy excepted: call it when no other call on the
 * pool is running or will start).
 *
 * fork(): a pool belongs to the process that created it. In a child
 * created by fork() every pool call fails with SHMPOOL_EFORK, and
 * shmpool_destroy only frees the child's memory: it neither stops the
 * parent's workers nor touches their shared memory. */
typedef struct shmpool shmpool;

/** A task as a worker sees it, valid during the task function's call.
 * @ingroup worker */
typedef struct shmpool_task shmpool_task;

/** A task function: returns 0, or a status of its own. A task's status
 * reaches the parent unchanged if it is positive or below
 * SHMPOOL_TASK_STATUS_MIN; a negative status in the range the library
 * reserves for its own codes is reported as SHMPOOL_ESTATUS, so a task can
 * never be mistaken for a library error.
 *
 * It runs in a worker process that is reused: static and global state it
 * leaves behind is there for the next task of the same worker (and the
 * initializer's, shmpool_options::init_task, for every task), and one
 * worker runs one task at a time.
 * @ingroup worker */
typedef int (*shmpool_task_fn)(shmpool_task *task);

/** Negative task statuses from -1 down to this value are reserved for
 * SHMPOOL_E* codes: a task returning one completes with SHMPOOL_ESTATUS.
 * @ingroup worker */
#define SHMPOOL_TASK_STATUS_MIN (-1000)

/** One entry of a task table: a name (at most SHMPOOL_TASK_NAME_MAX
 * characters) and its function. A table ends with {NULL, NULL}, and must
 * stay valid as long as any pool created with it (the pool keeps a
 * pointer, not a copy). */
typedef struct shmpool_task_def {
  const char *name;   /**< the name submit and map use; NULL ends a table */
  shmpool_task_fn fn; /**< the function that runs it in a worker */
} shmpool_task_def;

/** Longest task name, without the terminating NUL. */
#define SHMPOOL_TASK_NAME_MAX 63
/** Most segments one task may name. */
#define SHMPOOL_TASK_SEGS_MAX 16
/** Longest failure message a task can send (shmpool_task_fail), without
 * the terminating NUL; longer messages are cut. */
#define SHMPOOL_MESSAGE_MAX 255

/** @name Log levels
 * The level argument of shmpool_options::log.
 * @{ */
#define SHMPOOL_LOG_ERROR 1 /**< something failed: a worker could not start */
#define SHMPOOL_LOG_WARN 2  /**< a worker died, was killed or replaced */
#define SHMPOOL_LOG_INFO 3  /**< routine events: a worker recycled */
/** @} */

/** Options of shmpool_create(): workers, tasks, limits, timeouts, logging.
 *
 * Like every struct the library reads or writes, it starts with its size
 * as the caller was compiled with it, so that fields can be added in later
 * versions without breaking callers compiled against this header: always
 * initialise it with shmpool_options_init(), which sets every field to its
 * default (0 or NULL, meaning what each field says). */
typedef struct shmpool_options {
  size_t struct_size; /**< set by shmpool_options_init() */
  /** Worker processes; 0 means one per CPU this process may run on. */
  unsigned workers;
  /** The task table, if the parent knows it (same executable): submit then
   * rejects an unknown name at once with SHMPOOL_ENOTASK. NULL: the worker
   * decides, and an unknown name completes with SHMPOOL_ENOTASK. Must stay
   * valid while the pool lives. */
  const shmpool_task_def *tasks;
  /** Executable to start as a worker; NULL means this executable (Linux:
   * the file /proc/self/exe resolves to at shmpool_create, so workers carry
   * the program's name and valgrind's or a loader's path is never used).
   * It must call shmpool_is_worker() / shmpool_worker_main() first thing
   * in main. Windows: a UTF-8 path (not the ANSI code page), so any file
   * name works; invalid UTF-8 makes shmpool_create fail with
   * SHMPOOL_EINVAL. POSIX: the bytes are passed to the OS as they are. */
  const char *worker_path;
  /** Arguments put between worker_path and the worker's own arguments,
   * NULL-terminated (NULL: none): for a worker started through an
   * interpreter, e.g. worker_path "/usr/bin/python3" with worker_args
   * {"-m", "mypkg.worker", NULL}. Copied at create. */
  const char *const *worker_args;
  /** A task run once in every worker before it takes work (like Python's
   * Pool(initializer=, initargs=)), with init_arg as its argument; NULL for
   * none. If it fails in any worker, shmpool_create fails with its status;
   * a replacement worker whose initializer fails is not started again. */
  const char *init_task;
  /** The initializer's argument, init_arg_len bytes, copied at create:
   * the initializer reads it with shmpool_task_arg(), in every worker and
   * in every replacement. NULL if init_arg_len is 0. */
  const void *init_arg;
  /** The length of init_arg in bytes: at most max_arg_size (else
   * shmpool_create fails with SHMPOOL_EINVAL). */
  size_t init_arg_len;
  /** Largest task argument, in bytes; 0 means 256. */
  size_t max_arg_size;
  /** Largest reply of a submitted task, in bytes; 0 means 256. (Replies
   * of shmpool_map elements are bounded by its result_size instead.) */
  size_t max_reply_size;
  /** Tasks queued per worker; 0 means 64. Rounded up to a power of two. */
  unsigned queue_depth;
  /** Distinct segments the pool keeps attached at once (and so the bound on
   * each worker's cache of mappings); 0 means 64. */
  unsigned max_segments;
  /** How long shmpool_create waits for every worker to be ready (including
   * the initializer), in ms; 0 means 30000. */
  int start_timeout_ms;
  /** How long shmpool_destroy lets workers finish their current task before
   * killing them, in ms; 0 means 5000. */
  int shutdown_timeout_ms;
  /** Replace a worker by a fresh process after it ran this many messages
   * (a submitted task or a shmpool_map chunk each), like Python's
   * maxtasksperchild; 0 means never. */
  unsigned max_tasks_per_worker;
  /** Diagnostics: the library never prints. If set, it calls
   * log(log_ctx, level, message) from a thread that is inside a pool
   * call, for events a user may want to see (SHMPOOL_LOG_*): a worker
   * that could not start or was given up, died or was killed, wrote
   * nonsense into its queue, or was recycled; an initializer that failed.
   * The message is one line without a newline, valid during the call
   * only. Must not call back into the pool. NULL: nothing is reported. */
  void (*log)(void *log_ctx, int level, const char *message);
  void *log_ctx; /**< passed unchanged as log's first argument */
} shmpool_options;

/** Fill opts with defaults (zero / NULL) and its struct_size; a macro over
 * shmpool_options_init_sized(), which the library exports. */
#define shmpool_options_init(opts)                                             \
  shmpool_options_init_sized((opts), sizeof *(opts))
/** Set opts->struct_size to struct_size and every option to its default;
 * call it through shmpool_options_init(). */
SHMPOOL_EXTERN void shmpool_options_init_sized(shmpool_options *opts,
                                               size_t struct_size);

/** Start a pool: create its control segment, start the workers (new process
 * images: posix_spawn / CreateProcessW), wait until every worker has run
 * the initializer and is ready.
 *
 * What a worker inherits: no handles or descriptors but stdin, stdout and
 * stderr; the environment and the working directory as they are when it
 * starts: at this call for the first workers, and at its start for a
 * worker that replaces one (after a death, a cancel, a deadline or
 * recycling), so change neither while a pool runs if tasks depend on
 * them. (shmpool adds SHMPOOL_WORKER_OF to a worker's environment, and
 * shmpool_worker_main() removes it.)
 *
 * Output: workers write to the same stdout and stderr as the parent,
 * unprefixed and interleaved with it. What a worker's stdio buffers hold
 * when it is killed (a cancel, a deadline, a crash) is lost: at least an
 * unfinished line, and more when stdout is a pipe or a file (fully
 * buffered); flush or use stderr for what must not be lost.
 *
 * Reuse: a worker runs many tasks, one at a time, so static state in task
 * code persists between tasks of the same worker (until the worker is
 * replaced; see max_tasks_per_worker).
 *
 * POSIX: workers ignore SIGINT, SIGQUIT, SIGHUP and SIGTERM, so that a
 * Ctrl-C or a terminal hang-up reaches only the parent: they end with it.
 *
 * Errors: EINVAL (bad options, or opts not initialised), ESPAWN (a worker
 * could not be started, or died or timed out before it was ready: see the
 * log), EWORKERMAIN (called in a process that was started as a pool worker
 * but did not hand over to shmpool_worker_main(): the program forgot
 * shmpool_is_worker() at the top of main), a failing initializer's own
 * status, or a segment error (ENOSPC, ENOMEM, EMFILE) for the control
 * segment. On failure nothing is left running or mapped.
 *
 * POSIX: workers are reaped with waitpid() on their own pids; a program
 * that sets SIGCHLD to SIG_IGN or reaps every child itself hides their exit
 * status (EWORKER results then carry exit_code -1).
 * Parent death: if the parent dies by any signal or crash, its workers
 * notice within a second (Linux: a pidfd; macOS/BSD: kqueue; elsewhere
 * polling), remove every segment the parent owned (its pools' control and
 * scratch segments and the segments it created, never a persistent one or
 * one it only opened; on Linux found by listing /dev/shm, elsewhere only
 * the segments the pool knew), and exit. Windows: a job object kills the
 * workers when the parent's last handle to it goes, and every segment
 * disappears with its last handle. */
SHMPOOL_EXTERN int shmpool_create(shmpool **pool, const shmpool_options *opts);

/** Options of shmpool_submit_ex(): blocking limit, deadline, affinity.
 * Initialise with shmpool_submit_options_init(). */
typedef struct shmpool_submit_options {
  size_t struct_size; /**< set by shmpool_submit_options_init() */
  /** How long submit may block while every queue is full: -1 (the
   * default) as long as needed, 0 never (then SHMPOOL_EAGAIN). */
  int timeout_ms;
  /** The task's deadline, in ms from now; 0 (the default) for none. A task
   * not finished by then completes with SHMPOOL_ETIMEDOUT; if it was
   * running, its worker is killed and replaced. Checked while any thread
   * is inside a call on the pool, so it may fire up to the next such call
   * late when nobody is. */
  int deadline_ms;
  /** Nonzero: tasks with the same key go to the same worker when it has
   * room, so a worker finds the pages they touch already mapped (see
   * shmpool_map's schedules). 0 (the default): the least busy worker. */
  uint64_t affinity;
  /** Nonzero: only shmpool_wait_id() returns this task's result;
   * shmpool_wait() never does and does not count it as in flight. A thread
   * that submits a task and then waits for it by id cannot lose it to
   * another thread's shmpool_wait() in between. 0 (the default): whichever
   * wait asks first. */
  int for_wait_id;
} shmpool_submit_options;

/** Fill opts with defaults and its struct_size; a macro over
 * shmpool_submit_options_init_sized(), which the library exports. */
#define shmpool_submit_options_init(opts)                                      \
  shmpool_submit_options_init_sized((opts), sizeof *(opts))
/** Set opts->struct_size to struct_size and every option to its default;
 * call it through shmpool_submit_options_init(). */
SHMPOOL_EXTERN void
shmpool_submit_options_init_sized(shmpool_submit_options *opts,
                                  size_t struct_size);

/** Queue one task: the registered name `task`, an argument (copied; at most
 * max_arg_size bytes) and up to SHMPOOL_TASK_SEGS_MAX segments that the
 * worker attaches by name, in the same order (shmpool_task_seg). Workers
 * map a segment with the access of the handle passed here: pass a handle
 * opened with SHMPOOL_SEG_READONLY for read-only workers (the OS then
 * refuses their writes, and on some virtual machines a read-only mapping's
 * first touches cost several times less: docs/PERFORMANCE.md).
 *
 * The pool holds a reference to each segment until the task completes, so
 * closing the handle meanwhile does not unmap or unlink it under a worker.
 *
 * *id (if id is not NULL) receives the task's id, which its result carries.
 * Blocks while every worker's queue is full; while it waits it moves
 * finished results into parent memory, so submitting any number of tasks
 * before waiting for one never deadlocks.
 *
 * If the worker running a task dies (a crash, exit(), a kill), that task
 * completes with SHMPOOL_EWORKER; tasks queued behind it that it had not
 * started run on the worker that replaces it.
 *
 * Errors: EINVAL, EMSGSIZE (arg too large), ENOTASK (name not in
 * opts.tasks), ENOMEM, EWORKER (no worker left alive and none can be
 * started), EFORK. */
SHMPOOL_EXTERN int shmpool_submit(shmpool *pool, const char *task,
                                  const void *arg, size_t arg_len,
                                  shmpool_seg *const *segs, size_t nsegs,
                                  uint64_t *id);

/** shmpool_submit with a limit on blocking: timeout_ms 0 never blocks,
 * -1 blocks as long as needed. Returns SHMPOOL_EAGAIN if there is still no
 * room in any queue when the time is up. */
SHMPOOL_EXTERN int shmpool_submit_timeout(shmpool *pool, const char *task,
                                          const void *arg, size_t arg_len,
                                          shmpool_seg *const *segs,
                                          size_t nsegs, uint64_t *id,
                                          int timeout_ms);

/** shmpool_submit with options (blocking limit, deadline, affinity); NULL
 * opts means the defaults. */
SHMPOOL_EXTERN int shmpool_submit_ex(shmpool *pool, const char *task,
                                     const void *arg, size_t arg_len,
                                     shmpool_seg *const *segs, size_t nsegs,
                                     const shmpool_submit_options *opts,
                                     uint64_t *id);

/** The outcome of one task. Initialise once with shmpool_result_init()
 * (it may be reused for any number of waits). */
typedef struct shmpool_result {
  size_t struct_size; /**< set by shmpool_result_init() */
  uint64_t id;        /**< as returned by submit */
  /** The task function's return value (see shmpool_task_fn), or a
   * SHMPOOL_E* code: EWORKER, ENOTASK, ECANCELED, ETIMEDOUT, EPROTO. */
  int status;
  /** The reply. It stays valid until the same thread's next
   * shmpool_wait / shmpool_wait_id on this pool, or shmpool_destroy. (So
   * the pool keeps each waiting thread's last result: a thread that ends
   * leaves one result's memory behind until a thread with its id waits
   * again or the pool is destroyed.) */
  const void *data;
  size_t len; /**< the reply's length in bytes (0: no reply) */
  /** For SHMPOOL_EWORKER: how the worker ended. exit_code is its exit
   * status (Windows: the process exit code, e.g. 0xC0000005 for an access
   * violation), or -1 if it was killed by a signal or is unknown;
   * term_signal is the POSIX signal that killed it, else 0. */
  int exit_code;
  int term_signal; /**< see exit_code */
  /** The message the task gave with shmpool_task_fail(), NUL-terminated,
   * or NULL. Valid as long as data. */
  const char *message;
} shmpool_result;

/** Set res's struct_size and clear it; a macro over
 * shmpool_result_init_sized(), which the library exports. */
#define shmpool_result_init(res) shmpool_result_init_sized((res), sizeof *(res))
/** Set res->struct_size to struct_size and clear the rest; call it through
 * shmpool_result_init(). */
SHMPOOL_EXTERN void shmpool_result_init_sized(shmpool_result *res,
                                              size_t struct_size);

/** Wait for the next task to complete, in completion order, up to
 * timeout_ms (0: poll, -1: as long as needed). A task some thread waits
 * for with shmpool_wait_id is never returned here.
 *
 * Errors: EINVAL (res not initialised), ETIMEDOUT, EIDLE (no task is in
 * flight that this call could return), EFORK. A task's own failure is not
 * an error of wait: it is res->status. */
SHMPOOL_EXTERN int shmpool_wait(shmpool *pool, shmpool_result *res,
                                int timeout_ms);

/** Wait for task `id` only, up to timeout_ms. Its result goes to this
 * caller and never to a concurrent shmpool_wait. Between the submit and
 * this call, a shmpool_wait in another thread may still take the task
 * (then this call gives ENOENT), unless it was submitted with
 * shmpool_submit_options.for_wait_id.
 *
 * Errors: EINVAL, ENOENT (no such task in flight: unknown, or its result
 * was already returned), EBUSY (another thread is waiting for it),
 * ETIMEDOUT (it stays in flight), EFORK. */
SHMPOOL_EXTERN int shmpool_wait_id(shmpool *pool, uint64_t id,
                                   shmpool_result *res, int timeout_ms);

/** Cancel task `id`. A task still queued is removed and completes with
 * SHMPOOL_ECANCELED at once; a running task's worker is killed and
 * replaced (the tasks queued behind it run on the replacement) and the
 * task completes with SHMPOOL_ECANCELED shortly after. Its result is then
 * collected like any other (shmpool_wait / shmpool_wait_id).
 *
 * Errors: ENOENT (no such task in flight: unknown, or already completed,
 * or already canceled), EFORK. */
SHMPOOL_EXTERN int shmpool_cancel(shmpool *pool, uint64_t id);

/** Cancel every submitted task in flight and every running map, like
 * Python's Pool.terminate() without destroying the pool: workers running
 * something are killed and replaced. Returns the number of tasks and maps
 * canceled (>= 0), or EFORK. */
SHMPOOL_EXTERN int shmpool_cancel_all(shmpool *pool);

/** @name Map schedules
 * shmpool_map_options::schedule: how shmpool_map() hands chunks to
 * workers.
 * @{ */
/** The default: one contiguous range of chunks per worker, the same on
 * every call (see shmpool_map_options::schedule). */
#define SHMPOOL_SCHEDULE_STATIC 0
/** The next chunk goes to whichever worker has room. */
#define SHMPOOL_SCHEDULE_DYNAMIC 1
/** @} */

/** Options of shmpool_map_ex() and shmpool_map_start(): chunk size,
 * schedule, timeout. Initialise with shmpool_map_options_init(). */
typedef struct shmpool_map_options {
  size_t struct_size; /**< set by shmpool_map_options_init() */
  /** Elements per chunk (one message to a worker); 0 (the default) means
   * n / (8 × workers), at least 1. */
  size_t chunk_size;
  /** SHMPOOL_SCHEDULE_STATIC (default): chunks are split into one
   * contiguous range per worker, and the same n, chunk size and number of
   * workers give every worker the same range on every call, so a worker
   * touches the same pages each time (its page tables are built once); a
   * worker that runs out of its own chunks takes the last chunks of the
   * worker with the most left, so an uneven workload stays balanced.
   * SHMPOOL_SCHEDULE_DYNAMIC: the next chunk goes to whichever worker has
   * room. */
  int schedule;
  /** Give up after this many ms: elements not finished then get
   * SHMPOOL_ETIMEDOUT, workers still running the map's chunks are killed
   * and replaced, and the map returns SHMPOOL_ETIMEDOUT. 0 (the default):
   * no limit. */
  int timeout_ms;
} shmpool_map_options;

/** Fill opts with defaults and its struct_size; a macro over
 * shmpool_map_options_init_sized(), which the library exports. */
#define shmpool_map_options_init(opts)                                         \
  shmpool_map_options_init_sized((opts), sizeof *(opts))
/** Set opts->struct_size to struct_size and every option to its default;
 * call it through shmpool_map_options_init(). */
SHMPOOL_EXTERN void shmpool_map_options_init_sized(shmpool_map_options *opts,
                                                   size_t struct_size);

/** Run `task` on n elements and wait for all of them.
 *
 * Element i's argument is args + i * arg_size (arg_size may be 0: the task
 * then tells elements apart by shmpool_task_id(), which is i). Elements go
 * to the workers in chunks of consecutive elements (see
 * shmpool_map_options); inside a chunk, a worker runs them in order. Element
 * i's reply goes to results + i * result_size, zero-padded: result_size,
 * not max_reply_size, bounds a map element's reply (a longer reply is
 * refused with EMSGSIZE to the task). Its status goes to statuses[i] if
 * statuses is not NULL. Tasks submitted earlier keep running, and their
 * results stay available to shmpool_wait().
 *
 * Returns 0 if every element's status is 0; else the status of the first
 * failing element by index: a task's own status (which may be positive),
 * or a SHMPOOL_E* code (EWORKER, ENOTASK, ETIMEDOUT...); or a pool error
 * before anything ran (EINVAL, ENOMEM, ENOSPC, EFORK). */
SHMPOOL_EXTERN int shmpool_map(shmpool *pool, const char *task,
                               const void *args, size_t arg_size, size_t n,
                               shmpool_seg *const *segs, size_t nsegs,
                               void *results, size_t result_size,
                               int *statuses);

/** shmpool_map with options; NULL opts means the defaults. */
SHMPOOL_EXTERN int shmpool_map_ex(shmpool *pool, const char *task,
                                  const void *args, size_t arg_size, size_t n,
                                  shmpool_seg *const *segs, size_t nsegs,
                                  void *results, size_t result_size,
                                  int *statuses,
                                  const shmpool_map_options *opts);

/** A map that was started and has not been finished: progress can be
 * watched and results consumed as chunks complete. */
typedef struct shmpool_map_job shmpool_map_job;

/** Start a map (the arguments as for shmpool_map_ex) and return at once.
 * args are copied now; results and statuses must stay valid until
 * shmpool_map_finish: each chunk's replies and statuses are written there
 * when it completes, inside a call on the pool. Several maps may run at
 * once. Errors: as shmpool_map's before anything ran. */
SHMPOOL_EXTERN int shmpool_map_start(shmpool *pool, shmpool_map_job **job,
                                     const char *task, const void *args,
                                     size_t arg_size, size_t n,
                                     shmpool_seg *const *segs, size_t nsegs,
                                     void *results, size_t result_size,
                                     int *statuses,
                                     const shmpool_map_options *opts);

/** Wait up to timeout_ms for elements that completed since the last call:
 * returns 0 and the range [*first, *first + *count) of elements whose
 * replies and statuses are in place, ETIMEDOUT if none completed in time,
 * or EIDLE when every element has been reported. Ranges come in completion
 * order, not index order. first or count may be NULL. */
SHMPOOL_EXTERN int shmpool_map_next(shmpool_map_job *job, size_t *first,
                                    size_t *count, int timeout_ms);

/** Elements completed so far (reported by shmpool_map_next or not), and
 * the total; either pointer may be NULL. Never blocks. */
SHMPOOL_EXTERN void shmpool_map_progress(shmpool_map_job *job, size_t *done,
                                         size_t *total);

/** Cancel the rest of a map: elements not finished get
 * SHMPOOL_ECANCELED; workers running its chunks are killed and replaced.
 * shmpool_map_finish is still needed. */
SHMPOOL_EXTERN int shmpool_map_cancel(shmpool_map_job *job);

/** Wait for every element, free the job, and return what shmpool_map
 * would. NULL is fine (returns 0). */
SHMPOOL_EXTERN int shmpool_map_finish(shmpool_map_job *job);

/** The number of worker processes. */
SHMPOOL_EXTERN unsigned shmpool_workers(const shmpool *pool);

/** The name of the pool's control segment (for diagnostics and the shmpool
 * tool). */
SHMPOOL_EXTERN const char *shmpool_control_name(const shmpool *pool);

/** Stop the pool: workers finish the task they are running and exit; any
 * still running after shutdown_timeout_ms are killed. Results not yet
 * waited for are discarded, unfinished maps' jobs freed, the pool's segment
 * references released, and its control segment removed. NULL is fine.
 * Returns 0. */
SHMPOOL_EXTERN int shmpool_destroy(shmpool *pool);

/** @} */

/* ---- worker side ------------------------------------------------------- */

/** @defgroup worker Worker side
 * What runs in a worker: the hand-over in main(), and what a task function
 * can ask about its task (argument, segments, identity) and answer
 * (reply, failure message).
 *
 * A worker process is started by the pool, runs the initializer once,
 * then one task at a time until the pool stops, the parent dies, or it is
 * recycled (shmpool_options::max_tasks_per_worker). Static state persists
 * between its tasks. It ignores SIGINT, SIGQUIT, SIGHUP and SIGTERM on
 * POSIX; its stdout and stderr are the parent's.
 * @{ */

/** Nonzero if this process was started as a pool worker. Call it first
 * thing in main():
 *
 *   if (shmpool_is_worker(argc, argv))
 *     return shmpool_worker_main(argc, argv, my_tasks);
 */
SHMPOOL_EXTERN int shmpool_is_worker(int argc, char **argv);

/** Serve tasks from `tasks` until the pool shuts down or the parent dies;
 * returns the exit status for main(): 0 after a normal shutdown, else 2 a
 * bad command line, 3 cannot attach to the pool, 4 a corrupt control
 * segment, 5 the parent died, 6 the initializer failed. The library never
 * prints; these codes are what a worker can tell. */
SHMPOOL_EXTERN int shmpool_worker_main(int argc, char **argv,
                                       const shmpool_task_def *tasks);

/** The task's argument (NULL when its length is 0). */
SHMPOOL_EXTERN const void *shmpool_task_arg(const shmpool_task *task,
                                            size_t *len);

/** The task's id: what shmpool_submit returned, or for shmpool_map the
 * element's index. */
SHMPOOL_EXTERN uint64_t shmpool_task_id(const shmpool_task *task);

/** The index of the worker running the task, 0 to workers - 1: stable
 * across the worker's replacement (like omp_get_thread_num()), for
 * per-worker scratch space. */
SHMPOOL_EXTERN unsigned shmpool_task_worker(const shmpool_task *task);

/** How many segments the task names. */
SHMPOOL_EXTERN size_t shmpool_task_nsegs(const shmpool_task *task);

/** The data of segment i (in the order given to submit / map), attached by
 * name and cached by this worker; *size (if not NULL) gets its size. NULL
 * if i is out of range. */
SHMPOOL_EXTERN void *shmpool_task_seg(shmpool_task *task, size_t i,
                                      size_t *size);

/** Set the task's reply (copied; the last call wins). Errors: EMSGSIZE
 * (longer than the pool's max_reply_size, or map's result_size). */
SHMPOOL_EXTERN int shmpool_task_reply(shmpool_task *task, const void *data,
                                      size_t len);

/** Say why the task fails: message (cut to SHMPOOL_MESSAGE_MAX bytes)
 * reaches the parent in shmpool_result::message. Returns `status`, so a
 * task can end with `return shmpool_task_fail(t, 3, "no such file");`.
 * Messages of shmpool_map elements are not delivered. */
SHMPOOL_EXTERN int shmpool_task_fail(shmpool_task *task, int status,
                                     const char *message);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* SHMPOOL_H */
