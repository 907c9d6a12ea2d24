/* Segments, the portable half: argument checks, the header, ownership and
 * reference counting. The OS work is in src/posix/seg.c and
 * src/win32/seg.c behind src/platform.h.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "internal.h"

/* Generated names: "shmpool." plus 18 characters of 6 random bits each
 * (108 bits), 26 characters in all, within the portable 30. */
#define SHMPOOL__GEN_PREFIX "shmpool."
#define SHMPOOL__GEN_RANDOM_CHARS 18
#define SHMPOOL__GEN_ATTEMPTS 4

#define SHMPOOL__CREATE_FLAGS                                                  \
  (SHMPOOL_SEG_PERSIST | SHMPOOL_SEG_RAW | SHMPOOL_SEG_GLOBAL |                \
   SHMPOOL_SEG_NORESERVE)
#define SHMPOOL__OPEN_FLAGS                                                    \
  (SHMPOOL_SEG_READONLY | SHMPOOL_SEG_RAW | SHMPOOL_SEG_GLOBAL)

/* The longest an opener waits for a create in progress whose creator is
 * alive (or cannot be checked): reserving many GiB takes seconds, and a
 * creator may be stopped (SIGSTOP, a debugger). Past it, open gives
 * SHMPOOL_ETIMEDOUT rather than hang or call a live segment corrupt. */
#define SHMPOOL__OPEN_WAIT_MS 60000u

static void shmpool__seg_free(shmpool_seg *seg) {
  free(seg);
}

int shmpool_seg_create(shmpool_seg **out, const char *name, size_t size,
                       unsigned flags) {
  return shmpool__seg_create(out, name, size, flags, 0);
}

/* A create whose reserve failed: give the name up, marking the header
 * UNLINKED first so that an opener waiting for this segment reports ENOENT
 * at once. If someone else (shmpool_seg_unlink) claimed the name already,
 * it is theirs to remove, and it may name a newer segment by now. The mark
 * stays even if the OS refuses to remove the name: this segment will never
 * be READY, and "gone" is the truth about it. */
static void shmpool__seg_abandon(const char *name, unsigned flags,
                                 shmpool__plat_map *map) {
  int os_error = shmpool_last_os_error(); /* the failure's, not cleanup's */
  if (flags & SHMPOOL_SEG_RAW)
    (void)shmpool__plat_seg_unlink(name, flags, SHMPOOL__UNLINK_RAW);
  else if (shmpool__hdr_claim_unlink(map->base))
    (void)shmpool__plat_seg_unlink(name, flags, SHMPOOL__UNLINK_CLAIMED);
  (void)shmpool__plat_seg_unmap(map);
  shmpool__set_os_error(os_error);
}

