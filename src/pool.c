/* The public entry points of a pool's parent side: create, destroy,
 * submit, wait, cancel. Each takes the pool's lock (shmpool__enter) and
 * leaves the work to the layers described in pool.h.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SHMPOOL__DEFAULT_START_MS 30000
#define SHMPOOL__DEFAULT_SHUTDOWN_MS 5000

unsigned shmpool_workers(const shmpool *pool) {
  return pool != NULL ? pool->nworkers : 0u;
}

const char *shmpool_control_name(const shmpool *pool) {
  return pool != NULL ? shmpool_seg_name(pool->ctl) : NULL;
}

/* ---- create / destroy ---------------------------------------------------- */

static char *shmpool__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

/* The executable and arguments workers are started with. */
static int shmpool__worker_command(shmpool *pool, const shmpool_options *o) {
  size_t n = 0, i;
  if (o->worker_path != NULL) {
    pool->exe = shmpool__strdup(o->worker_path);
    if (pool->exe == NULL)
      return SHMPOOL_ENOMEM;
  } else {
    int rc = shmpool__plat_self_exe(&pool->exe);
    if (rc != 0)
      return rc;
  }
  if (o->worker_args == NULL)
    return 0;
  while (o->worker_args[n] != NULL)
    n++;
  pool->worker_args = (char **)calloc(n + 1, sizeof *pool->worker_args);
  if (pool->worker_args == NULL)
    return SHMPOOL_ENOMEM;
  for (i = 0; i < n; i++)
    if ((pool->worker_args[i] = shmpool__strdup(o->worker_args[i])) == NULL)
      return SHMPOOL_ENOMEM;
  return 0;
}

/* Parent memory for a pool of this layout. */
static int shmpool__alloc(shmpool *pool) {
  const shmpool__ctl_params *p = &pool->l.p;
  uint32_t i;
  pool->nworkers = p->nworkers;
  pool->w = (shmpool__wslot *)calloc(pool->nworkers, sizeof *pool->w);
  pool->watch = (uint32_t *)calloc(pool->nworkers, sizeof *pool->watch);
  pool->segs = (shmpool__segslot *)calloc(p->nsegtab, sizeof *pool->segs);
  pool->requeue_slots =
      (unsigned char *)malloc((size_t)p->depth * pool->l.task_slot_size);
  pool->requeue_recs =
      (shmpool__inflight *)malloc(p->depth * sizeof *pool->requeue_recs);
  if (pool->w == NULL || pool->watch == NULL || pool->segs == NULL ||
      pool->requeue_slots == NULL || pool->requeue_recs == NULL)
    return SHMPOOL_ENOMEM;
  for (i = 0; i < pool->nworkers; i++) {
    pool->w[i].index = i;
    pool->w[i].inflight =
        (shmpool__inflight *)calloc(p->depth, sizeof *pool->w[i].inflight);
    if (pool->w[i].inflight == NULL)
      return SHMPOOL_ENOMEM;
  }
  return shmpool__plat_monitor_create(&pool->mon);
}

/* The control segment (header, initializer, empty queues) and the wake
 * channels. */
static int shmpool__control(shmpool *pool, const shmpool_options *opts) {
  const shmpool__ctl_params *p = &pool->l.p;
  char suffix[16];
  uint64_t pid;
  uint32_t i;
  int rc = shmpool__seg_create(&pool->ctl, NULL, (size_t)pool->l.total_size, 0,
                               SHMPOOL__ATTR_CONTROL);
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
    if (shmpool__plat_now_ns() >= deadline) {
      shmpool__log(pool, SHMPOOL_LOG_ERROR, "workers not ready after %d ms",
                   pool->opts.start_timeout_ms);
      return SHMPOOL_ESPAWN;
    }
    (void)shmpool__idle(&pool->chan, shmpool__startup_news, pool, deadline);
  }
  return rc;
}

/* Free parent memory only. */
static void shmpool__free_memory(shmpool *pool) {
  uint32_t i;
  char **a;
  for (i = 0; pool->w != NULL && i < pool->nworkers; i++)
    free(pool->w[i].inflight);
  for (a = pool->worker_args; a != NULL && *a != NULL; a++)
    free(*a);
  shmpool__plat_monitor_destroy(pool->mon);
  shmpool__affinity_free(pool);
  free(pool->worker_args);
  free(pool->w);
  free(pool->watch);
  free(pool->segs);
  free(pool->requeue_slots);
  free(pool->requeue_recs);
  free(pool->exe);
  free(pool);
}

