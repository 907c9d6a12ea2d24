/* The control segment of a pool: its layout, shared by the parent
 * (pool.c) and the workers (worker.c). docs/FORMAT.md describes it byte by
 * byte; the static checks in control.c keep the two in step.
 *
 * Trust: the parent trusts nothing a worker writes (it bounds-checks result
 * slots and indices, and keeps its own copy of everything it sent); a
 * worker validates the header once, keeps its own copy of the layout, and
 * bounds-checks every task slot. Neither re-reads a size from shared
 * memory after validating it.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_CONTROL_H
#define SHMPOOL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "shmpool.h"

#define SHMPOOL__CTL_MAGIC 0x4c544350u /* "PCTL" */
#define SHMPOOL__CTL_VERSION 3u
#define SHMPOOL__CACHE_LINE 64u

/* Limits that keep every computed size far from overflow. */
#define SHMPOOL__MAX_WORKERS 1024u
#define SHMPOOL__MAX_DEPTH 65536u
#define SHMPOOL__MAX_SEGTAB 4096u
#define SHMPOOL__MAX_MSG (16u << 20) /* largest arg or reply */

/* ---- the header: offset 0 of the control segment's data ---------------- */

typedef struct shmpool__ctl_hdr {
  /* Written once by the parent before any worker starts. */
  uint32_t magic;
  uint32_t version;
  uint32_t nworkers;
  uint32_t depth; /* slots per ring, a power of two */
  uint32_t task_slot_size;
  uint32_t result_slot_size;
  uint32_t max_arg;
  uint32_t max_reply;
  uint32_t nsegtab;
  uint32_t init_name_len; /* 0: no initializer */
  uint32_t init_arg_len;
  uint32_t reserved0;
  uint64_t parent_pid;
  uint64_t parent_start;
  uint64_t total_size; /* bytes of the control segment's data */
  uint64_t segtab_off;
  uint64_t workers_off;
  uint64_t worker_stride;
  uint64_t init_off; /* initializer name, NUL, then its argument */
  unsigned char pad0[128 - 104];
  /* Written by the parent while running (atomic). */
  uint32_t shutdown;     /* nonzero: workers exit after the current task */
  uint32_t segtab_epoch; /* bumped when a segment table entry is released */
  unsigned char pad1[64 - 8];
  /* The parent's wake channel: workers bump the word after publishing a
   * result if the parent has said it is sleeping. */
  uint32_t parent_futex;
  uint32_t parent_sleeping;
  unsigned char pad2[64 - 8];
} shmpool__ctl_hdr;

/* ---- the segment table ------------------------------------------------- */

/* One segment the parent has sent, named so workers can attach. gen is odd
 * while the entry is in use and changes whenever it is assigned or
 * released; a task names (index, gen), so a worker never serves a task from
 * a mapping of an older assignment. */
typedef struct shmpool__segtab_entry {
  uint32_t gen;
  uint32_t flags; /* SHMPOOL_SEG_READONLY / _RAW / _GLOBAL */
  uint64_t creation_id;
  uint64_t size;
  char name[SHMPOOL_NAME_MAX + 2]; /* NUL-terminated */
  unsigned char pad[64 - 24 - (SHMPOOL_NAME_MAX + 2)];
} shmpool__segtab_entry;

/* ---- per-worker block --------------------------------------------------- */

enum shmpool__worker_state {
  SHMPOOL__W_EMPTY = 0,
  SHMPOOL__W_STARTING = 1,   /* set by the parent before spawning */
  SHMPOOL__W_READY = 2,      /* set by the worker after its initializer */
  SHMPOOL__W_INIT_FAILED = 3 /* init_status holds the status */
};

typedef struct shmpool__ctl_worker {
  /* Line 0, written by the parent. */
  uint32_t task_tail;    /* task slots published */
  uint32_t worker_futex; /* the worker's wake word */
  uint64_t pid;          /* the process serving this block */
  uint32_t stop;         /* nonzero: exit once the queue is empty */
  unsigned char pad0[64 - 20];
  /* Line 1, written by the worker. */
  uint32_t reserved1;
  uint32_t worker_sleeping; /* nonzero: wake me after publishing */
  uint32_t state;
  int32_t init_status;
  unsigned char pad1[64 - 16];
  /* Line 2, written by the worker. */
  uint32_t result_tail; /* result slots published */
  unsigned char pad2[64 - 4];
  unsigned char pad3[64];
  /* Then depth task slots, then depth result slots. */
} shmpool__ctl_worker;

