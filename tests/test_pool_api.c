/* The pool API past submit and wait: cancel (queued, running, all),
 * per-task waits from several threads, threads submitting at once, map
 * jobs (progress, streaming, cancel, timeout), schedules and affinity,
 * task failure messages and reserved statuses, worker identity,
 * recycling, deadlines, option structs of other sizes, the log callback,
 * fork(), and a worker whose main() forgot shmpool_is_worker().
 *
 * This executable is its own worker image.
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
#include "threads.h"

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ==== tasks (run in the workers) ========================================= */

static unsigned arg_u32(shmpool_task *t) {
  unsigned v = 0;
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  if (n >= sizeof v)
    memcpy(&v, a, sizeof v);
  return v;
}

static int t_pid(shmpool_task *t) {
  long pid = test_getpid();
  return shmpool_task_reply(t, &pid, sizeof pid);
}

static int t_sleep(shmpool_task *t) {
  test_sleep_ms(arg_u32(t));
  return 0;
}

static int t_worker(shmpool_task *t) {
  unsigned w = shmpool_task_worker(t);
  return shmpool_task_reply(t, &w, sizeof w);
}

static int t_fail_msg(shmpool_task *t) {
  return shmpool_task_fail(t, 7, "boom: the input was empty");
}

static int t_reserved(shmpool_task *t) {
  (void)t;
  return SHMPOOL_ENOENT; /* a library code the library never gave it */
}

/* Element i: sleeps arg ms if i is in the first quarter, else replies i*i. */
static int t_square(shmpool_task *t) {
  uint64_t i = shmpool_task_id(t);
  uint64_t sq = i * i;
  unsigned ms = arg_u32(t);
  if (ms != 0)
    test_sleep_ms(ms);
  return shmpool_task_reply(t, &sq, sizeof sq);
}

/* Element i hangs if i == 3. */
static int t_hang_at_3(shmpool_task *t) {
  if (shmpool_task_id(t) == 3)
    return test_task_hang(t);
  return 0;
}

/* A task that itself runs a pool of this executable. */
static int t_nested(shmpool_task *t);

static const shmpool_task_def tasks[] = {
    {"nop", test_task_nop},   {"echo", test_task_echo},
    {"hang", test_task_hang}, {"pid", t_pid},
    {"sleep", t_sleep},       {"worker", t_worker},
    {"fail_msg", t_fail_msg}, {"reserved", t_reserved},
    {"square", t_square},     {"hang_at_3", t_hang_at_3},
    {"nested", t_nested},     {NULL, NULL}};

static int t_nested(shmpool_task *t) {
  shmpool_options o;
  shmpool *pool;
  int rc;
  (void)t;
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  rc = shmpool_create(&pool, &o);
  if (rc != 0)
    return 100 - rc; /* positive: never a reserved status */
  rc = shmpool_map(pool, "nop", NULL, 0, 4, NULL, 0, NULL, 0, NULL);
  shmpool_destroy(pool);
  return rc == 0 ? 0 : 200;
}

/* ==== helpers ============================================================ */

static shmpool *make_pool(unsigned workers) {
  shmpool_options o;
  shmpool *pool = NULL;
  shmpool_options_init(&o);
  o.workers = workers;
  o.tasks = tasks;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  return pool;
}

static uint64_t submit(shmpool *pool, const char *task, unsigned arg) {
  uint64_t id = 0;
  assert_int_equal(shmpool_submit(pool, task, &arg, sizeof arg, NULL, 0, &id),
                   0);
  return id;
}

/* ==== cancel ============================================================= */

