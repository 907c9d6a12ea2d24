/* The segment header: writing it, validating it, its state word.
 * docs/FORMAT.md describes the layout byte for byte.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "atomics.h"
#include "internal.h"

/* The layout is a file format: make the compiler prove it. */
typedef char shmpool__hdr_size_check[sizeof(shmpool__hdr) == 64 ? 1 : -1];
typedef char
    shmpool__hdr_state_check[offsetof(shmpool__hdr, state) == 12 ? 1 : -1];
typedef char
    shmpool__hdr_sum_check[offsetof(shmpool__hdr, checksum) == 60 ? 1 : -1];
/* The backend puts the header in place as the segment's head. */
typedef char
    shmpool__hdr_head_check[SHMPOOL__HDR_SIZE == SHMPOOL__PLAT_HEAD_SIZE ? 1
                                                                         : -1];

static uint32_t shmpool__fnv1a(uint32_t h, const unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

/* The checksum covers everything but the state word and itself. */
static uint32_t shmpool__hdr_checksum(const shmpool__hdr *h) {
  const unsigned char *p = (const unsigned char *)h;
  uint32_t sum = shmpool__fnv1a(2166136261u, p, 12);
  return shmpool__fnv1a(sum, p + 16, 44);
}

void shmpool__creator_self(shmpool__creator *c) {
  c->pid = shmpool__plat_pid();
  c->start = shmpool__plat_proc_start(c->pid);
}

void shmpool__hdr_init(void *base, uint64_t size, uint32_t attrs,
                       uint64_t creation_id, const shmpool__creator *c) {
  shmpool__hdr h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, SHMPOOL__MAGIC, sizeof h.magic);
  h.version = SHMPOOL__HDR_VERSION;
  h.hdr_size = SHMPOOL__HDR_SIZE;
  h.size = size;
  h.creator_pid = c->pid;
  h.creator_start = c->start;
  h.creation_id = creation_id;
  h.attrs = attrs;
  h.checksum = shmpool__hdr_checksum(&h);
  memcpy(base, &h, sizeof h);
}

/* Copy the header out of shared memory and check everything but whether
 * its size fits the object: 0, SHMPOOL__HDR_ZERO or SHMPOOL_EFORMAT. The
 * caller made sure that 64 bytes can be read. */
static int shmpool__hdr_copy_check(const void *base, shmpool__hdr *h) {
  static const unsigned char zero[sizeof(shmpool__hdr)];
  memcpy(h, base, sizeof *h);
  if (memcmp(h->magic, SHMPOOL__MAGIC, sizeof h->magic) != 0)
    return memcmp(h, zero, sizeof *h) == 0 ? SHMPOOL__HDR_ZERO
                                           : SHMPOOL_EFORMAT;
  if (h->version != SHMPOOL__HDR_VERSION || h->hdr_size != SHMPOOL__HDR_SIZE ||
      h->checksum != shmpool__hdr_checksum(h) || h->reserved[0] != 0 ||
      h->reserved[1] != 0 || h->size == 0)
    return SHMPOOL_EFORMAT;
  return 0;
}

static void shmpool__hdr_fill_info(const shmpool__hdr *h,
                                   shmpool__hdr_info *info) {
  info->state = h->state;
  info->size = h->size;
  info->creator_pid = h->creator_pid;
  info->creator_start = h->creator_start;
  info->creation_id = h->creation_id;
  info->attrs = h->attrs;
}

void shmpool__hdr_write(void *base, const shmpool__hdr *h) {
  unsigned char *dst = (unsigned char *)base;
  const unsigned char *src = (const unsigned char *)h;
  const size_t state_at = offsetof(shmpool__hdr, state);
  const size_t after_state = state_at + sizeof h->state;
  /* Not the state word: it is zero in a fresh object already, and others
   * may set bits in it atomically as soon as the rest is valid (the
   * checksum leaves it out), so a plain store of its zero here could undo
   * an UNLINKED claim made meanwhile. Nobody trusts the other bytes before
   * they pass the checksum, so a plain copy is enough for them. */
  memcpy(dst, src, state_at);
  memcpy(dst + after_state, src + after_state, sizeof *h - after_state);
}

int shmpool__hdr_check(const void *base, size_t map_size,
                       shmpool__hdr_info *info) {
  shmpool__hdr h;
  int rc;
  if (base == NULL || map_size < sizeof h)
    return map_size == 0 ? SHMPOOL__HDR_ZERO : SHMPOOL_EFORMAT;
  rc = shmpool__hdr_copy_check(base, &h);
  if (rc != 0)
    return rc;
  /* The user bytes must lie inside the object. */
  if (h.size > (uint64_t)(map_size - SHMPOOL__HDR_SIZE))
    return SHMPOOL_EFORMAT;
  shmpool__hdr_fill_info(&h, info);
  return 0;
}

int shmpool__hdr_check_head(const void *base, size_t map_size,
                            shmpool__hdr_info *info) {
  shmpool__hdr h;
  if (base == NULL || map_size != SHMPOOL__HDR_SIZE)
    return SHMPOOL_EFORMAT;
  if (shmpool__hdr_copy_check(base, &h) != 0)
    return SHMPOOL_EFORMAT;
  shmpool__hdr_fill_info(&h, info);
  return 0;
}

uint32_t shmpool__hdr_state(const void *base) {
  const shmpool__hdr *h = (const shmpool__hdr *)base;
  return shmpool__load_acq32(&h->state);
}

void shmpool__hdr_set_state(void *base, uint32_t bits) {
  shmpool__hdr *h = (shmpool__hdr *)base;
  (void)shmpool__fetch_or32(&h->state, bits);
}

int shmpool__hdr_claim_unlink(void *base) {
  shmpool__hdr *h = (shmpool__hdr *)base;
  /* One atomic read-modify-write: of any number of processes that try at
   * once, exactly one sees the bit clear before its own write. */
  return (shmpool__fetch_or32(&h->state, SHMPOOL__STATE_UNLINKED) &
          SHMPOOL__STATE_UNLINKED) == 0;
}

void shmpool__hdr_unclaim_unlink(void *base) {
  shmpool__hdr *h = (shmpool__hdr *)base;
  uint32_t old;
  do {
    old = shmpool__load_acq32(&h->state);
  } while (!shmpool__cas32(&h->state, old,
                           old & ~(uint32_t)SHMPOOL__STATE_UNLINKED));
}

/* splitmix64's finaliser: a bijection that spreads every input bit. */
static uint64_t shmpool__mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

uint64_t shmpool__new_creation_id(const shmpool__creator *c) {
  /* pid + process start + a per-process counter is unique on this machine;
   * the clock only makes a collision after pid reuse even less likely. No
   * CSPRNG call: creation ids are not secrets, and create is a hot path. */
  static uint32_t counter;
  uint64_t seq = shmpool__fetch_add32(&counter, 1);
  uint64_t id = shmpool__mix64(c->pid ^ (seq << 32));
  id = shmpool__mix64(id ^ c->start);
  id = shmpool__mix64(id ^ shmpool__plat_now_ns());
  return id != 0 ? id : 1; /* 0 means "no id" (raw segments) */
}
