/* mpi_hybrid: past one host. MPI between hosts, shmpool inside each.
 *
 * One MPI rank per host. Each rank holds its host's part of the data (a
 * partition of keys) and a lookup table that every worker needs, once each,
 * in shmpool segments, and runs a pool of worker processes on the host's
 * cores. The workers look their slices of the keys up in the table, both
 * mapped read-only; MPI_Allreduce combines the ranks' sums. Rank 0 checks
 * the total against a serial computation and ends with "check: ok".
 *
 *   mpirun --map-by ppr:1:node:pe=N mpi_hybrid [--keys N] [--table-mib N]
 *          [--workers N] [--rounds N] [--mode hybrid|mpi|window] [--crash]
 *
 * (docs/SCALING.md: launching one rank per host with Open MPI, Slurm and
 * MS-MPI.) Defaults: 4194304 keys over all ranks, a 16 MiB table, 3 rounds,
 * --workers 0: one per CPU the launcher lets the rank use.
 *
 * Where the data comes from. Rank 0 makes the table and broadcasts it, with
 * MPI_Bcast straight into every rank's segment: the table every host needs
 * and one process loads. Each rank generates its own partition of the keys
 * from their global indices, as each host would read its own part of a
 * file: scattering from rank 0 would need the whole data set in one host's
 * memory first. Generated keys are also the same whatever the number of
 * ranks, so rank 0 can check the total by regenerating all of them alone.
 *
 * The sums are of uint64_t, wrapping modulo 2^64: exact and independent of
 * the order, so the workers, the ranks and the serial check agree to the
 * bit, and the check compares with ==.
 *
 * The other modes run the same computation for docs/SCALING.md's
 * measurements: --mode mpi is pure MPI (every rank holds a private copy of
 * the table and does its lookups itself), --mode window the MPI-3 way (one
 * copy of the table per host in an MPI_Win_allocate_shared window).
 * --crash: in round 1 one task of the last rank crashes (abort()). In hybrid
 * mode that kills one worker: the rank retries the task on the worker that
 * replaces it and the job goes on. In the other modes the rank itself dies,
 * and MPI ends the whole job.
 *
 * This program is also its own worker image. main() hands over to
 * shmpool_worker_main() before MPI_Init, so a worker never initialises MPI.
 * Workers inherit the rank's environment (OMPI_*, PMIX_*, PMI_*): only
 * MPI_Init reads it, so it does nothing in them.
 *
 * SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "bench_util.h" /* bench_median */
#include "example_util.h"
#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <unistd.h>
#endif

/* ---- the computation: the same code for workers, ranks and the check ---- */

/* A 64-bit mixer (splitmix64's finaliser): reproducible pseudo-random keys
 * and table values from an index, on any platform. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

/* Key number i of the global key set, an index into a table of `entries`
 * (at most 2^32). */
static uint32_t key_at(uint64_t i, uint64_t entries) {
  return (uint32_t)(mix64(i) % entries);
}

static uint64_t table_value(uint64_t j) {
  return mix64(j ^ UINT64_C(0x9e3779b97f4a7c15));
}

/* The work: the sum of table[key] over n keys, modulo 2^64. -1 if a key is
 * outside the table (a worker trusts no argument). */
static int lookup_sum(const uint32_t *keys, size_t n, const uint64_t *table,
                      size_t entries, uint64_t *sum) {
  uint64_t acc = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    if (keys[i] >= entries)
      return -1;
    acc += table[keys[i]];
  }
  *sum = acc;
  return 0;
}

/* The check: the same sum over keys [0, nkeys) of all ranks, computed from
 * the definitions alone (no table, no partition, no pool, no MPI). */
static uint64_t serial_sum(uint64_t nkeys, uint64_t entries) {
  uint64_t acc = 0, i;
  for (i = 0; i < nkeys; i++)
    acc += table_value(key_at(i, entries));
  return acc;
}

/* ---- the task (runs in the workers) ------------------------------------- */

/* A task's argument: keys [start, start + count) of the rank's partition. */
typedef struct slice {
  uint64_t start, count;
  uint32_t crash; /* nonzero: play a bug that crashes the worker */
  uint32_t unused;
} slice;

