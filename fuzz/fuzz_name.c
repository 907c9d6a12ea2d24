/* Fuzz target: shmpool_name_check on arbitrary bytes (made into a
 * NUL-terminated string; an embedded NUL ends the name).
 *
 * Checks against a model of the documented rule: the result is 0,
 * SHMPOOL_EINVAL or SHMPOOL_ENAMETOOLONG; 0 exactly when the name has 1 to
 * SHMPOOL_NAME_MAX characters of [A-Za-z0-9._-] and is not "." or "..";
 * ENAMETOOLONG only for names longer than SHMPOOL_NAME_MAX.
 *
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "shmpool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int portable_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *name;
  size_t len, i;
  int rc, chars_ok, valid;

  /* An exact-size copy, so ASan sees any read past the terminator. */
  name = (char *)malloc(size + 1);
  if (name == NULL)
    return 0;
  if (size != 0)
    memcpy(name, data, size);
  name[size] = '\0';
  len = strlen(name);

  rc = shmpool_name_check(name);
  FUZZ_CHECK(rc == 0 || rc == SHMPOOL_EINVAL || rc == SHMPOOL_ENAMETOOLONG);

  chars_ok = 1;
  for (i = 0; i < len; i++)
    if (!portable_char((unsigned char)name[i]))
      chars_ok = 0;
  valid = len >= 1 && len <= SHMPOOL_NAME_MAX && chars_ok &&
          strcmp(name, ".") != 0 && strcmp(name, "..") != 0;

  /* 0 implies a valid name, and every valid name is accepted. */
  if (rc == 0)
    FUZZ_CHECK(len >= 1 && len <= SHMPOOL_NAME_MAX && chars_ok &&
               strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
  FUZZ_CHECK((rc == 0) == valid);
  /* Too long only when it is; a short bad name is EINVAL. */
  if (rc == SHMPOOL_ENAMETOOLONG)
    FUZZ_CHECK(len > SHMPOOL_NAME_MAX);
  if (!valid && len <= SHMPOOL_NAME_MAX)
    FUZZ_CHECK(rc == SHMPOOL_EINVAL);

  free(name);

  FUZZ_CHECK(shmpool_name_check(NULL) == SHMPOOL_EINVAL);
  return 0;
}
