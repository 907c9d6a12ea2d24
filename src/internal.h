/* Declarations shared by the portable layer's files (never by backends,
 * which see only platform.h).
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_INTERNAL_H
#define SHMPOOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "shmpool.h"
#include "platform.h"

/* ------------------------------------------------------------------------ */
/* Segment header (docs/FORMAT.md is the byte-for-byte description)         */
/* ------------------------------------------------------------------------ */

#define SHMPOOL__HDR_SIZE 64u
#define SHMPOOL__HDR_VERSION 1u
#define SHMPOOL__MAGIC "SHMPOOL\x1a"

/* state: changes during the segment's life, not covered by the checksum. */
#define SHMPOOL__STATE_READY 0x1u /* creator finished initialising */
/* The name is removed, or being removed by whoever set this bit (and only
 * by them); opens give ENOENT. */
#define SHMPOOL__STATE_UNLINKED 0x2u

/* attrs: fixed at create, covered by the checksum. */
#define SHMPOOL__ATTR_PERSIST 0x1u /* created with SHMPOOL_SEG_PERSIST */
#define SHMPOOL__ATTR_CONTROL 0x2u /* a pool's control segment */

typedef struct shmpool__hdr {
  unsigned char magic[8]; /*  0 */
  uint16_t version;       /*  8 */
  uint16_t hdr_size;      /* 10 */
  uint32_t state;         /* 12: atomic */
  uint64_t size;          /* 16: exact user size */
  uint64_t creator_pid;   /* 24 */
  uint64_t creator_start; /* 32: see shmpool__plat_proc_start() */
  uint64_t creation_id;   /* 40: unique per created segment */
  uint32_t attrs;         /* 48 */
  uint32_t reserved[2];   /* 52: zero */
  uint32_t checksum;      /* 60: FNV-1a of bytes 0-11 and 16-59 */
} shmpool__hdr;

/* What a valid header says, copied out of shared memory. */
typedef struct shmpool__hdr_info {
  uint32_t state;
  uint64_t size;
  uint64_t creator_pid;
  uint64_t creator_start;
  uint64_t creation_id;
  uint32_t attrs;
} shmpool__hdr_info;

/* Results of shmpool__hdr_check besides 0 and SHMPOOL_EFORMAT. */
#define SHMPOOL__HDR_ZERO 1 /* all zero: maybe a create in progress */

/* Who is creating a segment, looked up once per create (each lookup is a
 * system call on some systems). The owning user is not recorded: POSIX
 * keeps it on the object, and Windows in its security descriptor. */
typedef struct shmpool__creator {
  uint64_t pid;
  uint64_t start;
} shmpool__creator;
void shmpool__creator_self(shmpool__creator *c);

/* Build a complete header, state 0 (not ready), in private memory at
 * base. */
void shmpool__hdr_init(void *base, uint64_t size, uint32_t attrs,
                       uint64_t creation_id, const shmpool__creator *c);

/* Put the header h (from shmpool__hdr_init) in place at the start of a new,
 * zero-filled segment that others may see already: every field but the
 * state word, which only ever changes atomically. */
void shmpool__hdr_write(void *base, const shmpool__hdr *h);

/* Validate the header at base in an object of map_size bytes. Copies it out
 * first, so a concurrent writer cannot change it between check and use.
 * Returns 0 and fills *info, SHMPOOL__HDR_ZERO, or SHMPOOL_EFORMAT. Never
 * reads past base + map_size. */
int shmpool__hdr_check(const void *base, size_t map_size,
                       shmpool__hdr_info *info);

/* The same checks for an object that is still exactly as long as its
 * header (a create between writing the header and growing the object; see
 * shmpool__plat_seg_create): 0 and *info filled if the header is intact
 * whatever size it announces, else SHMPOOL_EFORMAT. */
int shmpool__hdr_check_head(const void *base, size_t map_size,
                            shmpool__hdr_info *info);

/* Atomically read / set bits in the header's state word. */
uint32_t shmpool__hdr_state(const void *base);
void shmpool__hdr_set_state(void *base, uint32_t bits);

