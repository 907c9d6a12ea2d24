/* Which worker runs which chunk of a map.
 *
 * Static (the default). The first map of a shape (element count, chunk
 * size, worker count) gives each worker one contiguous range of chunks.
 * The pool then remembers which worker actually ran each chunk, and the
 * next map of the same shape gives every chunk to that worker again: a
 * worker touches the pages it touched last time, so its page tables are
 * built once and no two workers map the same pages (threads share one
 * page table; processes do not).
 *
 * A worker that runs out of its own chunks steals from the worker with the
 * most left, so an uneven workload stays balanced; the stolen chunk is
 * then the thief's next time. What a steal costs depends on the thief: a
 * chunk it ran before (in this shape) has its pages mapped, one it never
 * ran makes it fault in every page, which on a virtual machine costs many
 * times the chunk's own work (64 MiB: ~200 ms of faults against ~3 ms of
 * summing, measured in bench/bench_map). So the thief first looks for a
 * chunk it ran before. A chunk cold for both (a shape's first map) costs
 * the same whoever runs it and is taken as it comes. One cold for the
 * thief but warm for its owner is taken only when that pays: when the
 * owner's unsent chunks, at this map's time per chunk so far, would take
 * longer than a cold chunk costs, estimated as a chunk's time in the
 * shape's first map (when every chunk was cold). So a worker a few chunks
 * behind keeps them when the cost is page faults, and a worker far behind
 * on heavy computation is still relieved.
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
  uint64_t *seen;  /* nchunks entries: shmpool__sched.seen */
  double cold_ns;  /* a chunk's time in the shape's first map */
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
  s->now = shmpool__plat_now_ns;
  s->t0 = s->now();
  if (s->dynamic)
    return 0;
  if (nchunks > SIZE_MAX / sizeof *s->order)
    return SHMPOOL_ENOMEM;
  s->order = (uint64_t *)malloc((size_t)nchunks * sizeof *s->order);
  s->lo = (uint64_t *)calloc(nw, sizeof *s->lo);
  s->hi = (uint64_t *)calloc(nw, sizeof *s->hi);
  s->share = (uint64_t *)calloc(nw, sizeof *s->share);
  if (s->order == NULL || s->lo == NULL || s->hi == NULL || s->share == NULL)
    return SHMPOOL_ENOMEM;
  a = shmpool__affinity_find(pool, n, chunk);
  if (nchunks <= SHMPOOL__AFFINITY_MAX_CHUNKS) {
    /* Without these the map runs, only unremembered and stealing blind. */
    s->ran_by = (uint16_t *)malloc((size_t)nchunks * sizeof *s->ran_by);
    s->seen = (uint64_t *)calloc((size_t)nchunks, sizeof *s->seen);
    if (s->seen != NULL && a != NULL) {
      memcpy(s->seen, a->seen, (size_t)nchunks * sizeof *s->seen);
      s->cold_ns = a->cold_ns;
    }
  }
  /* Group the chunks by worker, in index order within a worker. */
  for (w = 0; w < nw; w++) {
    s->lo[w] = at;
    for (c = 0; c < nchunks; c++) {
      uint32_t owner = a != NULL ? a->owner[c] : (uint32_t)(c * nw / nchunks);
      if (owner == w)
        s->order[at++] = c;
    }
    s->hi[w] = at;
    s->share[w] = at - s->lo[w];
  }
  return 0;
}

static int shmpool__sched_has_run(const shmpool__sched *s, uint64_t c,
                                  uint32_t w) {
  return s->seen != NULL && (s->seen[c] >> (w % 64u) & 1u) != 0;
}

/* Would a cold chunk cost the thief less than waiting for the victim's
 * `unsent`? A map's time per chunk so far is the time since it started
 * times the workers, over the chunks done. */
static int shmpool__sched_cold_steal_pays(const shmpool__sched *s,
                                          uint64_t unsent) {
  double per_chunk;
  if (s->cold_ns <= 0)
    return 1; /* no estimate: steal as in a first map */
  if (s->ndone == 0)
    return 1; /* no pace yet: a worker idle this early has no own share */
  per_chunk = (double)(s->now() - s->t0) * s->nworkers / (double)s->ndone;
  return (double)unsent * per_chunk > s->cold_ns;
}

uint64_t shmpool__sched_next(shmpool__sched *s, uint32_t w,
                             shmpool__sched_undo *undo) {
  uint32_t v, victim = 0;
  uint64_t most = 0, i, last;
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
  /* A chunk the thief ran before, nearest the victim's far end (a bounded
   * look): moved to the end, so that put_back restores the range. */
  for (i = s->hi[victim]; i > s->lo[victim] && s->hi[victim] - i < 64; i--) {
    uint64_t c = s->order[i - 1];
    if (shmpool__sched_has_run(s, c, w)) {
      s->order[i - 1] = s->order[s->hi[victim] - 1];
      s->order[s->hi[victim] - 1] = c;
      break;
    }
  }
  last = s->order[s->hi[victim] - 1];
  if (!shmpool__sched_has_run(s, last, w) &&
      shmpool__sched_has_run(s, last, victim) &&
      !shmpool__sched_cold_steal_pays(s, most))
    return UINT64_MAX;
  undo->from = victim;
  undo->own = 0;
  return s->order[--s->hi[victim]];
}

uint64_t shmpool__sched_steal_from(shmpool__sched *s, uint32_t w,
                                   uint32_t victim, shmpool__sched_undo *undo) {
  (void)w;
  if (s->dynamic || victim >= s->nworkers || s->lo[victim] == s->hi[victim])
    return UINT64_MAX;
  undo->from = victim;
  undo->own = 0;
  return s->order[--s->hi[victim]];
}

uint64_t shmpool__sched_take_any(shmpool__sched *s,
                                 shmpool__sched_undo *undo) {
  uint32_t v;
  if (s->dynamic)
    return shmpool__sched_next(s, 0, undo);
  for (v = 0; v < s->nworkers; v++)
    if (s->lo[v] < s->hi[v]) {
      undo->from = v;
      undo->own = 1;
      return s->order[s->lo[v]++];
    }
  return UINT64_MAX;
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
  if (s->seen != NULL && chunk < s->nchunks)
    s->seen[chunk] |= (uint64_t)1 << (w % 64u);
  s->ndone++;
}

void shmpool__sched_remember(shmpool *pool, shmpool__sched *s) {
  shmpool__affinity *a;
  uint32_t i, oldest = 0;
  if (s->dynamic || s->ran_by == NULL || s->seen == NULL)
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
      free(a->seen);
    }
    a->n = s->n;
    a->chunk = s->chunk;
    a->nworkers = s->nworkers;
    a->owner = NULL;
    a->seen = NULL;
    /* The shape's first map: every chunk cold. */
    a->cold_ns = s->nchunks == 0 ? 0
                                 : (double)(s->now() - s->t0) * s->nworkers /
                                       (double)s->nchunks;
  }
  free(a->owner);
  free(a->seen);
  a->owner = s->ran_by; /* the job gives them up */
  a->seen = s->seen;
  s->ran_by = NULL;
  s->seen = NULL;
  a->last_use = ++pool->use_clock;
}

void shmpool__sched_free(shmpool__sched *s) {
  free(s->order);
  free(s->lo);
  free(s->hi);
  free(s->share);
  free(s->ran_by);
  free(s->seen);
  memset(s, 0, sizeof *s);
}

void shmpool__affinity_free(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->naffinity; i++) {
    free(pool->affinity[i].owner);
    free(pool->affinity[i].seen);
  }
  free(pool->affinity);
  pool->affinity = NULL;
  pool->naffinity = 0;
}
