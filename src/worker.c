/* The worker side of a pool: attach to the control segment by name, run
 * the initializer, then serve tasks from this worker's queue until the pool
 * shuts down or the parent dies.
 *
 * A worker trusts the control segment only as far as it has checked it:
 * the header once (the layout is then kept in private memory), and every
 * task slot as it is read. A corrupt control segment ends this worker with
 * an error message and a nonzero exit status; it never crashes it.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "control.h"
#include "idle.h"
#include "internal.h"

/* A sleeping worker still looks around this often (ms): the wake protocol
 * loses nothing, so this only bounds the cost of a wake that went wrong. */
#define SHMPOOL__WORKER_NAP_MS 1000
/* How long a new worker waits for the parent to publish its pid (ms). */
#define SHMPOOL__CLAIM_MS 30000u

/* Worker exit statuses (documented in docs/FORMAT.md). */
#define SHMPOOL__EXIT_USAGE 2
#define SHMPOOL__EXIT_ATTACH 3
#define SHMPOOL__EXIT_PROTO 4
#define SHMPOOL__EXIT_PARENT 5
#define SHMPOOL__EXIT_INIT 6

struct shmpool_task {
  const void *arg;
  size_t arg_len;
  uint64_t id;
  size_t nsegs;
  void *seg_data[SHMPOOL_TASK_SEGS_MAX];
  size_t seg_size[SHMPOOL_TASK_SEGS_MAX];
  unsigned char *reply; /* where the reply goes (result slot or scratch) */
  size_t reply_cap;
  size_t reply_len;
};

typedef struct shmpool__cached_seg {
  uint32_t gen;
  shmpool_seg *seg;
} shmpool__cached_seg;

typedef struct shmpool__worker {
  const shmpool_task_def *tasks;
  const shmpool_task_def *last; /* the last task looked up by name */
  shmpool_seg *ctl;
  unsigned char *base;
  shmpool__ctl_layout l;
  shmpool__ctl_hdr *hdr;
  shmpool__ctl_worker *wb;
  shmpool__segtab_entry *segtab;
  shmpool__cached_seg *cache; /* one per segment table entry */
  uint32_t seen_epoch;
  uint32_t head;        /* task slots consumed (private) */
  uint32_t result_tail; /* result slots published (private copy) */
  shmpool__plat_waker self_waker, parent_waker;
  shmpool__chan parent; /* waking the parent */
  shmpool__chan self;   /* being woken */
} shmpool__worker;

static void shmpool__worker_say(const char *ctl_name, const char *what,
                                int rc) {
  fprintf(stderr, "shmpool worker (%s): %s: %s\n",
          ctl_name != NULL ? ctl_name : "?", what, shmpool_strerror(rc));
}

int shmpool_is_worker(int argc, char **argv) {
  return argc >= 3 && argv != NULL && argv[1] != NULL &&
         strcmp(argv[1], SHMPOOL__WORKER_FLAG) == 0;
}

/* ---- the task API ----------------------------------------------------- */

const void *shmpool_task_arg(const shmpool_task *t, size_t *len) {
  if (len != NULL)
    *len = t != NULL ? t->arg_len : 0;
  return t != NULL ? t->arg : NULL;
}

uint64_t shmpool_task_id(const shmpool_task *t) {
  return t != NULL ? t->id : 0;
}

size_t shmpool_task_nsegs(const shmpool_task *t) {
  return t != NULL ? t->nsegs : 0;
}

void *shmpool_task_seg(shmpool_task *t, size_t i, size_t *size) {
  if (t == NULL || i >= t->nsegs) {
    if (size != NULL)
      *size = 0;
    return NULL;
  }
  if (size != NULL)
    *size = t->seg_size[i];
  return t->seg_data[i];
}