typedef struct slice_sum {
  uint64_t sum;
  int64_t pid; /* which worker: the rank measures its memory */
} slice_sum;

/* A bug in a task, played by abort(): the process dies of SIGABRT
 * (Windows: exit code 3). */
static void crash_now(void) {
#if defined(_MSC_VER)
  /* The debug CRT would otherwise stop at an "abort() has been called"
   * dialog and Windows Error Reporting: die at once instead. */
  _set_abort_behavior(0, _WRITE_ABORT_MSG | _CALL_REPORTFAULT);
#endif
  abort();
}

/* Segment 0: the rank's keys (uint32_t), segment 1: the table (uint64_t),
 * both mapped read-only here. */
static int lookup_task(shmpool_task *t) {
  size_t len, keys_size, table_size;
  const slice *s = (const slice *)shmpool_task_arg(t, &len);
  const uint32_t *keys = (const uint32_t *)shmpool_task_seg(t, 0, &keys_size);
  const uint64_t *table = (const uint64_t *)shmpool_task_seg(t, 1, &table_size);
  slice_sum out;
  if (s == NULL || len != sizeof *s || keys == NULL || table == NULL)
    return 1;
  if (s->start > keys_size / sizeof *keys ||
      s->count > keys_size / sizeof *keys - s->start)
    return 2;
  if (s->crash)
    crash_now();
  if (lookup_sum(keys + s->start, (size_t)s->count, table,
                 table_size / sizeof *table, &out.sum) != 0)
    return 3;
  out.pid = example_pid();
  return shmpool_task_reply(t, &out, sizeof out);
}

static const shmpool_task_def tasks[] = {{"lookup", lookup_task}, {NULL, NULL}};

/* ---- a rank -------------------------------------------------------------- */

typedef enum run_mode { MODE_HYBRID, MODE_MPI, MODE_WINDOW } run_mode;

static const char *const mode_names[] = {"hybrid", "mpi", "window"};

typedef struct config {
  uint64_t nkeys;   /* over all ranks */
  uint64_t entries; /* of the table */
  unsigned workers; /* per rank; 0: one per CPU the rank may use */
  int rounds, crash;
  run_mode mode;
} config;

/* Most worker pids a rank remembers (for its memory figure). */
#define MAX_PIDS 256

/* Everything one rank holds. */
typedef struct rank_data {
  int rank, nranks, node_rank, node_size;
  MPI_Comm node;             /* the ranks on this host (MPI_COMM_TYPE_SHARED) */
  uint64_t first_key, nkeys; /* this rank's partition of the global keys */
  uint32_t *keys;
  uint64_t *table;
  /* hybrid: the segments (read-write for the rank, read-only handles for
   * the workers) and the pool */
  shmpool_seg *keys_seg, *keys_ro, *table_seg, *table_ro;
  shmpool *pool;
  slice *slices;
  slice_sum *sums;
  int *statuses;
  size_t nslices;
  long long pids[MAX_PIDS];
  int npids, retried;
  /* window */
  MPI_Win win;
  int have_win;
} rank_data;

/* What rank 0 prints about every rank. */
typedef struct rank_info {
  int32_t workers, node_rank, node_size, host_cpus;
  char host[MPI_MAX_PROCESSOR_NAME];
} rank_info;

static void release_local(rank_data *d);

/* A local failure. This rank first lets go of its pool and segments (no
 * MPI call, which could block here), then MPI_Abort ends every rank. The
 * other ranks' workers would remove their segments, but Open MPI kills
 * each rank's whole process group, workers included: what is left needs
 * "shmpool gc" (docs/SCALING.md). */
static void die(rank_data *d, const char *what, int rc) {
  fprintf(stderr, "mpi_hybrid: rank %d: %s: %s (%s)\n", d->rank, what,
          shmpool_strerror(rc), shmpool_err_name(rc));
  release_local(d);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1); /* not reached */
}

