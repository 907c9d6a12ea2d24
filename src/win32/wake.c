/* Windows: the wake channel is a named auto-reset event beside the word in
 * shared memory ("Local\<control segment>.<suffix>"), created by the parent
 * with the owner-only security descriptor and opened by the worker.
 *
 * An auto-reset event latches a wake that comes before the wait, so the
 * "announce, re-check, wait" protocol loses nothing; a latched wake that
 * nobody needed makes one later wait return early, which the callers
 * tolerate.
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include <string.h>

#include "internal.h"
#include "win32/sys.h"

static void shmpool__win_event_name(WCHAR *out, const char *ctl_name,
                                    const char *suffix) {
  char tail[24];
  size_t n = strlen(suffix);
  if (n > sizeof tail - 2)
    n = sizeof tail - 2;
  tail[0] = '.';
  memcpy(tail + 1, suffix, n);
  tail[n + 1] = '\0';
  shmpool__win_os_name(out, ctl_name, tail, 0);
}

int shmpool__plat_waker_create(shmpool__plat_waker *w, const char *ctl_name,
                               const char *suffix) {
  WCHAR name[SHMPOOL__WIN_NAME_MAX];
  shmpool__win_sa sa;
  HANDLE h;
  int rc;
  w->handle = 0;
  shmpool__win_event_name(name, ctl_name, suffix);
  rc = shmpool__win_sa_init(&sa);
  if (rc != 0)
    return rc;
  h = shmpool__win_sys.CreateEventW(&sa.sa, FALSE, FALSE, name);
  if (h == NULL) {
    rc = shmpool__win_error(GetLastError());
  } else if (GetLastError() == ERROR_ALREADY_EXISTS) {
    /* Someone squats on the name: never share an event with them. */
    shmpool__win_sys.CloseHandle(h);
    rc = shmpool__win_error(ERROR_ALREADY_EXISTS);
  } else {
    w->handle = (intptr_t)h;
  }
  shmpool__win_sa_free(&sa);
  return rc;
}

int shmpool__plat_waker_open(shmpool__plat_waker *w, const char *ctl_name,
                             const char *suffix) {
  WCHAR name[SHMPOOL__WIN_NAME_MAX];
  HANDLE h;
  w->handle = 0;
  shmpool__win_event_name(name, ctl_name, suffix);
  h = shmpool__win_sys.OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE,
                                  name);
  if (h == NULL)
    return shmpool__win_error(GetLastError());
  w->handle = (intptr_t)h;
  return 0;
}

void shmpool__plat_waker_close(shmpool__plat_waker *w) {
  if (w->handle != 0)
    shmpool__win_sys.CloseHandle((HANDLE)w->handle);
  w->handle = 0;
}

int shmpool__plat_wait(shmpool__plat_waker *w, volatile uint32_t *word,
                       uint32_t expected, int timeout_ms) {
  DWORD r;
  if (*word != expected)
    return 0;
  r = shmpool__win_sys.WaitForSingleObject(
      (HANDLE)w->handle, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  return r == WAIT_TIMEOUT ? SHMPOOL_ETIMEDOUT : 0;
}

void shmpool__plat_wake(shmpool__plat_waker *w, volatile uint32_t *word) {
  (void)word;
  if (w->handle != 0)
    (void)shmpool__win_sys.SetEvent((HANDLE)w->handle);
}

#endif /* _WIN32 */
