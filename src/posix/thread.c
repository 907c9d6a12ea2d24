/* POSIX: the pool's lock and condition variable, thread ids, and noticing
 * fork().
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "internal.h"

struct shmpool__plat_monitor {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int monotonic; /* the condition variable measures CLOCK_MONOTONIC */
};

int shmpool__plat_monitor_create(shmpool__plat_monitor **out) {
  shmpool__plat_monitor *m;
  pthread_condattr_t attr;
  int rc;
  *out = NULL;
  m = (shmpool__plat_monitor *)calloc(1, sizeof *m);
  if (m == NULL)
    return SHMPOOL_ENOMEM;
  if ((rc = pthread_mutex_init(&m->mutex, NULL)) != 0) {
    free(m);
    shmpool__set_os_error(rc);
    return rc == ENOMEM ? SHMPOOL_ENOMEM : SHMPOOL_EIO;
  }
  pthread_condattr_init(&attr);
#if !defined(__APPLE__)
  /* A timed wait against the monotonic clock is immune to the wall clock
   * being set; macOS has no pthread_condattr_setclock (it has a relative
   * wait instead). */
  m->monotonic = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
#endif
  rc = pthread_cond_init(&m->cond, &attr);
  pthread_condattr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_destroy(&m->mutex);
    free(m);
    shmpool__set_os_error(rc);
    return rc == ENOMEM ? SHMPOOL_ENOMEM : SHMPOOL_EIO;
  }
  *out = m;
  return 0;
}

void shmpool__plat_monitor_destroy(shmpool__plat_monitor *m) {
  if (m == NULL)
    return;
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->mutex);
  free(m);
}

void shmpool__plat_monitor_lock(shmpool__plat_monitor *m) {
  (void)pthread_mutex_lock(&m->mutex);
}

void shmpool__plat_monitor_unlock(shmpool__plat_monitor *m) {
  (void)pthread_mutex_unlock(&m->mutex);
}

void shmpool__plat_monitor_wait(shmpool__plat_monitor *m, int timeout_ms) {
  struct timespec ts;
  if (timeout_ms < 0) {
    (void)pthread_cond_wait(&m->cond, &m->mutex);
    return;
  }
#if defined(__APPLE__)
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
  (void)pthread_cond_timedwait_relative_np(&m->cond, &m->mutex, &ts);
#else
  clock_gettime(m->monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  (void)pthread_cond_timedwait(&m->cond, &m->mutex, &ts);
#endif
}

void shmpool__plat_monitor_broadcast(shmpool__plat_monitor *m) {
  (void)pthread_cond_broadcast(&m->cond);
}

uint64_t shmpool__plat_thread_id(void) {
  /* pthread_t is an integer on Linux and a pointer on macOS and the BSDs;
   * either way its bytes identify a live thread. */
  pthread_t self = pthread_self();
  uint64_t id = 0;
  memcpy(&id, &self, sizeof self < sizeof id ? sizeof self : sizeof id);
  return id;
}

static uint32_t shmpool__fork_gen;
static uint32_t shmpool__fork_watched; /* the handler is registered */
static pthread_once_t shmpool__fork_once = PTHREAD_ONCE_INIT;

/* Runs in the child of fork(), where only the forking thread exists. */
static void shmpool__posix_forked(void) {
  shmpool__store_rel32(&shmpool__fork_gen,
                       shmpool__load_acq32(&shmpool__fork_gen) + 1);
}

static void shmpool__posix_watch_forks(void) {
  (void)pthread_atfork(NULL, NULL, shmpool__posix_forked);
  shmpool__store_rel32(&shmpool__fork_watched, 1);
}

uint32_t shmpool__plat_fork_generation(void) {
  /* Every pool call asks: after the first, this is two loads. */
  if (shmpool__load_acq32(&shmpool__fork_watched) == 0)
    (void)pthread_once(&shmpool__fork_once, shmpool__posix_watch_forks);
  return shmpool__load_acq32(&shmpool__fork_gen);
}

#endif /* !_WIN32 */
