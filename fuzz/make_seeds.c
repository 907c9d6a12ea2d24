/* Writes the seed corpora of the fuzz targets into DIR/<target>/ (the
 * committed fuzz/corpus was made with it):
 *
 *   cmake --build build/fuzz --target fuzz_make_seeds
 *   build/fuzz/fuzz/fuzz_make_seeds fuzz/corpus
 *
 * Headers and control segments are made by the library itself. Integers
 * the targets read with fuzz_u32() etc. are written little-endian; structs
 * copied whole (task slots, map chunks, segment bytes) are native.
 *
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "control.h"
#include "internal.h"

typedef struct buf {
  unsigned char b[8192];
  size_t n;
} buf;

static void put(buf *o, const void *p, size_t n) {
  if (o->n + n > sizeof o->b) {
    fprintf(stderr, "seed too large\n");
    exit(1);
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
static void put_le(buf *o, uint64_t v, unsigned nbytes) {
  unsigned i;
  for (i = 0; i < nbytes; i++) {
    unsigned char c = (unsigned char)(v >> (8u * i));
    put(o, &c, 1);
  }
}
static void put8(buf *o, unsigned v) { put_le(o, v, 1); }

static const char *dir;

static void save(const char *target, const char *name, const buf *o) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(o->b, 1, o->n, f) != o->n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static void save_str(const char *name, const char *s) {
  buf o;
  o.n = 0;
  put(&o, s, strlen(s));
  save("fuzz_name", name, &o);
}

static void names(void) {
  save_str("simple", "a");
  save_str("typical", "shmpool-test_1.0");
  save_str("max-len", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123");  /* 30 */
  save_str("too-long", "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234"); /* 31 */
  save_str("dot", ".");
  save_str("dotdot", "..");
  save_str("dots3", "...");
  save_str("slash", "a/b");
  save_str("space", "my seg");
  save_str("high-byte", "caf\xc3\xa9");
}

static void header_raw(const char *name, uint64_t size, size_t data) {
  shmpool__creator c = {4242, 123456789};
  unsigned char h[64];
  buf o;
  o.n = 0;
  put8(&o, 0);
  shmpool__hdr_init(h, size, SHMPOOL__ATTR_PERSIST, 0x1122334455667788u, &c);
  h[12] = SHMPOOL__STATE_READY; /* little-endian machines; any is fine */
  put(&o, h, sizeof h);
  while (data--)
    put8(&o, 0xab);
  save("fuzz_header", name, &o);
}

static void header_round_trip(const char *name, unsigned n, unsigned sel) {
  buf o;
  o.n = 0;
  put8(&o, 1);
  put_le(&o, n, 2);
  put8(&o, sel);
  put_le(&o, SHMPOOL__ATTR_CONTROL, 4);
  put_le(&o, 0x0123456789abcdefu, 8);
  put_le(&o, 31337, 8);
  put_le(&o, 987654321, 8);
  put_le(&o, SHMPOOL__STATE_READY, 4);
  put8(&o, 0x80);
  save("fuzz_header", name, &o);
}

static void headers(void) {
  buf o;
  header_raw("raw-valid", 16, 16);
  header_raw("raw-size-too-big", 1000, 16);
  o.n = 0;
  put8(&o, 0);
  while (o.n < 65)
    put8(&o, 0);
  save("fuzz_header", "raw-zero", &o);
  o.n = 0;
  put8(&o, 0);
  put(&o, SHMPOOL__MAGIC, 8);
  save("fuzz_header", "raw-short", &o);
  header_round_trip("round-trip", 100, 5);
  header_round_trip("round-trip-short-map", 100, 200);
  header_round_trip("round-trip-size-0", 0, 0);
  o.n = 0;
  put8(&o, 2);
  put_le(&o, 64, 8);
  put8(&o, 1);
  save("fuzz_header", "null-base", &o);
}

/* ---- control segments ---------------------------------------------- */

static void slot_one(shmpool__task_slot *s, uint32_t arg_len) {
  memset(s, 0, sizeof *s);
  s->id = 7;
  s->kind = SHMPOOL__TASK_ONE;
  strcpy(s->name, "square");
  s->name_len = 6;
  s->arg_len = arg_len;
  s->nsegs = 1;
  s->segs[0].index = 1;
  s->segs[0].gen = 3;
}

static void chunk(shmpool__map_chunk *mc, uint64_t count) {
  memset(mc, 0, sizeof *mc);
  mc->scratch.index = 0;
  mc->scratch.gen = 1;
  mc->start = 0;
  mc->count = count;
  mc->arg_size = 8;
  mc->result_size = 8;
  mc->args_off = 0;
  mc->results_off = 128;
  mc->status_off = 256;
}

static void slot_map(shmpool__task_slot *s) {
  memset(s, 0, sizeof *s);
  s->id = 8;
  s->kind = SHMPOOL__TASK_MAP_CHUNK;
  strcpy(s->name, "double");
  s->name_len = 6;
  s->arg_len = sizeof(shmpool__map_chunk);
}

