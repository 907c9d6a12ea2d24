/* shmpool: look after shared-memory segments from the command line.
 *
 *   shmpool ls [--global]            every segment this OS can list
 *   shmpool info NAME [--global]     one segment in detail
 *   shmpool rm NAME... [--global]    remove names (unlink)
 *   shmpool gc [--dry-run]           remove owned segments of dead creators
 *   shmpool version
 *
 * Exit status: 0 success, 1 a failure (a name that does not exist, say),
 * 2 a usage error.
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *kind_name(int kind) {
  switch (kind) {
  case SHMPOOL__KIND_SEGMENT:
    return "segment";
  case SHMPOOL__KIND_CONTROL:
    return "pool-control";
  default:
    return "raw";
  }
}

static const char *alive_name(int alive) {
  return alive > 0 ? "alive" : alive == 0 ? "dead" : "?";
}

static void usage(FILE *f) {
  fputs("usage: shmpool ls [--global]\n"
        "       shmpool info NAME [--global]\n"
        "       shmpool rm NAME... [--global]\n"
        "       shmpool gc [--dry-run] [--global]\n"
        "       shmpool version\n"
        "\n"
        "ls lists shared-memory objects: shmpool segments with their exact\n"
        "size, creator pid and whether it still runs, owned or persistent;\n"
        "other objects as raw. gc removes owned segments (pool control\n"
        "segments included) whose creator is dead; never a persistent one,\n"
        "never one whose creator runs. Listing needs Linux (/dev/shm).\n",
        f);
}

/* ---- ls ------------------------------------------------------------------ */

typedef struct walk {
  unsigned flags;
  int dry_run;
  int removed, kept, failed;
} walk;

static void print_row(const char *name, const shmpool__seg_report *r) {
  if (r->kind == SHMPOOL__KIND_RAW) {
    printf("%-30s %14llu  %-12s %8s %-6s %s\n", name,
           (unsigned long long)r->size, "raw", "-", "-", "-");
    return;
  }
  printf("%-30s %14llu  %-12s %8llu %-6s %s%s%s\n", name,
         (unsigned long long)r->size, kind_name(r->kind),
         (unsigned long long)r->info.creator_pid, alive_name(r->creator_alive),
         (r->info.attrs & SHMPOOL__ATTR_PERSIST) ? "persist" : "owned",
         (r->info.state & SHMPOOL__STATE_READY) ? "" : ",not-ready",
         (r->info.state & SHMPOOL__STATE_UNLINKED) ? ",unlinked" : "");
}

static int ls_one(const char *name, void *ctx) {
  shmpool__seg_report r;
  int rc = shmpool__seg_inspect(name, ((walk *)ctx)->flags, &r);
  if (rc == SHMPOOL_ENOENT)
    return 0; /* gone between listing and looking */
  if (rc != 0) {
    printf("%-30s %14s  %-12s (%s)\n", name, "?", "?", shmpool_strerror(rc));
    return 0;
  }
  print_row(name, &r);
  return 0;
}

static int cmd_ls(unsigned flags) {
  walk w;
  int rc;
  memset(&w, 0, sizeof w);
  w.flags = flags;
  printf("%-30s %14s  %-12s %8s %-6s %s\n", "NAME", "SIZE", "KIND", "CREATOR",
         "STATE", "OWNERSHIP");
  rc = shmpool__plat_seg_list(flags, ls_one, &w);
  if (rc != 0) {
    fprintf(stderr,
            "shmpool ls: %s (listing works on Linux only; use "
            "shmpool info NAME)\n",
            shmpool_strerror(rc));
    return 1;
  }
  return 0;
}

/* ---- info ------------------------------------------------------------- */

static int cmd_info(const char *name, unsigned flags) {
  shmpool__seg_report r;
  int rc = shmpool__seg_inspect(name, flags, &r);
  if (rc != 0) {
    fprintf(stderr, "shmpool info: %s: %s\n", name, shmpool_strerror(rc));
    return 1;
  }
  printf("name:          %s\n", name);
  printf("kind:          %s\n", kind_name(r.kind));
  printf("size:          %llu bytes\n", (unsigned long long)r.size);
  printf("object size:   %llu bytes\n", (unsigned long long)r.os_size);
  if (r.kind != SHMPOOL__KIND_RAW) {
    printf("data offset:   %u\n", SHMPOOL__HDR_SIZE);
    printf("creator pid:   %llu (%s)\n", (unsigned long long)r.info.creator_pid,
           alive_name(r.creator_alive));
    printf("creator start: %llu\n", (unsigned long long)r.info.creator_start);
    printf("creation id:   %016llx\n", (unsigned long long)r.info.creation_id);
    printf("ownership:     %s\n",
           (r.info.attrs & SHMPOOL__ATTR_PERSIST) ? "persistent" : "owned");
    printf("state:         %s%s\n",
           (r.info.state & SHMPOOL__STATE_READY) ? "ready" : "being created",
           (r.info.state & SHMPOOL__STATE_UNLINKED) ? ", unlinked" : "");
  }
  return 0;
}

