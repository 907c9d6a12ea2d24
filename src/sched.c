/* Which worker runs which chunk of a map.
 *
 * Static (the default). The first map of a shape (element count, chunk
 * size, worker count) gives each worker one contiguous range of chunks.
 * The pool then remembers which worker actually ran each chunk, and the
 * next map of the same shape gives every chunk to that worker again: a
 * worker touches the pages it touched last time, so its page tables are
 * built once and no two workers map the same pages (threads share one
 * page table; processes do not). A worker that runs out of its own chunks
 * takes the last chunk of the worker with the most left, so an uneven
 * workload stays balanced; the stolen chunk is then the thief's next time.
 *
 * Dynamic: the next chunk goes to whichever worker has room.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

/* Shapes remembered, and the most chunks a remembered shape may have. */
#define SHMPOOL__AFFINITY_SHAPES 8u
#define SHMPOOL__AFFINITY_MAX_CHUNKS 65536u

struct shmpool__affinity {
  uint64_t n, chunk;
  uint32_t nworkers;
  uint64_t last_use;
  uint16_t *owner; /* nchunks entries */
};

static shmpool__affinity *shmpool__affinity_find(shmpool *pool, uint64_t n,
                                                 uint64_t chunk) {
  uint32_t i;
  for (i = 0; i < pool->naffinity; i++) {
    shmpool__affinity *a = &pool->affinity[i];
    if (a->n == n && a->chunk == chunk && a->nworkers == pool->nworkers)
      return a;
  }
  return NULL;
}

int shmpool__sched_init(shmpool__sched *s, shmpool *pool, int schedule,
                        uint64_t n, uint64_t chunk, uint64_t nchunks) {
  const shmpool__affinity *a;
  uint32_t w, nw = pool->nworkers;
  uint64_t c, at = 0;
  memset(s, 0, sizeof *s);
  s->nchunks = nchunks;
  s->nworkers = nw;
  s->n = n;
  s->chunk = chunk;
  s->dynamic = schedule == SHMPOOL_SCHEDULE_DYNAMIC;
  if (s->dynamic)
    return 0;
  if (nchunks > SIZE_MAX / sizeof *s->order)
    return SHMPOOL_ENOMEM;
  s->order = (uint64_t *)malloc((size_t)nchunks * sizeof *s->order);
  s->lo = (uint64_t *)calloc(nw, sizeof *s->lo);
  s->hi = (uint64_t *)calloc(nw, sizeof *s->hi);
  if (nchunks <= SHMPOOL__AFFINITY_MAX_CHUNKS)
    s->ran_by = (uint16_t *)malloc((size_t)nchunks * sizeof *s->ran_by);
  if (s->order == NULL || s->lo == NULL || s->hi == NULL)
    return SHMPOOL_ENOMEM;
  a = shmpool__affinity_find(pool, n, chunk);
  /* Group the chunks by worker, in index order within a worker. */
  for (w = 0; w < nw; w++) {
    s->lo[w] = at;
    for (c = 0; c < nchunks; c++) {
      uint32_t owner = a != NULL ? a->owner[c] : (uint32_t)(c * nw / nchunks);
      if (owner == w)
        s->order[at++] = c;
    }
    s->hi[w] = at;
  }
  return 0;
}

uint64_t shmpool__sched_next(shmpool__sched *s, uint32_t w,
                             shmpool__sched_undo *undo) {
  uint32_t v, victim = 0;
  uint64_t most = 0;
  if (s->dynamic) {
    undo->from = UINT32_MAX;
    return s->next < s->nchunks ? s->next++ : UINT64_MAX;
  }
  if (s->lo[w] < s->hi[w]) {
    undo->from = w;
    undo->own = 1;
    return s->order[s->lo[w]++];
  }
  for (v = 0; v < s->nworkers; v++)
    if (s->hi[v] - s->lo[v] > most) {
      most = s->hi[v] - s->lo[v];
      victim = v;
    }
  if (most == 0)
    return UINT64_MAX;
  undo->from = victim;
  undo->own = 0;
  return s->order[--s->hi[victim]];
}

void shmpool__sched_put_back(shmpool__sched *s,
                             const shmpool__sched_undo *undo) {
  if (s->dynamic)
    s->next--;
  else if (undo->own)
    s->lo[undo->from]--;
  else
    s->hi[undo->from]++;
}

void shmpool__sched_ran(shmpool__sched *s, uint64_t chunk, uint32_t w) {
  if (s->ran_by != NULL && chunk < s->nchunks)
    s->ran_by[chunk] = (uint16_t)w;
}

void shmpool__sched_remember(shmpool *pool, shmpool__sched *s) {
  shmpool__affinity *a;
  uint32_t i, oldest = 0;
  if (s->dynamic || s->ran_by == NULL)
    return;
  if (pool->affinity == NULL &&
      (pool->affinity = (shmpool__affinity *)calloc(
           SHMPOOL__AFFINITY_SHAPES, sizeof *pool->affinity)) == NULL)
    return;
  a = shmpool__affinity_find(pool, s->n, s->chunk);
  if (a == NULL) {
    if (pool->naffinity < SHMPOOL__AFFINITY_SHAPES) {
      a = &pool->affinity[pool->naffinity++];
    } else {
      for (i = 1; i < pool->naffinity; i++)
        if (pool->affinity[i].last_use < pool->affinity[oldest].last_use)
          oldest = i;
      a = &pool->affinity[oldest];
      free(a->owner);
    }
    a->n = s->n;
    a->chunk = s->chunk;
    a->nworkers = s->nworkers;
    a->owner = NULL;
  }
  free(a->owner);
  a->owner = s->ran_by; /* the job gives it up */
  s->ran_by = NULL;
  a->last_use = ++pool->use_clock;
}

void shmpool__sched_free(shmpool__sched *s) {
  free(s->order);
  free(s->lo);
  free(s->hi);
  free(s->ran_by);
  memset(s, 0, sizeof *s);
}

void shmpool__affinity_free(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->naffinity; i++)
    free(pool->affinity[i].owner);
  free(pool->affinity);
  pool->affinity = NULL;
  pool->naffinity = 0;
}
