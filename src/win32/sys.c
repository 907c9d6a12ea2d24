/* The Windows system-call table, error translation, object names and the
 * owner-only security descriptor.
 *
 * SPDX-License-Identifier: MIT */
#if defined(_WIN32)

#include "win32/sys.h"

#include <bcrypt.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static HANDLE WINAPI shmpool__win_CreateFileMappingW(HANDLE file,
                                                     LPSECURITY_ATTRIBUTES sa,
                                                     DWORD protect, DWORD hi,
                                                     DWORD lo, LPCWSTR name) {
  return CreateFileMappingW(file, sa, protect, hi, lo, name);
}
static HANDLE WINAPI shmpool__win_OpenFileMappingW(DWORD access, BOOL inherit,
                                                   LPCWSTR name) {
  return OpenFileMappingW(access, inherit, name);
}
static LPVOID WINAPI shmpool__win_MapViewOfFile(HANDLE h, DWORD access,
                                                DWORD hi, DWORD lo,
                                                SIZE_T size) {
  return MapViewOfFile(h, access, hi, lo, size);
}
static BOOL WINAPI shmpool__win_UnmapViewOfFile(LPCVOID base) {
  return UnmapViewOfFile(base);
}
static SIZE_T WINAPI shmpool__win_VirtualQuery(LPCVOID addr,
                                               PMEMORY_BASIC_INFORMATION info,
                                               SIZE_T len) {
  return VirtualQuery(addr, info, len);
}
static BOOL WINAPI shmpool__win_CloseHandle(HANDLE h) {
  return CloseHandle(h);
}
static BOOL WINAPI shmpool__win_OpenProcessToken(HANDLE process, DWORD access,
                                                 PHANDLE token) {
  return OpenProcessToken(process, access, token);
}
static BOOL WINAPI shmpool__win_GetTokenInformation(HANDLE token,
                                                    TOKEN_INFORMATION_CLASS cls,
                                                    LPVOID info, DWORD len,
                                                    PDWORD ret_len) {
  return GetTokenInformation(token, cls, info, len, ret_len);
}
static DWORD WINAPI shmpool__win_Random(void *buf, ULONG len) {
  NTSTATUS st =
      BCryptGenRandom(NULL, (PUCHAR)buf, len, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  return st >= 0 ? 0 : ERROR_GEN_FAILURE;
}

static HANDLE WINAPI shmpool__win_CreateEventW(LPSECURITY_ATTRIBUTES sa,
                                               BOOL manual, BOOL initial,
                                               LPCWSTR name) {
  return CreateEventW(sa, manual, initial, name);
}
static HANDLE WINAPI shmpool__win_OpenEventW(DWORD access, BOOL inherit,
                                             LPCWSTR name) {
  return OpenEventW(access, inherit, name);
}

static BOOL WINAPI shmpool__win_SetEvent(HANDLE event) {
  return SetEvent(event);
}
static DWORD WINAPI shmpool__win_WaitForSingleObject(HANDLE h,
                                                     DWORD timeout_ms) {
  return WaitForSingleObject(h, timeout_ms);
}
static BOOL WINAPI shmpool__win_TerminateProcess(HANDLE process,
                                                 UINT exit_code) {
  return TerminateProcess(process, exit_code);
}
static BOOL WINAPI shmpool__win_GetExitCodeProcess(HANDLE process,
                                                   LPDWORD code) {
  return GetExitCodeProcess(process, code);
}
static HANDLE WINAPI shmpool__win_CreateJobObjectW(LPSECURITY_ATTRIBUTES sa,
                                                   LPCWSTR name) {
  return CreateJobObjectW(sa, name);
}
static BOOL WINAPI shmpool__win_SetInformationJobObject(HANDLE job,
                                                        JOBOBJECTINFOCLASS cls,
                                                        LPVOID info,
                                                        DWORD len) {
  return SetInformationJobObject(job, cls, info, len);
}
static BOOL WINAPI shmpool__win_AssignProcessToJobObject(HANDLE job,
                                                         HANDLE process) {
  return AssignProcessToJobObject(job, process);
}

shmpool__win_syscalls shmpool__win_sys = {
    shmpool__win_CreateFileMappingW,
    shmpool__win_OpenFileMappingW,
    shmpool__win_MapViewOfFile,
    shmpool__win_UnmapViewOfFile,
    shmpool__win_VirtualQuery,
    shmpool__win_CloseHandle,
    shmpool__win_OpenProcessToken,
    shmpool__win_GetTokenInformation,
    shmpool__win_Random,
    shmpool__win_create_process,
    shmpool__win_CreateEventW,
    shmpool__win_OpenEventW,
    shmpool__win_SetEvent,
    shmpool__win_WaitForSingleObject,
    shmpool__win_TerminateProcess,
    shmpool__win_GetExitCodeProcess,
    shmpool__win_CreateJobObjectW,
    shmpool__win_SetInformationJobObject,
    shmpool__win_AssignProcessToJobObject};

int shmpool__win_error(DWORD err) {
  shmpool__set_os_error((int)err);
  switch (err) {
  case ERROR_SUCCESS:
    return 0;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
    return SHMPOOL_ENOENT;
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS:
    return SHMPOOL_EEXIST;
  case ERROR_ACCESS_DENIED:
  case ERROR_PRIVILEGE_NOT_HELD:
    return SHMPOOL_EACCES;
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_COMMITMENT_MINIMUM:
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
  case ERROR_PAGEFILE_QUOTA:
    return SHMPOOL_ENOSPC;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_NOT_ENOUGH_QUOTA:
  case ERROR_NO_SYSTEM_RESOURCES:
  case ERROR_ARITHMETIC_OVERFLOW:
    return SHMPOOL_ENOMEM;
  case ERROR_TOO_MANY_OPEN_FILES:
    return SHMPOOL_EMFILE;
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_NAME:
    return SHMPOOL_EINVAL;
  case ERROR_FILENAME_EXCED_RANGE:
    return SHMPOOL_ENAMETOOLONG;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
    return SHMPOOL_ENOTSUP;
  case ERROR_TIMEOUT:
  case WAIT_TIMEOUT:
    return SHMPOOL_ETIMEDOUT;
  case ERROR_BUSY:
    return SHMPOOL_EBUSY;
  default:
    return SHMPOOL_EIO;
  }
}

void shmpool__win_os_name(WCHAR *out, const char *name, const char *suffix,
                          unsigned flags) {
  /* Portable names are ASCII, so widening is a plain copy. */
  const char *prefix = (flags & SHMPOOL_SEG_GLOBAL) ? "Global\\" : "Local\\";
  size_t n = 0;
  const char *parts[3];
  size_t i;
  parts[0] = prefix;
  parts[1] = name;
  parts[2] = suffix != NULL ? suffix : "";
  for (i = 0; i < 3; i++) {
    const char *p;
    for (p = parts[i]; *p != '\0' && n + 1 < SHMPOOL__WIN_NAME_MAX; p++)
      out[n++] = (WCHAR)(unsigned char)*p;
  }
  out[n] = 0;
}

int shmpool__win_sa_init(shmpool__win_sa *s) {
  HANDLE token = NULL;
  DWORD len = 0, acl_len;
  PSID sid;
  int rc;

  memset(s, 0, sizeof *s);
  if (!shmpool__win_sys.OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY,
                                         &token))
    return shmpool__win_error(GetLastError());
  if (!shmpool__win_sys.GetTokenInformation(token, TokenUser, NULL, 0, &len) &&
      GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
    rc = shmpool__win_error(GetLastError());
    goto fail;
  }
  s->token_user = malloc(len);
  if (s->token_user == NULL) {
    rc = SHMPOOL_ENOMEM;
    goto fail;
  }
  if (!shmpool__win_sys.GetTokenInformation(token, TokenUser, s->token_user,
                                            len, &len)) {
    rc = shmpool__win_error(GetLastError());
    goto fail;
  }
  sid = ((TOKEN_USER *)s->token_user)->User.Sid;
  /* One ACE for the user: no group, no Everyone, no inheritance. */
  acl_len = (DWORD)(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD) +
                    GetLengthSid(sid));
  s->acl = (PACL)malloc(acl_len);
  if (s->acl == NULL) {
    rc = SHMPOOL_ENOMEM;
    goto fail;
  }
  if (!InitializeAcl(s->acl, acl_len, ACL_REVISION) ||
      !AddAccessAllowedAce(s->acl, ACL_REVISION, GENERIC_ALL, sid) ||
      !InitializeSecurityDescriptor(&s->sd, SECURITY_DESCRIPTOR_REVISION) ||
      !SetSecurityDescriptorDacl(&s->sd, TRUE, s->acl, FALSE)) {
    rc = shmpool__win_error(GetLastError());
    goto fail;
  }
  s->sa.nLength = sizeof s->sa;
  s->sa.lpSecurityDescriptor = &s->sd;
  s->sa.bInheritHandle = FALSE;
  shmpool__win_sys.CloseHandle(token);
  return 0;

fail:
  shmpool__win_sys.CloseHandle(token);
  shmpool__win_sa_free(s);
  return rc;
}

void shmpool__win_sa_free(shmpool__win_sa *s) {
  free(s->acl);
  free(s->token_user);
  s->acl = NULL;
  s->token_user = NULL;
}

#endif /* _WIN32 */
