/* Worker processes: starting them, looking at them, and what happens when
 * one dies. Every decision here comes from the parent's own memory: a
 * word in shared memory can say what a worker claims, but never whether
 * the parent restarts it, shuts down, or waits. Words the parent owns are
 * written again before every start, so a corrupted one does not outlive
 * the worker it confused.
 *
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "atomics.h"
#include "pool.h"

/* How long a killed worker may take to die before the pool gives up on it
 * (a kill that fails must not hang the pool). */
#define SHMPOOL__KILL_WAIT_MS 2000
/* A worker block whose process dies before it is ready this many times in
 * a row is not started again (no respawn loop). */
#define SHMPOOL__MAX_START_FAILURES 3

void shmpool__log(shmpool *pool, int level, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  if (pool->opts.log == NULL)
    return;
  va_start(ap, fmt);
  (void)vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pool->opts.log(pool->opts.log_ctx, level, msg);
}

static void shmpool__publish_pid(uint64_t pid, void *ctx) {
  shmpool__ctl_worker *wb = (shmpool__ctl_worker *)ctx;
  shmpool__store_rel64(&wb->pid, pid);
}

/* The words a new worker reads that only the parent writes: the header
 * (from the parent's own layout) and the shutdown flag. */
static void shmpool__repair_header(shmpool *pool) {
  uint64_t pid = shmpool__plat_pid();
  shmpool__ctl_init(pool->base, &pool->l, pid, shmpool__plat_proc_start(pid));
  shmpool__store_rel32(&pool->hdr->shutdown, pool->shutting_down ? 1u : 0u);
}

int shmpool__spawn(shmpool *pool, shmpool__wslot *ws) {
  int rc;
  ws->tail = ws->done = 0;
  ws->ready = 0;
  ws->condemned = 0;
  ws->corrupt = 0;
  ws->stopping = 0;
  ws->sent = 0;
  shmpool__repair_header(pool);
  shmpool__store_rel32(&ws->wb->task_tail, 0);
  shmpool__store_rel32(&ws->wb->result_tail, 0);
  shmpool__store_rel32(&ws->wb->worker_sleeping, 0);
  shmpool__store_rel32(&ws->wb->stop, 0);
  ws->wb->init_status = 0;
  shmpool__store_rel64(&ws->wb->pid, 0);
  shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_STARTING);
  rc = shmpool__plat_spawn(
      &ws->proc, pool->exe, (const char *const *)pool->worker_args,
      shmpool_seg_name(pool->ctl), shmpool__publish_pid, ws->wb);
  if (rc != 0) {
    shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_EMPTY);
    shmpool__log(pool, SHMPOOL_LOG_ERROR,
                 "worker %u: cannot start %s: %s (OS error %d)", ws->index,
                 pool->exe, shmpool_strerror(rc), shmpool_last_os_error());
    return rc;
  }
  ws->running = 1;
  return 0;
}

/* Complete a message that will never complete normally. */
static void shmpool__fail(shmpool *pool, const shmpool__wslot *ws,
                          const shmpool__inflight *rec, int status,
                          const shmpool__plat_exit *ex) {
  shmpool__completion c;
  memset(&c, 0, sizeof c);
  c.rec = *rec;
  c.worker = ws->index;
  c.status = status;
  c.exit_code = ex->exit_code;
  c.term_signal = ex->term_signal;
  shmpool__complete(pool, &c);
}

/* Start a replacement for ws unless the pool is stopping or the block
 * keeps failing before it gets ready. */
static void shmpool__restart(shmpool *pool, shmpool__wslot *ws, int was_ready) {
  if (pool->shutting_down || ws->failed)
    return;
  ws->start_failures = was_ready ? 0 : ws->start_failures + 1;
  if (ws->start_failures < SHMPOOL__MAX_START_FAILURES &&
      shmpool__spawn(pool, ws) != 0)
    ws->start_failures++;
  if (!ws->running && ws->start_failures >= SHMPOOL__MAX_START_FAILURES) {
    ws->failed = 1;
    shmpool__log(pool, SHMPOOL_LOG_ERROR,
                 "worker %u: given up after %d failed starts in a row (does "
                 "%s call shmpool_is_worker() first thing in main()?)",
                 ws->index, ws->start_failures, pool->exe);
  }
}

/* Hand messages [from, to) of ws's old process, which never took them,
 * to its replacement: slot bytes and records, in their order. */
static uint32_t shmpool__save_unstarted(shmpool *pool, shmpool__wslot *ws,
                                        const shmpool__plat_exit *ex) {
  const uint32_t mask = pool->l.p.depth - 1;
  const int status = ws->corrupt ? SHMPOOL_EPROTO : SHMPOOL_EWORKER;
  uint32_t nsaved = 0, k;
  /* Taken or not: the slot's state word. Untrusted, but it can only
   * choose between failing a message and running it on the replacement. */
  for (k = ws->done; k != ws->tail; k++) {
    shmpool__task_slot *s = shmpool__ctl_task_slot(ws->wb, &pool->l, k);
    if (!ws->corrupt &&
        shmpool__load_acq32(&s->state) == SHMPOOL__SLOT_QUEUED) {
      memcpy(pool->requeue_slots + (size_t)nsaved * pool->l.task_slot_size, s,
             pool->l.task_slot_size);
      pool->requeue_recs[nsaved++] = ws->inflight[k & mask];
    } else {
      shmpool__fail(pool, ws, &ws->inflight[k & mask], status, ex);
    }
  }
  ws->done = ws->tail;
  return nsaved;
}

/* Worker ws has ended (reaped, or abandoned after a kill that did not
 * work). Results it published are real results, unless it was corrupt:
 * then everything it held fails with EPROTO. A message it had taken fails
 * with EWORKER (or the reason it was killed); messages it never took are
 * handed, in order, to its replacement. */
