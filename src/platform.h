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
 *  - The system calls tests need to make fail go through the backend's
 *    system-call table (src/posix/sys.h, src/win32/sys.h). POSIX: the
 *    segment calls (shm_open, ftruncate, fchmod, fstat, fstatvfs, the
 *    reservation, mmap, munmap, close, shm_unlink), the random source,
 *    spawning, waitpid and kill. Windows: the mapping calls, VirtualQuery,
 *    CloseHandle, OpenProcessToken, GetTokenInformation, the random
 *    source, CreateWorkerProcess, CreateEventW/OpenEventW/SetEvent,
 *    WaitForSingleObject, TerminateProcess, GetExitCodeProcess and the
 *    job-object calls. Not in the tables: clocks, sleeping, futexes,
 *    threads and locks, a worker's own start-up and its watch on the
 *    parent, reading /proc, and on Windows the handle-list setup inside
 *    CreateWorkerProcess, GetModuleFileNameW and GetSystemInfo.
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
  /* Backend-private, held from shmpool__plat_seg_create until
   * shmpool__plat_seg_reserve (or unmap): POSIX the descriptor plus one,
   * Windows the marker of a create in progress (see create). */
  intptr_t pending;
  /* Set by shmpool__plat_seg_open: 1 if the object may be a create in
   * progress that has not yet finished writing its head, so that a missing
   * or torn header is no verdict yet and the caller should look again.
   * The backend decides this before the caller reads the header: if it
   * says 0, any head that a creator wrote is complete in the mapping. */
  int creating;
} shmpool__plat_map;

/* Longest OS-level name a backend needs for a portable name, with NUL. */
#define SHMPOOL__OS_NAME_MAX 40

/* The head of a segment: the bytes at offset 0 (the shmpool header) that
 * the creator writes before anyone can see the object at its full size. */
#define SHMPOOL__PLAT_HEAD_SIZE 64

/* Creating a segment takes two calls with the head written in between, so
 * that the portable layer writes the header itself and can mark it between
 * a failure and the removal of the name (a racing opener then sees
 * UNLINKED and reports ENOENT at once):
 *
 *   shmpool__plat_seg_create   the object exists, zero-filled, mapped;
 *   (the caller writes the head)
 *   shmpool__plat_seg_reserve  it has its full size and its pages.
 *
 * If reserve fails, the caller marks the header, removes the name with
 * shmpool__plat_seg_unlink and releases the mapping with
 * shmpool__plat_seg_unmap. docs/FORMAT.md ("How a segment is created")
 * describes what openers can see at each step. */

/* Create the object `name` (a validated portable name) exclusively,
 * accessible to the creating user only, zero-filled, and map it
 * read-write into *map.
 *
 * If with_head is nonzero, the caller writes SHMPOOL__PLAT_HEAD_SIZE bytes
 * at offset 0 next, and an opener that finds the object before then must
 * be told so by shmpool__plat_seg_open (map->creating), until reserve:
 *  - POSIX gives the object only the size of its head here, and reserve
 *    gives it map_size (except on macOS, where an object can be sized only
 *    once). An object of size 0 or of exactly the head's size whose status
 *    changed in the last SHMPOOL__PLAT_YOUNG_MS may be such a create.
 *  - Windows creates a section at its full size, so the head cannot come
 *    first; a named event "<name>:creating", made before the section and
 *    closed by reserve, says so instead, and disappears with its creator.
 * *map then covers at least the head (Linux maps the whole segment even
 * though the object is shorter yet; FreeBSD only the head).
 *
 * Errors: EEXIST (the name exists; nothing was touched), ENOSPC, ENOMEM,
 * EACCES, EMFILE, EIO. On failure the object is removed again (nobody saw
 * a head in it) and *map is zeroed. */
int shmpool__plat_seg_create(const char *name, size_t map_size, unsigned flags,
                             int with_head, shmpool__plat_map *map);

