/* Test support; see support.h.
 *
 * SPDX-License-Identifier: MIT */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
#endif

#if defined(_WIN32)
/* Windows paths are UTF-16. The wide API throughout: the ANSI one (what
 * GetModuleFileNameA and CreateProcessA use) cannot name a build
 * directory outside the system code page, and gives "?" for it. */
#define TEST_CMDLINE_MAX 32768 /* CreateProcessW's limit, in WCHARs */

static const WCHAR *test_self_exe(void) {
  static WCHAR path[TEST_CMDLINE_MAX];
  DWORD n = GetModuleFileNameW(NULL, path, TEST_CMDLINE_MAX);
  if (n == 0 || n >= TEST_CMDLINE_MAX)
    return NULL;
  return path;
}

/* Append "<q>s<q>" to cmd (UTF-16; s is UTF-8). Arguments here never
 * contain quotes, so no escaping is needed. */
static int test_cmdline_append(WCHAR *cmd, size_t *len, const char *s,
                               int quote) {
  int n;
  if (*len + 4 >= TEST_CMDLINE_MAX)
    return -1;
  cmd[(*len)++] = L' ';
  if (quote)
    cmd[(*len)++] = L'"';
  n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, cmd + *len,
                          (int)(TEST_CMDLINE_MAX - 2 - *len));
  if (n <= 0)
    return -1;
  *len += (size_t)n - 1;
  if (quote)
    cmd[(*len)++] = L'"';
  cmd[*len] = 0;
  return 0;
}
#else
static const char *test_self_exe(void) {
#if defined(__linux__)
  return "/proc/self/exe";
#else
#error "test_self_exe: add this platform"
#endif
}
#endif

/* ---- Linux /proc ---------------------------------------------------------
 */

#if defined(__linux__)
/* Calls fn(pid, ctx) for every process in /proc; stops early when fn
 * returns nonzero. Returns -1 if /proc cannot be read. */
static int test_each_process(int (*fn)(long pid, void *ctx), void *ctx) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
        fn(atol(e->d_name), ctx) != 0)
      break;
  closedir(d);
  return 0;
}

int test_proc_stat(long pid, char *state, long *ppid) {
  char path[64], buf[512];
  const char *p;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  p = fgets(buf, sizeof buf, f);
  fclose(f);
  /* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
  if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
      sscanf(p + 2, "%c %ld", state, ppid) != 2)
    return -1;
  return 0;
}

/* Whether process pid runs "<exe> --shmpool-worker ctl_name". */
static int test_cmdline_is_worker_of(long pid, const char *ctl_name) {
  char path[64], buf[512];
  const char *flag, *name;
  size_t n;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
  f = fopen(path, "rb");
  if (f == NULL)
    return 0;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* argv[0] NUL "--shmpool-worker" NUL name NUL */
  flag = buf + strlen(buf) + 1;
  if (flag >= buf + n || strcmp(flag, "--shmpool-worker") != 0)
    return 0;
  name = flag + strlen(flag) + 1;
  return name < buf + n && strcmp(name, ctl_name) == 0;
}

static int test_count_if_child(long pid, void *ctx) {
  char state;
  long ppid;
  if (test_proc_stat(pid, &state, &ppid) == 0 && ppid == (long)getpid())
    ++*(int *)ctx;
  return 0;
}

static int test_kill_if_worker(long pid, void *ctx) {
  if (test_cmdline_is_worker_of(pid, (const char *)ctx))
    kill((pid_t)pid, SIGKILL);
  return 0;
}
#endif

void test_dispatch_helper(int argc, char **argv, const test_helper *helpers) {
  const test_helper *h;
  if (argc < 3 || strcmp(argv[1], "--helper") != 0)
    return;
  test_quiet_crashes();
  for (h = helpers; h->role != NULL; h++) {
    if (strcmp(h->role, argv[2]) == 0) {
      int rc = h->fn(argc - 3, argv + 3);
      fflush(NULL);
      exit(rc);
    }
  }
  fprintf(stderr, "unknown helper role %s\n", argv[2]);
  exit(127);
}

#if defined(_WIN32)
static LONG WINAPI test_die_on_exception(EXCEPTION_POINTERS *info) {
  /* Die with the exception code, as Windows does without a debugger; this
   * also keeps Wine from starting winedbg. */
  TerminateProcess(GetCurrentProcess(),
                   (UINT)info->ExceptionRecord->ExceptionCode);
  return EXCEPTION_CONTINUE_SEARCH;
}
#endif

void test_quiet_crashes(void) {
#if defined(_WIN32)
  SetUnhandledExceptionFilter(test_die_on_exception);
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX |
               SEM_NOOPENFILEERRORBOX);
#else
  /* Sanitizers catch SIGSEGV and exit(1); a helper must die of the signal
   * itself so the parent can see what killed it. */
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
#endif
}

