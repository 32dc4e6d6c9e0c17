/* pygc_config.h -- the tunables of the core, in one place. */
#ifndef PYGC_CONFIG_H
#define PYGC_CONFIG_H

/* CPython 3.11's default thresholds */
#define PYGC_THRESHOLD0 700
#define PYGC_THRESHOLD1 10
#define PYGC_THRESHOLD2 10

/* nested deallocations allowed before the trashcan defers the rest
 * (CPython uses 50): bounds the C stack whatever the data's depth */
#define PYGC_TRASH_LIMIT 50

/* strings up to this many bytes are interned */
#define PYGC_INTERN_MAX 64

/* small blocks come from per-size-class pools carved out of pages; the
 * pools are off in sanitizer builds (and PYGC_NO_POOLS) so that ASan and
 * valgrind see every block */
#define PYGC_POOL_MAX 512           /* largest pooled block, bytes */
#define PYGC_POOL_GRAIN 16          /* size classes are multiples of this */
#define PYGC_POOL_PAGE (32 * 1024)  /* bytes asked of the allocator at a time */
#if defined(__SANITIZE_ADDRESS__) || defined(PYGC_NO_POOLS)
#define PYGC_POOLS_DEFAULT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYGC_POOLS_DEFAULT 0
#endif
#endif
#ifndef PYGC_POOLS_DEFAULT
#define PYGC_POOLS_DEFAULT 1
#endif

#endif
