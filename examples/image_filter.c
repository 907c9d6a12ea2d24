/* image_filter: a 3x3 box blur over a stack of frames, in parallel.
 *
 * The stack (frames x height x width float32) lives once in a segment; a
 * second segment receives the result. Each task blurs a slice of frames:
 * the worker reads the input segment through a READ-ONLY mapping (the
 * parent passes a handle opened with SHMPOOL_SEG_READONLY, so the OS
 * refuses writes to the input) and writes the output segment. The parent
 * then checks every pixel against a single-process computation and prints
 * the timings.
 *
 * Timings compare like with like. The first round of either side pays for
 * first touches: the single process writes a fresh malloc'd buffer (a page
 * fault per 4 KiB page), the workers map the segments for the first time.
 * Later rounds of both write memory that is already touched. Both are
 * printed, with the speed-up of each; the first-round figures vary widely
 * between machines and runs.
 *
 *   image_filter [--frames N] [--size N] [--width N] [--height N]
 *                [--workers N] [--rounds N] [--poke-readonly]
 *
 * Defaults: 64 frames of 512 x 512 (64 MiB per segment), 3 rounds (the
 * later-round time is the median of rounds 2 to N). --poke-readonly
 * adds one task that tries to write the input: its worker dies with an
 * access fault, the task fails with SHMPOOL_EWORKER, and the pool replaces
 * the worker.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"
#include "shmpool.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <signal.h>
#include <time.h>
#endif

/* The argument of one task: which frames, and the geometry (so a worker
 * needs nothing but the task to interpret the segments). */
typedef struct job {
  uint32_t first, count; /* frames [first, first + count) */
  uint32_t width, height, frames;
  uint32_t poke; /* nonzero: try to write the input (it must fault) */
} job;

/* ---- the filter: the same code for workers and the check ---------------- */

/* out = mean of the 3x3 neighbourhood of each pixel, edges clamped. */
static void blur_frame(const float *in, float *out, uint32_t w, uint32_t h) {
  uint32_t x, y;
  for (y = 0; y < h; y++) {
    const float *up = in + (size_t)(y > 0 ? y - 1 : 0) * w;
    const float *mid = in + (size_t)y * w;
    const float *dn = in + (size_t)(y + 1 < h ? y + 1 : y) * w;
    float *o = out + (size_t)y * w;
    for (x = 0; x < w; x++) {
      uint32_t l = x > 0 ? x - 1 : 0, r = x + 1 < w ? x + 1 : x;
      float s = (up[l] + up[x] + up[r]) + (mid[l] + mid[x] + mid[r]) +
                (dn[l] + dn[x] + dn[r]);
      o[x] = s * (1.0f / 9.0f);
    }
  }
}

/* ---- the task (runs in the workers) ------------------------------------- */

#if defined(_WIN32)
static LONG WINAPI die_on_exception(EXCEPTION_POINTERS *info) {
  TerminateProcess(GetCurrentProcess(),
                   (UINT)info->ExceptionRecord->ExceptionCode);
  return EXCEPTION_CONTINUE_SEARCH;
}
#endif

static int blur_frames(shmpool_task *t) {
  size_t len, in_size, out_size, frame_px;
  const job *j = (const job *)shmpool_task_arg(t, &len);
  const float *in = (const float *)shmpool_task_seg(t, 0, &in_size);
  float *out = (float *)shmpool_task_seg(t, 1, &out_size);
  uint32_t f;
  if (j == NULL || len != sizeof *j || in == NULL || out == NULL)
    return 1;
  frame_px = (size_t)j->width * j->height;
  if ((uint64_t)j->first + j->count > j->frames ||
      in_size < (size_t)j->frames * frame_px * sizeof(float) ||
      out_size < in_size)
    return 2;
  if (j->poke) {
    /* The input is mapped read-only in the workers: this write faults and
     * the worker dies (the parent sees SHMPOOL_EWORKER). */
    volatile float *bad;
#if defined(_WIN32)
    /* Die of the access violation at once: no crash dialog, no winedbg. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    SetUnhandledExceptionFilter(die_on_exception);
#else
    /* Die of the signal itself, even under a sanitizer's SIGSEGV handler. */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
#endif
    bad = (volatile float *)(uintptr_t)in;
    bad[0] = 1.0f;
    return 3; /* not reached */
  }
  for (f = j->first; f < j->first + j->count; f++)
    blur_frame(in + f * frame_px, out + f * frame_px, j->width, j->height);
  return shmpool_task_reply(t, &j->count, sizeof j->count);
}

