/* Inspecting and listing segments: the public face of what the shmpool
 * tool needs (shmpool ls, info, gc).
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

/* The public constants are the header's own values. */
typedef char
    shmpool__kinds_agree[SHMPOOL_KIND_SEGMENT == SHMPOOL__KIND_SEGMENT &&
                                 SHMPOOL_KIND_CONTROL ==
                                     SHMPOOL__KIND_CONTROL &&
                                 SHMPOOL_KIND_RAW == SHMPOOL__KIND_RAW
                             ? 1
                             : -1];
typedef char
    shmpool__states_agree[SHMPOOL_STATE_READY == SHMPOOL__STATE_READY &&
                                  SHMPOOL_STATE_UNLINKED ==
                                      SHMPOOL__STATE_UNLINKED
                              ? 1
                              : -1];

void shmpool_seg_info_init_sized(shmpool_seg_info *info, size_t struct_size) {
  if (info == NULL || struct_size < sizeof info->struct_size)
    return;
  memset(info, 0, struct_size);
  info->struct_size = struct_size;
}

int shmpool_seg_inspect(const char *name, unsigned flags,
                        shmpool_seg_info *info) {
  shmpool__seg_report r;
  shmpool_seg_info out;
  size_t size;
  int rc;
  if (info == NULL || info->struct_size < sizeof info->struct_size ||
      (flags & ~(unsigned)SHMPOOL_SEG_GLOBAL) != 0)
    return SHMPOOL_EINVAL;
  rc = shmpool__seg_inspect(name, flags, &r);
  if (rc != 0)
    return rc;
  memset(&out, 0, sizeof out);
  out.kind = r.kind;
  out.size = r.size;
  out.os_size = r.os_size;
  out.creator_alive = r.creator_alive;
  if (r.kind != SHMPOOL__KIND_RAW) {
    out.data_offset = SHMPOOL__HDR_SIZE;
    out.creator_pid = r.info.creator_pid;
    out.creator_start = r.info.creator_start;
    out.creation_id = r.info.creation_id;
    out.state = r.info.state & (SHMPOOL_STATE_READY | SHMPOOL_STATE_UNLINKED);
    out.persistent = (r.info.attrs & SHMPOOL__ATTR_PERSIST) != 0;
  }
  /* A caller compiled against an older header gets the fields it knows. */
  size = info->struct_size < sizeof out ? info->struct_size : sizeof out;
  out.struct_size = info->struct_size;
  memcpy(info, &out, size);
  return 0;
}

int shmpool_seg_list(unsigned flags, int (*fn)(const char *name, void *ctx),
                     void *ctx) {
  if (fn == NULL || (flags & ~(unsigned)SHMPOOL_SEG_GLOBAL) != 0)
    return SHMPOOL_EINVAL;
  return shmpool__plat_seg_list(flags, fn, ctx);
}

typedef struct shmpool__reap_ctx {
  uint64_t pid, start;
} shmpool__reap_ctx;

/* Remove `name` if it is an owned (not persistent) segment that the dead
 * process created. Its header says so, not the name. */
static int shmpool__reap_one(const char *name, void *ctx) {
  const shmpool__reap_ctx *c = (const shmpool__reap_ctx *)ctx;
  shmpool__seg_report r;
  if (shmpool__seg_inspect(name, 0, &r) != 0 || r.kind == SHMPOOL__KIND_RAW ||
      (r.info.attrs & SHMPOOL__ATTR_PERSIST) != 0 ||
      r.info.creator_pid != c->pid ||
      (c->start != 0 && r.info.creator_start != c->start))
    return 0;
  (void)shmpool_seg_unlink_flags(name, 0);
  return 0;
}

void shmpool__reap_orphans(uint64_t pid, uint64_t start,
                           const char *const *known, size_t n) {
  shmpool__reap_ctx c;
  size_t i;
  c.pid = pid;
  c.start = start;
  for (i = 0; i < n; i++)
    (void)shmpool__reap_one(known[i], &c);
  /* Where the OS can list shared memory, everything else it created. */
  (void)shmpool__plat_seg_list(0, shmpool__reap_one, &c);
}
