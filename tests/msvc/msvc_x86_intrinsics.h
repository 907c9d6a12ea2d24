/* MSVC's x86 intrinsic set, enforced for clang-cl.
 *
 * clang-cl accepts the 64-bit interlocked intrinsics on 32-bit x86 too
 * (it expands them into compare-exchange loops), but cl has them only for
 * x64 and ARM (learn.microsoft.com, "_InterlockedExchange intrinsic
 * functions" and the x64/ARM intrinsic lists: x86 has
 * _InterlockedCompareExchange64 and nothing else 64-bit). Including this
 * header before code meant for cl poisons those names when compiling for
 * x86, so using one fails as it does with cl ("unresolved external symbol
 * __InterlockedExchange64" at link time there). cl itself needs no help,
 * and would not know the pragma.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_MSVC_X86_INTRINSICS_H
#define SHMPOOL_MSVC_X86_INTRINSICS_H

#if defined(_M_IX86) && defined(__clang__)
#include <intrin.h> /* declare them first: poison applies to later uses */
#pragma clang poison _InterlockedExchange64 _InterlockedExchangeAdd64
#pragma clang poison _InterlockedIncrement64 _InterlockedDecrement64
#pragma clang poison _InterlockedAnd64 _InterlockedOr64 _InterlockedXor64
#pragma clang poison _InterlockedCompareExchange128 _BitScanForward64
#pragma clang poison _BitScanReverse64 __popcnt64 _mul128 _umul128
#pragma clang poison __mulh __umulh __shiftleft128 __shiftright128
#pragma clang poison __readgsqword __faststorefence
#pragma clang poison _mm_cvtsi128_si64 _mm_cvtsi64_si128
#endif

#endif
