/* The worker pool, through the public API: tasks and statuses, the
 * initializer, queues and back-pressure, map, segments named by tasks and
 * their lifetime, workers that crash, exit or are killed, the parent's
 * death, descriptor hygiene, and nothing left behind.
 *
 * This executable is also its own worker image: main() hands over to
 * shmpool_worker_main() when started as a worker.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shmpool.h"
#include "support.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* ==== tasks (run in the workers) ========================================= */

static unsigned char g_init[64];
static size_t g_init_len;

static int t_status(shmpool_task *t) {
  int v = 0;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (n == sizeof v)
    memcpy(&v, a, sizeof v);
  return v;
}

static int t_sleep_pid(shmpool_task *t) {
  unsigned ms = 0;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (n == sizeof ms)
    memcpy(&ms, a, sizeof ms);
  test_sleep_ms(ms);
  return test_task_pid(t);
}

static int t_abort(shmpool_task *t) {
  (void)t;
  abort();
}

static int t_exit7(shmpool_task *t) {
  (void)t;
  exit(7);
}

/* Publish our pid in segment 0 (slot given by the argument), then hang. */
static int t_pid_then_hang(shmpool_task *t) {
  long pid = test_getpid();
  long *slots = (long *)shmpool_task_seg(t, 0, NULL);
  unsigned idx = 0;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (slots == NULL)
    return 99;
  if (n == sizeof idx)
    memcpy(&idx, a, sizeof idx);
  slots[idx] = pid;
  test_sleep_ms(60000);
  return 0;
}

typedef struct range {
  uint64_t start, count;
  double value;
} range;

/* Sum doubles [start, start + count) of segment 0. */
static int t_sum(shmpool_task *t) {
  size_t size, n;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  const range *r = (const range *)shmpool_task_arg(t, &n);
  double s = 0;
  uint64_t i;
  if (v == NULL || n != sizeof *r || (r->start + r->count) * 8 > size)
    return 98;
  for (i = r->start; i < r->start + r->count; i++)
    s += v[i];
  return shmpool_task_reply(t, &s, sizeof s);
}

/* Write `value` into doubles [start, start + count) of segment 0. */
static int t_fill(shmpool_task *t) {
  size_t size, n;
  double *v = (double *)shmpool_task_seg(t, 0, &size);
  const range *r = (const range *)shmpool_task_arg(t, &n);
  uint64_t i;
  if (v == NULL || n != sizeof *r || (r->start + r->count) * 8 > size)
    return 98;
  for (i = r->start; i < r->start + r->count; i++)
    v[i] = r->value;
  return 0;
}

/* map with no argument: element i sums slice i of 64 of segment 0. */
static int t_slice_sum(shmpool_task *t) {
  size_t size;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  uint64_t n = size / 8, i = shmpool_task_id(t);
  uint64_t lo = n * i / 64, hi = n * (i + 1) / 64, k;
  double s = 0;
  if (v == NULL || i >= 64)
    return 98;
  for (k = lo; k < hi; k++)
    s += v[k];
  return shmpool_task_reply(t, &s, sizeof s);
}

static int t_write_byte(shmpool_task *t) {
  volatile unsigned char *p = (unsigned char *)shmpool_task_seg(t, 0, NULL);
  if (p == NULL)
    return 98;
  p[0] = 0x77; /* faults through a read-only mapping */
  return 0;
}

static int t_read_byte(shmpool_task *t) {
  const unsigned char *p = (const unsigned char *)shmpool_task_seg(t, 0, NULL);
  if (p == NULL)
    return 98;
  return shmpool_task_reply(t, p, 1);
}

static int t_init(shmpool_task *t) {
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (n > sizeof g_init)
    return 97;
  memcpy(g_init, a, n);
  g_init_len = n;
  return 0;
}

/* The initializer's argument as this worker saw it, then this worker's
 * pid (a long). */
static int t_get_init(shmpool_task *t) {
  unsigned char reply[sizeof g_init + sizeof(long)];
  long pid = test_getpid();
  memcpy(reply, g_init, g_init_len);
  memcpy(reply + g_init_len, &pid, sizeof pid);
  return shmpool_task_reply(t, reply, g_init_len + sizeof pid);
}

static int t_init_fail(shmpool_task *t) {
  (void)t;
  return 42;
}

/* Whether a descriptor / handle given by the parent is open here. */
static int t_probe_inherited(shmpool_task *t) {
  int open_here = 0;
#if !defined(_WIN32)
  struct {
    int fd;
    unsigned long long ino;
  } probe;
  struct stat st;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (n != sizeof probe)
    return 98;
  memcpy(&probe, a, sizeof probe);
  open_here =
      fstat(probe.fd, &st) == 0 && (unsigned long long)st.st_ino == probe.ino;
#endif
  return shmpool_task_reply(t, &open_here, sizeof open_here);
}

