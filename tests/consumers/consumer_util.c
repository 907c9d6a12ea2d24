/* A library of the consumer project's own, to show that vendoring shmpool
 * does not change how the parent's libraries are built.
 *
 * SPDX-License-Identifier: MIT */
int consumer_util_answer(void);
int consumer_util_answer(void) {
  return 42;
}
