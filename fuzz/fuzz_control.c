/* Fuzz target: the control segment's pure checks (src/control.c).
 *
 * The first input byte picks a mode:
 *   0  worker, raw segment: the rest is the data of a control segment.
 *      shmpool__ctl_validate must return 0 or SHMPOOL_EPROTO, and on 0 give
 *      a layout that fits in the bytes and agrees with the header. Then,
 *      as a worker would, every task slot of every worker block is copied
 *      out and checked with shmpool__task_slot_check; a valid MAP_CHUNK
 *      slot's argument is checked with shmpool__map_chunk_check against the
 *      size in the segment table entry it names.
 *   1  worker, structured: pool parameters from the input (mostly small)
 *      go through shmpool__ctl_layout_compute; a header written by
 *      shmpool__ctl_init, with at most one field corrupted, into an
 *      exact-size buffer a little shorter or longer than the layout, must
 *      validate exactly when it should; then a fuzzed task slot and map
 *      chunk (with a fuzzed scratch size) are checked against that layout.
 *   2  parent: shmpool__result_check with fuzzed counters and slot.
 *
 * Invariants (each violation aborts):
 *  - map_chunk_check 0 => every element's arg, reply and status range lies
 *    inside the scratch segment (first and last element, overflow-safe),
 *    and the scratch generation is odd; and a chunk with count > 0 whose
 *    ranges all fit is accepted.
 *  - task_slot_check 0 <=> kind known, name_len 1..63, the name's first
 *    NUL exactly at name_len, nsegs <= 16, every
 *    reference to an entry in use (index < nsegtab, odd gen), arg_len
 *    within max_arg (TASK_ONE) or exactly a map chunk (MAP_CHUNK), and
 *    the argument fits in the slot.
 *  - result_check returns 0, 1 or EPROTO; 1 <=> a new result is there
 *    (rtail != done, done != tail), no more results than messages
 *    outstanding, the id matches, len <= max_reply and msg_len <= 255.
 *
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ALLOC (1u << 20) /* largest control segment we allocate */

/* a + b * c <= limit, without overflow. */
static int fits(uint64_t a, uint64_t b, uint64_t c, uint64_t limit) {
  uint64_t prod, sum;
  if (__builtin_mul_overflow(b, c, &prod) ||
      __builtin_add_overflow(a, prod, &sum))
    return 0;
  return sum <= limit;
}

/* ---- layout --------------------------------------------------------- */

static int params_in_range(const shmpool__ctl_params *p) {
  return p->nworkers >= 1 && p->nworkers <= SHMPOOL__MAX_WORKERS &&
         p->depth >= 1 && p->depth <= SHMPOOL__MAX_DEPTH &&
         (p->depth & (p->depth - 1)) == 0 && p->max_arg <= SHMPOOL__MAX_MSG &&
         p->max_reply <= SHMPOOL__MAX_MSG && p->nsegtab >= 1 &&
         p->nsegtab <= SHMPOOL__MAX_SEGTAB &&
         p->init_name_len <= SHMPOOL_TASK_NAME_MAX &&
         p->init_arg_len <= p->max_arg;
}

/* Everything a worker will address through the layout lies inside it. */
static void check_layout(const shmpool__ctl_layout *l) {
  const shmpool__ctl_params *p = &l->p;
  uint64_t arg_area = p->max_arg > sizeof(shmpool__map_chunk)
                          ? p->max_arg
                          : sizeof(shmpool__map_chunk);
  uint64_t ring;
  FUZZ_CHECK(params_in_range(p));
  FUZZ_CHECK(l->task_slot_size >= sizeof(shmpool__task_slot) + arg_area);
  FUZZ_CHECK(l->result_slot_size >=
             sizeof(shmpool__result_slot) + (uint64_t)p->max_reply);
  FUZZ_CHECK(l->task_slot_size % SHMPOOL__CACHE_LINE == 0 &&
             l->result_slot_size % SHMPOOL__CACHE_LINE == 0);
  FUZZ_CHECK(l->segtab_off >= sizeof(shmpool__ctl_hdr));
  FUZZ_CHECK(fits(l->segtab_off, p->nsegtab, sizeof(shmpool__segtab_entry),
                  l->init_off));
  FUZZ_CHECK(fits(l->init_off, 1, (uint64_t)p->init_name_len + 1 +
                                      (uint64_t)p->init_arg_len,
                  l->workers_off));
  FUZZ_CHECK(l->workers_off % SHMPOOL__CACHE_LINE == 0 &&
             l->worker_stride % SHMPOOL__CACHE_LINE == 0);
  FUZZ_CHECK(!__builtin_mul_overflow(
      (uint64_t)p->depth,
      (uint64_t)l->task_slot_size + (uint64_t)l->result_slot_size, &ring));
  FUZZ_CHECK(l->worker_stride >= sizeof(shmpool__ctl_worker) + ring);
  FUZZ_CHECK(fits(l->workers_off, p->nworkers, l->worker_stride,
                  l->total_size));
}