static const shmpool_task_def tasks[] = {{"echo", test_task_echo},
                                         {"status", t_status},
                                         {"pid", test_task_pid},
                                         {"sleep_pid", t_sleep_pid},
                                         {"abort", t_abort},
                                         {"exit7", t_exit7},
                                         {"pid_then_hang", t_pid_then_hang},
                                         {"sum", t_sum},
                                         {"fill", t_fill},
                                         {"slice_sum", t_slice_sum},
                                         {"write_byte", t_write_byte},
                                         {"read_byte", t_read_byte},
                                         {"init", t_init},
                                         {"get_init", t_get_init},
                                         {"init_fail", t_init_fail},
                                         {"probe_inherited", t_probe_inherited},
                                         {NULL, NULL}};

/* ==== helpers ==============================================================
 */

static shmpool *make_pool(unsigned workers) {
  shmpool_options o;
  shmpool *pool = NULL;
  int rc;
  shmpool_options_init(&o);
  o.workers = workers;
  o.tasks = tasks;
  rc = shmpool_create(&pool, &o);
  if (rc != 0)
    fail_msg("shmpool_create: %s", shmpool_strerror(rc));
  return pool;
}

static int wait_one(shmpool *pool, shmpool_result *r) {
  return shmpool_wait(pool, r, 60000);
}

/* After a death: the pool must serve 20 tasks as if nothing happened. */
static void assert_pool_serves(shmpool *pool, int n) {
  int i;
  for (i = 0; i < n; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    uint64_t id;
    int v = i;
    assert_int_equal(shmpool_submit(pool, "echo", &v, sizeof v, NULL, 0, &id),
                     0);
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
    assert_true(r.id == id);
    assert_int_equal(r.len, sizeof v);
    assert_memory_equal(r.data, &v, sizeof v);
  }
}

/* ==== tests ================================================================
 */

static void test_round_trip_and_destroy(void **state) {
  int before = test_count_my_segments();
  shmpool *pool;
  shmpool_seg *probe;
  shmpool_result r;
  shmpool_result_init(&r);
  uint64_t id = 0;
  char ctl[SHMPOOL_NAME_MAX + 1];
  (void)state;
  pool = make_pool(2);
  assert_non_null(shmpool_control_name(pool));
  snprintf(ctl, sizeof ctl, "%s", shmpool_control_name(pool));
  assert_int_equal(shmpool_workers(pool), 2);
  assert_int_equal(shmpool_submit(pool, "echo", "hello", 5, NULL, 0, &id), 0);
  assert_true(id != 0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_true(r.id == id);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, 5);
  assert_memory_equal(r.data, "hello", 5);
  /* Nothing more in flight. */
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  assert_int_equal(shmpool_destroy(pool), 0);
  /* Nothing of the pool is left behind. */
  assert_int_equal(shmpool_seg_open(&probe, ctl, 0), SHMPOOL_ENOENT);
  assert_int_equal(test_count_my_segments(), before);
  assert_int_equal(shmpool_destroy(NULL), 0);
}

static void test_control_names_are_unguessable(void **state) {
  char names[3][SHMPOOL_NAME_MAX + 1];
  int i, k;
  (void)state;
  for (i = 0; i < 3; i++) {
    shmpool *pool = make_pool(1);
    const char *n = shmpool_control_name(pool);
    /* Generated like any segment name: 108 random bits from the CSPRNG. */
    assert_int_equal(strlen(n), 8 + 18);
    assert_true(strncmp(n, "shmpool.", 8) == 0);
    assert_int_equal(shmpool_name_check(n), 0);
    snprintf(names[i], sizeof names[i], "%s", n);
    for (k = 0; k < i; k++)
      assert_string_not_equal(names[i], names[k]);
    shmpool_destroy(pool);
  }
}

static void test_bad_options(void **state) {
  shmpool_options o;
  shmpool *pool = (shmpool *)&pool;
  (void)state;
  assert_int_equal(shmpool_create(NULL, NULL), SHMPOOL_EINVAL);
  assert_int_equal(shmpool_create(&pool, NULL), SHMPOOL_EINVAL);
  assert_null(pool);
  shmpool_options_init(&o);
  o.workers = 5000;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EINVAL);
  shmpool_options_init(&o);
  o.max_arg_size = (size_t)1 << 30;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EINVAL);
  shmpool_options_init(&o);
  o.tasks = tasks;
  o.init_task = "no such task";
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ENOTASK);
  shmpool_options_init(&o);
  o.workers = 1;
  o.worker_path = "/nonexistent/shmpool-worker.exe";
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ESPAWN);
  assert_null(pool);
#if defined(_WIN32)
  /* worker_path is UTF-8 on Windows: a lone continuation byte and an
   * overlong encoding are refused, not turned into U+FFFD. */
  o.worker_path = "C:\\bad\x80name.exe";
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EINVAL);
  assert_null(pool);
  o.worker_path = "C:\\bad\xc0\xafname.exe";
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EINVAL);
  assert_null(pool);
#endif
}

