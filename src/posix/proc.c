/* POSIX: starting, watching and reaping worker processes, and the worker's
 * watch on its parent.
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#endif
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) ||       \
    defined(__OpenBSD__) || defined(__DragonFly__)
#include <sys/event.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#endif

#include "internal.h"
#include "posix/sys.h"

extern char **environ;

/* Exit status of a worker whose parent died (see worker.c). */
#define SHMPOOL__EXIT_PARENT 5

/* ---- the executable and the CPUs --------------------------------------- */

static int shmpool__posix_strdup(const char *s, char **out) {
  size_t n = strlen(s) + 1;
  *out = (char *)malloc(n);
  if (*out == NULL)
    return SHMPOOL_ENOMEM;
  memcpy(*out, s, n);
  return 0;
}

#if defined(__linux__)
/* Whether path names a dynamic loader: a program run as
 * "/lib64/ld-linux-x86-64.so.2 ./app" has the loader as /proc/self/exe. */
static int shmpool__posix_is_loader(const char *path) {
  const char *base = strrchr(path, '/');
  base = base != NULL ? base + 1 : path;
  return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 ||
         strncmp(base, "ld64.so", 7) == 0 || strncmp(base, "ld-musl", 7) == 0;
}
#endif

int shmpool__plat_self_exe(char **path) {
#if defined(__linux__)
  /* The file /proc/self/exe resolves to, so that workers carry the
   * program's name (ps, top, pkill) and valgrind, which resolves the link
   * to its client, starts the program itself. If the file was deleted or
   * replaced ("... (deleted)"), /proc/self/exe still names the running
   * image. A program run through an explicit loader is found by the name
   * it was started with. */
  char buf[PATH_MAX + 1], real[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0 || (size_t)n >= sizeof buf - 1)
    return shmpool__posix_strdup("/proc/self/exe", path);
  buf[n] = '\0';
  if (shmpool__posix_is_loader(buf) &&
      realpath(program_invocation_name, real) != NULL &&
      access(real, X_OK) == 0)
    return shmpool__posix_strdup(real, path);
  if (access(buf, X_OK) != 0)
    return shmpool__posix_strdup("/proc/self/exe", path);
  return shmpool__posix_strdup(buf, path);
#elif defined(__APPLE__)
  char buf[PATH_MAX], real[PATH_MAX];
  uint32_t size = sizeof buf;
  if (_NSGetExecutablePath(buf, &size) != 0 || realpath(buf, real) == NULL)
    return SHMPOOL_ENOTSUP;
  return shmpool__posix_strdup(real, path);
#elif defined(__FreeBSD__) || defined(__DragonFly__)
  char buf[PATH_MAX];
  size_t size = sizeof buf;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  if (sysctl(mib, 4, buf, &size, NULL, 0) != 0)
    return shmpool__posix_error(errno);
  return shmpool__posix_strdup(buf, path);
#else
  (void)path;
  return SHMPOOL_ENOTSUP; /* pass worker_path */
#endif
}

unsigned shmpool__plat_cpu_count(void) {
#if defined(__linux__)
  /* The CPUs we may run on (taskset, cgroup cpusets), not all online. */
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return (unsigned)CPU_COUNT(&set);
#endif
  {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
  }
}

/* ---- the environment ---------------------------------------------------- */

int shmpool__plat_env_is_set(const char *name) {
  return getenv(name) != NULL;
}

void shmpool__plat_env_unset(const char *name) {
  (void)unsetenv(name);
}

/* This process's environment without `name`, plus "name=value": a
 * malloc'd array (the strings are environ's, but for the last, which is
 * the array's own allocation). */
static char **shmpool__posix_env_with(const char *name, const char *value) {
  size_t n = 0, k = 0, i, name_len = strlen(name);
  size_t value_len = strlen(value);
  char **envp, *var;
  while (environ != NULL && environ[n] != NULL)
    n++;
  envp = (char **)malloc((n + 2) * sizeof *envp + name_len + value_len + 2);
  if (envp == NULL)
    return NULL;
  var = (char *)(envp + n + 2);
  memcpy(var, name, name_len);
  var[name_len] = '=';
  memcpy(var + name_len + 1, value, value_len + 1);
  for (i = 0; i < n; i++)
    if (strncmp(environ[i], var, name_len + 1) != 0)
      envp[k++] = environ[i];
  envp[k++] = var;
  envp[k] = NULL;
  return envp;
}

/* ---- spawning ------------------------------------------------------------ */

#if !defined(SHMPOOL_HAVE_SPAWN_CLOSEFROM) && !defined(__APPLE__)
/* The fork + exec path, for systems whose posix_spawn cannot close the
 * descriptors an application leaked without O_CLOEXEC. Only async-signal-
 * safe calls between fork and exec. */
