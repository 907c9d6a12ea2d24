/* Windows: starting, watching and reaping worker processes, the job
 * object that kills them with the parent, and the worker's watch on its
 * parent.
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#if defined(_MSC_VER)
#include <crtdbg.h>
#endif

#include "atomics.h"
#include "internal.h"
#include "win32/sys.h"

/* Exit status of a worker whose parent died (see worker.c), and the exit
 * code of a worker the pool kills. */
#define SHMPOOL__EXIT_PARENT 5u
#define SHMPOOL__EXIT_KILLED 9u

/* ---- the executable and the CPUs --------------------------------------- */

int shmpool__plat_self_exe(char **path) {
  DWORD cap = MAX_PATH, n;
  WCHAR *wbuf = NULL;
  int len;
  /* GetModuleFileNameW truncates silently: grow until it fits. */
  for (;;) {
    WCHAR *grown = (WCHAR *)realloc(wbuf, cap * sizeof *wbuf);
    if (grown == NULL) {
      free(wbuf);
      return SHMPOOL_ENOMEM;
    }
    wbuf = grown;
    n = GetModuleFileNameW(NULL, wbuf, cap);
    if (n == 0) {
      free(wbuf);
      return shmpool__win_error(GetLastError());
    }
    if (n < cap)
      break;
    cap *= 2;
  }
  len = WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, NULL, 0, NULL, NULL);
  *path = len > 0 ? (char *)malloc((size_t)len) : NULL;
  if (*path == NULL) {
    free(wbuf);
    return SHMPOOL_ENOMEM;
  }
  WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, *path, len, NULL, NULL);
  free(wbuf);
  return 0;
}

unsigned shmpool__plat_cpu_count(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si.dwNumberOfProcessors > 0 ? (unsigned)si.dwNumberOfProcessors : 1u;
}

/* ---- the job object -------------------------------------------------------
 */

/* One per process, created on first use and never closed: when this
 * process ends, for whatever reason, its handle goes and the kernel kills
 * every worker in it. */
static HANDLE shmpool__win_job(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  static HANDLE job;
  BOOL pending;
  if (!InitOnceBeginInitialize(&once, 0, &pending, NULL))
    return NULL;
  if (pending) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    HANDLE h = shmpool__win_sys.CreateJobObjectW(NULL, NULL);
    if (h != NULL) {
      memset(&info, 0, sizeof info);
      info.BasicLimitInformation.LimitFlags =
          JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
      if (!shmpool__win_sys.SetInformationJobObject(
              h, JobObjectExtendedLimitInformation, &info, sizeof info)) {
        shmpool__win_sys.CloseHandle(h);
        h = NULL;
      }
    }
    job = h;
    InitOnceComplete(&once, 0, NULL);
  }
  return job;
}

/* ---- spawning ------------------------------------------------------------ */

/* UTF-8 to UTF-16 (worker_path is UTF-8 on every platform, see
 * shmpool.h). Invalid UTF-8 is refused rather than turned into U+FFFD,
 * which would name some other file: SHMPOOL_EINVAL. */
static int shmpool__win_widen(const char *s, WCHAR **out) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  WCHAR *w;
  *out = NULL;
  if (n <= 0)
    return GetLastError() == ERROR_NO_UNICODE_TRANSLATION
               ? SHMPOOL_EINVAL
               : shmpool__win_error(GetLastError());
  w = (WCHAR *)malloc((size_t)n * sizeof *w);
  if (w == NULL)
    return SHMPOOL_ENOMEM;
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    free(w);
    return SHMPOOL_EINVAL;
  }
  *out = w;
  return 0;
}

/* CreateProcessW for a worker: suspended, and inheriting exactly this
 * process's stdio handles. A handle list (Vista+) names them, so nothing
 * else crosses even though bInheritHandles must be TRUE for the list; where
 * the attribute list is unavailable, or there is no stdio to pass, nothing
 * is inherited at all. On Windows 7 a console handle is a pseudo-handle
 * that the list refuses (ERROR_INVALID_PARAMETER): hence Windows 8 as the
 * minimum (docs/PLATFORMS.md). */
