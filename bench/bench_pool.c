/* Pool benchmark. Each line it prints is one measurement, as
 * "name value unit", so bench/compare.py can set it against Python's
 * multiprocessing measured in the same run:
 *
 *   stream_tasks_per_s   submit/wait of trivial tasks, 2 workers, a window
 *                        of tasks in flight
 *   map_tasks_per_s      shmpool_map of 1,000,000 trivial tasks
 *   start_ms             create (2 workers, initializer) + one round trip
 *   rtt_us               one task at a time, submit then wait (median)
 *   raw_rtt_us           a spin ping-pong between two processes (median):
 *                        the floor for rtt_us
 *   sum_first_ms         2 workers sum a 1 GiB shared array, first use
 *   sum_ms               the same, after first use (median)
 *   threads_sum_ms       2 threads in one process sum the same array
 *   threads_first_ms     the same threads on a fresh mapping of the array
 *                        (page tables built during the sum, as in attach)
 *   tree_pss_mib         parent + workers' proportional set size while the
 *                        workers hold the array (Linux)
 *
 *   bench_pool [--quick] [--gib N]
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_sum.h"
#include "bench_util.h"
#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
#endif

static void check(const char *what, int rc) {
  if (rc != 0) {
    fprintf(stderr, "bench_pool: %s: %s\n", what, shmpool_strerror(rc));
    exit(1);
  }
}

/* ---- tasks -------------------------------------------------------------- */

typedef struct slice {
  uint64_t start, count;
} slice;

static int t_noop(shmpool_task *t) {
  (void)t;
  return 0;
}

static int t_echo(shmpool_task *t) {
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  return shmpool_task_reply(t, a, n);
}

static int t_sum(shmpool_task *t) {
  size_t size, n;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  const slice *s = (const slice *)shmpool_task_arg(t, &n);
  double r;
  if (v == NULL || n != sizeof *s)
    return 1;
  r = bench_sum_range(v, s->start, s->count);
  return shmpool_task_reply(t, &r, sizeof r);
}

/* Reply our pid after a pause long enough for two of these to land on
 * two different workers. */
static int t_pid(shmpool_task *t) {
#if defined(_WIN32)
  long long pid = (long long)GetCurrentProcessId();
  Sleep(50);
#else
  long long pid = (long long)getpid();
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
#endif
  return shmpool_task_reply(t, &pid, sizeof pid);
}

static const shmpool_task_def tasks[] = {{"noop", t_noop},
                                         {"echo", t_echo},
                                         {"sum", t_sum},
                                         {"pid", t_pid},
                                         {NULL, NULL}};

static shmpool *make_pool(void) {
  shmpool_options o;
  shmpool *pool;
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  o.init_task = "noop";
  check("create", shmpool_create(&pool, &o));
  return pool;
}

/* ---- the measurements --------------------------------------------------- */

static void bench_stream(int quick) {
  const uint64_t n = quick ? 200000 : 2000000;
  const uint64_t window = 256; /* tasks kept in flight */
  shmpool *pool = make_pool();
  shmpool_result r;
  shmpool_result_init(&r);
  uint64_t sent = 0, got = 0;
  double t0 = bench_now_s(), dt;
  while (got < n) {
    while (sent < n && sent - got < window) {
      check("submit", shmpool_submit(pool, "noop", NULL, 0, NULL, 0, NULL));
      sent++;
    }
    check("wait", shmpool_wait(pool, &r, -1));
    got++;
  }
  dt = bench_now_s() - t0;
  printf("stream_tasks_per_s %.0f tasks/s\n", (double)n / dt);
  shmpool_destroy(pool);
}

static void bench_map(int quick) {
  const size_t n = quick ? 200000 : 1000000;
  shmpool *pool = make_pool();
  int64_t *args = (int64_t *)malloc(n * sizeof *args);
  int64_t *out = (int64_t *)malloc(n * sizeof *out);
  double times[5];
  size_t i;
  int round;
  for (i = 0; i < n; i++)
    args[i] = (int64_t)i;
  for (round = 0; round < 5; round++) {
    double t0 = bench_now_s();
    check("map", shmpool_map(pool, "echo", args, sizeof *args, n, NULL, 0, out,
                             sizeof *out, NULL));
    times[round] = bench_now_s() - t0;
    if (out[n - 1] != (int64_t)(n - 1)) {
      fprintf(stderr, "bench_pool: map returned wrong results\n");
      exit(1);
    }
  }
  printf("map_tasks_per_s %.0f tasks/s\n", (double)n / bench_median(times, 5));
  shmpool_destroy(pool);
  free(args);
  free(out);
}