int test_spawn_self(test_proc *p, const char *role, const char *const *args) {
  size_t n = 0, i;
  memset(p, 0, sizeof *p);
  if (test_self_exe() == NULL)
    return -1;
  while (args != NULL && args[n] != NULL)
    n++;
#if defined(_WIN32)
  {
    const WCHAR *exe = test_self_exe();
    WCHAR *cmd = (WCHAR *)malloc(TEST_CMDLINE_MAX * sizeof *cmd);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    size_t len = wcslen(exe) + 2;
    BOOL ok;
    if (cmd == NULL || len + 1 >= TEST_CMDLINE_MAX) {
      free(cmd);
      return -1;
    }
    cmd[0] = L'"';
    memcpy(cmd + 1, exe, (len - 2) * sizeof *cmd);
    cmd[len - 1] = L'"';
    cmd[len] = 0;
    ok = test_cmdline_append(cmd, &len, "--helper", 0) == 0 &&
         test_cmdline_append(cmd, &len, role, 0) == 0;
    for (i = 0; ok && i < n; i++)
      ok = test_cmdline_append(cmd, &len, args[i], 1) == 0;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    ok = ok &&
         CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    free(cmd);
    if (!ok)
      return -1;
    CloseHandle(pi.hThread);
    p->handle = (intptr_t)pi.hProcess;
    p->pid = (long)pi.dwProcessId;
    return 0;
  }
#else
  {
    const char *exe = test_self_exe();
    char **argv = (char **)calloc(n + 4, sizeof *argv);
    pid_t pid;
    int rc;
    if (argv == NULL)
      return -1;
    argv[0] = (char *)exe;
    argv[1] = (char *)"--helper";
    argv[2] = (char *)role;
    for (i = 0; i < n; i++)
      argv[3 + i] = (char *)args[i];
    rc = posix_spawn(&pid, exe, NULL, NULL, argv, environ);
    free(argv);
    if (rc != 0)
      return -1;
    p->pid = (long)pid;
    return 0;
  }
#endif
}

int test_proc_wait(test_proc *p, int timeout_ms, test_exit *out) {
  memset(out, 0, sizeof *out);
#if defined(_WIN32)
  {
    DWORD code = 0;
    if (WaitForSingleObject((HANDLE)p->handle,
                            timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms) !=
        WAIT_OBJECT_0)
      return -1;
    GetExitCodeProcess((HANDLE)p->handle, &code);
    CloseHandle((HANDLE)p->handle);
    p->handle = 0;
    out->exited = 1;
    out->code = (int)code;
    out->crashed = code == (DWORD)EXCEPTION_ACCESS_VIOLATION;
    return 0;
  }
#else
  {
    uint64_t deadline = test_now_ms() + (uint64_t)timeout_ms;
    int status;
    for (;;) {
      pid_t r = waitpid((pid_t)p->pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
      if (r == (pid_t)p->pid)
        break;
      if (r < 0 && errno != EINTR)
        return -1;
      if (timeout_ms >= 0 && test_now_ms() >= deadline)
        return -1;
      if (r == 0)
        test_sleep_ms(2);
    }
    out->exited = 1;
    if (WIFEXITED(status))
      out->code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
      out->signal = WTERMSIG(status);
      out->code = -1000 - out->signal;
      out->crashed = out->signal == SIGSEGV || out->signal == SIGBUS;
    }
    return 0;
  }
#endif
}

void test_proc_kill(test_proc *p) {
#if defined(_WIN32)
  TerminateProcess((HANDLE)p->handle, 9);
#else
  kill((pid_t)p->pid, SIGKILL);
#endif
}

int test_run_self(const char *role, const char *const *args, test_exit *out) {
  test_proc p;
  test_exit ex;
  if (out == NULL)
    out = &ex;
  memset(out, 0, sizeof *out);
  if (test_spawn_self(&p, role, args) != 0)
    return -2000;
  if (test_proc_wait(&p, 60000, out) != 0) {
    test_proc_kill(&p);
    test_proc_wait(&p, -1, out);
    return -3000;
  }
  return out->code;
}