/* Claim the removal of the segment's name: set UNLINKED, and return 1 if
 * this call changed it from 0. Only the claimer removes the name (close by
 * the owner, shmpool_seg_unlink, a failed create); everyone else finds it
 * unlinked already. */
int shmpool__hdr_claim_unlink(void *base);
/* Give a claim back after the OS refused to remove the name (it stays, so
 * it must stay openable and claimable). */
void shmpool__hdr_unclaim_unlink(void *base);

/* A fresh creation id: unique within this machine with overwhelming
 * probability, without a system call on the hot path. */
uint64_t shmpool__new_creation_id(const shmpool__creator *c);

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* Generate `len` characters of [A-Za-z0-9_-] (6 random bits each) from the
 * OS CSPRNG, after `prefix`, into out (which must hold prefix + len + 1). */
int shmpool__random_name(char *out, const char *prefix, size_t len);

/* ------------------------------------------------------------------------ */
/* Segment handles                                                          */
/* ------------------------------------------------------------------------ */

struct shmpool_seg {
  shmpool__plat_map map;
  unsigned char *data;
  size_t size;
  unsigned flags;
  int owner;            /* unlink on last release */
  uint32_t refs;        /* atomic: the user's handle plus pools' holds */
  uint32_t user_closed; /* atomic: shmpool_seg_close() was called */
  uint32_t busy;        /* atomic: pools' tasks in flight naming it */
  int unlinked;         /* the owner has given up the name */
  uint64_t creation_id; /* 0 for raw segments */
  char name[SHMPOOL_NAME_MAX + 1];
};

/* shmpool_seg_create with header attrs (SHMPOOL__ATTR_CONTROL). */
int shmpool__seg_create(shmpool_seg **seg, const char *name, size_t size,
                        unsigned flags, uint32_t attrs);

/* Take / drop a reference on a segment handle. shmpool_seg_close() drops
 * the user's reference; the handle is unmapped (and, for an owner, the name
 * unlinked) when the last reference goes. */
void shmpool__seg_ref(shmpool_seg *seg);
int shmpool__seg_unref(shmpool_seg *seg);

/* Unmap and free a handle copied into a forked child, without unlinking
 * (the name belongs to the parent) and whatever its reference count. */
void shmpool__seg_forget(shmpool_seg *seg);

/* A pool's count of in-flight tasks naming seg goes up or down by one; the
 * owner's close unlinks at once only while it is zero. */
void shmpool__seg_busy(shmpool_seg *seg, int delta);

/* ------------------------------------------------------------------------ */
/* Inspection (behind shmpool_seg_inspect, src/inspect.c)                 */
/* ------------------------------------------------------------------------ */

enum shmpool__seg_kind {
  SHMPOOL__KIND_SEGMENT = 1, /* a shmpool segment */
  SHMPOOL__KIND_CONTROL = 2, /* a pool's control segment */
  SHMPOOL__KIND_RAW = 3      /* no valid shmpool header */
};

typedef struct shmpool__seg_report {
  int kind;
  uint64_t size;    /* exact size, or what the OS reports for raw objects */
  uint64_t os_size; /* what the OS reports */
  shmpool__hdr_info info; /* for SEGMENT and CONTROL */
  int creator_alive;      /* 1, 0, or -1 (unknown); for SEGMENT and CONTROL */
} shmpool__seg_report;

/* Look at the object `name` without waiting for a create in progress and
 * without taking part in its lifetime: map it read-only, read its header.
 * Errors: those of shmpool_seg_open (ENOENT, EACCES...). */
int shmpool__seg_inspect(const char *name, unsigned flags,
                         shmpool__seg_report *r);

/* Remove every owned (not persistent) segment that process pid, started
 * at `start` (0: unknown), created and can no longer remove because it
 * died: those named in known[0..n), and, where the OS can list shared
 * memory, all others. Each is checked by its header first. */
void shmpool__reap_orphans(uint64_t pid, uint64_t start,
                           const char *const *known, size_t n);

#endif /* SHMPOOL_INTERNAL_H */