static void test_statuses(void **state) {
  shmpool_options o;
  shmpool *pool, *open_pool;
  shmpool_result r;
  shmpool_result_init(&r);
  int v = 5;
  (void)state;
  pool = make_pool(1);
  /* A task's nonzero return is its status. */
  assert_int_equal(shmpool_submit(pool, "status", &v, sizeof v, NULL, 0, NULL),
                   0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, 5);
  /* With the task table known, an unknown name fails at once... */
  assert_int_equal(shmpool_submit(pool, "nope", NULL, 0, NULL, 0, NULL),
                   SHMPOOL_ENOTASK);
  /* ...bad arguments too... */
  assert_int_equal(shmpool_submit(pool, "", NULL, 0, NULL, 0, NULL),
                   SHMPOOL_EINVAL);
  assert_int_equal(shmpool_submit(pool, "echo", NULL, 3, NULL, 0, NULL),
                   SHMPOOL_EINVAL);
  assert_int_equal(shmpool_submit(pool, "echo", NULL, 0, NULL, 1, NULL),
                   SHMPOOL_EINVAL);
  shmpool_destroy(pool);

  /* ...and without it, the worker says so. */
  shmpool_options_init(&o);
  o.workers = 1;
  assert_int_equal(shmpool_create(&open_pool, &o), 0);
  assert_int_equal(shmpool_submit(open_pool, "nope", NULL, 0, NULL, 0, NULL),
                   0);
  assert_int_equal(wait_one(open_pool, &r), 0);
  assert_int_equal(r.status, SHMPOOL_ENOTASK);
  assert_pool_serves(open_pool, 3);
  shmpool_destroy(open_pool);
}

static void test_message_limits(void **state) {
  shmpool_options o;
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  unsigned char big[300];
  (void)state;
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  o.max_arg_size = 300;
  o.max_reply_size = 100;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  memset(big, 0xab, sizeof big);
  assert_int_equal(shmpool_submit(pool, "echo", big, 301 - 1, NULL, 0, NULL),
                   0);
  /* 300 bytes fit the argument, not the reply: the task's reply call fails
   * with EMSGSIZE, which the echo task returns as its status. */
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, SHMPOOL_EMSGSIZE);
  assert_int_equal(r.len, 0);
  assert_int_equal(shmpool_submit(pool, "echo", big, 100, NULL, 0, NULL), 0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, 100);
  assert_memory_equal(r.data, big, 100);
  {
    unsigned char too_big[301];
    memset(too_big, 1, sizeof too_big);
    assert_int_equal(
        shmpool_submit(pool, "echo", too_big, sizeof too_big, NULL, 0, NULL),
        SHMPOOL_EMSGSIZE);
  }
  shmpool_destroy(pool);
}

static void test_wait_timeouts(void **state) {
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  unsigned ms = 400;
  uint64_t t0;
  (void)state;
  pool = make_pool(1);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  assert_int_equal(shmpool_wait(pool, &r, -1), SHMPOOL_EIDLE);
  assert_int_equal(
      shmpool_submit(pool, "sleep_pid", &ms, sizeof ms, NULL, 0, NULL), 0);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_ETIMEDOUT);
  t0 = test_now_ms();
  assert_int_equal(shmpool_wait(pool, &r, 50), SHMPOOL_ETIMEDOUT);
  assert_true(test_now_ms() - t0 >= 45);
  assert_int_equal(shmpool_wait(pool, &r, -1), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}

static void test_initializer(void **state) {
  shmpool_options o;
  shmpool *pool;
  uint64_t ids[8];
  long pids[2] = {0, 0};
  unsigned i, npids = 0;
  (void)state;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  o.init_task = "init";
  o.init_arg = "initargs";
  o.init_arg_len = 8;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  /* Every worker ran it: the tasks go to the shortest queue, so the eight
   * land on both workers, and each saw the argument. Counted by distinct
   * worker pids, so a task that ran in only one worker fails here. */
  for (i = 0; i < 8; i++)
    assert_int_equal(
        shmpool_submit(pool, "get_init", NULL, 0, NULL, 0, &ids[i]), 0);
  for (i = 0; i < 8; i++) {
    shmpool_result r;
    long pid;
    shmpool_result_init(&r);
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.len, 8 + sizeof pid);
    assert_memory_equal(r.data, "initargs", 8);
    memcpy(&pid, (const unsigned char *)r.data + 8, sizeof pid);
    assert_true(pid > 0 && pid != test_getpid());
    if (npids == 0 || (pid != pids[0] && (npids == 1 || pid != pids[1]))) {
      assert_true(npids < 2); /* two workers, so at most two pids */
      pids[npids++] = pid;
    }
  }
  assert_int_equal(npids, 2);
  shmpool_destroy(pool);
}

