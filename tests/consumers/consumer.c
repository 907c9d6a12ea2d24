/* A program that uses shmpool the way a user's program would, built by
 * each consumer project (CMake package, pkg-config, add_subdirectory): a
 * segment, a pool of this same executable, a map that writes into the
 * segment, and a check of what came back.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include <shmpool.h>

static int square_into(shmpool_task *t) {
  size_t size;
  double *v = (double *)shmpool_task_seg(t, 0, &size);
  uint64_t i = shmpool_task_id(t);
  if (v == NULL || (i + 1) * sizeof *v > size)
    return 1;
  v[i] = (double)(i * i);
  return 0;
}

static const shmpool_task_def tasks[] = {{"square_into", square_into},
                                         {NULL, NULL}};

int main(int argc, char **argv) {
  shmpool_options o;
  shmpool_seg *seg;
  shmpool *pool;
  double *v;
  int rc, i;
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);
  if (shmpool_version() != SHMPOOL_VERSION_HEX) {
    fprintf(stderr, "header %s, library %s\n", SHMPOOL_VERSION_STRING,
            shmpool_version_string());
    return 1;
  }
  rc = shmpool_seg_create(&seg, NULL, 100 * sizeof(double), 0);
  if (rc != 0) {
    fprintf(stderr, "create: %s\n", shmpool_strerror(rc));
    return 1;
  }
  shmpool_options_init(&o);
  o.workers = 2;
  o.tasks = tasks;
  rc = shmpool_create(&pool, &o);
  if (rc == 0)
    rc = shmpool_map(pool, "square_into", NULL, 0, 100, &seg, 1, NULL, 0,
                     NULL);
  if (rc != 0) {
    fprintf(stderr, "pool: %s\n", shmpool_strerror(rc));
    return 1;
  }
  v = (double *)shmpool_seg_data(seg);
  for (i = 0; i < 100; i++)
    if (v[i] != (double)(i * i)) {
      fprintf(stderr, "v[%d] = %g\n", i, v[i]);
      return 1;
    }
  shmpool_destroy(pool);
  shmpool_seg_close(seg);
  printf("consumer ok (shmpool %s)\n", shmpool_version_string());
  return 0;
}
