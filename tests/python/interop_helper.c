/* interop_helper: the C side of the Python interoperability tests
 * (test_interop.py drives it). Each command does one thing to a named
 * segment and reports on stdout; the exit status is 0 when every check
 * passed.
 *
 *   serve-raw NAME COUNT   create a RAW segment of COUNT doubles (pattern P),
 *                          print "READY <size>", wait for a line on stdin,
 *                          check Python's writes (W), close (this unlinks)
 *   create-raw NAME COUNT  the same with SHMPOOL_SEG_PERSIST, then exit
 *   check-raw NAME COUNT   open RAW, check size and Python's writes (W),
 *                          then unlink
 *   check-py NAME COUNT    a segment Python created with pattern Q: opening
 *                          it without RAW must fail with EFORMAT; open RAW
 *                          (and RAW|READONLY), check size and values, write
 *                          2*Q(i) at odd i, close (an opener: no unlink)
 *   create-hdr NAME COUNT  create a PERSIST shmpool segment of COUNT doubles
 *                          (pattern P), then exit
 *   serve-hdr NAME COUNT   create a shmpool segment (not PERSIST), print
 *                          "READY <size>", wait for a line on stdin, close
 *   check-hdr NAME COUNT   open the shmpool segment, check size and Python's
 *                          writes (W), then unlink
 *   pool-sum NAME COUNT    open a RAW segment read-only and sum its COUNT
 *                          doubles with a pool of 2 workers (this executable)
 *                          that attach to it by name; print "SUM <sum>"
 *   open NAME              open a shmpool segment; print "OPEN 0 <size>" or
 *                          "OPEN <error name>"; exit 0 if it opened, else 3
 *   unlink NAME            shmpool_seg_unlink; print "UNLINK <error name>"
 *
 * Patterns (all exact in binary, so == comparisons are safe):
 *   P(i) = i * 0.25 - 3         what C writes
 *   W: at i % 3 == 0 Python writes 1000 + i, elsewhere P(i) stays
 *   Q(i) = (i % 100) * 0.5 - 7  what Python writes
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmpool.h"

static double pat_p(size_t i) {
  return (double)i * 0.25 - 3.0;
}
static double pat_q(size_t i) {
  return (double)(i % 100) * 0.5 - 7.0;
}
static double pat_w(size_t i) {
  return i % 3 == 0 ? 1000.0 + (double)i : pat_p(i);
}

static int fail(const char *what, int rc) {
  printf("FAIL %s: %s (%s)\n", what, shmpool_err_name(rc),
         shmpool_strerror(rc));
  fflush(stdout);
  return 1;
}

static void fill_p(double *v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    v[i] = pat_p(i);
}

/* Count mismatches against pattern fn; report the first. */
static size_t check(const double *v, size_t n, double (*fn)(size_t),
                    const char *label) {
  size_t i, bad = 0;
  for (i = 0; i < n; i++) {
    if (v[i] != fn(i)) {
      if (bad == 0)
        printf("MISMATCH %s at %zu: %.17g, expected %.17g\n", label, i, v[i],
               fn(i));
      bad++;
    }
  }
  return bad;
}

static void wait_line(void) {
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL)
    return; /* EOF: the driver went away; finish anyway */
}

/* The size a RAW open reports: exact on Linux, maybe rounded elsewhere. */
static int raw_size_ok(size_t got, size_t want) {
#if defined(__linux__)
  return got == want;
#else
  return got >= want;
#endif
}