static void *alloc_or_die(rank_data *d, size_t n) {
  void *p = malloc(n > 0 ? n : 1);
  if (p == NULL)
    die(d, "malloc", SHMPOOL_ENOMEM);
  return p;
}

/* MPI counts are ints: broadcast a large buffer in pieces. */
static void bcast_bytes(void *p, size_t n, int root, MPI_Comm comm) {
  const size_t piece = (size_t)1 << 26;
  size_t off;
  for (off = 0; off < n; off += piece) {
    size_t len = n - off < piece ? n - off : piece;
    MPI_Bcast((char *)p + off, (int)len, MPI_BYTE, root, comm);
  }
}

static void fill_table(uint64_t *table, uint64_t entries) {
  uint64_t j;
  for (j = 0; j < entries; j++)
    table[j] = table_value(j);
}

/* A segment for the rank's data and a second, read-only handle on it for
 * the workers: what they must not write, the OS stops them writing. */
static void *make_segment(rank_data *d, size_t size, shmpool_seg **rw,
                          shmpool_seg **ro) {
  int rc = shmpool_seg_create(rw, NULL, size, 0);
  if (rc != 0)
    die(d, "creating a segment", rc);
  rc = shmpool_seg_open(ro, shmpool_seg_name(*rw), SHMPOOL_SEG_READONLY);
  if (rc != 0)
    die(d, "opening a segment read-only", rc);
  return shmpool_seg_data(*rw);
}

/* The table, in every rank (hybrid: a segment; mpi: private memory) or
 * once per host (window). Rank 0 makes it, MPI copies it to the others. */
static void make_table(rank_data *d, const config *c) {
  size_t bytes = (size_t)c->entries * sizeof *d->table;
  if (c->mode == MODE_WINDOW) {
    MPI_Comm leaders;
    MPI_Aint size;
    int disp;
    MPI_Win_allocate_shared((MPI_Aint)(d->node_rank == 0 ? bytes : 0),
                            (int)sizeof *d->table, MPI_INFO_NULL, d->node,
                            &d->table, &d->win);
    d->have_win = 1;
    MPI_Win_shared_query(d->win, 0, &size, &disp, &d->table);
    /* A passive epoch for the whole run: the node's ranks then read the
     * window with plain loads once MPI_Win_sync and the barrier below have
     * ordered them after the leader's stores. */
    MPI_Win_lock_all(MPI_MODE_NOCHECK, d->win);
    /* World rank 0 is the first rank of its host: the leaders' root. */
    MPI_Comm_split(MPI_COMM_WORLD, d->node_rank == 0 ? 0 : MPI_UNDEFINED,
                   d->rank, &leaders);
    if (leaders != MPI_COMM_NULL) {
      if (d->rank == 0)
        fill_table(d->table, c->entries);
      bcast_bytes(d->table, bytes, 0, leaders);
      MPI_Comm_free(&leaders);
    }
    MPI_Win_sync(d->win);
    MPI_Barrier(d->node);
    MPI_Win_sync(d->win);
    return;
  }
  if (c->mode == MODE_HYBRID)
    d->table = (uint64_t *)make_segment(d, bytes, &d->table_seg, &d->table_ro);
  else
    d->table = (uint64_t *)alloc_or_die(d, bytes);
  if (d->rank == 0)
    fill_table(d->table, c->entries);
  bcast_bytes(d->table, bytes, 0, MPI_COMM_WORLD);
}

/* This rank's partition of the keys, generated here. */
static void make_keys(rank_data *d, const config *c) {
  uint64_t i;
  size_t bytes;
  d->first_key = c->nkeys * (uint64_t)d->rank / (uint64_t)d->nranks;
  d->nkeys =
      c->nkeys * (uint64_t)(d->rank + 1) / (uint64_t)d->nranks - d->first_key;
  bytes = (size_t)d->nkeys * sizeof *d->keys;
  if (c->mode == MODE_HYBRID)
    d->keys = (uint32_t *)make_segment(d, bytes, &d->keys_seg, &d->keys_ro);
  else
    d->keys = (uint32_t *)alloc_or_die(d, bytes);
  for (i = 0; i < d->nkeys; i++)
    d->keys[i] = key_at(d->first_key + i, c->entries);
}

