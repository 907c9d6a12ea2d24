/* Repeated maps over the same array: the static schedule (the default:
 * the same ranges to the same workers on every call, stealing at the end)
 * against the dynamic one (the next chunk to whichever worker is free,
 * what shmpool_map did before), round by round, the workers mapping the
 * array read-only (and, for comparison, writable); the page tables the
 * workers build; the steady state against two threads in one process; an
 * uneven workload; and tasks submitted with and without an affinity key.
 *
 * Each line is "name value unit" (bench/compare.py style):
 *
 *   round_ms <schedule> <round> <ms>    map time, rounds 1..10
 *   round_faults <schedule> <round> <n> the workers' minor page faults in
 *                                       the round (Linux)
 *   second_over_steady <schedule> <x>   round 2 / median of rounds 5..10
 *   round_ms threads ..., second_over_steady threads
 *                                       the same with 2 threads in one
 *                                       process on a fresh mapping
 *   pte_kib <schedule> <kib>            the workers' VmPTE growth, summed
 *   pte_one_mapping_kib <kib>           VmPTE of one mapping of the array
 *   steady_vs_threads <x>               2 threads' time / static steady time
 *   uneven_ms / uneven_ideal_ms         32 busy elements, the first 4 8x
 *   affinity_round2_ms <with|without>   submitted slices, second round
 *
 *   bench_map [--mib N] [--rounds N]
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_sum.h"
#include "bench_util.h"
#include "shmpool.h"

#define CHUNKS 16
#define MAX_ROUNDS 32

static void check(const char *what, int rc) {
  if (rc != 0) {
    fprintf(stderr, "bench_map: %s: %s\n", what, shmpool_strerror(rc));
    exit(1);
  }
}

/* ---- tasks -------------------------------------------------------------- */

/* Map element i of CHUNKS: sums its 1/CHUNKS of segment 0. */
static int t_sum_part(shmpool_task *t) {
  size_t size;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  uint64_t n = size / sizeof *v, i = shmpool_task_id(t);
  uint64_t start = n * i / CHUNKS, end = n * (i + 1) / CHUNKS;
  double s = bench_sum_range(v, start, end - start);
  return shmpool_task_reply(t, &s, sizeof s);
}

/* A submitted slice: the argument says which of CHUNKS. */
static int t_sum_slice(shmpool_task *t) {
  size_t size;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  const unsigned *which = (const unsigned *)shmpool_task_arg(t, NULL);
  uint64_t n = size / sizeof *v;
  uint64_t start = n * *which / CHUNKS, end = n * (*which + 1) / CHUNKS;
  double s = bench_sum_range(v, start, end - start);
  return shmpool_task_reply(t, &s, sizeof s);
}

static int t_pid(shmpool_task *t) {
  long long pid = example_pid();
  return shmpool_task_reply(t, &pid, sizeof pid);
}

/* Busy for the argument's microseconds (no sleeping: a CPU-bound task). */
static int t_busy(shmpool_task *t) {
  const unsigned *us = (const unsigned *)shmpool_task_arg(t, NULL);
  double until = bench_now_s() + *us * 1e-6;
  while (bench_now_s() < until) {
  }
  return 0;
}

static const shmpool_task_def tasks[] = {{"sum_part", t_sum_part},
                                         {"sum_slice", t_sum_slice},
                                         {"pid", t_pid},
                                         {"busy", t_busy},
                                         {NULL, NULL}};

/* ---- page tables -------------------------------------------------------- */

/* VmPTE of a process in KiB (Linux), -1 elsewhere. */
static long long pte_kib(long long pid) {
  return example_proc_kib(pid, "status", "VmPTE:");
}

/* The workers' pids: with the static schedule, element w of a map of
 * `workers` elements is worker w's own first chunk. */
static void worker_pids(shmpool *pool, long long *pids) {
  shmpool_map_options mo;
  shmpool_map_options_init(&mo);
  mo.chunk_size = 1;
  check("map pid", shmpool_map_ex(pool, "pid", NULL, 0, shmpool_workers(pool),
                                  NULL, 0, pids, sizeof *pids, NULL, &mo));
}

/* Minor page faults of a process so far (Linux /proc/PID/stat field 10),
 * -1 elsewhere. */