static void same_layout(const shmpool__ctl_layout *a,
                        const shmpool__ctl_layout *b) {
  FUZZ_CHECK(a->p.nworkers == b->p.nworkers && a->p.depth == b->p.depth &&
             a->p.max_arg == b->p.max_arg && a->p.max_reply == b->p.max_reply &&
             a->p.nsegtab == b->p.nsegtab &&
             a->p.init_name_len == b->p.init_name_len &&
             a->p.init_arg_len == b->p.init_arg_len);
  FUZZ_CHECK(a->task_slot_size == b->task_slot_size &&
             a->result_slot_size == b->result_slot_size &&
             a->segtab_off == b->segtab_off &&
             a->workers_off == b->workers_off &&
             a->worker_stride == b->worker_stride &&
             a->init_off == b->init_off && a->total_size == b->total_size);
}

/* Validate base[0, size) and check what comes back. Returns rc. */
static int validate(const unsigned char *base, size_t size,
                    shmpool__ctl_layout *l) {
  shmpool__ctl_hdr h;
  shmpool__ctl_layout again;
  uint64_t ppid = 0, pstart = 0;
  int rc;
  memset(l, 0, sizeof *l);
  rc = shmpool__ctl_validate(base, size, l, &ppid, &pstart);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL_EPROTO);
  if (rc != 0)
    return rc;
  FUZZ_CHECK(size >= sizeof h);
  memcpy(&h, base, sizeof h);
  FUZZ_CHECK(l->total_size <= (uint64_t)size);
  check_layout(l);
  /* The layout is the one its parameters give, and the header says so. */
  FUZZ_CHECK(shmpool__ctl_layout_compute(&l->p, &again) == 0);
  same_layout(l, &again);
  FUZZ_CHECK(h.magic == SHMPOOL__CTL_MAGIC && h.version == SHMPOOL__CTL_VERSION);
  FUZZ_CHECK(h.nworkers == l->p.nworkers && h.depth == l->p.depth &&
             h.max_arg == l->p.max_arg && h.max_reply == l->p.max_reply &&
             h.nsegtab == l->p.nsegtab &&
             h.init_name_len == l->p.init_name_len &&
             h.init_arg_len == l->p.init_arg_len);
  FUZZ_CHECK(h.task_slot_size == l->task_slot_size &&
             h.result_slot_size == l->result_slot_size &&
             h.total_size == l->total_size && h.segtab_off == l->segtab_off &&
             h.workers_off == l->workers_off &&
             h.worker_stride == l->worker_stride && h.init_off == l->init_off);
  FUZZ_CHECK(ppid == h.parent_pid && pstart == h.parent_start);
  return 0;
}

/* ---- task slots and map chunks ---------------------------------------- */

/* Whether the slot's name ends (its first NUL) exactly at name_len. */
static int name_ends_at(const shmpool__task_slot *s) {
  const char *z = (const char *)memchr(s->name, '\0', sizeof s->name);
  return z != NULL && (size_t)(z - s->name) == s->name_len;
}

static void check_task_slot(const shmpool__task_slot *s,
                            const shmpool__ctl_layout *l) {
  shmpool__task_slot copy = *s;
  uint32_t i;
  int model, rc = shmpool__task_slot_check(&copy, l);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL_EPROTO);
  FUZZ_CHECK(memcmp(&copy, s, sizeof copy) == 0); /* const in fact */

  model = (s->kind == SHMPOOL__TASK_ONE || s->kind == SHMPOOL__TASK_MAP_CHUNK) &&
          s->name_len >= 1 && s->name_len <= SHMPOOL_TASK_NAME_MAX &&
          name_ends_at(s) && s->nsegs <= SHMPOOL_TASK_SEGS_MAX &&
          (s->kind == SHMPOOL__TASK_ONE
               ? s->arg_len <= l->p.max_arg
               : s->arg_len == sizeof(shmpool__map_chunk));
  for (i = 0; model && i < s->nsegs && i < SHMPOOL_TASK_SEGS_MAX; i++)
    if (s->segs[i].index >= l->p.nsegtab || (s->segs[i].gen & 1u) == 0)
      model = 0;

  if (rc == 0) {
    FUZZ_CHECK(s->kind == SHMPOOL__TASK_ONE ||
               s->kind == SHMPOOL__TASK_MAP_CHUNK);
    FUZZ_CHECK(s->name_len >= 1 && s->name_len <= 63);
    FUZZ_CHECK(s->nsegs <= 16);
    for (i = 0; i < s->nsegs; i++)
      FUZZ_CHECK(s->segs[i].index < l->p.nsegtab &&
                 (s->segs[i].gen & 1u) == 1u);
    FUZZ_CHECK(s->kind == SHMPOOL__TASK_ONE
                   ? s->arg_len <= l->p.max_arg
                   : s->arg_len == sizeof(shmpool__map_chunk));
    /* The argument fits in the slot's argument area. */
    FUZZ_CHECK((uint64_t)s->arg_len + sizeof(shmpool__task_slot) <=
               l->task_slot_size);
  }
  FUZZ_CHECK((rc == 0) == model);
}

