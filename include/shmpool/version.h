/* shmpool version: the one source of truth. CMakeLists.txt parses the three
 * SHMPOOL_VERSION_* lines below, so keep their form. */
#ifndef SHMPOOL_VERSION_H
#define SHMPOOL_VERSION_H

#define SHMPOOL_VERSION_MAJOR 0
#define SHMPOOL_VERSION_MINOR 2
#define SHMPOOL_VERSION_PATCH 0

#define SHMPOOL_VERSION_STRINGIFY_(x) #x
#define SHMPOOL_VERSION_STRINGIFY(x) SHMPOOL_VERSION_STRINGIFY_(x)

/* Numeric version: 0xMMmmpp, comparable with <, as shmpool_version(). */
#define SHMPOOL_VERSION_HEX                                                   \
  ((SHMPOOL_VERSION_MAJOR << 16) | (SHMPOOL_VERSION_MINOR << 8) |             \
   (SHMPOOL_VERSION_PATCH))

#define SHMPOOL_VERSION_STRING                                                \
  SHMPOOL_VERSION_STRINGIFY(SHMPOOL_VERSION_MAJOR) "."                        \
  SHMPOOL_VERSION_STRINGIFY(SHMPOOL_VERSION_MINOR) "."                        \
  SHMPOOL_VERSION_STRINGIFY(SHMPOOL_VERSION_PATCH)

#endif /* SHMPOOL_VERSION_H */
