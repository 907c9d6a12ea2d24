/* The parent side of a pool: the control segment, worker processes, task
 * queues, results, the segment table, and what happens when a worker dies.
 *
 * Every message the parent sends is also recorded in parent memory (the
 * in-flight records), so the parent never has to trust what a worker wrote
 * to know what it was asked to do: a result must match the record at the
 * head of that worker's queue, or the worker is killed as corrupt.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "control.h"
#include "internal.h"

#define SHMPOOL__DEFAULT_MSG 256u
#define SHMPOOL__DEFAULT_DEPTH 64u
#define SHMPOOL__DEFAULT_SEGTAB 64u
#define SHMPOOL__DEFAULT_START_MS 30000
#define SHMPOOL__DEFAULT_SHUTDOWN_MS 5000
/* While waiting, check on the workers' processes this often. */
#define SHMPOOL__HEALTH_MS 50u
/* How long the parent spins, then yields, before sleeping. */
#define SHMPOOL__SPIN_NS 20000u
#define SHMPOOL__YIELD_NS 100000u
/* How long a killed worker may take to die before the pool stops waiting
 * for it (a kill that fails must not hang the pool). */
#define SHMPOOL__KILL_WAIT_MS 2000
/* A worker that dies before it is ready this many times in a row is not
 * started again (no respawn loop). */
#define SHMPOOL__MAX_START_FAILURES 3
/* shmpool_map: chunks per worker, and chunks queued per worker at once. */
#define SHMPOOL__MAP_CHUNKS_PER_WORKER 8u
#define SHMPOOL__MAP_QUEUED 2u
/* A map scratch segment bigger than this is not kept between maps. */
#define SHMPOOL__SCRATCH_KEEP (64u << 20)

/* The parent's record of one message in a worker's queue. */
typedef struct shmpool__inflight {
  uint64_t id;
  uint32_t kind;
  uint32_t nrefs; /* segment table entries it holds */
  uint32_t refs[SHMPOOL_TASK_SEGS_MAX + 1];
  uint64_t start, count; /* a map chunk's elements */
} shmpool__inflight;

/* The parent's view of one worker block. */
typedef struct shmpool__wslot {
  shmpool__ctl_worker *wb;
  shmpool__plat_proc proc;
  shmpool__plat_waker waker;
  int running; /* a process is serving this block */
  int ready;   /* it finished its initializer */
  int failed;  /* given up on: not started again */
  int start_failures;
  uint32_t tail;               /* messages published */
  uint32_t done;               /* results consumed */
  shmpool__inflight *inflight; /* depth records, by sequence & (depth-1) */
} shmpool__wslot;

/* One segment table entry, as the parent keeps it. */
typedef struct shmpool__segslot {
  shmpool_seg *seg; /* NULL: free; else the pool holds a reference */
  uint32_t gen;     /* mirrors the shared entry's generation */
  uint32_t inflight;
  uint64_t last_use;
} shmpool__segslot;

/* A finished task waiting in parent memory for shmpool_wait. */
typedef struct shmpool__done {
  uint64_t id;
  int status;
  int exit_code;
  int term_signal;
  size_t len;
  unsigned char *data;
} shmpool__done;

/* The state of a shmpool_map in progress. */
typedef struct shmpool__map_state {
  unsigned char *scratch_data;
  uint64_t status_off;
  uint32_t chunks_out;
} shmpool__map_state;

struct shmpool {
  shmpool_options opts;
  char *exe;
  shmpool_seg *ctl;
  unsigned char *base;
  shmpool__ctl_layout l;
  shmpool__ctl_hdr *hdr;
  shmpool__segtab_entry *segtab;
  shmpool__plat_waker parent_waker;
  shmpool__wslot *w;
  uint32_t nworkers;
  uint32_t next_worker; /* where polling for results starts */
  shmpool__segslot *segs;
  uint32_t segs_used;
  uint64_t use_clock;
  uint64_t next_id;
  uint64_t tasks_out; /* submitted tasks not yet handed to wait() */
  shmpool__done *backlog;
  size_t backlog_head, backlog_len, backlog_cap;
  unsigned char *reply; /* the data of the last result wait() returned */
  uint64_t last_health_ns;
  shmpool__map_state *map;
  shmpool_seg *scratch;
  /* Room to move a dead worker's unstarted messages to its replacement. */
  unsigned char *requeue_slots;
  shmpool__inflight *requeue_recs;
};

/* ---- small helpers ----------------------------------------------------- */

static uint64_t shmpool__deadline(int timeout_ms) {
  if (timeout_ms < 0)
    return UINT64_MAX;
  return shmpool__plat_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

static uint32_t shmpool__pow2_at_least(uint32_t x) {
  uint32_t p = 1;
  while (p < x)
    p <<= 1;
  return p;
}

/* Bump a process's wake word and wake it if it said it sleeps. The fence
 * pairs with the sleeper's "announce; fence; re-check". */
static void shmpool__wake_worker(shmpool *pool, shmpool__wslot *ws) {
  (void)pool;
  shmpool__fence();
  if (shmpool__load_acq32(&ws->wb->worker_sleeping) != 0) {
    (void)shmpool__fetch_add32(&ws->wb->worker_futex, 1);
    shmpool__plat_wake(&ws->waker, &ws->wb->worker_futex);
  }
}

static void shmpool__wake_all_workers(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    (void)shmpool__fetch_add32(&ws->wb->worker_futex, 1);
    shmpool__plat_wake(&ws->waker, &ws->wb->worker_futex);
  }
}

/* ---- finished tasks kept in parent memory -------------------------------- */

