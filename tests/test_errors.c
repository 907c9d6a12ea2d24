/* Errors and versions: every code has a distinct name and description,
 * unknown codes are handled, the version matches the header.
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "shmpool.h"

static const int all_codes[] = {
#define CODE_(name, value, text) SHMPOOL_##name,
    SHMPOOL_ERRNO_MAP(CODE_)
#undef CODE_
};
#define NCODES (sizeof all_codes / sizeof all_codes[0])

static void test_every_code_has_a_name(void **state) {
  size_t i, j;
  (void)state;
  for (i = 0; i < NCODES; i++) {
    const char *name = shmpool_err_name(all_codes[i]);
    const char *text = shmpool_strerror(all_codes[i]);
    assert_true(all_codes[i] < 0);
    assert_true(strncmp(name, "SHMPOOL_E", 9) == 0);
    assert_string_not_equal(name, "SHMPOOL_E?");
    assert_string_not_equal(text, "unknown error");
    for (j = 0; j < i; j++) {
      assert_int_not_equal(all_codes[i], all_codes[j]);
      assert_string_not_equal(name, shmpool_err_name(all_codes[j]));
    }
  }
  assert_string_equal(shmpool_err_name(SHMPOOL_ENOENT), "SHMPOOL_ENOENT");
  assert_string_equal(shmpool_strerror(SHMPOOL_ENOENT), "no such segment");
}

/* The enum is written out with a doc comment per value; the X-macro
 * repeats each value for shmpool_strerror() and shmpool_err_name(). They
 * must agree (tools/test-all.sh's docs leg checks the texts). */
static void test_enum_matches_the_x_macro(void **state) {
  (void)state;
#define SAME_VALUE_(name, value, text) assert_int_equal(SHMPOOL_##name, value);
  SHMPOOL_ERRNO_MAP(SAME_VALUE_)
#undef SAME_VALUE_
}

static void test_values_are_stable(void **state) {
  (void)state;
  /* Part of the ABI: a change here breaks compiled programs. */
  assert_int_equal(SHMPOOL_EINVAL, -1);
  assert_int_equal(SHMPOOL_EEXIST, -3);
  assert_int_equal(SHMPOOL_ENOENT, -4);
  assert_int_equal(SHMPOOL_EFORMAT, -5);
  assert_int_equal(SHMPOOL_ENOSPC, -7);
  assert_int_equal(SHMPOOL_EWORKER, -13);
  assert_int_equal(SHMPOOL_EIO, -19);
}

static void test_unknown_codes(void **state) {
  (void)state;
  assert_string_equal(shmpool_strerror(-999), "unknown error");
  assert_string_equal(shmpool_strerror(42), "unknown error");
  assert_string_equal(shmpool_err_name(-999), "SHMPOOL_E?");
  assert_string_equal(shmpool_strerror(0), "success");
  /* Documented: success has no SHMPOOL_ name. */
  assert_string_equal(shmpool_err_name(0), "0");
  /* A task's own status is not a library code. */
  assert_string_equal(shmpool_err_name(SHMPOOL_TASK_STATUS_MIN - 1),
                      "SHMPOOL_E?");
}

static void test_version(void **state) {
  char expect[32];
  (void)state;
  assert_int_equal(shmpool_version(), SHMPOOL_VERSION_HEX);
  assert_string_equal(shmpool_version_string(), SHMPOOL_VERSION_STRING);
  snprintf(expect, sizeof expect, "%d.%d.%d", SHMPOOL_VERSION_MAJOR,
           SHMPOOL_VERSION_MINOR, SHMPOOL_VERSION_PATCH);
  assert_string_equal(shmpool_version_string(), expect);
}

static void test_os_error_is_kept(void **state) {
  shmpool_seg *seg;
  (void)state;
  /* A failure from the OS keeps its raw value... */
  assert_int_equal(shmpool_seg_open(&seg, "shmpool-test-surely-absent", 0),
                   SHMPOOL_ENOENT);
  assert_int_equal(shmpool_last_os_error(), 2); /* ENOENT, FILE_NOT_FOUND */
  /* ...and one that is not from the OS clears it. */
  assert_int_equal(shmpool_seg_open(&seg, "bad/name", 0), SHMPOOL_EINVAL);
  assert_int_equal(shmpool_last_os_error(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_code_has_a_name),
      cmocka_unit_test(test_enum_matches_the_x_macro),
      cmocka_unit_test(test_values_are_stable),
      cmocka_unit_test(test_unknown_codes),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_os_error_is_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