int shmpool__seg_create(shmpool_seg **out, const char *name, size_t size,
                        unsigned flags, uint32_t attrs) {
  shmpool_seg *seg = NULL;
  shmpool__creator creator;
  shmpool__hdr head;
  int raw = (flags & SHMPOOL_SEG_RAW) != 0;
  size_t map_size;
  int attempt;
  int rc;

  if (out == NULL)
    return SHMPOOL_EINVAL;
  *out = NULL;
  shmpool__set_os_error(0);
  if (size == 0 || (flags & ~(unsigned)SHMPOOL__CREATE_FLAGS) != 0)
    return SHMPOOL_EINVAL;
  if (name != NULL && (rc = shmpool_name_check(name)) != 0)
    return rc;
  if (raw) {
    map_size = size;
  } else {
    if (size > SIZE_MAX - SHMPOOL__HDR_SIZE)
      return SHMPOOL_ENOMEM;
    map_size = size + SHMPOOL__HDR_SIZE;
  }

  seg = (shmpool_seg *)calloc(1, sizeof *seg);
  if (seg == NULL)
    return SHMPOOL_ENOMEM;
  if (!raw) {
    /* The header names its creator from the start, so that openers wait
     * exactly as long as the creator lives while it reserves. */
    shmpool__creator_self(&creator);
    seg->creation_id = shmpool__new_creation_id(&creator);
    attrs |= (flags & SHMPOOL_SEG_PERSIST) ? SHMPOOL__ATTR_PERSIST : 0u;
    shmpool__hdr_init(&head, size, attrs, seg->creation_id, &creator);
  }

  for (attempt = 0;; attempt++) {
    if (name != NULL) {
      memcpy(seg->name, name, strlen(name) + 1);
    } else {
      rc = shmpool__random_name(seg->name, SHMPOOL__GEN_PREFIX,
                                SHMPOOL__GEN_RANDOM_CHARS);
      if (rc != 0)
        goto fail;
    }
    rc = shmpool__plat_seg_create(seg->name, map_size, flags, !raw, &seg->map);
    /* A generated name that collides can only be an attack or a broken
     * CSPRNG; a few retries cover the astronomically unlikely honest case. */
    if (rc == SHMPOOL_EEXIST && name == NULL &&
        attempt + 1 < SHMPOOL__GEN_ATTEMPTS)
      continue;
    break;
  }
  if (rc != 0)
    goto fail;
  /* From here on the header names us, so openers wait for as long as we
   * live while we reserve, which may take a while. */
  if (!raw)
    shmpool__hdr_write(seg->map.base, &head);
  rc = shmpool__plat_seg_reserve(&seg->map, map_size, flags);
  if (rc != 0) {
    shmpool__seg_abandon(seg->name, flags, &seg->map);
    goto fail;
  }

  if (raw) {
    seg->data = (unsigned char *)seg->map.base;
  } else {
    seg->data = (unsigned char *)seg->map.base + SHMPOOL__HDR_SIZE;
    shmpool__hdr_set_state(seg->map.base, SHMPOOL__STATE_READY);
  }
  seg->size = size;
  seg->flags = flags;
  seg->owner = (flags & SHMPOOL_SEG_PERSIST) == 0;
  seg->refs = 1;
  *out = seg;
  return 0;

fail:
  shmpool__seg_free(seg);
  return rc;
}

/* What one look at the object under a name found. */
typedef enum shmpool__seg_look {
  SHMPOOL__LOOK_READY,    /* a finished segment: use it */
  SHMPOOL__LOOK_UNLINKED, /* marked UNLINKED: as good as gone */
  SHMPOOL__LOOK_PENDING,  /* its header names a creator that has not
                             finished: wait while the creator lives */
  SHMPOOL__LOOK_UNBORN,   /* no complete header yet, but the backend says a
                             create may be writing it: look again */
  SHMPOOL__LOOK_FOREIGN   /* not a shmpool segment, or corrupt */
} shmpool__seg_look;

/* Classify the object mapped in *map, filling *info when it has a header.
 * Everything here is read after the backend judged map->creating, and no
 * verdict is taken from a header that failed its check: a torn header is
 * either no verdict yet (creating) or foreign. */
static shmpool__seg_look shmpool__seg_look_at(const shmpool__plat_map *map,
                                              shmpool__hdr_info *info) {
  uint32_t state;
  if (shmpool__hdr_check(map->base, map->map_size, info) != 0) {
    /* Still as long as its header: the creator wrote the header and has
     * not grown the object yet (POSIX). */
    if (shmpool__hdr_check_head(map->base, map->map_size, info) == 0)
      return (shmpool__hdr_state(map->base) & SHMPOOL__STATE_UNLINKED)
                 ? SHMPOOL__LOOK_UNLINKED
                 : SHMPOOL__LOOK_PENDING;
    return map->creating ? SHMPOOL__LOOK_UNBORN : SHMPOOL__LOOK_FOREIGN;
  }
  state = shmpool__hdr_state(map->base);
  if (state & SHMPOOL__STATE_UNLINKED)
    return SHMPOOL__LOOK_UNLINKED;
  return (state & SHMPOOL__STATE_READY) ? SHMPOOL__LOOK_READY
                                        : SHMPOOL__LOOK_PENDING;
}