BOOL WINAPI shmpool__win_create_process(WCHAR *exe, WCHAR *cmd, WCHAR *env,
                                        PROCESS_INFORMATION *pi) {
  static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                 STD_ERROR_HANDLE};
  const DWORD flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT;
  STARTUPINFOEXW si;
  HANDLE std[3], list[3];
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  SIZE_T attrs_size = 0;
  DWORD n = 0, i, err;
  BOOL ok;

  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si.StartupInfo;
  /* Inheritable duplicates of the std handles: the originals may not be
   * inheritable, and must not be made so (another thread's CreateProcess
   * could pick them up). */
  for (i = 0; i < 3; i++) {
    HANDLE h = GetStdHandle(which[i]);
    std[i] = NULL;
    if (h != NULL && h != INVALID_HANDLE_VALUE &&
        DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &std[i], 0,
                        TRUE, DUPLICATE_SAME_ACCESS))
      list[n++] = std[i];
  }
  if (n != 0 && !InitializeProcThreadAttributeList(NULL, 1, 0, &attrs_size) &&
      GetLastError() == ERROR_INSUFFICIENT_BUFFER &&
      (attrs = (LPPROC_THREAD_ATTRIBUTE_LIST)malloc(attrs_size)) != NULL &&
      InitializeProcThreadAttributeList(attrs, 1, 0, &attrs_size)) {
    if (UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                  list, n * sizeof list[0], NULL, NULL)) {
      si.StartupInfo.cb = sizeof si;
      si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
      si.StartupInfo.hStdInput = std[0];
      si.StartupInfo.hStdOutput = std[1];
      si.StartupInfo.hStdError = std[2];
      si.lpAttributeList = attrs;
    }
  }
  if (si.lpAttributeList != NULL)
    ok = CreateProcessW(exe, cmd, NULL, NULL, TRUE,
                        flags | EXTENDED_STARTUPINFO_PRESENT, env, NULL,
                        &si.StartupInfo, pi);
  else
    ok = CreateProcessW(exe, cmd, NULL, NULL, FALSE, flags, env, NULL,
                        &si.StartupInfo, pi);
  err = GetLastError();
  if (attrs != NULL) {
    if (si.lpAttributeList != NULL)
      DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  for (i = 0; i < 3; i++)
    if (std[i] != NULL)
      CloseHandle(std[i]);
  SetLastError(err);
  return ok;
}

/* ---- the environment ---------------------------------------------------- */

int shmpool__plat_env_is_set(const char *name) {
  WCHAR *w;
  DWORD n;
  if (shmpool__win_widen(name, &w) != 0)
    return 0;
  n = GetEnvironmentVariableW(w, NULL, 0);
  free(w);
  return n != 0;
}

void shmpool__plat_env_unset(const char *name) {
  WCHAR *w;
  if (shmpool__win_widen(name, &w) != 0)
    return;
  (void)SetEnvironmentVariableW(w, NULL);
  free(w);
}

/* Whether the environment entry `e` ("NAME=value") is for `name` (ASCII,
 * case-insensitive, as Windows compares variable names). */
static int shmpool__win_env_is(const WCHAR *e, const char *name) {
  size_t i;
  for (i = 0; name[i] != '\0'; i++) {
    WCHAR a = e[i], b = (WCHAR)(unsigned char)name[i];
    if (a >= L'a' && a <= L'z')
      a = (WCHAR)(a - L'a' + L'A');
    if (a != b)
      return 0;
  }
  return e[i] == L'=';
}

/* This process's environment block without `name`, plus name=value (a
 * malloc'd block for CreateProcessW with CREATE_UNICODE_ENVIRONMENT). */
