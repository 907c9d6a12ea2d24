/* The control segment's layout: computing it, writing its header, and
 * validating a header written by someone else.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "control.h"
#include "internal.h"

/* The layout is a format (docs/FORMAT.md): make the compiler hold it. */
#define SHMPOOL__STATIC_CHECK(name, cond) typedef char name[(cond) ? 1 : -1]
SHMPOOL__STATIC_CHECK(shmpool__ctl_hdr_size, sizeof(shmpool__ctl_hdr) == 256);
SHMPOOL__STATIC_CHECK(shmpool__ctl_shutdown_at,
                      offsetof(shmpool__ctl_hdr, shutdown) == 128);
SHMPOOL__STATIC_CHECK(shmpool__ctl_futex_at,
                      offsetof(shmpool__ctl_hdr, parent_futex) == 192);
SHMPOOL__STATIC_CHECK(shmpool__segtab_size,
                      sizeof(shmpool__segtab_entry) == 64);
SHMPOOL__STATIC_CHECK(shmpool__worker_size, sizeof(shmpool__ctl_worker) == 256);
SHMPOOL__STATIC_CHECK(shmpool__worker_sleeping_at,
                      offsetof(shmpool__ctl_worker, worker_sleeping) == 68);
SHMPOOL__STATIC_CHECK(shmpool__slot_state_at,
                      offsetof(shmpool__task_slot, state) == 24);
SHMPOOL__STATIC_CHECK(shmpool__worker_result_at,
                      offsetof(shmpool__ctl_worker, result_tail) == 128);
SHMPOOL__STATIC_CHECK(shmpool__task_slot_size,
                      sizeof(shmpool__task_slot) == 256);
SHMPOOL__STATIC_CHECK(shmpool__map_chunk_size,
                      sizeof(shmpool__map_chunk) == 64);
SHMPOOL__STATIC_CHECK(shmpool__result_slot_size,
                      sizeof(shmpool__result_slot) == 32);
SHMPOOL__STATIC_CHECK(shmpool__worker_stop_at,
                      offsetof(shmpool__ctl_worker, stop) == 16);

static uint64_t shmpool__round_up(uint64_t x, uint64_t to) {
  return (x + to - 1) / to * to;
}

int shmpool__ctl_layout_compute(const shmpool__ctl_params *p,
                                shmpool__ctl_layout *l) {
  uint64_t arg_area, worker_bytes;
  memset(l, 0, sizeof *l);
  if (p->nworkers == 0 || p->nworkers > SHMPOOL__MAX_WORKERS || p->depth == 0 ||
      p->depth > SHMPOOL__MAX_DEPTH || (p->depth & (p->depth - 1)) != 0 ||
      p->max_arg > SHMPOOL__MAX_MSG || p->max_reply > SHMPOOL__MAX_MSG ||
      p->nsegtab == 0 || p->nsegtab > SHMPOOL__MAX_SEGTAB ||
      p->init_name_len > SHMPOOL_TASK_NAME_MAX || p->init_arg_len > p->max_arg)
    return SHMPOOL_EINVAL;
  l->p = *p;
  /* A task slot's argument area also carries a map chunk descriptor. */
  arg_area = p->max_arg > sizeof(shmpool__map_chunk)
                 ? p->max_arg
                 : sizeof(shmpool__map_chunk);
  l->task_slot_size = (uint32_t)shmpool__round_up(
      sizeof(shmpool__task_slot) + arg_area, SHMPOOL__CACHE_LINE);
  l->result_slot_size = (uint32_t)shmpool__round_up(
      sizeof(shmpool__result_slot) + SHMPOOL__MSG_AREA + p->max_reply,
      SHMPOOL__CACHE_LINE);
  l->segtab_off = sizeof(shmpool__ctl_hdr);
  l->init_off =
      l->segtab_off + (uint64_t)p->nsegtab * sizeof(shmpool__segtab_entry);
  l->workers_off =
      shmpool__round_up(l->init_off + p->init_name_len + 1 + p->init_arg_len,
                        SHMPOOL__CACHE_LINE);
  worker_bytes =
      sizeof(shmpool__ctl_worker) +
      (uint64_t)p->depth * ((uint64_t)l->task_slot_size + l->result_slot_size);
  l->worker_stride = worker_bytes;
  l->total_size = l->workers_off + (uint64_t)p->nworkers * worker_bytes;
  return 0;
}

void shmpool__ctl_init(void *base, const shmpool__ctl_layout *l,
                       uint64_t parent_pid, uint64_t parent_start) {
  shmpool__ctl_hdr *h = (shmpool__ctl_hdr *)base;
  /* The segment is fresh (zero) and no worker exists yet. */
  h->magic = SHMPOOL__CTL_MAGIC;
  h->version = SHMPOOL__CTL_VERSION;
  h->nworkers = l->p.nworkers;
  h->depth = l->p.depth;
  h->task_slot_size = l->task_slot_size;
  h->result_slot_size = l->result_slot_size;
  h->max_arg = l->p.max_arg;
  h->max_reply = l->p.max_reply;
  h->nsegtab = l->p.nsegtab;
  h->init_name_len = l->p.init_name_len;
  h->init_arg_len = l->p.init_arg_len;
  h->parent_pid = parent_pid;
  h->parent_start = parent_start;
  h->total_size = l->total_size;
  h->segtab_off = l->segtab_off;
  h->workers_off = l->workers_off;
  h->worker_stride = l->worker_stride;
  h->init_off = l->init_off;
}