static int shmpool__backlog_push(shmpool *pool, uint64_t id, int status,
                                 const void *data, size_t len,
                                 const shmpool__plat_exit *ex) {
  shmpool__done *d;
  if (pool->backlog_len == pool->backlog_cap) {
    size_t cap = pool->backlog_cap ? pool->backlog_cap * 2 : 256;
    shmpool__done *nb = (shmpool__done *)malloc(cap * sizeof *nb);
    size_t i;
    if (nb == NULL)
      return SHMPOOL_ENOMEM;
    for (i = 0; i < pool->backlog_len; i++)
      nb[i] = pool->backlog[(pool->backlog_head + i) % pool->backlog_cap];
    free(pool->backlog);
    pool->backlog = nb;
    pool->backlog_cap = cap;
    pool->backlog_head = 0;
  }
  d = &pool->backlog[(pool->backlog_head + pool->backlog_len) %
                     pool->backlog_cap];
  d->id = id;
  d->status = status;
  d->exit_code = ex != NULL ? ex->exit_code : 0;
  d->term_signal = ex != NULL ? ex->term_signal : 0;
  d->len = len;
  d->data = NULL;
  if (len != 0) {
    d->data = (unsigned char *)malloc(len);
    if (d->data == NULL)
      return SHMPOOL_ENOMEM;
    memcpy(d->data, data, len);
  }
  pool->backlog_len++;
  return 0;
}

static void shmpool__backlog_pop(shmpool *pool, shmpool_result *res) {
  shmpool__done *d = &pool->backlog[pool->backlog_head];
  res->id = d->id;
  res->status = d->status;
  res->exit_code = d->exit_code;
  res->term_signal = d->term_signal;
  res->len = d->len;
  if (d->len != 0)
    memcpy(pool->reply, d->data, d->len);
  res->data = d->len != 0 ? pool->reply : NULL;
  free(d->data);
  pool->backlog_head = (pool->backlog_head + 1) % pool->backlog_cap;
  pool->backlog_len--;
}

/* ---- the segment table ------------------------------------------------- */

/* Release entry i: workers drop their mappings (the epoch bump and a wake
 * tell them), then the pool drops its reference, which unmaps and, for a
 * closed owner, unlinks. */
static void shmpool__segslot_release(shmpool *pool, uint32_t i) {
  shmpool__segslot *s = &pool->segs[i];
  shmpool_seg *seg = s->seg;
  s->gen++; /* even: free */
  shmpool__store_rel32(&pool->segtab[i].gen, s->gen);
  (void)shmpool__fetch_add32(&pool->hdr->segtab_epoch, 1);
  shmpool__wake_all_workers(pool);
  s->seg = NULL;
  s->inflight = 0;
  pool->segs_used--;
  (void)shmpool__seg_unref(seg);
}

/* Release every idle entry whose user has closed the segment. */
static void shmpool__release_closed(shmpool *pool) {
  uint32_t i;
  if (pool->segs_used == 0)
    return;
  for (i = 0; i < pool->l.p.nsegtab; i++) {
    shmpool__segslot *s = &pool->segs[i];
    if (s->seg != NULL && s->inflight == 0 &&
        shmpool__load_acq32(&s->seg->user_closed) != 0)
      shmpool__segslot_release(pool, i);
  }
}

/* The entry for seg, assigning one if needed (evicting the least recently
 * used idle entry when the table is full). -1 if every entry is in use. */
static int shmpool__segslot_find(shmpool *pool, shmpool_seg *seg) {
  uint32_t i, n = pool->l.p.nsegtab;
  int free_slot = -1, lru = -1;
  shmpool__segtab_entry *e;
  shmpool__segslot *s;
  for (i = 0; i < n; i++) {
    s = &pool->segs[i];
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
    shmpool__segslot_release(pool, (uint32_t)lru);
    free_slot = lru;
  }
  s = &pool->segs[free_slot];
  e = &pool->segtab[free_slot];
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
  return free_slot;
}

static void shmpool__segslots_drop(shmpool *pool, const uint32_t *refs,
                                   uint32_t n);

/* Entries for segs[0..n); each gets one in-flight hold. On failure (the
 * table is full of in-flight segments) nothing is held. */
static int shmpool__segslots_hold(shmpool *pool, shmpool_seg *const *segs,
                                  size_t n, uint32_t *out) {
  size_t i;
  for (i = 0; i < n; i++) {
    int idx = shmpool__segslot_find(pool, segs[i]);
    if (idx < 0) {
      shmpool__segslots_drop(pool, out, (uint32_t)i);
      return SHMPOOL_EAGAIN;
    }
    out[i] = (uint32_t)idx;
    if (pool->segs[idx].inflight++ == 0)
      shmpool__seg_busy(segs[i], 1);
    pool->segs[idx].last_use = ++pool->use_clock;
  }
  return 0;
}

/* Task holds end. A segment whose user has closed it is released as soon
 * as its last task completes. */
static void shmpool__segslots_drop(shmpool *pool, const uint32_t *refs,
                                   uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    shmpool__segslot *s = &pool->segs[refs[i]];
    if (--s->inflight == 0) {
      shmpool__seg_busy(s->seg, -1);
      if (shmpool__load_acq32(&s->seg->user_closed) != 0)
        shmpool__segslot_release(pool, refs[i]);
    }
  }
}

/* ---- results ----------------------------------------------------------- */

static void shmpool__worker_died(shmpool *pool, shmpool__wslot *ws,
                                 const shmpool__plat_exit *ex, int status);

/* A map chunk completed (or never will): elements it did not run get
 * `status`. */
