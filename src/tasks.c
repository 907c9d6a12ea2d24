/* Submitted tasks, from submit until their result is handed out: a record
 * per task (allocated at submit, so a completion can never fail to be
 * stored), lookup by id (for shmpool_wait_id and shmpool_cancel), the
 * queue of finished tasks in completion order (for shmpool_wait), and the
 * per-thread hand-out that keeps a result's data valid until that thread's
 * next wait.
 *
 * A message's completion (completion records from ring.c or supervise.c)
 * ends its segment holds first, then runs its handler; shmpool__task_done
 * is the handler of submitted tasks.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "pool.h"

/* Records kept for reuse; more are freed. */
#define SHMPOOL__FREE_RECS_MAX 1024u

shmpool__task_rec *shmpool__task_new(shmpool *pool) {
  shmpool__task_rec *rec = pool->free_recs;
  if (rec != NULL) {
    pool->free_recs = rec->next;
    pool->nfree--;
  } else {
    rec = (shmpool__task_rec *)malloc(offsetof(shmpool__task_rec, reply) +
                                      pool->l.p.max_reply + 1u);
    if (rec == NULL)
      return NULL;
  }
  /* The fields, not the message buffer: it is written when used. */
  memset(rec, 0, offsetof(shmpool__task_rec, message));
  rec->message[0] = '\0';
  return rec;
}

void shmpool__task_discard(shmpool *pool, shmpool__task_rec *rec) {
  if (pool->nfree >= SHMPOOL__FREE_RECS_MAX) {
    free(rec);
    return;
  }
  rec->next = pool->free_recs;
  pool->free_recs = rec;
  pool->nfree++;
}

/* ---- lookup by id ------------------------------------------------------ */

static uint32_t shmpool__bucket(const shmpool *pool, uint64_t id) {
  /* Ids are consecutive: the low bits spread them perfectly. */
  return (uint32_t)id & (pool->nbuckets - 1);
}

/* Double the table when it is full, so a chain stays short. A failed
 * resize keeps the old table: lookups get slower, not wrong. */
static void shmpool__tasks_grow(shmpool *pool) {
  uint32_t n = pool->nbuckets ? pool->nbuckets * 2 : 256, i;
  shmpool__task_rec **b = (shmpool__task_rec **)calloc(n, sizeof *b);
  if (b == NULL)
    return;
  for (i = 0; i < pool->nbuckets; i++) {
    shmpool__task_rec *r = pool->buckets[i], *next;
    for (; r != NULL; r = next) {
      next = r->hnext;
      r->hnext = b[(uint32_t)r->id & (n - 1)];
      b[(uint32_t)r->id & (n - 1)] = r;
    }
  }
  free(pool->buckets);
  pool->buckets = b;
  pool->nbuckets = n;
}

void shmpool__task_enter(shmpool *pool, shmpool__task_rec *rec) {
  uint32_t b;
  if (pool->ntasks >= pool->nbuckets)
    shmpool__tasks_grow(pool);
  b = shmpool__bucket(pool, rec->id);
  rec->hnext = pool->buckets[b];
  pool->buckets[b] = rec;
  pool->ntasks++;
  pool->unclaimed++;
  rec->state = SHMPOOL__T_FLIGHT;
  if (rec->deadline_ns != 0)
    pool->ndeadlines++;
}

shmpool__task_rec *shmpool__task_find(const shmpool *pool, uint64_t id) {
  shmpool__task_rec *r;
  if (pool->nbuckets == 0)
    return NULL;
  for (r = pool->buckets[shmpool__bucket(pool, id)]; r != NULL; r = r->hnext)
    if (r->id == id)
      return r;
  return NULL;
}

static void shmpool__task_unlink(shmpool *pool, shmpool__task_rec *rec) {
  shmpool__task_rec **p = &pool->buckets[shmpool__bucket(pool, rec->id)];
  while (*p != rec)
    p = &(*p)->hnext;
  *p = rec->hnext;
  pool->ntasks--;
}

/* ---- finishing --------------------------------------------------------- */

/* Put rec at the end of the finished queue. */
static void shmpool__fin_append(shmpool *pool, shmpool__task_rec *rec) {
  rec->next = NULL;
  rec->prev = pool->fin_last;
  if (pool->fin_last != NULL)
    pool->fin_last->next = rec;
  else
    pool->fin_first = rec;
  pool->fin_last = rec;
}

/* rec has its result: queue it for shmpool_wait unless a wait_id claimed
 * it. */
static void shmpool__task_finished(shmpool *pool, shmpool__task_rec *rec) {
  if (rec->deadline_ns != 0)
    pool->ndeadlines--;
  rec->state = SHMPOOL__T_FINISHED;
  if (!rec->claimed)
    shmpool__fin_append(pool, rec);
}

