/* Segment benchmark: shmpool against the raw system calls doing the same
 * work, measured in the same run, reported as medians and ratios.
 *
 *   bench_seg [--quick]
 *
 * 1. create + close of a 4 KiB segment (shmpool: exclusive create, 0600,
 *    reserve, header, unlink on close) against the raw calls doing the
 *    same work (shm_open(O_EXCL) + fchmod + ftruncate + mmap + a 64-byte
 *    write + posix_fallocate + close, then munmap + shm_unlink), and
 *    against the minimal calls (no fchmod, no write, no fallocate).
 * 2. open + close of an existing segment against shm_open + fstat + mmap +
 *    munmap + close.
 * 3. create + memset + close of 1 GiB: reserving at create must not make
 *    it slower than faulting the pages in during the memset.
 *
 * Windows: the raw baseline is CreateFileMappingW + MapViewOfFile.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#endif

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_seg: %s: %s\n", what, shmpool_strerror(rc));
  exit(1);
}

/* ---- the raw baselines ---------------------------------------------- */

#if defined(_WIN32)
typedef struct raw_seg {
  HANDLE h;
  void *p;
} raw_seg;

static int raw_create(raw_seg *s, const char *name, size_t size, int reserve) {
  WCHAR w[64];
  size_t i;
  (void)reserve; /* SEC_COMMIT always charges commit */
  swprintf(w, 64, L"Local\\");
  for (i = 0; name[i]; i++)
    w[6 + i] = (WCHAR)name[i];
  w[6 + i] = 0;
  s->h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
                            PAGE_READWRITE | SEC_COMMIT, 0, (DWORD)size, w);
  if (s->h == NULL)
    return -1;
  s->p = MapViewOfFile(s->h, FILE_MAP_WRITE, 0, 0, size);
  return s->p ? 0 : -1;
}
static int raw_open(raw_seg *s, const char *name, size_t size) {
  WCHAR w[64];
  size_t i;
  (void)size;
  swprintf(w, 64, L"Local\\");
  for (i = 0; name[i]; i++)
    w[6 + i] = (WCHAR)name[i];
  w[6 + i] = 0;
  s->h = OpenFileMappingW(FILE_MAP_WRITE, FALSE, w);
  if (s->h == NULL)
    return -1;
  s->p = MapViewOfFile(s->h, FILE_MAP_WRITE, 0, 0, 0);
  return s->p ? 0 : -1;
}
static void raw_close(raw_seg *s, const char *name, size_t size, int unlink) {
  (void)name, (void)size, (void)unlink;
  UnmapViewOfFile(s->p);
  CloseHandle(s->h);
}
#else
typedef struct raw_seg {
  void *p;
} raw_seg;

/* reserve: 0 = the minimal calls; 1 = also what shmpool does besides:
 * fchmod to 0600 whatever the umask, posix_fallocate, and writing a 64-byte
 * header into the first page. */
static int raw_create(raw_seg *s, const char *name, size_t size, int reserve) {
  char os[64];
  int fd;
  snprintf(os, sizeof os, "/%s", name);
  fd = shm_open(os, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || (reserve && fchmod(fd, 0600) != 0) ||
      ftruncate(fd, (off_t)size) != 0)
    return -1;
  s->p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (s->p == MAP_FAILED)
    return -1;
  if (reserve) {
    memset(s->p, 1, 64);
#if !defined(__APPLE__)
    if (posix_fallocate(fd, 0, (off_t)size) != 0)
      return -1;
#endif
  }
  close(fd);
  return 0;
}
static int raw_open(raw_seg *s, const char *name, size_t size) {
  char os[64];
  struct stat st;
  int fd;
  (void)size;
  snprintf(os, sizeof os, "/%s", name);
  fd = shm_open(os, O_RDWR, 0);
  if (fd < 0 || fstat(fd, &st) != 0)
    return -1;
  s->p =
      mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return s->p == MAP_FAILED ? -1 : 0;
}
static void raw_close(raw_seg *s, const char *name, size_t size, int unlink) {
  char os[64];
  munmap(s->p, size);
  if (unlink) {
    snprintf(os, sizeof os, "/%s", name);
    shm_unlink(os);
  }
}
#endif

/* ---- the measurements ------------------------------------------------- */

#define ROUNDS 9

static double time_create_close_shmpool(int iters, const char *name) {
  double t0 = bench_now_ns();
  int i, rc;
  for (i = 0; i < iters; i++) {
    shmpool_seg *seg;
    if ((rc = shmpool_seg_create(&seg, name, 4096, 0)) != 0)
      die("create", rc);
    shmpool_seg_close(seg);
  }
  return (bench_now_ns() - t0) / iters;
}