void test_name(char *buf, size_t len, const char *tag) {
  snprintf(buf, len, "t%ld.%s", test_getpid(), tag);
}

int test_getenv(const char *name, char *buf, size_t len) {
#if defined(_WIN32)
  /* The ANSI variant is enough for the ASCII values tests pass. */
  DWORD n = GetEnvironmentVariableA(name, buf, (DWORD)len);
  return n > 0 && n < len ? 0 : -1;
#else
  const char *v = getenv(name);
  if (v == NULL || strlen(v) >= len)
    return -1;
  memcpy(buf, v, strlen(v) + 1);
  return 0;
#endif
}

uint64_t test_now_ms(void) {
#if defined(_WIN32)
  return (uint64_t)GetTickCount64();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

void test_sleep_ms(unsigned ms) {
#if defined(_WIN32)
  Sleep(ms);
#else
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
#endif
}

long test_getpid(void) {
#if defined(_WIN32)
  return (long)GetCurrentProcessId();
#else
  return (long)getpid();
#endif
}

int test_pid_alive(long pid) {
#if defined(_WIN32)
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  int alive;
  if (h == NULL)
    return 0;
  alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  CloseHandle(h);
  return alive;
#else
  char state;
  long ppid;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    return 0;
#if defined(__linux__)
  if (test_proc_stat(pid, &state, &ppid) != 0)
    return 0;
  return state != 'Z' && state != 'X'; /* zombies are gone */
#else
  (void)state, (void)ppid;
  return 1; /* no /proc: trust kill() */
#endif
#endif
}

void test_kill_pid(long pid) {
#if defined(_WIN32)
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
  if (h != NULL) {
    TerminateProcess(h, 9);
    CloseHandle(h);
  }
#else
  kill((pid_t)pid, SIGKILL);
#endif
}

int test_count_my_segments(void) {
#if defined(__linux__)
  DIR *d = opendir("/dev/shm");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    unsigned char hdr[64];
    char path[512];
    uint64_t pid;
    FILE *f;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
    f = fopen(path, "rb");
    if (f == NULL)
      continue;
    if (fread(hdr, 1, sizeof hdr, f) == sizeof hdr &&
        memcmp(hdr, "SHMPOOL\x1a", 8) == 0) {
      memcpy(&pid, hdr + 24, sizeof pid); /* creator_pid */
      n += pid == (uint64_t)getpid();
    }
    fclose(f);
  }
  closedir(d);
  return n;
#else
  return -1;
#endif
}

int test_count_fds(void) {
#if defined(__linux__)
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own descriptor */
#else
  return -1;
#endif
}

int test_count_children(void) {
#if defined(__linux__)
  int n = 0;
  return test_each_process(test_count_if_child, &n) == 0 ? n : -1;
#else
  return -1;
#endif
}

void test_kill_workers_of(const char *ctl_name) {
#if defined(__linux__)
  (void)test_each_process(test_kill_if_worker, (void *)(uintptr_t)ctl_name);
#else
  (void)ctl_name;
#endif
}

int test_pid_is_worker_of(long pid, const char *ctl_name) {
#if defined(__linux__)
  return test_pid_alive(pid) && test_cmdline_is_worker_of(pid, ctl_name);
#else
  (void)ctl_name;
  return test_pid_alive(pid);
#endif
}

/* ---- tasks ------------------------------------------------------------- */

int test_task_pid(shmpool_task *t) {
  long pid = test_getpid();
  return shmpool_task_reply(t, &pid, sizeof pid);
}

int test_task_echo(shmpool_task *t) {
  size_t n;
  const void *a = shmpool_task_arg(t, &n);
  return shmpool_task_reply(t, a, n);
}

int test_task_nop(shmpool_task *t) {
  (void)t;
  return 0;
}

int test_task_hang(shmpool_task *t) {
  volatile int forever = 1;
  (void)t;
  while (forever)
    test_sleep_ms(1000);
  return 0;
}

long test_task_pid_of(shmpool *pool) {
  shmpool_result r;
  long pid = -1;
  shmpool_result_init(&r);
  if (shmpool_submit(pool, "pid", NULL, 0, NULL, 0, NULL) != 0 ||
      shmpool_wait(pool, &r, 60000) != 0 || r.status != 0 ||
      r.len != sizeof pid)
    return -1;
  memcpy(&pid, r.data, sizeof pid);
  return pid;
}
