/* The parent side of a pool: the state its files share, and the layers
 * they form. Each file has one job, and calls only the layers below it:
 *
 *   pool.c       public entry points: create, destroy, submit, wait,
 *                cancel; the lock; fork and misuse checks
 *   map.c        shmpool_map and map jobs: scratch segments, chunks,
 *                statuses, progress
 *   sched.c      which worker runs which chunk: static ranges remembered
 *                per map shape, stealing; dynamic
 *   progress.c   moving results out of the rings, health checks,
 *                deadlines, and waiting (one thread at a time drives)
 *   cancel.c     canceling a message: in its queue, or by killing its
 *                worker
 *   supervise.c  worker processes: spawn, look, death, requeue, recycling
 *   tasks.c      submitted tasks from submit to wait: records, lookup by
 *                id, the finished queue, delivery
 *   ring.c       the per-worker queues: send, take, cancel, pick a worker
 *   segtab.c     the segment table: hold, drop, find, release, eviction
 *   args.c       checking what callers pass, before anything is sent
 *   idle.c       the idle/wake protocol (shared with worker.c)
 *
 * The parent never trusts what a worker wrote in shared memory: every
 * message it sends is also recorded here (the in-flight records), a result
 * must match the record, and every decision (restart, shutdown, liveness,
 * completion) is taken from this private state.
 *
 * Threads: every field below is protected by the pool's lock (mon), except
 * `kick`, which is atomic. One thread at a time "drives": it sleeps on the
 * parent's wake channel without the lock; the others wait on the lock's
 * condition variable, which every completion broadcasts.
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
typedef struct shmpool__task_rec shmpool__task_rec;
typedef struct shmpool__affinity shmpool__affinity;

/* What runs when a message completes (normally or not): a submitted
 * task's result goes to its task record, a map chunk to its job. */
typedef void (*shmpool__done_fn)(shmpool *pool, const shmpool__completion *c);

/* The parent's record of one message in a worker's queue. */
struct shmpool__inflight {
  uint64_t id;
  uint32_t kind;  /* SHMPOOL__TASK_ONE or SHMPOOL__TASK_MAP_CHUNK */
  uint32_t nrefs; /* segment table entries it holds */
  uint32_t refs[SHMPOOL_TASK_SEGS_MAX + 1];
  shmpool__done_fn done;
  void *ctx;             /* the task record, or the map job */
  uint64_t start, count; /* a map chunk's elements */
};

/* How a message ended: what its worker replied, or why it never will. */
struct shmpool__completion {
  shmpool__inflight rec; /* what was sent */
  uint32_t worker;       /* to which worker block */
  int status;
  const unsigned char *data; /* the reply; valid during the handler */
  uint32_t len;
  const unsigned char *msg; /* the failure message (msg_len bytes) */
  uint32_t msg_len;
  int exit_code; /* for a worker that died: how it ended */
  int term_signal;
};

/* A submitted task, from submit until its result is handed out. */
enum shmpool__task_state {
  SHMPOOL__T_FLIGHT = 1,   /* in a worker's queue, or running */
  SHMPOOL__T_FINISHED = 2, /* its result waits in parent memory */
  SHMPOOL__T_DELIVERED = 3 /* handed to a caller; data still in use */
};

struct shmpool__task_rec {
  uint64_t id;
  shmpool__task_rec *hnext;       /* lookup by id */
  shmpool__task_rec *prev, *next; /* the finished queue; the free list */
  int state;
  int claimed;          /* shmpool_wait does not return it: ... */
  int waited;           /* ... a shmpool_wait_id waits for it, or ... */
  int for_wait_id;      /* ... it was submitted for shmpool_wait_id only */
  int end_status;       /* nonzero: its worker was killed for it on purpose */
  uint64_t deadline_ns; /* 0: none */
  int status;
  int exit_code;
  int term_signal;
  uint32_t len;
  uint32_t msg_len;
  char message[SHMPOOL__MSG_AREA];
  /* max_reply bytes, allocated with the record; aligned like malloc's
   * memory for the 8-byte types, as callers read doubles out of it. */
  union {
    unsigned char bytes[1];
    uint64_t u;
    double d;
  } reply;
};

/* The result a thread was last handed: its data stays valid until that
 * thread's next wait. Each slot is its own allocation, so a thread keeps
 * its pointer while it sleeps in a wait and others add slots; a slot
 * passes to another thread only when it holds nothing and its thread is
 * not inside a wait. */
typedef struct shmpool__delivery {
  uint64_t thread;
  shmpool__task_rec *rec;
  int waiting; /* its thread is inside a wait */
} shmpool__delivery;