/* A segment whose header says it is not ready: is its creator still at
 * work? If the creator is gone, it may have finished (or given the name
 * up) just before it went, so the state word is read again after the
 * death was seen: only a segment still unfinished then is one whose
 * creator died mid-create. */
static shmpool__seg_look
shmpool__seg_look_creator(const shmpool__plat_map *map,
                          const shmpool__hdr_info *info) {
  if (shmpool__plat_proc_alive(info->creator_pid, info->creator_start) != 0)
    return SHMPOOL__LOOK_PENDING; /* alive, or cannot tell: wait */
  if (shmpool__hdr_state(map->base) &
      (SHMPOOL__STATE_READY | SHMPOOL__STATE_UNLINKED))
    return SHMPOOL__LOOK_UNBORN; /* changed: look again at once */
  return SHMPOOL__LOOK_FOREIGN;
}

/* The pause between looks at a create in progress: short at first (most
 * creates finish within a millisecond), longer for a long reservation. */
static void shmpool__seg_pause(unsigned looks) {
  shmpool__plat_sleep_ms(looks < 50 ? 1u : looks < 250 ? 5u : 20u);
}

/* Open `name` as a segment with a header, waiting out a create in
 * progress. Each look opens the name afresh, so a name that was removed
 * (or now names a newer segment) is seen as such. On success *map is
 * mapped and *info filled; on failure *map is released. */
static int shmpool__open_validated(const char *name, unsigned flags,
                                   shmpool__plat_map *map,
                                   shmpool__hdr_info *info) {
  uint64_t deadline =
      shmpool__plat_now_ns() + (uint64_t)SHMPOOL__OPEN_WAIT_MS * 1000000u;
  shmpool__seg_look look;
  unsigned looks;
  int rc;

  for (looks = 0;; looks++) {
    rc = shmpool__plat_seg_open(name, flags, map);
    if (rc != 0)
      return rc;
    look = shmpool__seg_look_at(map, info);
    if (look == SHMPOOL__LOOK_READY)
      return 0;
    if (look == SHMPOOL__LOOK_PENDING)
      look = shmpool__seg_look_creator(map, info);
    (void)shmpool__plat_seg_unmap(map);
    shmpool__set_os_error(0);
    switch (look) {
    case SHMPOOL__LOOK_UNLINKED:
      return SHMPOOL_ENOENT;
    case SHMPOOL__LOOK_FOREIGN:
      return SHMPOOL_EFORMAT; /* foreign, or its creator died mid-create */
    default:
      break;
    }
    if (shmpool__plat_now_ns() >= deadline)
      return SHMPOOL_ETIMEDOUT;
    shmpool__seg_pause(looks);
  }
}

int shmpool_seg_open(shmpool_seg **out, const char *name, unsigned flags) {
  shmpool_seg *seg = NULL;
  shmpool__hdr_info info;
  int rc;

  if (out == NULL)
    return SHMPOOL_EINVAL;
  *out = NULL;
  shmpool__set_os_error(0);
  if ((flags & ~(unsigned)SHMPOOL__OPEN_FLAGS) != 0)
    return SHMPOOL_EINVAL;
  if ((rc = shmpool_name_check(name)) != 0)
    return rc;

  seg = (shmpool_seg *)calloc(1, sizeof *seg);
  if (seg == NULL)
    return SHMPOOL_ENOMEM;
  memcpy(seg->name, name, strlen(name) + 1);

  if (flags & SHMPOOL_SEG_RAW) {
    rc = shmpool__plat_seg_open(name, flags, &seg->map);
    if (rc != 0)
      goto fail;
    if (seg->map.map_size == 0) { /* an empty object cannot be mapped */
      rc = SHMPOOL_EFORMAT;
      goto fail_unmap;
    }
    seg->data = (unsigned char *)seg->map.base;
    seg->size = seg->map.map_size;
  } else {
    rc = shmpool__open_validated(name, flags, &seg->map, &info);
    if (rc != 0)
      goto fail;
    seg->data = (unsigned char *)seg->map.base + SHMPOOL__HDR_SIZE;
    seg->size = (size_t)info.size;
    seg->creation_id = info.creation_id;
  }
  seg->flags = flags;
  seg->owner = 0;
  seg->refs = 1;
  *out = seg;
  return 0;

fail_unmap:
  (void)shmpool__plat_seg_unmap(&seg->map);
fail:
  shmpool__seg_free(seg);
  return rc;
}

