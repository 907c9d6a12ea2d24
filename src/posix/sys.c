/* The POSIX system-call table and error translation.
 *
 * SPDX-License-Identifier: MIT */
#if !defined(_WIN32)

#include "posix/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/random.h>
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||      \
    defined(__NetBSD__) || defined(__DragonFly__)
#include <stdlib.h> /* arc4random_buf */
#endif

#include "internal.h"

static int shmpool__posix_fallocate(int fd, off_t offset, off_t len) {
#if defined(__APPLE__)
  /* macOS has no posix_fallocate, and its shared memory is not a
   * size-limited file system: there is nothing to reserve. */
  (void)fd;
  (void)offset;
  (void)len;
  return EOPNOTSUPP;
#else
  int rc;
  do {
    rc = posix_fallocate(fd, offset, len);
  } while (rc == EINTR);
  return rc;
#endif
}

static int shmpool__posix_random(void *buf, size_t len) {
#if defined(__linux__)
  unsigned char *p = (unsigned char *)buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||    \
    defined(__NetBSD__) || defined(__DragonFly__)
  arc4random_buf(buf, len);
  return 0;
#else
  /* Other systems: the kernel's device. */
  unsigned char *p = (unsigned char *)buf;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  int err = 0;
  if (fd < 0)
    return errno;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      err = n < 0 ? errno : EIO;
      break;
    }
    p += n;
    len -= (size_t)n;
  }
  close(fd);
  return err;
#endif
}

/* fstat and fstatvfs were macros over __fxstat in glibc before 2.33;
 * calling them from a function keeps the table portable. */
static int shmpool__posix_fstat(int fd, struct stat *st) {
  return fstat(fd, st);
}

static int shmpool__posix_fstatvfs(int fd, struct statvfs *st) {
  return fstatvfs(fd, st);
}

/* Designated order: see shmpool__posix_syscalls. */
shmpool__posix_syscalls shmpool__posix_sys = {shm_open,
                                              shm_unlink,
                                              ftruncate,
                                              fchmod,
                                              shmpool__posix_fstat,
                                              shmpool__posix_fstatvfs,
                                              shmpool__posix_fallocate,
                                              mmap,
                                              munmap,
                                              close,
                                              shmpool__posix_random,
                                              shmpool__posix_spawn_image,
                                              waitpid,
                                              kill};

int shmpool__posix_error(int errnum) {
  shmpool__set_os_error(errnum);
  switch (errnum) {
  case 0:
    return 0;
  case EEXIST:
    return SHMPOOL_EEXIST;
  case ENOENT:
    return SHMPOOL_ENOENT;
  case EACCES:
  case EPERM:
    return SHMPOOL_EACCES;
  case ENOSPC:
  case EFBIG:
#if defined(EDQUOT)
  case EDQUOT:
#endif
    return SHMPOOL_ENOSPC;
  case ENOMEM:
  case EOVERFLOW:
    return SHMPOOL_ENOMEM;
  case EMFILE:
  case ENFILE:
    return SHMPOOL_EMFILE;
  case ENAMETOOLONG:
    return SHMPOOL_ENAMETOOLONG;
  case EINVAL:
    return SHMPOOL_EINVAL;
#if defined(ENOTSUP)
  case ENOTSUP:
#endif
#if defined(EOPNOTSUPP) && (!defined(ENOTSUP) || EOPNOTSUPP != ENOTSUP)
  case EOPNOTSUPP:
#endif
  case ENOSYS:
    return SHMPOOL_ENOTSUP;
  case EAGAIN:
    return SHMPOOL_EAGAIN;
  case ETIMEDOUT:
    return SHMPOOL_ETIMEDOUT;
  case EBUSY:
    return SHMPOOL_EBUSY;
  default:
    return SHMPOOL_EIO;
  }
}

#endif /* !_WIN32 */
