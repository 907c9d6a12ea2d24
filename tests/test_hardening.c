/* The pool off the happy path: hostile words in the control segment, and
 * a parent killed by Ctrl-C, SIGTERM or SIGKILL.
 *
 * Corruption: every 32-bit word of the control segment's first KiB
 * (header and segment table) and of worker block 0 is overwritten with 0,
 * 1 and all-ones, plus random words anywhere, each case in a process of
 * its own under a watchdog; the pool in it must keep returning from
 * submit, wait, map and destroy (errors are fine, hangs and crashes are
 * not).
 *
 *   test_hardening [--sample N]   run every Nth corruption case only
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

#if !defined(_WIN32)
#include <signal.h>
#include <unistd.h>
#endif

static unsigned sample = 1;

/* Segments of a dead owner that stay: its persistent one on POSIX; none
 * on Windows, where a segment lives only while someone holds it. */
static int segments_that_stay(void) {
#if defined(_WIN32)
  return 0;
#else
  return 1;
#endif
}

/* ==== tasks ============================================================== */

static const shmpool_task_def tasks[] = {{"echo", test_task_echo},
                                         {"nop", test_task_nop},
                                         {"hang", test_task_hang},
                                         {NULL, NULL}};

/* ==== corruption ========================================================= */

/* Use the pool as a program would, with calls that block as long as
 * needed: every one must return (the watchdog catches a hang). */
static void exercise(shmpool *pool) {
  shmpool_result r;
  int i, j;
  shmpool_result_init(&r);
  for (i = 0; i < 4; i++) {
    for (j = 0; j < 8; j++)
      (void)shmpool_submit(pool, "echo", &j, sizeof j, NULL, 0, NULL);
    while (shmpool_wait(pool, &r, -1) == 0) {
    }
    (void)shmpool_map(pool, "nop", NULL, 0, 64, NULL, 0, NULL, 0, NULL);
  }
}

/* Case: create a pool, use it, overwrite one word of its control segment
 * (through a second mapping, as another process could), use it again,
 * destroy it. args: byte offset ("w" + n: n bytes into worker block 0),
 * value. */
static int helper_corrupt(int argc, char **argv) {
  shmpool_options o;
  shmpool_seg *ctl;
  shmpool *pool;
  unsigned char *base;
  uint64_t off, workers_off;
  uint32_t value;
  if (argc < 2)
    return 90;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  o.shutdown_timeout_ms = 2000;
  if (shmpool_create(&pool, &o) != 0)
    return 91;
  exercise(pool);
  if (shmpool_seg_open(&ctl, shmpool_control_name(pool), 0) != 0)
    return 92;
  base = (unsigned char *)shmpool_seg_data(ctl);
  memcpy(&workers_off, base + 80, sizeof workers_off); /* docs/FORMAT.md */
  if (argv[0][0] == 'w')
    off = workers_off + strtoull(argv[0] + 1, NULL, 10);
  else
    off = strtoull(argv[0], NULL, 10);
  value = (uint32_t)strtoul(argv[1], NULL, 10);
  if (off + 4 > shmpool_seg_size(ctl))
    return 93;
  memcpy(base + off, &value, sizeof value);
  shmpool_seg_close(ctl);
  exercise(pool);
  shmpool_destroy(pool);
  return 0;
}

typedef struct corruption_case {
  char where[24];
  char value[16];
  test_proc proc;
  int running;
} corruption_case;

typedef struct corruption_tally {
  int cases, hangs, crashes;
} corruption_tally;

static void finish_case(corruption_case *c, corruption_tally *t) {
  test_exit ex;
  if (test_proc_wait(&c->proc, 20000, &ex) != 0) {
    print_message("hang: word at %s = %s\n", c->where, c->value);
    test_proc_kill(&c->proc);
    (void)test_proc_wait(&c->proc, 10000, &ex);
    t->hangs++;
  } else if (ex.signal != 0 || ex.code != 0) {
    print_message("crash or failure: word at %s = %s: code %d signal %d\n",
                  c->where, c->value, ex.code, ex.signal);
    t->crashes++;
  }
  c->running = 0;
}