static const shmpool_task_def tasks[] = {{"blur_frames", blur_frames},
                                         {NULL, NULL}};

/* ---- the parent ---------------------------------------------------------- */

static void die(const char *what, int rc) {
  fprintf(stderr, "image_filter: %s: %s (%s)\n", what, shmpool_strerror(rc),
          shmpool_err_name(rc));
  exit(1);
}

/* A reproducible test image: smooth gradients plus hashed noise. */
static float pixel(uint32_t f, uint32_t x, uint32_t y) {
  uint32_t hsh = (f * 73856093u) ^ (x * 19349663u) ^ (y * 83492791u);
  hsh ^= hsh >> 13;
  hsh *= 0x5bd1e995u;
  hsh ^= hsh >> 15;
  return (float)(x + y + f) * 0.001f + (float)(hsh & 0xffffu) / 65536.0f;
}

/* The median of n times (n >= 1); sorts them. */
static double median(double *t, int n) {
  int i, j;
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && t[j - 1] > t[j]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static uint32_t arg_u32(const char *s) {
  return (uint32_t)strtoul(s, NULL, 10);
}

int main(int argc, char **argv) {
  uint32_t frames = 64, width = 512, height = 512, f, x, y, i;
  unsigned workers = 0;
  int rounds = 3, poke = 0, round, a, rc;
  size_t frame_px, bytes, njobs, mismatches = 0, p;
  shmpool_options opts;
  shmpool_seg *in, *in_ro, *out, *segs[2];
  shmpool *pool;
  float *img, *res, *ref;
  job *jobs;
  uint32_t *done;
  double t0, *t_single, *t_pool, single_later = 0, pool_later = 0;

  /* Workers are this same executable: hand over first thing. */
  if (shmpool_is_worker(argc, argv))
    return shmpool_worker_main(argc, argv, tasks);

  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--frames") == 0 && a + 1 < argc)
      frames = arg_u32(argv[++a]);
    else if (strcmp(argv[a], "--size") == 0 && a + 1 < argc)
      width = height = arg_u32(argv[++a]);
    else if (strcmp(argv[a], "--width") == 0 && a + 1 < argc)
      width = arg_u32(argv[++a]);
    else if (strcmp(argv[a], "--height") == 0 && a + 1 < argc)
      height = arg_u32(argv[++a]);
    else if (strcmp(argv[a], "--workers") == 0 && a + 1 < argc)
      workers = (unsigned)arg_u32(argv[++a]);
    else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
      rounds = atoi(argv[++a]);
    else if (strcmp(argv[a], "--poke-readonly") == 0)
      poke = 1;
    else {
      fprintf(stderr,
              "usage: %s [--frames N] [--size N] [--width N] [--height N]\n"
              "          [--workers N] [--rounds N] [--poke-readonly]\n",
              argv[0]);
      return 2;
    }
  }
  if (frames == 0 || width == 0 || height == 0 || rounds < 1 || rounds > 1000 ||
      (uint64_t)width * height > (1u << 26)) {
    fprintf(stderr, "image_filter: bad frame count, size or rounds\n");
    return 2;
  }
  frame_px = (size_t)width * height;
  bytes = (size_t)frames * frame_px * sizeof(float);

  /* 1. Two segments: the input stack and the output stack. */
  rc = shmpool_seg_create(&in, NULL, bytes, 0);
  if (rc != 0)
    die("creating the input segment", rc);
  rc = shmpool_seg_create(&out, NULL, bytes, 0);
  if (rc != 0)
    die("creating the output segment", rc);
  img = (float *)shmpool_seg_data(in);
  for (f = 0; f < frames; f++)
    for (y = 0; y < height; y++)
      for (x = 0; x < width; x++)
        img[f * frame_px + (size_t)y * width + x] = pixel(f, x, y);
  /* A second handle on the input, read-only: the workers map the input
   * with the access of the handle the task names. */
  rc = shmpool_seg_open(&in_ro, shmpool_seg_name(in), SHMPOOL_SEG_READONLY);
  if (rc != 0)
    die("opening the input read-only", rc);
  printf("stack: %u frames of %u x %u float32, %.1f MiB per segment\n", frames,
         width, height, (double)bytes / (1024.0 * 1024.0));

  /* 2. The reference: one process, the same function, as many rounds as
   * the pool. Round 1 writes fresh memory (page faults), later rounds
   * write the same, already touched, buffer, as the pool's later rounds
   * do. */
  ref = (float *)malloc(bytes);
  t_single = (double *)calloc((size_t)rounds, sizeof *t_single);
  t_pool = (double *)calloc((size_t)rounds, sizeof *t_pool);
  if (ref == NULL || t_single == NULL || t_pool == NULL)
    die("allocating the reference", SHMPOOL_ENOMEM);
  for (round = 0; round < rounds; round++) {
    t0 = example_now_s();
    for (f = 0; f < frames; f++)
      blur_frame(img + f * frame_px, ref + f * frame_px, width, height);
    t_single[round] = example_now_s() - t0;
  }

  /* 3. The pool. */
  shmpool_options_init(&opts);
  opts.workers = workers;
  opts.tasks = tasks;
  rc = shmpool_create(&pool, &opts);
  if (rc != 0)
    die("starting the pool", rc);
  workers = shmpool_workers(pool);

  /* About four slices per worker, at least one frame each. */
  njobs = (size_t)workers * 4;
  if (njobs > frames)
    njobs = frames;
  jobs = (job *)calloc(njobs, sizeof *jobs);
  done = (uint32_t *)calloc(njobs, sizeof *done);
  if (jobs == NULL || done == NULL)
    die("allocating", SHMPOOL_ENOMEM);
  for (i = 0; i < njobs; i++) {
    jobs[i].first = (uint32_t)((size_t)frames * i / njobs);
    jobs[i].count =
        (uint32_t)((size_t)frames * (i + 1) / njobs) - jobs[i].first;
    jobs[i].width = width;
    jobs[i].height = height;
    jobs[i].frames = frames;
  }

  segs[0] = in_ro; /* workers: read-only */
  segs[1] = out;   /* workers: read-write */
  for (round = 0; round < rounds; round++) {
    memset(shmpool_seg_data(out), 0, bytes);
    t0 = example_now_s();
    rc = shmpool_map(pool, "blur_frames", jobs, sizeof *jobs, njobs, segs, 2,
                     done, sizeof *done, NULL);
    t_pool[round] = example_now_s() - t0;
    if (rc != 0)
      die("filtering", rc);
  }

  /* 4. Check every pixel: the same code on the same input gives the same
   * bits, whatever process ran it. */
  res = (float *)shmpool_seg_data(out);
  for (p = 0; p < (size_t)frames * frame_px; p++)
    mismatches += memcmp(&res[p], &ref[p], sizeof(float)) != 0;
  for (i = 0; i < njobs; i++)
    if (done[i] != jobs[i].count)
      mismatches++;

  printf("first round:  single process %.1f ms (fresh output buffer), "
         "pool of %u %.1f ms (workers attach): %.2fx\n",
         t_single[0] * 1e3, workers, t_pool[0] * 1e3,
         t_pool[0] > 0 ? t_single[0] / t_pool[0] : 0.0);
  if (rounds > 1) {
    single_later = median(t_single + 1, rounds - 1);
    pool_later = median(t_pool + 1, rounds - 1);
    printf("later rounds: single process %.1f ms, pool of %u %.1f ms: "
           "%.2fx (median of %d; output already touched on both sides)\n",
           single_later * 1e3, workers, pool_later * 1e3,
           pool_later > 0 ? single_later / pool_later : 0.0, rounds - 1);
  }

  /* 5. Optional: the input really is read-only in the workers. */
  if (poke) {
    job j = jobs[0];
    int status = 0;
    j.poke = 1;
    rc = shmpool_map(pool, "blur_frames", &j, sizeof j, 1, segs, 2, NULL, 0,
                     &status);
    printf("read-only: writing the input %s (%s)\n",
           status == SHMPOOL_EWORKER ? "killed the worker, as it must"
                                     : "DID NOT FAULT",
           shmpool_err_name(status));
    if (status != SHMPOOL_EWORKER)
      mismatches++;
    /* The pool replaced the worker: it still works. */
    rc = shmpool_map(pool, "blur_frames", jobs, sizeof *jobs, njobs, segs, 2,
                     done, sizeof *done, NULL);
    if (rc != 0)
      die("filtering after a worker died", rc);
  }

  shmpool_destroy(pool);
  shmpool_seg_close(in_ro);
  shmpool_seg_close(in);
  shmpool_seg_close(out);
  free(ref);
  free(t_single);
  free(t_pool);
  free(jobs);
  free(done);
  if (mismatches != 0) {
    fprintf(stderr, "image_filter: WRONG: %zu mismatches\n", mismatches);
    return 1;
  }
  printf("check: matches the single-process filter\n");
  return 0;
}