/* hybrid: the pool, and the partition cut into 4 slices per worker so a
 * slow worker does not hold the others up. */
static void make_pool(rank_data *d, const config *c) {
  shmpool_options opts;
  size_t i;
  int rc;
  shmpool_options_init(&opts);
  opts.workers = c->workers;
  opts.tasks = tasks;
  rc = shmpool_create(&d->pool, &opts);
  if (rc != 0)
    die(d, "starting the pool", rc);
  d->nslices = (size_t)shmpool_workers(d->pool) * 4;
  d->slices = (slice *)alloc_or_die(d, d->nslices * sizeof *d->slices);
  d->sums = (slice_sum *)alloc_or_die(d, d->nslices * sizeof *d->sums);
  d->statuses = (int *)alloc_or_die(d, d->nslices * sizeof *d->statuses);
  for (i = 0; i < d->nslices; i++) {
    uint64_t n = d->nkeys;
    d->slices[i].start = n * i / d->nslices;
    d->slices[i].count = n * (i + 1) / d->nslices - d->slices[i].start;
    d->slices[i].crash = 0;
    d->slices[i].unused = 0;
  }
}

static void remember_pid(rank_data *d, long long pid) {
  int k;
  for (k = 0; k < d->npids; k++)
    if (d->pids[k] == pid)
      return;
  if (d->npids < MAX_PIDS)
    d->pids[d->npids++] = pid;
}

/* hybrid: one pass of the pool over the partition. A task whose worker
 * died (SHMPOOL_EWORKER) runs once more, on the worker that replaced it:
 * a crash costs one task, not the job. */
static uint64_t pool_sum(rank_data *d, int crash) {
  shmpool_seg *segs[2];
  uint64_t sum = 0;
  size_t i, failed = 0;
  int rc, retry_rc;
  segs[0] = d->keys_ro;
  segs[1] = d->table_ro;
  /* Statuses stay 0 when map fails before any task ran. */
  memset(d->statuses, 0, d->nslices * sizeof *d->statuses);
  d->slices[0].crash = (uint32_t)crash;
  rc = shmpool_map(d->pool, "lookup", d->slices, sizeof *d->slices, d->nslices,
                   segs, 2, d->sums, sizeof *d->sums, d->statuses);
  d->slices[0].crash = 0;
  for (i = 0; rc != 0 && i < d->nslices; i++) {
    if (d->statuses[i] == 0)
      continue;
    if (d->statuses[i] != SHMPOOL_EWORKER)
      die(d, "a lookup task", d->statuses[i]);
    failed++;
    d->retried++;
    retry_rc = shmpool_map(d->pool, "lookup", &d->slices[i], sizeof *d->slices,
                           1, segs, 2, &d->sums[i], sizeof *d->sums, NULL);
    if (retry_rc != 0)
      die(d, "a lookup task, retried", retry_rc);
  }
  if (rc != 0 && failed == 0)
    die(d, "shmpool_map", rc);
  for (i = 0; i < d->nslices; i++) {
    sum += d->sums[i].sum;
    remember_pid(d, (long long)d->sums[i].pid);
  }
  return sum;
}

/* One round: this rank's sum (the pool's, or its own lookups), then the
 * total over all ranks. */
