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

/** Every error code, its value and its description. The values are part of
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
  XX(EIO, -19, "unexpected operating system error")                            \
  XX(EIDLE, -20, "nothing to wait for: no task is in flight")

enum shmpool_errno {
#define SHMPOOL_ERRNO_ENUM_(name, value, text) SHMPOOL_##name = (value),
  SHMPOOL_ERRNO_MAP(SHMPOOL_ERRNO_ENUM_)
#undef SHMPOOL_ERRNO_ENUM_
      SHMPOOL_ERRNO_END_ = -21
};

/** A sentence describing err ("no such segment"). Unknown codes give
 * "unknown error". Never NULL. */
SHMPOOL_EXTERN const char *shmpool_strerror(int err);

/** The symbolic name of err ("SHMPOOL_ENOENT"), or "SHMPOOL_E?" for an
 * unknown code. Never NULL. */
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

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/** A mapped named shared-memory segment. */
typedef struct shmpool_seg shmpool_seg;

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

/** Longest portable segment name, without the terminating NUL. */
#define SHMPOOL_NAME_MAX 30

/** Create a new segment of exactly `size` user bytes and map it read-write.
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

/* ------------------------------------------------------------------------ */
/* Worker pool                                                              */
/* ------------------------------------------------------------------------ */

/** A pool of worker processes. Used from one thread at a time; not usable in
 * a child created by fork() after the pool (create a new pool there). */
typedef struct shmpool shmpool;

/** A task as a worker sees it, valid during the task function's call. */
typedef struct shmpool_task shmpool_task;

/** A task function: returns 0, or a nonzero status of its own (positive
 * values, so they never collide with SHMPOOL_E* codes). */
typedef int (*shmpool_task_fn)(shmpool_task *task);

/** One entry of a task table: a name (at most SHMPOOL_TASK_NAME_MAX
 * characters) and its function. A table ends with {NULL, NULL}. */
typedef struct shmpool_task_def {
  const char *name;
  shmpool_task_fn fn;
} shmpool_task_def;

#define SHMPOOL_TASK_NAME_MAX 63
/** Most segments one task may name. */
#define SHMPOOL_TASK_SEGS_MAX 16

typedef struct shmpool_options {
  /** Worker processes; 0 means one per CPU. */
  unsigned workers;
  /** The task table, if the parent knows it (same executable): submit then
   * rejects an unknown name at once with SHMPOOL_ENOTASK. NULL: the worker
   * decides, and an unknown name completes with SHMPOOL_ENOTASK. */
  const shmpool_task_def *tasks;
  /** Executable to start as a worker; NULL means this executable. It must
   * call shmpool_is_worker() / shmpool_worker_main() first thing in main. */
  const char *worker_path;
  /** A task run once in every worker before it takes work (like Python's
   * Pool(initializer=, initargs=)), with init_arg as its argument; NULL for
   * none. If it fails in any worker, shmpool_create fails with its status. */
  const char *init_task;
  const void *init_arg;
  size_t init_arg_len;
  /** Largest task argument, in bytes; 0 means 256. */
  size_t max_arg_size;
  /** Largest reply of a submitted task, in bytes; 0 means 256. */
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
} shmpool_options;

/** Fill opts with defaults (all zero / NULL). Always call it first: fields
 * may be added at the end in later minor versions. */
SHMPOOL_EXTERN void shmpool_options_init(shmpool_options *opts);

/** Start a pool: create its control segment, start the workers (new process
 * images: posix_spawn / CreateProcessW; nothing but stdio is inherited),
 * wait until every worker has run the initializer and is ready.
 *
 * Errors: EINVAL (bad options), ESPAWN (a worker could not be started, or
 * died or timed out before it was ready), a failing initializer's own
 * status, or a segment error (ENOSPC, ENOMEM, EMFILE) for the control
 * segment. On failure nothing is left running or mapped.
 *
 * POSIX: workers are reaped with waitpid() on their own pids; a program
 * that sets SIGCHLD to SIG_IGN or reaps every child itself hides their exit
 * status (EWORKER results then carry exit_code -1).
 * Workers exit within a second of the parent's death (Linux: a pidfd watch;
 * elsewhere kqueue or polling; Windows: a job object that kills them when
 * the parent's last handle goes, plus a watch on the parent process). */
SHMPOOL_EXTERN int shmpool_create(shmpool **pool, const shmpool_options *opts);

