/* Completing messages: a message's segment holds end, then its handler
 * runs. Submitted tasks' handler keeps the result in parent memory (the
 * finished queue) until shmpool_wait hands it out, so results never wait
 * in the rings and a full ring never blocks a worker.
 *
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

void shmpool__complete(shmpool *pool, const shmpool__completion *c) {
  shmpool__segtab_drop(pool, c->rec.refs, c->rec.nrefs);
  c->rec.done(pool, c);
}

/* Room for one more finished task. */
static int shmpool__finished_grow(shmpool *pool) {
  size_t cap = pool->finished_cap ? pool->finished_cap * 2 : 256, i;
  shmpool__finished *nb = (shmpool__finished *)malloc(cap * sizeof *nb);
  if (nb == NULL)
    return SHMPOOL_ENOMEM;
  for (i = 0; i < pool->finished_len; i++)
    nb[i] = pool->finished[(pool->finished_head + i) % pool->finished_cap];
  free(pool->finished);
  pool->finished = nb;
  pool->finished_cap = cap;
  pool->finished_head = 0;
  return 0;
}

void shmpool__task_done(shmpool *pool, const shmpool__completion *c) {
  shmpool__finished *d;
  if (pool->finished_len == pool->finished_cap &&
      shmpool__finished_grow(pool) != 0)
    return;
  d = &pool->finished[(pool->finished_head + pool->finished_len) %
                      pool->finished_cap];
  d->id = c->rec.id;
  d->status = c->status;
  d->exit_code = c->exit_code;
  d->term_signal = c->term_signal;
  d->len = c->len;
  d->data = NULL;
  if (c->len != 0) {
    d->data = (unsigned char *)malloc(c->len);
    if (d->data == NULL)
      return;
    memcpy(d->data, c->data, c->len);
  }
  pool->finished_len++;
}

int shmpool__finished_pop(shmpool *pool, shmpool_result *res) {
  shmpool__finished *d;
  if (pool->finished_len == 0)
    return SHMPOOL_EAGAIN;
  d = &pool->finished[pool->finished_head];
  res->id = d->id;
  res->status = d->status;
  res->exit_code = d->exit_code;
  res->term_signal = d->term_signal;
  res->len = d->len;
  if (d->len != 0)
    memcpy(pool->reply, d->data, d->len);
  res->data = d->len != 0 ? pool->reply : NULL;
  free(d->data);
  pool->finished_head = (pool->finished_head + 1) % pool->finished_cap;
  pool->finished_len--;
  pool->tasks_out--;
  return 0;
}

void shmpool__finished_free(shmpool *pool) {
  while (pool->finished_len != 0) {
    free(pool->finished[pool->finished_head].data);
    pool->finished_head = (pool->finished_head + 1) % pool->finished_cap;
    pool->finished_len--;
  }
  free(pool->finished);
  pool->finished = NULL;
}
