/* POSIX fault injection beyond segment create/open: pool start, submit,
 * close and destroy with system calls failing through the backend's
 * system-call table. Each case checks the documented error and that no
 * descriptor, segment or process is left behind.
 *
 * The test binary is also the worker image; injected failures only touch
 * the parent (the table is per process). Every case runs between
 * restore_syscalls() calls (CMocka setup and teardown), so a failed
 * assertion never leaves the table patched for the cases after it.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "internal.h"
#include "posix/sys.h"
#include "shmpool.h"
#include "support.h"

static shmpool__posix_syscalls saved;

static int restore_syscalls(void **state) {
  (void)state;
  shmpool__posix_sys = saved;
  return 0;
}

/* ---- injections --------------------------------------------------------- */

static int spawn_calls, spawn_fail_from, spawn_errno;
static int counting_spawn(pid_t *pid, const char *path, char *const argv[],
                          char *const envp[]) {
  if (++spawn_calls >= spawn_fail_from)
    return spawn_errno;
  return saved.spawn(pid, path, argv, envp);
}

static int fail_errno;
static int fail_shm_open(const char *n, int f, mode_t m) {
  (void)n, (void)f, (void)m;
  errno = fail_errno;
  return -1;
}
static void *fail_mmap(void *a, size_t l, int p, int f, int fd, off_t o) {
  (void)a, (void)l, (void)p, (void)f, (void)fd, (void)o;
  errno = fail_errno;
  return MAP_FAILED;
}
static int fail_munmap(void *a, size_t l) {
  saved.munmap(a, l); /* really unmap, then report failure */
  errno = fail_errno;
  return -1;
}
static int fail_shm_unlink(const char *n) {
  (void)n;
  errno = fail_errno;
  return -1;
}
static pid_t echild_waitpid(pid_t pid, int *status, int options) {
  /* Someone else reaped our child (SIGCHLD ignored, a waitpid(-1)). */
  pid_t r = saved.waitpid(pid, status, options);
  if (r == pid) {
    errno = ECHILD;
    return -1;
  }
  return r;
}

static void assert_nothing_left(int fds, int segs) {
  assert_int_equal(test_count_fds(), fds);
  assert_int_equal(test_count_my_segments(), segs);
  assert_int_equal(test_count_children(), 0);
}

/* ---- pool start ------------------------------------------------------- */

static void test_create_spawn_fails(void **state) {
  static const int fail_from[] = {1, 2};
  int fds = test_count_fds(), segs = test_count_my_segments();
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    shmpool_options o = pool_fault_options(2);
    shmpool *pool = (shmpool *)&pool;
    spawn_calls = 0;
    spawn_fail_from = fail_from[i];
    spawn_errno = EAGAIN;
    shmpool__posix_sys.spawn = counting_spawn;
    /* The first worker may already run when the second cannot start: it
     * must be stopped and reaped, the control segment removed. */
    assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ESPAWN);
    shmpool__posix_sys = saved;
    assert_null(pool);
    assert_int_equal(shmpool_last_os_error(), EAGAIN);
    assert_nothing_left(fds, segs);
  }
}

static void test_create_control_segment_fails(void **state) {
  int fds = test_count_fds(), segs = test_count_my_segments();
  shmpool_options o = pool_fault_options(2);
  shmpool *pool;
  (void)state;
  fail_errno = EMFILE;
  shmpool__posix_sys.shm_open = fail_shm_open;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EMFILE);
  shmpool__posix_sys = saved;
  assert_nothing_left(fds, segs);
  fail_errno = ENOMEM;
  shmpool__posix_sys.mmap = fail_mmap;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ENOMEM);
  shmpool__posix_sys = saved;
  assert_nothing_left(fds, segs);
}

/* ---- a pool whose workers die and cannot be replaced ------------------- */