int shmpool__ctl_validate(const void *base, size_t size,
                          shmpool__ctl_layout *out, uint64_t *parent_pid,
                          uint64_t *parent_start) {
  shmpool__ctl_hdr h;
  shmpool__ctl_params p;
  shmpool__ctl_layout l;
  if (base == NULL || size < sizeof h)
    return SHMPOOL_EPROTO;
  memcpy(&h, base, sizeof h); /* once: the checks below hold for the copy */
  if (h.magic != SHMPOOL__CTL_MAGIC || h.version != SHMPOOL__CTL_VERSION)
    return SHMPOOL_EPROTO;
  p.nworkers = h.nworkers;
  p.depth = h.depth;
  p.max_arg = h.max_arg;
  p.max_reply = h.max_reply;
  p.nsegtab = h.nsegtab;
  p.init_name_len = h.init_name_len;
  p.init_arg_len = h.init_arg_len;
  if (shmpool__ctl_layout_compute(&p, &l) != 0)
    return SHMPOOL_EPROTO;
  if (h.task_slot_size != l.task_slot_size ||
      h.result_slot_size != l.result_slot_size ||
      h.segtab_off != l.segtab_off || h.workers_off != l.workers_off ||
      h.worker_stride != l.worker_stride || h.init_off != l.init_off ||
      h.total_size != l.total_size || l.total_size > (uint64_t)size)
    return SHMPOOL_EPROTO;
  *out = l;
  *parent_pid = h.parent_pid;
  *parent_start = h.parent_start;
  return 0;
}

int shmpool__result_check(uint32_t done, uint32_t tail, uint32_t rtail,
                          const shmpool__result_slot *slot,
                          uint64_t expected_id, uint32_t max_reply) {
  if (rtail == done || done == tail)
    return 0;
  /* At most as many results as messages outstanding (unsigned ring
   * arithmetic: a worker that moved its tail backwards lands here too). */
  if (rtail - done > tail - done)
    return SHMPOOL_EPROTO;
  if (slot->id != expected_id || slot->len > max_reply ||
      slot->msg_len > SHMPOOL_MESSAGE_MAX)
    return SHMPOOL_EPROTO;
  return 1;
}

int shmpool__task_slot_check(const shmpool__task_slot *s,
                             const shmpool__ctl_layout *l) {
  uint32_t i;
  if (s->kind != SHMPOOL__TASK_ONE && s->kind != SHMPOOL__TASK_MAP_CHUNK)
    return SHMPOOL_EPROTO;
  if (s->name_len == 0 || s->name_len > SHMPOOL_TASK_NAME_MAX ||
      s->nsegs > SHMPOOL_TASK_SEGS_MAX)
    return SHMPOOL_EPROTO;
  /* Looked up by length: the name may not end early, nor run on. */
  if (memchr(s->name, '\0', s->name_len) != NULL ||
      s->name[s->name_len] != '\0')
    return SHMPOOL_EPROTO;
  if (s->kind == SHMPOOL__TASK_ONE ? s->arg_len > l->p.max_arg
                                   : s->arg_len != sizeof(shmpool__map_chunk))
    return SHMPOOL_EPROTO;
  /* A segment reference names an entry in use (odd generation). */
  for (i = 0; i < s->nsegs; i++)
    if (s->segs[i].index >= l->p.nsegtab || (s->segs[i].gen & 1u) == 0)
      return SHMPOOL_EPROTO;
  return 0;
}

/* Whether [off, off + count * each) lies within size, without overflow. */
static int shmpool__range_ok(uint64_t off, uint64_t count, uint64_t each,
                             uint64_t size) {
  if (off > size)
    return 0;
  if (each != 0 && count > (size - off) / each)
    return 0;
  return 1;
}

int shmpool__map_chunk_check(const shmpool__map_chunk *mc,
                             uint64_t scratch_size) {
  uint64_t end;
  if (mc->start > UINT64_MAX - mc->count)
    return SHMPOOL_EPROTO;
  end = mc->start + mc->count;
  if (!shmpool__range_ok(mc->args_off, end, mc->arg_size, scratch_size) ||
      !shmpool__range_ok(mc->results_off, end, mc->result_size, scratch_size) ||
      !shmpool__range_ok(mc->status_off, end, 4, scratch_size) ||
      mc->arg_size > SIZE_MAX || mc->result_size > SIZE_MAX ||
      (mc->scratch.gen & 1u) == 0)
    return SHMPOOL_EPROTO;
  return 0;
}