/* Element i's range [off + i * each, + each) for i = first and last. */
static int elems_fit(uint64_t off, uint64_t start, uint64_t count,
                     uint64_t each, uint64_t limit) {
  uint64_t last;
  if (count == 0)
    return 1;
  if (__builtin_add_overflow(start, count - 1, &last))
    return 0;
  {
    uint64_t a, b;
    if (__builtin_mul_overflow(start, each, &a) ||
        __builtin_add_overflow(off, a, &a) ||
        __builtin_add_overflow(a, each, &a) || a > limit)
      return 0;
    if (__builtin_mul_overflow(last, each, &b) ||
        __builtin_add_overflow(off, b, &b) ||
        __builtin_add_overflow(b, each, &b) || b > limit)
      return 0;
  }
  return 1;
}

static void check_map_chunk(const shmpool__map_chunk *mc,
                            uint64_t scratch_size) {
  shmpool__map_chunk copy = *mc;
  int fit, rc = shmpool__map_chunk_check(&copy, scratch_size);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL_EPROTO);
  FUZZ_CHECK(memcmp(&copy, mc, sizeof copy) == 0);
  fit = elems_fit(mc->args_off, mc->start, mc->count, mc->arg_size,
                  scratch_size) &&
        elems_fit(mc->results_off, mc->start, mc->count, mc->result_size,
                  scratch_size) &&
        elems_fit(mc->status_off, mc->start, mc->count, 4, scratch_size);
  if (rc == 0) {
    FUZZ_CHECK(fit);
    FUZZ_CHECK((mc->scratch.gen & 1u) == 1u);
    /* start + count does not wrap: the worker loops i = start .. end. */
    FUZZ_CHECK(mc->start <= UINT64_MAX - mc->count);
  }
  /* A chunk of real elements that all fit is accepted. */
  if (mc->count > 0 && fit && (mc->scratch.gen & 1u) == 1u)
    FUZZ_CHECK(rc == 0);
}

/* ---- mode 0: a raw control segment ------------------------------------ */

static void mode_raw(fuzz_input *in) {
  size_t n = in->n;
  unsigned char *buf = (unsigned char *)malloc(n ? n : 1);
  shmpool__ctl_layout l;
  uint32_t w, seq;
  if (buf == NULL)
    return;
  fuzz_bytes(in, buf, n); /* exact size: ASan sees any over-read */
  if (validate(buf, n, &l) == 0) {
    const shmpool__segtab_entry *tab = shmpool__ctl_segtab(buf, &l);
    for (w = 0; w < l.p.nworkers; w++) {
      shmpool__ctl_worker *wb = shmpool__ctl_worker_at(buf, &l, w);
      FUZZ_CHECK((unsigned char *)wb + sizeof *wb <= buf + l.total_size);
      for (seq = 0; seq < l.p.depth; seq++) {
        shmpool__task_slot *ts = shmpool__ctl_task_slot(wb, &l, seq);
        shmpool__result_slot *rs = shmpool__ctl_result_slot(wb, &l, seq);
        shmpool__task_slot slot;
        shmpool__result_slot res;
        FUZZ_CHECK((unsigned char *)ts + l.task_slot_size <=
                   buf + l.total_size);
        FUZZ_CHECK((unsigned char *)rs + l.result_slot_size <=
                   buf + l.total_size);
        memcpy(&slot, ts, sizeof slot);
        memcpy(&res, rs, sizeof res);
        check_task_slot(&slot, &l);
        if (shmpool__task_slot_check(&slot, &l) == 0 &&
            slot.kind == SHMPOOL__TASK_MAP_CHUNK) {
          shmpool__map_chunk mc;
          memcpy(&mc, shmpool__task_slot_arg(ts), sizeof mc);
          if (mc.scratch.index < l.p.nsegtab)
            check_map_chunk(&mc, tab[mc.scratch.index].size);
        }
      }
    }
  }
  free(buf);
}