/* Run the cases two at a time (this machine has two cores or more). */
static void run_case(corruption_case *slots, corruption_tally *t,
                     const char *where, uint32_t value) {
  corruption_case *c = &slots[t->cases % 2];
  const char *args[3];
  int tries;
  t->cases++;
  if (c->running)
    finish_case(c, t);
  snprintf(c->where, sizeof c->where, "%s", where);
  snprintf(c->value, sizeof c->value, "%lu", (unsigned long)value);
  args[0] = c->where;
  args[1] = c->value;
  args[2] = NULL;
  /* Starting a process can fail for a moment on a loaded machine (Wine's
   * server most of all); that is the harness, not the pool under test. */
  for (tries = 0; test_spawn_self(&c->proc, "corrupt", args) != 0; tries++) {
    assert_true(tries < 5);
    test_sleep_ms(200);
  }
  c->running = 1;
}

static void test_every_word_overwritten(void **state) {
  static const uint32_t values[3] = {0u, 1u, 0xffffffffu};
  corruption_case slots[2];
  corruption_tally t;
  char where[24];
  unsigned k = 0, i, v;
  uint32_t rnd = 12345u;
  (void)state;
  memset(slots, 0, sizeof slots);
  memset(&t, 0, sizeof t);
  /* The first KiB: the header and the start of the segment table. */
  for (i = 0; i < 1024; i += 4)
    for (v = 0; v < 3; v++)
      if (k++ % sample == 0) {
        snprintf(where, sizeof where, "%u", i);
        run_case(slots, &t, where, values[v]);
      }
  /* Worker block 0: its indices, wake words, pid, state. */
  for (i = 0; i < 256; i += 4)
    for (v = 0; v < 3; v++)
      if (k++ % sample == 0) {
        snprintf(where, sizeof where, "w%u", i);
        run_case(slots, &t, where, values[v]);
      }
  /* Random words anywhere in the first 64 KiB (the rings). */
  for (i = 0; i < 32; i++) {
    rnd = rnd * 1103515245u + 12345u;
    if (k++ % sample != 0)
      continue;
    snprintf(where, sizeof where, "w%u", (rnd >> 8) % 65536u & ~3u);
    run_case(slots, &t, where, rnd * 2654435761u);
  }
  for (i = 0; i < 2; i++)
    if (slots[i].running)
      finish_case(&slots[i], &t);
  print_message("%d corruption cases: %d hangs, %d crashes or failures\n",
                t.cases, t.hangs, t.crashes);
  assert_int_equal(t.hangs, 0);
  assert_int_equal(t.crashes, 0);
}

/* ==== the parent's death ================================================= */

/* Segments whose header names process pid as creator. */
typedef struct creator_count {
  long pid;
  int n;
} creator_count;

static int count_one(const char *name, void *ctx) {
  creator_count *c = (creator_count *)ctx;
  shmpool_seg_info info;
  shmpool_seg_info_init(&info);
  if (shmpool_seg_inspect(name, 0, &info) == 0 &&
      info.kind != SHMPOOL_KIND_RAW && info.creator_pid == (uint64_t)c->pid)
    c->n++;
  return 0;
}

/* -1 where the OS cannot list segments. */
static int segments_of(long pid) {
  creator_count c;
  c.pid = pid;
  c.n = 0;
  return shmpool_seg_list(0, count_one, &c) == 0 ? c.n : -1;
}

/* A program with a 16 MiB segment, a persistent one, and a busy pool: a
 * map and tasks that never end. args: report segment, owned name,
 * persistent name. It reports its pid, then waits to be killed. */
static int helper_busy_owner(int argc, char **argv) {
  shmpool_seg *report, *owned, *kept;
  shmpool_map_job *job;
  shmpool_options o;
  shmpool *pool;
  volatile long *rep;
  int i;
  if (argc < 3)
    return 90;
#if !defined(_WIN32)
  /* Its own process group, as a shell gives a foreground job, so that a
   * Ctrl-C can be sent to the whole group; the default dispositions, as a
   * program has. */
  (void)setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
#endif
  if (shmpool_seg_open(&report, argv[0], 0) != 0 ||
      shmpool_seg_create(&owned, argv[1], 16u << 20, 0) != 0 ||
      shmpool_seg_create(&kept, argv[2], 4096, SHMPOOL_SEG_PERSIST) != 0)
    return 91;
  memset(shmpool_seg_data(owned), 1, 16u << 20);
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  if (shmpool_create(&pool, &o) != 0)
    return 92;
  if (shmpool_map_start(pool, &job, "hang", NULL, 0, 8, &owned, 1, NULL, 0,
                        NULL, NULL) != 0)
    return 93;
  for (i = 0; i < 4; i++)
    (void)shmpool_submit(pool, "hang", NULL, 0, &owned, 1, NULL);
  rep = (volatile long *)shmpool_seg_data(report);
  rep[0] = test_getpid();
  for (;;)
    test_sleep_ms(1000);
}

