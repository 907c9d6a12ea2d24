/* The worker side of a pool: the state its two files share. worker.c
 * attaches to the pool and serves the queue; task.c is the API a task
 * function sees.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_WORKER_H
#define SHMPOOL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "idle.h"
#include "internal.h"

struct shmpool_task {
  const void *arg;
  size_t arg_len;
  uint64_t id;
  unsigned worker; /* the worker block's index */
  size_t nsegs;
  void *seg_data[SHMPOOL_TASK_SEGS_MAX];
  size_t seg_size[SHMPOOL_TASK_SEGS_MAX];
  unsigned char *reply; /* where the reply goes (result slot or scratch) */
  size_t reply_cap;
  size_t reply_len;
  char *msg; /* where a failure message goes; NULL: nowhere (map) */
  uint32_t msg_len;
  int lib_error; /* the last error a shmpool_task_* call returned */
};

/* What a task function's status becomes in its result: a negative status
 * in the range reserved for library codes becomes SHMPOOL_ESTATUS, with a
 * message saying what the task returned, unless it is the very error a
 * shmpool_task_* call returned to the task (as in the usual
 * "return shmpool_task_reply(...)"). */
int shmpool__task_status(shmpool_task *t, int status);

#endif /* SHMPOOL_WORKER_H */