/** Queue one task: the registered name `task`, an argument (copied; at most
 * max_arg_size bytes) and up to SHMPOOL_TASK_SEGS_MAX segments that the
 * worker attaches by name, in the same order (shmpool_task_seg). Workers
 * map a segment with the access of the handle passed here: pass a handle
 * opened with SHMPOOL_SEG_READONLY for read-only workers.
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
 * opts.tasks), EWORKER (no worker left alive and none can be started). */
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

/** The outcome of one task. */
typedef struct shmpool_result {
  uint64_t id;      /**< as returned by submit */
  int status;       /**< the task function's return value, or SHMPOOL_E* */
  const void *data; /**< the reply; valid until the next shmpool_wait() */
  size_t len;
  /** For SHMPOOL_EWORKER: how the worker ended. exit_code is its exit
   * status (Windows: the process exit code, e.g. 0xC0000005 for an access
   * violation), or -1 if it was killed by a signal or is unknown;
   * term_signal is the POSIX signal that killed it, else 0. */
  int exit_code;
  int term_signal;
} shmpool_result;

/** Wait for the next task to complete, in completion order, up to
 * timeout_ms (0: poll, -1: as long as needed).
 *
 * Errors: ETIMEDOUT, EIDLE (no task is in flight: nothing to wait for).
 * A task's own failure is not an error of wait: it is res->status. */
SHMPOOL_EXTERN int shmpool_wait(shmpool *pool, shmpool_result *res,
                                int timeout_ms);

/** Run `task` on n arguments (args + i * arg_size; arg_size may be 0, the
 * task then tells elements apart by shmpool_task_id()) across the workers
 * in chunks, and wait for all of them. Element i's reply goes to
 * results + i * result_size (zero-padded; a reply longer than result_size
 * is refused with EMSGSIZE to the task), and its status to statuses[i] if
 * statuses is not NULL. Tasks submitted earlier keep running; their results
 * stay available to shmpool_wait().
 *
 * Returns 0 if every element's status is 0, else the status of the first
 * failing element by index (a task's own code, EWORKER, ENOTASK...), or a
 * pool error (EINVAL, ENOMEM, ENOSPC) before anything ran. */
SHMPOOL_EXTERN int shmpool_map(shmpool *pool, const char *task,
                               const void *args, size_t arg_size, size_t n,
                               shmpool_seg *const *segs, size_t nsegs,
                               void *results, size_t result_size,
                               int *statuses);

/** The number of worker processes. */
SHMPOOL_EXTERN unsigned shmpool_workers(const shmpool *pool);

/** The name of the pool's control segment (for diagnostics and the shmpool
 * tool: a pool whose process was killed leaves it behind on POSIX). */
SHMPOOL_EXTERN const char *shmpool_control_name(const shmpool *pool);

/** Stop the pool: workers finish the task they are running and exit; any
 * still running after shutdown_timeout_ms are killed. Results not yet
 * waited for are discarded, the pool's segment references released, and
 * its control segment removed. NULL is fine. Returns 0. */
SHMPOOL_EXTERN int shmpool_destroy(shmpool *pool);

/* ---- worker side ------------------------------------------------------- */

/** Nonzero if this process was started as a pool worker. Call it first
 * thing in main():
 *
 *   if (shmpool_is_worker(argc, argv))
 *     return shmpool_worker_main(argc, argv, my_tasks);
 */
SHMPOOL_EXTERN int shmpool_is_worker(int argc, char **argv);

/** Serve tasks from `tasks` until the pool shuts down or the parent dies;
 * returns the exit status for main(). */
SHMPOOL_EXTERN int shmpool_worker_main(int argc, char **argv,
                                       const shmpool_task_def *tasks);

/** The task's argument (NULL when its length is 0). */
SHMPOOL_EXTERN const void *shmpool_task_arg(const shmpool_task *task,
                                            size_t *len);

/** The task's id: what shmpool_submit returned, or for shmpool_map the
 * element's index. */
SHMPOOL_EXTERN uint64_t shmpool_task_id(const shmpool_task *task);

/** How many segments the task names. */
SHMPOOL_EXTERN size_t shmpool_task_nsegs(const shmpool_task *task);

/** The data of segment i (in the order given to submit / map), attached by
 * name and cached by this worker; *size (if not NULL) gets its size. NULL
 * if i is out of range. */
SHMPOOL_EXTERN void *shmpool_task_seg(shmpool_task *task, size_t i,
                                      size_t *size);

/** Set the task's reply (copied; the last call wins). Errors: EMSGSIZE (longer
 * than the pool's max_reply_size, or map's result_size). */
SHMPOOL_EXTERN int shmpool_task_reply(shmpool_task *task, const void *data,
                                      size_t len);

#ifdef __cplusplus
}
#endif

#endif /**< SHMPOOL_H */