/* ---- ring slots -----------------------------------------------------------
 */

enum shmpool__task_kind {
  SHMPOOL__TASK_ONE = 1,      /* one submitted task */
  SHMPOOL__TASK_MAP_CHUNK = 2 /* a range of shmpool_map elements */
};

typedef struct shmpool__segtab_ref {
  uint32_t index;
  uint32_t gen;
} shmpool__segtab_ref;

/* A task slot's state word: the parent sets QUEUED when it publishes the
 * slot; the worker changes QUEUED to TAKEN (atomically) before it runs the
 * message, so the parent can tell, if the worker dies, which messages had
 * started. */
enum shmpool__slot_state {
  SHMPOOL__SLOT_QUEUED = 1,
  SHMPOOL__SLOT_TAKEN = 2,
  /* The parent canceled it while queued (QUEUED -> CANCELED, also atomic):
   * the worker skips it and completes it with SHMPOOL_ECANCELED. */
  SHMPOOL__SLOT_CANCELED = 3
};

typedef struct shmpool__task_slot {
  uint64_t id;
  uint32_t kind;
  uint32_t name_len;
  uint32_t arg_len;
  uint32_t nsegs;
  uint32_t state; /* atomic: enum shmpool__slot_state */
  uint32_t reserved;
  char name[SHMPOOL_TASK_NAME_MAX + 1];
  shmpool__segtab_ref segs[SHMPOOL_TASK_SEGS_MAX];
  unsigned char pad[256 - 32 - 64 - 8 * SHMPOOL_TASK_SEGS_MAX];
  /* Then the argument: max_arg bytes (at least sizeof(map_chunk)). */
} shmpool__task_slot;

/* The argument of a MAP_CHUNK task: where its elements live in the map's
 * scratch segment (offsets are from the scratch segment's data). */
typedef struct shmpool__map_chunk {
  shmpool__segtab_ref scratch;
  uint64_t start; /* first element index */
  uint64_t count;
  uint64_t arg_size;
  uint64_t result_size;
  uint64_t args_off;    /* element i's arg: args_off + i * arg_size */
  uint64_t results_off; /* element i's reply: results_off + i * result_size */
  uint64_t status_off;  /* element i's status: status_off + 4 * i */
} shmpool__map_chunk;

/* A map element whose status still holds this was never run. */
#define SHMPOOL__MAP_NOT_RUN INT32_MIN

typedef struct shmpool__result_slot {
  uint64_t id;
  int32_t status;
  uint32_t len;     /* of the reply */
  uint32_t msg_len; /* of the failure message; 0: none */
  uint32_t reserved[3];
  /* Then the message (SHMPOOL__MSG_AREA bytes), then max_reply bytes of
   * reply. */
} shmpool__result_slot;

/* Room for a failure message and its NUL. */
#define SHMPOOL__MSG_AREA (SHMPOOL_MESSAGE_MAX + 1u)

/* ---- layout ------------------------------------------------------------- */

/* What a pool asks for; the layout follows from it. */
typedef struct shmpool__ctl_params {
  uint32_t nworkers;
  uint32_t depth;
  uint32_t max_arg;
  uint32_t max_reply;
  uint32_t nsegtab;
  uint32_t init_name_len;
  uint32_t init_arg_len;
} shmpool__ctl_params;

/* Where everything is, computed (never read back from shared memory). */
typedef struct shmpool__ctl_layout {
  shmpool__ctl_params p;
  uint32_t task_slot_size;
  uint32_t result_slot_size;
  uint64_t segtab_off;
  uint64_t workers_off;
  uint64_t worker_stride;
  uint64_t init_off;
  uint64_t total_size;
} shmpool__ctl_layout;