static void test_initializer_failure(void **state) {
  int before = test_count_my_segments();
  shmpool_options o;
  shmpool *pool = (shmpool *)&pool;
  uint64_t t0 = test_now_ms();
  (void)state;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  o.init_task = "init_fail";
  /* Create fails with the initializer's status, promptly (no respawn
   * loop), and leaves nothing behind. */
  assert_int_equal(shmpool_create(&pool, &o), 42);
  assert_null(pool);
  assert_true(test_now_ms() - t0 < 20000);
  assert_int_equal(test_count_my_segments(), before);
}

static void test_20000_in_flight(void **state) {
  enum { N = 20000 };
  shmpool *pool;
  unsigned char *seen = (unsigned char *)calloc(N, 1);
  uint64_t *id_of = (uint64_t *)calloc(N, sizeof *id_of);
  uint64_t i;
  (void)state;
  assert_non_null(seen);
  pool = make_pool(2);
  /* Submit everything before waiting for anything: submit must make room
   * by moving results into parent memory, never deadlock. */
  for (i = 0; i < N; i++)
    assert_int_equal(
        shmpool_submit(pool, "echo", &i, sizeof i, NULL, 0, &id_of[i]), 0);
  for (i = 0; i < N; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    uint64_t v;
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.len, sizeof v);
    memcpy(&v, r.data, sizeof v);
    assert_true(v < N);
    assert_true(id_of[v] == r.id);
    assert_int_equal(seen[v], 0); /* exactly once */
    seen[v] = 1;
  }
  assert_int_equal(shmpool_wait(pool, NULL, 0), SHMPOOL_EINVAL);
  shmpool_destroy(pool);
  free(seen);
  free(id_of);
}

static void test_nonblocking_submit(void **state) {
  shmpool_options o;
  shmpool *pool;
  unsigned ms = 200, queued = 0, i;
  int rc;
  (void)state;
  shmpool_options_init(&o);
  o.workers = 1;
  o.queue_depth = 2;
  o.tasks = tasks;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  for (;;) {
    rc = shmpool_submit_timeout(pool, "sleep_pid", &ms, sizeof ms, NULL, 0,
                                NULL, 0);
    if (rc != 0)
      break;
    queued++;
  }
  assert_int_equal(rc, SHMPOOL_EAGAIN);
  assert_int_equal(queued, 2);
  assert_int_equal(shmpool_submit_timeout(pool, "sleep_pid", &ms, sizeof ms,
                                          NULL, 0, NULL, 20),
                   SHMPOOL_EAGAIN);
  for (i = 0; i < queued; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
  }
  shmpool_destroy(pool);
}

static void test_map_over_shared_array(void **state) {
  const size_t n = (size_t)4 << 20; /* 4 Mi doubles, 32 MiB */
  shmpool_seg *seg;
  shmpool *pool;
  double *v, sums[64], expect[64];
  int statuses[64];
  range fills[16];
  size_t i, k;
  (void)state;
  assert_int_equal(shmpool_seg_create(&seg, NULL, n * 8, 0), 0);
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < n; i++)
    v[i] = (double)(i % 1000) * 0.5;
  pool = make_pool(2);

  /* Reads: 64 slices summed by the workers, no argument. */
  assert_int_equal(shmpool_map(pool, "slice_sum", NULL, 0, 64, &seg, 1, sums,
                               sizeof sums[0], statuses),
                   0);
  for (k = 0; k < 64; k++) {
    size_t lo = n * k / 64, hi = n * (k + 1) / 64;
    expect[k] = 0;
    for (i = lo; i < hi; i++)
      expect[k] += v[i];
    assert_int_equal(statuses[k], 0);
    assert_true(sums[k] == expect[k]);
  }

  /* Writes: the workers fill the array, the parent reads what they wrote. */
  for (k = 0; k < 16; k++) {
    fills[k].start = n * k / 16;
    fills[k].count = n * (k + 1) / 16 - fills[k].start;
    fills[k].value = (double)k + 0.25;
  }
  assert_int_equal(shmpool_map(pool, "fill", fills, sizeof fills[0], 16, &seg,
                               1, NULL, 0, NULL),
                   0);
  for (k = 0; k < 16; k++)
    /* The ranges are below n, a size_t: the casts lose nothing. */
    for (i = (size_t)fills[k].start;
         i < (size_t)(fills[k].start + fills[k].count); i++)
      if (v[i] != fills[k].value)
        fail_msg("v[%zu] = %g, wanted %g", i, v[i], fills[k].value);

  /* A task submitted with the segment sees the same memory. */
  {
    range r0 = {0, 10, 0};
    shmpool_result r;
    shmpool_result_init(&r);
    double s;
    assert_int_equal(shmpool_submit(pool, "sum", &r0, sizeof r0, &seg, 1, NULL),
                     0);
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
    memcpy(&s, r.data, sizeof s);
    assert_true(s == 10 * 0.25);
  }
  shmpool_destroy(pool);
  shmpool_seg_close(seg);
}

