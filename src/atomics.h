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
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_ATOMICS_H
#define SHMPOOL_ATOMICS_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#if !defined(_M_X64) && !defined(_M_IX86)
#error "shmpool's MSVC atomics are written for x86 and x64 only"
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
  return (uint64_t)_InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
#endif
}
static __inline void shmpool__store_rel64(volatile uint64_t *p, uint64_t v) {
#if defined(_M_X64)
  _ReadWriteBarrier();
  *p = v;
#else
  _InterlockedExchange64((volatile __int64 *)p, (__int64)v);
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
