/* POSIX-only segment behaviour: object mode 0600 whatever the umask,
 * refusal of another user's object (even for root), ENOSPC in a small
 * /dev/shm with nothing left behind, every system call of create and
 * open failing in turn through the backend's system-call table, openers
 * racing a create that is slow, stopped, torn or failing, and exactly one
 * remover per name.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "posix/sys.h"
#include "faults.h"
#include "shmpool.h"
#include "support.h"

extern char **environ;

static int count_dev_shm(void) {
  DIR *d = opendir("/dev/shm");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.');
  closedir(d);
  return n;
}

/* ---- mode and ownership ------------------------------------------------ */

static void test_mode_is_0600(void **state) {
  static const mode_t masks[] = {0, 022, 077, 0277};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof masks / sizeof masks[0]; i++) {
    char name[32], path[64];
    shmpool_seg *seg;
    struct stat st;
    mode_t old = umask(masks[i]);
    test_name(name, sizeof name, "mode");
    assert_int_equal(shmpool_seg_create(&seg, name, 100, 0), 0);
    umask(old);
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    shmpool_seg_close(seg);
  }
}

static void test_other_users_object_refused(void **state) {
  char name[32], os_name[40];
  shmpool_seg *seg, *other = (shmpool_seg *)&other;
  int fd;
  (void)state;
  if (geteuid() != 0) {
    print_message("skipped: needs root to give an object to another user\n");
    skip();
  }
  test_name(name, sizeof name, "squat");
  snprintf(os_name, sizeof os_name, "/%s", name);
  /* A valid shmpool segment, then handed to nobody (65534). */
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, SHMPOOL_SEG_PERSIST),
                   0);
  shmpool_seg_close(seg);
  fd = shm_open(os_name, O_RDWR, 0);
  assert_true(fd >= 0);
  assert_int_equal(fchown(fd, 65534, 65534), 0);
  assert_int_equal(fchmod(fd, 0666), 0); /* even when it invites us */
  close(fd);
  /* Refused even though root could open it. */
  assert_int_equal(shmpool_seg_open(&other, name, 0), SHMPOOL_EACCES);
  assert_null(other);
  assert_int_equal(shmpool_seg_open(&other, name, SHMPOOL_SEG_RAW),
                   SHMPOOL_EACCES);
  assert_int_equal(shmpool_seg_open(&other, name, SHMPOOL_SEG_READONLY),
                   SHMPOOL_EACCES);
  /* Nor can we create over it. */
  assert_int_equal(shmpool_seg_create(&other, name, 4096, 0), SHMPOOL_EEXIST);
  assert_int_equal(shm_unlink(os_name), 0);
}

/* helper, run as nobody: create a persistent segment. */
static int helper_create_persistent(int argc, char **argv) {
  shmpool_seg *seg;
  if (argc != 1 ||
      shmpool_seg_create(&seg, argv[0], 4096, SHMPOOL_SEG_PERSIST) != 0)
    return 2;
  memset(shmpool_seg_data(seg), 0x66, 4096);
  return shmpool_seg_close(seg) == 0 ? 0 : 3;
}

static void test_segment_of_nobody_refused(void **state) {
  char name[32], os_name[40], self[4096], cmd[4600];
  shmpool_seg *seg = (shmpool_seg *)&seg;
  ssize_t n;
  struct stat st;
  (void)state;
  if (geteuid() != 0 || system("command -v setpriv >/dev/null 2>&1") != 0) {
    print_message("skipped: needs root and setpriv to act as nobody\n");
    skip();
  }
  test_name(name, sizeof name, "nobody");
  snprintf(os_name, sizeof os_name, "/%s", name);
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  /* A real process of another user creates it through shmpool. */
  snprintf(cmd, sizeof cmd,
           "setpriv --reuid=nobody --regid=nogroup --clear-groups "
           "'%s' --helper create-persistent %s",
           self, name);
  if (system(cmd) != 0) {
    print_message("skipped: nobody cannot run the test binary here\n");
    skip();
  }
  {
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    assert_int_equal(stat(path, &st), 0);
    assert_int_not_equal(st.st_uid, 0);
  }
  /* Root is refused, whatever it asks for, and cannot create over it. */
  assert_int_equal(shmpool_seg_open(&seg, name, 0), SHMPOOL_EACCES);
  assert_null(seg);
  assert_int_equal(shmpool_seg_open(&seg, name, SHMPOOL_SEG_READONLY),
                   SHMPOOL_EACCES);
  assert_int_equal(shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW),
                   SHMPOOL_EACCES);
  assert_int_equal(shmpool_seg_create(&seg, name, 4096, 0), SHMPOOL_EEXIST);
  assert_int_equal(shm_unlink(os_name), 0);
}