static void shmpool__map_chunk_done(shmpool *pool, const shmpool__inflight *r,
                                    int status) {
  shmpool__map_state *m = pool->map;
  uint64_t i;
  if (m == NULL)
    return; /* cannot happen: chunks only exist during shmpool_map */
  if (status != 0) {
    for (i = r->start; i < r->start + r->count; i++) {
      unsigned char *p = m->scratch_data + m->status_off + 4 * i;
      int32_t st;
      memcpy(&st, p, sizeof st);
      if (st == SHMPOOL__MAP_NOT_RUN) {
        st = (int32_t)status;
        memcpy(p, &st, sizeof st);
      }
    }
  }
  m->chunks_out--;
}

/* Consume one result of worker ws, if it published one, checking it
 * against the parent's own record first. Sets *took when a result was
 * consumed. A submitted task's result fills *res when res is not NULL
 * (returns 1) or goes to the backlog; a map chunk is accounted for.
 * Returns SHMPOOL_EPROTO, consuming nothing, if what the worker wrote does
 * not match what it was sent. */
static int shmpool__take_result(shmpool *pool, shmpool__wslot *ws,
                                shmpool_result *res, int *took) {
  shmpool__result_slot *slot, copy;
  shmpool__inflight *rec;
  uint32_t rtail, len;
  int32_t status;
  int rc;
  *took = 0;
  if (ws->done == ws->tail)
    return 0;
  rtail = shmpool__load_acq32(&ws->wb->result_tail);
  if (rtail == ws->done)
    return 0;
  slot = shmpool__ctl_result_slot(ws->wb, &pool->l, ws->done);
  rec = &ws->inflight[ws->done & (pool->l.p.depth - 1)];
  /* Checked on a private copy: the worker cannot change it afterwards. */
  memcpy(&copy, slot, sizeof copy);
  rc = shmpool__result_check(ws->done, ws->tail, rtail, &copy, rec->id,
                             pool->l.p.max_reply);
  if (rc != 1)
    return rc;
  status = copy.status;
  len = copy.len;
  *took = 1;
  ws->done++;
  shmpool__segslots_drop(pool, rec->refs, rec->nrefs);
  if (rec->kind == SHMPOOL__TASK_MAP_CHUNK) {
    shmpool__map_chunk_done(pool, rec, status);
    return 0;
  }
  if (res != NULL) {
    res->id = rec->id;
    res->status = status;
    res->len = len;
    res->exit_code = 0;
    res->term_signal = 0;
    if (len != 0)
      memcpy(pool->reply, shmpool__result_slot_data(slot), len);
    res->data = len != 0 ? pool->reply : NULL;
    pool->tasks_out--;
    return 1;
  }
  return shmpool__backlog_push(pool, rec->id, status,
                               shmpool__result_slot_data(slot), len, NULL);
}

/* take_result for a running worker; a worker that wrote nonsense is killed
 * and what it held fails with EPROTO. The parent never acts on the
 * nonsense itself. */
static int shmpool__take(shmpool *pool, shmpool__wslot *ws, shmpool_result *res,
                         int *took) {
  shmpool__plat_exit ex;
  int rc;
  if (!ws->running) {
    *took = 0;
    return 0;
  }
  rc = shmpool__take_result(pool, ws, res, took);
  if (rc != SHMPOOL_EPROTO)
    return rc;
  shmpool__plat_proc_kill(&ws->proc);
  if (shmpool__plat_proc_wait(&ws->proc, SHMPOOL__KILL_WAIT_MS, &ex) != 1) {
    shmpool__plat_proc_release(&ws->proc);
    ex.exit_code = -1;
    ex.term_signal = 0;
  }
  ws->running = 0;
  shmpool__worker_died(pool, ws, &ex, SHMPOOL_EPROTO);
  *took = 1;
  return 0;
}

/* Move every available result into the backlog (or, for map chunks,
 * account for them). Returns whether anything was consumed. */
static int shmpool__drain(shmpool *pool) {
  int any = 0, took;
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    do {
      if (shmpool__take(pool, &pool->w[i], NULL, &took) < 0)
        return any;
      any |= took;
    } while (took);
  }
  return any;
}

static int shmpool__results_pending(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    if (ws->running && ws->done != ws->tail &&
        shmpool__load_acq32(&ws->wb->result_tail) != ws->done)
      return 1;
  }
  return 0;
}

/* ---- worker processes -------------------------------------------------- */

static void shmpool__publish_pid(uint64_t pid, void *ctx) {
  shmpool__ctl_worker *wb = (shmpool__ctl_worker *)ctx;
  shmpool__store_rel64(&wb->pid, pid);
}