void *shmpool_seg_data(const shmpool_seg *seg) {
  return seg != NULL ? seg->data : NULL;
}

size_t shmpool_seg_size(const shmpool_seg *seg) {
  return seg != NULL ? seg->size : 0;
}

const char *shmpool_seg_name(const shmpool_seg *seg) {
  return seg != NULL ? seg->name : NULL;
}

unsigned shmpool_seg_flags(const shmpool_seg *seg) {
  return seg != NULL ? seg->flags : 0u;
}

void shmpool__seg_ref(shmpool_seg *seg) {
  (void)shmpool__fetch_add32(&seg->refs, 1);
}

/* Remove the name of a segment whose header this caller claimed (see
 * shmpool__hdr_claim_unlink). If the OS refuses, the name stays: give the
 * claim back, so that the segment stays openable and a later unlink can
 * claim it again. ENOENT (someone removed the object behind shmpool's
 * back, rm /dev/shm/...) leaves it unlinked, as claimed. */
static int shmpool__seg_unlink_claimed(const char *name, unsigned flags,
                                       void *base) {
  int rc = shmpool__plat_seg_unlink(name, flags, SHMPOOL__UNLINK_CLAIMED);
  if (rc != 0 && rc != SHMPOOL_ENOENT)
    shmpool__hdr_unclaim_unlink(base);
  return rc;
}

/* Give up the name of a segment we own, once. */
static int shmpool__seg_unlink_owned(shmpool_seg *seg) {
  int rc;
  if (!seg->owner || seg->unlinked)
    return 0;
  seg->unlinked = 1;
  if (seg->flags & SHMPOOL_SEG_RAW) {
    /* No header to claim: see shmpool_seg_unlink in shmpool.h. */
    rc = shmpool__plat_seg_unlink(seg->name, seg->flags, SHMPOOL__UNLINK_RAW);
  } else if (shmpool__hdr_claim_unlink(seg->map.base)) {
    rc = shmpool__seg_unlink_claimed(seg->name, seg->flags, seg->map.base);
  } else {
    /* shmpool_seg_unlink claimed it first; it removes the name, which may
     * belong to a newer segment by now: not ours to touch. */
    rc = 0;
  }
  /* ENOENT: removed behind our back (rm /dev/shm/...). ENOTSUP: a raw
   * segment on Windows, which goes when its last handle closes, the
   * nearest Windows has to unlink. Neither is a failure of close. */
  if (rc == SHMPOOL_ENOENT || rc == SHMPOOL_ENOTSUP)
    rc = 0;
  return rc;
}

/* The last reference: unlink if we own the name and have not yet, then
 * unmap. */
static int shmpool__seg_destroy(shmpool_seg *seg) {
  int rc = shmpool__seg_unlink_owned(seg);
  if (shmpool__plat_seg_unmap(&seg->map) != 0 && rc == 0)
    rc = SHMPOOL_EIO;
  shmpool__seg_free(seg);
  return rc;
}

int shmpool__seg_unref(shmpool_seg *seg) {
  if (shmpool__fetch_add32(&seg->refs, (uint32_t)-1) != 1)
    return 0;
  return shmpool__seg_destroy(seg);
}

void shmpool__seg_forget(shmpool_seg *seg) {
  if (seg == NULL)
    return;
  (void)shmpool__plat_seg_unmap(&seg->map);
  shmpool__seg_free(seg);
}

void shmpool__seg_busy(shmpool_seg *seg, int delta) {
  (void)shmpool__fetch_add32(&seg->busy, (uint32_t)delta);
}

