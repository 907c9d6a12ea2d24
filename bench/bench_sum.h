/* Summing an array of doubles, the benchmarks' standard piece of work:
 * one range, and the whole array by two threads in one process (the
 * baseline a pool of two workers is measured against).
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_BENCH_SUM_H
#define SHMPOOL_BENCH_SUM_H

#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#endif

/* Four accumulators: the loop runs at memory speed, not at the latency of
 * one dependent add. */
static inline double bench_sum_range(const double *v, uint64_t start,
                                     uint64_t count) {
  double acc[4] = {0, 0, 0, 0};
  uint64_t i, end = start + count;
  for (i = start; i + 4 <= end; i += 4) {
    acc[0] += v[i];
    acc[1] += v[i + 1];
    acc[2] += v[i + 2];
    acc[3] += v[i + 3];
  }
  for (; i < end; i++)
    acc[0] += v[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

typedef struct bench_half {
  const double *v;
  uint64_t start, count;
  double sum;
} bench_half;

#if defined(_WIN32)
static inline DWORD WINAPI bench_half_sum(LPVOID arg) {
#else
static inline void *bench_half_sum(void *arg) {
#endif
  bench_half *h = (bench_half *)arg;
  h->sum = bench_sum_range(h->v, h->start, h->count);
  return 0;
}

/* The sum of v[0..n) by two threads, each half. */
static inline double bench_threads_sum(const double *v, uint64_t n) {
  bench_half h[2];
  int i;
#if defined(_WIN32)
  HANDLE th[2];
#else
  pthread_t th[2];
#endif
  for (i = 0; i < 2; i++) {
    h[i].v = v;
    h[i].start = n * (uint64_t)i / 2;
    h[i].count = n * (uint64_t)(i + 1) / 2 - h[i].start;
#if defined(_WIN32)
    th[i] = CreateThread(NULL, 0, bench_half_sum, &h[i], 0, NULL);
#else
    pthread_create(&th[i], NULL, bench_half_sum, &h[i]);
#endif
  }
  for (i = 0; i < 2; i++) {
#if defined(_WIN32)
    WaitForSingleObject(th[i], INFINITE);
    CloseHandle(th[i]);
#else
    pthread_join(th[i], NULL);
#endif
  }
  return h[0].sum + h[1].sum;
}

#endif
