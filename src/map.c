/* shmpool_map and map jobs: run a task on n elements across the workers,
 * in chunks of consecutive elements.
 *
 * A job's elements (arguments, replies, statuses) live in a scratch
 * segment that the pool creates and reuses between maps; a chunk is one
 * message naming a range of elements. A chunk completes through its
 * in-flight record's handler, whose context is the job, on the heap: the
 * replies and statuses of a completed chunk are copied to the caller's
 * arrays at once, so a caller can watch a map and use its results early.
 * Which worker gets which chunk is sched.c's business.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "pool.h"

/* Chunks per worker by default, and chunks of one job queued per worker at
 * once (one running, one ready behind it). */
#define SHMPOOL__MAP_CHUNKS_PER_WORKER 8u
#define SHMPOOL__MAP_QUEUED 2u
/* A scratch segment bigger than this is not kept between maps. */
#define SHMPOOL__SCRATCH_KEEP (64u << 20)

struct shmpool_map_job {
  shmpool *pool;
  shmpool_map_job *prev, *next; /* the pool's running jobs */
  char task[SHMPOOL_TASK_NAME_MAX + 1];
  size_t name_len;
  shmpool_seg *segs[SHMPOOL_TASK_SEGS_MAX + 1]; /* referenced; scratch last */
  uint32_t nsegs;                               /* named by the task */
  unsigned char *data;                          /* the scratch's data */
  shmpool__map_chunk mc;                        /* sizes and offsets */
  uint64_t n, chunk, nchunks;
  shmpool__sched sched;
  uint64_t deadline_ns; /* 0: none */
  uint32_t *out;        /* chunks in flight, per worker */
  uint64_t chunks_left; /* not sent yet */
  uint64_t chunks_out;  /* sent, not completed */
  uint64_t elems_done;
  int end_status;         /* nonzero: canceled (ECANCELED) or timed out */
  unsigned char *results; /* the caller's */
  size_t result_size;
  int *statuses;    /* the caller's, or NULL */
  int streaming;    /* keep completed ranges for shmpool_map_next */
  uint64_t *ranges; /* (first, count) pairs, a ring */
  size_t rhead, rlen, rcap;
  uint64_t reported;
};

/* ---- layout and scratch ------------------------------------------------ */

static uint64_t shmpool__align64(uint64_t x) {
  return (x + 63u) & ~(uint64_t)63u;
}

/* Where a map's arguments, replies and statuses go in the scratch
 * segment, each 64-byte aligned; ENOMEM if that cannot fit in this
 * process's address space. Each part is at most a quarter of it, so the
 * sums below cannot overflow, with a 32-bit size_t or a 64-bit one. */
static int shmpool__map_layout(uint64_t n, uint64_t arg_size,
                               uint64_t result_size, shmpool__map_chunk *mc,
                               uint64_t *total) {
  const uint64_t cap = (uint64_t)SIZE_MAX / 4;
  if ((arg_size != 0 && n > cap / arg_size) ||
      (result_size != 0 && n > cap / result_size) || n > cap / 4)
    return SHMPOOL_ENOMEM;
  mc->arg_size = arg_size;
  mc->result_size = result_size;
  mc->args_off = 0;
  mc->results_off = shmpool__align64(n * arg_size);
  mc->status_off = mc->results_off + shmpool__align64(n * result_size);
  *total = mc->status_off + shmpool__align64(n * 4);
  return 0;
}

/* A scratch segment of at least `need` bytes: the pool's spare one if it
 * is big enough (workers then have it mapped already), else a new one. */
static int shmpool__scratch_get(shmpool *pool, uint64_t need,
                                shmpool_seg **out) {
  if (pool->spare_scratch != NULL &&
      shmpool_seg_size(pool->spare_scratch) >= need) {
    *out = pool->spare_scratch;
    pool->spare_scratch = NULL;
    return 0;
  }
  if (need > SIZE_MAX)
    return SHMPOOL_ENOMEM;
  return shmpool_seg_create(out, NULL, (size_t)need, 0);
}

