/* POSIX: randomness, clocks, process identity.
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
#include <sys/sysctl.h>
#include <sys/user.h>
#endif
#if defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/types.h>
#endif

#include "atomics.h"
#include "internal.h"
#include "posix/sys.h"

int shmpool__plat_random(void *buf, size_t len) {
  int err = shmpool__posix_sys.random(buf, len);
  return err == 0 ? 0 : shmpool__posix_error(err);
}

uint64_t shmpool__plat_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void shmpool__plat_sleep_ms(unsigned ms) {
  struct timespec ts;
  if (ms == 0) {
    sched_yield();
    return;
  }
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

uint64_t shmpool__plat_pid(void) {
  return (uint64_t)getpid();
}

#if defined(__linux__)
/* From /proc/PID/stat: field 22, the start time in clock ticks after boot,
 * and field 3, the state ('Z' for a zombie). Field 2 is the command name
 * in parentheses and may itself contain spaces and ')', so parse from the
 * last ')'. 0 if the process does not exist. */
static int shmpool__linux_stat(long pid, uint64_t *start_out, char *state) {
  char path[64];
  char buf[1024];
  const char *p;
  unsigned long long start = 0;
  ssize_t n;
  int fd, field;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0')
    return 0;
  *state = p[2];
  /* After ')' come fields 3, 4, ...: skip to field 22. */
  for (field = 2; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  if (p == NULL || sscanf(p + 1, "%llu", &start) != 1)
    return 0;
  *start_out = (uint64_t)start;
  return 1;
}
#endif

uint64_t shmpool__posix_start_of(long pid) {
#if defined(__linux__)
  uint64_t start = 0;
  char state;
  return shmpool__linux_stat(pid, &start, &state) ? start : 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
  struct kinfo_proc kp;
  size_t len = sizeof kp;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
  if (sysctl(mib, 4, &kp, &len, NULL, 0) != 0 || len != sizeof kp)
    return 0;
#if defined(__APPLE__)
  return (uint64_t)kp.kp_proc.p_starttime.tv_sec * 1000000u +
         (uint64_t)kp.kp_proc.p_starttime.tv_usec;
#else
  return (uint64_t)kp.ki_start.tv_sec * 1000000u +
         (uint64_t)kp.ki_start.tv_usec;
#endif
#else
  (void)pid;
  return 0;
#endif
}

int shmpool__plat_proc_alive(uint64_t pid, uint64_t start) {
  uint64_t now_start;
  if (pid == 0 || pid > (uint64_t)INT32_MAX)
    return 0;
  if (kill((pid_t)pid, 0) != 0) {
    if (errno == ESRCH)
      return 0;
    if (errno != EPERM) /* EPERM: it exists, it is someone else's */
      return -1;
  }
#if defined(__linux__)
  {
    /* A zombie has ended: only its exit status waits to be collected. */
    char state = 0;
    now_start = 0;
    if (shmpool__linux_stat((long)pid, &now_start, &state) && state == 'Z')
      return 0;
  }
#else
  now_start = shmpool__posix_start_of((long)pid);
#endif
  if (start == 0 || now_start == 0)
    return 1; /* exists; cannot tell whether it is the same process */
  return now_start == start;
}

uint64_t shmpool__plat_proc_start(uint64_t pid) {
  /* Cached per pid, so a forked child computes its own. The start is
   * published before the pid that vouches for it. */
  static uint64_t cached_pid, cached_start;
  uint64_t start;
  if (shmpool__load_acq64(&cached_pid) == pid)
    return shmpool__load_acq64(&cached_start);
  start = shmpool__posix_start_of((long)pid);
  shmpool__store_rel64(&cached_start, start);
  shmpool__store_rel64(&cached_pid, pid);
  return start;
}

#endif /* !_WIN32 */
