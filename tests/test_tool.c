/* The shmpool command-line tool: info, rm (everywhere), ls and gc (where
 * the OS can list segments: Linux), including a creator killed with
 * SIGKILL, a persistent segment gc must keep, a live creator's segment gc
 * must keep, and a reused pid that the start time in the header unmasks.
 *
 *   test_tool <path of the shmpool tool>
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shmpool.h"
#include "support.h"

#if defined(_WIN32)
#define popen _popen
#define pclose _pclose
#else
#include <sys/wait.h>
#endif

static char tool[4096];

/* Run the tool with `args`; its stdout and stderr go to out. Returns its
 * exit status. */
static int run_tool(const char *args, char *out, size_t cap) {
  char cmd[8192];
  size_t n = 0;
  FILE *p;
  int status;
  snprintf(cmd, sizeof cmd, "\"%s\" %s 2>&1", tool, args);
  p = popen(cmd, "r");
  if (p == NULL)
    return -1;
  while (n + 1 < cap && fgets(out + n, (int)(cap - n), p) != NULL)
    n += strlen(out + n);
  out[n] = '\0';
  status = pclose(p);
#if !defined(_WIN32)
  if (status != -1 && WIFEXITED(status))
    status = WEXITSTATUS(status);
#endif
  return status;
}

/* The line of `ls` output that lists name, or NULL. */
static const char *ls_line(const char *out, const char *name, char *line,
                           size_t cap) {
  const char *p = out;
  size_t len = strlen(name);
  while (*p != '\0') {
    const char *end = strchr(p, '\n');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    if (strncmp(p, name, len) == 0 && p[len] == ' ') {
      if (n >= cap)
        n = cap - 1;
      memcpy(line, p, n);
      line[n] = '\0';
      return line;
    }
    p += n + (end != NULL);
  }
  return NULL;
}

/* helper: create an owned and a persistent segment, raise the flag byte in
 * segment argv[0], then wait to be killed. */
static int helper_make_and_hang(int argc, char **argv) {
  shmpool_seg *flag, *owned, *kept;
  if (argc != 3 || shmpool_seg_open(&flag, argv[0], 0) != 0 ||
      shmpool_seg_create(&owned, argv[1], 1000, 0) != 0 ||
      shmpool_seg_create(&kept, argv[2], 2000, SHMPOOL_SEG_PERSIST) != 0)
    return 2;
  ((volatile unsigned char *)shmpool_seg_data(flag))[0] = 1;
  test_sleep_ms(60000);
  return 3;
}

static void test_info_and_rm(void **state) {
  char name[32], out[4096];
  shmpool_seg *seg;
  (void)state;
  test_name(name, sizeof name, "info");
  assert_int_equal(shmpool_seg_create(&seg, name, 12345, SHMPOOL_SEG_PERSIST),
                   0);
  {
    char args[64];
    snprintf(args, sizeof args, "info %s", name);
    assert_int_equal(run_tool(args, out, sizeof out), 0);
  }
  assert_non_null(strstr(out, "size:          12345 bytes"));
  assert_non_null(strstr(out, "persistent"));
  assert_non_null(strstr(out, "(alive)"));
  {
    char args[64];
    snprintf(args, sizeof args, "rm %s", name);
    assert_int_equal(run_tool(args, out, sizeof out), 0);
    /* A name that does not exist: nonzero, and a clear message. */
    assert_int_equal(run_tool(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "no such segment"));
    assert_non_null(strstr(out, name));
  }
  shmpool_seg_close(seg);
  assert_int_equal(run_tool("info shmpool-test-absent", out, sizeof out), 1);
  assert_int_equal(run_tool("frobnicate", out, sizeof out), 2);
  assert_int_equal(run_tool("version", out, sizeof out), 0);
  assert_non_null(strstr(out, shmpool_version_string()));
}

/* Every refusal says what was wrong and what is allowed, and exits
 * nonzero: 1 for a bad name, 2 for a bad command line. */
static void test_error_messages(void **state) {
  static const struct {
    const char *args;
    int status;
    const char *says[2]; /* each must appear in the output */
  } cases[] = {
      {"info /bad/name",
       1,
       {"'/bad/name' is not a valid segment name: it starts with '/'",
        "1 to 30 characters of A-Z a-z 0-9 . _ -"}},
      {"rm bad/name", 1, {"character 4 is '/'", "A-Z a-z 0-9"}},
      {"info abcdefghijklmnopqrstuvwxyz0123456789",
       1,
       {"it has 36 characters", "1 to 30 characters"}},
      {"info ..", 1, {"'.' and '..' are refused", "A-Z a-z 0-9"}},
      {"info", 2, {"takes exactly one NAME (got 0)", "usage: shmpool"}},
      {"rm", 2, {"takes one or more NAMEs", "usage: shmpool"}},
      {"ls extra",
       2,
       {"takes no operands (got 1, the first 'extra')", "usage"}},
      {"frobnicate",
       2,
       {"unknown command 'frobnicate' (commands: ls", "usage"}},
      {"gc --bogus", 2, {"unknown option --bogus (options: --global", "gc"}},
      {"rm some-name --dry-run",
       2,
       {"--dry-run is an option of gc only", "rm"}},
      {"", 2, {"no command given", "usage: shmpool"}},
  };
  char out[4096];
  size_t i, j;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int status = run_tool(cases[i].args, out, sizeof out);
    if (status != cases[i].status)
      fail_msg("shmpool %s: exit %d, want %d:\n%s", cases[i].args, status,
               cases[i].status, out);
    for (j = 0; j < 2; j++)
      if (strstr(out, cases[i].says[j]) == NULL)
        fail_msg("shmpool %s: no \"%s\" in:\n%s", cases[i].args,
                 cases[i].says[j], out);
  }
}

