/* The little the examples need beyond shmpool itself: a clock, this
 * process's pid, and how much memory a process uses. Header-only and
 * plain C11 + the OS, so an example stays one file plus this one to copy.
 * (The benchmarks use it too, through bench/bench_util.h.)
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_EXAMPLE_UTIL_H
#define SHMPOOL_EXAMPLE_UTIL_H

#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
/* after windows.h, which it needs */
#include <psapi.h>
#else
#include <time.h>
#include <unistd.h>
#endif

/* Seconds from a monotonic clock. */
static inline double example_now_s(void) {
#if defined(_WIN32)
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

static inline long long example_pid(void) {
#if defined(_WIN32)
  return (long long)GetCurrentProcessId();
#else
  return (long long)getpid();
#endif
}

/* A "<key> <n> kB" line of /proc/<pid>/<file>, in KiB (Linux); -1 if it
 * is not there, or elsewhere. */
static inline long long example_proc_kib(long long pid, const char *file,
                                         const char *key) {
#if defined(__linux__)
  char path[64], line[256];
  long long kib = -1;
  size_t klen = 0;
  FILE *f;
  while (key[klen] != '\0')
    klen++;
  snprintf(path, sizeof path, "/proc/%lld/%s", pid, file);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, key, klen) == 0 &&
        sscanf(line + klen, "%lld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
#else
  (void)pid;
  (void)file;
  (void)key;
  return -1;
#endif
}

/* Memory charged to a process, in KiB: its proportional set size on Linux
 * (shared pages split among the processes that map them, so the sum over
 * a process tree is what the tree really uses); the working set on
 * Windows (shared pages counted in every process: an overestimate; link
 * psapi). -1 if unknown. */
static inline long long example_process_kib(long long pid) {
#if defined(__linux__)
  return example_proc_kib(pid, "smaps_rollup", "Pss:");
#elif defined(_WIN32)
  PROCESS_MEMORY_COUNTERS pmc;
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ,
                         FALSE, (DWORD)pid);
  long long kib = -1;
  if (h == NULL)
    return -1;
  if (GetProcessMemoryInfo(h, &pmc, sizeof pmc))
    kib = (long long)(pmc.WorkingSetSize / 1024);
  CloseHandle(h);
  return kib;
#else
  (void)pid;
  return -1;
#endif
}

#endif
