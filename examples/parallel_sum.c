/* parallel_sum: the motivating program, in C with shmpool.
 *
 * One big float64 array lives once in a shared-memory segment; a pool of
 * worker processes sums slices of it, attaching to the segment by name
 * (nothing is copied, nothing is pickled); the parent checks the total
 * against a single-process sum and reports time, throughput and the
 * memory of the whole process tree.
 *
 *   parallel_sum [--mib N] [--workers N] [--rounds N]
 *
 * The Python program it replaces:
 *
 *   arr = RawArray('d', n)                      # shared, but...
 *   with Pool(initializer=keep, initargs=(arr,)) as p:   # ...only here
 *       total = sum(p.map(sum_slice, slices))
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"
#include "shmpool.h"

typedef struct slice {
  uint64_t start, count;
} slice;

typedef struct slice_sum {
  double sum;
  int64_t pid;
} slice_sum;

/* ---- the task (runs in the workers) ------------------------------------ */

static int sum_slice(shmpool_task *t) {
  size_t size, len;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  const slice *s = (const slice *)shmpool_task_arg(t, &len);
  slice_sum out;
  double acc[4] = {0, 0, 0, 0};
  uint64_t i, end;
  if (v == NULL || len != sizeof *s || s->start + s->count > size / 8)
    return 1;
  end = s->start + s->count;
  /* Four accumulators: the loop then runs at memory speed. */
  for (i = s->start; i + 4 <= end; i += 4) {
    acc[0] += v[i];
    acc[1] += v[i + 1];
    acc[2] += v[i + 2];
    acc[3] += v[i + 3];
  }
  for (; i < end; i++)
    acc[0] += v[i];
  out.sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  out.pid = example_pid();
  return shmpool_task_reply(t, &out, sizeof out);
}

static const shmpool_task_def tasks[] = {{"sum_slice", sum_slice},
                                         {NULL, NULL}};

/* ---- the parent (measuring: example_util.h) ------------------------------ */

static void die(const char *what, int rc) {
  fprintf(stderr, "parallel_sum: %s: %s (%s)\n", what, shmpool_strerror(rc),
          shmpool_err_name(rc));
  exit(1);
}

int main(int argc, char **argv) {
  size_t mib = 256, n, i, nslices;
  unsigned workers = 0;
  int rounds = 3, round, a, rc;
  shmpool_options opts;
  shmpool_seg *seg;
  shmpool *pool;
  double *v, expect = 0, t0, t_fill, t_start;
  slice *slices;
  slice_sum *sums;
  long long pids[64];
  int npids = 0;

  /* Workers are this same executable: hand over first thing. */
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);

  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--mib") == 0 && a + 1 < argc)
      mib = (size_t)strtoull(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--workers") == 0 && a + 1 < argc)
      workers = (unsigned)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
      rounds = atoi(argv[++a]);
    else {
      fprintf(stderr, "usage: %s [--mib N] [--workers N] [--rounds N]\n",
              argv[0]);
      return 2;
    }
  }
  if (mib == 0 || rounds < 1) {
    fprintf(stderr, "parallel_sum: --mib and --rounds must be positive\n");
    return 2;
  }
  n = mib * ((size_t)1 << 20) / sizeof(double);

  /* 1. The array: once, in a segment with a generated name. */
  t0 = example_now_s();
  rc = shmpool_seg_create(&seg, NULL, n * sizeof(double), 0);
  if (rc != 0)
    die("creating the array", rc);
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < n; i++)
    v[i] = (double)(i % 1024) * 0.125; /* exact in binary: sums are exact */
  t_fill = example_now_s() - t0;
  for (i = 0; i < n; i++)
    expect += v[i];

  /* 2. The pool. */
  t0 = example_now_s();
  shmpool_options_init(&opts);
  opts.workers = workers;
  opts.tasks = tasks;
  rc = shmpool_create(&pool, &opts);
  if (rc != 0)
    die("starting the pool", rc);
  t_start = example_now_s() - t0;
  workers = shmpool_workers(pool);

  nslices = (size_t)workers * 4;
  slices = (slice *)malloc(nslices * sizeof *slices);
  sums = (slice_sum *)malloc(nslices * sizeof *sums);
  if (slices == NULL || sums == NULL)
    die("allocating", SHMPOOL_ENOMEM);
  for (i = 0; i < nslices; i++) {
    slices[i].start = (uint64_t)(n * i / nslices);
    slices[i].count = (uint64_t)(n * (i + 1) / nslices) - slices[i].start;
  }

  printf("array: %zu MiB (%zu doubles) in segment %s, filled in %.1f ms\n", mib,
         n, shmpool_seg_name(seg), t_fill * 1e3);
  printf("pool:  %u workers ready in %.1f ms\n", workers, t_start * 1e3);

  /* 3. Sum it, several times: the first round includes attaching. */
  for (round = 0; round < rounds; round++) {
    double total = 0, dt;
    t0 = example_now_s();
    rc = shmpool_map(pool, "sum_slice", slices, sizeof *slices, nslices, &seg,
                     1, sums, sizeof *sums, NULL);
    dt = example_now_s() - t0;
    if (rc != 0)
      die("summing", rc);
    for (i = 0; i < nslices; i++)
      total += sums[i].sum;
    printf("round %d: sum %.17g in %.1f ms, %.2f GB/s%s\n", round + 1, total,
           dt * 1e3, (double)(n * sizeof(double)) / dt / 1e9,
           round == 0 ? " (first use: workers attach)" : "");
    if (total != expect) {
      fprintf(stderr, "parallel_sum: WRONG: workers %.17g, single %.17g\n",
              total, expect);
      return 1;
    }
  }

  /* 4. Memory of the process tree, while the workers still map the array. */
  for (i = 0; i < nslices; i++) {
    int k, seen = 0;
    for (k = 0; k < npids; k++)
      seen |= pids[k] == sums[i].pid;
    if (!seen && npids < 64)
      pids[npids++] = sums[i].pid;
  }
  {
    long long total_kib = example_process_kib(example_pid()), kib;
    int k, known = total_kib >= 0;
    for (k = 0; k < npids && known; k++) {
      kib = example_process_kib(pids[k]);
      known = kib >= 0;
      total_kib += kib;
    }
    if (known)
      printf("memory: parent + %d workers = %.1f MiB in all "
#if defined(__linux__)
             "(proportional set size; "
#else
             "(working sets, shared pages counted in each; "
#endif
             "the array is %zu MiB)\n",
             npids, (double)total_kib / 1024.0, mib);
  }
  printf("check: matches the single-process sum %.17g\n", expect);

  shmpool_destroy(pool);
  shmpool_seg_close(seg);
  free(slices);
  free(sums);
  return 0;
}
