/*
 * pygc.h -- a Python-style garbage-collected object heap in C11.
 *
 * This is the one door into the core.  The heap owns reference-counted
 * objects (list, dict, tuple, str, class, instance, and host-defined types)
 * and runs CPython's generational cycle collector over them.  Nothing here
 * knows about Lua: the Lua binding is one host among others.
 *
 * Conventions used throughout:
 *   - "new reference": the caller owns one reference and must pygc_decref it.
 *   - "borrowed": the caller must not decref; valid while the owner lives.
 *   - Functions returning int return a PYGC_* status (PYGC_OK is 0).
 *   - Any call that can free an object can run host finalizers (hooks).
 *   - Constructors of GC types may run an automatic collection (as CPython's
 *     allocation does); the new object is fully built before that happens.
 */
#ifndef PYGC_H
#define PYGC_H

#include <stddef.h>
#include <stdint.h>

#define PYGC_VERSION "0.1.0"

#if defined(__GNUC__)
#define PYGC_API __attribute__((visibility("default")))
#else
#define PYGC_API
#endif

typedef struct pygc_heap pygc_heap;
typedef struct pygc_object pygc_object;
typedef struct pygc_type pygc_type;

/* An allocator with lua_Alloc's contract: nsize == 0 frees and returns NULL;
 * otherwise returns a block of nsize bytes (or NULL on failure, leaving ptr
 * untouched).  osize is the old block's size when ptr != NULL. */