/* Keep a scratch segment as the spare, or let it go: the segment table
 * releases it once no message names it. */
static void shmpool__scratch_put(shmpool *pool, shmpool_seg *scratch) {
  if (pool->spare_scratch == NULL &&
      shmpool_seg_size(scratch) <= SHMPOOL__SCRATCH_KEEP) {
    pool->spare_scratch = scratch;
    return;
  }
  (void)shmpool_seg_close(scratch);
  shmpool__segtab_release_closed(pool);
}

/* ---- completing chunks ------------------------------------------------- */

static int32_t shmpool__elem_status(const shmpool_map_job *job, uint64_t i) {
  int32_t st;
  memcpy(&st, job->data + job->mc.status_off + 4 * i, sizeof st);
  return st;
}

static void shmpool__set_elem_status(shmpool_map_job *job, uint64_t i,
                                     int32_t st) {
  memcpy(job->data + job->mc.status_off + 4 * i, &st, sizeof st);
}

/* Elements [first, first + count) are final: copy them out and count
 * them. */
static void shmpool__elems_done(shmpool_map_job *job, uint64_t first,
                                uint64_t count) {
  uint64_t i;
  if (job->result_size != 0)
    memcpy(job->results + first * job->result_size,
           job->data + job->mc.results_off + first * job->result_size,
           (size_t)count * job->result_size);
  if (job->statuses != NULL)
    for (i = first; i < first + count; i++)
      job->statuses[i] = shmpool__elem_status(job, i);
  job->elems_done += count;
  if (job->streaming) {
    if (job->rlen == job->rcap) {
      /* Cannot happen: rcap is the number of chunks plus the one range of
       * unsent elements a cancel reports. */
      return;
    }
    job->ranges[2 * ((job->rhead + job->rlen) % job->rcap)] = first;
    job->ranges[2 * ((job->rhead + job->rlen) % job->rcap) + 1] = count;
    job->rlen++;
  }
}

/* A chunk completed (or never will): elements it did not run get its
 * status, or the reason the job was stopped. */
static void shmpool__chunk_done(shmpool *pool, const shmpool__completion *c) {
  shmpool_map_job *job = (shmpool_map_job *)c->rec.ctx;
  int status = c->status;
  uint64_t i;
  (void)pool;
  if (job->end_status != 0 &&
      (status == SHMPOOL_EWORKER || status == SHMPOOL_ECANCELED))
    status = job->end_status;
  if (status == 0)
    status = SHMPOOL_EWORKER; /* returned without running them all */
  for (i = c->rec.start; i < c->rec.start + c->rec.count; i++)
    if (shmpool__elem_status(job, i) == SHMPOOL__MAP_NOT_RUN)
      shmpool__set_elem_status(job, i, (int32_t)status);
  job->out[c->worker]--;
  job->chunks_out--;
  shmpool__sched_ran(&job->sched, c->rec.start / job->chunk, c->worker);
  shmpool__elems_done(job, c->rec.start, c->rec.count);
}

/* ---- sending chunks ---------------------------------------------------- */

static int shmpool__send_chunk(shmpool_map_job *job, uint32_t w, uint64_t c) {
  shmpool *pool = job->pool;
  shmpool__inflight rec;
  shmpool__msg msg;
  shmpool__map_chunk mc = job->mc;
  int rc;
  memset(&rec, 0, sizeof rec);
  rc = shmpool__segtab_hold(pool, job->segs, job->nsegs + 1u, rec.refs);
  if (rc != 0)
    return rc;
  rec.nrefs = job->nsegs + 1u; /* the scratch segment is held last */
  rec.done = shmpool__chunk_done;
  rec.ctx = job;
  rec.start = c * job->chunk;
  rec.count = job->n - rec.start < job->chunk ? job->n - rec.start : job->chunk;
  mc.scratch = shmpool__segtab_ref_of(pool, rec.refs[job->nsegs]);
  mc.start = rec.start;
  mc.count = rec.count;
  memset(&msg, 0, sizeof msg);
  msg.kind = SHMPOOL__TASK_MAP_CHUNK;
  msg.task = job->task;
  msg.name_len = job->name_len;
  msg.arg = &mc;
  msg.arg_len = sizeof mc;
  msg.nsegs = job->nsegs;
  shmpool__ring_send(pool, &pool->w[w], &msg, 0, &rec);
  job->out[w]++;
  job->chunks_out++;
  job->chunks_left--;
  return 0;
}