/* Compute a layout; SHMPOOL_EINVAL if a parameter is out of range. */
int shmpool__ctl_layout_compute(const shmpool__ctl_params *p,
                                shmpool__ctl_layout *out);

/* Write the header of a fresh control segment. */
void shmpool__ctl_init(void *base, const shmpool__ctl_layout *l,
                       uint64_t parent_pid, uint64_t parent_start);

/* Validate the header of a control segment whose data is `size` bytes at
 * base (a worker's check): copies it out once, recomputes the layout from
 * its parameters and insists that every stored offset matches and fits.
 * Returns 0 and fills *out and the parent's identity, or SHMPOOL_EPROTO. */
int shmpool__ctl_validate(const void *base, size_t size,
                          shmpool__ctl_layout *out, uint64_t *parent_pid,
                          uint64_t *parent_start);

/* ---- checks of what the other side wrote (pure; fuzzed in fuzz/) ------ */

/* The parent's check of a worker's result ring: done/tail are the parent's
 * own counts of results consumed and messages sent, rtail what the worker
 * published, `slot` a private copy of the next result slot's header, and
 * expected_id the id the parent recorded for that message. Returns 0 when
 * there is no new result, 1 when the next one is valid, SHMPOOL_EPROTO
 * when the worker wrote something impossible. */
int shmpool__result_check(uint32_t done, uint32_t tail, uint32_t rtail,
                          const shmpool__result_slot *slot,
                          uint64_t expected_id, uint32_t max_reply);

/* The worker's check of a task slot (a private copy of its fixed part):
 * 0 or SHMPOOL_EPROTO. */
int shmpool__task_slot_check(const shmpool__task_slot *slot,
                             const shmpool__ctl_layout *l);

/* The worker's check of a map chunk against the scratch segment's size:
 * every element's argument, reply and status must lie inside it. 0 or
 * SHMPOOL_EPROTO. */
int shmpool__map_chunk_check(const shmpool__map_chunk *mc,
                             uint64_t scratch_size);

/* Addresses inside a validated layout. */
static inline shmpool__ctl_hdr *shmpool__ctl_header(void *base) {
  return (shmpool__ctl_hdr *)base;
}
static inline shmpool__segtab_entry *
shmpool__ctl_segtab(void *base, const shmpool__ctl_layout *l) {
  return (shmpool__segtab_entry *)((unsigned char *)base + l->segtab_off);
}
static inline shmpool__ctl_worker *
shmpool__ctl_worker_at(void *base, const shmpool__ctl_layout *l, uint32_t w) {
  return (shmpool__ctl_worker *)((unsigned char *)base + l->workers_off +
                                 (uint64_t)w * l->worker_stride);
}
static inline shmpool__task_slot *
shmpool__ctl_task_slot(shmpool__ctl_worker *wb, const shmpool__ctl_layout *l,
                       uint32_t seq) {
  return (shmpool__task_slot *)((unsigned char *)wb +
                                sizeof(shmpool__ctl_worker) +
                                (uint64_t)(seq & (l->p.depth - 1)) *
                                    l->task_slot_size);
}
static inline shmpool__result_slot *
shmpool__ctl_result_slot(shmpool__ctl_worker *wb, const shmpool__ctl_layout *l,
                         uint32_t seq) {
  return (shmpool__result_slot *)((unsigned char *)wb +
                                  sizeof(shmpool__ctl_worker) +
                                  (uint64_t)l->p.depth * l->task_slot_size +
                                  (uint64_t)(seq & (l->p.depth - 1)) *
                                      l->result_slot_size);
}
static inline unsigned char *shmpool__task_slot_arg(shmpool__task_slot *s) {
  return (unsigned char *)s + sizeof(shmpool__task_slot);
}
static inline unsigned char *shmpool__result_slot_msg(shmpool__result_slot *s) {
  return (unsigned char *)s + sizeof(shmpool__result_slot);
}
static inline unsigned char *
shmpool__result_slot_data(shmpool__result_slot *s) {
  return (unsigned char *)s + sizeof(shmpool__result_slot) + SHMPOOL__MSG_AREA;
}

#endif /* SHMPOOL_CONTROL_H */