/* Stop every worker (politely, then not), release everything. */
static void shmpool__free(shmpool *pool) {
  uint32_t i;
  if (pool == NULL)
    return;
  shmpool__stop_workers(pool);
  shmpool__jobs_free(pool);
  shmpool__segtab_free(pool);
  shmpool__tasks_free(pool);
  for (i = 0; pool->w != NULL && i < pool->nworkers; i++)
    shmpool__plat_waker_close(&pool->w[i].waker);
  shmpool__plat_waker_close(&pool->parent_waker);
  (void)shmpool_seg_close(pool->ctl);
  shmpool__free_memory(pool);
}

int shmpool_create(shmpool **out, const shmpool_options *user) {
  shmpool_options opts;
  shmpool__ctl_params params;
  shmpool *pool = NULL;
  int rc;

  if (out == NULL)
    return SHMPOOL_EINVAL;
  *out = NULL;
  if (user == NULL)
    return SHMPOOL_EINVAL;
  shmpool_options_init(&opts);
  rc = shmpool__copy_in(&opts, sizeof opts, user, user->struct_size);
  if (rc != 0)
    return rc;
  /* A worker whose main() forgot shmpool_is_worker() would start workers
   * of its own, and they theirs: refuse before anything starts. */
  if (shmpool__plat_env_is_set(SHMPOOL__WORKER_ENV))
    return SHMPOOL_EWORKERMAIN;
  rc = shmpool__check_options(&opts, &params);
  if (rc != 0)
    return rc;
  pool = (shmpool *)calloc(1, sizeof *pool);
  if (pool == NULL)
    return SHMPOOL_ENOMEM;
  pool->opts = opts;
  if (pool->opts.start_timeout_ms == 0)
    pool->opts.start_timeout_ms = SHMPOOL__DEFAULT_START_MS;
  if (pool->opts.shutdown_timeout_ms == 0)
    pool->opts.shutdown_timeout_ms = SHMPOOL__DEFAULT_SHUTDOWN_MS;
  /* Copied below, or used only during create: not the caller's memory. */
  pool->opts.worker_path = NULL;
  pool->opts.worker_args = NULL;
  pool->opts.init_task = NULL;
  pool->opts.init_arg = NULL;
  pool->fork_gen = shmpool__plat_fork_generation();
  pool->jobs_pump = shmpool__jobs_pump;
  pool->jobs_maintain = shmpool__jobs_maintain;
  rc = shmpool__ctl_layout_compute(&params, &pool->l);
  if (rc == 0)
    rc = shmpool__worker_command(pool, &opts);
  if (rc == 0)
    rc = shmpool__alloc(pool);
  if (rc == 0)
    rc = shmpool__control(pool, &opts);
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
  if (pool == NULL)
    return 0;
  if (shmpool__plat_fork_generation() != pool->fork_gen) {
    /* A forked child's copy: the workers, the control segment and the
     * segment references are the parent's. Unmap, free, touch nothing. */
    shmpool__seg_forget(pool->ctl);
    shmpool__free_memory(pool);
    return 0;
  }
  shmpool__free(pool);
  return 0;
}

/* ---- submit -------------------------------------------------------------- */

/* The worker for the next task: the affinity key's worker if it has room,
 * else the least busy one; -1 if every queue is full. */
static int shmpool__pick(const shmpool *pool, uint64_t affinity) {
  if (affinity != 0) {
    uint32_t w = (uint32_t)(affinity % pool->nworkers);
    if (shmpool__ring_room(pool, w, pool->l.p.depth))
      return (int)w;
  }
  return shmpool__ring_pick(pool, pool->l.p.depth);
}

/* Submit with the lock held; rec is the task's fresh record. */
static int shmpool__submit_locked(shmpool *pool, shmpool__task_rec *rec,
                                  const shmpool__msg *msg,
                                  shmpool_seg *const *segs,
                                  const shmpool_submit_options *o,
                                  uint64_t *id) {
  uint64_t deadline = shmpool__deadline(o->timeout_ms);
  shmpool__inflight r;
  int w, timed_out = 0;
  memset(&r, 0, sizeof r);
  shmpool__segtab_release_closed(pool);
  shmpool__maintain(pool);
  for (;;) {
    w = shmpool__pick(pool, o->affinity);
    if (w >= 0 && shmpool__segtab_hold(pool, segs, msg->nsegs, r.refs) == 0)
      break;
    /* No room: make some by moving finished results to parent memory. */
    if (shmpool__drain(pool))
      continue;
    if (!shmpool__any_worker_left(pool))
      return SHMPOOL_EWORKER;
    if (timed_out)
      return SHMPOOL_EAGAIN;
    timed_out = shmpool__wait_progress(pool, deadline) == SHMPOOL_ETIMEDOUT;
  }
  rec->id = ++pool->next_id;
  rec->deadline_ns = o->deadline_ms > 0 ? shmpool__deadline(o->deadline_ms) : 0;
  r.nrefs = msg->nsegs;
  r.done = shmpool__task_done;
  r.ctx = rec;
  shmpool__ring_send(pool, &pool->w[w], msg, rec->id, &r);
  shmpool__task_enter(pool, rec);
  if (o->for_wait_id) {
    rec->for_wait_id = 1;
    shmpool__task_claim(pool, rec, 1);
  }
  *id = rec->id;
  return 0;
}

