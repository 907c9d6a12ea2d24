/* Threads for tests: start a function on a new thread, join it.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_TEST_THREADS_H
#define SHMPOOL_TEST_THREADS_H

#include <stdint.h>

typedef void (*test_thread_fn)(void *arg);

typedef struct test_thread {
  intptr_t handle;
  test_thread_fn fn;
  void *arg;
} test_thread;

/* Run fn(arg) on a new thread; t must stay valid until test_thread_join.
 * Returns 0, or -1 if the thread could not be started. */
int test_thread_start(test_thread *t, test_thread_fn fn, void *arg);
void test_thread_join(test_thread *t);

#endif
