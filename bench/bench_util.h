/* Timing helpers shared by the benchmarks, over examples/example_util.h.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_BENCH_UTIL_H
#define SHMPOOL_BENCH_UTIL_H

#include <stdlib.h>

/* The clock, pid and process memory the examples use: one copy. */
#include "../examples/example_util.h"

/* Seconds from a monotonic clock. */
static inline double bench_now_s(void) {
  return example_now_s();
}

/* Nanoseconds from the same clock. */
static inline double bench_now_ns(void) {
  return bench_now_s() * 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static inline double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