static uint64_t round_sum(rank_data *d, const config *c, int round) {
  int crash = c->crash && round == 0 && d->rank == d->nranks - 1;
  uint64_t local, total;
  if (c->mode == MODE_HYBRID) {
    local = pool_sum(d, crash);
  } else {
    if (crash)
      crash_now(); /* no pool: the rank itself dies, and the job with it */
    if (lookup_sum(d->keys, (size_t)d->nkeys, d->table, (size_t)c->entries,
                   &local) != 0)
      die(d, "lookup", SHMPOOL_EINVAL);
  }
  MPI_Allreduce(&local, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

/* This rank's process tree: itself and its workers. Returns the PSS sum
 * in KiB (-1 if unknown) and the number of processes in *nprocs. */
static long long tree_pss_kib(const rank_data *d, int *nprocs) {
  long long total = example_process_kib(example_pid()), kib;
  int k;
  *nprocs = 1;
  for (k = 0; k < d->npids && total >= 0; k++) {
    kib = example_process_kib(d->pids[k]);
    /* A worker that crashed is gone, and holds nothing any more. */
    if (kib >= 0) {
      total += kib;
      ++*nprocs;
    }
  }
  return total;
}

static int host_cpus(void) {
#if defined(_WIN32)
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return (int)si.dwNumberOfProcessors;
#elif defined(_SC_NPROCESSORS_ONLN)
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 && n < INT_MAX ? (int)n : 0;
#else
  return 0; /* unknown: no advice about binding */
#endif
}

/* What this rank holds outside MPI: its pool, segments and memory. */
static void release_local(rank_data *d) {
  shmpool_destroy(d->pool);
  shmpool_seg_close(d->keys_ro);
  shmpool_seg_close(d->table_ro);
  if (d->keys_seg != NULL)
    shmpool_seg_close(d->keys_seg);
  else
    free(d->keys);
  if (d->table_seg != NULL)
    shmpool_seg_close(d->table_seg);
  else if (!d->have_win)
    free(d->table);
  free(d->slices);
  free(d->sums);
  free(d->statuses);
  d->pool = NULL;
  d->keys_ro = d->table_ro = d->keys_seg = d->table_seg = NULL;
  d->keys = NULL;
  d->table = NULL;
  d->slices = NULL;
  d->sums = NULL;
  d->statuses = NULL;
}

static void release(rank_data *d) {
  release_local(d);
  if (d->have_win) {
    MPI_Win_unlock_all(d->win);
    MPI_Win_free(&d->win);
  }
  MPI_Comm_free(&d->node);
}

/* ---- rank 0's report ------------------------------------------------------
 */

static void print_ranks(rank_data *d, const config *c) {
  rank_info mine, *all = NULL;
  int name_len, r;
  memset(&mine, 0, sizeof mine);
  mine.workers = d->pool != NULL ? (int32_t)shmpool_workers(d->pool) : 0;
  mine.node_rank = d->node_rank;
  mine.node_size = d->node_size;
  mine.host_cpus = host_cpus();
  MPI_Get_processor_name(mine.host, &name_len);
  if (d->rank == 0)
    all = (rank_info *)alloc_or_die(d, (size_t)d->nranks * sizeof *all);
  MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE,
             0, MPI_COMM_WORLD);
  for (r = 0; all != NULL && r < d->nranks; r++) {
    const rank_info *ri = &all[r];
    uint64_t first = c->nkeys * (uint64_t)r / (uint64_t)d->nranks;
    uint64_t end = c->nkeys * (uint64_t)(r + 1) / (uint64_t)d->nranks;
    printf("rank %d: host %s (rank %d of %d there, %d CPUs): ", r, ri->host,
           ri->node_rank + 1, ri->node_size, ri->host_cpus);
    if (c->mode == MODE_HYBRID)
      printf("pool of %d worker%s, ", ri->workers, ri->workers == 1 ? "" : "s");
    printf("keys [%" PRIu64 ", %" PRIu64 ")\n", first, end);
    /* Open MPI binds each rank to one core by default, and workers inherit
     * the binding: all of them would share that core. */
    if (c->mode == MODE_HYBRID && c->workers == 0 && ri->node_size > 0 &&
        ri->workers < ri->host_cpus / ri->node_size)
      printf("rank %d: note: the launcher let it use fewer CPUs than its "
             "share of the host; give it the host's cores (mpirun "
             "--bind-to none, or --map-by ppr:1:node:pe=N; "
             "docs/SCALING.md)\n",
             r);
  }
  free(all);
}

/* After the rounds: which ranks lost a worker, and so retried a task. */
static void print_retries(rank_data *d) {
  int *all = NULL, r;
  if (d->rank == 0)
    all = (int *)alloc_or_die(d, (size_t)d->nranks * sizeof *all);
  MPI_Gather(&d->retried, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (r = 0; all != NULL && r < d->nranks; r++)
    if (all[r] > 0)
      printf("rank %d: %d task(s) lost their worker (SHMPOOL_EWORKER) and "
             "ran again on its replacement\n",
             r, all[r]);
  free(all);
}

static void print_memory(const rank_data *d, const config *c) {
  int nprocs;
  long long mine[2], sum[2], min_kib, launcher = -1;
  mine[0] = tree_pss_kib(d, &nprocs);
  mine[1] = nprocs;
  MPI_Reduce(mine, sum, 2, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine[0], &min_kib, 1, MPI_LONG_LONG, MPI_MIN, 0, MPI_COMM_WORLD);
  if (d->rank != 0)
    return;
#if !defined(_WIN32)
  /* mpirun (or slurmstepd): the root of the tree, not counted above. */
  launcher = example_process_kib((long long)getppid());
#endif
  if (min_kib < 0) {
    printf("memory: not measured on this system\n");
    return;
  }
  /* Linux: proportional set sizes, whose sum is what the tree uses.
   * Windows: working sets, which count a shared page in every process. */
  printf("memory: %d rank%s + %lld workers: %s %.1f MiB in all (table "
         "%.1f MiB, keys %.1f MiB in all)",
         d->nranks, d->nranks == 1 ? "" : "s", sum[1] - d->nranks,
#if defined(__linux__)
         "PSS",
#else
         "working sets",
#endif
         (double)sum[0] / 1024,
         (double)(c->entries * sizeof(uint64_t)) / (1 << 20),
         (double)(c->nkeys * sizeof(uint32_t)) / (1 << 20));
  if (launcher >= 0)
    printf("; launcher %.1f MiB more", (double)launcher / 1024);
  printf("\n");
}

/* ---- main ---------------------------------------------------------------- */

static int parse(int argc, char **argv, config *c) {
  uint64_t table_mib = 16;
  int a;
  c->nkeys = (uint64_t)1 << 22;
  c->workers = 0;
  c->rounds = 3;
  c->crash = 0;
  c->mode = MODE_HYBRID;
  for (a = 1; a < argc; a++) {
    const char *v = a + 1 < argc ? argv[a + 1] : NULL;
    if (strcmp(argv[a], "--crash") == 0) {
      c->crash = 1;
      continue;
    }
    if (v == NULL)
      return -1;
    a++;
    if (strcmp(argv[a - 1], "--keys") == 0)
      c->nkeys = (uint64_t)strtoull(v, NULL, 10);
    else if (strcmp(argv[a - 1], "--table-mib") == 0)
      table_mib = (uint64_t)strtoull(v, NULL, 10);
    else if (strcmp(argv[a - 1], "--workers") == 0)
      c->workers = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(argv[a - 1], "--rounds") == 0)
      c->rounds = atoi(v);
    else if (strcmp(argv[a - 1], "--mode") == 0) {
      if (strcmp(v, "hybrid") == 0)
        c->mode = MODE_HYBRID;
      else if (strcmp(v, "mpi") == 0)
        c->mode = MODE_MPI;
      else if (strcmp(v, "window") == 0)
        c->mode = MODE_WINDOW;
      else
        return -1;
    } else
      return -1;
  }
  /* Keys are 32-bit indices (a table of at most 2^32 entries, 32 GiB);
   * both arrays must fit this build's size_t. */
  if (table_mib < 1 || table_mib > ((uint64_t)1 << 15) ||
      table_mib > (SIZE_MAX >> 20) || c->rounds < 1 || c->rounds > 1000 ||
      c->nkeys < 1 || c->nkeys > SIZE_MAX / sizeof(uint32_t))
    return -1;
  c->entries = table_mib * ((uint64_t)1 << 20) / sizeof(uint64_t);
  return 0;
}

int main(int argc, char **argv) {
  config c;
  rank_data d;
  double t0, t_table, t_keys, t_pool, times[1000], first;
  uint64_t expect, total[1000];
  int r, ok;

  /* Workers are this same executable: hand over before MPI_Init, which a
   * worker must never call. */
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);

  MPI_Init(&argc, &argv);
  memset(&d, 0, sizeof d);
  MPI_Comm_rank(MPI_COMM_WORLD, &d.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d.nranks);
  if (parse(argc, argv, &c) != 0 || c.nkeys < (uint64_t)d.nranks) {
    if (d.rank == 0)
      fprintf(stderr,
              "usage: mpi_hybrid [--keys N (>= ranks)] [--table-mib 1..32768]"
              " [--workers N] [--rounds 1..1000]"
              " [--mode hybrid|mpi|window] [--crash]\n");
    MPI_Finalize();
    return 2;
  }
  /* The ranks that share this host's memory. */
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                      &d.node);
  MPI_Comm_rank(d.node, &d.node_rank);
  MPI_Comm_size(d.node, &d.node_size);

  MPI_Barrier(MPI_COMM_WORLD);
  t0 = example_now_s();
  make_table(&d, &c);
  MPI_Barrier(MPI_COMM_WORLD);
  t_table = example_now_s() - t0;
  t0 = example_now_s();
  make_keys(&d, &c);
  MPI_Barrier(MPI_COMM_WORLD);
  t_keys = example_now_s() - t0;
  t0 = example_now_s();
  if (c.mode == MODE_HYBRID)
    make_pool(&d, &c);
  MPI_Barrier(MPI_COMM_WORLD);
  t_pool = example_now_s() - t0;

  if (d.rank == 0)
    printf("mpi_hybrid: mode %s, %d rank%s: %s\n", mode_names[c.mode], d.nranks,
           d.nranks == 1 ? "" : "s",
           c.mode == MODE_HYBRID
               ? "each holds its keys and the table in shmpool segments, "
                 "a pool on its host does the lookups"
           : c.mode == MODE_MPI
               ? "pure MPI, each rank holds a copy of the table and does "
                 "its own lookups"
               : "each host holds the table once in an MPI-3 shared "
                 "window, each rank does its own lookups");
  print_ranks(&d, &c);
  if (d.rank == 0) {
    printf("table: %.1f MiB (%" PRIu64 " entries), made by rank 0 and "
           "broadcast, in %.1f ms\n",
           (double)(c.entries * sizeof(uint64_t)) / (1 << 20), c.entries,
           t_table * 1e3);
    printf("keys: %" PRIu64 " in all, each rank made its own in %.1f ms\n",
           c.nkeys, t_keys * 1e3);
    if (c.mode == MODE_HYBRID)
      printf("pool: every rank's workers ready in %.1f ms\n", t_pool * 1e3);
  }

  /* The rounds. Rank 0's time spans the Allreduce, which ends only when
   * the slowest rank has its sum: the time of the whole computation. */
  for (r = 0; r < c.rounds; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = example_now_s();
    total[r] = round_sum(&d, &c, r);
    times[r] = example_now_s() - t0;
    if (d.rank == 0)
      printf("round %d: sum 0x%016" PRIx64 " in %.1f ms%s\n", r + 1, total[r],
             times[r] * 1e3,
             r == 0 && c.mode == MODE_HYBRID
                 ? " (first use: workers attach and fault the pages in)"
                 : "");
  }
  print_retries(&d);
  if (d.rank == 0) {
    first = times[0];
    if (c.rounds > 1)
      printf("time: first %.1f ms, steady %.1f ms (median of rounds 2-%d)\n",
             first * 1e3, bench_median(times + 1, (size_t)c.rounds - 1) * 1e3,
             c.rounds);
    else
      printf("time: first %.1f ms\n", first * 1e3);
  }
  print_memory(&d, &c);

  /* The check, while the others wait: rank 0 alone, from the definitions. */
  ok = 1;
  if (d.rank == 0) {
    expect = serial_sum(c.nkeys, c.entries);
    for (r = 0; r < c.rounds; r++)
      ok &= total[r] == expect;
    if (!ok)
      printf("serial sum: 0x%016" PRIx64 "\n", expect);
    printf("check: %s\n", ok ? "ok" : "FAILED");
    fflush(stdout);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  release(&d);
  MPI_Finalize();
  return ok ? 0 : 1;
}