/* Start a process for worker block ws (fresh indices). */
static int shmpool__spawn(shmpool *pool, shmpool__wslot *ws) {
  int rc;
  ws->tail = ws->done = 0;
  ws->ready = 0;
  shmpool__store_rel32(&ws->wb->task_tail, 0);
  shmpool__store_rel32(&ws->wb->task_head, 0);
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

/* Worker ws has ended (reaped): complete what it held, then start a new
 * one unless it never got ready too often. `status` is what its tasks
 * complete with (EWORKER, or EPROTO for a worker killed as corrupt). */
/* A message that will never complete normally: release what it holds and
 * complete it with `status`. */
static void shmpool__fail_message(shmpool *pool, const shmpool__inflight *rec,
                                  int status, const shmpool__plat_exit *ex) {
  shmpool__segslots_drop(pool, rec->refs, rec->nrefs);
  if (rec->kind == SHMPOOL__TASK_MAP_CHUNK)
    shmpool__map_chunk_done(pool, rec, status);
  else
    (void)shmpool__backlog_push(pool, rec->id, status, NULL, 0, ex);
}

/* Worker ws has ended (reaped). Results it published are real results.
 * The task it was running fails with `status` (EWORKER, or EPROTO for a
 * worker killed as corrupt, which then fails everything it held); tasks
 * queued behind it that it never started are handed to its replacement,
 * which is started unless the block failed to get ready too often. */
static void shmpool__worker_died(shmpool *pool, shmpool__wslot *ws,
                                 const shmpool__plat_exit *ex, int status) {
  const uint32_t mask = pool->l.p.depth - 1;
  int was_ready = ws->ready;
  uint32_t first_unstarted = ws->tail, nsaved = 0, k;
  int took;

  if (status != SHMPOOL_EPROTO) {
    uint32_t head;
    do {
      if (shmpool__take_result(pool, ws, NULL, &took) == SHMPOOL_EPROTO)
        break;
    } while (took);
    /* The worker's own count of tasks taken: untrusted, but it can only
     * tell which queued tasks it never started, and must lie within what
     * was sent. Task `head` was running (or about to be). */
    head = shmpool__load_acq32(&ws->wb->task_head);
    if (head - ws->done <= ws->tail - ws->done)
      first_unstarted = head == ws->tail ? head : head + 1;
  }
  while (ws->done != first_unstarted)
    shmpool__fail_message(pool, &ws->inflight[ws->done++ & mask], status, ex);
  /* Keep the unstarted messages (slot bytes and records) aside. */
  for (k = first_unstarted; k != ws->tail; k++, nsaved++) {
    memcpy(pool->requeue_slots + (size_t)nsaved * pool->l.task_slot_size,
           shmpool__ctl_task_slot(ws->wb, &pool->l, k), pool->l.task_slot_size);
    pool->requeue_recs[nsaved] = ws->inflight[k & mask];
  }
  ws->done = ws->tail;

  shmpool__store_rel32(&ws->wb->state, SHMPOOL__W_EMPTY);
  if (shmpool__load_acq32(&pool->hdr->shutdown) == 0) {
    ws->start_failures = was_ready ? 0 : ws->start_failures + 1;
    if (ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
      ws->failed = 1;
    else if (shmpool__spawn(pool, ws) != 0)
      ws->start_failures++;
  }
  if (!ws->running) {
    for (k = 0; k < nsaved; k++)
      shmpool__fail_message(pool, &pool->requeue_recs[k], SHMPOOL_EWORKER, ex);
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
  shmpool__wake_worker(pool, ws); /* it may be asleep already */
}

/* Look at every worker process: reap the dead, notice the ready. */
static void shmpool__check_workers(shmpool *pool) {
  uint32_t i;
  pool->last_health_ns = shmpool__plat_now_ns();
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    shmpool__plat_exit ex;
    uint32_t state;
    if (!ws->running) {
      /* A block whose start failed: try again now and then. */
      if (!ws->failed && shmpool__load_acq32(&pool->hdr->shutdown) == 0 &&
          shmpool__spawn(pool, ws) != 0 &&
          ++ws->start_failures >= SHMPOOL__MAX_START_FAILURES)
        ws->failed = 1;
      continue;
    }
    state = shmpool__load_acq32(&ws->wb->state);
    if (state == SHMPOOL__W_READY)
      ws->ready = 1;
    if (shmpool__plat_proc_poll(&ws->proc, &ex) == 1) {
      ws->running = 0;
      /* A worker whose respawned initializer failed is not restarted. */
      if (state == SHMPOOL__W_INIT_FAILED)
        ws->start_failures = SHMPOOL__MAX_START_FAILURES;
      shmpool__worker_died(pool, ws, &ex, SHMPOOL_EWORKER);
    }
  }
}

static void shmpool__maybe_check_workers(shmpool *pool) {
  if (shmpool__plat_now_ns() - pool->last_health_ns >=
      (uint64_t)SHMPOOL__HEALTH_MS * 1000000u)
    shmpool__check_workers(pool);
}

/* What a waiting parent is waiting for. */
typedef int (*shmpool__cond_fn)(shmpool *pool);

/* Whether a worker's state changed in a way await_ready has not seen. */
static int shmpool__state_news(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    if (ws->running && !ws->ready &&
        shmpool__load_acq32(&ws->wb->state) != SHMPOOL__W_STARTING)
      return 1;
  }
  return 0;
}

/* Wait until cond(pool) holds, a worker process may need looking at, or
 * the deadline passes (SHMPOOL_ETIMEDOUT). Spins (checking cond on every
 * turn: a result that arrives now costs nothing), then yields, then sleeps
 * on the parent's wake word for at most one health-check interval. */
static int shmpool__await(shmpool *pool, uint64_t deadline,
                          shmpool__cond_fn cond) {
  uint64_t start = shmpool__plat_now_ns(), now = start;
  uint64_t health = (uint64_t)SHMPOOL__HEALTH_MS * 1000000u;
  uint32_t seq;
  unsigned n = 0;
  for (;;) {
    if (cond(pool))
      return 0;
    if ((++n & 63u) != 0) {
      shmpool__cpu_relax();
      continue;
    }
    now = shmpool__plat_now_ns();
    if (now >= deadline)
      return SHMPOOL_ETIMEDOUT;
    if (now - pool->last_health_ns >= health)
      return 0; /* let the caller look at the workers */
    if (now - start < SHMPOOL__SPIN_NS)
      continue;
    if (now - start >= SHMPOOL__SPIN_NS + SHMPOOL__YIELD_NS)
      break;
    shmpool__plat_sleep_ms(0);
  }
  /* Sleep: announce it, re-check, then wait on the word. Workers bump the
   * word after publishing anything if they see the announcement. */
  seq = shmpool__load_acq32(&pool->hdr->parent_futex);
  shmpool__store_rel32(&pool->hdr->parent_sleeping, 1);
  shmpool__fence();
  if (!cond(pool)) {
    uint64_t slice = health;
    if (deadline - now < slice)
      slice = deadline - now;
    (void)shmpool__plat_wait(&pool->parent_waker, &pool->hdr->parent_futex, seq,
                             (int)(slice / 1000000u) + 1);
  }
  shmpool__store_rel32(&pool->hdr->parent_sleeping, 0);
  return 0;
}

/* ---- sending ------------------------------------------------------------- */

/* The live worker with the shortest queue that has room for another
 * message (at most `limit` outstanding), or -1. */
static int shmpool__pick(shmpool *pool, uint32_t limit) {
  uint32_t i, best_load = UINT32_MAX;
  int best = -1;
  for (i = 0; i < pool->nworkers; i++) {
    shmpool__wslot *ws = &pool->w[i];
    uint32_t load = ws->tail - ws->done;
    if (ws->running && load < limit && load < best_load) {
      best = (int)i;
      best_load = load;
      if (load == 0)
        break;
    }
  }
  return best;
}

static int shmpool__any_worker_left(shmpool *pool) {
  uint32_t i;
  for (i = 0; i < pool->nworkers; i++)
    if (pool->w[i].running || !pool->w[i].failed)
      return 1;
  return 0;
}

/* Write a message into worker ws's next task slot and publish it. */
static void shmpool__send(shmpool *pool, shmpool__wslot *ws, uint64_t id,
                          uint32_t kind, const char *task, size_t name_len,
                          const void *arg, size_t arg_len, const uint32_t *refs,
                          uint32_t nsegs, const shmpool__inflight *extra) {
  shmpool__task_slot *s = shmpool__ctl_task_slot(ws->wb, &pool->l, ws->tail);
  shmpool__inflight *rec = &ws->inflight[ws->tail & (pool->l.p.depth - 1)];
  uint32_t i;
  s->id = id;
  s->kind = kind;
  s->name_len = (uint32_t)name_len;
  s->arg_len = (uint32_t)arg_len;
  s->nsegs = nsegs;
  memcpy(s->name, task, name_len);
  s->name[name_len] = '\0';
  for (i = 0; i < nsegs; i++) {
    s->segs[i].index = refs[i];
    s->segs[i].gen = pool->segs[refs[i]].gen;
  }
  if (arg_len != 0)
    memcpy(shmpool__task_slot_arg(s), arg, arg_len);
  if (extra != NULL)
    *rec = *extra;
  rec->id = id;
  rec->kind = kind;
  if (extra == NULL) {
    rec->nrefs = nsegs;
    if (nsegs != 0)
      memcpy(rec->refs, refs, nsegs * sizeof *refs);
  }
  ws->tail++;
  shmpool__store_rel32(&ws->wb->task_tail, ws->tail);
  shmpool__wake_worker(pool, ws);
}

static const shmpool_task_def *shmpool__find_def(const shmpool_task_def *t,
                                                 const char *name) {
  for (; t != NULL && t->name != NULL; t++)
    if (strcmp(t->name, name) == 0)
      return t;
  return NULL;
}

/* Checks common to submit and map. */
static int shmpool__check_task(shmpool *pool, const char *task,
                               shmpool_seg *const *segs, size_t nsegs,
                               size_t *name_len) {
  size_t i;
  if (task == NULL || task[0] == '\0')
    return SHMPOOL_EINVAL;
  *name_len = strlen(task);
  if (*name_len > SHMPOOL_TASK_NAME_MAX)
    return SHMPOOL_EINVAL;
  if (nsegs > SHMPOOL_TASK_SEGS_MAX || (nsegs != 0 && segs == NULL))
    return SHMPOOL_EINVAL;
  for (i = 0; i < nsegs; i++)
    if (segs[i] == NULL)
      return SHMPOOL_EINVAL;
  if (pool->opts.tasks != NULL &&
      shmpool__find_def(pool->opts.tasks, task) == NULL)
    return SHMPOOL_ENOTASK;
  return 0;
}

int shmpool_submit_timeout(shmpool *pool, const char *task, const void *arg,
                           size_t arg_len, shmpool_seg *const *segs,
                           size_t nsegs, uint64_t *id, int timeout_ms) {
  uint32_t refs[SHMPOOL_TASK_SEGS_MAX];
  uint64_t deadline = 0;
  size_t name_len;
  int rc, w, timed_out = 0;

  if (id != NULL)
    *id = 0;
  if (pool == NULL || (arg == NULL && arg_len != 0))
    return SHMPOOL_EINVAL;
  rc = shmpool__check_task(pool, task, segs, nsegs, &name_len);
  if (rc != 0)
    return rc;
  if (arg_len > pool->l.p.max_arg)
    return SHMPOOL_EMSGSIZE;
  shmpool__release_closed(pool);
  shmpool__maybe_check_workers(pool);

  for (;;) {
    w = shmpool__pick(pool, pool->l.p.depth);
    if (w >= 0) {
      rc = shmpool__segslots_hold(pool, segs, nsegs, refs);
      if (rc == 0)
        break;
    }
    /* No room: make some by moving finished results to parent memory. */
    if (shmpool__drain(pool))
      continue;
    if (!shmpool__any_worker_left(pool))
      return SHMPOOL_EWORKER;
    if (timed_out)
      return SHMPOOL_EAGAIN;
    if (deadline == 0)
      deadline = shmpool__deadline(timeout_ms);
    timed_out = shmpool__await(pool, deadline, shmpool__results_pending) ==
                SHMPOOL_ETIMEDOUT;
    /* Even a caller that never blocks must see a dead worker's queue
     * freed (and its tasks completed): look at the workers before giving
     * up, then try once more. */
    shmpool__maybe_check_workers(pool);
  }
  pool->next_id++;
  shmpool__send(pool, &pool->w[w], pool->next_id, SHMPOOL__TASK_ONE, task,
                name_len, arg, arg_len, refs, (uint32_t)nsegs, NULL);
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
  int took, timed_out = 0;
  if (pool == NULL || res == NULL)
    return SHMPOOL_EINVAL;
  memset(res, 0, sizeof *res);
  shmpool__release_closed(pool);
  for (;;) {
    uint32_t i, n = pool->nworkers;
    if (pool->backlog_len != 0) {
      shmpool__backlog_pop(pool, res);
      pool->tasks_out--;
      return 0;
    }
    if (pool->tasks_out == 0)
      return SHMPOOL_EIDLE;
    /* Round-robin, so one busy worker cannot starve the others' results. */
    for (i = 0; i < n; i++) {
      shmpool__wslot *ws = &pool->w[(pool->next_worker + i) % n];
      if (shmpool__take(pool, ws, res, &took) == 1) {
        pool->next_worker = (pool->next_worker + i + 1) % n;
        return 0;
      }
    }
    if (pool->backlog_len != 0)
      continue; /* a worker died and its tasks were completed */
    if (timed_out)
      return SHMPOOL_ETIMEDOUT;
    if (deadline == 0)
      deadline = shmpool__deadline(timeout_ms);
    timed_out = shmpool__await(pool, deadline, shmpool__results_pending) ==
                SHMPOOL_ETIMEDOUT;
    /* Also for wait(0) in a polling loop: a worker that died completes
     * its tasks with EWORKER, which this call may then return. */
    shmpool__maybe_check_workers(pool);
  }
}

/* ---- map ------------------------------------------------------------- */

static uint64_t shmpool__align64(uint64_t x) {
  return (x + 63u) & ~(uint64_t)63u;
}

/* A scratch segment of at least `need` bytes for map's arguments, replies
 * and statuses, reused between maps. */
static int shmpool__scratch(shmpool *pool, uint64_t need) {
  int rc;
  if (pool->scratch != NULL && shmpool_seg_size(pool->scratch) >= need)
    return 0;
  if (pool->scratch != NULL) {
    (void)shmpool_seg_close(pool->scratch); /* released once idle */
    pool->scratch = NULL;
  }
  if (need > SIZE_MAX)
    return SHMPOOL_ENOMEM;
  rc = shmpool_seg_create(&pool->scratch, NULL, (size_t)need, 0);
  return rc;
}

int shmpool_map(shmpool *pool, const char *task, const void *args,
                size_t arg_size, size_t n, shmpool_seg *const *segs,
                size_t nsegs, void *results, size_t result_size,
                int *statuses) {
  shmpool__map_state m;
  shmpool__inflight rec;
  uint64_t args_bytes, results_bytes, need, chunk, next = 0, i;
  uint32_t refs[SHMPOOL_TASK_SEGS_MAX + 1];
  shmpool_seg *all[SHMPOOL_TASK_SEGS_MAX + 1];
  size_t name_len;
  unsigned char *data;
  int rc, first_failure = 0;

  if (pool == NULL || (args == NULL && arg_size != 0 && n != 0) ||
      (results == NULL && result_size != 0 && n != 0))
    return SHMPOOL_EINVAL;
  rc = shmpool__check_task(pool, task, segs, nsegs, &name_len);
  if (rc != 0 || n == 0)
    return rc;
  if (pool->map != NULL)
    return SHMPOOL_EBUSY; /* a task function cannot call map in the parent */
  if ((uint64_t)n > UINT64_MAX / 4 ||
      (arg_size != 0 && (uint64_t)n > (UINT64_MAX / 4) / arg_size) ||
      (result_size != 0 && (uint64_t)n > (UINT64_MAX / 4) / result_size))
    return SHMPOOL_ENOMEM;
  args_bytes = shmpool__align64((uint64_t)n * arg_size);
  results_bytes = shmpool__align64((uint64_t)n * result_size);
  need = args_bytes + results_bytes + shmpool__align64((uint64_t)n * 4);
  shmpool__release_closed(pool);
  rc = shmpool__scratch(pool, need);
  if (rc != 0)
    return rc;

  /* Fill the scratch segment: arguments, and "not run" statuses. */
  data = (unsigned char *)shmpool_seg_data(pool->scratch);
  if (arg_size != 0)
    memcpy(data, args, (size_t)n * arg_size);
  for (i = 0; i < n; i++) {
    int32_t st = SHMPOOL__MAP_NOT_RUN;
    memcpy(data + args_bytes + results_bytes + 4 * i, &st, sizeof st);
  }
  m.scratch_data = data;
  m.status_off = args_bytes + results_bytes;
  m.chunks_out = 0;
  pool->map = &m;

  if (nsegs != 0)
    memcpy(all, segs, nsegs * sizeof *all);
  all[nsegs] = pool->scratch;
  chunk =
      (uint64_t)n / ((uint64_t)pool->nworkers * SHMPOOL__MAP_CHUNKS_PER_WORKER);
  if (chunk == 0)
    chunk = 1;

  while (next < n || m.chunks_out != 0) {
    int progressed = 0;
    while (next < n) {
      shmpool__map_chunk mc;
      int w = shmpool__pick(pool, SHMPOOL__MAP_QUEUED);
      if (w < 0 || shmpool__segslots_hold(pool, all, nsegs + 1, refs) != 0)
        break;
      memset(&mc, 0, sizeof mc);
      mc.scratch.index = refs[nsegs];
      mc.scratch.gen = pool->segs[refs[nsegs]].gen;
      mc.start = next;
      mc.count = n - next < chunk ? n - next : chunk;
      mc.arg_size = arg_size;
      mc.result_size = result_size;
      mc.args_off = 0;
      mc.results_off = args_bytes;
      mc.status_off = m.status_off;
      memset(&rec, 0, sizeof rec);
      rec.nrefs = (uint32_t)nsegs + 1;
      memcpy(rec.refs, refs, rec.nrefs * sizeof *refs);
      rec.start = mc.start;
      rec.count = mc.count;
      shmpool__send(pool, &pool->w[w], 0, SHMPOOL__TASK_MAP_CHUNK, task,
                    name_len, &mc, sizeof mc, refs, (uint32_t)nsegs, &rec);
      m.chunks_out++;
      next += mc.count;
      progressed = 1;
    }
    progressed |= shmpool__drain(pool);
    if (!progressed) {
      if (!shmpool__any_worker_left(pool) && m.chunks_out == 0) {
        /* Nobody left to run the rest. */
        for (i = next; i < n; i++) {
          int32_t st = SHMPOOL_EWORKER;
          memcpy(data + m.status_off + 4 * i, &st, sizeof st);
        }
        break;
      }
      (void)shmpool__await(pool, UINT64_MAX, shmpool__results_pending);
      shmpool__maybe_check_workers(pool);
    }
  }
  pool->map = NULL;

  if (result_size != 0)
    memcpy(results, data + args_bytes, (size_t)n * result_size);
  for (i = 0; i < n; i++) {
    int32_t st;
    memcpy(&st, data + m.status_off + 4 * i, sizeof st);
    if (st == SHMPOOL__MAP_NOT_RUN)
      st = SHMPOOL_EWORKER;
    if (statuses != NULL)
      statuses[i] = st;
    if (st != 0 && first_failure == 0)
      first_failure = st;
  }
  if (shmpool_seg_size(pool->scratch) > SHMPOOL__SCRATCH_KEEP) {
    (void)shmpool_seg_close(pool->scratch);
    pool->scratch = NULL;
    shmpool__release_closed(pool);
  }
  return first_failure;
}

/* ---- create / destroy -----------------------------------------------------
 */

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

static int shmpool__check_options(const shmpool_options *o,
                                  shmpool__ctl_params *p) {
  size_t init_len = o->init_task != NULL ? strlen(o->init_task) : 0;
  uint32_t workers = o->workers != 0 ? o->workers : shmpool__plat_cpu_count();
  size_t max_arg =
      o->max_arg_size != 0 ? o->max_arg_size : SHMPOOL__DEFAULT_MSG;
  size_t max_reply =
      o->max_reply_size != 0 ? o->max_reply_size : SHMPOOL__DEFAULT_MSG;
  uint32_t depth =
      o->queue_depth != 0 ? o->queue_depth : SHMPOOL__DEFAULT_DEPTH;
  uint32_t nsegtab =
      o->max_segments != 0 ? o->max_segments : SHMPOOL__DEFAULT_SEGTAB;
  if (workers > SHMPOOL__MAX_WORKERS || max_arg > SHMPOOL__MAX_MSG ||
      max_reply > SHMPOOL__MAX_MSG || depth > SHMPOOL__MAX_DEPTH ||
      nsegtab > SHMPOOL__MAX_SEGTAB || nsegtab < SHMPOOL_TASK_SEGS_MAX + 1 ||
      (o->init_task != NULL &&
       (init_len == 0 || init_len > SHMPOOL_TASK_NAME_MAX)) ||
      o->init_arg_len > max_arg ||
      (o->init_arg == NULL && o->init_arg_len != 0) ||
      o->start_timeout_ms < 0 || o->shutdown_timeout_ms < 0)
    return SHMPOOL_EINVAL;
  if (o->init_task != NULL && o->tasks != NULL &&
      shmpool__find_def(o->tasks, o->init_task) == NULL)
    return SHMPOOL_ENOTASK;
  p->nworkers = workers;
  p->depth = shmpool__pow2_at_least(depth < 2 ? 2 : depth);
  p->max_arg = (uint32_t)max_arg;
  p->max_reply = (uint32_t)max_reply;
  p->nsegtab = nsegtab;
  p->init_name_len = (uint32_t)init_len;
  p->init_arg_len = (uint32_t)o->init_arg_len;
  return 0;
}

/* Wait until every worker is ready; the first failure's status if not. */
static int shmpool__await_ready(shmpool *pool) {
  uint64_t deadline = shmpool__deadline(pool->opts.start_timeout_ms);
  for (;;) {
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
        fprintf(stderr,
                "shmpool: worker %u exited before it was ready "
                "(exit code %d, signal %d)\n",
                i, ex.exit_code, ex.term_signal);
        return SHMPOOL_ESPAWN;
      }
    }
    if (ready == pool->nworkers)
      return 0;
    if (shmpool__plat_now_ns() >= deadline)
      return SHMPOOL_ESPAWN;
    pool->last_health_ns = shmpool__plat_now_ns();
    (void)shmpool__await(pool, deadline, shmpool__state_news);
  }
}