/* Finish a successful shmpool__plat_seg_create, after the head was
 * written: give the object its full map_size bytes, map all of it into
 * *map, and release map->pending. Called once per create.
 *
 * flags may contain SHMPOOL_SEG_NORESERVE. Without it the backend reserves
 * the backing store now (POSIX: posix_fallocate where the system has it;
 * Windows: SEC_COMMIT did it at create), so that running out of memory is
 * reported here as ENOSPC or ENOMEM and never later as a fault. With it,
 * the backend only checks that the backing file system has room for
 * map_size bytes, where it can tell.
 *
 * Errors: ENOSPC, ENOMEM, EIO. On failure the object and its name stay,
 * and *map still covers the head: the caller marks and removes them. */
int shmpool__plat_seg_reserve(shmpool__plat_map *map, size_t map_size,
                              unsigned flags);

/* How long after its last change (creation, resize) a POSIX object of size
 * 0 or of the head's size counts as a create that may still write its
 * head. Only such tiny objects are judged by age: the window it covers is
 * a few system calls long, so it matters only for a creator that is
 * stopped or starved right there, or died there. */
#define SHMPOOL__PLAT_YOUNG_MS 5000

/* Open the existing object `name` and map all of it: read-only if flags has
 * SHMPOOL_SEG_READONLY, else read-write. map_size is the object's size as
 * the OS reports it (possibly rounded up to a page). An object of size 0 is
 * not mapped: return 0 with base NULL and map_size 0. Unless flags has
 * SHMPOOL_SEG_RAW, set map->creating as described above.
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

/* Why the portable layer removes a name. */
typedef enum shmpool__unlink_mark {
  /* No shmpool header: nothing could be marked or claimed. */
  SHMPOOL__UNLINK_RAW = 0,
  /* The caller flipped the header's UNLINKED bit from 0 to 1, so it is the
   * one caller that removes this segment's name. Any other caller that
   * finds the bit set leaves the name alone: by then it may belong to a
   * newer segment. */
  SHMPOOL__UNLINK_CLAIMED = 1
} shmpool__unlink_mark;

/* Remove the name `name` (flags: SHMPOOL_SEG_GLOBAL), so new opens fail.
 *
 * POSIX removes the name (shm_unlink). Windows cannot remove a name from
 * a live object: the claimed UNLINKED mark is the removal, so it returns 0
 * for CLAIMED and ENOTSUP for RAW; the object goes with its last handle.
 *
 * Errors: ENOENT, EACCES, ENOTSUP, EIO. */
int shmpool__plat_seg_unlink(const char *name, unsigned flags,
                             shmpool__unlink_mark mark);

/* Call fn(name, ctx) for every shared-memory object whose name is a
 * portable name, as far as the OS can list them (flags: SHMPOOL_SEG_GLOBAL
 * on Windows). fn returns nonzero to stop. Linux lists /dev/shm (skipping
 * glibc's named semaphores, "sem.*"). Other systems have no portable way:
 * SHMPOOL_ENOTSUP (macOS has no listing at all; FreeBSD has the
 * kern.ipc.posix_shm_list sysctl; Windows would need the undocumented
 * NtQueryDirectoryObject). */
int shmpool__plat_seg_list(unsigned flags,
                           int (*fn)(const char *name, void *ctx), void *ctx);

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

/* Whether process pid, started at `start` (0: do not check), still runs:
 * 1 yes, 0 no (or the pid now belongs to a later process), -1 unknown. */
int shmpool__plat_proc_alive(uint64_t pid, uint64_t start);

/* The calling process's start time in an OS-specific unit that, together
 * with the pid, identifies a process across pid reuse (Linux: clock ticks
 * after boot from /proc/self/stat; Windows: the creation FILETIME). 0 when
 * the OS cannot tell. self_pid is shmpool__plat_pid(), passed in because
 * the caller has it already. Cheap after the first call. */
uint64_t shmpool__plat_proc_start(uint64_t self_pid);

/* ------------------------------------------------------------------------ */
/* Sleeping and waking across processes                                     */
/* ------------------------------------------------------------------------ */