static double time_create_close_raw(int iters, const char *name, int reserve) {
  double t0 = bench_now_ns();
  int i;
  for (i = 0; i < iters; i++) {
    raw_seg s;
    if (raw_create(&s, name, 4096, reserve) != 0)
      die("raw create", SHMPOOL_EIO);
    raw_close(&s, name, 4096, 1);
  }
  return (bench_now_ns() - t0) / iters;
}

static double time_open_close_shmpool(int iters, const char *name) {
  double t0 = bench_now_ns();
  int i, rc;
  for (i = 0; i < iters; i++) {
    shmpool_seg *seg;
    if ((rc = shmpool_seg_open(&seg, name, 0)) != 0)
      die("open", rc);
    shmpool_seg_close(seg);
  }
  return (bench_now_ns() - t0) / iters;
}

static double time_open_close_raw(int iters, const char *name, size_t size) {
  double t0 = bench_now_ns();
  int i;
  for (i = 0; i < iters; i++) {
    raw_seg s;
    if (raw_open(&s, name, size) != 0)
      die("raw open", SHMPOOL_EIO);
    raw_close(&s, name, size, 0);
  }
  return (bench_now_ns() - t0) / iters;
}

static double time_fill_shmpool(size_t size, const char *name, unsigned flags) {
  double t0 = bench_now_ns();
  shmpool_seg *seg;
  int rc;
  if ((rc = shmpool_seg_create(&seg, name, size, flags)) != 0)
    die("create 1 GiB", rc);
  memset(shmpool_seg_data(seg), 1, size);
  shmpool_seg_close(seg);
  return bench_now_ns() - t0;
}

static double time_fill_raw(size_t size, const char *name) {
  double t0 = bench_now_ns();
  raw_seg s;
  if (raw_create(&s, name, size, 0) != 0)
    die("raw create 1 GiB", SHMPOOL_EIO);
  memset(s.p, 1, size);
  raw_close(&s, name, size, 1);
  return bench_now_ns() - t0;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int iters = quick ? 2000 : 20000;
  size_t big = quick ? (size_t)64 << 20 : (size_t)1 << 30;
  int fill_rounds = quick ? 3 : 5;
  double a[ROUNDS], b[ROUNDS], c[ROUNDS], r1, r2, r3, r4, r5;
  char name[32];
  shmpool_seg *held;
  int i, rc;

  snprintf(name, sizeof name, "bench.%lu", (unsigned long)shmpool_version());
  (void)shmpool_seg_unlink(name);

  /* 1. create + close, 4 KiB; rounds interleaved so drift hits all. */
  for (i = 0; i < ROUNDS; i++) {
    a[i] = time_create_close_shmpool(iters, name);
    b[i] = time_create_close_raw(iters, name, 0);
    c[i] = time_create_close_raw(iters, name, 1);
  }
  r1 = bench_median(a, ROUNDS);
  r2 = bench_median(b, ROUNDS);
  r3 = bench_median(c, ROUNDS);
  printf("create+close 4 KiB   shmpool %8.0f ns   raw, same work %8.0f ns   "
         "ratio %.2f   (minimal raw calls %8.0f ns, ratio %.2f)\n",
         r1, r3, r1 / r3, r2, r1 / r2);

  /* 2. open + close of an existing 4 KiB segment. */
  if ((rc = shmpool_seg_create(&held, name, 4096, 0)) != 0)
    die("create", rc);
  for (i = 0; i < ROUNDS; i++) {
    a[i] = time_open_close_shmpool(iters, name);
    b[i] = time_open_close_raw(iters, name, 4096 + 64);
  }
  shmpool_seg_close(held);
  r1 = bench_median(a, ROUNDS);
  r2 = bench_median(b, ROUNDS);
  printf("open+close 4 KiB     shmpool %8.0f ns   raw %8.0f ns   "
         "ratio %.2f\n",
         r1, r2, r1 / r2);

  /* 3. create + fill + close of a big segment. */
  for (i = 0; i < fill_rounds; i++) {
    a[i] = time_fill_shmpool(big, name, 0);
    b[i] = time_fill_raw(big, name);
    c[i] = time_fill_shmpool(big, name, SHMPOOL_SEG_NORESERVE);
  }
  r3 = bench_median(a, (size_t)fill_rounds) / 1e6;
  r4 = bench_median(b, (size_t)fill_rounds) / 1e6;
  r5 = bench_median(c, (size_t)fill_rounds) / 1e6;
  printf("create+fill %4zu MiB  shmpool %8.1f ms   raw %8.1f ms   "
         "ratio %.2f   (NORESERVE %8.1f ms)\n",
         big >> 20, r3, r4, r3 / r4, r5);
  return 0;
}