static void test_cancel_queued_and_running(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_result r;
  uint64_t hung, queued[5];
  uint64_t t0;
  int i, ok = 0;
  (void)state;
  shmpool_result_init(&r);
  hung = submit(pool, "hang", 0);
  for (i = 0; i < 5; i++)
    queued[i] = submit(pool, "echo", (unsigned)i);
  /* A queued one completes at once, and never runs. */
  assert_int_equal(shmpool_cancel(pool, queued[2]), 0);
  assert_int_equal(shmpool_wait_id(pool, queued[2], &r, 0), 0);
  assert_int_equal(r.status, SHMPOOL_ECANCELED);
  /* The running one: its worker is killed and replaced. */
  test_sleep_ms(100); /* let the worker take it */
  t0 = test_now_ms();
  assert_int_equal(shmpool_cancel(pool, hung), 0);
  assert_int_equal(shmpool_wait_id(pool, hung, &r, 5000), 0);
  assert_int_equal(r.status, SHMPOOL_ECANCELED);
  assert_true(test_now_ms() - t0 < 2000);
  /* A second cancel of either is an error. */
  assert_int_equal(shmpool_cancel(pool, queued[2]), SHMPOOL_ENOENT);
  assert_int_equal(shmpool_cancel(pool, hung), SHMPOOL_ENOENT);
  assert_int_equal(shmpool_cancel(pool, 987654), SHMPOOL_ENOENT);
  /* The other four ran on the replacement, normally. */
  while (shmpool_wait(pool, &r, 10000) == 0) {
    unsigned v;
    assert_int_equal(r.status, 0);
    assert_int_equal(r.len, sizeof v);
    memcpy(&v, r.data, sizeof v);
    assert_true(v != 2 && v < 5);
    ok++;
  }
  assert_int_equal(ok, 4);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  /* And the pool keeps working. */
  submit(pool, "echo", 42);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}

static void test_cancel_all(void **state) {
  shmpool *pool = make_pool(2);
  shmpool_result r;
  int i, canceled = 0;
  (void)state;
  shmpool_result_init(&r);
  for (i = 0; i < 2; i++)
    submit(pool, "hang", 0);
  for (i = 0; i < 6; i++)
    submit(pool, "sleep", 5000);
  test_sleep_ms(100);
  assert_int_equal(shmpool_cancel_all(pool), 8);
  for (i = 0; i < 8; i++) {
    assert_int_equal(shmpool_wait(pool, &r, 5000), 0);
    canceled += r.status == SHMPOOL_ECANCELED;
  }
  assert_int_equal(canceled, 8);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  submit(pool, "echo", 1);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}

static void test_deadline(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_submit_options so;
  shmpool_result r;
  uint64_t hung, behind, t0;
  unsigned zero = 0;
  (void)state;
  shmpool_result_init(&r);
  shmpool_submit_options_init(&so);
  so.deadline_ms = 300;
  t0 = test_now_ms();
  assert_int_equal(
      shmpool_submit_ex(pool, "hang", &zero, sizeof zero, NULL, 0, &so, &hung),
      0);
  /* Queued behind it, with a deadline of its own: it never starts. */
  so.deadline_ms = 200;
  assert_int_equal(
      shmpool_submit_ex(pool, "pid", NULL, 0, NULL, 0, &so, &behind), 0);
  assert_int_equal(shmpool_wait_id(pool, behind, &r, 5000), 0);
  assert_int_equal(r.status, SHMPOOL_ETIMEDOUT);
  assert_int_equal(r.len, 0);
  assert_int_equal(shmpool_wait_id(pool, hung, &r, 5000), 0);
  assert_int_equal(r.status, SHMPOOL_ETIMEDOUT);
  assert_true(test_now_ms() - t0 < 5000);
  submit(pool, "echo", 3);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}

/* ==== threads ============================================================ */

typedef struct own_waits {
  shmpool *pool;
  unsigned tag;
  int errors;
} own_waits;

static void own_waits_thread(void *p) {
  own_waits *ow = (own_waits *)p;
  uint64_t ids[500];
  shmpool_result r;
  unsigned i;
  shmpool_result_init(&r);
  for (i = 0; i < 500; i++) {
    unsigned v = ow->tag * 1000 + i;
    if (shmpool_submit(ow->pool, "echo", &v, sizeof v, NULL, 0, &ids[i]) != 0)
      ow->errors++;
  }
  for (i = 0; i < 500; i++) {
    unsigned v = 0;
    if (shmpool_wait_id(ow->pool, ids[i], &r, 30000) != 0 || r.status != 0 ||
        r.id != ids[i] || r.len != sizeof v) {
      ow->errors++;
      continue;
    }
    memcpy(&v, r.data, sizeof v);
    ow->errors += v != ow->tag * 1000 + i;
  }
}