static void test_map_statuses_and_order(void **state) {
  enum { N = 1000 };
  shmpool *pool;
  int args[N], statuses[N], i;
  int echoed[N];
  (void)state;
  pool = make_pool(2);
  for (i = 0; i < N; i++)
    args[i] = i % 7 == 3 ? 100 + i : 0;
  /* The first failing element by index is the return value. */
  assert_int_equal(shmpool_map(pool, "status", args, sizeof args[0], N, NULL, 0,
                               NULL, 0, statuses),
                   103);
  for (i = 0; i < N; i++)
    assert_int_equal(statuses[i], args[i]);
  /* Replies land in submission order. */
  for (i = 0; i < N; i++)
    args[i] = i * 3;
  assert_int_equal(shmpool_map(pool, "echo", args, sizeof args[0], N, NULL, 0,
                               echoed, sizeof echoed[0], NULL),
                   0);
  for (i = 0; i < N; i++)
    assert_int_equal(echoed[i], i * 3);
  assert_int_equal(
      shmpool_map(pool, "echo", NULL, 0, 0, NULL, 0, NULL, 0, NULL), 0);
  assert_int_equal(shmpool_map(pool, "nope", args, sizeof args[0], N, NULL, 0,
                               NULL, 0, NULL),
                   SHMPOOL_ENOTASK);
  shmpool_destroy(pool);
}

