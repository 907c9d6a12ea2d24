/* POSIX-only segment behaviour: object mode 0600 whatever the umask,
 * refusal of another user's object (even for root), ENOSPC in a small
 * /dev/shm with nothing left behind, and every system call of create and
 * open failing in turn through the backend's system-call table.
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

static const test_helper helpers[] = {
    {"small-shm", helper_small_shm},
    {"create-persistent", helper_create_persistent},
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
  };
  test_dispatch_helper(argc, argv, helpers);
  saved = shmpool__posix_sys;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
