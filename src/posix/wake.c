/* POSIX: sleeping on a word in shared memory until another process wakes
 * it. Linux has futexes; FreeBSD _umtx_op; macOS __ulock (a private but
 * long-stable interface, used by libc++ and Rust's std); other systems get
 * a short-sleep poll, which is correct but wakes up to 500 times a second
 * while a pool is blocked.
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__FreeBSD__)
#include <sys/types.h>
#include <sys/umtx.h>
#elif defined(__APPLE__)
/* From xnu's sys/ulock.h. */
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value,
                        uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#define SHMPOOL__UL_COMPARE_AND_WAIT_SHARED 3u
#endif

#include "internal.h"

int shmpool__plat_waker_create(shmpool__plat_waker *w, const char *ctl_name,
                               const char *suffix) {
  /* The word in shared memory is all a POSIX backend needs. */
  (void)ctl_name;
  (void)suffix;
  w->handle = 0;
  return 0;
}

int shmpool__plat_waker_open(shmpool__plat_waker *w, const char *ctl_name,
                             const char *suffix) {
  return shmpool__plat_waker_create(w, ctl_name, suffix);
}

void shmpool__plat_waker_close(shmpool__plat_waker *w) {
  w->handle = 0;
}

int shmpool__plat_wait(shmpool__plat_waker *w, volatile uint32_t *word,
                       uint32_t expected, int timeout_ms) {
#if defined(__linux__)
  struct timespec ts, *tsp = NULL;
  (void)w;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
  if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL,
              0) != 0 &&
      errno == ETIMEDOUT)
    return SHMPOOL_ETIMEDOUT;
  return 0; /* woken, EAGAIN (the word changed) or EINTR: re-check */
#elif defined(__FreeBSD__)
  struct _umtx_time t;
  void *size_arg = NULL, *time_arg = NULL;
  (void)w;
  if (timeout_ms >= 0) {
    memset(&t, 0, sizeof t);
    t._timeout.tv_sec = timeout_ms / 1000;
    t._timeout.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    t._clockid = CLOCK_MONOTONIC;
    size_arg = (void *)(uintptr_t)sizeof t;
    time_arg = &t;
  }
  /* UMTX_OP_WAIT_UINT (not _PRIVATE) works across processes. */
  if (_umtx_op((void *)word, UMTX_OP_WAIT_UINT, expected, size_arg, time_arg) !=
          0 &&
      errno == ETIMEDOUT)
    return SHMPOOL_ETIMEDOUT;
  return 0;
#elif defined(__APPLE__)
  uint32_t us = 0; /* 0: no timeout */
  (void)w;
  if (timeout_ms >= 0)
    us = timeout_ms > 4000000 ? 4000000000u : (uint32_t)timeout_ms * 1000u;
  if (timeout_ms == 0)
    us = 1;
  if (__ulock_wait(SHMPOOL__UL_COMPARE_AND_WAIT_SHARED, (void *)word, expected,
                   us) < 0 &&
      errno == ETIMEDOUT)
    return SHMPOOL_ETIMEDOUT;
  return 0;
#else
  /* Portable fallback: nap briefly, let the caller re-check. */
  unsigned nap = timeout_ms < 0 || timeout_ms > 2 ? 2u : (unsigned)timeout_ms;
  (void)w;
  if (*word != expected)
    return 0;
  shmpool__plat_sleep_ms(nap);
  return timeout_ms >= 0 && (unsigned)timeout_ms <= nap ? SHMPOOL_ETIMEDOUT : 0;
#endif
}

void shmpool__plat_wake(shmpool__plat_waker *w, volatile uint32_t *word) {
  (void)w;
#if defined(__linux__)
  (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL,
                0);
#elif defined(__FreeBSD__)
  (void)_umtx_op((void *)word, UMTX_OP_WAKE, INT_MAX, NULL, NULL);
#elif defined(__APPLE__)
  (void)__ulock_wake(SHMPOOL__UL_COMPARE_AND_WAIT_SHARED | 0x100u /* ALL */,
                     (void *)word, 0);
#else
  (void)word; /* sleepers poll */
#endif
}

#endif /* !_WIN32 */