static void test_worker_abort(void **state) {
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  uint64_t id;
  (void)state;
  pool = make_pool(2);
  assert_int_equal(shmpool_submit(pool, "abort", NULL, 0, NULL, 0, &id), 0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_true(r.id == id);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
#if defined(_WIN32)
  /* 3 from msvcrt.dll (MinGW), Wine, and the UCRT once the worker has
   * cleared _CALL_REPORTFAULT; 0xC0000409 here would mean the worker did
   * not configure the CRT the task's abort() uses (docs/PLATFORMS.md). */
  assert_int_equal(r.exit_code, 3);
#else
  assert_int_equal(r.term_signal, SIGABRT);
  assert_int_equal(r.exit_code, -1);
#endif
  assert_pool_serves(pool, 20);
  shmpool_destroy(pool);
}

static void test_queued_tasks_survive_a_crash(void **state) {
  shmpool *pool;
  uint64_t abort_id, ids[6];
  int i, ok = 0, failed = 0;
  (void)state;
  pool = make_pool(1);
  /* One worker: the crashing task and six more queued behind it. */
  assert_int_equal(shmpool_submit(pool, "abort", NULL, 0, NULL, 0, &abort_id),
                   0);
  for (i = 0; i < 6; i++)
    assert_int_equal(
        shmpool_submit(pool, "echo", &i, sizeof i, NULL, 0, &ids[i]), 0);
  for (i = 0; i < 7; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    assert_int_equal(wait_one(pool, &r), 0);
    if (r.id == abort_id) {
      assert_int_equal(r.status, SHMPOOL_EWORKER);
      failed++;
    } else {
      /* Never started by the dead worker: run by its replacement. */
      assert_int_equal(r.status, 0);
      ok++;
    }
  }
  assert_int_equal(failed, 1);
  assert_int_equal(ok, 6);
  shmpool_destroy(pool);
}

static void test_worker_exit(void **state) {
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  (void)state;
  pool = make_pool(1);
  assert_int_equal(shmpool_submit(pool, "exit7", NULL, 0, NULL, 0, NULL), 0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
  assert_int_equal(r.exit_code, 7);
  assert_int_equal(r.term_signal, 0);
  assert_pool_serves(pool, 20);
  shmpool_destroy(pool);
}

static long await_published_pid(const long *slot) {
  uint64_t deadline = test_now_ms() + 30000;
  while (*(volatile const long *)slot == 0 && test_now_ms() < deadline)
    test_sleep_ms(2);
  return *(volatile const long *)slot;
}

static void test_worker_killed_mid_task(void **state) {
  shmpool_seg *pids;
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  unsigned idx = 0;
  uint64_t id;
  long pid;
  (void)state;
  assert_int_equal(shmpool_seg_create(&pids, NULL, 64, 0), 0);
  pool = make_pool(2);
  assert_int_equal(
      shmpool_submit(pool, "pid_then_hang", &idx, sizeof idx, &pids, 1, &id),
      0);
  pid = await_published_pid((const long *)shmpool_seg_data(pids));
  assert_true(pid > 0);
  test_kill_pid(pid);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_true(r.id == id);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
#if defined(_WIN32)
  assert_int_equal(r.exit_code, 9); /* TerminateProcess's code */
#else
  assert_int_equal(r.term_signal, SIGKILL);
#endif
  assert_pool_serves(pool, 20);
  shmpool_destroy(pool);
  shmpool_seg_close(pids);
}

/* helper role: create a pool, publish the workers' pids in segment
 * argv[0], then wait to be killed. */
static int helper_pool_parent(int argc, char **argv) {
  shmpool_seg *seg;
  shmpool *pool;
  unsigned i;
  if (argc != 1 || shmpool_seg_open(&seg, argv[0], 0) != 0)
    return 2;
  pool = make_pool(2);
  /* Slots 0-1: worker pids; from byte 64: the control segment's name. */
  snprintf((char *)shmpool_seg_data(seg) + 64, SHMPOOL_NAME_MAX + 1, "%s",
           shmpool_control_name(pool));
  /* Two slow tasks land on the two workers (shortest queue first). */
  for (i = 0; i < 2; i++)
    if (shmpool_submit(pool, "pid_then_hang", &i, sizeof i, &seg, 1, NULL))
      return 3;
  test_sleep_ms(60000);
  return 4;
}

static void test_parent_killed(void **state) {
  char name[32];
  const char *args[2];
  shmpool_seg *seg;
  test_proc parent;
  test_exit ex;
  const char *ctl;
  long pids[2];
  uint64_t t0;
  int i;
  (void)state;
  test_name(name, sizeof name, "orphans");
  assert_int_equal(shmpool_seg_create(&seg, name, 128, 0), 0);
  args[0] = name;
  args[1] = NULL;
  assert_int_equal(test_spawn_self(&parent, "pool-parent", args), 0);
  for (i = 0; i < 2; i++) {
    pids[i] = await_published_pid((const long *)shmpool_seg_data(seg) + i);
    assert_true(pids[i] > 0);
    assert_true(test_pid_alive(pids[i]));
  }
  ctl = (const char *)shmpool_seg_data(seg) + 64;
  assert_true(test_pid_is_worker_of(pids[0], ctl) &&
              test_pid_is_worker_of(pids[1], ctl));
  /* SIGKILL: the parent runs no cleanup at all. */
  test_proc_kill(&parent);
  assert_int_equal(test_proc_wait(&parent, 10000, &ex), 0);
  t0 = test_now_ms();
  while ((test_pid_is_worker_of(pids[0], ctl) ||
          test_pid_is_worker_of(pids[1], ctl)) &&
         test_now_ms() - t0 < 5000)
    test_sleep_ms(10);
  print_message("workers gone %llu ms after the parent was killed\n",
                (unsigned long long)(test_now_ms() - t0));
  assert_false(test_pid_is_worker_of(pids[0], ctl));
  assert_false(test_pid_is_worker_of(pids[1], ctl));
  assert_true(test_now_ms() - t0 < 3000);
  /* A parent killed with SIGKILL cannot remove its control segment: its
   * workers do, before they exit (Windows: it goes with the last handle).
   * The segment this process created is not the dead parent's: it stays. */
  assert_int_equal(shmpool_seg_unlink(ctl), SHMPOOL_ENOENT);
  {
    shmpool_seg *again;
    assert_int_equal(shmpool_seg_open(&again, name, 0), 0);
    shmpool_seg_close(again);
  }
  shmpool_seg_close(seg);
}

static void test_no_inherited_descriptors(void **state) {
  shmpool *pool;
  int i;
  (void)state;
#if defined(_WIN32)
  {
    /* An inheritable handle to a named object: if a worker inherited it,
     * the object outlives our own handle. */
    char name[64];
    WCHAR wname[64];
    SECURITY_ATTRIBUTES sa;
    HANDLE ev, again;
    snprintf(name, sizeof name, "Local\\t%ld.leak", test_getpid());
    MultiByteToWideChar(CP_ACP, 0, name, -1, wname, 64);
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    ev = CreateEventW(&sa, FALSE, FALSE, wname);
    assert_non_null(ev);
    pool = make_pool(2);
    assert_pool_serves(pool, 2);
    CloseHandle(ev);
    again = OpenEventW(SYNCHRONIZE, FALSE, wname);
    if (again != NULL)
      CloseHandle(again);
    assert_null(again);
    (void)i;
  }
#else
  {
    /* A descriptor leaked without O_CLOEXEC. */
    struct {
      int fd;
      unsigned long long ino;
    } probe;
    struct stat st;
    int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_SETFD, 0), 0);
    assert_int_equal(fstat(fd, &st), 0);
    probe.fd = fd;
    probe.ino = (unsigned long long)st.st_ino;
    pool = make_pool(2);
    for (i = 0; i < 8; i++)
      assert_int_equal(shmpool_submit(pool, "probe_inherited", &probe,
                                      sizeof probe, NULL, 0, NULL),
                       0);
    for (i = 0; i < 8; i++) {
      shmpool_result r;
      shmpool_result_init(&r);
      int open_there;
      assert_int_equal(wait_one(pool, &r), 0);
      assert_int_equal(r.status, 0);
      memcpy(&open_there, r.data, sizeof open_there);
      assert_int_equal(open_there, 0);
    }
    close(fd);
  }
#endif
  shmpool_destroy(pool);
}

