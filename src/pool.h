/* The parent side of a pool: the state its files share, and the layers
 * they form. Each file has one job, and calls only the layers below it:
 *
 *   pool.c       the public entry points: create, submit, wait, destroy
 *   map.c        shmpool_map: the scratch segment, chunks, statuses
 *   progress.c   moving results out of the rings, noticing dead workers,
 *                and waiting for either
 *   supervise.c  worker processes: spawn, health checks, death, requeue
 *   results.c    completing a message: its segment holds end, then its
 *                handler runs; finished tasks wait in parent memory
 *   ring.c       the per-worker queues: send, take, pick a worker
 *   segtab.c     the segment table: hold, drop, find, release, eviction
 *   args.c       checking what callers pass, before anything is sent
 *   idle.c       the idle/wake protocol (shared with worker.c)
 *
 * The parent never trusts what a worker wrote in shared memory: every
 * message it sends is also recorded here (the in-flight records), a
 * result must match the record, and every decision (restart, shutdown,
 * liveness) is taken from this private state.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_POOL_H
#define SHMPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "idle.h"
#include "internal.h"

typedef struct shmpool__inflight shmpool__inflight;
typedef struct shmpool__completion shmpool__completion;

/* What runs when a message completes (normally or not): a submitted
 * task's result goes to the finished queue, a map chunk to its map. */
typedef void (*shmpool__done_fn)(shmpool *pool, const shmpool__completion *c);

/* The parent's record of one message in a worker's queue. */
struct shmpool__inflight {
  uint64_t id;
  uint32_t kind;  /* SHMPOOL__TASK_ONE or SHMPOOL__TASK_MAP_CHUNK */
  uint32_t nrefs; /* segment table entries it holds */
  uint32_t refs[SHMPOOL_TASK_SEGS_MAX + 1];
  shmpool__done_fn done;
  void *ctx;             /* the handler's state (a map's), on the heap */
  uint64_t start, count; /* a map chunk's elements */
};

/* How a message ended: what its worker replied, or why it never will. */
struct shmpool__completion {
  shmpool__inflight rec; /* what was sent */
  int status;
  const unsigned char *data; /* the reply; valid during the handler */
  uint32_t len;
  int exit_code; /* for a worker that died: how it ended */
  int term_signal;
};

