/* worker_exe: a pool whose workers are a different executable.
 *
 * The parent does not link any task code: opts.tasks = NULL, and
 * opts.worker_path names worker_exe_worker (worker.c), which it looks for
 * next to its own executable (worker_exe_worker.exe on Windows). The
 * worker decides which task names exist, so a name it does not know is
 * accepted by submit and comes back as a result with SHMPOOL_ENOTASK.
 *
 *   worker_exe [--n N] [--workers N] [--worker PATH]
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
#define WORKER_FILE "worker_exe_worker.exe"
#else
#include <unistd.h>
#define WORKER_FILE "worker_exe_worker"
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif
#endif

/* Must match worker.c: the parent and the worker agree on the argument
 * layout, not on code. */
typedef struct span {
  uint64_t start, count;
  double factor;
} span;

static void die(const char *what, int rc) {
  fprintf(stderr, "worker_exe: %s: %s (%s)\n", what, shmpool_strerror(rc),
          shmpool_err_name(rc));
  exit(1);
}

/* The path of this executable (UTF-8, which is what worker_path takes on
 * Windows too), or NULL. Malloc'd. */
static char *self_path(const char *argv0) {
#if defined(_WIN32)
  WCHAR wbuf[32768];
  DWORD n = GetModuleFileNameW(NULL, wbuf, 32768);
  int len;
  char *out;
  (void)argv0;
  if (n == 0 || n >= 32768)
    return NULL;
  len = WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, NULL, 0, NULL, NULL);
  out = len > 0 ? (char *)malloc((size_t)len) : NULL;
  if (out != NULL)
    WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, out, len, NULL, NULL);
  return out;
#else
  char *out = (char *)malloc(4096);
  if (out == NULL)
    return NULL;
#if defined(__linux__)
  {
    ssize_t n = readlink("/proc/self/exe", out, 4095);
    if (n > 0) {
      out[n] = '\0';
      return out;
    }
  }
#elif defined(__APPLE__)
  {
    uint32_t size = 4096;
    if (_NSGetExecutablePath(out, &size) == 0)
      return out;
  }
#endif
  /* Elsewhere: argv[0], good enough when it holds a path. */
  if (argv0 == NULL || strlen(argv0) >= 4096) {
    free(out);
    return NULL;
  }
  strcpy(out, argv0);
  return out;
#endif
}

/* WORKER_FILE in the directory of this executable. Malloc'd. */
static char *worker_next_to_me(const char *argv0) {
  char *self = self_path(argv0), *out, *slash, *bslash;
  size_t dir_len;
  if (self == NULL)
    return NULL;
  slash = strrchr(self, '/');
  bslash = strrchr(self, '\\');
  if (bslash != NULL && (slash == NULL || bslash > slash))
    slash = bslash;
  dir_len = slash != NULL ? (size_t)(slash - self) + 1 : 0;
  out = (char *)malloc(dir_len + sizeof WORKER_FILE);
  if (out != NULL) {
    memcpy(out, self, dir_len);
    memcpy(out + dir_len, WORKER_FILE, sizeof WORKER_FILE);
  }
  free(self);
  return out;
}

int main(int argc, char **argv) {
  size_t n = (size_t)1 << 20, i;
  unsigned workers = 2;
  const char *worker = NULL;
  char *found = NULL;
  shmpool_options opts;
  shmpool_seg *seg;
  shmpool *pool;
  shmpool_result res;
  shmpool_result_init(&res);
  span spans[8];
  double sums[8], expect = 0, total = 0, *v;
  uint64_t id, bad_id;
  int a, rc, k;

  /* No shmpool_is_worker() here: this executable is never a worker. */
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--n") == 0 && a + 1 < argc)
      n = (size_t)strtoull(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--workers") == 0 && a + 1 < argc)
      workers = (unsigned)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--worker") == 0 && a + 1 < argc)
      worker = argv[++a];
    else {
      fprintf(stderr, "usage: %s [--n N] [--workers N] [--worker PATH]\n",
              argv[0]);
      return 2;
    }
  }
  if (n < 8) {
    fprintf(stderr, "worker_exe: --n must be at least 8\n");
    return 2;
  }
  if (worker == NULL) {
    worker = found = worker_next_to_me(argv[0]);
    if (worker == NULL)
      die("finding the worker executable", SHMPOOL_ENOMEM);
  }

  /* The data: n doubles in a segment. */
  rc = shmpool_seg_create(&seg, NULL, n * sizeof(double), 0);
  if (rc != 0)
    die("creating the segment", rc);
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < n; i++) {
    v[i] = (double)(i % 1000) * 0.5; /* exact: sums compare exactly */
    expect += v[i];
  }

  /* The pool: another executable, whose task table we do not know. */
  shmpool_options_init(&opts);
  opts.workers = workers;
  opts.tasks = NULL; /* the worker decides which task names exist */
  opts.worker_path = worker;
  rc = shmpool_create(&pool, &opts);
  if (rc != 0)
    die("starting the pool", rc);
  printf("pool: %u workers running %s\n", shmpool_workers(pool), worker);

  for (k = 0; k < 8; k++) {
    spans[k].start = (uint64_t)(n * (size_t)k / 8);
    spans[k].count = (uint64_t)(n * (size_t)(k + 1) / 8) - spans[k].start;
    spans[k].factor = 2.0;
  }

  /* 1. submit/wait: results come back in completion order. */
  for (k = 0; k < 8; k++) {
    rc =
        shmpool_submit(pool, "scale", &spans[k], sizeof spans[k], &seg, 1, &id);
    if (rc != 0)
      die("submitting scale", rc);
  }
  for (k = 0; k < 8; k++) {
    rc = shmpool_wait(pool, &res, -1);
    if (rc != 0)
      die("waiting", rc);
    if (res.status != 0 || res.len != sizeof(double))
      die("scale", res.status != 0 ? res.status : SHMPOOL_EPROTO);
    total += *(const double *)res.data;
  }
  printf("scale: sum %.17g after doubling (expected %.17g)\n", total,
         2 * expect);
  if (total != 2 * expect)
    return 1;

  /* 2. map: the same, in submission order. */
  rc = shmpool_map(pool, "sum", spans, sizeof spans[0], 8, &seg, 1, sums,
                   sizeof sums[0], NULL);
  if (rc != 0)
    die("sum", rc);
  for (k = 0, total = 0; k < 8; k++)
    total += sums[k];
  printf("sum:   %.17g\n", total);
  if (total != 2 * expect)
    return 1;

  /* 3. A name the worker does not have: submit cannot know (tasks = NULL),
   * so it succeeds; the result says SHMPOOL_ENOTASK. */
  rc = shmpool_submit(pool, "no_such_task", NULL, 0, NULL, 0, &bad_id);
  if (rc != 0)
    die("submitting no_such_task", rc);
  rc = shmpool_wait(pool, &res, -1);
  if (rc != 0)
    die("waiting for no_such_task", rc);
  printf("no_such_task: status %s (%s)\n", shmpool_err_name(res.status),
         shmpool_strerror(res.status));
  if (res.id != bad_id || res.status != SHMPOOL_ENOTASK)
    return 1;

  shmpool_destroy(pool);
  shmpool_seg_close(seg);
  free(found);
  printf("check: ok\n");
  return 0;
}