/* ---- capacity in a 1 MiB /dev/shm --------------------------------------- */

/* Runs inside "unshare -m" with a 1 MiB tmpfs on /dev/shm. */
static int helper_small_shm(int argc, char **argv) {
  shmpool_seg *seg = NULL, *small = NULL;
  int rc;
  (void)argc;
  (void)argv;
  if (count_dev_shm() != 0)
    return 10;
  rc = shmpool_seg_create(&seg, "big", 4u << 20, 0);
  if (rc != SHMPOOL_ENOSPC && rc != SHMPOOL_ENOMEM)
    return 11;
  if (count_dev_shm() != 0) /* nothing left behind */
    return 12;
  rc = shmpool_seg_create(&seg, NULL, 4u << 20, SHMPOOL_SEG_RAW);
  if (rc != SHMPOOL_ENOSPC || count_dev_shm() != 0)
    return 13;
  /* NORESERVE still checks free space. */
  rc = shmpool_seg_create(&seg, "sparse", 4u << 20, SHMPOOL_SEG_NORESERVE);
  if (rc != SHMPOOL_ENOSPC || count_dev_shm() != 0)
    return 14;
  /* What fits works. Its pages are reserved before anyone touches them, so
   * a second 700 KiB must be refused at create rather than fault later. */
  if (shmpool_seg_create(&small, "small", 700u << 10, 0) != 0)
    return 15;
  rc = shmpool_seg_create(&seg, "second", 700u << 10, 0);
  if (rc != SHMPOOL_ENOSPC || count_dev_shm() != 1)
    return 16;
  /* And every page of the first can be touched without SIGBUS. */
  memset(shmpool_seg_data(small), 1, shmpool_seg_size(small));
  shmpool_seg_close(small);
  return count_dev_shm() == 0 ? 0 : 17;
}

