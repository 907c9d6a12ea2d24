/* The public entry points of a pool's parent side: create, submit, wait,
 * destroy. The work is done by the layers described in pool.h.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SHMPOOL__DEFAULT_START_MS 30000
#define SHMPOOL__DEFAULT_SHUTDOWN_MS 5000

void shmpool_options_init(shmpool_options *opts) {
  if (opts != NULL)
    memset(opts, 0, sizeof *opts);
}

unsigned shmpool_workers(const shmpool *pool) {
  return pool != NULL ? pool->nworkers : 0u;
}

const char *shmpool_control_name(const shmpool *pool) {
  return pool != NULL ? shmpool_seg_name(pool->ctl) : NULL;
}

/* ---- create / destroy ---------------------------------------------------- */

/* Parent memory for a pool of this layout. */
static int shmpool__alloc(shmpool *pool) {
  const shmpool__ctl_params *p = &pool->l.p;
  uint32_t i;
  pool->nworkers = p->nworkers;
  pool->w = (shmpool__wslot *)calloc(pool->nworkers, sizeof *pool->w);
  pool->segs = (shmpool__segslot *)calloc(p->nsegtab, sizeof *pool->segs);
  pool->reply = (unsigned char *)malloc(p->max_reply + 1u);
  pool->requeue_slots =
      (unsigned char *)malloc((size_t)p->depth * pool->l.task_slot_size);
  pool->requeue_recs =
      (shmpool__inflight *)malloc(p->depth * sizeof *pool->requeue_recs);
  if (pool->w == NULL || pool->segs == NULL || pool->reply == NULL ||
      pool->requeue_slots == NULL || pool->requeue_recs == NULL)
    return SHMPOOL_ENOMEM;
  for (i = 0; i < pool->nworkers; i++) {
    pool->w[i].index = i;
    pool->w[i].inflight =
        (shmpool__inflight *)calloc(p->depth, sizeof *pool->w[i].inflight);
    if (pool->w[i].inflight == NULL)
      return SHMPOOL_ENOMEM;
  }
  return 0;
}

/* The control segment (header, initializer, empty queues) and the wake
 * channels. */
static int shmpool__control(shmpool *pool, const shmpool_options *opts) {
  const shmpool__ctl_params *p = &pool->l.p;
  char suffix[16];
  uint64_t pid;
  uint32_t i;
  int rc = shmpool__seg_create(&pool->ctl, NULL, (size_t)pool->l.total_size,
                               0, SHMPOOL__ATTR_CONTROL);
  if (rc != 0)
    return rc;
  pool->base = (unsigned char *)shmpool_seg_data(pool->ctl);
  pool->hdr = shmpool__ctl_header(pool->base);
  pool->segtab = shmpool__ctl_segtab(pool->base, &pool->l);
  pid = shmpool__plat_pid();
  shmpool__ctl_init(pool->base, &pool->l, pid, shmpool__plat_proc_start(pid));
  if (p->init_name_len != 0) {
    unsigned char *init = pool->base + pool->l.init_off;
    memcpy(init, opts->init_task, p->init_name_len);
    init[p->init_name_len] = '\0';
    if (p->init_arg_len != 0)
      memcpy(init + p->init_name_len + 1, opts->init_arg, p->init_arg_len);
  }
  rc = shmpool__plat_waker_create(&pool->parent_waker,
                                  shmpool_seg_name(pool->ctl), "p");
  pool->chan.word = &pool->hdr->parent_futex;
  pool->chan.sleeping = &pool->hdr->parent_sleeping;
  pool->chan.waker = &pool->parent_waker;
  for (i = 0; rc == 0 && i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    ws->wb = shmpool__ctl_worker_at(pool->base, &pool->l, i);
    snprintf(suffix, sizeof suffix, "w%u", i);
    rc = shmpool__plat_waker_create(&ws->waker, shmpool_seg_name(pool->ctl),
                                    suffix);
    ws->chan.word = &ws->wb->worker_futex;
    ws->chan.sleeping = &ws->wb->worker_sleeping;
    ws->chan.waker = &ws->waker;
  }
  return rc;
}

/* Start every worker and wait until all are ready. */
static int shmpool__start(shmpool *pool) {
  uint64_t deadline = shmpool__deadline(pool->opts.start_timeout_ms);
  uint32_t i;
  int rc;
  for (i = 0; i < pool->nworkers; i++) {
    rc = shmpool__spawn(pool, &pool->w[i]);
    if (rc != 0)
      return rc;
  }
  while ((rc = shmpool__startup_status(pool)) == 1) {
    if (shmpool__plat_now_ns() >= deadline)
      return SHMPOOL_ESPAWN;
    (void)shmpool__idle(&pool->chan, shmpool__startup_news, pool, deadline);
  }
  return rc;
}

/* Stop every worker (politely, then not), release everything. */
static void shmpool__free(shmpool *pool) {
  uint32_t i;
  if (pool == NULL)
    return;
  shmpool__stop_workers(pool);
  shmpool__segtab_free(pool);
  shmpool__map_free(pool);
  shmpool__finished_free(pool);
  for (i = 0; pool->w != NULL && i < pool->nworkers; i++) {
    shmpool__plat_waker_close(&pool->w[i].waker);
    free(pool->w[i].inflight);
  }
  shmpool__plat_waker_close(&pool->parent_waker);
  (void)shmpool_seg_close(pool->ctl);
  free(pool->w);
  free(pool->segs);
  free(pool->reply);
  free(pool->requeue_slots);
  free(pool->requeue_recs);
  free(pool->exe);
  free(pool);
}