int shmpool_task_reply(shmpool_task *t, const void *data, size_t len) {
  if (t == NULL || (data == NULL && len != 0))
    return SHMPOOL_EINVAL;
  if (len > t->reply_cap)
    return SHMPOOL_EMSGSIZE;
  if (len != 0)
    memcpy(t->reply, data, len);
  t->reply_len = len;
  return 0;
}

/* ---- segments --------------------------------------------------------- */

/* Drop cached mappings whose table entry has been released or reassigned:
 * a worker's cache must never keep a released segment's memory alive. */
static void shmpool__worker_prune(shmpool__worker *w) {
  uint32_t epoch = shmpool__load_acq32(&w->hdr->segtab_epoch);
  uint32_t i;
  if (epoch == w->seen_epoch)
    return;
  w->seen_epoch = epoch;
  for (i = 0; i < w->l.p.nsegtab; i++) {
    shmpool__cached_seg *c = &w->cache[i];
    if (c->seg != NULL && shmpool__load_acq32(&w->segtab[i].gen) != c->gen) {
      shmpool_seg_close(c->seg);
      c->seg = NULL;
    }
  }
}

/* The mapping for a (table index, generation) reference. */
static int shmpool__worker_attach(shmpool__worker *w, shmpool__segtab_ref ref,
                                  shmpool_seg **out) {
  shmpool__segtab_entry e;
  shmpool__cached_seg *c;
  shmpool_seg *seg;
  int rc;
  if (ref.index >= w->l.p.nsegtab || (ref.gen & 1u) == 0)
    return SHMPOOL_EPROTO; /* checked already; kept for the scratch ref */
  c = &w->cache[ref.index];
  if (c->seg != NULL && c->gen == ref.gen) {
    *out = c->seg;
    return 0;
  }
  if (c->seg != NULL) {
    shmpool_seg_close(c->seg);
    c->seg = NULL;
  }
  /* Read the entry like a seqlock: the parent never changes an entry that
   * a queued task names, so a generation change means corruption. */
  if (shmpool__load_acq32(&w->segtab[ref.index].gen) != ref.gen)
    return SHMPOOL_EPROTO;
  memcpy(&e, &w->segtab[ref.index], sizeof e);
  shmpool__fence();
  if (shmpool__load_acq32(&w->segtab[ref.index].gen) != ref.gen)
    return SHMPOOL_EPROTO;
  e.name[SHMPOOL_NAME_MAX] = '\0';
  rc = shmpool_seg_open(
      &seg, e.name,
      e.flags & (SHMPOOL_SEG_READONLY | SHMPOOL_SEG_RAW | SHMPOOL_SEG_GLOBAL));
  if (rc != 0)
    return rc;
  /* The name may have been unlinked and reused by someone else since the
   * parent sent it: then the segment the task meant is gone. */
  if ((e.flags & SHMPOOL_SEG_RAW) == 0 &&
      (seg->creation_id != e.creation_id || seg->size != e.size)) {
    shmpool_seg_close(seg);
    return SHMPOOL_ENOENT;
  }
  c->seg = seg;
  c->gen = ref.gen;
  *out = seg;
  return 0;
}

/* ---- running tasks ------------------------------------------------------ */

static shmpool_task_fn shmpool__worker_lookup(shmpool__worker *w,
                                              const char *name, uint32_t len) {
  const shmpool_task_def *d;
  if (w->last != NULL && strncmp(w->last->name, name, len) == 0 &&
      w->last->name[len] == '\0')
    return w->last->fn;
  for (d = w->tasks; d != NULL && d->name != NULL; d++) {
    if (strncmp(d->name, name, len) == 0 && d->name[len] == '\0' &&
        d->fn != NULL) {
      w->last = d;
      return d->fn;
    }
  }
  return NULL;
}