static int run_wait(char *const argv[]) {
  pid_t pid;
  int status;
  if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
    return -1;
  if (waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_enospc_in_small_dev_shm(void **state) {
  char self[4096], script[4400];
  ssize_t n;
  char *probe[] = {"unshare",
                   "-m",
                   "sh",
                   "-c",
                   "mount -t tmpfs -o size=1m tmpfs /dev/shm 2>/dev/null",
                   NULL};
  char *run[] = {"unshare", "-m", "sh", "-c", script, NULL};
  (void)state;
  if (run_wait(probe) != 0) {
    print_message("skipped: cannot mount a private tmpfs on /dev/shm "
                  "(needs root and unshare -m)\n");
    skip();
  }
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  snprintf(script, sizeof script,
           "mount -t tmpfs -o size=1m tmpfs /dev/shm && "
           "exec '%s' --helper small-shm",
           self);
  assert_int_equal(run_wait(run), 0);
}

/* ---- every system call failing in turn ------------------------------- */

static int fail_errno;

static int fail_shm_open(const char *n, int f, mode_t m) {
  (void)n, (void)f, (void)m;
  errno = fail_errno;
  return -1;
}
static int fail_fchmod(int fd, mode_t m) {
  (void)fd, (void)m;
  errno = fail_errno;
  return -1;
}
static int fail_ftruncate(int fd, off_t len) {
  (void)fd, (void)len;
  errno = fail_errno;
  return -1;
}
static int fail_fstat(int fd, struct stat *st) {
  (void)fd, (void)st;
  errno = fail_errno;
  return -1;
}
static void *fail_mmap(void *a, size_t l, int p, int f, int fd, off_t o) {
  (void)a, (void)l, (void)p, (void)f, (void)fd, (void)o;
  errno = fail_errno;
  return MAP_FAILED;
}
static int fail_fallocate(int fd, off_t o, off_t l) {
  (void)fd, (void)o, (void)l;
  return fail_errno;
}
static int fail_random(void *b, size_t l) {
  (void)b, (void)l;
  return fail_errno;
}

static shmpool__posix_syscalls saved;

/* CMocka setup and teardown: a failed assertion never leaves the table
 * patched for the cases after it. */
static int restore_syscalls(void **state) {
  (void)state;
  shmpool__posix_sys = saved;
  return 0;
}

static void inject(const char *call, long err) {
  fail_errno = (int)err;
  if (strcmp(call, "shm_open") == 0)
    shmpool__posix_sys.shm_open = fail_shm_open;
  else if (strcmp(call, "fchmod") == 0)
    shmpool__posix_sys.fchmod = fail_fchmod;
  else if (strcmp(call, "ftruncate") == 0)
    shmpool__posix_sys.ftruncate = fail_ftruncate;
  else if (strcmp(call, "fstat") == 0)
    shmpool__posix_sys.fstat = fail_fstat;
  else if (strcmp(call, "mmap") == 0)
    shmpool__posix_sys.mmap = fail_mmap;
  else if (strcmp(call, "fallocate") == 0)
    shmpool__posix_sys.fallocate = fail_fallocate;
  else if (strcmp(call, "random") == 0)
    shmpool__posix_sys.random = fail_random;
  else
    fail_msg("no injection point %s", call);
}

static void restore(void) {
  shmpool__posix_sys = saved;
}

static long count_fds(void) {
  return test_count_fds();
}

static const seg_fault_platform posix_faults = {inject, restore, count_fds,
                                                "random"};

static void test_create_syscall_failures(void **state) {
  static const seg_fault_case cases[] = {
      {"shm_open", EMFILE, SHMPOOL_EMFILE, 1},
      {"shm_open", EACCES, SHMPOOL_EACCES, 1},
      {"fchmod", EPERM, SHMPOOL_EACCES, 1},
      {"ftruncate", EFBIG, SHMPOOL_ENOSPC, 1},
      {"mmap", ENOMEM, SHMPOOL_ENOMEM, 1},
      {"fallocate", ENOSPC, SHMPOOL_ENOSPC, 1},
      {"fallocate", EIO, SHMPOOL_EIO, 1},
      /* The CSPRNG's failure is not an errno. */
      {"random", EIO, SHMPOOL_EIO, 0},
  };
  (void)state;
  seg_faults_on_create(&posix_faults, cases, sizeof cases / sizeof cases[0]);
}

static void test_open_syscall_failures(void **state) {
  static const seg_fault_case cases[] = {
      {"shm_open", EMFILE, SHMPOOL_EMFILE, 1},
      {"fstat", EIO, SHMPOOL_EIO, 1},
      {"mmap", ENOMEM, SHMPOOL_ENOMEM, 1},
  };
  (void)state;
  seg_faults_on_open(&posix_faults, cases, sizeof cases / sizeof cases[0]);
}

static void test_fallocate_unsupported_falls_back(void **state) {
  /* A system without fallocate for shared memory (macOS, old FreeBSD):
   * create still works, and checks free space instead. */
  shmpool_seg *seg;
  int rc;
  (void)state;
  inject("fallocate", EOPNOTSUPP);
  assert_int_equal(shmpool_seg_create(&seg, NULL, 8192, 0), 0);
  shmpool_seg_close(seg);
  /* ENOMEM where 64 TiB of address space is not there (sanitizers). */
  rc = shmpool_seg_create(&seg, NULL, (size_t)1 << 46, 0);
  shmpool__posix_sys = saved;
  assert_true(rc == SHMPOOL_ENOSPC || rc == SHMPOOL_ENOMEM);
}

/* ---- races with a create in progress ------------------------------------ */

/* A helper says "I am in my loop" by creating "<name>.r" (raw, persistent),
 * which the test waits for and removes: no sleep guesses how long a
 * process takes to start on a loaded machine. */
static void ready_name(char *out, size_t len, const char *name) {
  snprintf(out, len, "%s.r", name);
}

static void signal_ready(const char *name) {
  char ready[SHMPOOL_NAME_MAX + 1];
  shmpool_seg *seg;
  ready_name(ready, sizeof ready, name);
  if (shmpool_seg_create(&seg, ready, 1,
                         SHMPOOL_SEG_RAW | SHMPOOL_SEG_PERSIST) == 0)
    shmpool_seg_close(seg);
}

static int wait_ready(const char *name) {
  char ready[SHMPOOL_NAME_MAX + 1];
  uint64_t deadline = test_now_ms() + 30000;
  shmpool_seg *seg;
  ready_name(ready, sizeof ready, name);
  while (shmpool_seg_open(&seg, ready, SHMPOOL_SEG_RAW) != 0) {
    if (test_now_ms() > deadline)
      return -1;
    test_sleep_ms(1);
  }
  shmpool_seg_close(seg);
  return shmpool_seg_unlink(ready);
}

/* The state word of the shmpool header of the object os_name, read with
 * plain system calls (not through the table): -1 if there is no object or
 * no header. */
static long header_state(const char *os_name) {
  unsigned char *p;
  struct stat st;
  uint32_t state;
  long rc = -1;
  int fd = shm_open(os_name, O_RDONLY, 0);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) == 0 && st.st_size >= 64) {
    p = (unsigned char *)mmap(NULL, 64, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      memcpy(&state, p + 12, sizeof state);
      if (memcmp(p, "SHMPOOL\x1a", 8) == 0)
        rc = (long)state;
      munmap(p, 64);
    }
  }
  close(fd);
  return rc;
}