typedef void *(*pygc_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

/* ---- status codes ------------------------------------------------------ */
enum {
  PYGC_OK = 0,
  PYGC_ENOMEM,      /* not enough memory */
  PYGC_EINDEX,      /* index out of range */
  PYGC_EKEY,        /* key not found */
  PYGC_EUNHASHABLE, /* unhashable key (list or dict) */
  PYGC_ENAN,        /* NaN used as a dict key */
  PYGC_ETYPE,       /* object of the wrong type for the operation */
  PYGC_EIMMUTABLE,  /* tuple is immutable */
  PYGC_ECHANGED,    /* dict changed size during iteration */
  PYGC_EOVERFLOW,   /* a size or count would overflow */
  PYGC_EVALUE       /* an argument's value is out of its domain */
};
PYGC_API const char *pygc_strerror(int status);

/* ---- values ------------------------------------------------------------ */
typedef enum {
  PYGC_TNONE = 0,
  PYGC_TBOOL,
  PYGC_TINT,
  PYGC_TFLOAT,
  PYGC_TOBJ
} pygc_tag;

typedef struct pygc_value {
  uint32_t tag; /* pygc_tag */
  union {
    int b;
    int64_t i;
    double f;
    pygc_object *o;
  } u;
} pygc_value;

static inline pygc_value pygc_none(void) { pygc_value v; v.tag = PYGC_TNONE; v.u.i = 0; return v; }
static inline pygc_value pygc_bool(int b) { pygc_value v; v.tag = PYGC_TBOOL; v.u.i = 0; v.u.b = b != 0; return v; }
static inline pygc_value pygc_int(int64_t i) { pygc_value v; v.tag = PYGC_TINT; v.u.i = i; return v; }
static inline pygc_value pygc_float(double f) { pygc_value v; v.tag = PYGC_TFLOAT; v.u.f = f; return v; }
static inline pygc_value pygc_obj(pygc_object *o) { pygc_value v; v.tag = PYGC_TOBJ; v.u.o = o; return v; }

/* ---- objects and types ------------------------------------------------- */

/* Every object starts with this header (like PyObject_HEAD + PyGC_Head).
 * Host types embed it as their first member.  Fields are private: use the
 * functions below. */
struct pygc_object {
  pygc_object *gc_next;   /* the list the object is on (generation, etc.) */
  pygc_object *gc_prev;
  const pygc_type *type;
  uint32_t refcnt;        /* saturates: a saturated object is immortal */
  uint32_t flags;
  int64_t gc_refs;        /* scratch for the collector and the verifier */
};

/* Called by traverse for every value slot the object holds.  Returning
 * non-zero stops the traversal and is passed back by traverse. */
typedef int (*pygc_visit_fn)(pygc_value *slot, void *arg);

/* Type flags */
#define PYGC_TYPE_GC 1u /* instances may form cycles: tracked by the collector */

/* A type descriptor: a table of functions, as CPython's and QuickJS's. */
struct pygc_type {
  const char *name;
  unsigned flags;
  /* Visit every value slot that holds a reference (tp_traverse). */
  int (*traverse)(pygc_object *self, pygc_visit_fn visit, void *arg);
  /* Drop the references that can form cycles, leaving the object valid
   * (tp_clear).  The collector calls it on cyclic garbage. */
  void (*clear)(pygc_heap *h, pygc_object *self);
  /* Drop every reference the object holds, before free; NULL means clear
   * is enough.  Called once, when the object dies. */
  void (*dealloc)(pygc_heap *h, pygc_object *self);
  /* PEP 442 finalizer, run at most once; NULL if none. */
  void (*finalize)(pygc_heap *h, pygc_object *self);
  /* Free storage the object owns besides its own block.  References have
   * been dropped by clear, or are being abandoned at heap destruction. */
  void (*free)(pygc_heap *h, pygc_object *self);
  /* Bytes the object occupies, header included. */
  size_t (*size)(const pygc_object *self);
  /* Optional predicates: does this object want finalize / is it legacy
   * (uncollectable when found in cyclic garbage)?  NULL means "finalize
   * exists" / "not legacy". */
  int (*has_finalizer)(const pygc_object *self);
  int (*is_legacy)(const pygc_object *self);
};

PYGC_API extern const pygc_type pygc_list_type;
PYGC_API extern const pygc_type pygc_dict_type;
PYGC_API extern const pygc_type pygc_tuple_type;
PYGC_API extern const pygc_type pygc_str_type;
PYGC_API extern const pygc_type pygc_class_type;
PYGC_API extern const pygc_type pygc_instance_type;

/* ---- host hooks -------------------------------------------------------- */

typedef struct pygc_collect_info {
  int generation;
  intptr_t collected;     /* unreachable objects found (m in CPython) */
  intptr_t uncollectable; /* objects kept because of legacy finalizers */
  intptr_t candidates;    /* objects examined */
  double duration;        /* seconds (0 in the "start" phase) */
} pygc_collect_info;

typedef struct pygc_hooks {
  void *ud;
  /* Run an instance's finalizer (class made with PYGC_CLASS_FINALIZER). */
  void (*finalize)(void *ud, pygc_heap *h, pygc_object *obj);
  /* gc.callbacks: phase is "start" or "stop". */
  void (*callback)(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info);
  /* Debug output (DEBUG_* flags).  Default: stderr.  Must not touch the heap. */
  void (*write)(void *ud, const char *text, size_t len);
  /* A watched object (pygc_watch) is about to be freed. */
  void (*freed)(void *ud, pygc_heap *h, pygc_object *obj);
  /* An error that cannot be raised (e.g. no memory to append to garbage). */
  void (*unraisable)(void *ud, pygc_heap *h, int status, const char *what, pygc_object *obj);
} pygc_hooks;

/* ---- the heap ---------------------------------------------------------- */

/* Create a heap.  alloc may be NULL (malloc/realloc/free).  seed keys the
 * string hash; pass 0 to derive one from the clock and addresses. */
PYGC_API pygc_heap *pygc_heap_new(pygc_alloc_fn alloc, void *ud, uint64_t seed);
/* Free the heap and every object still in it, without running finalizers.
 * Run pygc_collect first for a graceful end. */
PYGC_API void pygc_heap_free(pygc_heap *h);
PYGC_API void pygc_set_hooks(pygc_heap *h, const pygc_hooks *hooks);
PYGC_API void pygc_get_hooks(pygc_heap *h, pygc_hooks *out);

typedef struct pygc_heap_info {
  size_t objects;     /* live objects of every type */
  size_t tracked;     /* objects tracked by the collector, frozen included */
  size_t bytes;       /* bytes allocated through the heap's allocator */
  size_t peak_bytes;
  size_t frozen;      /* objects in the permanent generation */
  size_t generation[3];
} pygc_heap_info;
PYGC_API void pygc_heap_get_info(pygc_heap *h, pygc_heap_info *out);
PYGC_API size_t pygc_heap_bytes(const pygc_heap *h);

/* Check every invariant of the heap.  Returns 0 when sound; otherwise
 * non-zero with a description in msg.  Not callable during a collection
 * (returns 0 then). */
PYGC_API int pygc_heap_verify(pygc_heap *h, char *msg, size_t msgsize);

/* ---- reference counting ------------------------------------------------ */
PYGC_API void pygc_incref(pygc_object *o);
PYGC_API void pygc_decref(pygc_heap *h, pygc_object *o);
PYGC_API void pygc_value_incref(pygc_value v);
PYGC_API void pygc_value_decref(pygc_heap *h, pygc_value v);
PYGC_API size_t pygc_refcount(const pygc_object *o);

/* ---- generic object functions ------------------------------------------ */
/* Allocate a zeroed object of size bytes (>= sizeof(pygc_object)) of a
 * host type, refcount 1, untracked.  Track it once its fields are valid. */
PYGC_API pygc_object *pygc_object_new(pygc_heap *h, const pygc_type *type, size_t size);
PYGC_API void *pygc_mem_alloc(pygc_heap *h, size_t n);             /* accounted raw memory */
PYGC_API void *pygc_mem_realloc(pygc_heap *h, void *p, size_t o, size_t n);
PYGC_API void pygc_mem_free(pygc_heap *h, void *p, size_t n);
PYGC_API void pygc_track(pygc_heap *h, pygc_object *o);
PYGC_API void pygc_untrack(pygc_heap *h, pygc_object *o);
PYGC_API int pygc_is_tracked(const pygc_object *o);
PYGC_API int pygc_is_finalized(const pygc_object *o);
/* Ask for the freed hook when o is about to be freed. */
PYGC_API void pygc_watch(pygc_object *o);
PYGC_API const char *pygc_type_name(pygc_value v); /* Python type name */
PYGC_API size_t pygc_sizeof(const pygc_object *o);
PYGC_API int pygc_traverse(pygc_object *o, pygc_visit_fn visit, void *arg);

/* ---- str --------------------------------------------------------------- */
/* New reference to an immutable string.  Short strings are interned, so
 * equal short strings are one object. */
PYGC_API pygc_object *pygc_str_new(pygc_heap *h, const char *s, size_t len);
PYGC_API const char *pygc_str_data(const pygc_object *o, size_t *len);

/* ---- list -------------------------------------------------------------- */
PYGC_API pygc_object *pygc_list_new(pygc_heap *h, size_t capacity);
PYGC_API size_t pygc_list_len(const pygc_object *l);
PYGC_API int pygc_list_get(const pygc_object *l, size_t i, pygc_value *out); /* borrowed */
PYGC_API int pygc_list_set(pygc_heap *h, pygc_object *l, size_t i, pygc_value v);
PYGC_API int pygc_list_append(pygc_heap *h, pygc_object *l, pygc_value v);
PYGC_API int pygc_list_insert(pygc_heap *h, pygc_object *l, size_t i, pygc_value v);
/* Remove item i; its reference goes to *out if out != NULL, else dropped. */
PYGC_API int pygc_list_pop(pygc_heap *h, pygc_object *l, size_t i, pygc_value *out);
PYGC_API void pygc_list_clear(pygc_heap *h, pygc_object *l);

/* ---- tuple ------------------------------------------------------------- */
PYGC_API pygc_object *pygc_tuple_new(pygc_heap *h, size_t n, const pygc_value *items);
PYGC_API size_t pygc_tuple_len(const pygc_object *t);
PYGC_API int pygc_tuple_get(const pygc_object *t, size_t i, pygc_value *out); /* borrowed */

/* ---- dict -------------------------------------------------------------- */
PYGC_API pygc_object *pygc_dict_new(pygc_heap *h);
PYGC_API size_t pygc_dict_len(const pygc_object *d);
PYGC_API int pygc_dict_get(pygc_heap *h, pygc_object *d, pygc_value key, pygc_value *out); /* borrowed */
PYGC_API int pygc_dict_set(pygc_heap *h, pygc_object *d, pygc_value key, pygc_value value);
PYGC_API int pygc_dict_del(pygc_heap *h, pygc_object *d, pygc_value key);
/* Iterate in insertion order: *pos starts at 0; returns 1 with borrowed
 * key/value while entries remain, 0 at the end. */
PYGC_API int pygc_dict_next(const pygc_object *d, size_t *pos, pygc_value *key, pygc_value *value);
/* Hash of a value as a dict key (PYGC_EUNHASHABLE / PYGC_ENAN on failure). */
PYGC_API int pygc_hash(pygc_heap *h, pygc_value v, uint64_t *out);
/* Python's == for hashable values (numbers across types, strings by content,
 * tuples itemwise, other objects by identity). */
PYGC_API int pygc_equal(pygc_value a, pygc_value b);

/* ---- classes and instances --------------------------------------------- */
#define PYGC_CLASS_FINALIZER 1u /* instances have a finalizer (hooks.finalize) */
#define PYGC_CLASS_LEGACY 2u    /* uncollectable in cyclic garbage (tp_del) */
PYGC_API pygc_object *pygc_class_new(pygc_heap *h, const char *name, size_t len, unsigned flags);
PYGC_API const char *pygc_class_name(const pygc_object *cls);
PYGC_API unsigned pygc_class_flags(const pygc_object *cls);
PYGC_API void pygc_class_set_host(pygc_object *cls, intptr_t host);
PYGC_API intptr_t pygc_class_host(const pygc_object *cls);
PYGC_API pygc_object *pygc_instance_new(pygc_heap *h, pygc_object *cls);
PYGC_API pygc_object *pygc_instance_class(const pygc_object *o); /* borrowed */
PYGC_API int pygc_getattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value *out);
PYGC_API int pygc_setattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value v);
PYGC_API int pygc_delattr(pygc_heap *h, pygc_object *o, const char *name, size_t len);
PYGC_API size_t pygc_attr_count(const pygc_object *o);
PYGC_API int pygc_attr_next(const pygc_object *o, size_t *pos, pygc_value *name, pygc_value *value);

