/* make_array: put a float64 array in a shmpool segment for another program
 * (examples/numpy_view.py reads it with numpy, without copying).
 *
 *   make_array [--n N] [--name NAME] [--hold]
 *       Create a PERSIST shmpool segment holding N doubles, v[i] = (i % 1000)
 *       * 0.25, and print "name <name>", "n <N>", "sum <sum>" (one per line).
 *       Then exit: on POSIX the segment stays until someone unlinks it.
 *       With --hold, and always on Windows (where a segment lives only while
 *       some process holds it), keep it open until a line (or EOF) arrives
 *       on stdin.
 *   make_array --unlink NAME
 *       Remove it (the C side owns the name; Python only reads).
 *   make_array --check [--n N]
 *       Create a segment, open it again by name as a reader would, check the
 *       size and the sum, unlink it (the self-test run by CTest everywhere).
 *
 * The data is at offset 64 of the shared-memory object, and the exact size
 * in bytes is the 8-byte integer at offset 16 (docs/FORMAT.md).
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmpool.h"

static void die(const char *what, int rc) {
  fprintf(stderr, "make_array: %s: %s (%s)\n", what, shmpool_strerror(rc),
          shmpool_err_name(rc));
  exit(1);
}

static double fill(double *v, size_t n) {
  double sum = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    v[i] = (double)(i % 1000) * 0.25; /* exact: the sum is exact */
    sum += v[i];
  }
  return sum;
}

static int check(size_t n) {
  shmpool_seg *seg, *reader;
  const double *v;
  double expect, sum = 0;
  size_t i, size;
  int rc =
      shmpool_seg_create(&seg, NULL, n * sizeof(double), SHMPOOL_SEG_PERSIST);
  if (rc != 0)
    die("creating", rc);
  expect = fill((double *)shmpool_seg_data(seg), n);
  rc = shmpool_seg_open(&reader, shmpool_seg_name(seg), SHMPOOL_SEG_READONLY);
  if (rc != 0)
    die("opening", rc);
  v = (const double *)shmpool_seg_data(reader);
  size = shmpool_seg_size(reader); /* exact, from the header */
  for (i = 0; i < size / sizeof(double); i++)
    sum += v[i];
  printf("name %s\nn %zu\nsum %.17g\n", shmpool_seg_name(reader),
         size / sizeof(double), sum);
  rc = shmpool_seg_unlink(shmpool_seg_name(seg));
  if (rc != 0)
    die("unlinking", rc);
  shmpool_seg_close(reader);
  shmpool_seg_close(seg);
  if (size != n * sizeof(double) || sum != expect) {
    fprintf(stderr, "make_array: WRONG: size %zu, sum %.17g, expected %.17g\n",
            size, sum, expect);
    return 1;
  }
  printf("check: ok\n");
  return 0;
}

int main(int argc, char **argv) {
  size_t n = 1000000;
  const char *name = NULL;
  int hold = 0, self_check = 0, a, rc;
  shmpool_seg *seg;
  double sum;

#if defined(_WIN32)
  hold = 1; /* the segment dies with its last handle */
#endif
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--n") == 0 && a + 1 < argc)
      n = (size_t)strtoull(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--name") == 0 && a + 1 < argc)
      name = argv[++a];
    else if (strcmp(argv[a], "--hold") == 0)
      hold = 1;
    else if (strcmp(argv[a], "--unlink") == 0 && a + 1 < argc) {
      rc = shmpool_seg_unlink(argv[++a]);
      if (rc != 0)
        die("unlinking", rc);
      return 0;
    } else if (strcmp(argv[a], "--check") == 0)
      self_check = 1;
    else {
      fprintf(stderr,
              "usage: %s [--n N] [--name NAME] [--hold]\n"
              "       %s --unlink NAME\n"
              "       %s --check [--n N]\n",
              argv[0], argv[0], argv[0]);
      return 2;
    }
  }
  if (n == 0) {
    fprintf(stderr, "make_array: --n must be positive\n");
    return 2;
  }
  if (self_check)
    return check(n);

  /* PERSIST: closing this handle does not unlink the name, so the array
   * outlives this process (on POSIX) until make_array --unlink. */
  rc = shmpool_seg_create(&seg, name, n * sizeof(double), SHMPOOL_SEG_PERSIST);
  if (rc != 0)
    die("creating", rc);
  sum = fill((double *)shmpool_seg_data(seg), n);
  printf("name %s\nn %zu\nsum %.17g\n", shmpool_seg_name(seg), n, sum);
  fflush(stdout);
  if (hold) {
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) {
      /* EOF: the reader is done */
    }
  }
  shmpool_seg_close(seg);
  return 0;
}