/* Send job's chunks while workers have room for them. The schedule may
 * keep a chunk for its owner; an owner that cannot take messages (killed,
 * given up, being recycled) has its chunks taken by the others, so no
 * chunk waits for a worker that may never come back. */
static void shmpool__job_pump(shmpool_map_job *job) {
  shmpool *pool = job->pool;
  uint32_t w, v;
  for (w = 0; w < pool->nworkers && job->chunks_left != 0; w++) {
    for (v = w;;) {
      shmpool__sched_undo undo;
      uint64_t c;
      if (job->chunks_left == 0 || job->out[w] >= SHMPOOL__MAP_QUEUED ||
          !shmpool__ring_room(pool, w, pool->l.p.depth))
        break;
      c = shmpool__sched_next(&job->sched, w, &undo);
      /* Nothing for w by the schedule's rules: the next owner that cannot
       * take messages, if any, gives one up. */
      while (c == UINT64_MAX && ++v < w + pool->nworkers) {
        uint32_t o = v % pool->nworkers;
        if (!shmpool__ring_usable(pool, &pool->w[o]))
          c = shmpool__sched_steal_from(&job->sched, w, o, &undo);
      }
      if (c == UINT64_MAX)
        break;
      if (shmpool__send_chunk(job, w, c) != 0) {
        shmpool__sched_put_back(&job->sched, &undo);
        return; /* every segment table entry is in flight */
      }
      v = w; /* look at the owners again for the next chunk */
    }
  }
}

void shmpool__jobs_pump(shmpool *pool) {
  shmpool_map_job *job;
  for (job = pool->jobs; job != NULL; job = job->next)
    if (job->chunks_left != 0)
      shmpool__job_pump(job);
}

/* ---- stopping ---------------------------------------------------------- */

/* Stop job: unsent elements get `status` at once; queued chunks are
 * canceled in place; workers running its chunks are killed (their
 * elements get `status` when they are reaped). */
static void shmpool__job_stop(shmpool_map_job *job, int status) {
  shmpool *pool = job->pool;
  const uint32_t mask = pool->l.p.depth - 1;
  shmpool__sched_undo undo;
  uint64_t c, i;
  uint32_t w, k;
  if (job->end_status != 0)
    return;
  job->end_status = status;
  while (job->chunks_left != 0 &&
         (c = shmpool__sched_take_any(&job->sched, &undo)) != UINT64_MAX) {
    uint64_t first = c * job->chunk;
    uint64_t count = job->n - first < job->chunk ? job->n - first : job->chunk;
    for (i = first; i < first + count; i++)
      shmpool__set_elem_status(job, i, (int32_t)status);
    job->chunks_left--;
    shmpool__elems_done(job, first, count);
  }
  for (w = 0; w < pool->nworkers; w++) {
    shmpool__wslot *ws = &pool->w[w];
    for (k = ws->done; k != ws->tail; k++)
      if (ws->inflight[k & mask].ctx == job)
        (void)shmpool__cancel_msg(pool, ws, k);
  }
  shmpool__kick(pool);
}

