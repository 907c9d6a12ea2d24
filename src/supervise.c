/* Worker processes: starting them, looking at them, and what happens when
 * one dies. Every decision here comes from the parent's own memory: a
 * word in shared memory can say what a worker claims, but never whether
 * the parent restarts it, shuts down, or waits.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "atomics.h"
#include "pool.h"

/* How long a killed worker may take to die before the pool gives up on it
 * (a kill that fails must not hang the pool). */
#define SHMPOOL__KILL_WAIT_MS 2000
/* A worker block whose process dies before it is ready this many times in
 * a row is not started again (no respawn loop). */
#define SHMPOOL__MAX_START_FAILURES 3

static void shmpool__publish_pid(uint64_t pid, void *ctx) {
  shmpool__ctl_worker *wb = (shmpool__ctl_worker *)ctx;
  shmpool__store_rel64(&wb->pid, pid);
}

int shmpool__spawn(shmpool *pool, shmpool__wslot *ws) {
  int rc;
  ws->tail = ws->done = 0;
  ws->ready = 0;
  ws->condemned = 0;
  shmpool__store_rel32(&ws->wb->task_tail, 0);
  shmpool__store_rel32(&ws->wb->result_tail, 0);
  shmpool__store_rel32(&ws->wb->worker_sleeping, 0);
  ws->wb->init_status = 0;
  shmpool__store_rel64(&ws->wb->pid, 0);
  shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_STARTING);
  rc = shmpool__plat_spawn(&ws->proc, pool->exe, shmpool_seg_name(pool->ctl),
                           shmpool__publish_pid, ws->wb);
  if (rc != 0) {
    shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_EMPTY);
    return rc;
  }
  ws->running = 1;
  return 0;
}

/* Complete a message that will never complete normally. */
static void shmpool__fail(shmpool *pool, const shmpool__inflight *rec,
                          int status, const shmpool__plat_exit *ex) {
  shmpool__completion c;
  memset(&c, 0, sizeof c);
  c.rec = *rec;
  c.status = status;
  c.exit_code = ex->exit_code;
  c.term_signal = ex->term_signal;
  shmpool__complete(pool, &c);
}

/* Start a replacement for ws unless the pool is stopping or the block
 * keeps failing before it gets ready. */