static void parent_dies(const char *how) {
  char report_name[32], owned[32], kept[32];
  shmpool_seg *report, *seg;
  const char *args[4];
  test_proc owner;
  test_exit ex;
  volatile long *rep;
  long pid = 0;
  uint64_t t0;
  int left = -1;

  test_name(report_name, sizeof report_name, "report");
  test_name(owned, sizeof owned, "owned");
  test_name(kept, sizeof kept, "kept");
  assert_int_equal(shmpool_seg_create(&report, report_name, 64, 0), 0);
  rep = (volatile long *)shmpool_seg_data(report);
  args[0] = report_name;
  args[1] = owned;
  args[2] = kept;
  args[3] = NULL;
  assert_int_equal(test_spawn_self(&owner, "busy-owner", args), 0);
  for (t0 = test_now_ms(); rep[0] == 0 && test_now_ms() - t0 < 30000;)
    test_sleep_ms(10);
  pid = rep[0];
  assert_true(pid > 0);
  test_sleep_ms(200); /* tasks running, map chunks queued */
#if defined(_WIN32)
  (void)how;
  test_proc_kill(&owner);
#else
  if (strcmp(how, "ctrl-c") == 0)
    assert_int_equal(kill(-(pid_t)pid, SIGINT), 0); /* the whole group */
  else if (strcmp(how, "term") == 0)
    assert_int_equal(kill((pid_t)pid, SIGTERM), 0);
  else
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
#endif
  assert_int_equal(test_proc_wait(&owner, 10000, &ex), 0);
  assert_true(ex.signal != 0 || ex.code != 0);
  t0 = test_now_ms();
  /* The owned segment and the pool's own (control, scratch) go; the
   * persistent one stays (on POSIX: Windows keeps a segment only while
   * someone holds it). */
  do {
    if (shmpool_seg_open(&seg, owned, 0) == 0) {
      shmpool_seg_close(seg);
    } else {
      /* Where segments cannot be listed, the owned one is what we see. */
      left = segments_of(pid);
      if (left <= segments_that_stay())
        break;
    }
    test_sleep_ms(20);
  } while (test_now_ms() - t0 < 3000);
  print_message("%s: the dead owner's segments were gone after %llu ms\n", how,
                (unsigned long long)(test_now_ms() - t0));
  assert_int_equal(shmpool_seg_open(&seg, owned, 0), SHMPOOL_ENOENT);
  if (left >= 0) /* where segments can be listed */
    assert_int_equal(left, segments_that_stay());
#if !defined(_WIN32)
  assert_int_equal(shmpool_seg_open(&seg, kept, 0), 0);
  shmpool_seg_close(seg);
  assert_int_equal(shmpool_seg_unlink(kept), 0);
#endif
  shmpool_seg_close(report);
}

static void test_ctrl_c(void **state) {
  (void)state;
  parent_dies("ctrl-c");
}

static void test_sigterm(void **state) {
  (void)state;
  parent_dies("term");
}

static void test_sigkill(void **state) {
  (void)state;
  parent_dies("kill");
}

static const test_helper helpers[] = {{"corrupt", helper_corrupt},
                                      {"busy-owner", helper_busy_owner},
                                      {NULL, NULL}};

int main(int argc, char **argv) {
  const struct CMUnitTest tests_[] = {
      cmocka_unit_test(test_ctrl_c),
      cmocka_unit_test(test_sigterm),
      cmocka_unit_test(test_sigkill),
      cmocka_unit_test(test_every_word_overwritten),
  };
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  test_dispatch_helper(argc, argv, helpers);
  if (argc >= 3 && strcmp(argv[1], "--sample") == 0)
    sample = (unsigned)atoi(argv[2]) > 0 ? (unsigned)atoi(argv[2]) : 1u;
  return cmocka_run_group_tests(tests_, NULL, NULL);
}