/* shm_unlink that first checks what it is about to remove: shmpool may
 * only remove the name of a segment whose UNLINKED bit is set (by the
 * remover, which claimed it). A header without the bit is a segment that
 * nobody claimed: a newer one under the same name, say; no header at all
 * is a newer create that has not written its header yet. (Where the tests
 * watch, every create succeeds and nothing is raw, so no name is ever
 * legitimately removed from a header-less object.) */
static char watched_os_name[48];
static int unlink_calls, unlink_unmarked;

static int checking_shm_unlink(const char *os_name) {
  if (strcmp(os_name, watched_os_name) == 0) {
    long state = header_state(os_name);
    unlink_calls++;
    if (state < 0 || (state & SHMPOOL__STATE_UNLINKED) == 0) {
      unlink_unmarked++;
      fprintf(stderr, "pid %ld removes %s, header state %ld: unclaimed\n",
              (long)getpid(), os_name, state);
    }
  }
  return saved.shm_unlink(os_name);
}

static void watch_unlinks(const char *name) {
  snprintf(watched_os_name, sizeof watched_os_name, "/%s", name);
  unlink_calls = 0;
  unlink_unmarked = 0;
  shmpool__posix_sys.shm_unlink = checking_shm_unlink;
}

/* open-failed-create NAME: open NAME until one open has waited for a
 * create in progress (>= 100 ms) and ended; every open must give ENOENT
 * (the create fails), none EFORMAT, none last a second. */
static int helper_open_failed_create(int argc, char **argv) {
  uint64_t deadline = test_now_ms() + 20000, t0, dt, waited_at = 0;
  shmpool_seg *seg;
  int rc, ready = 0;
  if (argc != 1)
    return 2;
  while (test_now_ms() < deadline) {
    t0 = test_now_ms();
    rc = shmpool_seg_open(&seg, argv[0], 0);
    dt = test_now_ms() - t0;
    if (!ready) {
      signal_ready(argv[0]);
      ready = 1;
    }
    if (rc == 0) {
      shmpool_seg_close(seg);
      return 10; /* the create must fail */
    }
    if (rc != SHMPOOL_ENOENT) {
      fprintf(stderr, "open-failed-create: %s after %llu ms\n",
              shmpool_err_name(rc), (unsigned long long)dt);
      return 11;
    }
    if (dt > 1000) {
      fprintf(stderr, "open-failed-create: stalled %llu ms\n",
              (unsigned long long)dt);
      return 12;
    }
    if (dt >= 100 && waited_at == 0)
      waited_at = test_now_ms();
    if (waited_at != 0 && test_now_ms() - waited_at > 100)
      return 0;
  }
  return 13; /* never saw the create */
}

static int delayed_enospc(int fd, off_t offset, off_t len) {
  (void)fd, (void)offset, (void)len;
  test_sleep_ms(500); /* a big reservation, then no room */
  return ENOSPC;
}

static void test_failed_create_gives_racers_enoent(void **state) {
  char name[32];
  const char *args[2];
  shmpool_seg *seg = (shmpool_seg *)&seg;
  test_proc opener;
  test_exit ex;
  int rc;
  (void)state;
  test_name(name, sizeof name, "nospc");
  args[0] = name;
  args[1] = NULL;
  assert_int_equal(test_spawn_self(&opener, "open-failed-create", args), 0);
  assert_int_equal(wait_ready(name), 0);
  /* The header is written before the pages are reserved, so the opener
   * waits for this create; it must hear of the failure at once. */
  shmpool__posix_sys.fallocate = delayed_enospc;
  watch_unlinks(name);
  rc = shmpool_seg_create(&seg, name, 1u << 20, 0);
  shmpool__posix_sys = saved;
  assert_int_equal(test_proc_wait(&opener, 30000, &ex), 0);
  assert_int_equal(ex.code, 0);
  assert_int_equal(rc, SHMPOOL_ENOSPC);
  assert_null(seg);
  assert_int_equal(shmpool_last_os_error(), ENOSPC); /* not cleanup's */
  /* The name was removed once, and only after its header was marked. */
  assert_int_equal(unlink_calls, 1);
  assert_int_equal(unlink_unmarked, 0);
  assert_int_equal(shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW),
                   SHMPOOL_ENOENT);
}