/* From now on no worker can be started; then one worker is killed. */
static void kill_a_worker_for_good(shmpool *pool) {
  spawn_calls = 0;
  spawn_fail_from = 1;
  spawn_errno = EAGAIN;
  shmpool__posix_sys.spawn = counting_spawn;
  kill((pid_t)test_task_pid_of(pool), SIGKILL);
}

static void test_no_replacement_possible(void **state) {
  int fds = test_count_fds(), segs = test_count_my_segments();
  shmpool_options o = pool_fault_options(2);
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  uint64_t t0;
  int rc, i;
  (void)state;
  o.workers = 1;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  /* From now on no worker can be started. */
  kill_a_worker_for_good(pool);
  /* Submitting never hangs: once the pool has given up on starting a
   * worker, submit says there is none. Tasks accepted before that
   * complete with EWORKER. */
  t0 = test_now_ms();
  for (i = 0;; i++) {
    rc = shmpool_submit_timeout(pool, "pid", NULL, 0, NULL, 0, NULL, 100);
    if (rc == SHMPOOL_EWORKER)
      break;
    assert_true(rc == 0 || rc == SHMPOOL_EAGAIN);
    assert_true(test_now_ms() - t0 < 20000);
  }
  while ((rc = shmpool_wait(pool, &r, 1000)) == 0)
    assert_int_equal(r.status, SHMPOOL_EWORKER);
  assert_int_equal(rc, SHMPOOL_EIDLE);
  shmpool__posix_sys = saved;
  assert_int_equal(shmpool_destroy(pool), 0);
  assert_nothing_left(fds, segs);
}

/* A map whose schedule keeps chunks for a worker that is gone for good:
 * the shape is remembered with slow chunks (so a cold steal looks dear
 * next to this map's fast pace), then one worker dies and cannot be
 * replaced. The survivor must take the dead worker's chunks at once, not
 * leave them until the cost estimate says a steal pays. */
static void test_map_outlives_a_worker_that_cannot_be_replaced(void **state) {
  enum { N = 16 };
  int fds = test_count_fds(), segs = test_count_my_segments();
  shmpool_options o = pool_fault_options(2);
  shmpool_map_options mo;
  shmpool *pool;
  shmpool_result r;
  unsigned ms[N];
  int statuses[N], i;
  uint64_t t0;
  (void)state;
  shmpool_result_init(&r);
  shmpool_map_options_init(&mo);
  mo.chunk_size = 1;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  for (i = 0; i < N; i++)
    ms[i] = 100;
  assert_int_equal(shmpool_map_ex(pool, "sleep", ms, sizeof ms[0], N, NULL, 0,
                                  NULL, 0, statuses, &mo),
                   0);
  for (i = 0; i < N; i++)
    ms[i] = 0;
  assert_int_equal(shmpool_map_ex(pool, "sleep", ms, sizeof ms[0], N, NULL, 0,
                                  NULL, 0, statuses, &mo),
                   0);
  /* One of the two dies for good, and the pool notices. */
  kill_a_worker_for_good(pool);
  t0 = test_now_ms();
  while (spawn_calls == 0 && test_now_ms() - t0 < 10000) {
    /* A task in flight makes wait look at the workers. */
    assert_int_equal(shmpool_submit(pool, "pid", NULL, 0, NULL, 0, NULL), 0);
    (void)shmpool_wait(pool, &r, 1000);
  }
  assert_true(spawn_calls > 0);
  mo.timeout_ms = 10000;
  t0 = test_now_ms();
  assert_int_equal(shmpool_map_ex(pool, "sleep", ms, sizeof ms[0], N, NULL, 0,
                                  NULL, 0, statuses, &mo),
                   0);
  /* 16 empty elements on one worker. Waiting for the estimate instead
   * (a cold chunk costs what the first map's did, 100 ms) would take
   * about 750 ms until the last chunk is worth stealing. */
  assert_true(test_now_ms() - t0 < 300);
  for (i = 0; i < N; i++)
    assert_int_equal(statuses[i], 0);
  shmpool__posix_sys = saved;
  assert_int_equal(shmpool_destroy(pool), 0);
  assert_nothing_left(fds, segs);
}

