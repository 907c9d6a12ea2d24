/* Making progress: taking the results workers published and completing
 * them, noticing dead workers, and waiting for either without burning a
 * core or missing a result.
 *
 * SPDX-License-Identifier: MIT */
#include "pool.h"

/* While a caller waits, the parent looks at the worker processes this
 * often: a dead worker publishes nothing, so only a look notices it. */
#define SHMPOOL__HEALTH_MS 50u

int shmpool__drain(shmpool *pool) {
  shmpool__completion c;
  int any = 0;
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    int rc;
    if (!ws->running || ws->condemned)
      continue;
    while ((rc = shmpool__ring_take(pool, ws, &c)) == 1) {
      shmpool__complete(pool, &c);
      any = 1;
    }
    if (rc == SHMPOOL_EPROTO)
      shmpool__condemn(pool, ws); /* reaped at the next check */
  }
  return any;
}

void shmpool__maybe_check_workers(shmpool *pool) {
  if (shmpool__plat_now_ns() - pool->last_health_ns >=
      (uint64_t)SHMPOOL__HEALTH_MS * 1000000u)
    shmpool__check_workers(pool);
}

static int shmpool__results_ready(void *ctx) {
  return shmpool__ring_pending((const shmpool *)ctx);
}

int shmpool__await(shmpool *pool, uint64_t deadline) {
  uint64_t health =
      pool->last_health_ns + (uint64_t)SHMPOOL__HEALTH_MS * 1000000u;
  uint64_t until = deadline < health ? deadline : health;
  if (shmpool__idle(&pool->chan, shmpool__results_ready, pool, until))
    return 0;
  return shmpool__plat_now_ns() >= deadline ? SHMPOOL_ETIMEDOUT : 0;
}
