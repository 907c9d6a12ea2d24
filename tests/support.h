/* Test support: unique names, and re-executing the test binary itself in a
 * helper role (libuv's spawn_helper idea), so multi-process tests need no
 * second executable on Windows.
 *
 * A test program's main() calls test_dispatch_helper() first; when argv is
 * "<exe> --helper <role> args...", it runs that role and exits with its
 * return value.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_TEST_SUPPORT_H
#define SHMPOOL_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "shmpool.h"

typedef int (*test_helper_fn)(int argc, char **argv);
typedef struct test_helper {
  const char *role;
  test_helper_fn fn;
} test_helper; /* {NULL, NULL} ends a table */

/* If argv asks for a helper role, run it and exit(); else return. */
void test_dispatch_helper(int argc, char **argv, const test_helper *helpers);

/* A child process started by test_spawn_self. */
typedef struct test_proc {
  intptr_t handle; /* Windows: process HANDLE */
  long pid;
} test_proc;

/* How a child ended. */
typedef struct test_exit {
  int exited;  /* 1 if it ended (else the wait timed out) */
  int code;    /* exit code; Windows: also the exception code of a crash */
  int signal;  /* POSIX: the signal that killed it, else 0 */
  int crashed; /* killed by a memory-access fault (SIGSEGV/SIGBUS or an
                  access violation) */
} test_exit;

/* Start "<this exe> --helper <role> args..." (args NULL-terminated). */
int test_spawn_self(test_proc *p, const char *role, const char *const *args);
/* Wait up to timeout_ms (-1: forever). Returns 0, or -1 on timeout. */
int test_proc_wait(test_proc *p, int timeout_ms, test_exit *out);
/* Kill the child hard (SIGKILL / TerminateProcess). */
void test_proc_kill(test_proc *p);
/* spawn + wait (60 s); returns the helper's exit code, or -1000 - signal
 * for a POSIX signal death, or the raw code of a Windows crash. */
int test_run_self(const char *role, const char *const *args, test_exit *out);

/* "t<pid>.<tag>": unique per test process, within the portable rules. */
void test_name(char *buf, size_t len, const char *tag);

/* Copy environment variable name into buf; 0 if it is set and fits, else
 * -1. (cl deprecates getenv; this is the one place that reads it.) */
int test_getenv(const char *name, char *buf, size_t len);

/* Milliseconds from a monotonic clock. */
uint64_t test_now_ms(void);
void test_sleep_ms(unsigned ms);
long test_getpid(void);

#if defined(__linux__)
/* The state letter and parent of process pid from /proc/<pid>/stat: 0, or
 * -1 if it is gone. */
int test_proc_stat(long pid, char *state, long *ppid);
#endif

/* Open descriptors of this process (Linux), or -1 where unknown. */
int test_count_fds(void);
/* Child processes of this one not yet reaped, zombies included (Linux), or
 * -1 where unknown. */
int test_count_children(void);
/* SIGKILL every process that runs as a worker of the pool whose control
 * segment is ctl_name, without asking the pool (Linux; elsewhere nothing). */
void test_kill_workers_of(const char *ctl_name);

/* A task that replies with the pid of the worker running it (a long), for
 * the task tables of tests; register it as "pid". */
int test_task_pid(shmpool_task *t);
/* Tasks for the task tables of tests: "echo" replies its argument, "nop"
 * does nothing, "hang" never returns (until its worker is killed). */
int test_task_echo(shmpool_task *t);
int test_task_nop(shmpool_task *t);
int test_task_hang(shmpool_task *t);
/* Run "pid" on pool and return the pid it replied, or -1 on any failure. */
long test_task_pid_of(shmpool *pool);

/* Whether pid is still a worker of the pool whose control segment is
 * ctl_name: alive and, on Linux, started as "--shmpool-worker ctl_name".
 * A pid seen earlier may belong to someone else by now: pid_max can be as
 * low as 32768, and Windows recycles pids at once (there only liveness can
 * be checked). */
int test_pid_is_worker_of(long pid, const char *ctl_name);

/* Whether process pid still runs (a zombie counts as gone). */
int test_pid_alive(long pid);
/* Kill process pid hard (SIGKILL / TerminateProcess). */
void test_kill_pid(long pid);
/* shmpool segments in /dev/shm whose header names this process as creator
 * (Linux; docs/FORMAT.md), or -1 where that cannot be counted. Safe while
 * other tests create segments in parallel. */
int test_count_my_segments(void);

/* Make a crash kill the process plainly: no crash dialog or debugger on
 * Windows (nor Wine's winedbg), no sanitizer SIGSEGV handler on POSIX. */
void test_quiet_crashes(void);

#endif
