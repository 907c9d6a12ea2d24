/* Waiting and waking across processes: the one idle protocol that both
 * the parent (waiting for results) and a worker (waiting for tasks) use.
 *
 * A channel is a wake word and a "sleeping" word in shared memory plus the
 * backend's wake object (src/platform.h). A waiting side spins on its
 * condition (a message that arrives now costs nothing), then yields the
 * CPU for a while (on a machine with more runnable processes than cores,
 * spinning would steal the other side's time), then announces that it
 * sleeps, re-checks its condition, and sleeps on the wake word. The side
 * that publishes issues a full fence and wakes the channel only if it sees
 * the announcement: a side that is awake is never woken by a system call,
 * and the fence pair makes sure that one of the two sees the other.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_IDLE_H
#define SHMPOOL_IDLE_H

#include <stdint.h>

#include "platform.h"

typedef struct shmpool__chan {
  volatile uint32_t *word;     /* bumped by the waker when it wakes */
  volatile uint32_t *sleeping; /* nonzero while the waiter sleeps */
  shmpool__plat_waker *waker;
} shmpool__chan;

/* What a waiting side waits for: nonzero when it holds. Called often
 * during the spin, so it must be cheap and make no system call. */
typedef int (*shmpool__ready_fn)(void *ctx);

/* Wait until ready(ctx) holds or the monotonic clock reaches `until`
 * (shmpool__plat_now_ns; UINT64_MAX: no limit). Returns 1 if ready(ctx)
 * held, 0 when `until` came first. May return 0 a little early when a
 * stale wake arrives; callers loop. */
int shmpool__idle(const shmpool__chan *ch, shmpool__ready_fn ready, void *ctx,
                  uint64_t until);

/* Called after publishing what the other side waits for: wake the channel
 * if, and only if, its waiter announced that it sleeps. */
void shmpool__chan_wake(const shmpool__chan *ch);

/* Now plus ms milliseconds on the monotonic clock; UINT64_MAX for ms < 0. */
uint64_t shmpool__deadline(int ms);

#endif /* SHMPOOL_IDLE_H */