/* The parent's view of one worker block. */
typedef struct shmpool__wslot {
  uint32_t index;
  shmpool__ctl_worker *wb;
  shmpool__plat_proc proc;
  shmpool__plat_waker waker;
  shmpool__chan chan; /* waking this worker */
  int running;        /* a process is serving this block */
  int ready;          /* it finished its initializer */
  int condemned;      /* killed on purpose; not yet reaped */
  int corrupt;        /* ... because it wrote nonsense */
  uint64_t condemned_ns;
  int failed;   /* given up on: not started again */
  int stopping; /* asked to exit (recycling) */
  int start_failures;
  uint64_t sent;               /* messages sent to this process */
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

struct shmpool {
  shmpool_options opts;
  char *exe;
  char **worker_args; /* a NULL-terminated copy, or NULL */
  shmpool_seg *ctl;
  unsigned char *base;
  shmpool__ctl_layout l;
  shmpool__ctl_hdr *hdr;
  shmpool__segtab_entry *segtab;
  shmpool__plat_waker parent_waker;
  shmpool__chan chan; /* the parent's own channel: workers wake it */
  int shutting_down;  /* parent-private: never read back from hdr */
  uint64_t last_health_ns;

  /* Threads. */
  shmpool__plat_monitor *mon;
  uint32_t fork_gen; /* shmpool__plat_fork_generation() at create */
  int driving;       /* a thread sleeps on chan for everybody */
  int followers;     /* threads waiting on the condition variable */
  uint32_t kick;     /* atomic: bumped to wake the driver */
  uint32_t *watch;   /* the driver's snapshot of result counts */

  shmpool__wslot *w;
  uint32_t nworkers;

  shmpool__segslot *segs;
  uint32_t segs_used;
  uint64_t use_clock;

  /* Submitted tasks (tasks.c). */
  uint64_t next_id;
  shmpool__task_rec **buckets;
  uint32_t nbuckets; /* a power of two */
  size_t ntasks;     /* records in the lookup table */
  size_t unclaimed;  /* not handed out, not claimed by a wait_id */
  size_t ndeadlines; /* in flight with a deadline */
  shmpool__task_rec *fin_first, *fin_last; /* the finished queue */
  shmpool__task_rec *free_recs;
  size_t nfree;
  shmpool__delivery **deliveries;
  size_t ndeliveries, deliveries_cap;

  /* Maps (map.c). progress.c reaches them through these two hooks, which
   * pool.c sets, so the layers below map.c never call up into it. */
  shmpool_map_job *jobs; /* running jobs, linked */
  shmpool_seg *spare_scratch;
  shmpool__affinity *affinity; /* sched.c: who ran which chunk, per shape */
  uint32_t naffinity;
  void (*jobs_pump)(shmpool *pool);
  void (*jobs_maintain)(shmpool *pool, uint64_t now);

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

/* Copy a caller's struct of `size` bytes (its struct_size) into `out`,
 * which holds the library's defaults and is `out_size` bytes: fields the
 * caller does not know keep their defaults. EINVAL if size is too small to
 * be real, ENOTSUP if the caller's struct is larger and sets a field this
 * library does not know. */
int shmpool__copy_in(void *out, size_t out_size, const void *in, size_t size);

/* Every public pool call starts here: EINVAL for a NULL pool, EFORK in a
 * forked child, else 0 with the pool's lock held. */
int shmpool__enter(shmpool *pool);
/* ... and ends here, releasing the lock. */
void shmpool__leave(shmpool *pool);

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
  uint32_t nsegs; /* segments the task names: rec->refs[0..nsegs) */
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

/* Message `seq` of worker ws, still outstanding: 1 if it was queued and is
 * now canceled (the worker will skip it), 0 if the worker already took it
 * (it runs, or ran). */
int shmpool__ring_cancel(shmpool *pool, shmpool__wslot *ws, uint32_t seq);

/* Whether worker ws has published the result of message `seq`. */
int shmpool__ring_replied(const shmpool__wslot *ws, uint32_t seq);

/* The live worker with the shortest queue that has room for another
 * message (at most `limit` outstanding), or -1. */
int shmpool__ring_pick(const shmpool *pool, uint32_t limit);

/* Whether worker w is alive, not winding down, and has room for one more
 * message with at most `limit` outstanding. */
int shmpool__ring_room(const shmpool *pool, uint32_t w, uint32_t limit);
/* Whether ws may be given another message at all: alive, not condemned,
 * and not due to be recycled. */
int shmpool__ring_usable(const shmpool *pool, const shmpool__wslot *ws);

/* A message completed: its segment holds end, then its handler runs. */
static inline void shmpool__complete(shmpool *pool,
                                     const shmpool__completion *c) {
  shmpool__segtab_drop(pool, c->rec.refs, c->rec.nrefs);
  c->rec.done(pool, c);
}

/* ---- tasks.c ----------------------------------------------------------- */

/* A fresh record for a task about to be submitted, or NULL (ENOMEM). */
shmpool__task_rec *shmpool__task_new(shmpool *pool);
/* Give up a record that was never submitted. */
void shmpool__task_discard(shmpool *pool, shmpool__task_rec *rec);
/* Enter a submitted task (rec->id set) into the lookup table. */
void shmpool__task_enter(shmpool *pool, shmpool__task_rec *rec);
shmpool__task_rec *shmpool__task_find(const shmpool *pool, uint64_t id);

/* The handler of submitted tasks: the result goes into the record. */
void shmpool__task_done(shmpool *pool, const shmpool__completion *c);

/* A task completes in parent memory without its worker (canceled while
 * queued, or its deadline passed), and everybody waiting is woken. */
void shmpool__task_finish(shmpool *pool, shmpool__task_rec *rec, int status);

/* Wake everybody waiting in the pool: the driver (asleep on the parent's
 * channel) and the others (on the lock's condition variable). */
void shmpool__kick(shmpool *pool);

/* Wake the threads waiting on the lock's condition variable, if any: a
 * single thread using the pool pays nothing for it. */
static inline void shmpool__wake_followers(shmpool *pool) {
  if (pool->followers != 0)
    shmpool__plat_monitor_broadcast(pool->mon);
}

/* A shmpool_wait_id claims rec (on = 1: shmpool_wait must not return
 * it), or gives it up again (on = 0). */
void shmpool__task_claim(shmpool *pool, shmpool__task_rec *rec, int on);

/* The oldest finished task nobody claimed, or NULL. */
shmpool__task_rec *shmpool__task_next_finished(const shmpool *pool);

/* The calling thread's hand-out slot, found or added; NULL (ENOMEM). Get
 * it before taking a result, so handing it out cannot fail; mark it
 * `waiting` while the thread may sleep, so no other thread takes it. */
shmpool__delivery *shmpool__my_delivery(shmpool *pool);

/* Release what slot d was handed last, if anything. */
void shmpool__task_release(shmpool *pool, shmpool__delivery *d);

/* Hand rec's result to res through the caller's slot d, releasing what d
 * was handed before. */
void shmpool__task_deliver(shmpool *pool, shmpool__task_rec *rec,
                           shmpool_result *res, shmpool__delivery *d);

void shmpool__tasks_free(shmpool *pool);

/* ---- cancel.c ---------------------------------------------------------- */

/* Cancel outstanding message `seq` of worker ws: 1 if it was still queued
 * (the worker will skip it and reply SHMPOOL_ECANCELED), 0 if it was
 * running (its worker is now condemned: killed, reaped at the next look,
 * and the message fails then), -1 if it already has a result. */
int shmpool__cancel_msg(shmpool *pool, shmpool__wslot *ws, uint32_t seq);

/* Cancel task rec, in flight, with `status` (ECANCELED, ETIMEDOUT): as
 * shmpool__cancel_msg, which it returns (-1: it had just finished, or is
 * already being canceled). */
int shmpool__cancel_task(shmpool *pool, shmpool__task_rec *rec, int status);

/* The same for a task known to be message `seq` of worker w. */
int shmpool__cancel_task_at(shmpool *pool, uint32_t w, uint32_t seq,
                            shmpool__task_rec *rec, int status);

/* The handler of a message whose outcome nobody needs any more. */
void shmpool__discard(shmpool *pool, const shmpool__completion *c);

/* Cancel, with `status`, every submitted task in flight (expired_at 0), or
 * those whose deadline is at or before expired_at. Returns how many. */
int shmpool__cancel_tasks(shmpool *pool, uint64_t expired_at, int status);

/* Find the outstanding message whose record has context ctx: 1 and its
 * worker and sequence, or 0. */
int shmpool__find_msg(const shmpool *pool, const void *ctx, uint32_t *w,
                      uint32_t *seq);

/* ---- supervise.c ------------------------------------------------------- */

/* Start a process for worker block ws. */
int shmpool__spawn(shmpool *pool, shmpool__wslot *ws);

/* Look at every worker process now: reap the dead (completing what they
 * held and starting replacements), notice the ready, recycle the worn.
 * Never blocks. */
void shmpool__check_workers(shmpool *pool);

/* Kill worker ws on purpose, without waiting: it runs something that was
 * canceled, or (corrupt) it wrote nonsense. It is reaped at the next look;
 * what it held completes then: its published results and queued messages
 * normally (requeued), its running message with EWORKER or the reason it
 * was canceled; if corrupt, everything with EPROTO. */
void shmpool__condemn(shmpool *pool, shmpool__wslot *ws, int corrupt);

/* Emit a diagnostic through opts.log, if set. */
void shmpool__log(shmpool *pool, int level, const char *fmt, ...);

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
 * whether anything completed (and then wakes the threads that wait). */
int shmpool__drain(shmpool *pool);

/* Health checks, deadlines and recycling, if the last look is older than
 * the health interval. */
void shmpool__maintain(shmpool *pool);

/* With the lock held and nothing to do: wait (without the lock) until a
 * result arrives, something changed, maintenance is due, or the deadline
 * passes; then drain and maintain. Returns SHMPOOL_ETIMEDOUT if the
 * deadline (UINT64_MAX: none) has passed, else 0. */
int shmpool__wait_progress(shmpool *pool, uint64_t deadline);

/* ---- sched.c ----------------------------------------------------------- */

/* One map's schedule. */
typedef struct shmpool__sched {
  int dynamic;
  uint64_t n, chunk, nchunks;
  uint32_t nworkers;
  uint64_t next;     /* dynamic: the next chunk */
  uint64_t *order;   /* static: chunk indices grouped by worker ... */
  uint64_t *lo, *hi; /* ... worker w's still to send: order[lo[w]..hi[w]) */
  uint64_t *share;   /* static: worker w's chunks at the start */
  uint16_t *ran_by;  /* the worker that ran each chunk (NULL: not kept) */
  uint64_t *seen;    /* per chunk, bit w % 64: worker w ran it, this map or
                        an earlier one of the shape (NULL: not kept) */
  uint64_t (*now)(void); /* the clock (tests set their own) */
  uint64_t t0;           /* now() at init */
  uint64_t ndone;        /* chunks completed */
  double cold_ns; /* a chunk's time in the shape's first map (0: unknown) */
} shmpool__sched;

/* Where sched_next took a chunk from, to put it back. */
typedef struct shmpool__sched_undo {
  uint32_t from;
  int own;
} shmpool__sched_undo;

/* A schedule for nchunks chunks of `chunk` elements (n in all): ENOMEM or
 * 0. Static schedules start from what the pool remembers for the shape. */
int shmpool__sched_init(shmpool__sched *s, shmpool *pool, int schedule,
                        uint64_t n, uint64_t chunk, uint64_t nchunks);
/* The next chunk for worker w (its own, else stolen), or UINT64_MAX: none
 * left, or none worth stealing yet (its owner will send it). */
uint64_t shmpool__sched_next(shmpool__sched *s, uint32_t w,
                             shmpool__sched_undo *undo);
/* Worker w takes victim's far-end unsent chunk whatever it costs (the
 * victim cannot take messages now), or UINT64_MAX. */
uint64_t shmpool__sched_steal_from(shmpool__sched *s, uint32_t w,
                                   uint32_t victim, shmpool__sched_undo *undo);
/* Any chunk still unsent, or UINT64_MAX (stopping a map). */
uint64_t shmpool__sched_take_any(shmpool__sched *s,
                                 shmpool__sched_undo *undo);
/* Put back the chunk sched_next just returned. */
void shmpool__sched_put_back(shmpool__sched *s,
                             const shmpool__sched_undo *undo);
/* Chunk ran on worker w. */
void shmpool__sched_ran(shmpool__sched *s, uint64_t chunk, uint32_t w);
/* The map completed: remember who ran what, for the next of its shape. */
void shmpool__sched_remember(shmpool *pool, shmpool__sched *s);
void shmpool__sched_free(shmpool__sched *s);
/* Forget every shape (destroy). */
void shmpool__affinity_free(shmpool *pool);

/* ---- map.c ------------------------------------------------------------- */

/* The hooks: send what running jobs can send now; enforce their
 * deadlines. */
void shmpool__jobs_pump(shmpool *pool);
void shmpool__jobs_maintain(shmpool *pool, uint64_t now);

/* Cancel every running job; returns how many. */
int shmpool__jobs_cancel_all(shmpool *pool);

/* Free every job and scratch segment (destroy). */
void shmpool__jobs_free(shmpool *pool);

#endif /* SHMPOOL_POOL_H */
