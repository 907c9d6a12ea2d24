/* The map schedule, white-box (src/sched.c): the first map of a shape is
 * contiguous ranges; later maps of the shape give each chunk to the worker
 * that ran it; a thief takes the far end of the fullest range, a chunk it
 * ran before first, and a chunk warm for its owner only from an owner far
 * behind; a chunk put back returns where it came from; dynamic hands out
 * chunks in order; stopping takes every chunk left.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"

/* A pool as far as the schedule looks at one: its worker count and what
 * it remembers. */
static shmpool *fake_pool(uint32_t nworkers) {
  shmpool *pool = (shmpool *)calloc(1, sizeof *pool);
  assert_non_null(pool);
  pool->nworkers = nworkers;
  return pool;
}

static void free_fake_pool(shmpool *pool) {
  shmpool__affinity_free(pool);
  free(pool);
}

/* The schedule's clock, in the tests' hands. */
static uint64_t fake_ns;
static uint64_t fake_now(void) {
  return fake_ns;
}

static void use_fake_clock(shmpool__sched *s) {
  s->now = fake_now;
  s->t0 = fake_ns;
}

/* Run a whole map: worker w takes chunks while `takes[w]` says so, in
 * turns, each chunk taking 100 ns; returns who ran each chunk in ran[]. */
static void run_map(shmpool *pool, uint64_t nchunks, const int *turns,
                    size_t nturns, uint32_t *ran) {
  shmpool__sched s;
  shmpool__sched_undo undo;
  size_t k;
  uint64_t c;
  assert_int_equal(shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC,
                                       nchunks * 10, 10, nchunks),
                   0);
  use_fake_clock(&s);
  for (k = 0; k < nturns; k++) {
    uint32_t w = (uint32_t)turns[k];
    c = shmpool__sched_next(&s, w, &undo);
    if (c == UINT64_MAX)
      continue;
    ran[c] = w;
    fake_ns += 100;
    shmpool__sched_ran(&s, c, w);
  }
  assert_int_equal(shmpool__sched_take_any(&s, &undo), UINT64_MAX);
  shmpool__sched_remember(pool, &s);
  shmpool__sched_free(&s);
}

static void test_first_map_is_contiguous(void **state) {
  shmpool *pool = fake_pool(2);
  shmpool__sched s;
  shmpool__sched_undo undo;
  (void)state;
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 80, 10, 8), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 4);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 5);
  /* Put back: it comes out again first. */
  shmpool__sched_put_back(&s, &undo);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 5);
  shmpool__sched_free(&s);
  free_fake_pool(pool);
}

static void test_thief_takes_the_far_end(void **state) {
  shmpool *pool = fake_pool(2);
  shmpool__sched s;
  shmpool__sched_undo undo;
  (void)state;
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 80, 10, 8), 0);
  /* Worker 1 runs all its own, then steals worker 0's last ones. */
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 4);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 5);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 6);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 7);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 3);
  /* Put back a stolen chunk: it returns to its owner's range. */
  shmpool__sched_put_back(&s, &undo);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 2);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 3);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), UINT64_MAX);
  shmpool__sched_free(&s);
  free_fake_pool(pool);
}

/* A stolen chunk belongs to its thief in the next map of the same shape,
 * so the thief, which has its pages mapped, runs it again. */
static void test_next_map_gives_each_chunk_to_who_ran_it(void **state) {
  /* Worker 1 runs its four and steals 3 and 2 while worker 0 is busy. */
  static const int first[] = {0, 1, 1, 1, 1, 1, 1, 0, 0};
  static const int second[] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  shmpool *pool = fake_pool(2);
  shmpool__sched s;
  shmpool__sched_undo undo;
  uint32_t ran[8];
  (void)state;
  run_map(pool, 8, first, sizeof first / sizeof first[0], ran);
  assert_int_equal(ran[0], 0);
  assert_int_equal(ran[2], 1);
  assert_int_equal(ran[3], 1);
  /* Next time worker 0 owns {0, 1} and worker 1 owns {2, ..., 7}. */
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 80, 10, 8), 0);
  use_fake_clock(&s);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 2);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  shmpool__sched_ran(&s, 0, 0);
  shmpool__sched_ran(&s, 1, 0);
  /* Worker 0 is out of its own. 7 is cold for it and warm for worker 1,
   * whose 5 unsent would take 5 x 1000 x 2 / 2 ns at this map's pace,
   * more than a cold chunk's 100 x 8 x 2 / 8: worker 0 steals the far
   * end. */
  fake_ns += 1000;
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 7);
  shmpool__sched_free(&s);
  /* Another shape is a fresh start: 9 chunks, worker 1's from 5. */
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 90, 10, 9), 0);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 5);
  shmpool__sched_free(&s);
  run_map(pool, 8, second, sizeof second / sizeof second[0], ran);
  free_fake_pool(pool);
}