/* The parent's view of one worker block. */
typedef struct shmpool__wslot {
  uint32_t index;
  shmpool__ctl_worker *wb;
  shmpool__plat_proc proc;
  shmpool__plat_waker waker;
  shmpool__chan chan; /* waking this worker */
  int running;        /* a process is serving this block */
  int ready;          /* it finished its initializer */
  int condemned;      /* it wrote nonsense and was killed; not yet reaped */
  uint64_t condemned_ns;
  int failed;         /* given up on: not started again */
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
typedef struct shmpool__finished {
  uint64_t id;
  int status;
  int exit_code;
  int term_signal;
  size_t len;
  unsigned char *data;
} shmpool__finished;

struct shmpool {
  shmpool_options opts;
  char *exe;
  shmpool_seg *ctl;
  unsigned char *base;
  shmpool__ctl_layout l;
  shmpool__ctl_hdr *hdr;
  shmpool__segtab_entry *segtab;
  shmpool__plat_waker parent_waker;
  shmpool__chan chan; /* the parent's own channel: workers wake it */
  int shutting_down;  /* parent-private: never read back from hdr */
  uint64_t last_health_ns;

  shmpool__wslot *w;
  uint32_t nworkers;
  uint64_t next_id;

  shmpool__segslot *segs;
  uint32_t segs_used;
  uint64_t use_clock;

  /* Submitted tasks not yet handed to wait(), and those finished. */
  uint64_t tasks_out;
  shmpool__finished *finished;
  size_t finished_head, finished_len, finished_cap;
  unsigned char *reply; /* the data of the last result wait() returned */

  int in_map;           /* a shmpool_map is running */
  shmpool_seg *scratch; /* shmpool_map's arguments, replies, statuses */

  /* Room to move a dead worker's unstarted messages to its replacement. */
  unsigned char *requeue_slots;
  shmpool__inflight *requeue_recs;
};

/* ---- args.c ------------------------------------------------------------ */

/* The control segment's parameters for these options, or EINVAL /
 * ENOTASK. */
int shmpool__check_options(const shmpool_options *o, shmpool__ctl_params *p);

/* Checks common to submit and map: a task name (*name_len gets its
 * length) and a segment list. EINVAL or ENOTASK. */
int shmpool__check_task(const shmpool *pool, const char *task,
                        shmpool_seg *const *segs, size_t nsegs,
                        size_t *name_len);

/* ---- segtab.c ---------------------------------------------------------- */

/* Entries for segs[0..n), each with one in-flight hold; their indices go
 * to refs. EAGAIN, holding nothing, when every entry is in flight. */
int shmpool__segtab_hold(shmpool *pool, shmpool_seg *const *segs, size_t n,
                         uint32_t *refs);

/* End one hold on each entry; an entry whose user closed the segment is
 * released when its last hold ends. */
void shmpool__segtab_drop(shmpool *pool, const uint32_t *refs, uint32_t n);

/* Release every idle entry whose user has closed the segment. */
void shmpool__segtab_release_closed(shmpool *pool);

/* The reference a task slot carries for entry i. */
shmpool__segtab_ref shmpool__segtab_ref_of(const shmpool *pool, uint32_t i);

/* Drop every entry (destroy). */
void shmpool__segtab_free(shmpool *pool);

/* ---- ring.c ------------------------------------------------------------ */

/* One message to send. */
typedef struct shmpool__msg {
  uint32_t kind;
  const char *task;
  size_t name_len;
  const void *arg;
  size_t arg_len;
  const uint32_t *refs; /* segment table entries, already held */
  uint32_t nsegs;       /* how many of them the task names */
} shmpool__msg;

/* Write msg into worker ws's next task slot, record rec (its refs, done
 * handler and context; id and kind are set here), publish it and wake the
 * worker if it sleeps. The caller made sure there is room. */
void shmpool__ring_send(shmpool *pool, shmpool__wslot *ws,
                        const shmpool__msg *msg, uint64_t id,
                        const shmpool__inflight *rec);

/* Take worker ws's next result, checked against the parent's record:
 * 1 and *c filled (c->data points into the result slot, valid until the
 * next send to ws), 0 when there is none, SHMPOOL_EPROTO, taking nothing,
 * when what the worker wrote does not match what it was sent. */
int shmpool__ring_take(shmpool *pool, shmpool__wslot *ws,
                       shmpool__completion *c);

/* The live worker with the shortest queue that has room for another
 * message (at most `limit` outstanding), or -1. */
int shmpool__ring_pick(const shmpool *pool, uint32_t limit);

/* Whether any worker has published a result the parent has not taken. */
int shmpool__ring_pending(const shmpool *pool);

/* ---- results.c --------------------------------------------------------- */

/* A message completed: its segment holds end, then its handler runs. */
void shmpool__complete(shmpool *pool, const shmpool__completion *c);

/* The handler of submitted tasks: keep the result for shmpool_wait. */
void shmpool__task_done(shmpool *pool, const shmpool__completion *c);

/* Hand the oldest finished task to res (its data stays valid until the
 * next call). 0, or SHMPOOL_EAGAIN when none is finished. */
int shmpool__finished_pop(shmpool *pool, shmpool_result *res);

void shmpool__finished_free(shmpool *pool);

/* ---- supervise.c ------------------------------------------------------- */

/* Start a process for worker block ws. */
int shmpool__spawn(shmpool *pool, shmpool__wslot *ws);

/* Look at every worker process now: reap the dead (completing what they
 * held and starting replacements), notice the ready. Never blocks. */
void shmpool__check_workers(shmpool *pool);

/* Worker ws wrote something impossible: kill it (without waiting); it is
 * reaped, and what it held fails with SHMPOOL_EPROTO, at the next check. */
void shmpool__condemn(shmpool *pool, shmpool__wslot *ws);

/* Whether any worker runs or may still be started. */
int shmpool__any_worker_left(const shmpool *pool);

/* Starting up (create): 0 when every worker is ready, 1 while some are
 * not yet, or the first failure (a failing initializer's status, or
 * ESPAWN for a worker that exited). Never blocks. */
int shmpool__startup_status(shmpool *pool);

/* An idle condition for create: some starting worker changed state. */
int shmpool__startup_news(void *ctx);

/* Stop every worker: politely, then by force after the shutdown timeout. */
void shmpool__stop_workers(shmpool *pool);

/* ---- progress.c -------------------------------------------------------- */

/* Take every published result of every worker and complete it. Returns
 * whether anything completed. */
int shmpool__drain(shmpool *pool);

/* Check the workers if the last check is older than the health interval. */
void shmpool__maybe_check_workers(shmpool *pool);

/* Wait until some worker published a result, a health check is due, or
 * the deadline passes (SHMPOOL_ETIMEDOUT; UINT64_MAX: none). */
int shmpool__await(shmpool *pool, uint64_t deadline);

/* ---- map.c ------------------------------------------------------------- */

/* Release the map scratch segment (destroy). */
void shmpool__map_free(shmpool *pool);

#endif /* SHMPOOL_POOL_H */
