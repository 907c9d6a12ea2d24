/* The Windows backend's system-call table: the Win32 calls the backend
 * makes on segments, events, worker processes and the job object go
 * through shmpool__win_sys, so tests can make any of them fail. (A worker's
 * own start-up, src/win32/proc.c's shmpool__plat_worker_init, calls Win32
 * directly: the table is per process and tests patch only the parent.)
 * The entries are small wrappers defined in sys.c, because the address of
 * a dllimport function is not a constant initializer for MSVC's C compiler.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_WIN32_SYS_H
#define SHMPOOL_WIN32_SYS_H

#if defined(_WIN32)

#include <windows.h>

typedef struct shmpool__win_syscalls {
  HANDLE(WINAPI *CreateFileMappingW)
  (HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD protect, DWORD size_high,
   DWORD size_low, LPCWSTR name);
  HANDLE(WINAPI *OpenFileMappingW)(DWORD access, BOOL inherit, LPCWSTR name);
  LPVOID(WINAPI *MapViewOfFile)
  (HANDLE mapping, DWORD access, DWORD offset_high, DWORD offset_low,
   SIZE_T size);
  BOOL(WINAPI *UnmapViewOfFile)(LPCVOID base);
  SIZE_T(WINAPI *VirtualQuery)
  (LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T len);
  BOOL(WINAPI *CloseHandle)(HANDLE h);
  BOOL(WINAPI *OpenProcessToken)(HANDLE process, DWORD access, PHANDLE token);
  BOOL(WINAPI *GetTokenInformation)
  (HANDLE token, TOKEN_INFORMATION_CLASS cls, LPVOID info, DWORD len,
   PDWORD ret_len);
  /* Fills buf from the system CSPRNG; returns 0 or a Win32 error code. */
  DWORD(WINAPI *Random)(void *buf, ULONG len);
  /* Starts a worker process suspended, inheriting stdio only
   * (CreateProcessW; see src/win32/proc.c). */
  BOOL(WINAPI *CreateWorkerProcess)
  (WCHAR *exe, WCHAR *cmd, WCHAR *env, PROCESS_INFORMATION *pi);
  HANDLE(WINAPI *CreateEventW)
  (LPSECURITY_ATTRIBUTES sa, BOOL manual, BOOL initial, LPCWSTR name);
  HANDLE(WINAPI *OpenEventW)(DWORD access, BOOL inherit, LPCWSTR name);
  BOOL(WINAPI *SetEvent)(HANDLE event);
  /* Waits on a worker process or a wake event. */
  DWORD(WINAPI *WaitForSingleObject)(HANDLE h, DWORD timeout_ms);
  BOOL(WINAPI *TerminateProcess)(HANDLE process, UINT exit_code);
  BOOL(WINAPI *GetExitCodeProcess)(HANDLE process, LPDWORD code);
  /* The job object that ends the workers with their parent. */
  HANDLE(WINAPI *CreateJobObjectW)(LPSECURITY_ATTRIBUTES sa, LPCWSTR name);
  BOOL(WINAPI *SetInformationJobObject)
  (HANDLE job, JOBOBJECTINFOCLASS cls, LPVOID info, DWORD len);
  BOOL(WINAPI *AssignProcessToJobObject)(HANDLE job, HANDLE process);
} shmpool__win_syscalls;

extern shmpool__win_syscalls shmpool__win_sys;

/* The default CreateWorkerProcess entry (src/win32/proc.c). */
BOOL WINAPI shmpool__win_create_process(WCHAR *exe, WCHAR *cmd, WCHAR *env,
                                        PROCESS_INFORMATION *pi);

/* Record a GetLastError() value for shmpool_last_os_error() and translate
 * it to a SHMPOOL_E* code: the backend's one translation point. */
int shmpool__win_error(DWORD err);

/* "Local\<name>" or "Global\<name>" as UTF-16, for a validated portable
 * name plus an optional suffix (derived object names). */
#define SHMPOOL__WIN_NAME_MAX 96
void shmpool__win_os_name(WCHAR *out, const char *name, const char *suffix,
                          unsigned flags);

/* A security descriptor granting access to the current user only. */
typedef struct shmpool__win_sa {
  SECURITY_ATTRIBUTES sa;
  SECURITY_DESCRIPTOR sd;
  void *token_user; /* TOKEN_USER buffer holding the SID */
  PACL acl;
} shmpool__win_sa;
int shmpool__win_sa_init(shmpool__win_sa *sa);
void shmpool__win_sa_free(shmpool__win_sa *sa);

#endif /* _WIN32 */
#endif /* SHMPOOL_WIN32_SYS_H */