/* Submit with options already checked. */
static int shmpool__submit(shmpool *pool, const char *task, const void *arg,
                           size_t arg_len, shmpool_seg *const *segs,
                           size_t nsegs, const shmpool_submit_options *o,
                           uint64_t *id) {
  shmpool__task_rec *rec;
  shmpool__msg msg;
  uint64_t new_id = 0;
  int rc;

  if (id != NULL)
    *id = 0;
  if (arg == NULL && arg_len != 0)
    return SHMPOOL_EINVAL;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  memset(&msg, 0, sizeof msg);
  rc = shmpool__check_task(pool, task, segs, nsegs, &msg.name_len);
  if (rc == 0 && arg_len > pool->l.p.max_arg)
    rc = SHMPOOL_EMSGSIZE;
  /* The record comes first, so the result always has a place to go. */
  rec = rc == 0 ? shmpool__task_new(pool) : NULL;
  if (rc == 0 && rec == NULL)
    rc = SHMPOOL_ENOMEM;
  if (rc == 0) {
    msg.kind = SHMPOOL__TASK_ONE;
    msg.task = task;
    msg.arg = arg;
    msg.arg_len = arg_len;
    msg.nsegs = (uint32_t)nsegs;
    rc = shmpool__submit_locked(pool, rec, &msg, segs, o, &new_id);
    if (rc != 0)
      shmpool__task_discard(pool, rec);
  }
  shmpool__leave(pool);
  if (rc == 0 && id != NULL)
    *id = new_id;
  return rc;
}

int shmpool_submit_ex(shmpool *pool, const char *task, const void *arg,
                      size_t arg_len, shmpool_seg *const *segs, size_t nsegs,
                      const shmpool_submit_options *opts, uint64_t *id) {
  shmpool_submit_options o;
  int rc;
  shmpool_submit_options_init(&o);
  if (opts != NULL &&
      (rc = shmpool__copy_in(&o, sizeof o, opts, opts->struct_size)) != 0) {
    if (id != NULL)
      *id = 0;
    return rc;
  }
  return shmpool__submit(pool, task, arg, arg_len, segs, nsegs, &o, id);
}

/* The defaults of shmpool_submit_options, without a call to set them. */
static const shmpool_submit_options shmpool__submit_defaults = {
    sizeof(shmpool_submit_options), -1, 0, 0, 0};

int shmpool_submit_timeout(shmpool *pool, const char *task, const void *arg,
                           size_t arg_len, shmpool_seg *const *segs,
                           size_t nsegs, uint64_t *id, int timeout_ms) {
  shmpool_submit_options o = shmpool__submit_defaults;
  o.timeout_ms = timeout_ms;
  return shmpool__submit(pool, task, arg, arg_len, segs, nsegs, &o, id);
}

int shmpool_submit(shmpool *pool, const char *task, const void *arg,
                   size_t arg_len, shmpool_seg *const *segs, size_t nsegs,
                   uint64_t *id) {
  return shmpool__submit(pool, task, arg, arg_len, segs, nsegs,
                         &shmpool__submit_defaults, id);
}

/* ---- wait ---------------------------------------------------------------- */

/* Copy a result out to a caller's struct of res->struct_size bytes: the
 * fields it has; fields of a newer header that this library does not know
 * are cleared. */
static void shmpool__result_out(shmpool_result *res, const shmpool_result *r) {
  size_t keep = res->struct_size;
  size_t size = keep < sizeof *r ? keep : sizeof *r;
  memcpy(res, r, size);
  if (keep > sizeof *r)
    memset((unsigned char *)res + sizeof *r, 0, keep - sizeof *r);
  res->struct_size = keep;
}

/* A result struct the caller initialised: at least the fields of the
 * first version. */