static WCHAR *shmpool__win_env_with(const char *name, const char *value) {
  WCHAR *cur = GetEnvironmentStringsW(), *out, *o;
  const WCHAR *e;
  size_t total = 0, extra = strlen(name) + strlen(value) + 2, i;
  if (cur == NULL)
    return NULL;
  for (e = cur; *e != 0; e += wcslen(e) + 1)
    total += wcslen(e) + 1;
  out = (WCHAR *)malloc((total + extra + 1) * sizeof *out);
  if (out == NULL) {
    FreeEnvironmentStringsW(cur);
    return NULL;
  }
  o = out;
  for (e = cur; *e != 0; e += wcslen(e) + 1) {
    if (shmpool__win_env_is(e, name))
      continue;
    memcpy(o, e, (wcslen(e) + 1) * sizeof *o);
    o += wcslen(e) + 1;
  }
  for (i = 0; name[i] != '\0'; i++)
    *o++ = (WCHAR)(unsigned char)name[i];
  *o++ = L'=';
  for (i = 0; value[i] != '\0'; i++) /* a portable name: ASCII */
    *o++ = (WCHAR)(unsigned char)value[i];
  *o++ = 0;
  *o = 0;
  FreeEnvironmentStringsW(cur);
  return out;
}

/* ---- the command line -----------------------------------------------------
 */

/* Append arg to cmd, quoted so that CommandLineToArgvW and the CRT give it
 * back unchanged: backslashes double only before a quote. Returns the new
 * end. cmd must have room for 2 * len + 3 characters. */
static WCHAR *shmpool__win_quote(WCHAR *cmd, const WCHAR *arg) {
  size_t slashes = 0;
  *cmd++ = L'"';
  for (; *arg != 0; arg++) {
    if (*arg == L'\\') {
      slashes++;
    } else {
      if (*arg == L'"') /* the backslashes before it, and it, escaped */
        for (slashes = slashes * 2 + 1; slashes > 0; slashes--)
          *cmd++ = L'\\';
      slashes = 0;
    }
    *cmd++ = *arg;
  }
  for (; slashes > 0; slashes--) /* before the closing quote */
    *cmd++ = L'\\';
  *cmd++ = L'"';
  return cmd;
}

/* "<exe>" "<arg>"... --shmpool-worker <name>, as one malloc'd string in
 * *out: 0, EINVAL (an argument that is not UTF-8) or ENOMEM. */
static int shmpool__win_command(const WCHAR *wexe, const char *const *args,
                                const char *ctl_name, WCHAR **out) {
  size_t cap = 2 * wcslen(wexe) + 3 + strlen(ctl_name) + 32, nargs = 0, i;
  WCHAR **wargs = NULL, *cmd = NULL, *at;
  int rc = 0;
  *out = NULL;
  while (args != NULL && args[nargs] != NULL)
    nargs++;
  if (nargs != 0 && (wargs = (WCHAR **)calloc(nargs, sizeof *wargs)) == NULL)
    return SHMPOOL_ENOMEM;
  for (i = 0; rc == 0 && i < nargs; i++) {
    rc = shmpool__win_widen(args[i], &wargs[i]);
    if (rc == 0)
      cap += 2 * wcslen(wargs[i]) + 4;
  }
  if (rc == 0 && (cmd = (WCHAR *)malloc(cap * sizeof *cmd)) == NULL)
    rc = SHMPOOL_ENOMEM;
  if (rc == 0) {
    at = shmpool__win_quote(cmd, wexe);
    for (i = 0; i < nargs; i++) {
      *at++ = L' ';
      at = shmpool__win_quote(at, wargs[i]);
    }
    memcpy(at, L" --shmpool-worker ", 18 * sizeof *at);
    at += 18;
    for (i = 0; ctl_name[i] != '\0'; i++) /* a portable name: no quoting */
      *at++ = (WCHAR)(unsigned char)ctl_name[i];
    *at = 0;
    *out = cmd;
  }
  for (i = 0; wargs != NULL && i < nargs; i++)
    free(wargs[i]);
  free(wargs);
  return rc;
}

