/* Fuzz target: the segment header (src/header.c, docs/FORMAT.md).
 *
 * The first input byte picks a mode:
 *   0  raw: the rest is the bytes of an object (header + data), checked
 *      with shmpool__hdr_check(bytes, their length) against a model of
 *      FORMAT.md written from the document, not from the code.
 *   1  round trip: sizes, attrs, creation id, creator and state from the
 *      input; shmpool__hdr_init into an exact-size buffer of 64 + N (+/-
 *      slack) bytes, then hdr_check must accept it exactly when
 *      0 < N <= map_size - 64 and give back every field; flipping any byte
 *      of 0-11 or 16-63 must give SHMPOOL_EFORMAT, flipping the state word
 *      (12-15) must change nothing but info.state.
 *   2  NULL base with a fuzzed map size: never dereferenced.
 *
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a over bytes 0-11 and 16-59, from FORMAT.md. */
static uint32_t model_checksum(const unsigned char *h) {
  uint32_t sum = 2166136261u;
  size_t i;
  for (i = 0; i < 60; i++) {
    if (i >= 12 && i < 16)
      continue;
    sum ^= h[i];
    sum *= 16777619u;
  }
  return sum;
}

static uint64_t rd(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  /* Native byte order (FORMAT.md): go through the integer type. */
  if (n == 2) {
    uint16_t x;
    memcpy(&x, p, 2);
    v = x;
  } else if (n == 4) {
    uint32_t x;
    memcpy(&x, p, 4);
    v = x;
  } else {
    memcpy(&v, p, 8);
  }
  return v;
}

/* What FORMAT.md says makes a header valid. */
static int model_valid(const unsigned char *b, size_t map_size) {
  uint64_t sz;
  if (map_size < 64)
    return 0;
  if (memcmp(b, "SHMPOOL\x1a", 8) != 0 || rd(b + 8, 2) != 1 ||
      rd(b + 10, 2) != 64 || rd(b + 52, 4) != 0 || rd(b + 56, 4) != 0 ||
      rd(b + 60, 4) != model_checksum(b))
    return 0;
  sz = rd(b + 16, 8);
  return sz > 0 && sz <= (uint64_t)map_size - 64;
}

static int all_zero(const unsigned char *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i] != 0)
      return 0;
  return 1;
}

/* The fields of info must be those of the header bytes b. */
static void check_info(const unsigned char *b, size_t map_size,
                       const shmpool__hdr_info *info) {
  FUZZ_CHECK(info->size > 0 && info->size <= (uint64_t)map_size - 64);
  FUZZ_CHECK(info->state == rd(b + 12, 4));
  FUZZ_CHECK(info->size == rd(b + 16, 8));
  FUZZ_CHECK(info->creator_pid == rd(b + 24, 8));
  FUZZ_CHECK(info->creator_start == rd(b + 32, 8));
  FUZZ_CHECK(info->creation_id == rd(b + 40, 8));
  FUZZ_CHECK(info->attrs == rd(b + 48, 4));
}

static void mode_raw(fuzz_input *in) {
  size_t n = in->n;
  unsigned char *buf = (unsigned char *)malloc(n ? n : 1);
  shmpool__hdr_info info;
  int rc, valid;
  if (buf == NULL)
    return;
  fuzz_bytes(in, buf, n); /* exact size: ASan sees any over-read */
  memset(&info, 0, sizeof info);
  rc = shmpool__hdr_check(buf, n, &info);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL__HDR_ZERO || rc == SHMPOOL_EFORMAT);
  valid = model_valid(buf, n);
  FUZZ_CHECK((rc == 0) == valid);
  if (rc == 0)
    check_info(buf, n, &info);
  /* "Maybe a create in progress" only for nothing, or 64 zero bytes. */
  if (rc == SHMPOOL__HDR_ZERO)
    FUZZ_CHECK(n == 0 || (n >= 64 && all_zero(buf, 64)));
  free(buf);
}

static void mode_round_trip(fuzz_input *in) {
  shmpool__creator c;
  shmpool__hdr_info info, info2;
  uint64_t n, creation_id, map64;
  uint32_t attrs, state;
  uint8_t sel, mask;
  size_t map_size, pos;
  unsigned char *buf;
  int rc, expect_ok;

  n = fuzz_u16(in); /* user size 0..65535 */
  sel = fuzz_u8(in);
  /* Mostly a map that fits (with slack), sometimes one that is short. */
  if (sel < 192) {
    map64 = 64 + n + (sel & 31u);
  } else {
    uint64_t shortby = (uint64_t)(sel - 191);
    map64 = 64 + n > 64 + shortby ? 64 + n - shortby : 64;
  }
  map_size = (size_t)map64;
  attrs = fuzz_u32(in);
  creation_id = fuzz_u64(in);
  c.pid = fuzz_u64(in);
  c.start = fuzz_u64(in);
  state = fuzz_u32(in);
  mask = fuzz_u8(in);
  if (mask == 0)
    mask = 0x01;

  buf = (unsigned char *)malloc(map_size);
  if (buf == NULL)
    return;
  shmpool__hdr_init(buf, n, attrs, creation_id, &c);
  /* hdr_init writes state 0; the state word is the creator's to change. */
  FUZZ_CHECK(rd(buf + 12, 4) == 0);
  memcpy(buf + 12, &state, 4);

  expect_ok = n > 0 && n <= map64 - 64;
  memset(&info, 0, sizeof info);
  rc = shmpool__hdr_check(buf, map_size, &info);
  if (expect_ok) {
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(info.size == n && info.state == state &&
               info.attrs == attrs && info.creation_id == creation_id &&
               info.creator_pid == c.pid && info.creator_start == c.start);
    check_info(buf, map_size, &info);
  } else {
    FUZZ_CHECK(rc == SHMPOOL_EFORMAT);
  }
  FUZZ_CHECK(model_valid(buf, map_size) == expect_ok);

  /* Every byte but the state word is covered by the checksum. */
  for (pos = 0; pos < 64; pos++) {
    int rc2;
    buf[pos] ^= mask;
    memset(&info2, 0, sizeof info2);
    rc2 = shmpool__hdr_check(buf, map_size, &info2);
    if (pos >= 12 && pos < 16) {
      FUZZ_CHECK(rc2 == rc);
      if (rc2 == 0) {
        FUZZ_CHECK(info2.state == rd(buf + 12, 4));
        FUZZ_CHECK(info2.size == info.size && info2.attrs == info.attrs &&
                   info2.creation_id == info.creation_id &&
                   info2.creator_pid == info.creator_pid &&
                   info2.creator_start == info.creator_start);
      }
    } else {
      FUZZ_CHECK(rc2 != 0);
      FUZZ_CHECK(rc2 == SHMPOOL_EFORMAT); /* the magic is not all zero */
    }
    buf[pos] ^= mask;
  }
  free(buf);
}

static void mode_null(fuzz_input *in) {
  shmpool__hdr_info info;
  uint64_t ms = fuzz_u64(in);
  int rc;
  if (fuzz_u8(in) & 1u)
    ms &= 0xff; /* small sizes, around the 64-byte boundary */
  rc = shmpool__hdr_check(NULL, (size_t)ms, &info);
  FUZZ_CHECK(rc == (ms == 0 ? SHMPOOL__HDR_ZERO : SHMPOOL_EFORMAT));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in;
  fuzz_init(&in, data, size);
  switch (fuzz_u8(&in) % 3u) {
  case 0:
    mode_raw(&in);
    break;
  case 1:
    mode_round_trip(&in);
    break;
  default:
    mode_null(&in);
    break;
  }
  return 0;
}