static void test_ls_and_gc_after_sigkill(void **state) {
  char flag_name[32], owned[32], kept[32], mine[32], line[256];
  static char out[1 << 16];
  const char *args[4];
  shmpool_seg *flag, *seg, *probe;
  test_proc creator;
  test_exit ex;
  uint64_t t0;
  (void)state;
#if !defined(__linux__)
  print_message("skipped: listing segments needs Linux (/dev/shm)\n");
  skip();
#endif
  test_name(flag_name, sizeof flag_name, "flag");
  test_name(owned, sizeof owned, "owned");
  test_name(kept, sizeof kept, "kept");
  test_name(mine, sizeof mine, "mine");
  assert_int_equal(shmpool_seg_create(&flag, flag_name, 64, 0), 0);
  assert_int_equal(shmpool_seg_create(&seg, mine, 3000, 0), 0);
  args[0] = flag_name;
  args[1] = owned;
  args[2] = kept;
  args[3] = NULL;
  assert_int_equal(test_spawn_self(&creator, "make-and-hang", args), 0);
  t0 = test_now_ms();
  while (((volatile unsigned char *)shmpool_seg_data(flag))[0] == 0 &&
         test_now_ms() - t0 < 30000)
    test_sleep_ms(2);
  test_proc_kill(&creator); /* SIGKILL: no cleanup runs */
  assert_int_equal(test_proc_wait(&creator, 10000, &ex), 0);

  assert_int_equal(run_tool("ls", out, sizeof out), 0);
  assert_non_null(ls_line(out, owned, line, sizeof line));
  assert_non_null(strstr(line, " dead "));
  assert_non_null(strstr(line, "owned"));
  assert_non_null(strstr(line, " 1000 "));
  assert_non_null(ls_line(out, kept, line, sizeof line));
  assert_non_null(strstr(line, " dead "));
  assert_non_null(strstr(line, "persist"));
  assert_non_null(ls_line(out, mine, line, sizeof line));
  assert_non_null(strstr(line, " alive "));

  /* gc removes only the owned segment of the dead creator. */
  assert_int_equal(run_tool("gc", out, sizeof out), 0);
  assert_non_null(strstr(out, owned));
  assert_null(strstr(out, kept));
  assert_null(strstr(out, mine));
  assert_int_equal(shmpool_seg_open(&probe, owned, 0), SHMPOOL_ENOENT);
  assert_int_equal(shmpool_seg_open(&probe, kept, 0), 0);
  shmpool_seg_close(probe);
  assert_int_equal(shmpool_seg_open(&probe, mine, 0), 0);
  shmpool_seg_close(probe);

  assert_int_equal(shmpool_seg_unlink(kept), 0);
  shmpool_seg_close(seg);
  shmpool_seg_close(flag);
}

/* A creator pid that now names another process (here: us) must not keep a
 * segment alive: the start time in the header tells them apart. */
static void test_gc_sees_through_pid_reuse(void **state) {
  char name[32], args[64];
  static char out[1 << 16];
  shmpool_seg *seg, *raw, *probe;
  unsigned char *p;
  uint64_t start;
  uint32_t h = 2166136261u;
  size_t i;
  (void)state;
#if !defined(__linux__)
  print_message("skipped: listing segments needs Linux (/dev/shm)\n");
  skip();
#endif
  test_name(name, sizeof name, "reused");
  assert_int_equal(shmpool_seg_create(&seg, name, 100, 0), 0);
  /* Rewrite creator_start (offset 32) and the checksum (offset 60), as
   * docs/FORMAT.md describes, through a raw view. */
  assert_int_equal(shmpool_seg_open(&raw, name, SHMPOOL_SEG_RAW), 0);
  p = (unsigned char *)shmpool_seg_data(raw);
  memcpy(&start, p + 32, sizeof start);
  start += 12345;
  memcpy(p + 32, &start, sizeof start);
  for (i = 0; i < 60; i++) {
    if (i >= 12 && i < 16)
      continue;
    h ^= p[i];
    h *= 16777619u;
  }
  memcpy(p + 60, &h, sizeof h);
  shmpool_seg_close(raw);

  snprintf(args, sizeof args, "info %s", name);
  assert_int_equal(run_tool(args, out, sizeof out), 0);
  assert_non_null(strstr(out, "(dead)"));
  assert_int_equal(run_tool("gc", out, sizeof out), 0);
  assert_non_null(strstr(out, name));
  assert_int_equal(shmpool_seg_open(&probe, name, 0), SHMPOOL_ENOENT);
  shmpool_seg_close(seg);
}

static const test_helper helpers[] = {{"make-and-hang", helper_make_and_hang},
                                      {NULL, NULL}};

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_info_and_rm),
      cmocka_unit_test(test_error_messages),
      cmocka_unit_test(test_ls_and_gc_after_sigkill),
      cmocka_unit_test(test_gc_sees_through_pid_reuse),
  };
  test_dispatch_helper(argc, argv, helpers);
  if (argc != 2) {
    fprintf(stderr, "usage: test_tool <path of the shmpool tool>\n");
    return 2;
  }
  snprintf(tool, sizeof tool, "%s", argv[1]);
#if defined(_WIN32)
  /* CMake passes the build path; under Wine a Unix path is Z:\... */
  if (tool[0] == '/') {
    char *q;
    memmove(tool + 2, tool, strlen(tool) + 1);
    tool[0] = 'Z';
    tool[1] = ':';
    for (q = tool; *q != '\0'; q++)
      if (*q == '/')
        *q = '\\';
  }
#endif
  return cmocka_run_group_tests(tests, NULL, NULL);
}
