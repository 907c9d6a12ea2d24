/* Soak and chaos: several pools and many segments at once, a stream of
 * tasks, and workers killed at random while they run. Every task must
 * complete exactly once, with its result or with SHMPOOL_EWORKER, and
 * afterwards no process, descriptor, segment or shared memory is left.
 *
 *   test_soak [tasks]     (default: SHMPOOL_SOAK_TASKS, else 1000000)
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

#if !defined(_WIN32)
#include <dirent.h>
#endif

#define NPOOLS 3
#define NSEGS 12
#define SEG_DOUBLES 4096
#define WINDOW 256

static uint64_t n_tasks = 1000000;

typedef struct soak_arg {
  uint64_t seq; /* the task's number in this test, 0..n_tasks-1 */
  uint32_t seg; /* which of the task's segments to touch */
} soak_arg;

typedef struct soak_reply {
  uint64_t seq;
  double value;
  int64_t pid;
} soak_reply;

/* Read and write a segment, reply with the sequence number and our pid. */
static int t_touch(shmpool_task *t) {
  size_t n, size;
  const soak_arg *a = (const soak_arg *)shmpool_task_arg(t, &n);
  double *v;
  soak_reply r;
  if (n != sizeof *a || a->seg >= shmpool_task_nsegs(t))
    return 90;
  v = (double *)shmpool_task_seg(t, a->seg, &size);
  if (v == NULL || size != SEG_DOUBLES * sizeof(double))
    return 91;
  v[a->seq % SEG_DOUBLES] += 1.0;
  r.seq = a->seq;
  r.value = v[(a->seq + 1) % SEG_DOUBLES];
  r.pid = test_getpid();
  return shmpool_task_reply(t, &r, sizeof r);
}

/* Die hard, no cleanup, as an external kill would. */
static int t_die(shmpool_task *t) {
  (void)t;
  test_kill_pid(test_getpid());
  return 0;
}

static const shmpool_task_def tasks[] = {
    {"touch", t_touch}, {"die", t_die}, {NULL, NULL}};

static char ctl_names[NPOOLS][SHMPOOL_NAME_MAX + 1];

#if defined(__linux__)
/* Whether pid is, right now, a worker of one of our pools. Only Linux can
 * tell (/proc/<pid>/cmdline): elsewhere a pid seen before may already be
 * someone else's. */
static int is_our_worker(long pid) {
  int p;
  for (p = 0; p < NPOOLS; p++)
    if (test_pid_is_worker_of(pid, ctl_names[p]))
      return 1;
  return 0;
}
#endif

