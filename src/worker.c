/* The worker side of a pool: attach to the control segment by name, run
 * the initializer, then serve tasks from this worker's queue until the pool
 * shuts down, the parent asks this worker to stop, or the parent dies (and
 * then remove what the parent owned, which it can no longer do itself).
 *
 * A worker trusts the control segment only as far as it has checked it:
 * the header once (the layout is then kept in private memory), and every
 * task slot as it is read. A corrupt control segment ends this worker with
 * a nonzero exit status; it never crashes it. The library never prints:
 * the exit status is what a worker can tell (see shmpool_worker_main).
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "worker.h"

/* A sleeping worker still looks around this often (ms): the wake protocol
 * loses nothing, so this only bounds the cost of a wake that went wrong. */
#define SHMPOOL__WORKER_NAP_MS 1000
/* How long a new worker waits for the parent to publish its pid (ms). */
#define SHMPOOL__CLAIM_MS 30000u

/* Worker exit statuses (documented in the header and docs/FORMAT.md). */
#define SHMPOOL__EXIT_USAGE 2
#define SHMPOOL__EXIT_ATTACH 3
#define SHMPOOL__EXIT_PROTO 4
#define SHMPOOL__EXIT_PARENT 5
#define SHMPOOL__EXIT_INIT 6

typedef struct shmpool__cached_seg {
  uint32_t gen;
  shmpool_seg *seg;
} shmpool__cached_seg;

typedef struct shmpool__worker {
  const shmpool_task_def *tasks;
  const shmpool_task_def *last; /* the last task looked up by name */
  unsigned index;
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
  uint64_t parent_pid, parent_start;
  shmpool__plat_waker self_waker, parent_waker;
  shmpool__chan parent; /* waking the parent */
  shmpool__chan self;   /* being woken */
} shmpool__worker;