/* A wake channel between processes: a 32-bit word in shared memory plus
 * whatever the backend needs beside it. Linux uses the word itself as a
 * futex and needs nothing else; Windows uses a named auto-reset event.
 * The portable layer owns the protocol: a sleeper announces itself in
 * shared memory, re-checks its condition, then waits; a waker bumps the
 * word and wakes only when a sleeper has announced itself, so a side that
 * is awake never costs the other a system call. */
typedef struct shmpool__plat_waker {
  intptr_t handle; /* backend-private (Windows: the event HANDLE) */
} shmpool__plat_waker;

/* Create (parent) or open (worker) the channel named after the control
 * segment `ctl_name` and `suffix` ("p", "w3"...). Errors: EMFILE, EACCES,
 * ENOENT (open only), EIO. */
int shmpool__plat_waker_create(shmpool__plat_waker *w, const char *ctl_name,
                               const char *suffix);
int shmpool__plat_waker_open(shmpool__plat_waker *w, const char *ctl_name,
                             const char *suffix);
/* Release it; accepts a zeroed waker. */
void shmpool__plat_waker_close(shmpool__plat_waker *w);

/* Sleep while *word == expected, for at most timeout_ms (-1: no limit).
 * May return early or spuriously; the caller re-checks its condition.
 * Returns 0 or SHMPOOL_ETIMEDOUT. */
int shmpool__plat_wait(shmpool__plat_waker *w, volatile uint32_t *word,
                       uint32_t expected, int timeout_ms);

/* Wake the sleeper(s) of this channel; the caller has already changed
 * *word. */
void shmpool__plat_wake(shmpool__plat_waker *w, volatile uint32_t *word);

/* ------------------------------------------------------------------------ */
/* Worker processes                                                         */
/* ------------------------------------------------------------------------ */

/* The command line that makes a process a worker:
 * "<exe> [worker args...] --shmpool-worker <control segment name>". */
#define SHMPOOL__WORKER_FLAG "--shmpool-worker"

/* The environment variable every worker is started with (its value: the
 * control segment's name). shmpool_worker_main removes it at once, so a
 * process that still has it was started as a worker and never handed over
 * to shmpool_worker_main: its main() forgot shmpool_is_worker(). */
#define SHMPOOL__WORKER_ENV "SHMPOOL_WORKER_OF"

/* Whether the environment variable `name` is set in this process. */
int shmpool__plat_env_is_set(const char *name);

/* Remove `name` from this process's environment (for its future
 * children). Called only at the start of shmpool_worker_main. */
void shmpool__plat_env_unset(const char *name);

/* How a process ended. */
typedef struct shmpool__plat_exit {
  int exit_code;   /* exit status; -1 when killed by a signal or unknown */
  int term_signal; /* POSIX: the signal that killed it; else 0 */
} shmpool__plat_exit;

/* A started worker process. */
typedef struct shmpool__plat_proc {
  intptr_t handle; /* Windows: the process HANDLE */
  uint64_t pid;
} shmpool__plat_proc;

/* Called by spawn with the new process's pid before the process can have
 * done anything that depends on it (Windows starts it suspended; on POSIX
 * the worker waits for its pid to appear in the control segment). */
typedef void (*shmpool__plat_pid_fn)(uint64_t pid, void *ctx);

/* The path of the running executable, for re-executing it as a worker:
 * the program's own file, never an interpreter such as valgrind or the
 * dynamic loader run explicitly (Linux: what /proc/self/exe resolves to,
 * falling back to /proc/self/exe itself if that file was deleted; macOS:
 * _NSGetExecutablePath; Windows: GetModuleFileNameW). Returns a malloc'd
 * UTF-8 string in *path. Errors: ENOTSUP, ENOMEM. */
int shmpool__plat_self_exe(char **path);

/* The number of CPUs this process may run on; at least 1. */
unsigned shmpool__plat_cpu_count(void);