static int shmpool__posix_fork_exec(pid_t *pid_out, const char *path,
                                    char *const argv[], char *const envp[]) {
  sigset_t all, old;
  pid_t pid;
  int err_pipe[2], err = 0;
  ssize_t n;
  /* The child reports an exec failure through a close-on-exec pipe. */
  if (pipe(err_pipe) != 0)
    return errno;
  (void)fcntl(err_pipe[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(err_pipe[1], F_SETFD, FD_CLOEXEC);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid = fork();
  if (pid == 0) {
    struct sigaction sa;
    int sig, fd, max_fd;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++)
      (void)sigaction(sig, &sa, NULL);
    max_fd = (int)sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536)
      max_fd = 65536;
    for (fd = 3; fd < max_fd; fd++)
      if (fd != err_pipe[1])
        (void)close(fd);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    execve(path, argv, envp);
    err = errno;
    (void)write(err_pipe[1], &err, sizeof err);
    _exit(127);
  }
  err = pid < 0 ? errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(err_pipe[1]);
  if (pid > 0) {
    do
      n = read(err_pipe[0], &err, sizeof err);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof err) {
      (void)waitpid(pid, NULL, 0);
    } else {
      err = 0;
      *pid_out = pid;
    }
  }
  close(err_pipe[0]);
  return err;
}
#endif