static void test_segment_outlives_close_while_in_flight(void **state) {
  char name[32];
  shmpool_seg *seg, *probe;
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  unsigned ms = 300;
  (void)state;
  test_name(name, sizeof name, "inflight");
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, 0), 0);
  ((unsigned char *)shmpool_seg_data(seg))[0] = 0x42;
  pool = make_pool(1);
  /* The worker is busy; the next task, queued behind it, names the
   * segment, which its owner closes before any worker attached. */
  assert_int_equal(
      shmpool_submit(pool, "sleep_pid", &ms, sizeof ms, NULL, 0, NULL), 0);
  assert_int_equal(shmpool_submit(pool, "read_byte", NULL, 0, &seg, 1, NULL),
                   0);
  assert_int_equal(shmpool_seg_close(seg), 0);
  /* Still there for the task (the pool holds it)... */
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, 1);
  assert_int_equal(((const unsigned char *)r.data)[0], 0x42);
  /* ...and gone once the task is done. */
  assert_int_equal(shmpool_seg_open(&probe, name, 0), SHMPOOL_ENOENT);
  shmpool_destroy(pool);
}

static void test_reused_name_is_not_stale(void **state) {
  char name[32];
  shmpool_seg *seg;
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  int round, rc;
  (void)state;
  test_name(name, sizeof name, "reuse");
  pool = make_pool(1);
  for (round = 1; round <= 3; round++) {
    uint64_t t0 = test_now_ms();
    /* Windows keeps a name while any process maps it: the worker drops
     * its mapping when the pool releases the segment, shortly after. */
    rc = shmpool_seg_create(&seg, name, 4096, 0);
#if defined(_WIN32)
    while (rc == SHMPOOL_EEXIST && test_now_ms() - t0 < 5000) {
      (void)shmpool_wait(pool, &r, 10);
      rc = shmpool_seg_create(&seg, name, 4096, 0);
    }
#else
    (void)t0;
#endif
    assert_int_equal(rc, 0);
    ((unsigned char *)shmpool_seg_data(seg))[0] = (unsigned char)round;
    assert_int_equal(shmpool_submit(pool, "read_byte", NULL, 0, &seg, 1, NULL),
                     0);
    assert_int_equal(wait_one(pool, &r), 0);
    assert_int_equal(r.status, 0);
    /* Never the byte of an earlier segment of the same name. */
    assert_int_equal(((const unsigned char *)r.data)[0], round);
    assert_int_equal(shmpool_seg_close(seg), 0);
  }
  shmpool_destroy(pool);
}

static void test_readonly_handle_for_workers(void **state) {
  char name[32];
  shmpool_seg *seg, *ro;
  shmpool *pool;
  shmpool_result r;
  shmpool_result_init(&r);
  (void)state;
  test_name(name, sizeof name, "rotask");
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, 0), 0);
  assert_int_equal(shmpool_seg_open(&ro, name, SHMPOOL_SEG_READONLY), 0);
  pool = make_pool(1);
  /* Through a read-only handle, the worker's write faults... */
  assert_int_equal(shmpool_submit(pool, "write_byte", NULL, 0, &ro, 1, NULL),
                   0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, SHMPOOL_EWORKER);
#if defined(_WIN32)
  assert_true((unsigned)r.exit_code == 0xC0000005u);
#else
  assert_int_equal(r.term_signal, SIGSEGV);
#endif
  assert_int_equal(((unsigned char *)shmpool_seg_data(seg))[0], 0);
  /* ...through the read-write one it works. */
  assert_int_equal(shmpool_submit(pool, "write_byte", NULL, 0, &seg, 1, NULL),
                   0);
  assert_int_equal(wait_one(pool, &r), 0);
  assert_int_equal(r.status, 0);
  assert_int_equal(((unsigned char *)shmpool_seg_data(seg))[0], 0x77);
  shmpool_destroy(pool);
  shmpool_seg_close(ro);
  shmpool_seg_close(seg);
}

#if defined(__linux__)
/* The pids of a pool's two workers: two slow tasks land on both. */
static void worker_pids(shmpool *pool, long pids[2]) {
  unsigned ms = 50;
  int i;
  for (i = 0; i < 2; i++)
    assert_int_equal(
        shmpool_submit(pool, "sleep_pid", &ms, sizeof ms, NULL, 0, NULL), 0);
  for (i = 0; i < 2; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    assert_int_equal(wait_one(pool, &r), 0);
    memcpy(&pids[i], r.data, sizeof pids[i]);
  }
  assert_true(pids[0] != pids[1]);
}

/* Proportional set size of the shared memory process pid maps, in KiB
 * (pages split among the processes mapping them): summed over a process
 * tree, the shared memory the tree really holds, whatever other programs
 * do meanwhile, and without a sanitizer's shadow memory. */
