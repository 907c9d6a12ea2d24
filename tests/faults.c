/* See faults.h.
 *
 * SPDX-License-Identifier: MIT */
#include "faults.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "shmpool.h"
#include "support.h"

void seg_faults_on_create(const seg_fault_platform *p,
                          const seg_fault_case *cases, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char name[32];
    shmpool_seg *seg = (shmpool_seg *)&seg;
    long resources = p->count_resources();
    int generated = strcmp(cases[i].call, p->random_call) == 0;
    test_name(name, sizeof name, "inj");
    p->inject(cases[i].call, cases[i].err);
    assert_int_equal(shmpool_seg_create(&seg, generated ? NULL : name, 8192, 0),
                     cases[i].expected);
    p->restore();
    assert_null(seg);
    if (cases[i].records_err)
      assert_int_equal(shmpool_last_os_error(), cases[i].err);
    /* Nothing leaked: no descriptor or handle, and no object (the name is
     * free; counting all objects would race with tests running in
     * parallel). */
    assert_int_equal(p->count_resources(), resources);
    assert_int_equal(shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW),
                     SHMPOOL_ENOENT);
    assert_int_equal(shmpool_seg_create(&seg, name, 8192, 0), 0);
    assert_int_equal(shmpool_seg_close(seg), 0);
  }
}

void seg_faults_on_open(const seg_fault_platform *p,
                        const seg_fault_case *cases, size_t n) {
  char name[32];
  shmpool_seg *seg, *other;
  size_t i;
  test_name(name, sizeof name, "injopen");
  assert_int_equal(shmpool_seg_create(&seg, name, 8192, 0), 0);
  for (i = 0; i < n; i++) {
    long resources = p->count_resources();
    other = (shmpool_seg *)&other;
    p->inject(cases[i].call, cases[i].err);
    assert_int_equal(shmpool_seg_open(&other, name, 0), cases[i].expected);
    p->restore();
    assert_null(other);
    if (cases[i].records_err)
      assert_int_equal(shmpool_last_os_error(), cases[i].err);
    assert_int_equal(p->count_resources(), resources);
  }
  /* After all that, the segment is intact and still owned. */
  assert_int_equal(shmpool_seg_open(&other, name, 0), 0);
  shmpool_seg_close(other);
  assert_int_equal(shmpool_seg_close(seg), 0);
  assert_int_equal(shmpool_seg_open(&other, name, 0), SHMPOOL_ENOENT);
}

/* ---- pools ----------------------------------------------------------- */

/* Sleeps for the unsigned its argument holds, in ms (map elements). */
static int pool_fault_sleep(shmpool_task *t) {
  unsigned ms = 0;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (a != NULL && n == sizeof ms)
    memcpy(&ms, a, sizeof ms);
  test_sleep_ms(ms);
  return 0;
}

const shmpool_task_def pool_fault_tasks[] = {{"pid", test_task_pid},
                                             {"hang", test_task_hang},
                                             {"sleep", pool_fault_sleep},
                                             {NULL, NULL}};

shmpool_options pool_fault_options(unsigned workers) {
  shmpool_options o;
  shmpool_options_init(&o);
  o.workers = workers;
  o.tasks = pool_fault_tasks;
  o.shutdown_timeout_ms = 200;
  return o;
}

long pool_fault_destroy_when_kill_fails(void (*break_kill)(void),
                                        void (*restore)(void)) {
  shmpool_options o = pool_fault_options(1);
  shmpool *pool;
  shmpool_seg *probe;
  char ctl[SHMPOOL_NAME_MAX + 1];
  long pid;
  uint64_t t0, took;
  int rc;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  snprintf(ctl, sizeof ctl, "%s", shmpool_control_name(pool));
  pid = test_task_pid_of(pool);
  assert_true(pid > 0);
  assert_int_equal(shmpool_submit(pool, "hang", NULL, 0, NULL, 0, NULL), 0);
  test_sleep_ms(20);
  break_kill();
  t0 = test_now_ms();
  rc = shmpool_destroy(pool);
  took = test_now_ms() - t0;
  restore();
  assert_int_equal(rc, 0);
  /* The shutdown timeout, the wait after a kill, and slack for a loaded
   * machine. */
  assert_true(took < 200 + 2000 + 1000);
  assert_int_equal(shmpool_seg_open(&probe, ctl, 0), SHMPOOL_ENOENT);
  return pid;
}
