/* Windows: randomness, clocks, process identity.
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include "atomics.h"
#include "internal.h"
#include "win32/sys.h"

int shmpool__plat_random(void *buf, size_t len) {
  unsigned char *p = (unsigned char *)buf;
  while (len > 0) {
    ULONG chunk = len > 0x10000000u ? 0x10000000u : (ULONG)len;
    DWORD err = shmpool__win_sys.Random(p, chunk);
    if (err != 0)
      return shmpool__win_error(err);
    p += chunk;
    len -= chunk;
  }
  return 0;
}

uint64_t shmpool__plat_now_ns(void) {
  static uint64_t freq; /* once-initialised; QPC's rate never changes */
  LARGE_INTEGER now;
  uint64_t f = shmpool__load_acq64(&freq);
  if (f == 0) {
    LARGE_INTEGER qpf;
    QueryPerformanceFrequency(&qpf);
    f = (uint64_t)qpf.QuadPart;
    shmpool__store_rel64(&freq, f);
  }
  QueryPerformanceCounter(&now);
  /* Split to avoid overflowing 64 bits for long uptimes. */
  return ((uint64_t)now.QuadPart / f) * 1000000000u +
         ((uint64_t)now.QuadPart % f) * 1000000000u / f;
}

void shmpool__plat_sleep_ms(unsigned ms) {
  Sleep(ms);
}

uint64_t shmpool__plat_pid(void) {
  return (uint64_t)GetCurrentProcessId();
}

int shmpool__plat_proc_alive(uint64_t pid, uint64_t start) {
  FILETIME created, exited, kernel, user;
  HANDLE h;
  int alive;
  if (pid == 0 || pid > 0xffffffffu)
    return 0;
  h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                  (DWORD)pid);
  if (h == NULL)
    return GetLastError() == ERROR_INVALID_PARAMETER ? 0 : -1;
  alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  if (alive && start != 0 &&
      GetProcessTimes(h, &created, &exited, &kernel, &user))
    alive = (((uint64_t)created.dwHighDateTime << 32) |
             created.dwLowDateTime) == start;
  CloseHandle(h);
  return alive;
}

uint64_t shmpool__plat_proc_start(uint64_t self_pid) {
  static uint64_t cached; /* a process's creation time never changes */
  uint64_t start = shmpool__load_acq64(&cached);
  FILETIME created, exited, kernel, user;
  (void)self_pid; /* a Windows process cannot fork: one value forever */
  if (start != 0)
    return start;
  if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
    return 0;
  start = ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
  shmpool__store_rel64(&cached, start);
  return start;
}

#endif /* _WIN32 */
