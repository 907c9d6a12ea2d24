/* Checking what callers pass to a pool, once, before anything is sent:
 * options, task names, segment lists.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "pool.h"

#define SHMPOOL__DEFAULT_MSG 256u
#define SHMPOOL__DEFAULT_DEPTH 64u
#define SHMPOOL__DEFAULT_SEGTAB 64u

static const shmpool_task_def *shmpool__find_def(const shmpool_task_def *t,
                                                 const char *name) {
  for (; t != NULL && t->name != NULL; t++)
    if (strcmp(t->name, name) == 0)
      return t;
  return NULL;
}

static uint32_t shmpool__pow2_at_least(uint32_t x) {
  uint32_t p = 1;
  while (p < x)
    p <<= 1;
  return p;
}

int shmpool__check_options(const shmpool_options *o, shmpool__ctl_params *p) {
  size_t init_len = o->init_task != NULL ? strlen(o->init_task) : 0;
  uint32_t workers = o->workers != 0 ? o->workers : shmpool__plat_cpu_count();
  size_t max_arg =
      o->max_arg_size != 0 ? o->max_arg_size : SHMPOOL__DEFAULT_MSG;
  size_t max_reply =
      o->max_reply_size != 0 ? o->max_reply_size : SHMPOOL__DEFAULT_MSG;
  uint32_t depth =
      o->queue_depth != 0 ? o->queue_depth : SHMPOOL__DEFAULT_DEPTH;
  uint32_t nsegtab =
      o->max_segments != 0 ? o->max_segments : SHMPOOL__DEFAULT_SEGTAB;
  if (workers > SHMPOOL__MAX_WORKERS || max_arg > SHMPOOL__MAX_MSG ||
      max_reply > SHMPOOL__MAX_MSG || depth > SHMPOOL__MAX_DEPTH ||
      nsegtab > SHMPOOL__MAX_SEGTAB || nsegtab < SHMPOOL_TASK_SEGS_MAX + 1 ||
      (o->init_task != NULL &&
       (init_len == 0 || init_len > SHMPOOL_TASK_NAME_MAX)) ||
      o->init_arg_len > max_arg ||
      (o->init_arg == NULL && o->init_arg_len != 0) ||
      o->start_timeout_ms < 0 || o->shutdown_timeout_ms < 0)
    return SHMPOOL_EINVAL;
  if (o->init_task != NULL && o->tasks != NULL &&
      shmpool__find_def(o->tasks, o->init_task) == NULL)
    return SHMPOOL_ENOTASK;
  p->nworkers = workers;
  p->depth = shmpool__pow2_at_least(depth < 2 ? 2 : depth);
  p->max_arg = (uint32_t)max_arg;
  p->max_reply = (uint32_t)max_reply;
  p->nsegtab = nsegtab;
  p->init_name_len = (uint32_t)init_len;
  p->init_arg_len = (uint32_t)o->init_arg_len;
  return 0;
}

int shmpool__check_task(const shmpool *pool, const char *task,
                        shmpool_seg *const *segs, size_t nsegs,
                        size_t *name_len) {
  size_t i;
  if (task == NULL || task[0] == '\0')
    return SHMPOOL_EINVAL;
  *name_len = strlen(task);
  if (*name_len > SHMPOOL_TASK_NAME_MAX)
    return SHMPOOL_EINVAL;
  if (nsegs > SHMPOOL_TASK_SEGS_MAX || (nsegs != 0 && segs == NULL))
    return SHMPOOL_EINVAL;
  for (i = 0; i < nsegs; i++)
    if (segs[i] == NULL)
      return SHMPOOL_EINVAL;
  if (pool->opts.tasks != NULL &&
      shmpool__find_def(pool->opts.tasks, task) == NULL)
    return SHMPOOL_ENOTASK;
  return 0;
}

int shmpool__copy_in(void *out, size_t out_size, const void *in, size_t size) {
  const unsigned char *p = (const unsigned char *)in;
  size_t i;
  /* A struct smaller than its size field, or absurdly large, was not
   * initialised with its _init() macro. */
  if (size < sizeof(size_t) || size > 65536)
    return SHMPOOL_EINVAL;
  /* A newer caller's fields that this library does not know must be
   * unset: silently ignoring a request would be worse than refusing. */
  for (i = out_size; i < size; i++)
    if (p[i] != 0)
      return SHMPOOL_ENOTSUP;
  memcpy(out, in, size < out_size ? size : out_size);
  *(size_t *)out = out_size;
  return 0;
}

int shmpool__enter(shmpool *pool) {
  if (pool == NULL)
    return SHMPOOL_EINVAL;
  /* A forked child has a copy of the parent's pool, whose workers and
   * shared memory are the parent's: it must not touch them. */
  if (shmpool__plat_fork_generation() != pool->fork_gen)
    return SHMPOOL_EFORK;
  shmpool__plat_monitor_lock(pool->mon);
  return 0;
}

void shmpool__leave(shmpool *pool) {
  shmpool__plat_monitor_unlock(pool->mon);
}

/* ---- the _init() functions behind the public macros -------------------- */

/* Zero a caller's struct of `size` bytes and record its size. */
static int shmpool__init_struct(void *s, size_t size) {
  if (s == NULL || size < sizeof(size_t))
    return 0;
  memset(s, 0, size);
  *(size_t *)s = size;
  return 1;
}

void shmpool_options_init_sized(shmpool_options *opts, size_t struct_size) {
  (void)shmpool__init_struct(opts, struct_size);
}

void shmpool_result_init_sized(shmpool_result *res, size_t struct_size) {
  (void)shmpool__init_struct(res, struct_size);
}

void shmpool_submit_options_init_sized(shmpool_submit_options *opts,
                                       size_t struct_size) {
  /* Defaults that are not zero are written only where the caller's
   * struct has the field. */
  if (shmpool__init_struct(opts, struct_size) &&
      struct_size >= offsetof(shmpool_submit_options, timeout_ms) +
                         sizeof opts->timeout_ms)
    opts->timeout_ms = -1;
}

void shmpool_map_options_init_sized(shmpool_map_options *opts,
                                    size_t struct_size) {
  (void)shmpool__init_struct(opts, struct_size); /* all defaults are 0 */
}
