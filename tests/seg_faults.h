/* The segment fault-injection driver both backends' tests share
 * (tests/posix/test_posix_seg.c, tests/win32/test_win32_seg.c): each
 * system call of create and open fails in turn, and create/open must
 * return the documented error, record the OS error, and leave nothing
 * behind. The platform part is how to make a call fail and what "nothing
 * left" counts (descriptors, handles).
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_TEST_SEG_FAULTS_H
#define SHMPOOL_TEST_SEG_FAULTS_H

#include <stddef.h>

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

#endif