static void shmpool__free(shmpool *pool);

int shmpool_create(shmpool **out, const shmpool_options *opts) {
  shmpool__ctl_params params;
  shmpool *pool = NULL;
  uint64_t pid;
  uint32_t i;
  char suffix[16];
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
  if (rc != 0)
    goto fail;

  if (opts->worker_path != NULL) {
    size_t len = strlen(opts->worker_path);
    pool->exe = (char *)malloc(len + 1);
    rc = pool->exe == NULL ? SHMPOOL_ENOMEM : 0;
    if (rc == 0)
      memcpy(pool->exe, opts->worker_path, len + 1);
  } else {
    rc = shmpool__plat_self_exe(&pool->exe);
  }
  if (rc != 0)
    goto fail;

  pool->nworkers = params.nworkers;
  pool->w = (shmpool__wslot *)calloc(pool->nworkers, sizeof *pool->w);
  pool->segs = (shmpool__segslot *)calloc(params.nsegtab, sizeof *pool->segs);
  pool->reply = (unsigned char *)malloc(params.max_reply + 1u);
  pool->requeue_slots =
      (unsigned char *)malloc((size_t)params.depth * pool->l.task_slot_size);
  pool->requeue_recs =
      (shmpool__inflight *)malloc(params.depth * sizeof *pool->requeue_recs);
  if (pool->w == NULL || pool->segs == NULL || pool->reply == NULL ||
      pool->requeue_slots == NULL || pool->requeue_recs == NULL) {
    rc = SHMPOOL_ENOMEM;
    goto fail;
  }
  for (i = 0; i < pool->nworkers; i++) {
    pool->w[i].inflight =
        (shmpool__inflight *)calloc(params.depth, sizeof *pool->w[i].inflight);
    if (pool->w[i].inflight == NULL) {
      rc = SHMPOOL_ENOMEM;
      goto fail;
    }
  }

  /* The control segment: header, initializer, empty queues. */
  rc = shmpool__seg_create(&pool->ctl, NULL, (size_t)pool->l.total_size, 0,
                           SHMPOOL__ATTR_CONTROL);
  if (rc != 0)
    goto fail;
  pool->base = (unsigned char *)shmpool_seg_data(pool->ctl);
  pool->hdr = shmpool__ctl_header(pool->base);
  pool->segtab = shmpool__ctl_segtab(pool->base, &pool->l);
  pid = shmpool__plat_pid();
  shmpool__ctl_init(pool->base, &pool->l, pid, shmpool__plat_proc_start(pid));
  if (params.init_name_len != 0) {
    unsigned char *init = pool->base + pool->l.init_off;
    memcpy(init, opts->init_task, params.init_name_len);
    init[params.init_name_len] = '\0';
    if (opts->init_arg_len != 0)
      memcpy(init + params.init_name_len + 1, opts->init_arg,
             opts->init_arg_len);
  }

  rc = shmpool__plat_waker_create(&pool->parent_waker,
                                  shmpool_seg_name(pool->ctl), "p");
  for (i = 0; rc == 0 && i < pool->nworkers; i++) {
    pool->w[i].wb = shmpool__ctl_worker_at(pool->base, &pool->l, i);
    snprintf(suffix, sizeof suffix, "w%u", i);
    rc = shmpool__plat_waker_create(&pool->w[i].waker,
                                    shmpool_seg_name(pool->ctl), suffix);
  }
  if (rc != 0)
    goto fail;

  for (i = 0; i < pool->nworkers; i++) {
    rc = shmpool__spawn(pool, &pool->w[i]);
    if (rc != 0)
      goto fail;
  }
  rc = shmpool__await_ready(pool);
  if (rc != 0)
    goto fail;
  pool->last_health_ns = shmpool__plat_now_ns();
  *out = pool;
  return 0;

fail : {
  /* Cleanup calls the OS too; the caller wants the error that failed. */
  int os_error = shmpool_last_os_error();
  shmpool__free(pool);
  shmpool__set_os_error(os_error);
  return rc;
}
}

