/* The one place that knows how to do atomic operations on plain integers.
 *
 * Shared-memory structures are laid out with plain uint32_t / uint64_t
 * fields (their layout is a file format, see docs/FORMAT.md), so the
 * operations here take pointers to plain integers rather than _Atomic
 * objects. GCC and Clang (including clang-cl) use their __atomic builtins,
 * which ThreadSanitizer understands; MSVC, which has no C11 atomics before
 * VS 2022 17.5, uses its interlocked intrinsics. Everything is
 * address-free, so it works across processes on a shared mapping.
 *
 * The MSVC branch is never compiled by the local clang-cl builds (clang-cl
 * defines __clang__). SHMPOOL_FORCE_MSVC_ATOMICS selects it anyway, and
 * tests/msvc/ compiles it that way for x86 and x64 with the intrinsics MSVC
 * lacks on x86 poisoned, so a use of one fails there as it fails with cl.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_ATOMICS_H
#define SHMPOOL_ATOMICS_H

#include <stdint.h>

#if (defined(_MSC_VER) && !defined(__clang__)) ||                              \
    defined(SHMPOOL_FORCE_MSVC_ATOMICS)
#include <intrin.h>
#if !defined(_M_X64) && !defined(_M_IX86)
#error "shmpool's MSVC atomics are written for x86 and x64 only"
#endif
#if defined(_M_IX86)
/* The 64-bit load below is one SSE2 MOVQ. /arch:SSE2 is cl's default for
 * x86 since VS 2012 (_M_IX86_FP is then 2), and Windows 8, the oldest
 * Windows shmpool supports (docs/PLATFORMS.md), requires SSE2 anyway. */
#if !defined(_M_IX86_FP) || _M_IX86_FP < 2
#error "shmpool on 32-bit x86 needs SSE2 (/arch:SSE2, cl's default)"
#endif
#include <emmintrin.h>
#endif
/* On x86 and x64 every aligned load is an acquire and every aligned store a
 * release at the hardware level; _ReadWriteBarrier stops the compiler from
 * moving accesses across them. */
static __inline uint32_t shmpool__load_acq32(const volatile uint32_t *p) {
  uint32_t v = *p;
  _ReadWriteBarrier();
  return v;
}
static __inline void shmpool__store_rel32(volatile uint32_t *p, uint32_t v) {
  _ReadWriteBarrier();
  *p = v;
}
static __inline uint64_t shmpool__load_acq64(const volatile uint64_t *p) {
#if defined(_M_X64)
  uint64_t v = *p;
  _ReadWriteBarrier();
  return v;
#else
  /* 32-bit x86 has no 64-bit general register, and a plain uint64_t read
   * is two 32-bit loads that can tear. A locked compare-exchange (what
   * InterlockedCompareExchange64(p, 0, 0) does) is atomic but always
   * writes, so it faults on a FILE_MAP_READ view. One 8-byte MOVQ read is
   * atomic on an 8-byte-aligned address on every Pentium and later (Intel
   * SDM vol. 3A, 8.1.1) and writes nothing; the barriers keep cl from
   * caching or moving it, as the volatile read does on x64. */
  uint64_t v;
  _ReadWriteBarrier();
  _mm_storel_epi64((__m128i *)&v,
                   _mm_loadl_epi64((const __m128i *)(uintptr_t)p));
  _ReadWriteBarrier();
  return v;
#endif
}
static __inline void shmpool__store_rel64(volatile uint64_t *p, uint64_t v) {
#if defined(_M_X64)
  _ReadWriteBarrier();
  *p = v;
#else
  /* cl has _InterlockedExchange64 only for x64 and ARM; on x86 it is a
   * compare-exchange loop (what the Windows SDK's InterlockedExchange64
   * does there). */
  __int64 seen = (__int64)shmpool__load_acq64(p), prev;
  for (;;) {
    prev =
        _InterlockedCompareExchange64((volatile __int64 *)p, (__int64)v, seen);
    if (prev == seen)
      break;
    seen = prev;
  }
#endif
}
static __inline uint32_t shmpool__fetch_add32(volatile uint32_t *p,
                                              uint32_t v) {
  return (uint32_t)_InterlockedExchangeAdd((volatile long *)p, (long)v);
}
static __inline uint32_t shmpool__fetch_or32(volatile uint32_t *p, uint32_t v) {
  return (uint32_t)_InterlockedOr((volatile long *)p, (long)v);
}
static __inline uint32_t shmpool__exchange32(volatile uint32_t *p, uint32_t v) {
  return (uint32_t)_InterlockedExchange((volatile long *)p, (long)v);
}
static __inline int shmpool__cas32(volatile uint32_t *p, uint32_t expected,
                                   uint32_t desired) {
  return (uint32_t)_InterlockedCompareExchange(
             (volatile long *)p, (long)desired, (long)expected) == expected;
}
static __inline void shmpool__fence(void) {
  /* A full fence: orders an earlier store before a later load, which the
   * sleep/wake protocol needs (x86 reorders exactly that pair). */
  long dummy = 0;
  _InterlockedOr(&dummy, 0);
}
static __inline void shmpool__cpu_relax(void) {
  _mm_pause();
}
#else
static inline uint32_t shmpool__load_acq32(const volatile uint32_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void shmpool__store_rel32(volatile uint32_t *p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline uint64_t shmpool__load_acq64(const volatile uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void shmpool__store_rel64(volatile uint64_t *p, uint64_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline uint32_t shmpool__fetch_add32(volatile uint32_t *p, uint32_t v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t shmpool__fetch_or32(volatile uint32_t *p, uint32_t v) {
  return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t shmpool__exchange32(volatile uint32_t *p, uint32_t v) {
  return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline int shmpool__cas32(volatile uint32_t *p, uint32_t expected,
                                 uint32_t desired) {
  return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST);
}
static inline void shmpool__fence(void) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static inline void shmpool__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
#endif

#endif /* SHMPOOL_ATOMICS_H */