static long long pss_kib(long pid) {
  char path[64], line[256];
  long long kib = -1;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/smaps_rollup", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "Pss_Shmem: %lld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

/* Whether process pid maps the shared-memory object `name`. */
static int maps_segment(long pid, const char *name) {
  char path[64], line[512], needle[64];
  int found = 0;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/maps", pid);
  snprintf(needle, sizeof needle, "/dev/shm/%s", name);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}
#endif

static void test_memory_stays_bounded(void **state) {
  (void)state;
#if !defined(__linux__)
  print_message("skipped: needs /proc to measure a process tree's memory\n");
  skip();
#else
  {
    const size_t size = (size_t)256 << 20;
    long long peak = 0;
    shmpool *pool;
    long pids[2];
    int round;
    if (pss_kib(test_getpid()) < 0) {
      print_message("skipped: no Pss_Shmem in smaps_rollup (Linux < 5.14)\n");
      skip();
    }
    pool = make_pool(2);
    worker_pids(pool, pids);
    for (round = 0; round < 20; round++) {
      shmpool_seg *seg;
      double sums[64];
      long long tree;
      assert_int_equal(shmpool_seg_create(&seg, NULL, size, 0), 0);
      assert_int_equal(shmpool_map(pool, "slice_sum", NULL, 0, 64, &seg, 1,
                                   sums, sizeof sums[0], NULL),
                       0);
      assert_int_equal(shmpool_seg_close(seg), 0);
      /* Parent and workers: the last segment may still be mapped, and this
       * one; never more than about two segments' worth. */
      tree = pss_kib(test_getpid()) + pss_kib(pids[0]) + pss_kib(pids[1]);
      if (tree > peak)
        peak = tree;
      assert_true(tree * 1024 <= 2 * (long long)size + (16ll << 20));
    }
    print_message("peak shared memory of the process tree over 20 rounds of "
                  "256 MiB: %lld MiB\n",
                  peak >> 10);
    shmpool_destroy(pool);
  }
#endif
}

static void test_release_drops_worker_mappings(void **state) {
  (void)state;
#if !defined(__linux__)
  print_message("skipped: needs /proc to see a worker's mappings\n");
  skip();
#else
  {
    shmpool_seg *seg;
    shmpool *pool;
    double sums[64];
    char name[SHMPOOL_NAME_MAX + 1];
    long pids[2];
    uint64_t t0;
    int mapped;
    pool = make_pool(2);
    worker_pids(pool, pids);
    assert_int_equal(shmpool_seg_create(&seg, NULL, (size_t)64 << 20, 0), 0);
    strcpy(name, shmpool_seg_name(seg));
    assert_int_equal(shmpool_map(pool, "slice_sum", NULL, 0, 64, &seg, 1, sums,
                                 sizeof sums[0], NULL),
                     0);
    assert_true(maps_segment(pids[0], name) || maps_segment(pids[1], name));
    assert_int_equal(shmpool_seg_close(seg), 0);
    /* The pool's next call releases it; the workers must let go without
     * any task naming that table entry again. */
    assert_pool_serves(pool, 1);
    t0 = test_now_ms();
    do {
      mapped = maps_segment(pids[0], name) || maps_segment(pids[1], name);
      if (!mapped)
        break;
      test_sleep_ms(5);
    } while (test_now_ms() - t0 < 3000);
    print_message("workers let go %llu ms after the release\n",
                  (unsigned long long)(test_now_ms() - t0));
    assert_false(mapped);
    shmpool_destroy(pool);
  }
#endif
}

static const test_helper helpers[] = {{"pool-parent", helper_pool_parent},
                                      {NULL, NULL}};

int main(int argc, char **argv) {
  const struct CMUnitTest tests_list[] = {
      cmocka_unit_test(test_round_trip_and_destroy),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_control_names_are_unguessable),
      cmocka_unit_test(test_statuses),
      cmocka_unit_test(test_message_limits),
      cmocka_unit_test(test_wait_timeouts),
      cmocka_unit_test(test_initializer),
      cmocka_unit_test(test_initializer_failure),
      cmocka_unit_test(test_20000_in_flight),
      cmocka_unit_test(test_nonblocking_submit),
      cmocka_unit_test(test_map_over_shared_array),
      cmocka_unit_test(test_map_statuses_and_order),
      cmocka_unit_test(test_worker_abort),
      cmocka_unit_test(test_queued_tasks_survive_a_crash),
      cmocka_unit_test(test_worker_exit),
      cmocka_unit_test(test_worker_killed_mid_task),
      cmocka_unit_test(test_parent_killed),
      cmocka_unit_test(test_no_inherited_descriptors),
      cmocka_unit_test(test_segment_outlives_close_while_in_flight),
      cmocka_unit_test(test_reused_name_is_not_stale),
      cmocka_unit_test(test_readonly_handle_for_workers),
      cmocka_unit_test(test_memory_stays_bounded),
      cmocka_unit_test(test_release_drops_worker_mappings),
  };
  if (shmpool_is_worker(argc, argv)) {
    test_quiet_crashes();
    return shmpool_worker_main(argc, argv, tasks);
  }
  test_dispatch_helper(argc, argv, helpers);
  return cmocka_run_group_tests(tests_list, NULL, NULL);
}