/* Stop every worker (politely, then not), release everything. */
static void shmpool__free(shmpool *pool) {
  uint64_t deadline;
  uint32_t i;
  if (pool == NULL)
    return;
  if (pool->hdr != NULL) {
    shmpool__store_rel32(&pool->hdr->shutdown, 1);
    if (pool->w != NULL) {
      for (i = 0; i < pool->nworkers; i++)
        if (pool->w[i].wb != NULL)
          shmpool__wake_worker(pool, &pool->w[i]);
      /* Wake them unconditionally too: a worker between its re-check and
       * its sleep misses nothing, but a nap costs up to a second. */
      for (i = 0; i < pool->nworkers; i++)
        if (pool->w[i].wb != NULL) {
          (void)shmpool__fetch_add32(&pool->w[i].wb->worker_futex, 1);
          shmpool__plat_wake(&pool->w[i].waker, &pool->w[i].wb->worker_futex);
        }
    }
  }
  deadline = shmpool__deadline(pool->opts.shutdown_timeout_ms);
  for (i = 0; pool->w != NULL && i < pool->nworkers; i++) {
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
  for (i = 0; pool->segs != NULL && i < pool->l.p.nsegtab; i++) {
    shmpool__segslot *s = &pool->segs[i];
    if (s->seg == NULL)
      continue;
    if (s->inflight != 0)
      shmpool__seg_busy(s->seg, -1);
    (void)shmpool__seg_unref(s->seg);
  }
  if (pool->scratch != NULL)
    (void)shmpool_seg_close(pool->scratch);
  while (pool->backlog_len != 0) {
    free(pool->backlog[pool->backlog_head].data);
    pool->backlog_head = (pool->backlog_head + 1) % pool->backlog_cap;
    pool->backlog_len--;
  }
  free(pool->backlog);
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

int shmpool_destroy(shmpool *pool) {
  shmpool__free(pool);
  return 0;
}