int shmpool__plat_spawn(shmpool__plat_proc *p, const char *exe,
                        const char *const *args, const char *ctl_name,
                        shmpool__plat_pid_fn publish, void *ctx) {
  WCHAR *wexe = NULL, *cmd = NULL, *env = NULL;
  PROCESS_INFORMATION pi;
  HANDLE job;
  int rc;

  memset(p, 0, sizeof *p);
  rc = shmpool__win_widen(exe, &wexe);
  if (rc == 0)
    rc = shmpool__win_command(wexe, args, ctl_name, &cmd);
  if (rc == 0 &&
      (env = shmpool__win_env_with(SHMPOOL__WORKER_ENV, ctl_name)) == NULL)
    rc = SHMPOOL_ENOMEM;
  if (rc != 0)
    goto out;
  memset(&pi, 0, sizeof pi);
  if (!shmpool__win_sys.CreateWorkerProcess(wexe, cmd, env, &pi)) {
    DWORD err = GetLastError();
    (void)shmpool__win_error(err);
    rc = err == ERROR_NOT_ENOUGH_MEMORY ? SHMPOOL_ENOMEM : SHMPOOL_ESPAWN;
    goto out;
  }
  /* Suspended until here, so the pid is published and the process is in
   * the job before it runs any code. */
  job = shmpool__win_job();
  /* Failure is tolerated (jobs nest from Windows 8, the oldest shmpool
   * supports, but a parent job can still refuse, e.g. one whose limits
   * conflict): the worker's own watch on the parent still ends it. */
  if (job != NULL)
    (void)shmpool__win_sys.AssignProcessToJobObject(job, pi.hProcess);
  p->handle = (intptr_t)pi.hProcess;
  p->pid = (uint64_t)pi.dwProcessId;
  publish(p->pid, ctx);
  ResumeThread(pi.hThread);
  shmpool__win_sys.CloseHandle(pi.hThread);

out:
  free(env);
  free(cmd);
  free(wexe);
  return rc;
}

/* ---- reaping ----------------------------------------------------------- */

static int shmpool__win_reap(shmpool__plat_proc *p, shmpool__plat_exit *ex) {
  DWORD code = 0;
  if (!shmpool__win_sys.GetExitCodeProcess((HANDLE)p->handle, &code))
    code = (DWORD)-1;
  ex->exit_code = (int)code;
  ex->term_signal = 0;
  shmpool__win_sys.CloseHandle((HANDLE)p->handle);
  p->handle = 0;
  return 1;
}

int shmpool__plat_proc_poll(shmpool__plat_proc *p, shmpool__plat_exit *ex) {
  return shmpool__plat_proc_wait(p, 0, ex);
}