static int shmpool__run_map_chunk(shmpool__worker *w, shmpool_task_fn fn,
                                  shmpool_task *t,
                                  const shmpool__map_chunk *mc) {
  shmpool_seg *scratch;
  unsigned char *data;
  uint64_t size, i;
  int rc = shmpool__worker_attach(w, mc->scratch, &scratch);
  if (rc != 0)
    return rc;
  data = (unsigned char *)shmpool_seg_data(scratch);
  size = shmpool_seg_size(scratch);
  if (shmpool__map_chunk_check(mc, size) != 0)
    return SHMPOOL_EPROTO;
  for (i = mc->start; i < mc->start + mc->count; i++) {
    int32_t status;
    if (shmpool__load_acq32(&w->hdr->shutdown) != 0)
      break; /* the pool is going away; the rest stays NOT_RUN */
    t->id = i;
    t->arg = mc->arg_size != 0 ? data + mc->args_off + i * mc->arg_size : NULL;
    t->arg_len = (size_t)mc->arg_size;
    t->reply = data + mc->results_off + i * mc->result_size;
    t->reply_cap = (size_t)mc->result_size;
    t->reply_len = 0;
    status = (int32_t)(fn != NULL ? fn(t) : SHMPOOL_ENOTASK);
    if (t->reply_len < t->reply_cap)
      memset(t->reply + t->reply_len, 0, t->reply_cap - t->reply_len);
    memcpy(data + mc->status_off + 4 * i, &status, sizeof status);
  }
  return 0;
}

/* Run the task in slot `s`; fill the result slot `r`. */
static void shmpool__run_slot(shmpool__worker *w, shmpool__task_slot *shared,
                              shmpool__result_slot *r) {
  shmpool__task_slot s; /* the fixed part, copied once, then checked */
  shmpool_task t;
  shmpool_task_fn fn;
  uint32_t i;
  int status = 0;

  memcpy(&s, shared, sizeof s);
  memset(&t, 0, sizeof t);
  r->id = s.id;
  r->len = 0;
  if (shmpool__task_slot_check(&s, &w->l) != 0) {
    status = SHMPOOL_EPROTO;
    goto done;
  }
  fn = shmpool__worker_lookup(w, s.name, s.name_len);
  if (fn == NULL) {
    status = SHMPOOL_ENOTASK;
    if (s.kind == SHMPOOL__TASK_ONE)
      goto done;
  }
  for (i = 0; i < s.nsegs; i++) {
    shmpool_seg *seg;
    status = shmpool__worker_attach(w, s.segs[i], &seg);
    if (status != 0)
      goto done;
    t.seg_data[i] = shmpool_seg_data(seg);
    t.seg_size[i] = shmpool_seg_size(seg);
  }
  t.nsegs = s.nsegs;
  if (s.kind == SHMPOOL__TASK_ONE) {
    t.id = s.id;
    /* The argument stays in the slot (no copy); the parent does not touch
     * a slot until its result is consumed. */
    t.arg = s.arg_len != 0 ? shmpool__task_slot_arg(shared) : NULL;
    t.arg_len = s.arg_len;
    t.reply = shmpool__result_slot_data(r);
    t.reply_cap = w->l.p.max_reply;
    status = fn(&t);
    r->len = (uint32_t)t.reply_len;
  } else {
    shmpool__map_chunk mc;
    memcpy(&mc, shmpool__task_slot_arg(shared), sizeof mc);
    /* Element statuses carry ENOTASK; the chunk itself completed. */
    status = shmpool__run_map_chunk(w, fn, &t, &mc);
  }
done:
  r->status = (int32_t)status;
}

/* ---- the loop ------------------------------------------------------------ */

/* Whether there is something to act on: a task, shutdown, or a segment
 * released (whose mapping must go). */
static int shmpool__worker_news(void *ctx) {
  shmpool__worker *w = (shmpool__worker *)ctx;
  return shmpool__load_acq32(&w->wb->task_tail) != w->head ||
         shmpool__load_acq32(&w->hdr->shutdown) != 0 ||
         shmpool__load_acq32(&w->hdr->segtab_epoch) != w->seen_epoch;
}