/* ---- mode 1: a structured header ------------------------------------- */

/* Header fields the corruption step may change. */
enum field_kind {
  F_MUST, /* derived or identifying: a change must be refused */
  F_PARAM, /* a parameter: the recomputed layout decides */
  F_FREE   /* not validated: a change must be accepted */
};
static const struct {
  size_t off, width;
  enum field_kind kind;
} fields[] = {
    {offsetof(shmpool__ctl_hdr, magic), 4, F_MUST},
    {offsetof(shmpool__ctl_hdr, version), 4, F_MUST},
    {offsetof(shmpool__ctl_hdr, nworkers), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, depth), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, task_slot_size), 4, F_MUST},
    {offsetof(shmpool__ctl_hdr, result_slot_size), 4, F_MUST},
    {offsetof(shmpool__ctl_hdr, max_arg), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, max_reply), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, nsegtab), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, init_name_len), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, init_arg_len), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, reserved0), 4, F_PARAM},
    {offsetof(shmpool__ctl_hdr, parent_pid), 8, F_FREE},
    {offsetof(shmpool__ctl_hdr, parent_start), 8, F_FREE},
    {offsetof(shmpool__ctl_hdr, total_size), 8, F_MUST},
    {offsetof(shmpool__ctl_hdr, segtab_off), 8, F_MUST},
    {offsetof(shmpool__ctl_hdr, workers_off), 8, F_MUST},
    {offsetof(shmpool__ctl_hdr, worker_stride), 8, F_MUST},
    {offsetof(shmpool__ctl_hdr, init_off), 8, F_MUST},
    {offsetof(shmpool__ctl_hdr, shutdown), 4, F_FREE},
    {offsetof(shmpool__ctl_hdr, segtab_epoch), 4, F_FREE},
    {offsetof(shmpool__ctl_hdr, parent_futex), 4, F_FREE},
    {offsetof(shmpool__ctl_hdr, parent_sleeping), 4, F_FREE},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static void xor_field(unsigned char *h, size_t off, size_t width,
                      uint64_t mask) {
  if (width == 4) {
    uint32_t v;
    memcpy(&v, h + off, 4);
    v ^= (uint32_t)mask;
    memcpy(h + off, &v, 4);
  } else {
    uint64_t v;
    memcpy(&v, h + off, 8);
    v ^= mask;
    memcpy(h + off, &v, 8);
  }
}

static void mode_structured(fuzz_input *in) {
  shmpool__ctl_params p;
  shmpool__ctl_layout l, lv;
  shmpool__task_slot slot;
  shmpool__map_chunk mc;
  uint64_t scratch_size, mask, ppid, pstart;
  uint8_t small, sel, corrupt;
  int rc;

  small = fuzz_u8(in); /* bit k: parameter k from a small range */
  p.nworkers = fuzz_u32(in);
  p.depth = fuzz_u32(in);
  p.max_arg = fuzz_u32(in);
  p.max_reply = fuzz_u32(in);
  p.nsegtab = fuzz_u32(in);
  p.init_name_len = fuzz_u32(in);
  p.init_arg_len = fuzz_u32(in);
  if (small & 0x01)
    p.nworkers = 1 + p.nworkers % 4;
  if (small & 0x02)
    p.depth = 1u << (p.depth % 5);
  if (small & 0x04)
    p.max_arg %= 1025;
  if (small & 0x08)
    p.max_reply %= 1025;
  if (small & 0x10)
    p.nsegtab = 1 + p.nsegtab % 64;
  if (small & 0x20)
    p.init_name_len %= SHMPOOL_TASK_NAME_MAX + 1;
  if (small & 0x40)
    p.init_arg_len = (uint32_t)(p.init_arg_len % ((uint64_t)p.max_arg + 1));
  sel = fuzz_u8(in);
  corrupt = fuzz_u8(in);
  mask = fuzz_u64(in);
  ppid = fuzz_u64(in);
  pstart = fuzz_u64(in);
  fuzz_bytes(in, &slot, sizeof slot);
  fuzz_bytes(in, &mc, sizeof mc);
  scratch_size = fuzz_u64(in);
  if (fuzz_u8(in) & 1u)
    scratch_size &= 0xffff;

  rc = shmpool__ctl_layout_compute(&p, &l);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL_EINVAL);
  FUZZ_CHECK((rc == 0) == params_in_range(&p));
  if (rc != 0)
    return;
  check_layout(&l);

  /* The header, written by the parent, at most one field then corrupted. */
  {
    union {
      shmpool__ctl_hdr h;
      unsigned char b[sizeof(shmpool__ctl_hdr)];
    } u;
    size_t size, fi = corrupt;
    unsigned char *buf;
    int vr;
    memset(&u, 0, sizeof u);
    shmpool__ctl_init(u.b, &l, ppid, pstart);
    if (fi < NFIELDS) {
      if ((fields[fi].width == 4 ? (uint32_t)mask : mask) == 0)
        mask = 1;
      xor_field(u.b, fields[fi].off, fields[fi].width, mask);
    }
    if (l.total_size <= MAX_ALLOC) {
      /* A segment a little short of, or longer than, the layout. */
      if (sel < 128)
        size = (size_t)l.total_size + (sel & 63u);
      else
        size = (size_t)l.total_size - (size_t)(sel - 127) * 8u;
    } else {
      size = sizeof u; /* too big to allocate: a short segment */
    }
    buf = (unsigned char *)calloc(size ? size : 1, 1);
    if (buf == NULL)
      return;
    memcpy(buf, u.b, size < sizeof u ? size : sizeof u);
    vr = validate(buf, size, &lv);
    if (fi >= NFIELDS || fields[fi].kind == F_FREE) {
      FUZZ_CHECK((vr == 0) == (l.total_size <= (uint64_t)size));
      if (vr == 0)
        same_layout(&l, &lv);
    } else if (fields[fi].kind == F_MUST) {
      FUZZ_CHECK(vr == SHMPOOL_EPROTO);
    }
    free(buf);
  }

  check_task_slot(&slot, &l);
  check_map_chunk(&mc, scratch_size);
}

