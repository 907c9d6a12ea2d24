/* shmpool_map: run a task on n elements across the workers, in chunks.
 *
 * The elements' arguments, replies and statuses live in a scratch segment
 * that the pool creates (and reuses between maps); a chunk is one message
 * naming a range of elements. A chunk completes through its in-flight
 * record's handler, whose context (the map's state) lives on the heap, so
 * nothing in the pool points into a caller's stack frame.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

/* Chunks per worker, and chunks queued per worker at once. */
#define SHMPOOL__MAP_CHUNKS_PER_WORKER 8u
#define SHMPOOL__MAP_QUEUED 2u
/* A scratch segment bigger than this is not kept between maps. */
#define SHMPOOL__SCRATCH_KEEP (64u << 20)

/* One map in progress. */
typedef struct shmpool__map_run {
  unsigned char *data; /* the scratch segment's data */
  uint64_t status_off;
  uint32_t chunks_out;
} shmpool__map_run;

/* A chunk completed (or never will): elements it did not run get its
 * status. */
static void shmpool__chunk_done(shmpool *pool, const shmpool__completion *c) {
  shmpool__map_run *m = (shmpool__map_run *)c->rec.ctx;
  uint64_t i;
  (void)pool;
  if (c->status != 0) {
    for (i = c->rec.start; i < c->rec.start + c->rec.count; i++) {
      unsigned char *p = m->data + m->status_off + 4 * i;
      int32_t st;
      memcpy(&st, p, sizeof st);
      if (st == SHMPOOL__MAP_NOT_RUN) {
        st = (int32_t)c->status;
        memcpy(p, &st, sizeof st);
      }
    }
  }
  m->chunks_out--;
}

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

/* A scratch segment of at least `need` bytes, reused between maps. */
static int shmpool__scratch(shmpool *pool, uint64_t need) {
  if (pool->scratch != NULL && shmpool_seg_size(pool->scratch) >= need)
    return 0;
  shmpool__map_free(pool); /* released by the table once idle */
  if (need > SIZE_MAX)
    return SHMPOOL_ENOMEM;
  return shmpool_seg_create(&pool->scratch, NULL, (size_t)need, 0);
}

void shmpool__map_free(shmpool *pool) {
  if (pool->scratch != NULL)
    (void)shmpool_seg_close(pool->scratch);
  pool->scratch = NULL;
}

/* Send the chunk of `count` elements from `start` to worker w. */
static int shmpool__send_chunk(shmpool *pool, int w, shmpool__map_run *m,
                               const shmpool__msg *msg,
                               shmpool__map_chunk *mc,
                               shmpool_seg *const *all, uint32_t nsegs) {
  shmpool__inflight rec;
  int rc;
  memset(&rec, 0, sizeof rec);
  rc = shmpool__segtab_hold(pool, all, nsegs + 1u, rec.refs);
  if (rc != 0)
    return rc;
  rec.nrefs = nsegs + 1u; /* the scratch segment is held last */
  rec.done = shmpool__chunk_done;
  rec.ctx = m;
  rec.start = mc->start;
  rec.count = mc->count;
  mc->scratch = shmpool__segtab_ref_of(pool, rec.refs[nsegs]);
  shmpool__ring_send(pool, &pool->w[w], msg, 0, &rec);
  m->chunks_out++;
  return 0;
}