void shmpool__jobs_maintain(shmpool *pool, uint64_t now) {
  shmpool_map_job *job;
  for (job = pool->jobs; job != NULL; job = job->next)
    if (job->deadline_ns != 0 && now >= job->deadline_ns)
      shmpool__job_stop(job, SHMPOOL_ETIMEDOUT);
}

int shmpool__jobs_cancel_all(shmpool *pool) {
  shmpool_map_job *job;
  int n = 0;
  for (job = pool->jobs; job != NULL; job = job->next)
    if (job->end_status == 0 && job->elems_done < job->n) {
      shmpool__job_stop(job, SHMPOOL_ECANCELED);
      n++;
    }
  return n;
}

/* ---- jobs -------------------------------------------------------------- */

static void shmpool__job_free(shmpool_map_job *job) {
  shmpool *pool = job->pool;
  uint32_t i;
  if (job->prev != NULL)
    job->prev->next = job->next;
  else if (pool->jobs == job)
    pool->jobs = job->next;
  if (job->next != NULL)
    job->next->prev = job->prev;
  for (i = 0; i < job->nsegs; i++)
    (void)shmpool__seg_unref(job->segs[i]);
  if (job->segs[job->nsegs] != NULL)
    shmpool__scratch_put(pool, job->segs[job->nsegs]);
  shmpool__sched_free(&job->sched);
  free(job->out);
  free(job->ranges);
  free(job);
}

void shmpool__jobs_free(shmpool *pool) {
  while (pool->jobs != NULL)
    shmpool__job_free(pool->jobs);
  if (pool->spare_scratch != NULL)
    (void)shmpool_seg_close(pool->spare_scratch);
  pool->spare_scratch = NULL;
}

/* The job's memory, options and scratch segment. */
static int shmpool__job_init(shmpool_map_job *job, const void *args,
                             size_t arg_size, size_t n, size_t result_size,
                             const shmpool_map_options *o) {
  shmpool *pool = job->pool;
  uint64_t total, i;
  int rc;
  if (o->schedule != SHMPOOL_SCHEDULE_STATIC &&
      o->schedule != SHMPOOL_SCHEDULE_DYNAMIC)
    return SHMPOOL_EINVAL;
  rc = shmpool__map_layout(n, arg_size, result_size, &job->mc, &total);
  if (rc != 0)
    return rc;
  job->n = n;
  job->chunk =
      o->chunk_size != 0
          ? o->chunk_size
          : n / ((uint64_t)pool->nworkers * SHMPOOL__MAP_CHUNKS_PER_WORKER);
  if (job->chunk == 0)
    job->chunk = 1;
  job->nchunks = (n + job->chunk - 1) / job->chunk;
  job->chunks_left = job->nchunks;
  job->deadline_ns = o->timeout_ms > 0 ? shmpool__deadline(o->timeout_ms) : 0;
  rc = shmpool__sched_init(&job->sched, pool, o->schedule, n, job->chunk,
                           job->nchunks);
  if (rc != 0)
    return rc;
  job->out = (uint32_t *)calloc(pool->nworkers, sizeof *job->out);
  if (job->streaming) {
    job->rcap = (size_t)job->nchunks + 1;
    job->ranges = (uint64_t *)malloc(job->rcap * 2 * sizeof *job->ranges);
  }
  if (job->out == NULL || (job->streaming && job->ranges == NULL))
    return SHMPOOL_ENOMEM;
  rc = shmpool__scratch_get(pool, total, &job->segs[job->nsegs]);
  if (rc != 0)
    return rc;
  /* Arguments, and "not run" statuses. */
  job->data = (unsigned char *)shmpool_seg_data(job->segs[job->nsegs]);
  if (arg_size != 0)
    memcpy(job->data, args, n * arg_size);
  for (i = 0; i < n; i++)
    shmpool__set_elem_status(job, i, SHMPOOL__MAP_NOT_RUN);
  return 0;
}

/* Whether every element is final. */
static int shmpool__job_complete(const shmpool_map_job *job) {
  return job->chunks_left == 0 && job->chunks_out == 0;
}