static int shmpool__result_ok(const shmpool_result *res) {
  return res != NULL &&
         res->struct_size >=
             offsetof(shmpool_result, term_signal) + sizeof res->term_signal &&
         res->struct_size <= 65536;
}

/* Wait for rec (claimed == 1) or, with rec NULL, for any unclaimed task;
 * hand it out through slot d, which is marked waiting meanwhile. */
static int shmpool__wait_slot(shmpool *pool, shmpool__task_rec *rec,
                              shmpool_result *r, int timeout_ms,
                              shmpool__delivery *d) {
  uint64_t deadline = shmpool__deadline(timeout_ms);
  int timed_out = 0;
  for (;;) {
    shmpool__task_rec *got =
        rec != NULL ? (rec->state == SHMPOOL__T_FINISHED ? rec : NULL)
                    : shmpool__task_next_finished(pool);
    if (got != NULL) {
      shmpool__task_deliver(pool, got, r, d);
      return 0;
    }
    if (rec == NULL && pool->unclaimed == 0)
      return SHMPOOL_EIDLE;
    if (shmpool__drain(pool))
      continue;
    if (timed_out)
      return SHMPOOL_ETIMEDOUT;
    /* Also for wait(0) in a polling loop: a look at the workers completes
     * a dead worker's tasks, which this call may then return. */
    timed_out = shmpool__wait_progress(pool, deadline) == SHMPOOL_ETIMEDOUT;
  }
}

static int shmpool__wait_locked(shmpool *pool, shmpool__task_rec *rec,
                                shmpool_result *r, int timeout_ms) {
  shmpool__delivery *d = shmpool__my_delivery(pool);
  int rc;
  if (d == NULL)
    return SHMPOOL_ENOMEM;
  /* What this thread was handed last is no longer in use. */
  shmpool__task_release(pool, d);
  shmpool__segtab_release_closed(pool);
  d->waiting = 1; /* the lock may be let go while it waits */
  rc = shmpool__wait_slot(pool, rec, r, timeout_ms, d);
  d->waiting = 0;
  return rc;
}

int shmpool_wait(shmpool *pool, shmpool_result *res, int timeout_ms) {
  shmpool_result r;
  int rc;
  if (!shmpool__result_ok(res))
    return SHMPOOL_EINVAL;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  memset(&r, 0, sizeof r);
  rc = shmpool__wait_locked(pool, NULL, &r, timeout_ms);
  shmpool__leave(pool);
  shmpool__result_out(res, &r);
  return rc;
}

int shmpool_wait_id(shmpool *pool, uint64_t id, shmpool_result *res,
                    int timeout_ms) {
  shmpool__task_rec *rec;
  shmpool_result r;
  int rc;
  if (!shmpool__result_ok(res))
    return SHMPOOL_EINVAL;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  memset(&r, 0, sizeof r);
  rec = shmpool__task_find(pool, id);
  if (rec == NULL)
    rc = SHMPOOL_ENOENT;
  else if (rec->waited)
    rc = SHMPOOL_EBUSY;
  if (rc == 0) {
    rec->waited = 1;
    shmpool__task_claim(pool, rec, 1);
    rc = shmpool__wait_locked(pool, rec, &r, timeout_ms);
    if (rc != 0) { /* still in flight: anybody may have it now */
      rec->waited = 0;
      if (!rec->for_wait_id)
        shmpool__task_claim(pool, rec, 0);
    }
  }
  shmpool__leave(pool);
  shmpool__result_out(res, &r);
  return rc;
}

/* ---- cancel -------------------------------------------------------------- */

int shmpool_cancel(shmpool *pool, uint64_t id) {
  shmpool__task_rec *rec;
  int rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  (void)shmpool__drain(pool); /* a task that just finished is not canceled */
  rec = shmpool__task_find(pool, id);
  if (rec == NULL || rec->state != SHMPOOL__T_FLIGHT || rec->end_status != 0)
    rc = SHMPOOL_ENOENT;
  else if (shmpool__cancel_task(pool, rec, SHMPOOL_ECANCELED) < 0)
    rc = SHMPOOL_ENOENT; /* it had just finished */
  shmpool__leave(pool);
  return rc;
}

int shmpool_cancel_all(shmpool *pool) {
  int rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  (void)shmpool__drain(pool); /* what just finished is not canceled */
  rc = shmpool__cancel_tasks(pool, 0, SHMPOOL_ECANCELED);
  rc += shmpool__jobs_cancel_all(pool);
  shmpool__leave(pool);
  return rc;
}