static int cmd_create(const char *name, size_t count, unsigned flags,
                      int serve) {
  shmpool_seg *seg;
  int rc = shmpool_seg_create(&seg, name, count * sizeof(double), flags);
  if (rc != 0)
    return fail("create", rc);
  fill_p((double *)shmpool_seg_data(seg), count);
  printf("READY %zu\n", shmpool_seg_size(seg));
  fflush(stdout);
  if (serve) {
    size_t bad;
    wait_line();
    bad = check((const double *)shmpool_seg_data(seg), count,
                (flags & SHMPOOL_SEG_RAW) ? pat_w : pat_p, "serve");
    printf("CHECKED %zu bad\n", bad);
    rc = shmpool_seg_close(seg); /* the creator: this unlinks */
    printf("CLOSE %s\n", rc == 0 ? "0" : shmpool_err_name(rc));
    fflush(stdout);
    return bad != 0 || rc != 0;
  }
  rc = shmpool_seg_close(seg); /* PERSIST: the name stays */
  return rc != 0 ? fail("close", rc) : 0;
}

static int cmd_check_writes(const char *name, size_t count, unsigned flags) {
  shmpool_seg *seg;
  size_t bad, size;
  int rc = shmpool_seg_open(&seg, name, flags);
  if (rc != 0)
    return fail("open", rc);
  size = shmpool_seg_size(seg);
  if ((flags & SHMPOOL_SEG_RAW) ? !raw_size_ok(size, count * sizeof(double))
                                : size != count * sizeof(double)) {
    printf("FAIL size %zu, expected %zu\n", size, count * sizeof(double));
    shmpool_seg_close(seg);
    return 1;
  }
  bad = check((const double *)shmpool_seg_data(seg), count, pat_w, "check");
  printf("CHECKED %zu bad\n", bad);
  shmpool_seg_close(seg);
  rc = shmpool_seg_unlink(name); /* raw or not: the same call */
  printf("UNLINK %s\n", rc == 0 ? "0" : shmpool_err_name(rc));
  return bad != 0 || rc != 0;
}

static int cmd_check_py(const char *name, size_t count) {
  shmpool_seg *seg;
  double *v;
  size_t i, bad, size;
  int rc;

  /* Not a shmpool segment: a validated open must refuse it, cleanly. */
  rc = shmpool_seg_open(&seg, name, 0);
  printf("OPEN-NO-RAW %s\n", rc == 0 ? "0" : shmpool_err_name(rc));
  if (rc == 0) {
    shmpool_seg_close(seg);
    return 1;
  }
  if (rc != SHMPOOL_EFORMAT)
    return 1;

  /* Read-only raw view: same size and values. */
  rc = shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW | SHMPOOL_SEG_READONLY);
  if (rc != 0)
    return fail("open RAW|READONLY", rc);
  size = shmpool_seg_size(seg);
  bad = check((const double *)shmpool_seg_data(seg), count, pat_q, "ro");
  shmpool_seg_close(seg);
  printf("READONLY size %zu, %zu bad\n", size, bad);
  if (bad != 0 || !raw_size_ok(size, count * sizeof(double)))
    return 1;

  rc = shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW);
  if (rc != 0)
    return fail("open RAW", rc);
  size = shmpool_seg_size(seg);
  printf("SIZE %zu\n", size);
  if (!raw_size_ok(size, count * sizeof(double))) {
    shmpool_seg_close(seg);
    return 1;
  }
  v = (double *)shmpool_seg_data(seg);
  bad = check(v, count, pat_q, "rw");
  printf("CHECKED %zu bad\n", bad);
  for (i = 1; i < count; i += 2)
    v[i] = 2.0 * pat_q(i);
  rc = shmpool_seg_close(seg); /* an opener: never unlinks */
  if (rc != 0)
    return fail("close", rc);
  return bad != 0;
}

/* ---- a pool over a segment Python made ---------------------------------- */

typedef struct slice {
  uint64_t start, count;
} slice;

static int sum_slice(shmpool_task *t) {
  size_t size, len;
  const double *v = (const double *)shmpool_task_seg(t, 0, &size);
  const slice *s = (const slice *)shmpool_task_arg(t, &len);
  double acc = 0;
  uint64_t i;
  if (v == NULL || len != sizeof *s || s->start + s->count > size / 8)
    return 1;
  for (i = s->start; i < s->start + s->count; i++)
    acc += v[i];
  return shmpool_task_reply(t, &acc, sizeof acc);
}