int shmpool_seg_close(shmpool_seg *seg) {
  int rc = 0, unref_rc;
  if (seg == NULL)
    return 0;
  shmpool__set_os_error(0);
  /* Pools holding the segment notice this and release it when idle. */
  shmpool__store_rel32(&seg->user_closed, 1);
  /* A pool's cached mapping does not keep the name: only tasks in flight
   * do (they may not have attached yet). */
  if (shmpool__load_acq32(&seg->busy) == 0)
    rc = shmpool__seg_unlink_owned(seg);
  unref_rc = shmpool__seg_unref(seg);
  return rc != 0 ? rc : unref_rc;
}

int shmpool_seg_unlink_flags(const char *name, unsigned flags) {
  uint64_t deadline =
      shmpool__plat_now_ns() + (uint64_t)SHMPOOL__OPEN_WAIT_MS * 1000000u;
  shmpool__plat_map map;
  shmpool__hdr_info info;
  unsigned looks;
  int rc;

  shmpool__set_os_error(0);
  if ((flags & ~(unsigned)SHMPOOL_SEG_GLOBAL) != 0)
    return SHMPOOL_EINVAL;
  if ((rc = shmpool_name_check(name)) != 0)
    return rc;
  for (looks = 0;; looks++) {
    rc = shmpool__plat_seg_open(name, flags, &map);
    if (rc != 0)
      return rc;
    if (shmpool__hdr_check(map.base, map.map_size, &info) == 0 ||
        shmpool__hdr_check_head(map.base, map.map_size, &info) == 0)
      break; /* a header, ready or not: claim it */
    /* A create that has not written its header yet would claim nothing
     * on failure or close: wait until it has, rather than remove its name
     * as a raw object's. */
    if (!map.creating || shmpool__plat_now_ns() >= deadline) {
      rc = shmpool__plat_seg_unlink(name, flags, SHMPOOL__UNLINK_RAW);
      (void)shmpool__plat_seg_unmap(&map);
      return rc;
    }
    (void)shmpool__plat_seg_unmap(&map);
    shmpool__seg_pause(looks);
  }
  if (shmpool__hdr_claim_unlink(map.base)) {
    rc = shmpool__seg_unlink_claimed(name, flags, map.base);
  } else {
    /* Its owner's close, or another unlink, claimed it first and removes
     * the name; by the time we would, it may name a newer segment. */
    shmpool__set_os_error(0);
    rc = SHMPOOL_ENOENT;
  }
  (void)shmpool__plat_seg_unmap(&map);
  return rc;
}

int shmpool_seg_unlink(const char *name) {
  return shmpool_seg_unlink_flags(name, 0);
}

int shmpool__seg_inspect(const char *name, unsigned flags,
                         shmpool__seg_report *r) {
  shmpool__plat_map map;
  int rc;
  memset(r, 0, sizeof *r);
  if ((rc = shmpool_name_check(name)) != 0)
    return rc;
  rc = shmpool__plat_seg_open(
      name, (flags & SHMPOOL_SEG_GLOBAL) | SHMPOOL_SEG_READONLY, &map);
  if (rc != 0)
    return rc;
  r->os_size = map.map_size;
  /* A segment still being created may be only as long as its header. */
  if (shmpool__hdr_check(map.base, map.map_size, &r->info) == 0 ||
      shmpool__hdr_check_head(map.base, map.map_size, &r->info) == 0) {
    r->kind = (r->info.attrs & SHMPOOL__ATTR_CONTROL) ? SHMPOOL__KIND_CONTROL
                                                      : SHMPOOL__KIND_SEGMENT;
    r->size = r->info.size;
    /* The live state word, not the copy checked above. */
    r->info.state = shmpool__hdr_state(map.base);
    r->creator_alive =
        shmpool__plat_proc_alive(r->info.creator_pid, r->info.creator_start);
  } else {
    r->kind = SHMPOOL__KIND_RAW;
    r->size = map.map_size;
    r->creator_alive = -1;
  }
  (void)shmpool__plat_seg_unmap(&map);
  return 0;
}
