/* worker_exe_worker: a program that only serves shmpool tasks.
 *
 * The parent (worker_exe, main.c) starts it through opts.worker_path; it
 * knows the task table, the parent does not. Run by hand it explains
 * itself and exits.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "shmpool.h"

/* The argument of both tasks: a slice of the segment's doubles. */
typedef struct span {
  uint64_t start, count;
  double factor;
} span;

static const span *get_span(shmpool_task *t, double **v) {
  size_t len, size;
  const span *s = (const span *)shmpool_task_arg(t, &len);
  *v = (double *)shmpool_task_seg(t, 0, &size);
  if (s == NULL || len != sizeof *s || *v == NULL ||
      s->start + s->count > size / sizeof(double))
    return NULL;
  return s;
}

/* v[i] *= factor over the span; replies with the new partial sum. */
static int scale(shmpool_task *t) {
  double *v, sum = 0;
  const span *s = get_span(t, &v);
  uint64_t i;
  if (s == NULL)
    return 1;
  for (i = s->start; i < s->start + s->count; i++) {
    v[i] *= s->factor;
    sum += v[i];
  }
  return shmpool_task_reply(t, &sum, sizeof sum);
}

/* The sum over the span. */
static int sum(shmpool_task *t) {
  double *v, acc = 0;
  const span *s = get_span(t, &v);
  uint64_t i;
  if (s == NULL)
    return 1;
  for (i = s->start; i < s->start + s->count; i++)
    acc += v[i];
  return shmpool_task_reply(t, &acc, sizeof acc);
}

static const shmpool_task_def tasks[] = {
    {"scale", scale}, {"sum", sum}, {NULL, NULL}};

int main(int argc, char **argv) {
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  fprintf(stderr, "%s: a shmpool worker; the worker_exe example starts it\n",
          argc > 0 ? argv[0] : "worker_exe_worker");
  return 2;
}
