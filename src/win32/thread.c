/* Windows: the pool's lock and condition variable (an SRW lock and a
 * condition variable, Vista and later), and thread ids. Windows has no
 * fork(), so the fork generation never changes.
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include <stdlib.h>

#include "internal.h"
#include "win32/sys.h"

struct shmpool__plat_monitor {
  SRWLOCK lock;
  CONDITION_VARIABLE cond;
};

int shmpool__plat_monitor_create(shmpool__plat_monitor **out) {
  shmpool__plat_monitor *m = (shmpool__plat_monitor *)calloc(1, sizeof *m);
  *out = NULL;
  if (m == NULL)
    return SHMPOOL_ENOMEM;
  InitializeSRWLock(&m->lock);
  InitializeConditionVariable(&m->cond);
  *out = m;
  return 0;
}

void shmpool__plat_monitor_destroy(shmpool__plat_monitor *m) {
  free(m); /* SRW locks and condition variables need no cleanup */
}

void shmpool__plat_monitor_lock(shmpool__plat_monitor *m) {
  AcquireSRWLockExclusive(&m->lock);
}

void shmpool__plat_monitor_unlock(shmpool__plat_monitor *m) {
  ReleaseSRWLockExclusive(&m->lock);
}

void shmpool__plat_monitor_wait(shmpool__plat_monitor *m, int timeout_ms) {
  (void)SleepConditionVariableSRW(
      &m->cond, &m->lock, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, 0);
}

void shmpool__plat_monitor_broadcast(shmpool__plat_monitor *m) {
  WakeAllConditionVariable(&m->cond);
}

uint64_t shmpool__plat_thread_id(void) {
  return (uint64_t)GetCurrentThreadId();
}

uint32_t shmpool__plat_fork_generation(void) {
  return 0;
}

#endif /* _WIN32 */