/* ---- the collector (Python's gc module) -------------------------------- */
#define PYGC_DEBUG_STATS 1
#define PYGC_DEBUG_COLLECTABLE 2
#define PYGC_DEBUG_UNCOLLECTABLE 4
#define PYGC_DEBUG_SAVEALL 32
#define PYGC_DEBUG_LEAK 38

/* Collect generation (0..2) and all younger ones.  Returns collected +
 * uncollectable; 0 when a collection is already running; -1 for an invalid
 * generation. */
PYGC_API intptr_t pygc_collect(pygc_heap *h, int generation);
PYGC_API void pygc_enable(pygc_heap *h);
PYGC_API void pygc_disable(pygc_heap *h);
PYGC_API int pygc_isenabled(const pygc_heap *h);
PYGC_API int pygc_is_collecting(const pygc_heap *h);
PYGC_API void pygc_set_debug(pygc_heap *h, int flags);
PYGC_API int pygc_get_debug(const pygc_heap *h);
PYGC_API void pygc_set_threshold(pygc_heap *h, int generation, int64_t value);
PYGC_API int64_t pygc_get_threshold(const pygc_heap *h, int generation);
PYGC_API int64_t pygc_get_count(const pygc_heap *h, int generation);
typedef struct pygc_gen_stats {
  intptr_t collections, collected, uncollectable;
} pygc_gen_stats;
PYGC_API void pygc_get_stats(const pygc_heap *h, pygc_gen_stats out[3]);
PYGC_API void pygc_freeze(pygc_heap *h);
PYGC_API void pygc_unfreeze(pygc_heap *h);
PYGC_API size_t pygc_get_freeze_count(const pygc_heap *h);
PYGC_API pygc_object *pygc_garbage(pygc_heap *h); /* borrowed: the garbage list */

