/* Windows fault injection for the pool: process creation, event creation
 * and process termination failing through the backend's system-call table.
 * Each case checks the documented error, that a worker already started is
 * gone, and that the pool can then start normally.
 *
 * Every case runs between restore_syscalls() calls (CMocka setup and
 * teardown), so a failed assertion never leaves the table patched for the
 * cases after it.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "faults.h"
#include "internal.h"
#include "shmpool.h"
#include "support.h"
#include "win32/sys.h"

static shmpool__win_syscalls saved;
static int calls, fail_from;
static DWORD fail_error, started_pid;

static int restore_syscalls(void **state) {
  (void)state;
  shmpool__win_sys = saved;
  return 0;
}

static BOOL WINAPI counting_create(WCHAR *exe, WCHAR *cmd, WCHAR *env,
                                   PROCESS_INFORMATION *pi) {
  BOOL ok;
  if (++calls >= fail_from) {
    SetLastError(fail_error);
    return FALSE;
  }
  ok = saved.CreateWorkerProcess(exe, cmd, env, pi);
  if (ok)
    started_pid = pi->dwProcessId;
  return ok;
}

static HANDLE WINAPI counting_event(LPSECURITY_ATTRIBUTES sa, BOOL manual,
                                    BOOL initial, LPCWSTR name) {
  if (++calls >= fail_from) {
    SetLastError(fail_error);
    return NULL;
  }
  return saved.CreateEventW(sa, manual, initial, name);
}

static BOOL WINAPI fail_terminate(HANDLE process, UINT code) {
  (void)process, (void)code;
  calls++;
  SetLastError(ERROR_ACCESS_DENIED);
  return FALSE;
}

static BOOL WINAPI fail_exit_code(HANDLE process, LPDWORD code) {
  (void)process, (void)code;
  calls++;
  SetLastError(ERROR_ACCESS_DENIED);
  return FALSE;
}

static BOOL WINAPI fail_assign(HANDLE job, HANDLE process) {
  (void)job, (void)process;
  calls++;
  SetLastError(ERROR_ACCESS_DENIED);
  return FALSE;
}

static void assert_pool_works(void) {
  shmpool_options o = pool_fault_options(2);
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  assert_int_equal(shmpool_create(&pool, &o), 0);
  assert_true(test_task_pid_of(pool) > 0);
  assert_int_equal(shmpool_destroy(pool), 0);
}

static void test_process_creation_fails(void **state) {
  static const int from[] = {1, 2};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    shmpool_options o = pool_fault_options(2);
    shmpool *pool = (shmpool *)&pool;
    calls = 0;
    fail_from = from[i];
    fail_error = ERROR_NOT_ENOUGH_QUOTA;
    started_pid = 0;
    shmpool__win_sys.CreateWorkerProcess = counting_create;
    assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ESPAWN);
    shmpool__win_sys = saved;
    assert_null(pool);
    assert_int_equal(shmpool_last_os_error(), (int)ERROR_NOT_ENOUGH_QUOTA);
    /* The worker that did start has been stopped. */
    if (started_pid != 0)
      assert_false(test_pid_alive((long)started_pid));
    assert_pool_works();
  }
}

static void test_event_creation_fails(void **state) {
  static const int from[] = {1, 2, 3};
  size_t i;
  (void)state;
  for (i = 0; i < 3; i++) {
    shmpool_options o = pool_fault_options(2);
    shmpool *pool = (shmpool *)&pool;
    calls = 0;
    fail_from = from[i];
    fail_error = ERROR_NO_SYSTEM_RESOURCES;
    shmpool__win_sys.CreateEventW = counting_event;
    assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ENOMEM);
    shmpool__win_sys = saved;
    assert_null(pool);
    assert_pool_works();
  }
}

/* The twin of tests/posix/test_posix_faults.c's case: a worker hangs in a
 * task past the shutdown deadline, and the TerminateProcess that should
 * end it fails. destroy must still return, promptly. */
static void break_kill(void) {
  calls = 0;
  shmpool__win_sys.TerminateProcess = fail_terminate;
}

static void restore(void) {
  shmpool__win_sys = saved;
}

static void test_destroy_when_kill_fails(void **state) {
  long pid;
  (void)state;
  pid = pool_fault_destroy_when_kill_fails(break_kill, restore);
  assert_true(calls >= 1); /* the kill went through the table, and failed */
  /* What the pool gave up on, we end. */
  assert_true(test_pid_alive(pid));
  test_kill_pid(pid);
}

/* A worker dies and GetExitCodeProcess cannot say how: its task still
 * completes with EWORKER, exit_code -1 ("unknown", where a working call
 * would give the 9 test_kill_pid uses), and a replacement serves on. */
static void test_exit_code_unknown(void **state) {
  shmpool_options o = pool_fault_options(1);
  shmpool *pool;
  shmpool_result r;
  uint64_t id;
  long pid;
  (void)state;
  shmpool_result_init(&r);
  assert_int_equal(shmpool_create(&pool, &o), 0);
  pid = test_task_pid_of(pool);
  assert_true(pid > 0);
  assert_int_equal(shmpool_submit(pool, "hang", NULL, 0, NULL, 0, &id), 0);
  test_sleep_ms(20);
  calls = 0;
  shmpool__win_sys.GetExitCodeProcess = fail_exit_code;
  test_kill_pid(pid);
  assert_int_equal(shmpool_wait(pool, &r, 30000), 0);
  shmpool__win_sys = saved;
  assert_true(r.id == id);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
  assert_true(calls >= 1);
  assert_int_equal(r.exit_code, -1);
  assert_true(test_task_pid_of(pool) > 0);
  assert_int_equal(shmpool_destroy(pool), 0);
}

/* A job that refuses ours (a parent job whose limits conflict): workers
 * then run outside it, and the pool starts and serves all the same. */
static void test_job_assignment_refused(void **state) {
  (void)state;
  calls = 0;
  shmpool__win_sys.AssignProcessToJobObject = fail_assign;
  assert_pool_works();
  shmpool__win_sys = saved;
  assert_int_equal(calls, 2); /* one per worker */
}

int main(int argc, char **argv) {
  const struct CMUnitTest fault_tests[] = {
      cmocka_unit_test_setup_teardown(test_process_creation_fails,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_event_creation_fails,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_destroy_when_kill_fails,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_exit_code_unknown, restore_syscalls,
                                      restore_syscalls),
      cmocka_unit_test_setup_teardown(test_job_assignment_refused,
                                      restore_syscalls, restore_syscalls),
  };
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, pool_fault_tasks);
  saved = shmpool__win_sys;
  return cmocka_run_group_tests(fault_tests, NULL, NULL);
}
