/* The per-worker queues: sending a message into a worker's task ring,
 * taking its results out of its result ring, and choosing a worker.
 *
 * Each message is recorded in parent memory (the in-flight records), and
 * a result is checked against that record on a private copy before
 * anything is believed. What a completed message means (a task's result,
 * a map chunk) is its handler's business, not this file's.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "atomics.h"
#include "pool.h"

void shmpool__ring_send(shmpool *pool, shmpool__wslot *ws,
                        const shmpool__msg *msg, uint64_t id,
                        const shmpool__inflight *rec) {
  shmpool__task_slot *s = shmpool__ctl_task_slot(ws->wb, &pool->l, ws->tail);
  shmpool__inflight *r = &ws->inflight[ws->tail & (pool->l.p.depth - 1)];
  uint32_t i;
  s->id = id;
  s->kind = msg->kind;
  s->name_len = (uint32_t)msg->name_len;
  s->arg_len = (uint32_t)msg->arg_len;
  s->nsegs = msg->nsegs;
  memcpy(s->name, msg->task, msg->name_len);
  s->name[msg->name_len] = '\0';
  for (i = 0; i < msg->nsegs; i++)
    s->segs[i] = shmpool__segtab_ref_of(pool, rec->refs[i]);
  if (msg->arg_len != 0)
    memcpy(shmpool__task_slot_arg(s), msg->arg, msg->arg_len);
  /* The worker takes the slot by changing this word (see worker.c), so
   * the parent can tell a started message from a queued one. */
  shmpool__store_rel32(&s->state, SHMPOOL__SLOT_QUEUED);
  *r = *rec;
  r->id = id;
  r->kind = msg->kind;
  ws->tail++;
  ws->sent++;
  shmpool__store_rel32(&ws->wb->task_tail, ws->tail);
  shmpool__chan_wake(&ws->chan);
}

int shmpool__ring_take(shmpool *pool, shmpool__wslot *ws,
                       shmpool__completion *c) {
  shmpool__result_slot *slot, copy;
  const shmpool__inflight *rec;
  uint32_t rtail;
  int rc;
  if (ws->done == ws->tail)
    return 0;
  rtail = shmpool__load_acq32(&ws->wb->result_tail);
  if (rtail == ws->done)
    return 0;
  slot = shmpool__ctl_result_slot(ws->wb, &pool->l, ws->done);
  rec = &ws->inflight[ws->done & (pool->l.p.depth - 1)];
  /* Checked on a private copy: the worker cannot change it afterwards. */
  memcpy(&copy, slot, sizeof copy);
  rc = shmpool__result_check(ws->done, ws->tail, rtail, &copy, rec->id,
                             pool->l.p.max_reply);
  if (rc != 1)
    return rc;
  c->rec = *rec;
  c->worker = ws->index;
  c->status = copy.status;
  c->len = copy.len;
  c->data = shmpool__result_slot_data(slot);
  c->msg_len = copy.msg_len;
  c->msg = shmpool__result_slot_msg(slot);
  c->exit_code = 0;
  c->term_signal = 0;
  ws->done++;
  return 1;
}

int shmpool__ring_cancel(shmpool *pool, shmpool__wslot *ws, uint32_t seq) {
  shmpool__task_slot *s = shmpool__ctl_task_slot(ws->wb, &pool->l, seq);
  return shmpool__cas32(&s->state, SHMPOOL__SLOT_QUEUED,
                        SHMPOOL__SLOT_CANCELED);
}

int shmpool__ring_replied(const shmpool__wslot *ws, uint32_t seq) {
  /* Published results count up to result_tail; seq is outstanding, so
   * seq - done < tail - done, and the worker's count is bounded by what
   * was sent (anything else is nonsense, read as "not replied"). */
  uint32_t rtail = shmpool__load_acq32(&ws->wb->result_tail);
  return rtail - ws->done <= ws->tail - ws->done &&
         seq - ws->done < rtail - ws->done;
}

int shmpool__ring_usable(const shmpool *pool, const shmpool__wslot *ws) {
  return ws->running && !ws->condemned && !ws->stopping &&
         (pool->opts.max_tasks_per_worker == 0 ||
          ws->sent < pool->opts.max_tasks_per_worker);
}

int shmpool__ring_room(const shmpool *pool, uint32_t w, uint32_t limit) {
  const shmpool__wslot *ws = &pool->w[w];
  return shmpool__ring_usable(pool, ws) && ws->tail - ws->done < limit;
}

int shmpool__ring_pick(const shmpool *pool, uint32_t limit) {
  uint32_t i, best_load = UINT32_MAX;
  int best = -1;
  for (i = 0; i < pool->nworkers; i++) {
    const shmpool__wslot *ws = &pool->w[i];
    uint32_t load = ws->tail - ws->done;
    if (shmpool__ring_usable(pool, ws) && load < limit && load < best_load) {
      best = (int)i;
      best_load = load;
      if (load == 0)
        break;
    }
  }
  return best;
}