/* A tiny deterministic PRNG (xorshift64*): the run is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1du;
}

static void test_stream_with_random_kills(void **state) {
  int fds_before = test_count_fds(), segs_before = test_count_my_segments();
  shmpool *pools[NPOOLS];
  shmpool_seg *segs[NSEGS];
  /* One flag per task; a count a 32-bit size_t cannot hold fails here. */
  unsigned char *done =
      n_tasks <= SIZE_MAX ? (unsigned char *)calloc((size_t)n_tasks, 1) : NULL;
  uint64_t sent = 0, got = 0, ok = 0, eworker = 0, kills = 0, dies = 0;
  uint64_t out[NPOOLS] = {0};
  uint64_t next_kill = rng() % (n_tasks / 25 + 1);
  long pids[64];
  int npids = 0, p, i;
  uint64_t t0 = test_now_ms();
  (void)state;
  assert_non_null(done);

  for (i = 0; i < NSEGS; i++)
    assert_int_equal(
        shmpool_seg_create(&segs[i], NULL, SEG_DOUBLES * sizeof(double), 0), 0);
  for (p = 0; p < NPOOLS; p++) {
    shmpool_options o;
    shmpool_options_init(&o);
    o.workers = 2;
    o.tasks = tasks;
    o.queue_depth = 32;
    o.max_segments = 24; /* fewer entries than 3 x 4 x ... : eviction too */
    assert_int_equal(shmpool_create(&pools[p], &o), 0);
    snprintf(ctl_names[p], sizeof ctl_names[p], "%s",
             shmpool_control_name(pools[p]));
  }

  while (got < n_tasks + dies) {
    /* Keep every pool busy. */
    for (p = 0; p < NPOOLS; p++) {
      while (sent < n_tasks && out[p] < WINDOW) {
        shmpool_seg *ts[4];
        soak_arg a;
        int rc;
        for (i = 0; i < 4; i++)
          ts[i] = segs[(sent + (uint64_t)i * 5 + (uint64_t)p) % NSEGS];
        a.seq = sent;
        a.seg = (uint32_t)(sent % 4);
        rc = shmpool_submit_timeout(pools[p], "touch", &a, sizeof a, ts, 4,
                                    NULL, 0);
        if (rc == SHMPOOL_EAGAIN)
          break;
        assert_int_equal(rc, 0);
        sent++;
        out[p]++;
      }
    }
    /* Collect what is there. */
    for (p = 0; p < NPOOLS; p++) {
      shmpool_result r;
      shmpool_result_init(&r);
      while (shmpool_wait(pools[p], &r, 0) == 0) {
        out[p]--;
        got++;
        if (r.status == 0) {
          soak_reply rep;
          assert_int_equal(r.len, sizeof rep);
          memcpy(&rep, r.data, sizeof rep);
          assert_true(rep.seq < n_tasks);
          assert_int_equal(done[rep.seq], 0); /* exactly once */
          done[rep.seq] = 1;
          ok++;
          if ((rng() & 255) == 0)
            pids[npids < 64 ? npids++ : (int)(rng() % 64)] = (long)rep.pid;
        } else {
          /* Which task it was is only known by id here: count it. */
          assert_int_equal(r.status, SHMPOOL_EWORKER);
          eworker++;
        }
      }
    }
    /* Chaos: about 25 times in the run, at a random moment, kill a worker
     * that recently served a task (if it still is one of ours). Elsewhere
     * (Windows recycles pids at once) a task kills its own worker. */
    if (npids > 0 && got >= next_kill) {
      long victim = pids[rng() % (uint64_t)npids];
#if defined(__linux__)
      if (is_our_worker(victim))
        test_kill_pid(victim);
#else
      /* No way to know whether the pid is still one of ours: a task kills
       * its own worker instead. */
      (void)victim;
      p = (int)(rng() % NPOOLS);
      if (shmpool_submit_timeout(pools[p], "die", NULL, 0, NULL, 0, NULL, 0) ==
          0) {
        out[p]++;
        dies++;
      }
#endif
      kills++;
      next_kill = got + 1 + rng() % (2 * n_tasks / 25 + 1);
    }
  }
  assert_int_equal(ok + eworker, n_tasks + dies);
  print_message("%llu tasks in %llu ms: %llu ok, %llu failed with EWORKER "
                "after %llu kills\n",
                (unsigned long long)n_tasks,
                (unsigned long long)(test_now_ms() - t0),
                (unsigned long long)ok, (unsigned long long)eworker,
                (unsigned long long)kills);
  /* Every task that did not fail completed exactly once. */
  {
    uint64_t k, seen = 0;
    for (k = 0; k < n_tasks; k++)
      seen += done[k];
    assert_int_equal(seen, ok);
  }
  for (p = 0; p < NPOOLS; p++) {
    shmpool_result r;
    shmpool_result_init(&r);
    assert_int_equal(shmpool_wait(pools[p], &r, 0), SHMPOOL_EIDLE);
    assert_int_equal(shmpool_destroy(pools[p]), 0);
  }
  for (i = 0; i < NSEGS; i++)
    assert_int_equal(shmpool_seg_close(segs[i]), 0);
  free(done);

  /* Nothing is left: processes (Linux can tell), descriptors, segments
   * (and so their memory: every segment and control segment this process
   * created is gone, and no worker is left to map one). */
#if defined(__linux__)
  for (i = 0; i < npids; i++)
    assert_false(is_our_worker(pids[i]));
#endif
  assert_int_equal(test_count_fds(), fds_before);
  assert_int_equal(test_count_my_segments(), segs_before);
}

int main(int argc, char **argv) {
  const struct CMUnitTest soak_tests[] = {
      cmocka_unit_test(test_stream_with_random_kills),
  };
  char env[32];
  if (shmpool_is_worker(argc, argv)) {
    test_quiet_crashes();
    return shmpool_worker_main(argc, argv, tasks);
  }
  /* The environment wins over the argument CTest passes, so that
   * "SHMPOOL_SOAK_TASKS=1000000 ctest -L soak" does what it says. */
  if (test_getenv("SHMPOOL_SOAK_TASKS", env, sizeof env) == 0)
    n_tasks = strtoull(env, NULL, 10);
  else if (argc > 1)
    n_tasks = strtoull(argv[1], NULL, 10);
  return cmocka_run_group_tests(soak_tests, NULL, NULL);
}