/* Take the task in slot `s` (see enum shmpool__slot_state) and run it,
 * filling result slot `r`. A slot the parent did not queue completes with
 * EPROTO and is not run. */
static void shmpool__worker_take(shmpool__worker *w, shmpool__task_slot *s,
                                 shmpool__result_slot *r) {
  if (!shmpool__cas32(&s->state, SHMPOOL__SLOT_QUEUED, SHMPOOL__SLOT_TAKEN)) {
    r->id = s->id;
    r->len = 0;
    r->status = SHMPOOL_EPROTO;
    return;
  }
  shmpool__run_slot(w, s, r);
}

static int shmpool__worker_serve(shmpool__worker *w, const char *ctl_name) {
  for (;;) {
    uint32_t tail;
    (void)shmpool__idle(&w->self, shmpool__worker_news, w,
                        shmpool__deadline(SHMPOOL__WORKER_NAP_MS));
    shmpool__worker_prune(w);
    if (shmpool__load_acq32(&w->hdr->shutdown) != 0)
      return 0;
    tail = shmpool__load_acq32(&w->wb->task_tail);
    if (tail - w->head > w->l.p.depth) {
      shmpool__worker_say(ctl_name, "task queue index out of range",
                          SHMPOOL_EPROTO);
      return SHMPOOL__EXIT_PROTO;
    }
    while (w->head != tail) {
      shmpool__task_slot *s = shmpool__ctl_task_slot(w->wb, &w->l, w->head);
      shmpool__result_slot *r =
          shmpool__ctl_result_slot(w->wb, &w->l, w->result_tail);
      shmpool__worker_take(w, s, r);
      w->head++;
      w->result_tail++;
      shmpool__store_rel32(&w->wb->result_tail, w->result_tail);
      shmpool__chan_wake(&w->parent);
      if (shmpool__load_acq32(&w->hdr->shutdown) != 0)
        return 0;
    }
  }
}

/* Find the worker block the parent published our pid in. */
static int shmpool__worker_claim(shmpool__worker *w) {
  uint64_t pid = shmpool__plat_pid();
  uint64_t deadline =
      shmpool__plat_now_ns() + (uint64_t)SHMPOOL__CLAIM_MS * 1000000u;
  do {
    uint32_t i;
    for (i = 0; i < w->l.p.nworkers; i++) {
      shmpool__ctl_worker *wb = shmpool__ctl_worker_at(w->base, &w->l, i);
      if (shmpool__load_acq64(&wb->pid) == pid &&
          shmpool__load_acq32(&wb->state) == SHMPOOL__W_STARTING) {
        w->wb = wb;
        return (int)i;
      }
    }
    shmpool__plat_sleep_ms(1);
  } while (shmpool__plat_now_ns() < deadline &&
           shmpool__load_acq32(&w->hdr->shutdown) == 0);
  return -1;
}

static int shmpool__worker_init_task(shmpool__worker *w) {
  const char *name = (const char *)w->base + w->l.init_off;
  uint32_t len = w->l.p.init_name_len;
  shmpool_task_fn fn;
  shmpool_task t;
  unsigned char reply[1];
  if (len == 0)
    return 0;
  fn = shmpool__worker_lookup(w, name, len);
  if (fn == NULL)
    return SHMPOOL_ENOTASK;
  memset(&t, 0, sizeof t);
  t.arg = w->l.p.init_arg_len != 0 ? w->base + w->l.init_off + len + 1 : NULL;
  t.arg_len = w->l.p.init_arg_len;
  t.reply = reply; /* an initializer's reply goes nowhere */
  t.reply_cap = 0;
  return fn(&t);
}