/* In a remembered shape every chunk is warm for its owner. A thief with
 * nothing of its own leaves a worker that is a little behind alone (the
 * steal would fault in pages the owner has mapped), and steals once the
 * owner's unsent chunks would take longer than a cold chunk costs. */
static void test_warm_chunks_stay_with_an_owner_a_little_behind(void **state) {
  static const int even[] = {0, 1, 0, 1, 0, 1, 0, 1};
  shmpool *pool = fake_pool(2);
  shmpool__sched s;
  shmpool__sched_undo undo;
  uint32_t ran[8];
  (void)state;
  run_map(pool, 8, even, sizeof even / sizeof even[0], ran);
  /* The first map: 8 chunks in 800 ns on 2 workers, 200 ns a chunk. */
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 80, 10, 8), 0);
  use_fake_clock(&s);
  /* Worker 1 has sent 4..7 and three are done, worker 0 has sent 0 and 1
   * and one is done: 4 done in 20 ns, 10 ns a chunk at this map's pace. */
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 4);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 5);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 6);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 7);
  shmpool__sched_ran(&s, 0, 0);
  shmpool__sched_ran(&s, 4, 1);
  shmpool__sched_ran(&s, 5, 1);
  shmpool__sched_ran(&s, 6, 1);
  fake_ns += 20;
  /* Worker 0's 2 unsent take 20 ns, a cold chunk 200: it keeps them. */
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), UINT64_MAX);
  /* Worker 0 turns out slow (its chunk 1 takes 480 ns): 2 unsent at 250 ns
   * a chunk is worth a cold chunk, so worker 1 steals. */
  fake_ns += 480;
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 3);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 2);
  assert_int_equal(shmpool__sched_take_any(&s, &undo), UINT64_MAX);
  shmpool__sched_ran(&s, 1, 0);
  shmpool__sched_ran(&s, 2, 0);
  shmpool__sched_ran(&s, 3, 1);
  shmpool__sched_ran(&s, 7, 1);
  shmpool__sched_remember(pool, &s);
  shmpool__sched_free(&s);
  /* Next time worker 1 owns 3..7, and 3 is warm for worker 0 as well (it
   * ran 3 in the first map): out of its own, worker 0 takes 3, not the far
   * end 7, which it never ran. */
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 80, 10, 8), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 2);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 3);
  /* Put back, it returns to worker 1's range. */
  shmpool__sched_put_back(&s, &undo);
  assert_int_equal(s.hi[1] - s.lo[1], 5);
  shmpool__sched_free(&s);
  free_fake_pool(pool);
}

/* Stopping a map takes every chunk left, whatever the stealing rules. */
static void test_take_any_drains(void **state) {
  shmpool *pool = fake_pool(3);
  shmpool__sched s;
  shmpool__sched_undo undo;
  uint64_t c, seen = 0;
  int k = 0;
  (void)state;
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_STATIC, 90, 10, 9), 0);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 3);
  while ((c = shmpool__sched_take_any(&s, &undo)) != UINT64_MAX) {
    seen |= (uint64_t)1 << c;
    k++;
  }
  assert_int_equal(k, 8);
  assert_int_equal(seen, 0x1f7u); /* all but 3 */
  shmpool__sched_free(&s);
  free_fake_pool(pool);
}

static void test_dynamic_in_order(void **state) {
  shmpool *pool = fake_pool(3);
  shmpool__sched s;
  shmpool__sched_undo undo;
  (void)state;
  assert_int_equal(
      shmpool__sched_init(&s, pool, SHMPOOL_SCHEDULE_DYNAMIC, 30, 10, 3), 0);
  assert_int_equal(shmpool__sched_next(&s, 2, &undo), 0);
  assert_int_equal(shmpool__sched_next(&s, 0, &undo), 1);
  shmpool__sched_put_back(&s, &undo);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 1);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), 2);
  assert_int_equal(shmpool__sched_next(&s, 1, &undo), UINT64_MAX);
  shmpool__sched_free(&s);
  free_fake_pool(pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_map_is_contiguous),
      cmocka_unit_test(test_thief_takes_the_far_end),
      cmocka_unit_test(test_next_map_gives_each_chunk_to_who_ran_it),
      cmocka_unit_test(test_warm_chunks_stay_with_an_owner_a_little_behind),
      cmocka_unit_test(test_take_any_drains),
      cmocka_unit_test(test_dynamic_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