int shmpool_is_worker(int argc, char **argv) {
  /* The flag and the control segment's name come last, so that a worker
   * started with worker_args (an interpreter's options, say) is one too. */
  return argc >= 3 && argv != NULL && argv[argc - 2] != NULL &&
         strcmp(argv[argc - 2], SHMPOOL__WORKER_FLAG) == 0;
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

/* The task called `name` (len bytes, no NUL inside: the slot check made
 * sure), compared by length. */
static shmpool_task_fn shmpool__worker_lookup(shmpool__worker *w,
                                              const char *name, uint32_t len) {
  const shmpool_task_def *d;
  if (w->last != NULL && strlen(w->last->name) == len &&
      memcmp(w->last->name, name, len) == 0)
    return w->last->fn;
  for (d = w->tasks; d != NULL && d->name != NULL; d++) {
    if (d->fn != NULL && strlen(d->name) == len &&
        memcmp(d->name, name, len) == 0) {
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
  t->msg = NULL; /* map elements carry statuses only */
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
    status = (int32_t)(fn != NULL ? shmpool__task_status(t, fn(t))
                                  : SHMPOOL_ENOTASK);
    if (t->reply_len < t->reply_cap)
      memset(t->reply + t->reply_len, 0, t->reply_cap - t->reply_len);
    memcpy(data + mc->status_off + 4 * i, &status, sizeof status);
  }
  return 0;
}

/* Run the task in slot `shared`; fill the result slot `r`. */
static void shmpool__run_slot(shmpool__worker *w, shmpool__task_slot *shared,
                              shmpool__result_slot *r) {
  shmpool__task_slot s; /* the fixed part, copied once, then checked */
  shmpool_task t;
  shmpool_task_fn fn;
  uint32_t i;
  int status = 0;

  memcpy(&s, shared, sizeof s);
  memset(&t, 0, sizeof t);
  t.worker = w->index;
  t.msg = (char *)shmpool__result_slot_msg(r);
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
    status = shmpool__task_status(&t, fn(&t));
  } else {
    shmpool__map_chunk mc;
    memcpy(&mc, shmpool__task_slot_arg(shared), sizeof mc);
    /* Element statuses carry ENOTASK; the chunk itself completed. */
    status = shmpool__run_map_chunk(w, fn, &t, &mc);
  }
done:
  r->len = (uint32_t)t.reply_len;
  r->msg_len = t.msg_len;
  r->status = (int32_t)status;
}

/* Take the task in slot `s` (see enum shmpool__slot_state) and run it,
 * filling result slot `r`. A slot the parent canceled is skipped; one it
 * did not queue completes with EPROTO and is not run. */
static void shmpool__worker_take(shmpool__worker *w, shmpool__task_slot *s,
                                 shmpool__result_slot *r) {
  r->id = s->id;
  r->len = 0;
  r->msg_len = 0;
  if (!shmpool__cas32(&s->state, SHMPOOL__SLOT_QUEUED, SHMPOOL__SLOT_TAKEN)) {
    r->status = shmpool__load_acq32(&s->state) == SHMPOOL__SLOT_CANCELED
                    ? SHMPOOL_ECANCELED
                    : SHMPOOL_EPROTO;
    return;
  }
  shmpool__run_slot(w, s, r);
}

/* ---- the loop ------------------------------------------------------------ */

/* Whether there is something to act on: a task, shutdown, a request to
 * stop, or a segment released (whose mapping must go). */
static int shmpool__worker_news(void *ctx) {
  shmpool__worker *w = (shmpool__worker *)ctx;
  return shmpool__load_acq32(&w->wb->task_tail) != w->head ||
         shmpool__load_acq32(&w->hdr->shutdown) != 0 ||
         shmpool__load_acq32(&w->wb->stop) != 0 ||
         shmpool__load_acq32(&w->hdr->segtab_epoch) != w->seen_epoch;
}

static int shmpool__worker_serve(shmpool__worker *w) {
  for (;;) {
    uint32_t tail;
    (void)shmpool__idle(&w->self, shmpool__worker_news, w,
                        shmpool__deadline(SHMPOOL__WORKER_NAP_MS));
    shmpool__worker_prune(w);
    if (shmpool__load_acq32(&w->hdr->shutdown) != 0)
      return 0;
    tail = shmpool__load_acq32(&w->wb->task_tail);
    if (tail - w->head > w->l.p.depth)
      return SHMPOOL__EXIT_PROTO; /* the task queue index is impossible */
    if (tail == w->head && shmpool__load_acq32(&w->wb->stop) != 0)
      return 0; /* recycled: the parent starts a fresh worker */
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
        w->index = i;
        return 0;
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
  t.worker = w->index;
  t.arg = w->l.p.init_arg_len != 0 ? w->base + w->l.init_off + len + 1 : NULL;
  t.arg_len = w->l.p.init_arg_len;
  t.reply = reply; /* an initializer's reply goes nowhere */
  t.reply_cap = 0;
  return fn(&t);
}

/* ---- after the parent's death -------------------------------------------- */

/* 0 while serving; the watch thread sets 1 when the parent died, and
 * worker_main 2 before it unmaps anything: whoever comes first decides. */
static uint32_t shmpool__worker_phase;

/* The parent died (any signal, a crash): remove what it owned, which it
 * can no longer do. Runs on the watch thread, which then ends the
 * process; the task thread may still be running. */
static void shmpool__worker_orphaned(void *ctx) {
  const shmpool__worker *w = (const shmpool__worker *)ctx;
  const char **known;
  char(*names)[SHMPOOL_NAME_MAX + 1];
  uint32_t i, n = 0;
  if (!shmpool__cas32(&shmpool__worker_phase, 0, 1))
    return; /* worker_main is leaving and unmapping */
  known = (const char **)calloc(w->l.p.nsegtab + 1, sizeof *known);
  names = (char(*)[SHMPOOL_NAME_MAX + 1]) calloc(w->l.p.nsegtab, sizeof *names);
  if (known == NULL || names == NULL) {
    free(known);
    free(names);
    shmpool__reap_orphans(w->parent_pid, w->parent_start, NULL, 0);
    return;
  }
  /* The segments the pool sent (scratch segments among them), by name:
   * untrusted, but each is checked by its own header before removal. */
  for (i = 0; i < w->l.p.nsegtab; i++) {
    memcpy(names[n], w->segtab[i].name, SHMPOOL_NAME_MAX);
    names[n][SHMPOOL_NAME_MAX] = '\0';
    if (shmpool_name_check(names[n]) == 0) {
      known[n] = names[n];
      n++;
    }
  }
  known[n++] = shmpool_seg_name(w->ctl);
  shmpool__reap_orphans(w->parent_pid, w->parent_start, known, n);
  free(known);
  free(names);
}

/* ---- main --------------------------------------------------------------- */

/* Attach to the pool named on the command line and get ready to serve:
 * 0, or the exit status to end with. */
static int shmpool__worker_attach_pool(shmpool__worker *w,
                                       const char *ctl_name) {
  char suffix[16];
  int rc = shmpool_seg_open(&w->ctl, ctl_name, 0);
  if (rc != 0)
    return SHMPOOL__EXIT_ATTACH;
  w->base = (unsigned char *)shmpool_seg_data(w->ctl);
  if (shmpool__ctl_validate(w->base, shmpool_seg_size(w->ctl), &w->l,
                            &w->parent_pid, &w->parent_start) != 0)
    return SHMPOOL__EXIT_PROTO;
  w->hdr = shmpool__ctl_header(w->base);
  w->segtab = shmpool__ctl_segtab(w->base, &w->l);
  w->seen_epoch = shmpool__load_acq32(&w->hdr->segtab_epoch);
  if (shmpool__plat_worker_init(w->parent_pid, w->parent_start,
                                shmpool__worker_orphaned, w) != 0)
    return SHMPOOL__EXIT_PARENT;
  if (shmpool__worker_claim(w) != 0)
    return SHMPOOL__EXIT_PROTO; /* not a worker of this pool */
  w->cache = (shmpool__cached_seg *)calloc(w->l.p.nsegtab, sizeof *w->cache);
  if (w->cache == NULL)
    return SHMPOOL__EXIT_ATTACH;
  snprintf(suffix, sizeof suffix, "w%u", w->index);
  if (shmpool__plat_waker_open(&w->self_waker, ctl_name, suffix) != 0 ||
      shmpool__plat_waker_open(&w->parent_waker, ctl_name, "p") != 0)
    return SHMPOOL__EXIT_ATTACH;
  w->parent.word = &w->hdr->parent_futex;
  w->parent.sleeping = &w->hdr->parent_sleeping;
  w->parent.waker = &w->parent_waker;
  w->self.word = &w->wb->worker_futex;
  w->self.sleeping = &w->wb->worker_sleeping;
  w->self.waker = &w->self_waker;
  /* Our private indices start at 0, where the parent left them (a
   * replacement's queue may already hold its predecessor's unstarted
   * tasks, from slot 0 on). */
  w->head = 0;
  w->result_tail = 0;
  return 0;
}

int shmpool_worker_main(int argc, char **argv, const shmpool_task_def *tasks) {
  const char *ctl_name = argc >= 3 && argv != NULL ? argv[argc - 1] : NULL;
  shmpool__worker w;
  int rc, exit_code;
  uint32_t i;

  /* From here on this process may start pools of its own (in a task), and
   * its children are not workers: neither may see the variable. */
  shmpool__plat_env_unset(SHMPOOL__WORKER_ENV);
  memset(&w, 0, sizeof w);
  w.tasks = tasks;
  if (!shmpool_is_worker(argc, argv) || shmpool_name_check(ctl_name) != 0)
    return SHMPOOL__EXIT_USAGE;
  exit_code = shmpool__worker_attach_pool(&w, ctl_name);
  if (exit_code == 0) {
    rc = shmpool__worker_init_task(&w);
    if (rc != 0) {
      w.wb->init_status = rc;
      shmpool__store_rel32(&w.wb->state, SHMPOOL__W_INIT_FAILED);
      shmpool__chan_wake(&w.parent);
      exit_code = SHMPOOL__EXIT_INIT;
    } else {
      shmpool__store_rel32(&w.wb->state, SHMPOOL__W_READY);
      shmpool__chan_wake(&w.parent);
      exit_code = shmpool__worker_serve(&w);
    }
  }
  /* If the parent just died, the watch thread is reaping with our
   * mappings and will end the process: let it. */
  while (!shmpool__cas32(&shmpool__worker_phase, 0, 2) &&
         shmpool__load_acq32(&shmpool__worker_phase) == 1)
    shmpool__plat_sleep_ms(100);
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