/* open-ack NAME SIZE: open NAME until it works, check its size, write 1 to
 * its first byte (the creator waits for that), close. Only ENOENT may
 * come before success. */
static int helper_open_ack(int argc, char **argv) {
  uint64_t deadline = test_now_ms() + 30000;
  shmpool_seg *seg;
  int rc, ready = 0;
  if (argc != 2)
    return 2;
  while (test_now_ms() < deadline) {
    rc = shmpool_seg_open(&seg, argv[0], 0);
    if (!ready) {
      signal_ready(argv[0]);
      ready = 1;
    }
    if (rc == 0) {
      if (shmpool_seg_size(seg) != (size_t)atol(argv[1]))
        return 3;
      *(volatile unsigned char *)shmpool_seg_data(seg) = 1;
      shmpool_seg_close(seg);
      return 0;
    }
    if (rc != SHMPOOL_ENOENT) {
      fprintf(stderr, "open-ack: %s\n", shmpool_err_name(rc));
      return 1;
    }
  }
  return 4;
}

/* Wait for the first byte of a segment's data to become 1 (open-ack). */
static int wait_ack(const volatile unsigned char *p) {
  uint64_t deadline = test_now_ms() + 30000;
  while (*p != 1) {
    if (test_now_ms() > deadline)
      return -1;
    test_sleep_ms(1);
  }
  return 0;
}

/* create-stopping NAME CALL N: stop this process (SIGSTOP) at the N-th
 * call of CALL during shmpool_seg_create(NAME, 1 MiB), then wait for an
 * opener's ack and close. */
static const char *stop_call;
static int stop_countdown;

static void maybe_stop(const char *call) {
  if (strcmp(call, stop_call) == 0 && --stop_countdown == 0)
    raise(SIGSTOP);
}
static int stopping_fchmod(int fd, mode_t mode) {
  maybe_stop("fchmod");
  return saved.fchmod(fd, mode);
}
static int stopping_ftruncate(int fd, off_t len) {
  maybe_stop("ftruncate");
  return saved.ftruncate(fd, len);
}
static void *stopping_mmap(void *a, size_t l, int p, int f, int fd, off_t o) {
  maybe_stop("mmap");
  return saved.mmap(a, l, p, f, fd, o);
}
static int stopping_fallocate(int fd, off_t o, off_t l) {
  maybe_stop("fallocate");
  return saved.fallocate(fd, o, l);
}

static int helper_create_stopping(int argc, char **argv) {
  shmpool_seg *seg;
  int rc;
  if (argc != 3)
    return 2;
  stop_call = argv[1];
  stop_countdown = atoi(argv[2]);
  shmpool__posix_sys.fchmod = stopping_fchmod;
  shmpool__posix_sys.ftruncate = stopping_ftruncate;
  shmpool__posix_sys.mmap = stopping_mmap;
  shmpool__posix_sys.fallocate = stopping_fallocate;
  rc = shmpool_seg_create(&seg, argv[0], 1u << 20, 0);
  shmpool__posix_sys = saved;
  if (rc != 0)
    return 3;
  rc = wait_ack((const unsigned char *)shmpool_seg_data(seg));
  shmpool_seg_close(seg);
  return rc == 0 ? 0 : 4;
}

/* Whether process pid is stopped (state T in /proc/PID/stat). */
static int proc_stopped(long pid) {
#if defined(__linux__)
  char state;
  long ppid;
  return test_proc_stat(pid, &state, &ppid) == 0 && state == 'T';
#else
  (void)pid;
  return 0;
#endif
}