int shmpool__posix_spawn_image(pid_t *pid, const char *path, char *const argv[],
                               char *const envp[]) {
#if defined(SHMPOOL_HAVE_SPAWN_CLOSEFROM) || defined(__APPLE__)
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, defaults;
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  int rc;
  if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
    return rc;
  if ((rc = posix_spawnattr_init(&attr)) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  /* Only stdio crosses: descriptors the application leaked without
   * O_CLOEXEC are closed in the child too. */
#if defined(SHMPOOL_HAVE_SPAWN_CLOSEFROM)
  rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#else
  flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
  rc = posix_spawn_file_actions_addinherit_np(&fa, 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_addinherit_np(&fa, 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_addinherit_np(&fa, 2);
#endif
  /* A clean signal state: nothing blocked, nothing ignored. */
  sigemptyset(&none);
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&attr, &defaults);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&attr, flags);
  if (rc == 0)
    rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
#else
  return shmpool__posix_fork_exec(pid, path, argv, envp);
#endif
}

int shmpool__plat_spawn(shmpool__plat_proc *p, const char *exe,
                        const char *const *args, const char *ctl_name,
                        shmpool__plat_pid_fn publish, void *ctx) {
  char **argv, **envp;
  size_t nargs = 0, i;
  pid_t pid = 0;
  int err;
  memset(p, 0, sizeof *p);
  while (args != NULL && args[nargs] != NULL)
    nargs++;
  argv = (char **)malloc((nargs + 4) * sizeof *argv);
  envp = shmpool__posix_env_with(SHMPOOL__WORKER_ENV, ctl_name);
  if (argv == NULL || envp == NULL) {
    free(argv);
    free(envp);
    return SHMPOOL_ENOMEM;
  }
  argv[0] = (char *)exe;
  for (i = 0; i < nargs; i++)
    argv[1 + i] = (char *)args[i];
  argv[1 + nargs] = (char *)SHMPOOL__WORKER_FLAG;
  argv[2 + nargs] = (char *)ctl_name;
  argv[3 + nargs] = NULL;
  err = shmpool__posix_sys.spawn(&pid, exe, argv, envp);
  free(argv);
  free(envp);
  if (err != 0) {
    (void)shmpool__posix_error(err); /* keep the raw errno */
    return err == ENOMEM ? SHMPOOL_ENOMEM : SHMPOOL_ESPAWN;
  }
  p->pid = (uint64_t)pid;
  /* The worker waits until it finds its pid in the control segment. */
  publish(p->pid, ctx);
  return 0;
}

/* ---- reaping ----------------------------------------------------------- */

static void shmpool__posix_decode(int status, shmpool__plat_exit *ex) {
  ex->exit_code = -1;
  ex->term_signal = 0;
  if (WIFEXITED(status))
    ex->exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    ex->term_signal = WTERMSIG(status);
}

int shmpool__plat_proc_poll(shmpool__plat_proc *p, shmpool__plat_exit *ex) {
  int status = 0;
  pid_t r;
  if (p->pid == 0)
    return 1;
  do
    r = shmpool__posix_sys.waitpid((pid_t)p->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return 0;
  if (r < 0) {
    /* ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1)
     * in the application). It is gone; how it ended is unknown. */
    ex->exit_code = -1;
    ex->term_signal = 0;
  } else {
    shmpool__posix_decode(status, ex);
  }
  p->pid = 0;
  return 1;
}

int shmpool__plat_proc_wait(shmpool__plat_proc *p, int timeout_ms,
                            shmpool__plat_exit *ex) {
  uint64_t deadline =
      timeout_ms < 0 ? UINT64_MAX
                     : shmpool__plat_now_ns() + (uint64_t)timeout_ms * 1000000u;
  unsigned nap = 1;
  for (;;) {
    int rc = shmpool__plat_proc_poll(p, ex);
    if (rc != 0)
      return rc;
    if (shmpool__plat_now_ns() >= deadline)
      return 0;
    shmpool__plat_sleep_ms(nap);
    if (nap < 16)
      nap *= 2;
  }
}

void shmpool__plat_proc_kill(shmpool__plat_proc *p) {
  /* Only a pid we have not reaped yet can still be ours. */
  if (p->pid != 0)
    (void)shmpool__posix_sys.kill((pid_t)p->pid, SIGKILL);
}

void shmpool__plat_proc_release(shmpool__plat_proc *p) {
  p->pid = 0; /* nothing to close; it stays a child we no longer wait for */
}

/* ---- the worker's watch on its parent --------------------------------- */

typedef struct shmpool__parent_watch {
  long pid;
  uint64_t start;
  int fd; /* pidfd or kqueue, -1 for polling */
  shmpool__plat_orphan_fn orphaned;
  void *ctx;
} shmpool__parent_watch;

static int shmpool__posix_parent_alive(const shmpool__parent_watch *pw) {
  uint64_t start;
  if (kill((pid_t)pw->pid, 0) != 0 && errno == ESRCH)
    return 0;
  /* The same pid with another start time is someone else. */
  start = shmpool__posix_start_of(pw->pid);
  return pw->start == 0 || start == 0 || start == pw->start;
}

static void *shmpool__posix_watch_thread(void *arg) {
  shmpool__parent_watch *pw = (shmpool__parent_watch *)arg;
  if (pw->fd >= 0) {
#if defined(__linux__)
    struct pollfd pfd;
    pfd.fd = pw->fd;
    pfd.events = POLLIN;
    /* A pidfd becomes readable when the process exits. */
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
#else
    struct kevent ev;
    while (kevent(pw->fd, NULL, 0, &ev, 1, NULL) < 0 && errno == EINTR) {
    }
#endif
  } else {
    while (shmpool__posix_parent_alive(pw))
      shmpool__plat_sleep_ms(200);
  }
  pw->orphaned(pw->ctx);
  _exit(SHMPOOL__EXIT_PARENT);
  return NULL;
}

int shmpool__plat_worker_init(uint64_t parent_pid, uint64_t parent_start,
                              shmpool__plat_orphan_fn orphaned, void *ctx) {
  static shmpool__parent_watch pw; /* lives as long as the thread */
  static const int group_signals[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM};
  struct sigaction ign;
  pthread_attr_t attr;
  pthread_t thread;
  sigset_t all, old;
  size_t i;
  int rc;

  /* A Ctrl-C (or hang-up, or a SIGTERM to the process group) is for the
   * parent: a worker that died of it could not clean up after a parent
   * that dies of it too. Workers end with the parent instead. */
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  for (i = 0; i < sizeof group_signals / sizeof group_signals[0]; i++)
    (void)sigaction(group_signals[i], &ign, NULL);

  pw.pid = (long)parent_pid;
  pw.start = parent_start;
  pw.fd = -1;
  pw.orphaned = orphaned;
  pw.ctx = ctx;
  /* Why not PR_SET_PDEATHSIG: Linux sends it when the *thread* that
   * spawned us exits, so a pool created from a short-lived thread would
   * lose its workers. A pidfd (Linux 5.3+) or kqueue watches the process. */
#if defined(__linux__) && defined(SYS_pidfd_open)
  pw.fd = (int)syscall(SYS_pidfd_open, (pid_t)parent_pid, 0);
#elif defined(EVFILT_PROC)
  {
    struct kevent ev;
    pw.fd = kqueue();
    if (pw.fd >= 0) {
      EV_SET(&ev, (uintptr_t)parent_pid, EVFILT_PROC, EV_ADD | EV_ONESHOT,
             NOTE_EXIT, 0, NULL);
      if (kevent(pw.fd, &ev, 1, NULL, 0, NULL) != 0) {
        close(pw.fd);
        pw.fd = -1;
      }
    }
  }
#endif
  /* The check against the race: the parent may have died (and its pid
   * been reused) before the watch was set up. */
  if (!shmpool__posix_parent_alive(&pw)) {
    if (pw.fd >= 0)
      close(pw.fd);
    return SHMPOOL_ESPAWN;
  }
  /* The watch thread takes no signals: they belong to the task code. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&thread, &attr, shmpool__posix_watch_thread, &pw);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    if (pw.fd >= 0)
      close(pw.fd);
    return shmpool__posix_error(rc);
  }
  return 0;
}

#endif /* !_WIN32 */
