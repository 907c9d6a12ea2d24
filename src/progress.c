/* Making progress: taking the results workers published and completing
 * them, looking after the workers (health, deadlines, recycling), and
 * waiting for either without burning a core or missing a result.
 *
 * Waiting with several threads: one thread at a time drives. It takes a
 * snapshot of the workers' result counts under the lock, lets go of the
 * lock, and waits on the parent's wake channel (the idle protocol: spin,
 * yield, sleep) until a count moves or somebody kicks it; then it takes
 * the lock again and drains. The other threads wait on the lock's
 * condition variable, which every completion broadcasts. So workers wake
 * at most one parent thread, and a thread that submits is never held up
 * by one that waits.
 *
 * SPDX-License-Identifier: MIT */
#include "atomics.h"
#include "pool.h"

/* While callers wait, the parent looks at the worker processes this
 * often: a dead worker publishes nothing, so only a look notices it. */
#define SHMPOOL__HEALTH_MS 50u
/* A worker the driver does not watch. */
#define SHMPOOL__UNWATCHED 0xffffffffu

int shmpool__drain(shmpool *pool) {
  shmpool__completion c;
  int any = 0;
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    int rc;
    if (!ws->running || ws->corrupt)
      continue;
    while ((rc = shmpool__ring_take(pool, ws, &c)) == 1) {
      shmpool__complete(pool, &c);
      any = 1;
    }
    if (rc == SHMPOOL_EPROTO)
      shmpool__condemn(pool, ws, 1); /* reaped at the next look */
  }
  if (any) {
    if (pool->jobs != NULL)
      pool->jobs_pump(pool); /* queues have room again */
    shmpool__wake_followers(pool);
  }
  return any;
}

void shmpool__maintain(shmpool *pool) {
  uint64_t now = shmpool__plat_now_ns();
  if (now - pool->last_health_ns < (uint64_t)SHMPOOL__HEALTH_MS * 1000000u)
    return;
  shmpool__check_workers(pool);
  if (pool->ndeadlines != 0)
    (void)shmpool__cancel_tasks(pool, now, SHMPOOL_ETIMEDOUT);
  if (pool->jobs != NULL) {
    pool->jobs_maintain(pool, now);
    pool->jobs_pump(pool);
  }
  /* Deaths and expiries complete tasks that others may wait for. */
  shmpool__wake_followers(pool);
}

typedef struct shmpool__watch {
  shmpool *pool;
  uint32_t kick;
} shmpool__watch;

/* The driver's condition, checked without the lock: a watched worker's
 * result count moved, or somebody kicked. Reads only words in shared
 * memory, the atomic kick, and the driver's own snapshot. */
static int shmpool__watch_ready(void *ctx) {
  const shmpool__watch *wt = (const shmpool__watch *)ctx;
  const shmpool *pool = wt->pool;
  uint32_t i;
  if (shmpool__load_acq32(&pool->kick) != wt->kick)
    return 1;
  for (i = 0; i < pool->nworkers; i++)
    if (pool->watch[i] != SHMPOOL__UNWATCHED &&
        shmpool__load_acq32(&pool->w[i].wb->result_tail) != pool->watch[i])
      return 1;
  return 0;
}

static int shmpool__ms_until(uint64_t now, uint64_t until) {
  uint64_t ms;
  if (until == UINT64_MAX)
    return -1;
  if (until <= now)
    return 0;
  ms = (until - now + 999999u) / 1000000u;
  return ms > 3600000u ? 3600000 : (int)ms;
}

int shmpool__wait_progress(shmpool *pool, uint64_t deadline) {
  uint64_t health =
      pool->last_health_ns + (uint64_t)SHMPOOL__HEALTH_MS * 1000000u;
  uint64_t until = deadline < health ? deadline : health;
  int drove = 0;
  if (pool->driving) {
    pool->followers++;
    shmpool__plat_monitor_wait(
        pool->mon, shmpool__ms_until(shmpool__plat_now_ns(), until));
    pool->followers--;
  } else {
    shmpool__watch wt;
    uint32_t i;
    pool->driving = drove = 1;
    for (i = 0; i < pool->nworkers; i++) {
      const shmpool__wslot *ws = &pool->w[i];
      pool->watch[i] =
          ws->running && !ws->corrupt ? ws->done : SHMPOOL__UNWATCHED;
    }
    wt.pool = pool;
    wt.kick = shmpool__load_acq32(&pool->kick);
    shmpool__plat_monitor_unlock(pool->mon);
    (void)shmpool__idle(&pool->chan, shmpool__watch_ready, &wt, until);
    shmpool__plat_monitor_lock(pool->mon);
    pool->driving = 0;
  }
  (void)shmpool__drain(pool);
  shmpool__maintain(pool);
  if (drove) /* somebody else may drive now */
    shmpool__wake_followers(pool);
  return shmpool__plat_now_ns() >= deadline ? SHMPOOL_ETIMEDOUT : 0;
}