static void test_creator_stopped_mid_create(void **state) {
  /* Every step of create, in order: the object exists at size 0 (fchmod);
   * it has the header's size but no header (the first mmap); it has its
   * header but not its size (the second ftruncate); it is full size and
   * reserving (fallocate). An opener must wait out a second at each. */
  static const char *const stops[][2] = {
      {"fchmod", "1"}, {"mmap", "1"}, {"ftruncate", "2"}, {"fallocate", "1"}};
  size_t i;
  (void)state;
  if (access("/proc/self/stat", R_OK) != 0) {
    print_message("skipped: needs /proc to see a stopped process\n");
    skip();
  }
  for (i = 0; i < sizeof stops / sizeof stops[0]; i++) {
    char name[32], size[16];
    const char *open_args[3], *create_args[4];
    test_proc opener, creator;
    test_exit ex;
    uint64_t deadline = test_now_ms() + 30000;
    test_name(name, sizeof name, stops[i][0]);
    snprintf(size, sizeof size, "%u", 1u << 20);
    open_args[0] = name;
    open_args[1] = size;
    open_args[2] = NULL;
    create_args[0] = name;
    create_args[1] = stops[i][0];
    create_args[2] = stops[i][1];
    create_args[3] = NULL;
    assert_int_equal(test_spawn_self(&opener, "open-ack", open_args), 0);
    assert_int_equal(wait_ready(name), 0);
    assert_int_equal(test_spawn_self(&creator, "create-stopping", create_args),
                     0);
    while (!proc_stopped(creator.pid)) {
      assert_true(test_now_ms() < deadline);
      test_sleep_ms(1);
    }
    test_sleep_ms(1000);
    kill((pid_t)creator.pid, SIGCONT);
    assert_int_equal(test_proc_wait(&opener, 30000, &ex), 0);
    if (ex.code != 0)
      fail_msg("opener failed (%d) with the creator stopped at %s", ex.code,
               stops[i][0]);
    assert_int_equal(test_proc_wait(&creator, 30000, &ex), 0);
    assert_int_equal(ex.code, 0);
  }
}

static void test_torn_header_is_no_verdict(void **state) {
  /* A creator that follows docs/FORMAT.md's creation protocol by hand, as
   * slowly as a starved process might: its header appears a few bytes at a
   * time, then sits at the object's first size, then waits to be READY.
   * An opener that reads it half written must look again, not judge. */
  const size_t size = 4096;
  size_t i;
  int round;
  (void)state;
  for (round = 0; round < 3; round++) {
    char name[32], os_name[40], size_arg[16];
    const char *args[3];
    shmpool__creator me;
    shmpool__hdr hdr;
    test_proc opener;
    test_exit ex;
    unsigned char *head, *whole;
    int fd;
    test_name(name, sizeof name, "torn");
    snprintf(os_name, sizeof os_name, "/%s", name);
    snprintf(size_arg, sizeof size_arg, "%u", (unsigned)size);
    args[0] = name;
    args[1] = size_arg;
    args[2] = NULL;
    assert_int_equal(test_spawn_self(&opener, "open-ack", args), 0);
    assert_int_equal(wait_ready(name), 0);

    fd = shm_open(os_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(ftruncate(fd, 64), 0);
    head = (unsigned char *)mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED,
                                 fd, 0);
    assert_true(head != MAP_FAILED);
    shmpool__creator_self(&me);
    shmpool__hdr_init(&hdr, size, 0, 42, &me);
    for (i = 0; i < 64; i += 8) {
      memcpy(head + i, (unsigned char *)&hdr + i, 8);
      test_sleep_ms(10); /* torn for 80 ms */
    }
    test_sleep_ms(50); /* complete, but the object is 64 bytes */
    assert_int_equal(ftruncate(fd, (off_t)(64 + size)), 0);
    whole = (unsigned char *)mmap(NULL, 64 + size, PROT_READ | PROT_WRITE,
                                  MAP_SHARED, fd, 0);
    assert_true(whole != MAP_FAILED);
    munmap(head, 64);
    close(fd);
    test_sleep_ms(50); /* full size, not READY */
    shmpool__hdr_set_state(whole, SHMPOOL__STATE_READY);

    assert_int_equal(wait_ack(whole + 64), 0);
    assert_int_equal(test_proc_wait(&opener, 30000, &ex), 0);
    assert_int_equal(ex.code, 0);
    munmap(whole, 64 + size);
    assert_int_equal(shm_unlink(os_name), 0);
  }
}