int shmpool_create(shmpool **out, const shmpool_options *opts) {
  shmpool__ctl_params params;
  shmpool *pool = NULL;
  int rc;

  if (out == NULL)
    return SHMPOOL_EINVAL;
  *out = NULL;
  if (opts == NULL)
    return SHMPOOL_EINVAL;
  rc = shmpool__check_options(opts, &params);
  if (rc != 0)
    return rc;
  pool = (shmpool *)calloc(1, sizeof *pool);
  if (pool == NULL)
    return SHMPOOL_ENOMEM;
  pool->opts = *opts;
  if (pool->opts.start_timeout_ms == 0)
    pool->opts.start_timeout_ms = SHMPOOL__DEFAULT_START_MS;
  if (pool->opts.shutdown_timeout_ms == 0)
    pool->opts.shutdown_timeout_ms = SHMPOOL__DEFAULT_SHUTDOWN_MS;
  pool->opts.worker_path = NULL; /* copied below; not the caller's string */
  pool->opts.init_task = NULL;
  pool->opts.init_arg = NULL;
  rc = shmpool__ctl_layout_compute(&params, &pool->l);
  if (rc == 0 && opts->worker_path != NULL) {
    size_t len = strlen(opts->worker_path);
    pool->exe = (char *)malloc(len + 1);
    rc = pool->exe == NULL ? SHMPOOL_ENOMEM : 0;
    if (rc == 0)
      memcpy(pool->exe, opts->worker_path, len + 1);
  } else if (rc == 0) {
    rc = shmpool__plat_self_exe(&pool->exe);
  }
  if (rc == 0)
    rc = shmpool__alloc(pool);
  if (rc == 0)
    rc = shmpool__control(pool, opts);
  if (rc == 0)
    rc = shmpool__start(pool);
  if (rc != 0) {
    /* Cleanup calls the OS too; the caller wants the error that failed. */
    int os_error = shmpool_last_os_error();
    shmpool__free(pool);
    shmpool__set_os_error(os_error);
    return rc;
  }
  pool->last_health_ns = shmpool__plat_now_ns();
  *out = pool;
  return 0;
}

int shmpool_destroy(shmpool *pool) {
  shmpool__free(pool);
  return 0;
}

/* ---- submit / wait --------------------------------------------------- */

int shmpool_submit_timeout(shmpool *pool, const char *task, const void *arg,
                           size_t arg_len, shmpool_seg *const *segs,
                           size_t nsegs, uint64_t *id, int timeout_ms) {
  shmpool__inflight rec;
  shmpool__msg msg;
  uint64_t deadline = 0;
  int rc, w, timed_out = 0;

  if (id != NULL)
    *id = 0;
  if (pool == NULL || (arg == NULL && arg_len != 0))
    return SHMPOOL_EINVAL;
  memset(&msg, 0, sizeof msg);
  rc = shmpool__check_task(pool, task, segs, nsegs, &msg.name_len);
  if (rc != 0)
    return rc;
  if (arg_len > pool->l.p.max_arg)
    return SHMPOOL_EMSGSIZE;
  shmpool__segtab_release_closed(pool);
  shmpool__maybe_check_workers(pool);

  memset(&rec, 0, sizeof rec);
  for (;;) {
    w = shmpool__ring_pick(pool, pool->l.p.depth);
    if (w >= 0 && shmpool__segtab_hold(pool, segs, nsegs, rec.refs) == 0)
      break;
    /* No room: make some by moving finished results to parent memory. */
    if (shmpool__drain(pool))
      continue;
    if (!shmpool__any_worker_left(pool))
      return SHMPOOL_EWORKER;
    if (timed_out)
      return SHMPOOL_EAGAIN;
    if (deadline == 0)
      deadline = shmpool__deadline(timeout_ms);
    timed_out = shmpool__await(pool, deadline) == SHMPOOL_ETIMEDOUT;
    /* Even a caller that never blocks must see a dead worker's queue
     * freed (and its tasks completed): look at the workers before giving
     * up, then try once more. */
    shmpool__maybe_check_workers(pool);
  }
  rec.nrefs = (uint32_t)nsegs;
  rec.done = shmpool__task_done;
  msg.kind = SHMPOOL__TASK_ONE;
  msg.task = task;
  msg.arg = arg;
  msg.arg_len = arg_len;
  msg.nsegs = (uint32_t)nsegs;
  pool->next_id++;
  shmpool__ring_send(pool, &pool->w[w], &msg, pool->next_id, &rec);
  pool->tasks_out++;
  if (id != NULL)
    *id = pool->next_id;
  return 0;
}

int shmpool_submit(shmpool *pool, const char *task, const void *arg,
                   size_t arg_len, shmpool_seg *const *segs, size_t nsegs,
                   uint64_t *id) {
  return shmpool_submit_timeout(pool, task, arg, arg_len, segs, nsegs, id, -1);
}

int shmpool_wait(shmpool *pool, shmpool_result *res, int timeout_ms) {
  uint64_t deadline = 0;
  int timed_out = 0;
  if (pool == NULL || res == NULL)
    return SHMPOOL_EINVAL;
  memset(res, 0, sizeof *res);
  shmpool__segtab_release_closed(pool);
  for (;;) {
    if (shmpool__finished_pop(pool, res) == 0)
      return 0;
    if (pool->tasks_out == 0)
      return SHMPOOL_EIDLE;
    if (shmpool__drain(pool))
      continue;
    if (timed_out)
      return SHMPOOL_ETIMEDOUT;
    if (deadline == 0)
      deadline = shmpool__deadline(timeout_ms);
    timed_out = shmpool__await(pool, deadline) == SHMPOOL_ETIMEDOUT;
    /* Also for wait(0) in a polling loop: a worker that died completes
     * its tasks with EWORKER, which this call may then return. */
    shmpool__maybe_check_workers(pool);
  }
}
