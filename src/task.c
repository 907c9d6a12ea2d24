/* The API a task function sees: its argument, id, worker, segments, and
 * how it replies or fails.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "worker.h"

const void *shmpool_task_arg(const shmpool_task *t, size_t *len) {
  if (len != NULL)
    *len = t != NULL ? t->arg_len : 0;
  return t != NULL ? t->arg : NULL;
}

uint64_t shmpool_task_id(const shmpool_task *t) {
  return t != NULL ? t->id : 0;
}

unsigned shmpool_task_worker(const shmpool_task *t) {
  return t != NULL ? t->worker : 0u;
}

size_t shmpool_task_nsegs(const shmpool_task *t) {
  return t != NULL ? t->nsegs : 0;
}

void *shmpool_task_seg(shmpool_task *t, size_t i, size_t *size) {
  if (t == NULL || i >= t->nsegs) {
    if (size != NULL)
      *size = 0;
    return NULL;
  }
  if (size != NULL)
    *size = t->seg_size[i];
  return t->seg_data[i];
}

int shmpool_task_reply(shmpool_task *t, const void *data, size_t len) {
  if (t == NULL || (data == NULL && len != 0))
    return SHMPOOL_EINVAL;
  if (len > t->reply_cap)
    return t->lib_error = SHMPOOL_EMSGSIZE;
  if (len != 0)
    memcpy(t->reply, data, len);
  t->reply_len = len;
  return 0;
}

int shmpool_task_fail(shmpool_task *t, int status, const char *message) {
  size_t n;
  if (t == NULL || t->msg == NULL)
    return status;
  n = message != NULL ? strlen(message) : 0;
  if (n > SHMPOOL_MESSAGE_MAX)
    n = SHMPOOL_MESSAGE_MAX;
  if (n != 0)
    memcpy(t->msg, message, n);
  t->msg[n] = '\0';
  t->msg_len = (uint32_t)n;
  return status;
}

int shmpool__task_status(shmpool_task *t, int status) {
  char text[SHMPOOL_MESSAGE_MAX + 1];
  if (status >= 0 || status < SHMPOOL_TASK_STATUS_MIN || status == t->lib_error)
    return status;
  if (t->msg != NULL && t->msg_len == 0) {
    (void)snprintf(text, sizeof text,
                   "the task returned %d (%s), a status reserved for "
                   "library codes",
                   status, shmpool_err_name(status));
    (void)shmpool_task_fail(t, 0, text);
  }
  return SHMPOOL_ESTATUS;
}