static void test_dead_creator_is_reported_at_once(void **state) {
  /* A header written by a process that died before READY: EFORMAT, and
   * without waiting for anything. */
  char name[32], os_name[40];
  shmpool__creator dead;
  shmpool__hdr hdr;
  shmpool_seg *seg;
  test_exit ex;
  test_proc child;
  unsigned char *p;
  uint64_t t0;
  int fd;
  (void)state;
  test_name(name, sizeof name, "dead");
  snprintf(os_name, sizeof os_name, "/%s", name);
  assert_int_equal(test_spawn_self(&child, "exit", NULL), 0);
  assert_int_equal(test_proc_wait(&child, 30000, &ex), 0); /* reaped */
  dead.pid = (uint64_t)child.pid;
  dead.start = 0;
  fd = shm_open(os_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 64 + 4096), 0);
  p = (unsigned char *)mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                            0);
  assert_true(p != MAP_FAILED);
  close(fd);
  shmpool__hdr_init(&hdr, 4096, 0, 7, &dead);
  memcpy(p, &hdr, sizeof hdr);
  t0 = test_now_ms();
  assert_int_equal(shmpool_seg_open(&seg, name, 0), SHMPOOL_EFORMAT);
  assert_true(test_now_ms() - t0 < 1000);
  munmap(p, 64);
  assert_int_equal(shm_unlink(os_name), 0);
}

