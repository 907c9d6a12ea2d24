/* Windows fault injection for the pool: process creation and event
 * creation failing through the backend's system-call table during pool
 * start. Each case checks the documented error, that a worker already
 * started is gone, and that the pool can then start normally.
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

#include "internal.h"
#include "shmpool.h"
#include "support.h"
#include "win32/sys.h"

static int t_pid(shmpool_task *t) {
  long pid = test_getpid();
  return shmpool_task_reply(t, &pid, sizeof pid);
}

static const shmpool_task_def tasks[] = {{"pid", t_pid}, {NULL, NULL}};

static shmpool__win_syscalls saved;
static int calls, fail_from;
static DWORD fail_error, started_pid;

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

static shmpool_options two_workers(void) {
  shmpool_options o;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  return o;
}

static void assert_pool_works(void) {
  shmpool_options o = two_workers();
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  assert_int_equal(shmpool_create(&pool, &o), 0);
  assert_int_equal(shmpool_submit(pool, "pid", NULL, 0, NULL, 0, NULL), 0);
  assert_int_equal(shmpool_wait(pool, &r, 30000), 0);
  assert_int_equal(r.status, 0);
  assert_int_equal(shmpool_destroy(pool), 0);
}

static void test_process_creation_fails(void **state) {
  static const int from[] = {1, 2};
  size_t i;
  (void)state;
  for (i = 0; i < 2; i++) {
    shmpool_options o = two_workers();
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
    shmpool_options o = two_workers();
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

int main(int argc, char **argv) {
  const struct CMUnitTest fault_tests[] = {
      cmocka_unit_test(test_process_creation_fails),
      cmocka_unit_test(test_event_creation_fails),
  };
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  saved = shmpool__win_sys;
  return cmocka_run_group_tests(fault_tests, NULL, NULL);
}