static void shmpool__restart(shmpool *pool, shmpool__wslot *ws,
                             int was_ready) {
  if (pool->shutting_down || ws->failed)
    return;
  ws->start_failures = was_ready ? 0 : ws->start_failures + 1;
  if (ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
    ws->failed = 1;
  else if (shmpool__spawn(pool, ws) != 0 &&
           ++ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
    ws->failed = 1;
}

/* Worker ws has ended (reaped, or abandoned after a kill that did not
 * work). Results it published are real results, unless it was condemned
 * for writing nonsense: then everything it held fails with EPROTO. A
 * message it had taken fails with EWORKER; messages it never took are
 * handed, in order, to its replacement. */
static void shmpool__worker_ended(shmpool *pool, shmpool__wslot *ws,
                                  const shmpool__plat_exit *ex) {
  const uint32_t mask = pool->l.p.depth - 1;
  const int status = ws->condemned ? SHMPOOL_EPROTO : SHMPOOL_EWORKER;
  int was_ready = ws->ready;
  uint32_t nsaved = 0, k;
  shmpool__completion c;

  ws->running = 0;
  if (!ws->condemned)
    while (shmpool__ring_take(pool, ws, &c) == 1)
      shmpool__complete(pool, &c);
  /* Taken or not: the slot's state word. Untrusted, but it can only
   * choose between failing a message and running it on the replacement. */
  for (k = ws->done; k != ws->tail; k++) {
    shmpool__task_slot *s = shmpool__ctl_task_slot(ws->wb, &pool->l, k);
    if (!ws->condemned &&
        shmpool__load_acq32(&s->state) == SHMPOOL__SLOT_QUEUED) {
      memcpy(pool->requeue_slots + (size_t)nsaved * pool->l.task_slot_size, s,
             pool->l.task_slot_size);
      pool->requeue_recs[nsaved++] = ws->inflight[k & mask];
    } else {
      shmpool__fail(pool, &ws->inflight[k & mask], status, ex);
    }
  }
  ws->done = ws->tail;
  shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_EMPTY);

  shmpool__restart(pool, ws, was_ready);
  if (!ws->running) {
    for (k = 0; k < nsaved; k++)
      shmpool__fail(pool, &pool->requeue_recs[k], SHMPOOL_EWORKER, ex);
    return;
  }
  /* The replacement starts with them, in their order, after its
   * initializer. */
  for (k = 0; k < nsaved; k++) {
    memcpy(shmpool__ctl_task_slot(ws->wb, &pool->l, k),
           pool->requeue_slots + (size_t)k * pool->l.task_slot_size,
           pool->l.task_slot_size);
    ws->inflight[k & mask] = pool->requeue_recs[k];
  }
  ws->tail = nsaved;
  shmpool__store_rel32(&ws->wb->task_tail, ws->tail);
  shmpool__chan_wake(&ws->chan);
}

void shmpool__condemn(shmpool *pool, shmpool__wslot *ws) {
  (void)pool;
  if (ws->condemned)
    return;
  ws->condemned = 1;
  ws->condemned_ns = shmpool__plat_now_ns();
  shmpool__plat_proc_kill(&ws->proc);
}

void shmpool__check_workers(shmpool *pool) {
  uint32_t i;
  uint64_t now = shmpool__plat_now_ns();
  pool->last_health_ns = now;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    shmpool__plat_exit ex;
    uint32_t state;
    if (!ws->running) {
      /* A block whose start failed: try again now and then. */
      if (!ws->failed && !pool->shutting_down &&
          shmpool__spawn(pool, ws) != 0 &&
          ++ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
        ws->failed = 1;
      continue;
    }
    state = shmpool__load_acq32(&ws->wb->state);
    if (state == SHMPOOL__W_READY)
      ws->ready = 1;
    if (shmpool__plat_proc_poll(&ws->proc, &ex) == 1) {
      /* A worker whose initializer failed is not started again. */
      if (state == SHMPOOL__W_INIT_FAILED)
        ws->start_failures = SHMPOOL__MAX_START_FAILURES;
      shmpool__worker_ended(pool, ws, &ex);
    } else if (ws->condemned &&
               now - ws->condemned_ns >=
                   (uint64_t)SHMPOOL__KILL_WAIT_MS * 1000000u) {
      /* The kill did not work. The process may still write into this
       * block, so the block is never used again. */
      shmpool__plat_proc_release(&ws->proc);
      ws->failed = 1;
      ex.exit_code = -1;
      ex.term_signal = 0;
      shmpool__worker_ended(pool, ws, &ex);
    }
  }
}

int shmpool__any_worker_left(const shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++)
    if (pool->w[i].running || !pool->w[i].failed)
      return 1;
  return 0;
}

int shmpool__startup_status(shmpool *pool) {
  uint32_t i, ready = 0;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    shmpool__plat_exit ex;
    uint32_t state = shmpool__load_acq32(&ws->wb->state);
    if (state == SHMPOOL__W_INIT_FAILED) {
      int status = ws->wb->init_status;
      return status != 0 ? status : SHMPOOL_ESPAWN;
    }
    if (state == SHMPOOL__W_READY) {
      ws->ready = 1;
      ready++;
      continue;
    }
    if (shmpool__plat_proc_poll(&ws->proc, &ex) == 1) {
      ws->running = 0;
      return SHMPOOL_ESPAWN; /* it exited before it was ready */
    }
  }
  return ready == pool->nworkers ? 0 : 1;
}

int shmpool__startup_news(void *ctx) {
  shmpool *pool = (shmpool *)ctx;
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    if (ws->running && !ws->ready &&
        shmpool__load_acq32(&ws->wb->state) != SHMPOOL__W_STARTING)
      return 1;
  }
  return 0;
}

void shmpool__stop_workers(shmpool *pool) {
  uint64_t deadline;
  uint32_t i;
  pool->shutting_down = 1;
  if (pool->hdr == NULL || pool->w == NULL)
    return;
  shmpool__store_rel32(&pool->hdr->shutdown, 1);
  for (i = 0; i < pool->nworkers; i++)
    if (pool->w[i].running)
      shmpool__chan_wake(&pool->w[i].chan);
  deadline = shmpool__deadline(pool->opts.shutdown_timeout_ms);
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    shmpool__plat_exit ex;
    uint64_t now = shmpool__plat_now_ns();
    int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000u);
    if (!ws->running)
      continue;
    if (shmpool__plat_proc_wait(&ws->proc, left, &ex) != 1) {
      shmpool__plat_proc_kill(&ws->proc);
      if (shmpool__plat_proc_wait(&ws->proc, SHMPOOL__KILL_WAIT_MS, &ex) != 1)
        shmpool__plat_proc_release(&ws->proc);
    }
    ws->running = 0;
  }
}