int shmpool_worker_main(int argc, char **argv, const shmpool_task_def *tasks) {
  const char *ctl_name = argc >= 3 ? argv[2] : NULL;
  shmpool__worker w;
  uint64_t parent_pid, parent_start;
  char suffix[16];
  int index, rc, exit_code = 0;
  uint32_t i;

  memset(&w, 0, sizeof w);
  w.tasks = tasks;
  if (!shmpool_is_worker(argc, argv) || shmpool_name_check(ctl_name) != 0) {
    shmpool__worker_say(ctl_name, "bad command line", SHMPOOL_EINVAL);
    return SHMPOOL__EXIT_USAGE;
  }
  rc = shmpool_seg_open(&w.ctl, ctl_name, 0);
  if (rc != 0) {
    shmpool__worker_say(ctl_name, "cannot attach to the pool", rc);
    return SHMPOOL__EXIT_ATTACH;
  }
  w.base = (unsigned char *)shmpool_seg_data(w.ctl);
  rc = shmpool__ctl_validate(w.base, shmpool_seg_size(w.ctl), &w.l, &parent_pid,
                             &parent_start);
  if (rc != 0) {
    shmpool__worker_say(ctl_name, "invalid control segment", rc);
    exit_code = SHMPOOL__EXIT_PROTO;
    goto out;
  }
  w.hdr = shmpool__ctl_header(w.base);
  w.segtab = shmpool__ctl_segtab(w.base, &w.l);
  w.seen_epoch = shmpool__load_acq32(&w.hdr->segtab_epoch);
  if (shmpool__plat_worker_init(parent_pid, parent_start) != 0) {
    exit_code = SHMPOOL__EXIT_PARENT;
    goto out;
  }
  index = shmpool__worker_claim(&w);
  if (index < 0) {
    shmpool__worker_say(ctl_name, "not a worker of this pool", SHMPOOL_EPROTO);
    exit_code = SHMPOOL__EXIT_PROTO;
    goto out;
  }
  w.cache = (shmpool__cached_seg *)calloc(w.l.p.nsegtab, sizeof *w.cache);
  snprintf(suffix, sizeof suffix, "w%d", index);
  rc = w.cache == NULL
           ? SHMPOOL_ENOMEM
           : shmpool__plat_waker_open(&w.self_waker, ctl_name, suffix);
  if (rc == 0)
    rc = shmpool__plat_waker_open(&w.parent_waker, ctl_name, "p");
  if (rc != 0) {
    shmpool__worker_say(ctl_name, "cannot open the wake channels", rc);
    exit_code = SHMPOOL__EXIT_ATTACH;
    goto out;
  }
  w.parent.word = &w.hdr->parent_futex;
  w.parent.sleeping = &w.hdr->parent_sleeping;
  w.parent.waker = &w.parent_waker;
  w.self.word = &w.wb->worker_futex;
  w.self.sleeping = &w.wb->worker_sleeping;
  w.self.waker = &w.self_waker;
  /* Our private indices start where the parent left them: at 0 (a
   * replacement's queue may already hold its predecessor's unstarted
   * tasks, from slot 0 on). */
  w.head = 0;
  w.result_tail = 0;

  rc = shmpool__worker_init_task(&w);
  if (rc != 0) {
    w.wb->init_status = rc;
    shmpool__store_rel32(&w.wb->state, SHMPOOL__W_INIT_FAILED);
    shmpool__chan_wake(&w.parent);
    exit_code = SHMPOOL__EXIT_INIT;
    goto out;
  }
  shmpool__store_rel32(&w.wb->state, SHMPOOL__W_READY);
  shmpool__chan_wake(&w.parent);

  exit_code = shmpool__worker_serve(&w, ctl_name);

out:
  if (w.cache != NULL) {
    for (i = 0; i < w.l.p.nsegtab; i++)
      shmpool_seg_close(w.cache[i].seg);
    free(w.cache);
  }
  shmpool__plat_waker_close(&w.self_waker);
  shmpool__plat_waker_close(&w.parent_waker);
  shmpool_seg_close(w.ctl);
  return exit_code;
}
