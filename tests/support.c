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

static const char *test_self_exe(void) {
  static char path[4096];
#if defined(_WIN32)
  DWORD n = GetModuleFileNameA(NULL, path, (DWORD)sizeof path);
  if (n == 0 || n >= sizeof path)
    return NULL;
#elif defined(__linux__)
  strcpy(path, "/proc/self/exe");
#else
#error "test_self_exe: add this platform"
#endif
  return path;
}

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
  const char *exe = test_self_exe();
  size_t n = 0, i;
  memset(p, 0, sizeof *p);
  if (exe == NULL)
    return -1;
  while (args != NULL && args[n] != NULL)
    n++;
#if defined(_WIN32)
  {
    char cmd[8192];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    size_t len;
    snprintf(cmd, sizeof cmd, "\"%s\" --helper %s", exe, role);
    for (i = 0; i < n; i++) {
      len = strlen(cmd);
      snprintf(cmd + len, sizeof cmd - len, " \"%s\"", args[i]);
    }
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
      return -1;
    CloseHandle(pi.hThread);
    p->handle = (intptr_t)pi.hProcess;
    p->pid = (long)pi.dwProcessId;
    return 0;
  }
#else
  {
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
  char path[64], buf[512];
  FILE *f;
  const char *p;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    return 0;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return 1; /* no /proc: trust kill() */
  p = fgets(buf, sizeof buf, f);
  fclose(f);
  if (p == NULL || (p = strrchr(buf, ')')) == NULL)
    return 0;
  return p[2] != 'Z' && p[2] != 'X'; /* zombies are gone */
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

int test_pid_is_worker_of(long pid, const char *ctl_name) {
#if defined(__linux__)
  char path[64], buf[512];
  const char *flag, *name;
  size_t n;
  FILE *f;
  if (!test_pid_alive(pid))
    return 0;
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
#else
  (void)ctl_name;
  return test_pid_alive(pid);
#endif
}