/* Start a job with the lock held. */
static int shmpool__job_start(shmpool *pool, shmpool_map_job **out,
                              const char *task, const void *args,
                              size_t arg_size, size_t n,
                              shmpool_seg *const *segs, size_t nsegs,
                              void *results, size_t result_size, int *statuses,
                              const shmpool_map_options *opts, int streaming) {
  shmpool_map_options o;
  shmpool_map_job *job;
  size_t name_len, i;
  int rc;
  shmpool_map_options_init(&o);
  if (opts != NULL &&
      (rc = shmpool__copy_in(&o, sizeof o, opts, opts->struct_size)) != 0)
    return rc;
  if ((args == NULL && arg_size != 0 && n != 0) ||
      (results == NULL && result_size != 0 && n != 0))
    return SHMPOOL_EINVAL;
  rc = shmpool__check_task(pool, task, segs, nsegs, &name_len);
  if (rc != 0)
    return rc;
  job = (shmpool_map_job *)calloc(1, sizeof *job);
  if (job == NULL)
    return SHMPOOL_ENOMEM;
  job->pool = pool;
  memcpy(job->task, task, name_len + 1);
  job->name_len = name_len;
  job->nsegs = (uint32_t)nsegs;
  for (i = 0; i < nsegs; i++) {
    shmpool__seg_ref(segs[i]);
    job->segs[i] = segs[i];
  }
  job->results = (unsigned char *)results;
  job->result_size = result_size;
  job->statuses = statuses;
  job->streaming = streaming;
  job->next = pool->jobs;
  if (pool->jobs != NULL)
    pool->jobs->prev = job;
  pool->jobs = job;
  rc = shmpool__job_init(job, args, arg_size, n, result_size, &o);
  if (rc != 0) {
    shmpool__job_free(job);
    return rc;
  }
  shmpool__segtab_release_closed(pool);
  shmpool__job_pump(job);
  *out = job;
  return 0;
}

/* Wait, with the lock held, until job is complete. */
static void shmpool__job_wait(shmpool_map_job *job) {
  shmpool *pool = job->pool;
  while (!shmpool__job_complete(job)) {
    shmpool__job_pump(job);
    if (shmpool__drain(pool))
      continue;
    if (job->chunks_out == 0 && !shmpool__any_worker_left(pool)) {
      shmpool__job_stop(job, SHMPOOL_EWORKER); /* nobody to run the rest */
      continue;
    }
    if (job->deadline_ns != 0 && shmpool__plat_now_ns() >= job->deadline_ns)
      shmpool__job_stop(job, SHMPOOL_ETIMEDOUT);
    (void)shmpool__wait_progress(
        pool, job->deadline_ns != 0 && job->end_status == 0 ? job->deadline_ns
                                                            : UINT64_MAX);
  }
}

/* A complete job ends: a schedule that ran to the end is remembered for
 * the next map of its shape. */
static void shmpool__job_end(shmpool_map_job *job) {
  if (job->end_status == 0)
    shmpool__sched_remember(job->pool, &job->sched);
  shmpool__job_free(job);
}

/* The result of a complete job: the first failing element's status. */
static int shmpool__job_result(const shmpool_map_job *job) {
  uint64_t i;
  for (i = 0; i < job->n; i++) {
    int32_t st = shmpool__elem_status(job, i);
    if (st != 0)
      return st;
  }
  return 0;
}

/* ---- the public calls -------------------------------------------------- */

int shmpool_map_start(shmpool *pool, shmpool_map_job **job, const char *task,
                      const void *args, size_t arg_size, size_t n,
                      shmpool_seg *const *segs, size_t nsegs, void *results,
                      size_t result_size, int *statuses,
                      const shmpool_map_options *opts) {
  int rc;
  if (job == NULL)
    return SHMPOOL_EINVAL;
  *job = NULL;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  rc = shmpool__job_start(pool, job, task, args, arg_size, n, segs, nsegs,
                          results, result_size, statuses, opts, 1);
  shmpool__leave(pool);
  return rc;
}

