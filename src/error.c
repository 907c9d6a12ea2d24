/* Error codes, their names and descriptions, the thread-local raw OS error,
 * and the run-time version.
 *
 * SPDX-License-Identifier: MIT */
#include "internal.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define SHMPOOL__THREAD_LOCAL __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L &&              \
    !defined(__STDC_NO_THREADS__)
#define SHMPOOL__THREAD_LOCAL _Thread_local
#else
#define SHMPOOL__THREAD_LOCAL __thread
#endif

static SHMPOOL__THREAD_LOCAL int shmpool__os_error;

void shmpool__set_os_error(int raw) {
  shmpool__os_error = raw;
}

int shmpool_last_os_error(void) {
  return shmpool__os_error;
}

const char *shmpool_strerror(int err) {
  switch (err) {
#define SHMPOOL_STRERROR_CASE_(name, value, text)                              \
  case SHMPOOL_##name:                                                         \
    return text;
    SHMPOOL_ERRNO_MAP(SHMPOOL_STRERROR_CASE_)
#undef SHMPOOL_STRERROR_CASE_
  case 0:
    return "success";
  default:
    return "unknown error";
  }
}

const char *shmpool_err_name(int err) {
  switch (err) {
#define SHMPOOL_ERR_NAME_CASE_(name, value, text)                              \
  case SHMPOOL_##name:                                                         \
    return "SHMPOOL_" #name;
    SHMPOOL_ERRNO_MAP(SHMPOOL_ERR_NAME_CASE_)
#undef SHMPOOL_ERR_NAME_CASE_
  case 0:
    return "0";
  default:
    return "SHMPOOL_E?";
  }
}

unsigned shmpool_version(void) {
  return SHMPOOL_VERSION_HEX;
}

const char *shmpool_version_string(void) {
  return SHMPOOL_VERSION_STRING;
}
