/* The segment table: the segments a pool has sent to its workers, named in
 * shared memory so that workers can attach by name, and held by the pool
 * (a reference on the handle) so that a segment cannot vanish under a
 * worker while a task that names it is in flight.
 *
 * An entry is released when its user has closed the segment and no task
 * in flight names it, or when the table is full and it is the least
 * recently used idle entry. A release bumps the table's epoch: workers
 * then drop their cached mappings of it, so no worker keeps a released
 * segment's memory alive.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "atomics.h"
#include "pool.h"

/* Release entry i: workers drop their mappings (the epoch bump tells them;
 * a sleeping worker is woken for it), then the pool drops its reference,
 * which unmaps and, for a closed owner, unlinks. */
static void shmpool__segtab_release(shmpool *pool, uint32_t i) {
  shmpool__segslot *s = &pool->segs[i];
  shmpool_seg *seg = s->seg;
  uint32_t w;
  s->gen++; /* even: free */
  shmpool__store_rel32(&pool->segtab[i].gen, s->gen);
  (void)shmpool__fetch_add32(&pool->hdr->segtab_epoch, 1);
  for (w = 0; w < pool->nworkers; w++)
    if (pool->w[w].running)
      shmpool__chan_wake(&pool->w[w].chan);
  s->seg = NULL;
  s->inflight = 0;
  pool->segs_used--;
  (void)shmpool__seg_unref(seg);
}

void shmpool__segtab_release_closed(shmpool *pool) {
  uint32_t i;
  if (pool->segs_used == 0)
    return;
  for (i = 0; i < pool->l.p.nsegtab; i++) {
    shmpool__segslot *s = &pool->segs[i];
    if (s->seg != NULL && s->inflight == 0 &&
        shmpool__load_acq32(&s->seg->user_closed) != 0)
      shmpool__segtab_release(pool, i);
  }
}

/* Assign entry i to seg and publish it. */
static void shmpool__segtab_assign(shmpool *pool, uint32_t i,
                                   shmpool_seg *seg) {
  shmpool__segslot *s = &pool->segs[i];
  shmpool__segtab_entry *e = &pool->segtab[i];
  shmpool__seg_ref(seg);
  s->seg = seg;
  s->inflight = 0;
  s->gen++; /* odd: in use */
  e->flags = seg->flags &
             (SHMPOOL_SEG_READONLY | SHMPOOL_SEG_RAW | SHMPOOL_SEG_GLOBAL);
  e->creation_id = seg->creation_id;
  e->size = seg->size;
  memset(e->name, 0, sizeof e->name);
  memcpy(e->name, seg->name, strlen(seg->name));
  shmpool__store_rel32(&e->gen, s->gen); /* publishes the fields above */
  pool->segs_used++;
}

/* The entry for seg, assigning one if needed (evicting the least recently
 * used idle entry when the table is full). -1 if every entry is in use. */
static int shmpool__segtab_find(shmpool *pool, shmpool_seg *seg) {
  uint32_t i, n = pool->l.p.nsegtab;
  int free_slot = -1, lru = -1;
  for (i = 0; i < n; i++) {
    shmpool__segslot *s = &pool->segs[i];
    if (s->seg == seg)
      return (int)i;
    if (s->seg == NULL) {
      if (free_slot < 0)
        free_slot = (int)i;
    } else if (s->inflight == 0 &&
               (lru < 0 || s->last_use < pool->segs[lru].last_use)) {
      lru = (int)i;
    }
  }
  if (free_slot < 0) {
    if (lru < 0)
      return -1;
    shmpool__segtab_release(pool, (uint32_t)lru);
    free_slot = lru;
  }
  shmpool__segtab_assign(pool, (uint32_t)free_slot, seg);
  return free_slot;
}

int shmpool__segtab_hold(shmpool *pool, shmpool_seg *const *segs, size_t n,
                         uint32_t *refs) {
  size_t i;
  for (i = 0; i < n; i++) {
    int idx = shmpool__segtab_find(pool, segs[i]);
    if (idx < 0) {
      shmpool__segtab_drop(pool, refs, (uint32_t)i);
      return SHMPOOL_EAGAIN;
    }
    refs[i] = (uint32_t)idx;
    if (pool->segs[idx].inflight++ == 0)
      shmpool__seg_busy(segs[i], 1);
    pool->segs[idx].last_use = ++pool->use_clock;
  }
  return 0;
}

void shmpool__segtab_drop(shmpool *pool, const uint32_t *refs, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    shmpool__segslot *s = &pool->segs[refs[i]];
    if (--s->inflight == 0) {
      shmpool__seg_busy(s->seg, -1);
      if (shmpool__load_acq32(&s->seg->user_closed) != 0)
        shmpool__segtab_release(pool, refs[i]);
    }
  }
}

shmpool__segtab_ref shmpool__segtab_ref_of(const shmpool *pool, uint32_t i) {
  shmpool__segtab_ref r;
  r.index = i;
  r.gen = pool->segs[i].gen;
  return r;
}

void shmpool__segtab_free(shmpool *pool) {
  uint32_t i;
  for (i = 0; pool->segs != NULL && i < pool->l.p.nsegtab; i++) {
    shmpool__segslot *s = &pool->segs[i];
    if (s->seg == NULL)
      continue;
    if (s->inflight != 0)
      shmpool__seg_busy(s->seg, -1);
    (void)shmpool__seg_unref(s->seg);
    s->seg = NULL;
  }
}