static const shmpool_task_def tasks[] = {{"sum_slice", sum_slice},
                                         {NULL, NULL}};

static int cmd_pool_sum(const char *name, size_t count) {
  shmpool_seg *seg;
  shmpool *pool;
  shmpool_options opts;
  slice slices[8];
  double sums[8], total = 0;
  int rc, k;
  /* Workers map it with this handle's access: RAW and read-only. */
  rc = shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW | SHMPOOL_SEG_READONLY);
  if (rc != 0)
    return fail("open RAW|READONLY", rc);
  shmpool_options_init(&opts);
  opts.workers = 2;
  opts.tasks = tasks;
  rc = shmpool_create(&pool, &opts);
  if (rc != 0) {
    shmpool_seg_close(seg);
    return fail("pool", rc);
  }
  for (k = 0; k < 8; k++) {
    slices[k].start = (uint64_t)(count * (size_t)k / 8);
    slices[k].count = (uint64_t)(count * (size_t)(k + 1) / 8) - slices[k].start;
  }
  rc = shmpool_map(pool, "sum_slice", slices, sizeof slices[0], 8, &seg, 1,
                   sums, sizeof sums[0], NULL);
  shmpool_destroy(pool);
  shmpool_seg_close(seg);
  if (rc != 0)
    return fail("map", rc);
  for (k = 0; k < 8; k++)
    total += sums[k];
  printf("SUM %.17g\n", total);
  return 0;
}

static int cmd_open(const char *name) {
  shmpool_seg *seg;
  int rc = shmpool_seg_open(&seg, name, 0);
  if (rc != 0) {
    printf("OPEN %s\n", shmpool_err_name(rc));
    return 3;
  }
  printf("OPEN 0 %zu\n", shmpool_seg_size(seg));
  shmpool_seg_close(seg);
  return 0;
}

int main(int argc, char **argv) {
  const char *cmd, *name;
  size_t count = 0;
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  if (argc < 3) {
    fprintf(stderr, "usage: %s COMMAND NAME [COUNT]\n", argv[0]);
    return 2;
  }
  cmd = argv[1];
  name = argv[2];
  if (argc > 3)
    count = (size_t)strtoull(argv[3], NULL, 10);

  if (strcmp(cmd, "open") == 0)
    return cmd_open(name);
  if (strcmp(cmd, "unlink") == 0) {
    int rc = shmpool_seg_unlink(name);
    printf("UNLINK %s\n", rc == 0 ? "0" : shmpool_err_name(rc));
    return rc != 0;
  }
  if (count == 0) {
    fprintf(stderr, "%s: COUNT must be positive\n", cmd);
    return 2;
  }
  if (strcmp(cmd, "serve-raw") == 0)
    return cmd_create(name, count, SHMPOOL_SEG_RAW, 1);
  if (strcmp(cmd, "create-raw") == 0)
    return cmd_create(name, count, SHMPOOL_SEG_RAW | SHMPOOL_SEG_PERSIST, 0);
  if (strcmp(cmd, "check-raw") == 0)
    return cmd_check_writes(name, count, SHMPOOL_SEG_RAW);
  if (strcmp(cmd, "check-py") == 0)
    return cmd_check_py(name, count);
  if (strcmp(cmd, "pool-sum") == 0)
    return cmd_pool_sum(name, count);
  if (strcmp(cmd, "create-hdr") == 0)
    return cmd_create(name, count, SHMPOOL_SEG_PERSIST, 0);
  if (strcmp(cmd, "serve-hdr") == 0)
    return cmd_create(name, count, 0, 1);
  if (strcmp(cmd, "check-hdr") == 0)
    return cmd_check_writes(name, count, 0);
  fprintf(stderr, "unknown command %s\n", cmd);
  return 2;
}