static void control_raw(const char *name, const shmpool__ctl_params *p,
                        int tasks) {
  static unsigned char seg[8192];
  shmpool__ctl_layout l;
  buf o;
  if (shmpool__ctl_layout_compute(p, &l) != 0 || l.total_size > sizeof seg) {
    fprintf(stderr, "bad seed layout\n");
    exit(1);
  }
  memset(seg, 0, sizeof seg);
  shmpool__ctl_init(seg, &l, 4242, 123456789);
  if (tasks) {
    shmpool__segtab_entry *tab = shmpool__ctl_segtab(seg, &l);
    shmpool__ctl_worker *w0 = shmpool__ctl_worker_at(seg, &l, 0);
    shmpool__ctl_worker *w1 = shmpool__ctl_worker_at(seg, &l, 1);
    shmpool__task_slot *ts;
    shmpool__map_chunk mc;
    if (l.p.init_name_len == 4)
      memcpy(seg + l.init_off, "init", 5);
    tab[0].gen = 1;
    tab[0].size = 4096;
    strcpy(tab[0].name, "scratch");
    tab[1].gen = 3;
    tab[1].size = 128;
    strcpy(tab[1].name, "data");
    ts = shmpool__ctl_task_slot(w0, &l, 0);
    slot_one(ts, 8);
    ts = shmpool__ctl_task_slot(w0, &l, 1);
    slot_map(ts);
    chunk(&mc, 16);
    memcpy(shmpool__task_slot_arg(ts), &mc, sizeof mc);
    ts = shmpool__ctl_task_slot(w1, &l, 0);
    slot_map(ts);
    chunk(&mc, 1000); /* does not fit in 4096 bytes */
    memcpy(shmpool__task_slot_arg(ts), &mc, sizeof mc);
    w0->task_tail = 2;
    w1->task_tail = 1;
  }
  o.n = 0;
  put8(&o, 0);
  put(&o, seg, (size_t)l.total_size);
  save("fuzz_control", name, &o);
}

static void control_structured(const char *name, unsigned corrupt,
                               unsigned sel, int map) {
  shmpool__task_slot s;
  shmpool__map_chunk mc;
  buf o;
  o.n = 0;
  put8(&o, 1);
  put8(&o, 0x7f); /* all parameters small */
  put_le(&o, 1, 4);   /* nworkers 2 */
  put_le(&o, 2, 4);   /* depth 4 */
  put_le(&o, 100, 4); /* max_arg */
  put_le(&o, 200, 4); /* max_reply */
  put_le(&o, 3, 4);   /* nsegtab 4 */
  put_le(&o, 4, 4);   /* init_name_len */
  put_le(&o, 16, 4);  /* init_arg_len */
  put8(&o, sel);
  put8(&o, corrupt);
  put_le(&o, 0x10, 8); /* corruption mask */
  put_le(&o, 4242, 8);
  put_le(&o, 123456789, 8);
  if (map)
    slot_map(&s);
  else
    slot_one(&s, 100);
  put(&o, &s, sizeof s);
  chunk(&mc, 16);
  put(&o, &mc, sizeof mc);
  put_le(&o, 4096, 8);
  put8(&o, 0);
  save("fuzz_control", name, &o);
}

static void control_parent(const char *name, unsigned enc, uint32_t done,
                           unsigned tail_d, unsigned rtail_d, uint64_t id,
                           uint32_t len, unsigned reply_d) {
  buf o;
  o.n = 0;
  put8(&o, 2);
  put8(&o, enc);
  put_le(&o, done, 4);
  put8(&o, tail_d);
  put8(&o, rtail_d);
  put_le(&o, id, 8);
  put_le(&o, 0, 4);
  put_le(&o, len, 4);
  put8(&o, reply_d);
  save("fuzz_control", name, &o);
}

static void controls(void) {
  shmpool__ctl_params small = {1, 1, 0, 0, 1, 0, 0};
  shmpool__ctl_params tasks = {2, 2, 64, 64, 2, 4, 8};
  control_raw("raw-minimal", &small, 0);
  control_raw("raw-with-tasks", &tasks, 1);
  control_structured("structured", 255, 0, 0);
  control_structured("structured-map-chunk", 255, 3, 1);
  control_structured("structured-short", 255, 200, 0);
  control_structured("structured-bad-total", 14, 0, 0);
  control_structured("structured-bad-nworkers", 2, 0, 0);
  /* enc 0xf: tail/rtail near done, expected id = slot id, max_reply near */
  control_parent("parent-valid", 0x0f, 100, 3, 1, 99, 8, 128 + 56);
  control_parent("parent-too-many", 0x0f, 100, 3, 5, 99, 8, 128 + 56);
  control_parent("parent-backwards", 0x0f, 100, 3, 0xff, 99, 8, 128 + 56);
  control_parent("parent-wrap", 0x0f, 0xfffffffeu, 4, 3, 99, 8, 128 + 56);
  control_parent("parent-long-reply", 0x0f, 100, 3, 1, 99, 8, 127);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR (with fuzz_name/, fuzz_header/, "
                    "fuzz_control/)\n",
            argv[0]);
    return 2;
  }
  dir = argv[1];
  {
    static const char *const targets[] = {"", "/fuzz_name", "/fuzz_header",
                                          "/fuzz_control"};
    char path[4096];
    size_t i;
    for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
      snprintf(path, sizeof path, "%s%s", dir, targets[i]);
      if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        return 1;
      }
    }
  }
  names();
  headers();
  controls();
  return 0;
}
