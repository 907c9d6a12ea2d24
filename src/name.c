/* Portable segment names: validation and random generation.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

static int shmpool__name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int shmpool_name_check(const char *name) {
  size_t n;
  if (name == NULL || name[0] == '\0')
    return SHMPOOL_EINVAL;
  for (n = 0; name[n] != '\0'; n++) {
    if (n >= SHMPOOL_NAME_MAX)
      return SHMPOOL_ENAMETOOLONG;
    if (!shmpool__name_char_ok(name[n]))
      return SHMPOOL_EINVAL;
  }
  /* "/." and "/.." would name /dev/shm itself or its parent on Linux. */
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return SHMPOOL_EINVAL;
  return 0;
}

int shmpool__random_name(char *out, const char *prefix, size_t len) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[32];
  size_t plen = strlen(prefix);
  size_t i;
  int rc;
  if (len > sizeof bytes)
    return SHMPOOL_EINVAL;
  rc = shmpool__plat_random(bytes, len);
  if (rc != 0)
    return rc;
  memcpy(out, prefix, plen);
  /* 64 symbols: the low six bits of each byte are uniform. */
  for (i = 0; i < len; i++)
    out[plen + i] = alphabet[bytes[i] & 63u];
  out[plen + len] = '\0';
  return 0;
}
