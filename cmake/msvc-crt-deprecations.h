/* Force-included (/FI) into every shmpool target by the clang-cl builds
 * against Wine's headers (the msvc-wine presets): the CRT functions that
 * cl's headers mark deprecated, so that a use fails under /WX here as it
 * does on AppVeyor with "warning C4996: 'strcpy': This function or
 * variable may be unsafe" (or "The POSIX name for this item is
 * deprecated"). Wine's headers carry no such attributes.
 *
 * The list is what the Universal CRT headers mark with
 * _CRT_INSECURE_DEPRECATE (see "Security Features in the CRT" on
 * learn.microsoft.com) and the POSIX names this project might reach for.
 * snprintf and vsnprintf are C99-conforming since VS 2015 and are not
 * deprecated. Code that means to use them defines _CRT_SECURE_NO_WARNINGS
 * (_CRT_NONSTDC_NO_WARNINGS) for its target, as with cl.
 *
 * Each name becomes a function-like macro that first names a deprecated
 * object, then calls the real function: the diagnostic lands on the call,
 * whether the CRT declares the function extern or static inline (Wine
 * does both). It must come after the CRT headers, which it includes.
 * What it cannot see: a function taken by address rather than called,
 * and the real headers' other deprecations (the C4996 list grows with
 * each SDK).
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_MSVC_CRT_DEPRECATIONS_H
#define SHMPOOL_MSVC_CRT_DEPRECATIONS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <process.h>

#define SHMPOOL__C4996(name, why)                                              \
  __declspec(deprecated(                                                       \
      #name ": " why " (cl: C4996)")) extern const int shmpool__c4996_##name

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define SHMPOOL__UNSAFE "unsafe; cl deprecates it (use the _s form or snprintf)"
SHMPOOL__C4996(strcpy, SHMPOOL__UNSAFE);
SHMPOOL__C4996(strcat, SHMPOOL__UNSAFE);
SHMPOOL__C4996(strncpy, SHMPOOL__UNSAFE);
SHMPOOL__C4996(strncat, SHMPOOL__UNSAFE);
SHMPOOL__C4996(strtok, SHMPOOL__UNSAFE);
SHMPOOL__C4996(strerror, SHMPOOL__UNSAFE);
SHMPOOL__C4996(sprintf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(vsprintf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(_snprintf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(_vsnprintf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(sscanf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(scanf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(fscanf, SHMPOOL__UNSAFE);
SHMPOOL__C4996(fopen, SHMPOOL__UNSAFE);
SHMPOOL__C4996(freopen, SHMPOOL__UNSAFE);
SHMPOOL__C4996(getenv, SHMPOOL__UNSAFE);
SHMPOOL__C4996(localtime, SHMPOOL__UNSAFE);
SHMPOOL__C4996(gmtime, SHMPOOL__UNSAFE);
SHMPOOL__C4996(ctime, SHMPOOL__UNSAFE);
SHMPOOL__C4996(asctime, SHMPOOL__UNSAFE);
SHMPOOL__C4996(mbstowcs, SHMPOOL__UNSAFE);
SHMPOOL__C4996(wcstombs, SHMPOOL__UNSAFE);
SHMPOOL__C4996(wcscpy, SHMPOOL__UNSAFE);
SHMPOOL__C4996(wcscat, SHMPOOL__UNSAFE);
SHMPOOL__C4996(tmpnam, SHMPOOL__UNSAFE);
SHMPOOL__C4996(_wfopen, SHMPOOL__UNSAFE);
SHMPOOL__C4996(_wgetenv, SHMPOOL__UNSAFE);
#undef SHMPOOL__UNSAFE
#define strcpy(...) ((void)sizeof shmpool__c4996_strcpy, strcpy(__VA_ARGS__))
#define strcat(...) ((void)sizeof shmpool__c4996_strcat, strcat(__VA_ARGS__))
#define strncpy(...) ((void)sizeof shmpool__c4996_strncpy, strncpy(__VA_ARGS__))
#define strncat(...) ((void)sizeof shmpool__c4996_strncat, strncat(__VA_ARGS__))
#define strtok(...) ((void)sizeof shmpool__c4996_strtok, strtok(__VA_ARGS__))
#define strerror(...)                                                          \
  ((void)sizeof shmpool__c4996_strerror, strerror(__VA_ARGS__))
#define sprintf(...) ((void)sizeof shmpool__c4996_sprintf, sprintf(__VA_ARGS__))
#define vsprintf(...)                                                          \
  ((void)sizeof shmpool__c4996_vsprintf, vsprintf(__VA_ARGS__))
#define _snprintf(...)                                                         \
  ((void)sizeof shmpool__c4996__snprintf, _snprintf(__VA_ARGS__))
#define _vsnprintf(...)                                                        \
  ((void)sizeof shmpool__c4996__vsnprintf, _vsnprintf(__VA_ARGS__))
#define sscanf(...) ((void)sizeof shmpool__c4996_sscanf, sscanf(__VA_ARGS__))
#define scanf(...) ((void)sizeof shmpool__c4996_scanf, scanf(__VA_ARGS__))
#define fscanf(...) ((void)sizeof shmpool__c4996_fscanf, fscanf(__VA_ARGS__))
#define fopen(...) ((void)sizeof shmpool__c4996_fopen, fopen(__VA_ARGS__))
#define freopen(...) ((void)sizeof shmpool__c4996_freopen, freopen(__VA_ARGS__))
#define getenv(...) ((void)sizeof shmpool__c4996_getenv, getenv(__VA_ARGS__))
#define localtime(...)                                                         \
  ((void)sizeof shmpool__c4996_localtime, localtime(__VA_ARGS__))
#define gmtime(...) ((void)sizeof shmpool__c4996_gmtime, gmtime(__VA_ARGS__))
#define ctime(...) ((void)sizeof shmpool__c4996_ctime, ctime(__VA_ARGS__))
#define asctime(...) ((void)sizeof shmpool__c4996_asctime, asctime(__VA_ARGS__))
#define mbstowcs(...)                                                          \
  ((void)sizeof shmpool__c4996_mbstowcs, mbstowcs(__VA_ARGS__))
#define wcstombs(...)                                                          \
  ((void)sizeof shmpool__c4996_wcstombs, wcstombs(__VA_ARGS__))
#define wcscpy(...) ((void)sizeof shmpool__c4996_wcscpy, wcscpy(__VA_ARGS__))
#define wcscat(...) ((void)sizeof shmpool__c4996_wcscat, wcscat(__VA_ARGS__))
#define tmpnam(...) ((void)sizeof shmpool__c4996_tmpnam, tmpnam(__VA_ARGS__))
#define _wfopen(...) ((void)sizeof shmpool__c4996__wfopen, _wfopen(__VA_ARGS__))
#define _wgetenv(...)                                                          \
  ((void)sizeof shmpool__c4996__wgetenv, _wgetenv(__VA_ARGS__))
#endif

#if !defined(_CRT_NONSTDC_NO_WARNINGS) && !defined(_CRT_NONSTDC_NO_DEPRECATE)
#define SHMPOOL__POSIX "the POSIX name is deprecated: use the _ form"
SHMPOOL__C4996(strdup, SHMPOOL__POSIX);
SHMPOOL__C4996(getpid, SHMPOOL__POSIX);
#undef SHMPOOL__POSIX
#define strdup(...) ((void)sizeof shmpool__c4996_strdup, strdup(__VA_ARGS__))
#define getpid(...) ((void)sizeof shmpool__c4996_getpid, getpid(__VA_ARGS__))
#endif

#endif