static void test_wait_id_from_four_threads(void **state) {
  shmpool *pool = make_pool(2);
  own_waits ow[4];
  test_thread th[4];
  shmpool_result r;
  int i;
  (void)state;
  shmpool_result_init(&r);
  for (i = 0; i < 4; i++) {
    ow[i].pool = pool;
    ow[i].tag = (unsigned)i + 1;
    ow[i].errors = 0;
    assert_int_equal(test_thread_start(&th[i], own_waits_thread, &ow[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    test_thread_join(&th[i]);
    assert_int_equal(ow[i].errors, 0);
  }
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  shmpool_destroy(pool);
}

/* Threads that each submit one task at a time and wait for it by id, and
 * one that takes whatever shmpool_wait gives it, all at once: every
 * waiter sleeps inside the library while others arrive, so a thread's
 * hand-out slot must stay its own while it waits (a slot once passed to a
 * newly arriving thread handed results to the wrong reader, or freed
 * them under it: wrong data or a crash). */
#define ROUNDS_PER_WAITER 3000

typedef struct mixed_waiter {
  shmpool *pool;
  unsigned tag;
  int errors;
} mixed_waiter;

static void by_id_thread(void *p) {
  mixed_waiter *mw = (mixed_waiter *)p;
  shmpool_submit_options so;
  shmpool_result r;
  unsigned i;
  shmpool_result_init(&r);
  shmpool_submit_options_init(&so);
  so.for_wait_id = 1;
  for (i = 0; i < ROUNDS_PER_WAITER; i++) {
    unsigned v = mw->tag * 1000000u + i, got = 0;
    uint64_t id;
    if (shmpool_submit_ex(mw->pool, "echo", &v, sizeof v, NULL, 0, &so, &id) !=
            0 ||
        shmpool_wait_id(mw->pool, id, &r, 30000) != 0 || r.id != id ||
        r.len != sizeof got) {
      mw->errors++;
      continue;
    }
    memcpy(&got, r.data, sizeof got);
    mw->errors += got != v;
  }
}

static void any_thread(void *p) {
  mixed_waiter *mw = (mixed_waiter *)p;
  shmpool_result r;
  unsigned i;
  shmpool_result_init(&r);
  for (i = 0; i < ROUNDS_PER_WAITER; i++) {
    unsigned v = 7, got = 0;
    if (shmpool_submit(mw->pool, "echo", &v, sizeof v, NULL, 0, NULL) != 0 ||
        shmpool_wait(mw->pool, &r, 30000) != 0 || r.len != sizeof got) {
      mw->errors++;
      continue;
    }
    /* Only its own tasks can reach it: the others are for_wait_id. */
    memcpy(&got, r.data, sizeof got);
    mw->errors += got != 7;
  }
}

static void test_waiters_in_many_threads_keep_their_results(void **state) {
  shmpool *pool = make_pool(2);
  mixed_waiter mw[5];
  test_thread th[5];
  shmpool_result r;
  int i;
  (void)state;
  shmpool_result_init(&r);
  for (i = 0; i < 5; i++) {
    mw[i].pool = pool;
    mw[i].tag = (unsigned)i + 1;
    mw[i].errors = 0;
    assert_int_equal(
        test_thread_start(&th[i], i < 4 ? by_id_thread : any_thread, &mw[i]),
        0);
  }
  for (i = 0; i < 5; i++) {
    test_thread_join(&th[i]);
    assert_int_equal(mw[i].errors, 0);
  }
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  shmpool_destroy(pool);
}

/* A for_wait_id task is invisible to shmpool_wait, and shmpool_wait_id
 * still gets it after a wait of its own timed out. */
static void test_for_wait_id_tasks_skip_shmpool_wait(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_submit_options so;
  shmpool_result r;
  unsigned ms = 300;
  uint64_t id;
  (void)state;
  shmpool_result_init(&r);
  shmpool_submit_options_init(&so);
  so.for_wait_id = 1;
  assert_int_equal(
      shmpool_submit_ex(pool, "sleep", &ms, sizeof ms, NULL, 0, &so, &id), 0);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 0), SHMPOOL_ETIMEDOUT);
  assert_int_equal(shmpool_wait(pool, &r, 1000), SHMPOOL_EIDLE);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 10000), 0);
  assert_int_equal(r.id, id);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 0), SHMPOOL_ENOENT);
  shmpool_destroy(pool);
}

#define SUBMITS_PER_THREAD 20000

typedef struct submitter {
  shmpool *pool;
  int refused;
} submitter;

static void submitter_thread(void *p) {
  submitter *s = (submitter *)p;
  int i;
  for (i = 0; i < SUBMITS_PER_THREAD; i++)
    if (shmpool_submit(s->pool, "echo", &i, sizeof i, NULL, 0, NULL) != 0)
      s->refused++;
}

