/* Shared helpers for the fuzz targets: a FuzzedDataProvider-style byte
 * reader in C, and the invariant check that aborts (so libFuzzer reports
 * a crash and saves the input).
 *
 * Integers are read little-endian, one byte at a time, so a seed file means
 * the same on every machine; when the input runs out, reads return zeros.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_FUZZ_UTIL_H
#define SHMPOOL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,   \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

typedef struct fuzz_input {
  const uint8_t *p;
  size_t n;
} fuzz_input;

static inline void fuzz_init(fuzz_input *in, const uint8_t *data, size_t n) {
  in->p = data;
  in->n = n;
}

/* Copy len bytes to dst, zero-filling what the input no longer has. */
static inline void fuzz_bytes(fuzz_input *in, void *dst, size_t len) {
  size_t k = len < in->n ? len : in->n;
  if (k != 0)
    memcpy(dst, in->p, k);
  if (len > k)
    memset((unsigned char *)dst + k, 0, len - k);
  in->p += k;
  in->n -= k;
}

static inline uint8_t fuzz_u8(fuzz_input *in) {
  uint8_t b = 0;
  fuzz_bytes(in, &b, 1);
  return b;
}

static inline uint64_t fuzz_uint(fuzz_input *in, unsigned nbytes) {
  uint64_t v = 0;
  unsigned i;
  for (i = 0; i < nbytes; i++)
    v |= (uint64_t)fuzz_u8(in) << (8u * i);
  return v;
}

static inline uint16_t fuzz_u16(fuzz_input *in) {
  return (uint16_t)fuzz_uint(in, 2);
}
static inline uint32_t fuzz_u32(fuzz_input *in) {
  return (uint32_t)fuzz_uint(in, 4);
}
static inline uint64_t fuzz_u64(fuzz_input *in) { return fuzz_uint(in, 8); }

#endif /* SHMPOOL_FUZZ_UTIL_H */
