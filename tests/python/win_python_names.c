/* win_python_names: do the names Python's SharedMemory uses on Windows
 * reach the mappings shmpool calls Local\<name>, and back? (docs/PYTHON.md,
 * section 5.)
 *
 * CPython 3.11's shared_memory.py passes the name unchanged (no prefix) to
 * CreateFileMapping / OpenFileMapping / mmap(tagname=); this program makes
 * those same Win32 calls against shmpool segments. Windows only; NOT built
 * by CMake (tests/python is native-only). Run by hand, e.g. under Wine:
 *
 *   x86_64-w64-mingw32-gcc -DSHMPOOL_SHARED -Iinclude \
 *       tests/python/win_python_names.c build/mingw-wine/libshmpool.dll.a \
 *       -static -o build/mingw-wine/bin/win_python_names.exe
 *   wine64 build/mingw-wine/bin/win_python_names.exe    # prints PASSED
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include "shmpool.h"

static int fails = 0;
#define CHECK(c, what)                                                         \
  do {                                                                         \
    printf("%s: %s\n", (c) ? "ok" : "FAIL", what);                             \
    if (!(c))                                                                  \
      fails++;                                                                 \
  } while (0)

int main(void) {
  char name[64];
  WCHAR wname[64], wlocal[80];
  DWORD pid = GetCurrentProcessId();
  shmpool_seg *seg;
  HANDLE h, h2;
  void *p;
  int rc;
  MEMORY_BASIC_INFORMATION mbi;

  /* 1. Python side creates (CreateFileMapping with the bare name). */
  snprintf(name, sizeof name, "pyside%lu", (unsigned long)pid);
  swprintf(wname, 64, L"pyside%lu", (unsigned long)pid);
  h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8000,
                         wname);
  CHECK(h != NULL && GetLastError() != ERROR_ALREADY_EXISTS,
        "bare-name CreateFileMapping (Python create)");
  p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
  ((double *)p)[5] = 42.5;
  rc = shmpool_seg_open(&seg, name, SHMPOOL_SEG_RAW);
  CHECK(rc == 0, "shmpool_seg_open(name, RAW) finds it (Local\\name)");
  if (rc == 0) {
    CHECK(((double *)shmpool_seg_data(seg))[5] == 42.5, "same memory");
    printf("   RAW size %zu (created 8000)\n", shmpool_seg_size(seg));
    shmpool_seg_close(seg);
  }
  rc = shmpool_seg_open(&seg, name, 0);
  CHECK(rc == SHMPOOL_EFORMAT, "open without RAW: EFORMAT");
  UnmapViewOfFile(p);
  CloseHandle(h);

  /* 2. shmpool creates RAW; Python attaches with OpenFileMapping(name) and
   * then mmap(-1, size, tagname=name) = CreateFileMapping on the name. */
  snprintf(name, sizeof name, "cside%lu", (unsigned long)pid);
  swprintf(wname, 64, L"cside%lu", (unsigned long)pid);
  swprintf(wlocal, 80, L"Local\\cside%lu", (unsigned long)pid);
  rc = shmpool_seg_create(&seg, name, 8000, SHMPOOL_SEG_RAW);
  CHECK(rc == 0, "shmpool RAW create");
  ((double *)shmpool_seg_data(seg))[7] = 7.25;
  h = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
  CHECK(h != NULL, "OpenFileMapping(bare name) (Python attach)");
  if (h) {
    p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    CHECK(p && ((double *)p)[7] == 7.25, "bare name: same memory");
    VirtualQuery(p, &mbi, sizeof mbi);
    printf("   VirtualQuery region size %zu (created 8000)\n",
           (size_t)mbi.RegionSize);
    UnmapViewOfFile(p);
    CloseHandle(h);
  }
  h = OpenFileMappingW(FILE_MAP_READ, FALSE, wlocal);
  CHECK(h != NULL, "OpenFileMapping(Local\\name)");
  if (h)
    CloseHandle(h);
  h2 = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192,
                          wname);
  CHECK(h2 != NULL && GetLastError() == ERROR_ALREADY_EXISTS,
        "CreateFileMapping(bare name) opens the existing one (mmap tagname)");
  if (h2) {
    p = MapViewOfFile(h2, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(p && ((double *)p)[7] == 7.25, "tagname view: same memory");
    if (p) {
      ((double *)p)[8] = 3.5;
      UnmapViewOfFile(p);
    }
    CloseHandle(h2);
  }
  CHECK(((double *)shmpool_seg_data(seg))[8] == 3.5,
        "write back seen by shmpool");
  shmpool_seg_close(seg);

  /* 3. A header segment: data at 64, size at 16. */
  snprintf(name, sizeof name, "hside%lu", (unsigned long)pid);
  swprintf(wname, 64, L"hside%lu", (unsigned long)pid);
  rc = shmpool_seg_create(&seg, name, 8000, 0);
  ((double *)shmpool_seg_data(seg))[0] = 1.5;
  h = OpenFileMappingW(FILE_MAP_READ, FALSE, wname);
  CHECK(h != NULL, "header segment via bare name");
  if (h) {
    unsigned char *b = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    unsigned long long sz;
    double d;
    memcpy(&sz, b + 16, 8);
    memcpy(&d, b + 64, 8);
    CHECK(memcmp(b, "SHMPOOL\x1a", 8) == 0 && sz == 8000 && d == 1.5,
          "magic, size at 16, data at 64");
    UnmapViewOfFile(b);
    CloseHandle(h);
  }
  shmpool_seg_close(seg);
  printf(fails ? "FAILED\n" : "PASSED\n");
  return fails != 0;
}