typedef struct collector {
  shmpool *pool;
  unsigned char *seen; /* by id */
  int results, duplicates, failed;
} collector;

static void collector_thread(void *p) {
  collector *c = (collector *)p;
  shmpool_result r;
  shmpool_result_init(&r);
  while (c->results < 2 * SUBMITS_PER_THREAD) {
    int rc = shmpool_wait(c->pool, &r, 60000);
    if (rc == SHMPOOL_EIDLE)
      continue; /* the submitters are not that far yet */
    if (rc != 0) {
      c->failed++;
      return;
    }
    if (r.id == 0 || r.id > 2 * SUBMITS_PER_THREAD || r.status != 0) {
      c->failed++;
      continue;
    }
    c->duplicates += c->seen[r.id] != 0;
    c->seen[r.id] = 1;
    c->results++;
  }
}

static void test_two_threads_submit_at_once(void **state) {
  shmpool *pool = make_pool(2);
  submitter s[2];
  collector c;
  test_thread th[3];
  shmpool_result r;
  int i;
  (void)state;
  shmpool_result_init(&r);
  memset(&c, 0, sizeof c);
  c.pool = pool;
  c.seen = (unsigned char *)calloc(2 * SUBMITS_PER_THREAD + 1, 1);
  assert_non_null(c.seen);
  for (i = 0; i < 2; i++) {
    s[i].pool = pool;
    s[i].refused = 0;
    assert_int_equal(test_thread_start(&th[i], submitter_thread, &s[i]), 0);
  }
  assert_int_equal(test_thread_start(&th[2], collector_thread, &c), 0);
  for (i = 0; i < 3; i++)
    test_thread_join(&th[i]);
  assert_int_equal(s[0].refused + s[1].refused, 0);
  assert_int_equal(c.failed, 0);
  assert_int_equal(c.duplicates, 0);
  assert_int_equal(c.results, 2 * SUBMITS_PER_THREAD);
  for (i = 1; i <= 2 * SUBMITS_PER_THREAD; i++)
    assert_true(c.seen[i]);
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EIDLE);
  free(c.seen);
  shmpool_destroy(pool);
}

/* ==== map jobs =========================================================== */

static void test_map_job_streams_results(void **state) {
  enum { N = 64 };
  shmpool *pool = make_pool(2);
  shmpool_map_options mo;
  shmpool_map_job *job;
  uint64_t squares[N];
  unsigned char reported[N];
  unsigned args[N];
  int statuses[N];
  size_t first, count, done, total, seen = 0, i;
  int rc, ranges = 0;
  (void)state;
  memset(reported, 0, sizeof reported);
  for (i = 0; i < N; i++)
    args[i] = i < N / 4 ? 20 : 0;
  shmpool_map_options_init(&mo);
  mo.chunk_size = 4;
  assert_int_equal(shmpool_map_start(pool, &job, "square", args, sizeof args[0],
                                     N, NULL, 0, squares, sizeof squares[0],
                                     statuses, &mo),
                   0);
  shmpool_map_progress(job, &done, &total);
  assert_int_equal(total, N);
  assert_true(done < N);
  while ((rc = shmpool_map_next(job, &first, &count, 10000)) == 0) {
    assert_true(count > 0 && first + count <= N);
    for (i = first; i < first + count; i++) {
      /* Results are in place as soon as they are reported. */
      assert_int_equal(reported[i], 0);
      reported[i] = 1;
      assert_int_equal(statuses[i], 0);
      assert_int_equal(squares[i], (uint64_t)i * i);
    }
    seen += count;
    ranges++;
  }
  assert_int_equal(rc, SHMPOOL_EIDLE);
  assert_int_equal(seen, N);
  assert_int_equal(ranges, N / 4);
  shmpool_map_progress(job, &done, &total);
  assert_int_equal(done, N);
  assert_int_equal(shmpool_map_finish(job), 0);
  shmpool_destroy(pool);
}