static void shmpool__worker_ended(shmpool *pool, shmpool__wslot *ws,
                                  const shmpool__plat_exit *ex, uint64_t pid) {
  const uint32_t mask = pool->l.p.depth - 1;
  int was_ready = ws->ready, deliberate = ws->condemned || ws->stopping;
  uint32_t nsaved, k;
  shmpool__completion c;

  ws->running = 0;
  if (!ws->corrupt)
    while (shmpool__ring_take(pool, ws, &c) == 1)
      shmpool__complete(pool, &c);
  nsaved = shmpool__save_unstarted(pool, ws, ex);
  shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_EMPTY);
  if (!deliberate && !pool->shutting_down)
    shmpool__log(pool, SHMPOOL_LOG_WARN,
                 "worker %u (pid %llu) died: exit code %d, signal %d%s",
                 ws->index, (unsigned long long)pid, ex->exit_code,
                 ex->term_signal, was_ready ? "" : ", before it was ready");

  shmpool__restart(pool, ws, was_ready);
  if (!ws->running) {
    for (k = 0; k < nsaved; k++)
      shmpool__fail(pool, ws, &pool->requeue_recs[k], SHMPOOL_EWORKER, ex);
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
  ws->sent = nsaved;
  shmpool__store_rel32(&ws->wb->task_tail, ws->tail);
  shmpool__chan_wake(&ws->chan);
}

void shmpool__condemn(shmpool *pool, shmpool__wslot *ws, int corrupt) {
  if (corrupt && !ws->corrupt) {
    ws->corrupt = 1;
    shmpool__log(pool, SHMPOOL_LOG_WARN,
                 "worker %u (pid %llu) wrote nonsense into its queue: killed",
                 ws->index, (unsigned long long)ws->proc.pid);
  }
  if (ws->condemned)
    return;
  ws->condemned = 1;
  ws->condemned_ns = shmpool__plat_now_ns();
  shmpool__plat_proc_kill(&ws->proc);
  pool->last_health_ns = 0; /* look again at the next chance */
}

/* Recycling: a worker that ran its share of messages is asked to exit as
 * soon as its queue is empty; it is then replaced like any other. */
static void shmpool__maybe_retire(shmpool *pool, shmpool__wslot *ws) {
  unsigned max = pool->opts.max_tasks_per_worker;
  if (max == 0 || ws->stopping || ws->sent < max || ws->done != ws->tail)
    return;
  ws->stopping = 1;
  shmpool__store_rel32(&ws->wb->stop, 1);
  shmpool__chan_wake(&ws->chan);
  shmpool__log(pool, SHMPOOL_LOG_INFO,
               "worker %u (pid %llu) ran %llu messages: replaced", ws->index,
               (unsigned long long)ws->proc.pid, (unsigned long long)ws->sent);
}

/* Look at one running worker: ready, dead, or killed and not dying. */
static void shmpool__look_at(shmpool *pool, shmpool__wslot *ws, uint64_t now) {
  shmpool__plat_exit ex;
  uint64_t pid = ws->proc.pid; /* reaping forgets it */
  uint32_t state = shmpool__load_acq32(&ws->wb->state);
  if (state == SHMPOOL__W_READY)
    ws->ready = 1;
  if (shmpool__plat_proc_poll(&ws->proc, &ex) == 1) {
    /* A replacement whose initializer failed is not started again. The
     * state word is believed only before the worker was ready. */
    if (!ws->ready && state == SHMPOOL__W_INIT_FAILED)
      ws->start_failures = SHMPOOL__MAX_START_FAILURES;
    shmpool__worker_ended(pool, ws, &ex, pid);
  } else if (ws->condemned && now - ws->condemned_ns >=
                                  (uint64_t)SHMPOOL__KILL_WAIT_MS * 1000000u) {
    /* The kill did not work. The process may still write into this
     * block, so the block is never used again. */
    shmpool__log(pool, SHMPOOL_LOG_ERROR,
                 "worker %u (pid %llu) did not die when killed: abandoned",
                 ws->index, (unsigned long long)ws->proc.pid);
    shmpool__plat_proc_release(&ws->proc);
    ws->failed = 1;
    ex.exit_code = -1;
    ex.term_signal = 0;
    shmpool__worker_ended(pool, ws, &ex, pid);
  } else {
    shmpool__maybe_retire(pool, ws);
  }
}

void shmpool__check_workers(shmpool *pool) {
  uint64_t now = shmpool__plat_now_ns();
  uint32_t i;
  pool->last_health_ns = now;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    if (ws->running)
      shmpool__look_at(pool, ws, now);
    else if (!ws->failed && !pool->shutting_down &&
             shmpool__spawn(pool, ws) != 0 &&
             ++ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
      ws->failed = 1; /* a block whose start failed: tried now and then */
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
      shmpool__log(pool, SHMPOOL_LOG_ERROR,
                   "worker %u: the initializer failed with status %d",
                   ws->index, status);
      return status != 0 ? status : SHMPOOL_ESPAWN;
    }
    if (state == SHMPOOL__W_READY) {
      ws->ready = 1;
      ready++;
      continue;
    }
    if (shmpool__plat_proc_poll(&ws->proc, &ex) == 1) {
      ws->running = 0;
      shmpool__log(pool, SHMPOOL_LOG_ERROR,
                   "worker %u exited before it was ready (exit code %d, "
                   "signal %d): does %s call shmpool_is_worker() first "
                   "thing in main()?",
                   ws->index, ex.exit_code, ex.term_signal, pool->exe);
      return SHMPOOL_ESPAWN;
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
