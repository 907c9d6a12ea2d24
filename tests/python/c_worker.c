/* c_worker: a worker executable for the Python package's tests of
 * shmpool.Pool(worker_path=...): C tasks run from Python.
 *
 * The tasks over segments are examples/worker_exe/worker.c's (the tests
 * run that example too); these are the ones it lacks:
 *   square  map element i (no argument): replies with (double)(i * i)
 *   echo    replies with its argument
 *   fail    fails with status 7 and a message (shmpool_task_fail)
 *   crash   abort()
 *   nap     sleeps for its argument's u32 milliseconds, replies "awake"
 *   init    an initializer: fails with status 9 if its argument is "bad"
 *
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
static void nap_ms(unsigned ms) { Sleep(ms); }
#else
#include <time.h>
static void nap_ms(unsigned ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  nanosleep(&ts, NULL);
}
#endif

static int square(shmpool_task *t) {
  double x = (double)shmpool_task_id(t);
  x *= x;
  return shmpool_task_reply(t, &x, sizeof x);
}

static int echo(shmpool_task *t) {
  size_t len;
  const void *arg = shmpool_task_arg(t, &len);
  return shmpool_task_reply(t, arg, len);
}

static int fail(shmpool_task *t) {
  return shmpool_task_fail(t, 7, "fail: asked to");
}

static int crash(shmpool_task *t) {
  (void)t;
  abort();
}

static int nap(shmpool_task *t) {
  size_t len;
  const unsigned char *arg = (const unsigned char *)shmpool_task_arg(t, &len);
  uint32_t ms = 0;
  if (arg != NULL && len == sizeof ms)
    memcpy(&ms, arg, sizeof ms);
  nap_ms(ms);
  return shmpool_task_reply(t, "awake", 5);
}

static int init(shmpool_task *t) {
  size_t len;
  const char *arg = (const char *)shmpool_task_arg(t, &len);
  return arg != NULL && len == 3 && memcmp(arg, "bad", 3) == 0 ? 9 : 0;
}

static const shmpool_task_def tasks[] = {
    {"square", square}, {"echo", echo}, {"fail", fail}, {"crash", crash},
    {"nap", nap},       {"init", init}, {NULL, NULL}};

int main(int argc, char **argv) {
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  fprintf(stderr, "c_worker: a shmpool worker for the Python tests\n");
  return 2;
}