static void bench_start(int quick) {
  const int rounds = quick ? 5 : 15;
  double *t = (double *)malloc((size_t)rounds * sizeof *t);
  int i;
  for (i = 0; i < rounds; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    double t0 = bench_now_s();
    shmpool *pool = make_pool();
    check("submit", shmpool_submit(pool, "noop", NULL, 0, NULL, 0, NULL));
    check("wait", shmpool_wait(pool, &r, -1));
    t[i] = bench_now_s() - t0;
    shmpool_destroy(pool);
  }
  printf("start_ms %.3f ms\n", bench_median(t, (size_t)rounds) * 1e3);
  free(t);
}

static void bench_rtt(int quick) {
  const int n = quick ? 20000 : 100000;
  shmpool *pool = make_pool();
  double *t = (double *)malloc((size_t)n * sizeof *t);
  int i;
  for (i = 0; i < 1000; i++) { /* warm up */
    shmpool_result r;
    shmpool_result_init(&r);
    check("submit", shmpool_submit(pool, "noop", NULL, 0, NULL, 0, NULL));
    check("wait", shmpool_wait(pool, &r, -1));
  }
  for (i = 0; i < n; i++) {
    shmpool_result r;
    shmpool_result_init(&r);
    double t0 = bench_now_s();
    check("submit", shmpool_submit(pool, "noop", NULL, 0, NULL, 0, NULL));
    check("wait", shmpool_wait(pool, &r, -1));
    t[i] = bench_now_s() - t0;
  }
  printf("rtt_us %.3f us\n", bench_median(t, (size_t)n) * 1e6);
  shmpool_destroy(pool);
  free(t);
}

/* The floor: two processes ping-ponging a counter through shared memory,
 * both spinning. */
typedef struct pingpong {
  volatile uint32_t ping;
  char pad[60];
  volatile uint32_t pong;
} pingpong;

static int raw_echo_main(const char *name) {
  shmpool_seg *seg;
  pingpong *pp;
  uint32_t last = 0;
  if (shmpool_seg_open(&seg, name, 0) != 0)
    return 1;
  pp = (pingpong *)shmpool_seg_data(seg);
  for (;;) {
    uint32_t v;
    while ((v = __atomic_load_n(&pp->ping, __ATOMIC_ACQUIRE)) == last) {
    }
    if (v == UINT32_MAX)
      break;
    last = v;
    __atomic_store_n(&pp->pong, v, __ATOMIC_RELEASE);
  }
  shmpool_seg_close(seg);
  return 0;
}

static void bench_raw_rtt(const char *self, int quick) {
  const int n = quick ? 20000 : 100000;
  shmpool_seg *seg;
  pingpong *pp;
  double *t = (double *)malloc((size_t)n * sizeof *t);
  int i;
  check("create", shmpool_seg_create(&seg, NULL, sizeof(pingpong), 0));
  pp = (pingpong *)shmpool_seg_data(seg);
#if defined(_WIN32)
  {
    char cmd[1024];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    snprintf(cmd, sizeof cmd, "\"%s\" --raw-echo %s", self,
             shmpool_seg_name(seg));
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
      exit(1);
#else
  {
    pid_t pid;
    char *argv[4];
    argv[0] = (char *)self;
    argv[1] = (char *)"--raw-echo";
    argv[2] = (char *)shmpool_seg_name(seg);
    argv[3] = NULL;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0)
      exit(1);
#endif
    for (i = -1000; i < n; i++) {
      uint32_t v = (uint32_t)(i + 1001);
      double t0 = bench_now_s();
      __atomic_store_n(&pp->ping, v, __ATOMIC_RELEASE);
      while (__atomic_load_n(&pp->pong, __ATOMIC_ACQUIRE) != v) {
      }
      if (i >= 0)
        t[i] = bench_now_s() - t0;
    }
    __atomic_store_n(&pp->ping, UINT32_MAX, __ATOMIC_RELEASE);
#if defined(_WIN32)
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
#else
    waitpid(pid, NULL, 0);
#endif
  }
  printf("raw_rtt_us %.3f us\n", bench_median(t, (size_t)n) * 1e6);
  shmpool_seg_close(seg);
  free(t);
}

/* ---- the big sum ------------------------------------------------------- */