static void test_someone_else_reaps_a_worker(void **state) {
  shmpool_options o = pool_fault_options(2);
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  uint64_t id;
  (void)state;
  o.workers = 1;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  shmpool__posix_sys.waitpid = echild_waitpid;
  assert_int_equal(shmpool_submit(pool, "hang", NULL, 0, NULL, 0, &id), 0);
  test_sleep_ms(50);
  /* The task hangs: kill the worker without asking the pool. */
  test_kill_workers_of(shmpool_control_name(pool));
  assert_int_equal(shmpool_wait(pool, &r, 30000), 0);
  assert_true(r.id == id);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
  assert_int_equal(r.exit_code, -1); /* how it ended is unknown */
  shmpool__posix_sys = saved;
  /* A replacement serves the next task. */
  assert_true(test_task_pid_of(pool) > 0);
  assert_int_equal(shmpool_destroy(pool), 0);
}

/* ---- destroy ----------------------------------------------------------- */

static int fail_kill(pid_t pid, int sig) {
  (void)pid, (void)sig;
  errno = EPERM;
  return -1;
}

static void break_kill(void) {
  shmpool__posix_sys.kill = fail_kill;
}

static void restore(void) {
  shmpool__posix_sys = saved;
}

static void test_destroy_when_kill_fails(void **state) {
  long pid;
  (void)state;
  pid = pool_fault_destroy_when_kill_fails(break_kill, restore);
  /* What the pool gave up on, we end and reap. */
  kill((pid_t)pid, SIGKILL);
  assert_int_equal(waitpid((pid_t)pid, NULL, 0), (pid_t)pid);
  assert_int_equal(test_count_children(), 0);
}

/* ---- close ------------------------------------------------------------- */

static void test_close_failures(void **state) {
  char name[32];
  shmpool_seg *seg, *probe;
  int fds = test_count_fds();
  (void)state;
  test_name(name, sizeof name, "closefail");
  /* munmap fails: close says so, and still frees and unlinks. */
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, 0), 0);
  fail_errno = EINVAL;
  shmpool__posix_sys.munmap = fail_munmap;
  assert_int_equal(shmpool_seg_close(seg), SHMPOOL_EIO);
  shmpool__posix_sys = saved;
  assert_int_equal(shmpool_seg_open(&probe, name, 0), SHMPOOL_ENOENT);
  /* shm_unlink fails: close reports it (the name stays). */
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, 0), 0);
  fail_errno = EACCES;
  shmpool__posix_sys.shm_unlink = fail_shm_unlink;
  assert_int_equal(shmpool_seg_close(seg), SHMPOOL_EACCES);
  shmpool__posix_sys = saved;
  assert_int_equal(shmpool_last_os_error(), EACCES);
  assert_int_equal(shmpool_seg_unlink(name), 0);
  assert_int_equal(test_count_fds(), fds);
}

int main(int argc, char **argv) {
  const struct CMUnitTest fault_tests[] = {
      cmocka_unit_test_setup_teardown(test_create_spawn_fails, restore_syscalls,
                                      restore_syscalls),
      cmocka_unit_test_setup_teardown(test_create_control_segment_fails,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_no_replacement_possible,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(
          test_map_outlives_a_worker_that_cannot_be_replaced, restore_syscalls,
          restore_syscalls),
      cmocka_unit_test_setup_teardown(test_someone_else_reaps_a_worker,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_close_failures, restore_syscalls,
                                      restore_syscalls),
      cmocka_unit_test_setup_teardown(test_destroy_when_kill_fails,
                                      restore_syscalls, restore_syscalls),
  };
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, pool_fault_tasks);
  saved = shmpool__posix_sys;
  return cmocka_run_group_tests(fault_tests, NULL, NULL);
}
