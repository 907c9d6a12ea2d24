/* See seg_faults.h.
 *
 * SPDX-License-Identifier: MIT */
#include "seg_faults.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "shmpool.h"
#include "support.h"

void seg_faults_on_create(const seg_fault_platform *p,
                          const seg_fault_case *cases, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char name[32];
    shmpool_seg *seg = (shmpool_seg *)&seg;
    long resources = p->count_resources();
    int generated = strcmp(cases[i].call, p->random_call) == 0;
    test_name(name, sizeof name, "inj");
    p->inject(cases[i].call, cases[i].err);
    assert_int_equal(shmpool_seg_create(&seg, generated ? NULL : name, 8192, 0),
                     cases[i].expected);
    p->restore();
    assert_null(seg);
    if (cases[i].records_err)
      assert_int_equal(shmpool_last_os_error(), cases[i].err);
    /* Nothing leaked: no descriptor or handle, and no object (the name is
     * free; counting all objects would race with tests running in
     * parallel). */
    assert_int_equal(p->count_resources(), resources);
    assert_int_equal(shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW),
                     SHMPOOL_ENOENT);
    assert_int_equal(shmpool_seg_create(&seg, name, 8192, 0), 0);
    assert_int_equal(shmpool_seg_close(seg), 0);
  }
}

void seg_faults_on_open(const seg_fault_platform *p,
                        const seg_fault_case *cases, size_t n) {
  char name[32];
  shmpool_seg *seg, *other;
  size_t i;
  test_name(name, sizeof name, "injopen");
  assert_int_equal(shmpool_seg_create(&seg, name, 8192, 0), 0);
  for (i = 0; i < n; i++) {
    long resources = p->count_resources();
    other = (shmpool_seg *)&other;
    p->inject(cases[i].call, cases[i].err);
    assert_int_equal(shmpool_seg_open(&other, name, 0), cases[i].expected);
    p->restore();
    assert_null(other);
    if (cases[i].records_err)
      assert_int_equal(shmpool_last_os_error(), cases[i].err);
    assert_int_equal(p->count_resources(), resources);
  }
  /* After all that, the segment is intact and still owned. */
  assert_int_equal(shmpool_seg_open(&other, name, 0), 0);
  shmpool_seg_close(other);
  assert_int_equal(shmpool_seg_close(seg), 0);
  assert_int_equal(shmpool_seg_open(&other, name, 0), SHMPOOL_ENOENT);
}