static void test_map_timeout_leaves_a_usable_pool(void **state) {
  enum { N = 16 };
  int before = test_count_my_segments();
  shmpool *pool = make_pool(2);
  shmpool_map_options mo;
  int statuses[N], i;
  uint64_t t0;
  (void)state;
  shmpool_map_options_init(&mo);
  /* Long enough for elements 0-2 (no work) to run first on a loaded
   * machine under ASan (500 ms was not, once, in CI), short enough to
   * show that the map does not wait for the hung element. */
  mo.timeout_ms = 3000;
  mo.chunk_size = 1;
  t0 = test_now_ms();
  assert_int_equal(shmpool_map_ex(pool, "hang_at_3", NULL, 0, N, NULL, 0, NULL,
                                  0, statuses, &mo),
                   SHMPOOL_ETIMEDOUT);
  assert_true(test_now_ms() - t0 < 10000);
  assert_int_equal(statuses[3], SHMPOOL_ETIMEDOUT);
  for (i = 0; i < 3; i++)
    assert_int_equal(statuses[i], 0);
  /* The pool is usable, with all its workers, and nothing leaked. */
  assert_int_equal(
      shmpool_map(pool, "nop", NULL, 0, 100, NULL, 0, NULL, 0, NULL), 0);
  shmpool_destroy(pool);
  if (before >= 0)
    assert_int_equal(test_count_my_segments(), before);
}

static void test_map_cancel(void **state) {
  enum { N = 8 };
  shmpool *pool = make_pool(2);
  shmpool_map_options mo;
  shmpool_map_job *job;
  int statuses[N], canceled = 0, i;
  (void)state;
  shmpool_map_options_init(&mo);
  mo.chunk_size = 1;
  assert_int_equal(shmpool_map_start(pool, &job, "hang", NULL, 0, N, NULL, 0,
                                     NULL, 0, statuses, &mo),
                   0);
  test_sleep_ms(100);
  assert_int_equal(shmpool_map_cancel(job), 0);
  assert_int_equal(shmpool_map_finish(job), SHMPOOL_ECANCELED);
  for (i = 0; i < N; i++)
    canceled += statuses[i] == SHMPOOL_ECANCELED;
  assert_int_equal(canceled, N);
  assert_int_equal(
      shmpool_map(pool, "nop", NULL, 0, 10, NULL, 0, NULL, 0, NULL), 0);
  shmpool_destroy(pool);
}

/* Static schedule: two chunks per worker, so every chunk is queued at once
 * and none can be stolen: each worker runs its own contiguous half, the
 * same on every call. (What happens to stolen chunks: test_sched.c.) */
static void test_static_schedule_is_stable(void **state) {
  enum { N = 64 };
  shmpool *pool = make_pool(2);
  shmpool_map_options mo;
  unsigned who[N];
  int round, i;
  (void)state;
  shmpool_map_options_init(&mo);
  mo.chunk_size = N / 4;
  for (round = 0; round < 5; round++) {
    assert_int_equal(shmpool_map_ex(pool, "worker", NULL, 0, N, NULL, 0, who,
                                    sizeof who[0], NULL, &mo),
                     0);
    for (i = 0; i < N; i++)
      assert_int_equal(who[i], (unsigned)(i / (N / 2)));
  }
  mo.schedule = 7;
  assert_int_equal(shmpool_map_ex(pool, "worker", NULL, 0, N, NULL, 0, who,
                                  sizeof who[0], NULL, &mo),
                   SHMPOOL_EINVAL);
  shmpool_destroy(pool);
}

/* ==== tasks: messages, statuses, identity ================================ */

static void test_failure_message(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_result r;
  (void)state;
  shmpool_result_init(&r);
  submit(pool, "fail_msg", 0);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, 7);
  assert_non_null(r.message);
  assert_string_equal(r.message, "boom: the input was empty");
  submit(pool, "echo", 1);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_null(r.message);
  shmpool_destroy(pool);
}

static void test_reserved_status(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_result r;
  (void)state;
  shmpool_result_init(&r);
  submit(pool, "reserved", 0);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, SHMPOOL_ESTATUS);
  assert_non_null(r.message);
  assert_non_null(strstr(r.message, "SHMPOOL_ENOENT"));
  shmpool_destroy(pool);
}