static long long minor_faults(long long pid) {
#if defined(__linux__)
  char path[64], buf[1024];
  long long n = -1;
  const char *p;
  size_t len;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%lld/stat", pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  /* After the command name's closing parenthesis: state, ppid, pgrp,
   * session, tty, tpgid, flags, minflt. */
  if ((p = strrchr(buf, ')')) != NULL &&
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %lld", &n) != 1)
    n = -1;
  return n;
#else
  (void)pid;
  return -1;
#endif
}

static long long faults_total(const long long *pids, unsigned n) {
  long long total = 0;
  unsigned i;
  for (i = 0; i < n; i++)
    total += minor_faults(pids[i]);
  return total;
}

static long long pte_total(const long long *pids, unsigned n) {
  long long total = 0;
  unsigned i;
  for (i = 0; i < n; i++)
    total += pte_kib(pids[i]);
  return total;
}

/* ---- repeated maps ------------------------------------------------------- */

static shmpool *make_pool(void) {
  shmpool_options o;
  shmpool *pool;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  check("create", shmpool_create(&pool, &o));
  return pool;
}

/* Rounds of a 16-chunk map over the array with one schedule, on a fresh
 * pool; prints each round, the second round against the steady state, and
 * the workers' page tables. Returns the steady-state time (s). */
static double repeated_maps(shmpool_seg *seg, int schedule, const char *label,
                            int rounds, double expect) {
  shmpool *pool = make_pool();
  shmpool_map_options mo;
  double t[MAX_ROUNDS], steady[MAX_ROUNDS], sums[CHUNKS], s;
  long long pids[2], pte_before;
  int r, i, nsteady = 0;
  worker_pids(pool, pids);
  pte_before = pte_total(pids, 2);
  shmpool_map_options_init(&mo);
  mo.chunk_size = 1; /* 16 elements: 16 chunks */
  mo.schedule = schedule;
  for (r = 0; r < rounds; r++) {
    long long faults = faults_total(pids, 2);
    double t0 = bench_now_s();
    check("map", shmpool_map_ex(pool, "sum_part", NULL, 0, CHUNKS, &seg, 1,
                                sums, sizeof sums[0], NULL, &mo));
    t[r] = bench_now_s() - t0;
    faults = faults_total(pids, 2) - faults;
    for (s = 0, i = 0; i < CHUNKS; i++)
      s += sums[i];
    if (s != expect) {
      fprintf(stderr, "bench_map: wrong sum %f, expected %f\n", s, expect);
      exit(1);
    }
    printf("round_ms %s %d %.2f ms\n", label, r + 1, t[r] * 1e3);
    printf("round_faults %s %d %lld\n", label, r + 1, faults);
    if (r >= 4)
      steady[nsteady++] = t[r];
  }
  s = bench_median(steady, (size_t)nsteady);
  printf("second_over_steady %s %.2f x\n", label, t[1] / s);
  printf("pte_kib %s %lld KiB\n", label, pte_total(pids, 2) - pte_before);
  shmpool_destroy(pool);
  return s;
}

/* ---- two threads in one process ---------------------------------------- */

/* The same rounds with 2 threads in this process, on a fresh read-only
 * mapping of the segment (its page tables built in round 1, as a pool's
 * workers build theirs): a reference for second_over_steady, since this
 * machine's second pass over memory can be slower without page faults. */
static void threads_rounds(shmpool_seg *seg, int rounds) {
  shmpool_seg *ro;
  double t[MAX_ROUNDS], steady[MAX_ROUNDS];
  int r, nsteady = 0;
  check("open",
        shmpool_seg_open(&ro, shmpool_seg_name(seg), SHMPOOL_SEG_READONLY));
  for (r = 0; r < rounds; r++) {
    double t0 = bench_now_s();
    (void)bench_threads_sum((const double *)shmpool_seg_data(ro),
                            shmpool_seg_size(ro) / sizeof(double));
    t[r] = bench_now_s() - t0;
    printf("round_ms threads %d %.2f ms\n", r + 1, t[r] * 1e3);
    if (r >= 4)
      steady[nsteady++] = t[r];
  }
  printf("second_over_steady threads %.2f x\n",
         t[1] / bench_median(steady, (size_t)nsteady));
  shmpool_seg_close(ro);
}

static double threads_time(const double *v, uint64_t n) {
  double t[7];
  int r;
  for (r = 0; r < 7; r++) {
    double t0 = bench_now_s();
    (void)bench_threads_sum(v, n);
    t[r] = bench_now_s() - t0;
  }
  return bench_median(t, 7);
}

/* ---- an uneven workload ------------------------------------------------- */

static void uneven(void) {
  enum { N = 32, UNIT_US = 2000 };
  shmpool *pool = make_pool();
  unsigned us[N];
  double t[5], ideal = 0;
  int i, r;
  for (i = 0; i < N; i++) {
    us[i] = i < 4 ? 8 * UNIT_US : UNIT_US;
    ideal += us[i] * 1e-6;
  }
  ideal /= 2;
  for (r = 0; r < 5; r++) {
    double t0 = bench_now_s();
    check("map busy", shmpool_map(pool, "busy", us, sizeof us[0], N, NULL, 0,
                                  NULL, 0, NULL));
    t[r] = bench_now_s() - t0;
  }
  printf("uneven_ms %.1f ms\n", bench_median(t, 5) * 1e3);
  printf("uneven_ideal_ms %.1f ms\n", ideal * 1e3);
  printf("uneven_over_ideal %.2f x\n", bench_median(t, 5) / ideal);
  shmpool_destroy(pool);
}

/* ---- submitted slices, with and without an affinity key ---------------- */

static double submitted_round(shmpool *pool, shmpool_seg *seg, int keyed) {
  shmpool_submit_options so;
  shmpool_result r;
  double t0 = bench_now_s();
  unsigned i;
  shmpool_result_init(&r);
  shmpool_submit_options_init(&so);
  for (i = 0; i < CHUNKS; i++) {
    so.affinity = keyed ? (uint64_t)(i * 2 / CHUNKS) + 1 : 0;
    check("submit", shmpool_submit_ex(pool, "sum_slice", &i, sizeof i, &seg, 1,
                                      &so, NULL));
  }
  for (i = 0; i < CHUNKS; i++)
    check("wait", shmpool_wait(pool, &r, -1));
  return bench_now_s() - t0;
}

static void affinity(shmpool_seg *seg) {
  int keyed;
  for (keyed = 0; keyed < 2; keyed++) {
    shmpool *pool = make_pool();
    double first = submitted_round(pool, seg, keyed);
    double second = submitted_round(pool, seg, keyed);
    printf("affinity_round1_ms %s %.2f ms\n", keyed ? "with" : "without",
           first * 1e3);
    printf("affinity_round2_ms %s %.2f ms\n", keyed ? "with" : "without",
           second * 1e3);
    shmpool_destroy(pool);
  }
}

int main(int argc, char **argv) {
  size_t mib = 1024, n, i;
  int rounds = 10, a;
  long long pte0, pte1;
  double expect = 0, steady, thr;
  shmpool_seg *seg, *ro;
  double *v;

  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--mib") == 0 && a + 1 < argc)
      mib = (size_t)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
      rounds = atoi(argv[++a]);
  }
  if (rounds < 6 || rounds > MAX_ROUNDS || mib == 0) {
    fprintf(stderr, "usage: bench_map [--mib N] [--rounds 6..32]\n");
    return 2;
  }
  n = mib * (1024 * 1024 / sizeof(double));
  pte0 = pte_kib(example_pid());
  check("segment", shmpool_seg_create(&seg, NULL, n * sizeof *v, 0));
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < n; i++)
    v[i] = (double)(i % 1000);
  for (i = 0; i < n; i++)
    expect += v[i];
  /* The exact sum of integers below 2^53 does not depend on the order. */
  pte1 = pte_kib(example_pid());
  printf("array_mib %llu MiB\n", (unsigned long long)mib);
  printf("pte_one_mapping_kib %lld KiB\n", pte1 - pte0);

  /* The tasks only read: workers get a read-only handle, as the header
   * advises, and map the array read-only. A writable mapping of the same
   * array is measured beside it: on a virtual machine its first touches
   * can cost several times more, and not only in the first round. */
  check("open",
        shmpool_seg_open(&ro, shmpool_seg_name(seg), SHMPOOL_SEG_READONLY));
  (void)repeated_maps(ro, SHMPOOL_SCHEDULE_DYNAMIC, "dynamic", rounds, expect);
  steady = repeated_maps(ro, SHMPOOL_SCHEDULE_STATIC, "static", rounds, expect);
  (void)repeated_maps(seg, SHMPOOL_SCHEDULE_STATIC, "static-writable", rounds,
                      expect);
  threads_rounds(seg, rounds);
  thr = threads_time(v, n);
  printf("threads_ms %.2f ms\n", thr * 1e3);
  printf("steady_vs_threads %.2f x\n", thr / steady);
  uneven();
  affinity(ro);
  shmpool_seg_close(ro);
  shmpool_seg_close(seg);
  return 0;
}