int shmpool__plat_proc_wait(shmpool__plat_proc *p, int timeout_ms,
                            shmpool__plat_exit *ex) {
  DWORD r;
  if (p->handle == 0) {
    ex->exit_code = -1;
    ex->term_signal = 0;
    return 1;
  }
  r = shmpool__win_sys.WaitForSingleObject(
      (HANDLE)p->handle, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  if (r == WAIT_TIMEOUT)
    return 0;
  return shmpool__win_reap(p, ex);
}

void shmpool__plat_proc_kill(shmpool__plat_proc *p) {
  if (p->handle != 0)
    (void)shmpool__win_sys.TerminateProcess((HANDLE)p->handle,
                                            SHMPOOL__EXIT_KILLED);
}

void shmpool__plat_proc_release(shmpool__plat_proc *p) {
  if (p->handle != 0)
    shmpool__win_sys.CloseHandle((HANDLE)p->handle);
  p->handle = 0;
}

/* ---- the worker's watch on its parent --------------------------------- */

typedef struct shmpool__win_watch {
  HANDLE parent;
  shmpool__plat_orphan_fn orphaned;
  void *ctx;
} shmpool__win_watch;

static DWORD WINAPI shmpool__win_watch_thread(LPVOID arg) {
  shmpool__win_watch *pw = (shmpool__win_watch *)arg;
  (void)WaitForSingleObject(pw->parent, INFINITE);
  /* Normally the job object has killed us already; if it could not be
   * used, clean up after the parent like a POSIX worker. */
  pw->orphaned(pw->ctx);
  /* TerminateProcess, not ExitProcess: no DLL detach code runs in a
   * process whose task may hold any lock. */
  TerminateProcess(GetCurrentProcess(), SHMPOOL__EXIT_PARENT);
  return 0;
}

/* A crashing task must end its worker at once, with an exit code the pool
 * reports, and never wait for someone to click a dialog nobody sees.
 *
 * - Windows: SetErrorMode turns off the critical-error and GP-fault boxes
 *   and Windows Error Reporting's UI for an unhandled exception; WER's own
 *   switch (WerSetFlags, Vista+, looked up at run time because MinGW's and
 *   Wine's import libraries differ) covers what skips the exception
 *   filters, such as __fastfail. Both are per process.
 * - The CRT: abort() in a UCRT Release build reports a fault by
 *   __fastfail (exit code 0xC0000409) and in a Debug build opens an
 *   "abort() has been called" box; with _WRITE_ABORT_MSG and
 *   _CALL_REPORTFAULT cleared it just does _exit(3). A failed assert()
 *   writes to stderr rather than a message box (_set_error_mode), and the
 *   debug CRT's assert and error reports go to stderr rather than a box.
 *
 * The CRT settings live in the CRT instance that shmpool itself links:
 * shared with the executable when both use the same DLL CRT (/MD with /MD,
 * /MDd with /MDd, or a static shmpool), but not when the executable links
 * another one (/MT, or a Debug executable with a Release shmpool.dll).
 * Such a program must make the same calls in its own main() before
 * shmpool_worker_main() (docs/PLATFORMS.md). msvcrt.dll (MinGW's default)
 * has none of these switches and needs none: its abort() writes a line to
 * stderr and exits with 3. */
#if defined(_MSC_VER) && defined(__WINE_USE_MSVCRT)
/* Wine's stdlib.h has the constants but not the declaration; ucrtbase.dll
 * exports the function. */
_ACRTIMP unsigned int __cdecl _set_abort_behavior(unsigned int flags,
                                                  unsigned int mask);
#endif
static void shmpool__win_quiet_crashes(void) {
  typedef HRESULT(WINAPI * wer_set_flags_fn)(DWORD flags);
  HMODULE kernel32 = GetModuleHandleW(L"kernel32.dll");
  FARPROC wer = kernel32 != NULL ? GetProcAddress(kernel32, "WerSetFlags") : 0;
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX |
               SEM_NOOPENFILEERRORBOX);
  /* WER_FAULT_REPORTING_NO_UI (werapi.h), defined here for MinGW's and
   * Wine's headers. */
  if (wer != NULL)
    (void)((wer_set_flags_fn)(void (*)(void))wer)(0x0020);
#if defined(_MSC_VER) || defined(_UCRT)
  (void)_set_abort_behavior(0, _WRITE_ABORT_MSG | _CALL_REPORTFAULT);
  (void)_set_error_mode(_OUT_TO_STDERR);
#endif
#if defined(_MSC_VER) && defined(_DEBUG)
  (void)_CrtSetReportMode(_CRT_ASSERT, _CRTDBG_MODE_FILE);
  (void)_CrtSetReportFile(_CRT_ASSERT, _CRTDBG_FILE_STDERR);
  (void)_CrtSetReportMode(_CRT_ERROR, _CRTDBG_MODE_FILE);
  (void)_CrtSetReportFile(_CRT_ERROR, _CRTDBG_FILE_STDERR);
#endif
}

int shmpool__plat_worker_init(uint64_t parent_pid, uint64_t parent_start,
                              shmpool__plat_orphan_fn orphaned, void *ctx) {
  static shmpool__win_watch pw; /* lives as long as the thread */
  FILETIME created, exited, kernel, user;
  HANDLE parent, thread;
  shmpool__win_quiet_crashes();
  parent = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                       (DWORD)parent_pid);
  if (parent == NULL)
    return SHMPOOL_ESPAWN;
  /* The check against the race: the parent may have died, and its pid
   * been reused, before we opened it. */
  if (WaitForSingleObject(parent, 0) != WAIT_TIMEOUT ||
      (parent_start != 0 &&
       (!GetProcessTimes(parent, &created, &exited, &kernel, &user) ||
        (((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime) !=
            parent_start))) {
    CloseHandle(parent);
    return SHMPOOL_ESPAWN;
  }
  pw.parent = parent;
  pw.orphaned = orphaned;
  pw.ctx = ctx;
  thread = CreateThread(NULL, 64 * 1024, shmpool__win_watch_thread, &pw,
                        STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
  if (thread == NULL) {
    CloseHandle(parent);
    return shmpool__win_error(GetLastError());
  }
  CloseHandle(thread);
  return 0;
}

#endif /* _WIN32 */