static void test_worker_identity_survives_replacement(void **state) {
  shmpool *pool = make_pool(2);
  shmpool_submit_options so;
  shmpool_result r;
  unsigned w;
  long pid1, pid2;
  uint64_t id;
  (void)state;
  shmpool_result_init(&r);
  shmpool_submit_options_init(&so);
  so.affinity = 3; /* worker 3 % 2 = 1 */
  assert_int_equal(
      shmpool_submit_ex(pool, "worker", NULL, 0, NULL, 0, &so, &id), 0);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 10000), 0);
  memcpy(&w, r.data, sizeof w);
  assert_int_equal(w, 1);
  assert_int_equal(shmpool_submit_ex(pool, "pid", NULL, 0, NULL, 0, &so, &id),
                   0);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 10000), 0);
  memcpy(&pid1, r.data, sizeof pid1);
  test_kill_pid(pid1);
  test_sleep_ms(200);
  assert_int_equal(shmpool_submit_ex(pool, "pid", NULL, 0, NULL, 0, &so, &id),
                   0);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 10000), 0);
  memcpy(&pid2, r.data, sizeof pid2);
  assert_true(pid2 != pid1); /* a replacement ... */
  assert_int_equal(
      shmpool_submit_ex(pool, "worker", NULL, 0, NULL, 0, &so, &id), 0);
  assert_int_equal(shmpool_wait_id(pool, id, &r, 10000), 0);
  memcpy(&w, r.data, sizeof w);
  assert_int_equal(w, 1); /* ... with the same index */
  shmpool_destroy(pool);
}

static void test_recycling(void **state) {
  shmpool_options o;
  shmpool *pool;
  shmpool_result r;
  long pids[10];
  int i, changes = 0;
  (void)state;
  shmpool_result_init(&r);
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  o.max_tasks_per_worker = 3;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  for (i = 0; i < 10; i++) {
    submit(pool, "pid", 0);
    assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
    assert_int_equal(r.status, 0);
    memcpy(&pids[i], r.data, sizeof pids[i]);
    if (i > 0 && pids[i] != pids[i - 1]) {
      changes++;
      assert_int_equal(i % 3, 0); /* a fresh worker every three tasks */
    }
  }
  assert_int_equal(changes, 3);
  shmpool_destroy(pool);
}

static void test_nested_pool_in_a_task(void **state) {
  shmpool *pool = make_pool(1);
  shmpool_result r;
  (void)state;
  shmpool_result_init(&r);
  submit(pool, "nested", 0);
  assert_int_equal(shmpool_wait(pool, &r, 60000), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}

/* ==== option structs, logging ========================================== */

typedef struct newer_options {
  shmpool_options o;
  uint64_t field_from_the_future;
} newer_options;

static void test_option_struct_sizes(void **state) {
  newer_options n;
  shmpool_options o;
  shmpool *pool;
  shmpool_result r;
  (void)state;
  shmpool_result_init(&r);
  /* A caller compiled against a newer header, using a field this library
   * does not know: refused, never ignored. */
  memset(&n, 0, sizeof n);
  n.o.struct_size = sizeof n;
  n.o.workers = 1;
  n.o.tasks = tasks;
  n.field_from_the_future = 1;
  assert_int_equal(shmpool_create(&pool, &n.o), SHMPOOL_ENOTSUP);
  assert_null(pool);
  /* The same caller leaving it unset: fine. */
  n.field_from_the_future = 0;
  assert_int_equal(shmpool_create(&pool, &n.o), 0);
  shmpool_destroy(pool);
  /* An options struct nobody initialised. */
  memset(&o, 0, sizeof o);
  o.workers = 1;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_EINVAL);
  /* A result struct nobody initialised. */
  pool = make_pool(1);
  r.struct_size = 0;
  assert_int_equal(shmpool_wait(pool, &r, 0), SHMPOOL_EINVAL);
  shmpool_destroy(pool);
}

typedef struct log_record {
  int warnings;
  char last[256];
} log_record;

static void record_log(void *ctx, int level, const char *message) {
  log_record *lr = (log_record *)ctx;
  size_t n = strlen(message);
  if (level == SHMPOOL_LOG_WARN)
    lr->warnings++;
  if (n >= sizeof lr->last)
    n = sizeof lr->last - 1;
  memcpy(lr->last, message, n);
  lr->last[n] = '\0';
}

static void test_log_callback(void **state) {
  shmpool_options o;
  shmpool *pool;
  shmpool_result r;
  log_record lr;
  long pid;
  (void)state;
  memset(&lr, 0, sizeof lr);
  shmpool_result_init(&r);
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  o.log = record_log;
  o.log_ctx = &lr;
  assert_int_equal(shmpool_create(&pool, &o), 0);
  submit(pool, "pid", 0);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  memcpy(&pid, r.data, sizeof pid);
  test_kill_pid(pid);
  test_sleep_ms(200);
  submit(pool, "echo", 1); /* the next call notices the death */
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(lr.warnings, 1);
  assert_non_null(strstr(lr.last, "died"));
  shmpool_destroy(pool);
}