static void bench_sum(double gib, int quick) {
  const uint64_t n = (uint64_t)(gib * (double)(1u << 30)) / 8;
  const int rounds = quick ? 3 : 9;
  shmpool_seg *seg;
  shmpool *pool;
  double *v, expect, got, tt[9], tp[9], first;
  slice sl[8];
  double sums[8];
  long long pids[2] = {0, 0};
  uint64_t i;
  int r;

  check("create array", shmpool_seg_create(&seg, NULL, (size_t)(n * 8), 0));
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < n; i++)
    v[i] = (double)(i & 1023) * 0.125;
  for (i = 0; i < 8; i++) {
    sl[i].start = n * i / 8;
    sl[i].count = n * (i + 1) / 8 - sl[i].start;
  }
  expect = bench_threads_sum(v, n); /* also warms the page tables */
  pool = make_pool();
  {
    double t0 = bench_now_s();
    check("map", shmpool_map(pool, "sum", sl, sizeof *sl, 8, &seg, 1, sums,
                             sizeof *sums, NULL));
    first = bench_now_s() - t0;
  }
  for (r = 0; r < rounds; r++) {
    double t0 = bench_now_s();
    got = bench_threads_sum(v, n);
    tt[r] = bench_now_s() - t0;
    t0 = bench_now_s();
    check("map", shmpool_map(pool, "sum", sl, sizeof *sl, 8, &seg, 1, sums,
                             sizeof *sums, NULL));
    tp[r] = bench_now_s() - t0;
    got = 0;
    for (i = 0; i < 8; i++)
      got += sums[i];
    if (got != expect) {
      fprintf(stderr, "bench_pool: wrong sum %.17g != %.17g\n", got, expect);
      exit(1);
    }
  }
  /* The threads' own first use: a fresh mapping of the same array in this
   * process, so the page tables are built during the sum, as they are for
   * a worker that attaches. */
  {
    shmpool_seg *again;
    double t0;
    check("open array", shmpool_seg_open(&again, shmpool_seg_name(seg), 0));
    t0 = bench_now_s();
    got = bench_threads_sum((const double *)shmpool_seg_data(again), n);
    printf("threads_first_ms %.2f ms\n", (bench_now_s() - t0) * 1e3);
    shmpool_seg_close(again);
  }
  printf("sum_first_ms %.2f ms\n", first * 1e3);
  printf("sum_ms %.2f ms\n", bench_median(tp, (size_t)rounds) * 1e3);
  printf("threads_sum_ms %.2f ms\n", bench_median(tt, (size_t)rounds) * 1e3);
  printf("array_mib %.1f MiB\n", (double)n * 8 / (1 << 20));

  /* Memory of the tree while the workers hold the array. */
  {
    shmpool_result res;
    shmpool_result_init(&res);
    long long total;
    int k, found = 0;
    for (k = 0; k < 2; k++)
      check("submit", shmpool_submit(pool, "pid", NULL, 0, NULL, 0, NULL));
    for (k = 0; k < 2; k++) {
      long long pid;
      check("wait", shmpool_wait(pool, &res, -1));
      memcpy(&pid, res.data, sizeof pid);
      if (pid != pids[0] && pid != pids[1])
        pids[found++] = pid;
    }
    if (found != 2)
      fprintf(stderr, "bench_pool: only %d worker pid(s) seen\n", found);
#if defined(_WIN32)
    total = -1;
#else
    total = example_process_kib((long long)getpid());
#endif
    for (k = 0; k < found && total >= 0; k++) {
      long long w = example_process_kib(pids[k]);
      total = w < 0 ? -1 : total + w;
    }
    if (total >= 0)
      printf("tree_pss_mib %.1f MiB\n", (double)total / 1024);
  }
  shmpool_destroy(pool);
  shmpool_seg_close(seg);
}

int main(int argc, char **argv) {
  int quick = 0, a;
  double gib = 1.0;
  const char *only = NULL;
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  if (argc == 3 && strcmp(argv[1], "--raw-echo") == 0)
    return raw_echo_main(argv[2]);
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[a], "--gib") == 0 && a + 1 < argc)
      gib = atof(argv[++a]);
    else if (strcmp(argv[a], "--only") == 0 && a + 1 < argc)
      only = argv[++a];
  }
#define RUN(name, call)                                                        \
  if (only == NULL || strcmp(only, name) == 0) {                               \
    call;                                                                      \
    fflush(stdout);                                                            \
  }
  RUN("start", bench_start(quick));
  RUN("rtt", bench_rtt(quick));
  RUN("raw_rtt", bench_raw_rtt(argv[0], quick));
  RUN("stream", bench_stream(quick));
  RUN("map", bench_map(quick));
  RUN("sum", bench_sum(gib, quick));
  return 0;
}