static void test_headerless_leftover_is_foreign(void **state) {
  /* An empty object can be a create in its first system calls, so it is
   * given SHMPOOL__PLAT_YOUNG_MS from its creation; after that it is
   * foreign (a creator that died right there), never waited for forever.
   * A young object of any other size without a header is foreign at once:
   * shmpool never shows one. */
  char name[32], os_name[40];
  shmpool_seg *seg;
  uint64_t t0, dt;
  int fd;
  (void)state;
  test_name(name, sizeof name, "empty");
  snprintf(os_name, sizeof os_name, "/%s", name);
  fd = shm_open(os_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  t0 = test_now_ms();
  assert_int_equal(shmpool_seg_open(&seg, name, 0), SHMPOOL_EFORMAT);
  dt = test_now_ms() - t0;
  assert_true(dt + 100 >= SHMPOOL__PLAT_YOUNG_MS); /* it did wait... */
  assert_true(dt < SHMPOOL__PLAT_YOUNG_MS + 5000); /* ...and stopped */
  assert_int_equal(ftruncate(fd, 100), 0);         /* young, but not tiny */
  t0 = test_now_ms();
  assert_int_equal(shmpool_seg_open(&seg, name, 0), SHMPOOL_EFORMAT);
  assert_true(test_now_ms() - t0 < 1000);
  close(fd);
  assert_int_equal(shm_unlink(os_name), 0);
}

/* ---- exactly one remover per name --------------------------------------- */

/* owner-loop NAME ROUNDS: create NAME and close it (which unlinks it),
 * again and again; another owner-loop competes for the name, and
 * unlink-loops remove it by name meanwhile. Exit status: the number of
 * unclaimed removals seen (see checking_shm_unlink), or 100 + an error. */
static int helper_owner_loop(int argc, char **argv) {
  int rounds, done = 0, rc;
  uint64_t deadline = test_now_ms() + 60000;
  shmpool_seg *seg;
  if (argc != 2)
    return 100;
  rounds = atoi(argv[1]);
  watch_unlinks(argv[0]);
  while (done < rounds && test_now_ms() < deadline) {
    rc = shmpool_seg_create(&seg, argv[0], 4096, 0);
    if (rc == SHMPOOL_EEXIST)
      continue; /* the other owner has it */
    if (rc != 0)
      return 101;
    if ((rc = shmpool_seg_close(seg)) != 0) {
      fprintf(stderr, "owner-loop: close: %s\n", shmpool_err_name(rc));
      return 102;
    }
    done++;
  }
  if (done < rounds)
    return 103;
  return unlink_unmarked < 99 ? unlink_unmarked : 99;
}

/* unlink-loop NAME MS: shmpool_seg_unlink(NAME) for MS milliseconds. */
static int helper_unlink_loop(int argc, char **argv) {
  uint64_t end;
  int rc;
  if (argc != 2)
    return 100;
  end = test_now_ms() + (uint64_t)atol(argv[1]);
  watch_unlinks(argv[0]);
  while (test_now_ms() < end) {
    rc = shmpool_seg_unlink(argv[0]);
    if (rc != 0 && rc != SHMPOOL_ENOENT) {
      fprintf(stderr, "unlink-loop: %s\n", shmpool_err_name(rc));
      return 101;
    }
  }
  return unlink_unmarked < 99 ? unlink_unmarked : 99;
}

static void test_one_remover_per_name(void **state) {
  /* Two owners create and close the same name in turn while two other
   * processes unlink it by name: whoever removes the name must be the one
   * that claimed the segment under it, never a caller that looked at an
   * older segment while a newer one took the name. */
  enum { OWNERS = 2, UNLINKERS = 2 };
  test_proc procs[OWNERS + UNLINKERS];
  const char *args[3];
  char name[32];
  test_exit ex;
  int i, failures = 0;
  (void)state;
  test_name(name, sizeof name, "once");
  args[0] = name;
  args[2] = NULL;
  for (i = 0; i < OWNERS + UNLINKERS; i++) {
    args[1] = i < OWNERS ? "3000" : "4000";
    assert_int_equal(test_spawn_self(&procs[i],
                                     i < OWNERS ? "owner-loop" : "unlink-loop",
                                     args),
                     0);
  }
  for (i = 0; i < OWNERS + UNLINKERS; i++) {
    assert_int_equal(test_proc_wait(&procs[i], 90000, &ex), 0);
    if (ex.code != 0) {
      print_message("%s %d: exit %d\n", i < OWNERS ? "owner" : "unlinker", i,
                    ex.code);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
  (void)shmpool_seg_unlink(name);
}

static int helper_exit(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}

/* helper: create an owned segment, then wait to be killed. */
static int helper_create_and_wait(int argc, char **argv) {
  shmpool_seg *seg;
  if (argc != 1 || shmpool_seg_create(&seg, argv[0], 4096, 0) != 0)
    return 2;
  for (;;)
    test_sleep_ms(1000);
}

/* A creator that was killed but not yet reaped (a zombie) is dead: gc and
 * the inspection say so, not "alive" until its parent collects it. */
static void test_zombie_creator_is_dead(void **state) {
  const char *args[2];
  shmpool_seg_info info;
  shmpool_seg *seg;
  test_proc p;
  test_exit ex;
  char name[32];
  uint64_t t0;
  (void)state;
  test_name(name, sizeof name, "zombie");
  args[0] = name;
  args[1] = NULL;
  assert_int_equal(test_spawn_self(&p, "create-and-wait", args), 0);
  for (t0 = test_now_ms(); shmpool_seg_open(&seg, name, 0) != 0;) {
    assert_true(test_now_ms() - t0 < 30000);
    test_sleep_ms(10);
  }
  shmpool_seg_close(seg);
  shmpool_seg_info_init(&info);
  assert_int_equal(shmpool_seg_inspect(name, 0, &info), 0);
  assert_int_equal(info.creator_alive, 1);
  assert_int_equal(kill((pid_t)p.pid, SIGKILL), 0);
  /* Not reaped yet: it stays a zombie until test_proc_wait. */
  for (t0 = test_now_ms();; test_sleep_ms(10)) {
    assert_int_equal(shmpool_seg_inspect(name, 0, &info), 0);
    if (info.creator_alive == 0)
      break;
    assert_true(test_now_ms() - t0 < 5000);
  }
  assert_int_equal(test_proc_wait(&p, 10000, &ex), 0);
  assert_int_equal(shmpool_seg_unlink(name), 0);
}

static const test_helper helpers[] = {
    {"create-and-wait", helper_create_and_wait},
    {"small-shm", helper_small_shm},
    {"create-persistent", helper_create_persistent},
    {"open-failed-create", helper_open_failed_create},
    {"open-ack", helper_open_ack},
    {"create-stopping", helper_create_stopping},
    {"owner-loop", helper_owner_loop},
    {"unlink-loop", helper_unlink_loop},
    {"exit", helper_exit},
    {NULL, NULL}};

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mode_is_0600),
      cmocka_unit_test(test_other_users_object_refused),
      cmocka_unit_test(test_segment_of_nobody_refused),
      cmocka_unit_test(test_enospc_in_small_dev_shm),
      cmocka_unit_test_setup_teardown(test_create_syscall_failures,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_open_syscall_failures,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_fallocate_unsupported_falls_back,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test_setup_teardown(test_failed_create_gives_racers_enoent,
                                      restore_syscalls, restore_syscalls),
      cmocka_unit_test(test_creator_stopped_mid_create),
      cmocka_unit_test(test_torn_header_is_no_verdict),
      cmocka_unit_test(test_dead_creator_is_reported_at_once),
      cmocka_unit_test(test_headerless_leftover_is_foreign),
      cmocka_unit_test(test_one_remover_per_name),
      cmocka_unit_test(test_zombie_creator_is_dead),
  };
  /* Before the helpers: their hooks call through the shipped table. */
  saved = shmpool__posix_sys;
  test_dispatch_helper(argc, argv, helpers);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