/* ---- rm ----------------------------------------------------------------- */

static int cmd_rm(int n, char **names, unsigned flags) {
  int i, status = 0;
  for (i = 0; i < n; i++) {
    int rc = shmpool_seg_unlink_flags(names[i], flags);
    if (rc != 0) {
      fprintf(stderr, "shmpool rm: %s: %s\n", names[i], shmpool_strerror(rc));
      status = 1;
    }
  }
  return status;
}

/* ---- gc ------------------------------------------------------------------ */

/* Whether a segment is garbage: owned (not persistent) and its creator is
 * certainly dead. A pid that now belongs to a later process is detected by
 * the start time in the header. Unknown liveness keeps the segment. */
static int is_garbage(const shmpool__seg_report *r) {
  return r->kind != SHMPOOL__KIND_RAW &&
         (r->info.attrs & SHMPOOL__ATTR_PERSIST) == 0 && r->creator_alive == 0;
}

static int gc_one(const char *name, void *ctx) {
  walk *w = (walk *)ctx;
  shmpool__seg_report r;
  int rc = shmpool__seg_inspect(name, w->flags, &r);
  if (rc != 0 || !is_garbage(&r)) {
    w->kept += rc == 0;
    return 0;
  }
  if (!w->dry_run) {
    rc = shmpool_seg_unlink_flags(name, w->flags);
    if (rc != 0 && rc != SHMPOOL_ENOENT) {
      fprintf(stderr, "shmpool gc: %s: %s\n", name, shmpool_strerror(rc));
      w->failed++;
      return 0;
    }
  }
  printf("%s %s (%s, %llu bytes, creator %llu dead)\n",
         w->dry_run ? "would remove" : "removed", name, kind_name(r.kind),
         (unsigned long long)r.size, (unsigned long long)r.info.creator_pid);
  w->removed++;
  return 0;
}

static int cmd_gc(unsigned flags, int dry_run) {
  walk w;
  int rc;
  memset(&w, 0, sizeof w);
  w.flags = flags;
  w.dry_run = dry_run;
  rc = shmpool__plat_seg_list(flags, gc_one, &w);
  if (rc != 0) {
    fprintf(stderr, "shmpool gc: %s (listing works on Linux only)\n",
            shmpool_strerror(rc));
    return 1;
  }
  printf("gc: %d %s, %d kept\n", w.removed,
         dry_run ? "would be removed" : "removed", w.kept);
  return w.failed != 0;
}

int main(int argc, char **argv) {
  unsigned flags = 0;
  int dry_run = 0, n = 0, i;
  char **args;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  /* Options may come anywhere after the command. */
  args = (char **)calloc((size_t)argc, sizeof *args);
  if (args == NULL)
    return 1;
  for (i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--global") == 0)
      flags |= SHMPOOL_SEG_GLOBAL;
    else if (strcmp(argv[i], "--dry-run") == 0)
      dry_run = 1;
    else if (argv[i][0] == '-' && argv[i][1] == '-') {
      fprintf(stderr, "shmpool: unknown option %s\n", argv[i]);
      free(args);
      return 2;
    } else
      args[n++] = argv[i];
  }
  i = 2;
  if (strcmp(argv[1], "ls") == 0 && n == 0)
    i = cmd_ls(flags);
  else if (strcmp(argv[1], "info") == 0 && n == 1)
    i = cmd_info(args[0], flags);
  else if (strcmp(argv[1], "rm") == 0 && n >= 1)
    i = cmd_rm(n, args, flags);
  else if (strcmp(argv[1], "gc") == 0 && n == 0)
    i = cmd_gc(flags, dry_run);
  else if (strcmp(argv[1], "version") == 0 && n == 0) {
    printf("shmpool %s\n", shmpool_version_string());
    i = 0;
  } else if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    i = 0;
  } else
    usage(stderr);
  free(args);
  return i;
}