/* Start `exe` with the arguments `args` (NULL-terminated; NULL for none)
 * followed by "--shmpool-worker <ctl_name>": a new process image
 * (posix_spawn / CreateProcessW, never a bare fork), with stdio inherited
 * and no other descriptor or handle, default signal dispositions and an
 * empty signal mask, this process's environment plus SHMPOOL__WORKER_ENV,
 * and (Windows) inside a job object that kills it when this process's
 * last handle to the job goes. publish(pid, ctx) is called as described
 * above. Errors: EINVAL (Windows: a path or argument that is not UTF-8),
 * ESPAWN (with the OS error recorded), ENOMEM, EMFILE. */
int shmpool__plat_spawn(shmpool__plat_proc *p, const char *exe,
                        const char *const *args, const char *ctl_name,
                        shmpool__plat_pid_fn publish, void *ctx);

/* Has it ended? Returns 0 if it runs, 1 if it ended (it is then reaped,
 * its handle released, and *ex filled), or a negative SHMPOOL_E* code. */
int shmpool__plat_proc_poll(shmpool__plat_proc *p, shmpool__plat_exit *ex);

/* Wait up to timeout_ms (-1: no limit) for it to end; 1 if it ended (reaped,
 * *ex filled), 0 on timeout. */
int shmpool__plat_proc_wait(shmpool__plat_proc *p, int timeout_ms,
                            shmpool__plat_exit *ex);

/* Kill it hard (SIGKILL / TerminateProcess); reap it with poll or wait. */
void shmpool__plat_proc_kill(shmpool__plat_proc *p);

/* Give up on a process that did not die when killed: release the handle
 * without reaping it, so nobody waits on it forever. */
void shmpool__plat_proc_release(shmpool__plat_proc *p);

/* Worker side, first thing: make crashes end the process plainly (no
 * Windows error dialog); POSIX: ignore SIGINT, SIGQUIT, SIGHUP and
 * SIGTERM, so a Ctrl-C or hang-up aimed at the whole process group ends
 * the parent and not its workers, which then clean up after it; and
 * arrange for this process to call orphaned(ctx) and then exit promptly
 * if the process parent_pid (whose start time is parent_start, 0 if
 * unknown) dies: a watch thread on a pidfd, a kqueue or a process handle,
 * or polling. orphaned runs on the watch thread while a task may still be
 * running. Returns 0, or SHMPOOL_ESPAWN if the parent is already gone. */
typedef void (*shmpool__plat_orphan_fn)(void *ctx);
int shmpool__plat_worker_init(uint64_t parent_pid, uint64_t parent_start,
                              shmpool__plat_orphan_fn orphaned, void *ctx);

/* ------------------------------------------------------------------------ */
/* Threads of the calling process                                           */
/* ------------------------------------------------------------------------ */

/* A mutex with one condition variable: what makes a pool safe to call from
 * several threads at once. */
typedef struct shmpool__plat_monitor shmpool__plat_monitor;

/* Errors: ENOMEM, EIO. */
int shmpool__plat_monitor_create(shmpool__plat_monitor **m);
/* Accepts NULL. Nobody may hold or wait on it. */
void shmpool__plat_monitor_destroy(shmpool__plat_monitor *m);
void shmpool__plat_monitor_lock(shmpool__plat_monitor *m);
void shmpool__plat_monitor_unlock(shmpool__plat_monitor *m);
/* With the lock held: release it and wait for a broadcast, at most
 * timeout_ms (-1: no limit), then take it again. May return early. */
void shmpool__plat_monitor_wait(shmpool__plat_monitor *m, int timeout_ms);
void shmpool__plat_monitor_broadcast(shmpool__plat_monitor *m);

/* An id of the calling thread, unique among this process's live threads. */
uint64_t shmpool__plat_thread_id(void);

/* A number that changes in the child of every fork() (POSIX: counted by a
 * pthread_atfork handler registered on the first call; Windows cannot fork:
 * always 0). A pool compares it with the value at its creation. */
uint32_t shmpool__plat_fork_generation(void);

#endif /* SHMPOOL_PLATFORM_H */