/* ---- introspection ------------------------------------------------------ */
typedef int (*pygc_object_fn)(pygc_object *o, void *arg);
/* Call fn for each tracked object of generation (0..2), or of all three when
 * generation is -1 (the permanent generation is not included, as CPython).
 * fn must not free or create objects.  Returns the count visited. */
PYGC_API size_t pygc_get_objects(pygc_heap *h, int generation, pygc_object_fn fn, void *arg);
/* Tracked objects (outside the permanent generation) that refer directly to
 * any of the n targets (objects by identity, other values by equality). */
PYGC_API size_t pygc_get_referrers(pygc_heap *h, const pygc_value *targets, size_t n,
                                   pygc_object_fn fn, void *arg);

/* Visit every value o holds, atomic values included (get_referents). */
PYGC_API int pygc_referents(pygc_object *o, pygc_visit_fn visit, void *arg);

/* ---- repr --------------------------------------------------------------- */
typedef struct pygc_buf {
  char *data;
  size_t len, cap;
} pygc_buf;
/* Append Python's repr of v to buf (memory from the heap's allocator). */
PYGC_API int pygc_repr(pygc_heap *h, pygc_value v, pygc_buf *buf);
/* The same, giving up with PYGC_EOVERFLOW once more than maxlen bytes were
 * written (a list holding the same list twice, nested n deep, has a repr
 * 2^n long, as in CPython). */
PYGC_API int pygc_repr_limited(pygc_heap *h, pygc_value v, pygc_buf *buf, size_t maxlen);
PYGC_API void pygc_buf_free(pygc_heap *h, pygc_buf *buf);

#endif
