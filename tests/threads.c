/* Threads for tests; see threads.h.
 *
 * SPDX-License-Identifier: MIT */
#include "threads.h"

#if defined(_WIN32)
#include <windows.h>

static DWORD WINAPI test_thread_main(LPVOID p) {
  test_thread *t = (test_thread *)p;
  t->fn(t->arg);
  return 0;
}

int test_thread_start(test_thread *t, test_thread_fn fn, void *arg) {
  HANDLE h;
  t->fn = fn;
  t->arg = arg;
  h = CreateThread(NULL, 0, test_thread_main, t, 0, NULL);
  if (h == NULL)
    return -1;
  t->handle = (intptr_t)h;
  return 0;
}

void test_thread_join(test_thread *t) {
  WaitForSingleObject((HANDLE)t->handle, INFINITE);
  CloseHandle((HANDLE)t->handle);
}
#else
#include <pthread.h>
#include <stdlib.h>

static void *test_thread_main(void *p) {
  test_thread *t = (test_thread *)p;
  t->fn(t->arg);
  return NULL;
}

int test_thread_start(test_thread *t, test_thread_fn fn, void *arg) {
  pthread_t *th = (pthread_t *)malloc(sizeof *th);
  t->fn = fn;
  t->arg = arg;
  if (th == NULL || pthread_create(th, NULL, test_thread_main, t) != 0) {
    free(th);
    return -1;
  }
  t->handle = (intptr_t)th;
  return 0;
}

void test_thread_join(test_thread *t) {
  pthread_t *th = (pthread_t *)t->handle;
  pthread_join(*th, NULL);
  free(th);
}
#endif