/* ==== fork, and a main() that forgot shmpool_is_worker() ================= */

#if !defined(_WIN32)
static void test_pool_in_a_forked_child(void **state) {
  shmpool *pool = make_pool(2);
  shmpool_result r;
  int status = 0;
  pid_t child;
  (void)state;
  shmpool_result_init(&r);
  child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    /* The child's copy must not touch the parent's workers. */
    int rc = shmpool_submit(pool, "echo", NULL, 0, NULL, 0, NULL);
    int rc2 = shmpool_wait(pool, &r, 0);
    shmpool_destroy(pool);
    _exit(rc == SHMPOOL_EFORK && rc2 == SHMPOOL_EFORK ? 0 : 1);
  }
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* The parent's pool is intact. */
  assert_int_equal(
      shmpool_map(pool, "nop", NULL, 0, 10, NULL, 0, NULL, 0, NULL), 0);
  submit(pool, "echo", 5);
  assert_int_equal(shmpool_wait(pool, &r, 10000), 0);
  assert_int_equal(r.status, 0);
  shmpool_destroy(pool);
}
#endif

/* Started as a worker (with worker_args that make it this helper), the
 * process behaves like a main() without shmpool_is_worker(): it tries to
 * start a pool of its own. */
static int helper_forgetful_main(int argc, char **argv) {
  shmpool_options o;
  shmpool *pool;
  (void)argc;
  (void)argv;
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  return shmpool_create(&pool, &o) == SHMPOOL_EWORKERMAIN ? 42 : 43;
}

static void test_forgotten_is_worker(void **state) {
  static const char *const args[] = {"--helper", "forgetful-main", NULL};
  shmpool_options o;
  shmpool *pool;
  log_record lr;
  (void)state;
  memset(&lr, 0, sizeof lr);
  shmpool_options_init(&o);
  o.workers = 1;
  o.tasks = tasks;
  o.worker_args = args;
  o.log = record_log;
  o.log_ctx = &lr;
  o.start_timeout_ms = 20000;
  assert_int_equal(shmpool_create(&pool, &o), SHMPOOL_ESPAWN);
  /* The worker refused to start workers of its own and said so. */
  assert_non_null(strstr(lr.last, "exit code 42"));
  assert_non_null(strstr(lr.last, "shmpool_is_worker"));
}

static const test_helper helpers[] = {{"forgetful-main", helper_forgetful_main},
                                      {NULL, NULL}};

int main(int argc, char **argv) {
  const struct CMUnitTest tests_[] = {
    cmocka_unit_test(test_cancel_queued_and_running),
    cmocka_unit_test(test_cancel_all),
    cmocka_unit_test(test_deadline),
    cmocka_unit_test(test_wait_id_from_four_threads),
    cmocka_unit_test(test_waiters_in_many_threads_keep_their_results),
    cmocka_unit_test(test_for_wait_id_tasks_skip_shmpool_wait),
    cmocka_unit_test(test_two_threads_submit_at_once),
    cmocka_unit_test(test_map_job_streams_results),
    cmocka_unit_test(test_map_timeout_leaves_a_usable_pool),
    cmocka_unit_test(test_map_cancel),
    cmocka_unit_test(test_static_schedule_is_stable),
    cmocka_unit_test(test_failure_message),
    cmocka_unit_test(test_reserved_status),
    cmocka_unit_test(test_worker_identity_survives_replacement),
    cmocka_unit_test(test_recycling),
    cmocka_unit_test(test_nested_pool_in_a_task),
    cmocka_unit_test(test_option_struct_sizes),
    cmocka_unit_test(test_log_callback),
#if !defined(_WIN32)
    cmocka_unit_test(test_pool_in_a_forked_child),
#endif
    cmocka_unit_test(test_forgotten_is_worker),
  };
  /* Helpers first: a helper started as a "worker" (worker_args) must not
   * become one. */
  test_dispatch_helper(argc, argv, helpers);
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  return cmocka_run_group_tests(tests_, NULL, NULL);
}
