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
  /* The object is fresh and nobody trusts it before the READY bit is set
   * (with release order, by the caller), so a plain copy is enough. */
  memcpy(base, &h, sizeof h);
}

int shmpool__hdr_check(const void *base, size_t map_size,
                       shmpool__hdr_info *info) {
  static const unsigned char zero[sizeof(shmpool__hdr)];
  shmpool__hdr h;
  if (base == NULL || map_size < sizeof h)
    return map_size == 0 ? SHMPOOL__HDR_ZERO : SHMPOOL_EFORMAT;
  memcpy(&h, base, sizeof h);
  if (memcmp(h.magic, SHMPOOL__MAGIC, sizeof h.magic) != 0)
    return memcmp(&h, zero, sizeof h) == 0 ? SHMPOOL__HDR_ZERO
                                           : SHMPOOL_EFORMAT;
  if (h.version != SHMPOOL__HDR_VERSION || h.hdr_size != SHMPOOL__HDR_SIZE ||
      h.checksum != shmpool__hdr_checksum(&h) || h.reserved[0] != 0 ||
      h.reserved[1] != 0)
    return SHMPOOL_EFORMAT;
  /* The user bytes must lie inside the object. */
  if (h.size == 0 || h.size > (uint64_t)(map_size - SHMPOOL__HDR_SIZE))
    return SHMPOOL_EFORMAT;
  info->state = h.state;
  info->size = h.size;
  info->creator_pid = h.creator_pid;
  info->creator_start = h.creator_start;
  info->creation_id = h.creation_id;
  info->attrs = h.attrs;
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
