/* Memory helpers shared by the benchmarks and the measuring examples.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_BENCH_MEM_H
#define SHMPOOL_BENCH_MEM_H

#include <stdio.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <unistd.h>
#endif

/* This process's id, as bench_pss_kib takes it. */
static inline long long bench_self_pid(void) {
#if defined(_WIN32)
  return (long long)GetCurrentProcessId();
#else
  return (long long)getpid();
#endif
}

/* The proportional set size of process pid, in KiB, or -1 where it cannot
 * be read. Linux only (/proc/PID/smaps_rollup, kernel 4.14 and later): a
 * page mapped by k processes counts 1/k in each, so the sum over a process
 * tree is the memory the tree really uses, shared segments included once.
 * Other systems have no such figure (a working set counts shared pages in
 * every process that maps them): -1 there. */
static inline long long bench_pss_kib(long long pid) {
#if defined(__linux__)
  char path[64], line[256];
  long long kib = -1;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%lld/smaps_rollup", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "Pss: %lld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
#else
  (void)pid;
  return -1;
#endif
}

#endif