void shmpool__task_done(shmpool *pool, const shmpool__completion *c) {
  shmpool__task_rec *rec = (shmpool__task_rec *)c->rec.ctx;
  int status = c->status;
  /* A worker killed on purpose ends its task with the reason. */
  if (rec->end_status != 0 &&
      (status == SHMPOOL_EWORKER || status == SHMPOOL_ECANCELED))
    status = rec->end_status;
  rec->status = status;
  rec->exit_code = c->exit_code;
  rec->term_signal = c->term_signal;
  rec->len = c->len;
  if (c->len != 0)
    memcpy(rec->reply.bytes, c->data, c->len);
  rec->msg_len = c->msg_len;
  if (c->msg_len != 0)
    memcpy(rec->message, c->msg, c->msg_len);
  rec->message[c->msg_len] = '\0';
  shmpool__task_finished(pool, rec);
}

void shmpool__task_finish(shmpool *pool, shmpool__task_rec *rec, int status) {
  rec->status = status;
  rec->len = 0;
  rec->msg_len = 0;
  rec->message[0] = '\0';
  shmpool__task_finished(pool, rec);
  shmpool__kick(pool);
}

void shmpool__kick(shmpool *pool) {
  (void)shmpool__fetch_add32(&pool->kick, 1);
  shmpool__chan_wake(&pool->chan);
  shmpool__wake_followers(pool);
}

/* Take rec out of the finished queue. */
static void shmpool__fin_remove(shmpool *pool, shmpool__task_rec *rec) {
  if (rec->prev != NULL)
    rec->prev->next = rec->next;
  else
    pool->fin_first = rec->next;
  if (rec->next != NULL)
    rec->next->prev = rec->prev;
  else
    pool->fin_last = rec->prev;
}

void shmpool__task_claim(shmpool *pool, shmpool__task_rec *rec, int on) {
  if (on == rec->claimed)
    return;
  if (on) {
    if (rec->state == SHMPOOL__T_FINISHED)
      shmpool__fin_remove(pool, rec);
    rec->claimed = 1;
    pool->unclaimed--;
  } else {
    rec->claimed = 0;
    pool->unclaimed++;
    if (rec->state == SHMPOOL__T_FINISHED)
      shmpool__fin_append(pool, rec);
  }
}

shmpool__task_rec *shmpool__task_next_finished(const shmpool *pool) {
  return pool->fin_first;
}

/* ---- handing out ------------------------------------------------------- */

shmpool__delivery *shmpool__my_delivery(shmpool *pool) {
  uint64_t self = shmpool__plat_thread_id();
  shmpool__delivery *d, *free_slot = NULL;
  size_t i;
  for (i = 0; i < pool->ndeliveries; i++) {
    d = pool->deliveries[i];
    if (d->thread == self)
      return d;
    if (d->rec == NULL && !d->waiting && free_slot == NULL)
      free_slot = d;
  }
  if (free_slot == NULL) {
    if (pool->ndeliveries == pool->deliveries_cap) {
      size_t cap = pool->deliveries_cap ? pool->deliveries_cap * 2 : 4;
      shmpool__delivery **grown =
          (shmpool__delivery **)realloc(pool->deliveries, cap * sizeof *grown);
      if (grown == NULL)
        return NULL;
      pool->deliveries = grown;
      pool->deliveries_cap = cap;
    }
    if ((free_slot = (shmpool__delivery *)calloc(1, sizeof *free_slot)) == NULL)
      return NULL;
    pool->deliveries[pool->ndeliveries++] = free_slot;
  }
  /* A slot whose thread released its result, and is not waiting, may
   * serve another thread. */
  free_slot->thread = self;
  free_slot->rec = NULL;
  return free_slot;
}

void shmpool__task_release(shmpool *pool, shmpool__delivery *d) {
  if (d->rec != NULL) {
    shmpool__task_discard(pool, d->rec);
    d->rec = NULL;
  }
}

void shmpool__task_deliver(shmpool *pool, shmpool__task_rec *rec,
                           shmpool_result *res, shmpool__delivery *d) {
  if (rec->state == SHMPOOL__T_FINISHED && !rec->claimed)
    shmpool__fin_remove(pool, rec);
  if (!rec->claimed)
    pool->unclaimed--;
  shmpool__task_unlink(pool, rec);
  rec->state = SHMPOOL__T_DELIVERED;
  res->id = rec->id;
  res->status = rec->status;
  res->exit_code = rec->exit_code;
  res->term_signal = rec->term_signal;
  res->len = rec->len;
  res->data = rec->len != 0 ? rec->reply.bytes : NULL;
  res->message = rec->msg_len != 0 ? rec->message : NULL;
  /* The data stays alive until this thread's next wait. */
  shmpool__task_release(pool, d);
  d->rec = rec;
}

void shmpool__tasks_free(shmpool *pool) {
  uint32_t i;
  size_t k;
  shmpool__task_rec *r, *next;
  for (i = 0; i < pool->nbuckets; i++)
    for (r = pool->buckets[i]; r != NULL; r = next) {
      next = r->hnext;
      free(r);
    }
  for (k = 0; k < pool->ndeliveries; k++) {
    free(pool->deliveries[k]->rec);
    free(pool->deliveries[k]);
  }
  for (r = pool->free_recs; r != NULL; r = next) {
    next = r->next;
    free(r);
  }
  free(pool->buckets);
  free(pool->deliveries);
  pool->buckets = NULL;
  pool->deliveries = NULL;
  pool->free_recs = NULL;
}
