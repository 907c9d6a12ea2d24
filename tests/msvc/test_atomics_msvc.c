/* src/atomics.h's MSVC branch, which only cl compiles for real: built here
 * by clang-cl with SHMPOOL_FORCE_MSVC_ATOMICS, with cl's x86 intrinsic set
 * enforced (msvc_x86_intrinsics.h), for x64 (msvc-wine) and x86
 * (msvc-wine-x86). Compiling is half the check; running checks what each
 * operation does, and that a 64-bit load works on a read-only page (a
 * locked compare-exchange, which writes, faults there).
 *
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* windows.h before the poison: on x86 the SDK (and Wine) define
 * InterlockedAnd64 and friends as inline compare-exchange loops named after
 * the x64 intrinsics, which is legitimate there. */
#include <windows.h>

#include "msvc_x86_intrinsics.h"

#define SHMPOOL_FORCE_MSVC_ATOMICS 1
#include "atomics.h"

static void test_operations(void **state) {
  volatile uint32_t w = 5;
  volatile uint64_t d = 0;
  const uint64_t big = 0x0123456789abcdefu;
  (void)state;
  assert_int_equal(shmpool__load_acq32(&w), 5);
  shmpool__store_rel32(&w, 7);
  assert_int_equal(shmpool__fetch_add32(&w, 3), 7);
  assert_int_equal(shmpool__fetch_or32(&w, 0x100), 10);
  assert_int_equal(shmpool__exchange32(&w, 1), 0x10a);
  assert_true(shmpool__cas32(&w, 1, 2));
  assert_false(shmpool__cas32(&w, 1, 3));
  assert_int_equal(w, 2);
  /* Both halves must move: a torn or 32-bit-only store shows here. */
  shmpool__store_rel64(&d, big);
  assert_true(shmpool__load_acq64(&d) == big);
  shmpool__store_rel64(&d, ~big);
  assert_true(shmpool__load_acq64(&d) == ~big);
  shmpool__fence();
  shmpool__cpu_relax();
}

static void test_load64_from_read_only_page(void **state) {
  DWORD old;
  volatile uint64_t *page = (volatile uint64_t *)VirtualAlloc(
      NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  (void)state;
  assert_non_null(page);
  shmpool__store_rel64(page, 0xfeedfacecafebeefu);
  assert_true(
      VirtualProtect((void *)(uintptr_t)page, 4096, PAGE_READONLY, &old));
  /* A shmpool_seg opened with SHMPOOL_SEG_READONLY is such a view. */
  assert_true(shmpool__load_acq64(page) == 0xfeedfacecafebeefu);
  assert_true(VirtualFree((void *)(uintptr_t)page, 0, MEM_RELEASE));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_operations),
      cmocka_unit_test(test_load64_from_read_only_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
