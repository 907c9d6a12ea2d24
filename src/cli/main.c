/* shmpool: look after shared-memory segments from the command line.
 *
 *   shmpool ls [--global]            every segment this OS can list
 *   shmpool info NAME [--global]     one segment in detail
 *   shmpool rm NAME... [--global]    remove names (unlink)
 *   shmpool gc [--dry-run]           remove owned segments of dead creators
 *   shmpool version
 *
 * Exit status: 0 success, 1 a failure (a name that does not exist, say),
 * 2 a usage error. Uses only the public API (shmpool.h).
 *
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmpool.h"

static const char *kind_name(int kind) {
  switch (kind) {
  case SHMPOOL_KIND_SEGMENT:
    return "segment";
  case SHMPOOL_KIND_CONTROL:
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
        "NAME is a portable segment name: 1 to 30 characters of A-Z a-z 0-9\n"
        ". _ - (no leading '/': shmpool adds the OS prefix itself).\n"
        "\n"
        "ls lists shared-memory objects: shmpool segments with their exact\n"
        "size, creator pid and whether it still runs, owned or persistent;\n"
        "other objects as raw. gc removes owned segments (pool control\n"
        "segments included) whose creator is dead; never a persistent one,\n"
        "never one whose creator runs. Listing needs Linux (/dev/shm).\n",
        f);
}

/* What is wrong with a name shmpool_name_check() refused, in words: the
 * reason, so that a user need not guess which rule was broken. */
static void name_problem(const char *name, char *why, size_t cap) {
  size_t len = strlen(name), i;
  if (len == 0) {
    snprintf(why, cap, "it is empty");
    return;
  }
  if (len > SHMPOOL_NAME_MAX) {
    snprintf(why, cap, "it has %zu characters", len);
    return;
  }
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    snprintf(why, cap, "'.' and '..' are refused");
    return;
  }
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (ok)
      continue;
    if (c == '/' && i == 0)
      snprintf(why, cap,
               "it starts with '/' (give the name without it: shmpool adds "
               "the OS prefix itself)");
    else if (c == ' ')
      snprintf(why, cap, "character %zu is a space", i + 1);
    else if (c > 0x20 && c < 0x7f)
      snprintf(why, cap, "character %zu is '%c'", i + 1, (char)c);
    else
      snprintf(why, cap, "character %zu is the byte 0x%02x", i + 1, c);
    return;
  }
  snprintf(why, cap, "the library refused it");
}

/* Say why a call about `name` failed, and what would be right. */
static void complain(const char *cmd, const char *name, int rc) {
  if (rc == SHMPOOL_EINVAL || rc == SHMPOOL_ENAMETOOLONG) {
    char why[128];
    name_problem(name, why, sizeof why);
    fprintf(stderr,
            "shmpool %s: '%s' is not a valid segment name: %s. A name is 1 "
            "to %d characters of A-Z a-z 0-9 . _ - (not '.' or '..')\n",
            cmd, name, why, SHMPOOL_NAME_MAX);
  } else if (rc == SHMPOOL_ENOENT) {
    fprintf(stderr, "shmpool %s: %s: no such segment (see shmpool ls)\n", cmd,
            name);
  } else if (rc == SHMPOOL_EACCES) {
    fprintf(stderr,
            "shmpool %s: %s: permission denied (it belongs to another "
            "user, or the OS refused access)\n",
            cmd, name);
  } else {
    fprintf(stderr, "shmpool %s: %s: %s (%s)\n", cmd, name,
            shmpool_strerror(rc), shmpool_err_name(rc));
  }
}

static void complain_listing(const char *cmd, int rc) {
  if (rc == SHMPOOL_ENOTSUP)
    fprintf(stderr,
            "shmpool %s: this OS offers no way to list shared memory "
            "(only Linux does); use shmpool info NAME or shmpool rm NAME\n",
            cmd);
  else
    fprintf(stderr, "shmpool %s: cannot list shared memory: %s (%s)\n", cmd,
            shmpool_strerror(rc), shmpool_err_name(rc));
}

/* ---- ls ------------------------------------------------------------------ */

typedef struct walk {
  unsigned flags;
  int dry_run;
  int removed, kept, failed;
} walk;

static void print_row(const char *name, const shmpool_seg_info *r) {
  if (r->kind == SHMPOOL_KIND_RAW) {
    printf("%-30s %14llu  %-12s %8s %-6s %s\n", name,
           (unsigned long long)r->size, "raw", "-", "-", "-");
    return;
  }
  printf("%-30s %14llu  %-12s %8llu %-6s %s%s%s\n", name,
         (unsigned long long)r->size, kind_name(r->kind),
         (unsigned long long)r->creator_pid, alive_name(r->creator_alive),
         r->persistent ? "persist" : "owned",
         (r->state & SHMPOOL_STATE_READY) ? "" : ",not-ready",
         (r->state & SHMPOOL_STATE_UNLINKED) ? ",unlinked" : "");
}

static int ls_one(const char *name, void *ctx) {
  shmpool_seg_info r;
  int rc;
  shmpool_seg_info_init(&r);
  rc = shmpool_seg_inspect(name, ((walk *)ctx)->flags, &r);
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
  rc = shmpool_seg_list(flags, ls_one, &w);
  if (rc != 0) {
    complain_listing("ls", rc);
    return 1;
  }
  return 0;
}

/* ---- info ------------------------------------------------------------- */