int shmpool_map_ex(shmpool *pool, const char *task, const void *args,
                   size_t arg_size, size_t n, shmpool_seg *const *segs,
                   size_t nsegs, void *results, size_t result_size,
                   int *statuses, const shmpool_map_options *opts) {
  shmpool_map_job *job;
  int rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  rc = shmpool__job_start(pool, &job, task, args, arg_size, n, segs, nsegs,
                          results, result_size, statuses, opts, 0);
  if (rc == 0) {
    shmpool__job_wait(job);
    rc = shmpool__job_result(job);
    shmpool__job_end(job);
  }
  shmpool__leave(pool);
  return rc;
}

int shmpool_map(shmpool *pool, const char *task, const void *args,
                size_t arg_size, size_t n, shmpool_seg *const *segs,
                size_t nsegs, void *results, size_t result_size,
                int *statuses) {
  return shmpool_map_ex(pool, task, args, arg_size, n, segs, nsegs, results,
                        result_size, statuses, NULL);
}

int shmpool_map_next(shmpool_map_job *job, size_t *first, size_t *count,
                     int timeout_ms) {
  uint64_t deadline = shmpool__deadline(timeout_ms);
  shmpool *pool;
  int rc;
  if (first != NULL)
    *first = 0;
  if (count != NULL)
    *count = 0;
  if (job == NULL)
    return SHMPOOL_EINVAL;
  pool = job->pool;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  for (;;) {
    shmpool__job_pump(job);
    (void)shmpool__drain(pool);
    if (job->rlen != 0) {
      if (first != NULL)
        *first = (size_t)job->ranges[2 * job->rhead];
      if (count != NULL)
        *count = (size_t)job->ranges[2 * job->rhead + 1];
      job->reported += job->ranges[2 * job->rhead + 1];
      job->rhead = (job->rhead + 1) % job->rcap;
      job->rlen--;
      rc = 0;
      break;
    }
    if (job->reported >= job->n) {
      rc = SHMPOOL_EIDLE;
      break;
    }
    if (job->chunks_out == 0 && !shmpool__any_worker_left(pool))
      shmpool__job_stop(job, SHMPOOL_EWORKER);
    if (shmpool__wait_progress(pool, deadline) == SHMPOOL_ETIMEDOUT &&
        job->rlen == 0) {
      rc = SHMPOOL_ETIMEDOUT;
      break;
    }
  }
  shmpool__leave(pool);
  return rc;
}

void shmpool_map_progress(shmpool_map_job *job, size_t *done, size_t *total) {
  if (done != NULL)
    *done = 0;
  if (total != NULL)
    *total = 0;
  if (job == NULL || shmpool__enter(job->pool) != 0)
    return;
  shmpool__job_pump(job);
  (void)shmpool__drain(job->pool);
  if (done != NULL)
    *done = (size_t)job->elems_done;
  if (total != NULL)
    *total = (size_t)job->n;
  shmpool__leave(job->pool);
}

int shmpool_map_cancel(shmpool_map_job *job) {
  int rc;
  if (job == NULL)
    return SHMPOOL_EINVAL;
  rc = shmpool__enter(job->pool);
  if (rc != 0)
    return rc;
  shmpool__job_stop(job, SHMPOOL_ECANCELED);
  shmpool__leave(job->pool);
  return 0;
}

int shmpool_map_finish(shmpool_map_job *job) {
  shmpool *pool;
  int rc;
  if (job == NULL)
    return 0;
  pool = job->pool;
  rc = shmpool__enter(pool);
  if (rc != 0)
    return rc;
  shmpool__job_wait(job);
  rc = shmpool__job_result(job);
  shmpool__job_end(job);
  shmpool__leave(pool);
  return rc;
}
