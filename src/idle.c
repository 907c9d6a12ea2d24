/* The idle protocol shared by the parent and the workers (see idle.h).
 *
 * SPDX-License-Identifier: MIT */
#include "idle.h"

#include "atomics.h"
#include "internal.h"

/* How long a waiting side spins, then yields, before it sleeps. One set
 * for both sides: the parent waiting for a result and a worker waiting for
 * a task are the two ends of the same round trip. */
#define SHMPOOL__SPIN_NS 20000u
#define SHMPOOL__YIELD_NS 100000u
/* The clock is read once every this many turns of the spin. */
#define SHMPOOL__CLOCK_EVERY 64u

uint64_t shmpool__deadline(int ms) {
  if (ms < 0)
    return UINT64_MAX;
  return shmpool__plat_now_ns() + (uint64_t)ms * 1000000u;
}

/* Milliseconds from now until `until`, rounded up, for a sleep. */
static int shmpool__ms_until(uint64_t now, uint64_t until) {
  uint64_t ms;
  if (until == UINT64_MAX)
    return -1;
  ms = (until - now + 999999u) / 1000000u;
  return ms > 3600000u ? 3600000 : (int)ms;
}

int shmpool__idle(const shmpool__chan *ch, shmpool__ready_fn ready, void *ctx,
                  uint64_t until) {
  uint64_t start = shmpool__plat_now_ns(), now = start;
  uint32_t seq;
  unsigned turn = 0;
  int ok;
  for (;;) {
    if (ready(ctx))
      return 1;
    if (++turn % SHMPOOL__CLOCK_EVERY != 0) {
      shmpool__cpu_relax();
      continue;
    }
    now = shmpool__plat_now_ns();
    if (now >= until)
      return 0;
    if (now - start < SHMPOOL__SPIN_NS)
      continue;
    if (now - start >= SHMPOOL__SPIN_NS + SHMPOOL__YIELD_NS)
      break;
    shmpool__plat_sleep_ms(0);
  }
  /* Announce, re-check, sleep. The fence pairs with the one in
   * shmpool__chan_wake: either the waker sees the announcement, or this
   * re-check sees what it published. The word is read before the
   * announcement, so a wake in between makes the sleep return at once. */
  seq = shmpool__load_acq32(ch->word);
  shmpool__store_rel32(ch->sleeping, 1);
  shmpool__fence();
  ok = ready(ctx);
  if (!ok) {
    (void)shmpool__plat_wait(ch->waker, ch->word, seq,
                             shmpool__ms_until(now, until));
    ok = ready(ctx);
  }
  shmpool__store_rel32(ch->sleeping, 0);
  return ok;
}

void shmpool__chan_wake(const shmpool__chan *ch) {
  shmpool__fence();
  if (shmpool__load_acq32(ch->sleeping) != 0) {
    (void)shmpool__fetch_add32(ch->word, 1);
    shmpool__plat_wake(ch->waker, ch->word);
  }
}