static int cmd_info(const char *name, unsigned flags) {
  shmpool_seg_info r;
  int rc;
  shmpool_seg_info_init(&r);
  rc = shmpool_seg_inspect(name, flags, &r);
  if (rc != 0) {
    complain("info", name, rc);
    return 1;
  }
  printf("name:          %s\n", name);
  printf("kind:          %s\n", kind_name(r.kind));
  printf("size:          %llu bytes\n", (unsigned long long)r.size);
  printf("object size:   %llu bytes\n", (unsigned long long)r.os_size);
  if (r.kind != SHMPOOL_KIND_RAW) {
    printf("data offset:   %llu\n", (unsigned long long)r.data_offset);
    printf("creator pid:   %llu (%s)\n", (unsigned long long)r.creator_pid,
           alive_name(r.creator_alive));
    printf("creator start: %llu\n", (unsigned long long)r.creator_start);
    printf("creation id:   %016llx\n", (unsigned long long)r.creation_id);
    printf("ownership:     %s\n", r.persistent ? "persistent" : "owned");
    printf("state:         %s%s\n",
           (r.state & SHMPOOL_STATE_READY) ? "ready" : "being created",
           (r.state & SHMPOOL_STATE_UNLINKED) ? ", unlinked" : "");
  }
  return 0;
}

/* ---- rm ----------------------------------------------------------------- */

static int cmd_rm(int n, char **names, unsigned flags) {
  int i, status = 0;
  for (i = 0; i < n; i++) {
    int rc = shmpool_seg_unlink_flags(names[i], flags);
    if (rc != 0) {
      complain("rm", names[i], rc);
      status = 1;
    }
  }
  return status;
}

/* ---- gc ------------------------------------------------------------------ */

/* Whether a segment is garbage: owned (not persistent) and its creator is
 * certainly dead. A pid that now belongs to a later process is detected by
 * the start time in the header. Unknown liveness keeps the segment. */
static int is_garbage(const shmpool_seg_info *r) {
  return r->kind != SHMPOOL_KIND_RAW && !r->persistent && r->creator_alive == 0;
}

static int gc_one(const char *name, void *ctx) {
  walk *w = (walk *)ctx;
  shmpool_seg_info r;
  int rc;
  shmpool_seg_info_init(&r);
  rc = shmpool_seg_inspect(name, w->flags, &r);
  if (rc != 0 || !is_garbage(&r)) {
    w->kept += rc == 0;
    return 0;
  }
  if (!w->dry_run) {
    rc = shmpool_seg_unlink_flags(name, w->flags);
    if (rc != 0 && rc != SHMPOOL_ENOENT) {
      complain("gc", name, rc);
      w->failed++;
      return 0;
    }
  }
  printf("%s %s (%s, %llu bytes, creator %llu dead)\n",
         w->dry_run ? "would remove" : "removed", name, kind_name(r.kind),
         (unsigned long long)r.size, (unsigned long long)r.creator_pid);
  w->removed++;
  return 0;
}

static int cmd_gc(unsigned flags, int dry_run) {
  walk w;
  int rc;
  memset(&w, 0, sizeof w);
  w.flags = flags;
  w.dry_run = dry_run;
  rc = shmpool_seg_list(flags, gc_one, &w);
  if (rc != 0) {
    complain_listing("gc", rc);
    return 1;
  }
  printf("gc: %d %s, %d kept\n", w.removed,
         dry_run ? "would be removed" : "removed", w.kept);
  return w.failed != 0;
}

/* The command, its operands (how many it takes), and what runs it. */
static int run(const char *cmd, int n, char **args, unsigned flags,
               int dry_run) {
  if (strcmp(cmd, "ls") == 0 && n == 0)
    return cmd_ls(flags);
  if (strcmp(cmd, "info") == 0 && n == 1)
    return cmd_info(args[0], flags);
  if (strcmp(cmd, "rm") == 0 && n >= 1)
    return cmd_rm(n, args, flags);
  if (strcmp(cmd, "gc") == 0 && n == 0)
    return cmd_gc(flags, dry_run);
  if (strcmp(cmd, "version") == 0 && n == 0) {
    printf("shmpool %s\n", shmpool_version_string());
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "info") == 0)
    fprintf(stderr, "shmpool info: takes exactly one NAME (got %d)\n", n);
  else if (strcmp(cmd, "rm") == 0)
    fprintf(stderr, "shmpool rm: takes one or more NAMEs (got none)\n");
  else if (strcmp(cmd, "ls") == 0 || strcmp(cmd, "gc") == 0 ||
           strcmp(cmd, "version") == 0)
    fprintf(stderr, "shmpool %s: takes no operands (got %d, the first '%s')\n",
            cmd, n, args[0]);
  else
    fprintf(stderr,
            "shmpool: unknown command '%s' (commands: ls, info, rm, gc, "
            "version, help)\n",
            cmd);
  usage(stderr);
  return 2;
}

int main(int argc, char **argv) {
  unsigned flags = 0;
  int dry_run = 0, n = 0, i, status;
  char **args;
  if (argc < 2) {
    fputs("shmpool: no command given\n", stderr);
    usage(stderr);
    return 2;
  }
  /* Options may come anywhere after the command. */
  args = (char **)calloc((size_t)argc, sizeof *args);
  if (args == NULL) {
    fputs("shmpool: out of memory\n", stderr);
    return 1;
  }
  for (i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--global") == 0) {
      flags |= SHMPOOL_SEG_GLOBAL;
    } else if (strcmp(argv[i], "--dry-run") == 0) {
      dry_run = 1;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      fprintf(stderr,
              "shmpool: unknown option %s (options: --global, --dry-run "
              "for gc)\n",
              argv[i]);
      free(args);
      return 2;
    } else {
      args[n++] = argv[i];
    }
  }
  /* A dry run that would really remove something must not happen. */
  if (dry_run && strcmp(argv[1], "gc") != 0) {
    fprintf(stderr, "shmpool %s: --dry-run is an option of gc only\n", argv[1]);
    free(args);
    return 2;
  }
  status = run(argv[1], n, args, flags, dry_run);
  free(args);
  return status;
}
