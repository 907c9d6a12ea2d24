/* Canceling messages: a message still in its worker's queue is canceled
 * in place (the worker skips it); a running one can only be stopped by
 * killing its worker, which is then replaced, and the tasks queued behind
 * it run on the replacement.
 *
 * SPDX-License-Identifier: MIT */
#include "pool.h"

int shmpool__cancel_msg(shmpool *pool, shmpool__wslot *ws, uint32_t seq) {
  if (shmpool__ring_cancel(pool, ws, seq))
    return 1;
  /* Taken: running, or finished with a result not yet drained. Looking
   * just before the kill leaves only a tiny window in which it finishes
   * and another task starts; that task would then fail with EWORKER. */
  if (shmpool__ring_replied(ws, seq))
    return -1;
  shmpool__condemn(pool, ws, 0);
  return 0;
}

int shmpool__find_msg(const shmpool *pool, const void *ctx, uint32_t *w,
                      uint32_t *seq) {
  const uint32_t mask = pool->l.p.depth - 1;
  uint32_t i, k;
  for (i = 0; i < pool->nworkers; i++) {
    const shmpool__wslot *ws = &pool->w[i];
    for (k = ws->done; k != ws->tail; k++)
      if (ws->inflight[k & mask].ctx == ctx) {
        *w = i;
        *seq = k;
        return 1;
      }
  }
  return 0;
}

int shmpool__cancel_task_at(shmpool *pool, uint32_t w, uint32_t seq,
                            shmpool__task_rec *rec, int status) {
  shmpool__inflight *r = &pool->w[w].inflight[seq & (pool->l.p.depth - 1)];
  int rc;
  if (rec->state != SHMPOOL__T_FLIGHT || rec->end_status != 0)
    return -1;
  rc = shmpool__cancel_msg(pool, &pool->w[w], seq);
  if (rc == 1) {
    /* It completes now; the worker's "skipped" reply comes later and must
     * not touch the record again (it may be reused by then). */
    r->done = shmpool__discard;
    r->ctx = NULL;
    shmpool__task_finish(pool, rec, status);
  } else if (rc == 0) {
    rec->end_status = status; /* it completes when its worker is reaped */
  }
  return rc;
}

int shmpool__cancel_task(shmpool *pool, shmpool__task_rec *rec, int status) {
  uint32_t w, seq;
  if (!shmpool__find_msg(pool, rec, &w, &seq))
    return -1;
  return shmpool__cancel_task_at(pool, w, seq, rec, status);
}

void shmpool__discard(shmpool *pool, const shmpool__completion *c) {
  (void)pool;
  (void)c;
}

int shmpool__cancel_tasks(shmpool *pool, uint64_t expired_at, int status) {
  const uint32_t mask = pool->l.p.depth - 1;
  uint32_t i, k;
  int n = 0;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    for (k = ws->done; k != ws->tail; k++) {
      shmpool__inflight *r = &ws->inflight[k & mask];
      shmpool__task_rec *rec = (shmpool__task_rec *)r->ctx;
      if (r->kind != SHMPOOL__TASK_ONE || rec == NULL ||
          (expired_at != 0 &&
           (rec->deadline_ns == 0 || expired_at < rec->deadline_ns)))
        continue;
      if (shmpool__cancel_task_at(pool, i, k, rec, status) >= 0)
        n++;
    }
  }
  return n;
}
