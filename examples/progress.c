/* A long map with a progress bar: count the primes below a bound in
 * blocks, one map element per block, and draw a bar while the workers go.
 * Results arrive as chunks complete (shmpool_map_next), so the running
 * total is shown before the map is over.
 *
 *   progress [--blocks N] [--block-size N] [--workers N] [--check]
 *
 * On a terminal the bar is redrawn in place; otherwise (a log, a test) a
 * line is printed every 10%. --check compares with a count done in this
 * process and ends with "check: ok" or "check: FAILED".
 *
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmpool.h>

#if defined(_WIN32)
#include <io.h>
#define stdout_is_terminal() _isatty(_fileno(stdout))
#else
#include <unistd.h>
#define stdout_is_terminal() isatty(fileno(stdout))
#endif

typedef struct block {
  uint64_t start, count;
} block;

static int is_prime(uint64_t n) {
  uint64_t d;
  if (n < 2)
    return 0;
  for (d = 2; d * d <= n; d++)
    if (n % d == 0)
      return 0;
  return 1;
}

static uint64_t count_primes(uint64_t start, uint64_t count) {
  uint64_t n, found = 0;
  for (n = start; n < start + count; n++)
    found += (uint64_t)is_prime(n);
  return found;
}

/* A map element: count the primes in its block. */
static int count_block(shmpool_task *t) {
  const block *b = (const block *)shmpool_task_arg(t, NULL);
  uint64_t found = count_primes(b->start, b->count);
  return shmpool_task_reply(t, &found, sizeof found);
}

static const shmpool_task_def tasks[] = {{"count_block", count_block},
                                         {NULL, NULL}};

static void draw(size_t done, size_t total, uint64_t primes, int terminal,
                 int *last_decile) {
  char bar[41];
  size_t filled = total != 0 ? done * 40 / total : 40, i;
  int decile = total != 0 ? (int)(done * 10 / total) : 10;
  if (!terminal) {
    if (decile == *last_decile)
      return;
    *last_decile = decile;
  }
  for (i = 0; i < 40; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[40] = '\0';
  printf("%s[%s] %3d%%  %llu/%llu blocks, %llu primes so far%s",
         terminal ? "\r" : "", bar, (int)(total ? done * 100 / total : 100),
         (unsigned long long)done, (unsigned long long)total,
         (unsigned long long)primes, terminal ? "" : "\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  size_t nblocks = 200, size = 50000, first, count, done = 0, i;
  unsigned workers = 0;
  int check = 0, terminal, last_decile = -1, rc, a;
  shmpool_map_options mo;
  shmpool_map_job *job;
  shmpool_options o;
  shmpool *pool;
  uint64_t *found, total = 0;
  block *blocks;

  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--blocks") == 0 && a + 1 < argc)
      nblocks = (size_t)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--block-size") == 0 && a + 1 < argc)
      size = (size_t)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--workers") == 0 && a + 1 < argc)
      workers = (unsigned)strtoul(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--check") == 0)
      check = 1;
    else {
      fprintf(stderr, "usage: progress [--blocks N] [--block-size N] "
                      "[--workers N] [--check]\n");
      return 2;
    }
  }
  if (nblocks == 0 || size == 0) {
    fprintf(stderr, "progress: --blocks and --block-size must be > 0\n");
    return 2;
  }
  blocks = (block *)malloc(nblocks * sizeof *blocks);
  found = (uint64_t *)calloc(nblocks, sizeof *found);
  if (blocks == NULL || found == NULL) {
    fprintf(stderr, "progress: out of memory\n");
    return 1;
  }
  for (i = 0; i < nblocks; i++) {
    blocks[i].start = (uint64_t)i * size;
    blocks[i].count = size;
  }

  shmpool_options_init(&o);
  o.workers = workers;
  o.tasks = tasks;
  rc = shmpool_create(&pool, &o);
  if (rc != 0) {
    fprintf(stderr, "progress: shmpool_create: %s\n", shmpool_strerror(rc));
    return 1;
  }
  /* Small chunks, so the bar moves often. */
  shmpool_map_options_init(&mo);
  mo.chunk_size = 2;
  rc = shmpool_map_start(pool, &job, "count_block", blocks, sizeof *blocks,
                         nblocks, NULL, 0, found, sizeof *found, NULL, &mo);
  if (rc != 0) {
    fprintf(stderr, "progress: shmpool_map_start: %s\n", shmpool_strerror(rc));
    return 1;
  }
  terminal = stdout_is_terminal();
  draw(0, nblocks, 0, terminal, &last_decile);
  /* Each call hands over the blocks that completed since the last one;
   * their counts are already in found[]. */
  while ((rc = shmpool_map_next(job, &first, &count, 100)) == 0 ||
         rc == SHMPOOL_ETIMEDOUT) {
    for (i = first; rc == 0 && i < first + count; i++)
      total += found[i];
    done += rc == 0 ? count : 0;
    draw(done, nblocks, total, terminal, &last_decile);
  }
  if (terminal)
    printf("\n");
  rc = shmpool_map_finish(job);
  shmpool_destroy(pool);
  if (rc != 0) {
    fprintf(stderr, "progress: the map failed: %s\n", shmpool_strerror(rc));
    return 1;
  }
  printf("primes below %llu: %llu\n",
         (unsigned long long)((uint64_t)nblocks * size),
         (unsigned long long)total);
  if (check) {
    uint64_t serial = count_primes(0, (uint64_t)nblocks * size);
    printf("check: %s\n", serial == total ? "ok" : "FAILED");
    rc = serial == total ? 0 : 1;
  }
  free(blocks);
  free(found);
  return rc;
}
