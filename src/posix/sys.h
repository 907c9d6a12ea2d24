/* The POSIX backend's system-call table. Every system call the backend
 * makes goes through shmpool__posix_sys, so tests can make any of them fail
 * (SQLite's os_unix.c aSyscall[] is the model). Nothing outside tests ever
 * writes to the table.
 *
 * SPDX-License-Identifier: MIT */
#ifndef SHMPOOL_POSIX_SYS_H
#define SHMPOOL_POSIX_SYS_H

#if !defined(_WIN32)

#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <stdint.h>

typedef struct shmpool__posix_syscalls {
  int (*shm_open)(const char *name, int oflag, mode_t mode);
  int (*shm_unlink)(const char *name);
  int (*ftruncate)(int fd, off_t length);
  int (*fchmod)(int fd, mode_t mode);
  int (*fstat)(int fd, struct stat *st);
  int (*fstatvfs)(int fd, struct statvfs *st);
  /* Returns an errno value, like posix_fallocate(). NULL where the system
   * has no way to reserve shared memory (macOS). */
  int (*fallocate)(int fd, off_t offset, off_t len);
  void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
  int (*munmap)(void *addr, size_t len);
  int (*close)(int fd);
  /* Fills buf from the kernel CSPRNG; returns 0 or an errno value. */
  int (*random)(void *buf, size_t len);
  /* Starts a worker process (posix_spawn, or fork + exec where the system
   * cannot close inherited descriptors in posix_spawn); returns 0 or an
   * errno value. */
  int (*spawn)(pid_t *pid, const char *path, char *const argv[],
               char *const envp[]);
  pid_t (*waitpid)(pid_t pid, int *status, int options);
  int (*kill)(pid_t pid, int sig);
} shmpool__posix_syscalls;

extern shmpool__posix_syscalls shmpool__posix_sys;

/* Record errnum for shmpool_last_os_error() and translate it to a
 * SHMPOOL_E* code: the backend's one translation point. */
int shmpool__posix_error(int errnum);

/* The default `spawn` entry (src/posix/proc.c). */
int shmpool__posix_spawn_image(pid_t *pid, const char *path,
                               char *const argv[], char *const envp[]);

/* The start time of process pid (see shmpool__plat_proc_start), 0 if the
 * process does not exist or the OS cannot tell. */
uint64_t shmpool__posix_start_of(long pid);

#endif /* !_WIN32 */
#endif /* SHMPOOL_POSIX_SYS_H */