/* ---- mode 2: the parent's check of a result --------------------------- */

static void mode_parent(fuzz_input *in) {
  shmpool__result_slot slot, copy;
  uint32_t done, tail, rtail, max_reply, outstanding, published;
  uint64_t expected_id;
  uint8_t enc;
  int rc, ok;

  enc = fuzz_u8(in);
  done = fuzz_u32(in);
  /* Counters near each other (ring arithmetic), or anywhere. */
  tail = (enc & 1u) ? done + fuzz_u8(in) : fuzz_u32(in);
  rtail = (enc & 2u) ? done + (uint32_t)(int32_t)(int8_t)fuzz_u8(in)
                     : fuzz_u32(in);
  memset(&slot, 0, sizeof slot);
  slot.id = fuzz_u64(in);
  slot.status = (int32_t)fuzz_u32(in);
  slot.len = fuzz_u32(in);
  slot.msg_len = (enc & 16u) ? fuzz_u8(in) + (enc & 32u ? 1u : 0u) * 200u
                             : fuzz_u32(in);
  expected_id = (enc & 4u) ? slot.id : fuzz_u64(in);
  max_reply = (enc & 8u) ? slot.len + fuzz_u8(in) - 128u : fuzz_u32(in);

  copy = slot;
  rc = shmpool__result_check(done, tail, rtail, &copy, expected_id, max_reply);
  FUZZ_CHECK(rc == 0 || rc == 1 || rc == SHMPOOL_EPROTO);
  FUZZ_CHECK(memcmp(&copy, &slot, sizeof copy) == 0);

  outstanding = tail - done;
  published = rtail - done;
  if (rc == 1) {
    FUZZ_CHECK(rtail != done);
    FUZZ_CHECK(published <= outstanding);
    FUZZ_CHECK(slot.id == expected_id);
    FUZZ_CHECK(slot.len <= max_reply);
    FUZZ_CHECK(slot.msg_len <= SHMPOOL_MESSAGE_MAX);
  }
  /* Nothing published: nothing to take. */
  if (rtail == done)
    FUZZ_CHECK(rc == 0);
  /* Messages outstanding and something published: exactly valid or not. */
  if (done != tail && rtail != done) {
    ok = published <= outstanding && slot.id == expected_id &&
         slot.len <= max_reply && slot.msg_len <= SHMPOOL_MESSAGE_MAX;
    FUZZ_CHECK(rc == (ok ? 1 : SHMPOOL_EPROTO));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in;
  fuzz_init(&in, data, size);
  switch (fuzz_u8(&in) % 3u) {
  case 0:
    mode_raw(&in);
    break;
  case 1:
    mode_structured(&in);
    break;
  default:
    mode_parent(&in);
    break;
  }
  return 0;
}
