/* pygc_config.h -- the tunables of the core, in one place.
 *
 * Each can be overridden from the compiler's command line, as luaconf.h's
 * are (e.g. EXTRA_CFLAGS=-DPYGC_TRASH_LIMIT=100); the values below are the
 * defaults.  They change performance and limits, never semantics. */
#ifndef PYGC_CONFIG_H
#define PYGC_CONFIG_H

/* CPython 3.11's default thresholds */
#if !defined(PYGC_THRESHOLD0)
#define PYGC_THRESHOLD0 700
#endif
#if !defined(PYGC_THRESHOLD1)
#define PYGC_THRESHOLD1 10
#endif
#if !defined(PYGC_THRESHOLD2)
#define PYGC_THRESHOLD2 10
#endif

/* nested deallocations allowed before the trashcan defers the rest
 * (CPython uses 50): bounds the C stack whatever the data's depth */
#if !defined(PYGC_TRASH_LIMIT)
#define PYGC_TRASH_LIMIT 50
#endif

/* strings up to this many bytes are interned (pygc.h documents 64) */
#if !defined(PYGC_INTERN_MAX)
#define PYGC_INTERN_MAX 64
#endif

/* small blocks come from per-size-class pools carved out of pages; the
 * pools are off in sanitizer builds (and PYGC_NO_POOLS) so that ASan and
 * valgrind see every block */
#if !defined(PYGC_POOL_MAX)
#define PYGC_POOL_MAX 512 /* largest pooled block, bytes */
#endif
#if !defined(PYGC_POOL_GRAIN)
#define PYGC_POOL_GRAIN 16 /* size classes are multiples of this (>= 16: blocks hold any object) */
#endif
#if !defined(PYGC_POOL_PAGE)
#define PYGC_POOL_PAGE (32 * 1024) /* bytes asked of the allocator at a time */
#endif
#if !defined(PYGC_POOLS_DEFAULT)
#if defined(__SANITIZE_ADDRESS__) || defined(PYGC_NO_POOLS)
#define PYGC_POOLS_DEFAULT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYGC_POOLS_DEFAULT 0
#endif
#endif
#endif
#if !defined(PYGC_POOLS_DEFAULT)
#define PYGC_POOLS_DEFAULT 1
#endif

#endif
