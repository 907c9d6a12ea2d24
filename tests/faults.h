/* The fault-injection drivers both backends' tests share: what a case
 * does and checks is the same on every platform, so it is written once
 * here; the platform tests (tests/posix/, tests/win32/) supply how to make
 * a call fail and what "nothing left" counts (descriptors, handles,
 * child processes).
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_TEST_FAULTS_H
#define SHMPOOL_TEST_FAULTS_H

#include <stddef.h>

#include "shmpool.h"

/* ---- segments -------------------------------------------------------------
 * Each system call of create and open fails in turn: create/open must
 * return the documented error, record the OS error, and leave nothing
 * behind. */

typedef struct seg_fault_case {
  const char *call; /* the system-call table entry that fails */
  long err;         /* the errno / GetLastError() value it fails with */
  int expected;     /* the SHMPOOL_E* code create/open must return */
  int records_err;  /* whether shmpool_last_os_error() must be err */
} seg_fault_case;

typedef struct seg_fault_platform {
  /* Make `call` fail with err until restore() (a test fails on an
   * unknown call). */
  void (*inject)(const char *call, long err);
  void (*restore)(void);
  /* Descriptors or handles this process holds; -1 or 0 where unknown. */
  long (*count_resources)(void);
  /* The call that generates names: its cases create with a NULL name. */
  const char *random_call;
} seg_fault_platform;

/* Each case in turn: create fails as expected, nothing is leaked, the
 * name is free and can then be created. */
void seg_faults_on_create(const seg_fault_platform *p,
                          const seg_fault_case *cases, size_t n);
/* Each case in turn against an existing segment: open fails as expected
 * and leaks nothing; the segment is intact and still owned after. */
void seg_faults_on_open(const seg_fault_platform *p,
                        const seg_fault_case *cases, size_t n);

/* ---- pools ----------------------------------------------------------- */

/* The pool fault tests' tasks: "pid" (test_task_pid), "hang" (sleeps a
 * minute) and "sleep" (its unsigned argument in ms), and options for a pool of `workers` of them that gives up on a
 * worker 200 ms into shutdown. */
extern const shmpool_task_def pool_fault_tasks[];
shmpool_options pool_fault_options(unsigned workers);

/* A one-worker pool whose worker hangs in a task past the shutdown
 * deadline, destroyed while break_kill() makes the platform's kill fail
 * (restore() undoes it, before any assertion can fail): destroy must
 * return 0, promptly, and remove the control segment. Returns the pid of
 * the worker the pool gave up on, which still runs: the caller ends it. */
long pool_fault_destroy_when_kill_fails(void (*break_kill)(void),
                                        void (*restore)(void));

#endif