/* Run every chunk and wait for all of them. */
static void shmpool__map_run_all(shmpool *pool, shmpool__map_run *m,
                                 const shmpool__msg *msg,
                                 shmpool__map_chunk *mc, uint64_t n,
                                 shmpool_seg *const *all, uint32_t nsegs) {
  uint64_t chunk = n / ((uint64_t)pool->nworkers *
                        SHMPOOL__MAP_CHUNKS_PER_WORKER),
           next = 0, i;
  if (chunk == 0)
    chunk = 1;
  while (next < n || m->chunks_out != 0) {
    int progressed = 0, w;
    while (next < n && (w = shmpool__ring_pick(pool, SHMPOOL__MAP_QUEUED)) >= 0) {
      mc->start = next;
      mc->count = n - next < chunk ? n - next : chunk;
      if (shmpool__send_chunk(pool, w, m, msg, mc, all, nsegs) != 0)
        break;
      next += mc->count;
      progressed = 1;
    }
    progressed |= shmpool__drain(pool);
    if (progressed)
      continue;
    if (!shmpool__any_worker_left(pool) && m->chunks_out == 0) {
      /* Nobody is left to run the rest. */
      for (i = next; i < n; i++) {
        int32_t st = SHMPOOL_EWORKER;
        memcpy(m->data + m->status_off + 4 * i, &st, sizeof st);
      }
      break;
    }
    (void)shmpool__await(pool, UINT64_MAX);
    shmpool__maybe_check_workers(pool);
  }
}

int shmpool_map(shmpool *pool, const char *task, const void *args,
                size_t arg_size, size_t n, shmpool_seg *const *segs,
                size_t nsegs, void *results, size_t result_size,
                int *statuses) {
  shmpool_seg *all[SHMPOOL_TASK_SEGS_MAX + 1];
  uint64_t total, i;
  shmpool__map_run *m;
  shmpool__map_chunk mc;
  shmpool__msg msg;
  size_t name_len;
  int rc, first_failure = 0;

  if (pool == NULL || (args == NULL && arg_size != 0 && n != 0) ||
      (results == NULL && result_size != 0 && n != 0))
    return SHMPOOL_EINVAL;
  rc = shmpool__check_task(pool, task, segs, nsegs, &name_len);
  if (rc != 0 || n == 0)
    return rc;
  if (pool->in_map)
    return SHMPOOL_EBUSY; /* one map at a time */
  memset(&mc, 0, sizeof mc);
  rc = shmpool__map_layout(n, arg_size, result_size, &mc, &total);
  if (rc != 0)
    return rc;
  m = (shmpool__map_run *)calloc(1, sizeof *m);
  if (m == NULL)
    return SHMPOOL_ENOMEM;
  shmpool__segtab_release_closed(pool);
  rc = shmpool__scratch(pool, total);
  if (rc != 0) {
    free(m);
    return rc;
  }

  /* Fill the scratch segment: arguments, and "not run" statuses. */
  m->data = (unsigned char *)shmpool_seg_data(pool->scratch);
  m->status_off = mc.status_off;
  if (arg_size != 0)
    memcpy(m->data, args, n * arg_size);
  for (i = 0; i < n; i++) {
    int32_t st = SHMPOOL__MAP_NOT_RUN;
    memcpy(m->data + m->status_off + 4 * i, &st, sizeof st);
  }
  if (nsegs != 0)
    memcpy(all, segs, nsegs * sizeof *all);
  all[nsegs] = pool->scratch;
  memset(&msg, 0, sizeof msg);
  msg.kind = SHMPOOL__TASK_MAP_CHUNK;
  msg.task = task;
  msg.name_len = name_len;
  msg.arg = &mc;
  msg.arg_len = sizeof mc;
  msg.nsegs = (uint32_t)nsegs;

  pool->in_map = 1;
  shmpool__map_run_all(pool, m, &msg, &mc, n, all, (uint32_t)nsegs);
  pool->in_map = 0;

  if (result_size != 0)
    memcpy(results, m->data + mc.results_off, n * result_size);
  for (i = 0; i < n; i++) {
    int32_t st;
    memcpy(&st, m->data + m->status_off + 4 * i, sizeof st);
    if (st == SHMPOOL__MAP_NOT_RUN)
      st = SHMPOOL_EWORKER;
    if (statuses != NULL)
      statuses[i] = st;
    if (st != 0 && first_failure == 0)
      first_failure = st;
  }
  free(m);
  if (shmpool_seg_size(pool->scratch) > SHMPOOL__SCRATCH_KEEP) {
    shmpool__map_free(pool);
    shmpool__segtab_release_closed(pool);
  }
  return first_failure;
}
