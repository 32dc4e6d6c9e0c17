/*
 * pygc.h -- a Python-style garbage-collected object heap in C11.
 *
 * The heap owns reference-counted objects -- list, dict, tuple, str, class,
 * instance, and types the host defines -- and runs CPython's generational
 * cycle collector over them.  Nothing here knows about Lua; the Lua
 * binding (binding/lpygc.h) is one host among others.
 *
 * Ownership, the one rule to learn:
 *   - "new reference": the caller owns one reference and must drop it with
 *     pygc_decref (or hand it to something that takes it).
 *   - "borrowed": valid while whatever owns it keeps it; do not decref.
 *   - Containers take their own references to what they store: passing a
 *     value to a setter never transfers the caller's reference.
 *   - Functions returning int return a status: PYGC_OK (0) or PYGC_E*.
 *
 * Re-entrancy: any call that can free an object can run finalizers (host
 * code).  Constructors of GC types may run an automatic collection once
 * the new object is complete, as CPython's allocation does.  Never keep a
 * borrowed pointer across such a call unless you hold a reference.
 *
 * Threads: a heap is single-threaded; distinct heaps share nothing and can
 * live in distinct threads.
 */
#ifndef PYGC_H
#define PYGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PYGC_VERSION "0.1.0"

#if defined(__GNUC__)
#define PYGC_API __attribute__((visibility("default")))
#else
#define PYGC_API
#endif

typedef struct pygc_heap pygc_heap;
typedef struct pygc_object pygc_object;
typedef struct pygc_type pygc_type;

/* An allocator with lua_Alloc's contract: nsize == 0 frees ptr (of osize
 * bytes) and returns NULL; otherwise returns a block of nsize bytes, or NULL
 * on failure leaving ptr untouched.  Every byte the heap uses comes from it. */
typedef void *(*pygc_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

/* ==== status codes ======================================================= */
enum {
  PYGC_OK = 0,
  PYGC_ENOMEM,      /* not enough memory; nothing was changed */
  PYGC_EINDEX,      /* index out of range */
  PYGC_EKEY,        /* key or attribute not found */
  PYGC_EUNHASHABLE, /* a list or dict (possibly inside a tuple) used as a key */
  PYGC_ENAN,        /* NaN used as a dict key */
  PYGC_ETYPE,       /* the object is not of the type the function needs */
  PYGC_EIMMUTABLE,  /* tuple is immutable */
  PYGC_ECHANGED,    /* dict changed size during iteration */
  PYGC_EOVERFLOW,   /* a size, count or nesting depth is too large */
  PYGC_EVALUE       /* an argument's value is outside its domain */
};
/* A static English message for a status; never NULL. */
PYGC_API const char *pygc_strerror(int status);

/* ==== values ============================================================== */
/* A value is what a container slot holds: None, a bool, a 64-bit int, a
 * double, or a reference to an object (strings are objects). */
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

/* Value constructors.  pygc_obj(o) borrows o: it takes no reference. */
static inline pygc_value pygc_none(void) { pygc_value v; v.tag = PYGC_TNONE; v.u.i = 0; return v; }
static inline pygc_value pygc_bool(int b) { pygc_value v; v.tag = PYGC_TBOOL; v.u.i = 0; v.u.b = b != 0; return v; }
static inline pygc_value pygc_int(int64_t i) { pygc_value v; v.tag = PYGC_TINT; v.u.i = i; return v; }
static inline pygc_value pygc_float(double f) { pygc_value v; v.tag = PYGC_TFLOAT; v.u.f = f; return v; }
static inline pygc_value pygc_obj(pygc_object *o) { pygc_value v; v.tag = PYGC_TOBJ; v.u.o = o; return v; }

/* ==== objects and types =================================================== */

/* Every object starts with this header (CPython's PyObject_HEAD with its
 * PyGC_Head).  A host type embeds it as its first member.  The fields are
 * the heap's: read them through the functions below. */
struct pygc_object {
  pygc_object *gc_next; /* the list the object is on (a generation, ...) */
  union {
    pygc_object *gc_prev;
    /* scratch for the collector, the verifier and pygc_cross_set, as
     * CPython keeps gc_refs in _gc_prev: while one of them runs (no host
     * code runs meanwhile but a type's traverse and size), the back link
     * holds the count, and it is rebuilt from the forward links before
     * anything else can see the list.  32 bytes in all on 64-bit hosts. */
    intptr_t gc_refs;
  };
  const pygc_type *type;
  uint32_t refcnt; /* saturates at UINT32_MAX: the object becomes immortal */
  uint32_t flags;
};

/* A flag bit the heap never touches, for the host (the Lua binding marks
 * objects that have had a handle). */
#define PYGC_FLAG_HOST1 0x100u
/* More host bits, high enough to stay clear of the heap's own. */
#define PYGC_FLAG_HOST2 0x10000u
#define PYGC_FLAG_HOST3 0x20000u
#define PYGC_FLAG_HOST4 0x40000u

/* Called by traverse once for every slot that holds an object reference
 * (slot->tag == PYGC_TOBJ).  A non-zero return stops the traversal and is
 * returned by traverse.  Read the slot, never write through it: for an
 * instance's attributes (stored compactly) it is a copy. */
typedef int (*pygc_visit_fn)(pygc_value *slot, void *arg);

/* Type flags */
#define PYGC_TYPE_GC 1u /* objects can hold references that form cycles */
#define PYGC_TYPE_WEAKREF 2u /* objects accept weak references (pygc_weakref_new) */

/* A type: a table of functions, the way CPython's and QuickJS's are.  A
 * host type is a static const pygc_type; its objects come from
 * pygc_object_new.  Only `name` and `size` are mandatory; a GC type must
 * also have `traverse`. */
struct pygc_type {
  const char *name; /* shown by repr, gc.type and the DEBUG_* lines */
  unsigned flags;   /* PYGC_TYPE_GC or 0 */
  /* Visit every slot holding an object the object owns a reference to
   * (tp_traverse).  Must visit each owned reference exactly once: a missed
   * reference leaks cycles, an extra one frees live objects.  Must not
   * allocate, free, or call back into the heap.  This one function is what
   * every walk sees of the type: the collector, get_referents,
   * get_referrers, the verifier and pygc_edges.  A visited slot that holds
   * no object is skipped; in PYGC_DEBUG builds it, and a slot visited
   * twice, stop the program with a message naming the type. */
  int (*traverse)(pygc_object *self, pygc_visit_fn visit, void *arg);
  /* Drop the references that can form cycles, leaving a valid object
   * (tp_clear).  The collector calls it on cyclic garbage.  Detach first,
   * decref last: a decref can run finalizers that look at self. */
  void (*clear)(pygc_heap *h, pygc_object *self);
  /* Drop every reference, when the object dies (after clear, or instead of
   * it); NULL means clear is enough. */
  void (*dealloc)(pygc_heap *h, pygc_object *self);
  /* PEP 442 finalizer: runs at most once per object, with self alive and
   * tracked; storing self somewhere reachable resurrects it.  NULL: none.
   * A finalizer cannot raise; report failures with pygc_report_unraisable. */
  void (*finalize)(pygc_heap *h, pygc_object *self);
  /* Free storage the object owns besides its own block (arrays allocated
   * with pygc_mem_alloc).  Its references were dropped by clear/dealloc,
   * or are abandoned because the heap is being destroyed: never decref
   * here. */
  void (*free)(pygc_heap *h, pygc_object *self);
  /* Bytes the object occupies, its own block and owned storage included.
   * After free has run it must return the size given to pygc_object_new. */
  size_t (*size)(const pygc_object *self);
  /* Optional predicates: does this object want its finalizer (NULL: yes,
   * when finalize is set); is it legacy -- uncollectable when found in
   * cyclic garbage, like CPython's tp_del (NULL: no). */
  int (*has_finalizer)(const pygc_object *self);
  int (*is_legacy)(const pygc_object *self);
  /* Optional, for tools only (pygc_edges): a name for one of the slots
   * traverse visits ("left", "items[3]" is too much: a static string),
   * or NULL.  Without it, edges of host objects are labelled by the
   * order traverse visits them.  Must not touch the heap. */
  const char *(*slot_name)(const pygc_object *self, const pygc_value *slot);
  /* Optional: the object's repr, written into buf (NUL-terminated, at most
   * size bytes).  NULL: "<name object at 0x...>".  Must not touch the heap. */
  void (*repr)(const pygc_object *self, char *buf, size_t size);
};

/* The built-in types, for comparisons with o->type. */
PYGC_API extern const pygc_type pygc_list_type;
PYGC_API extern const pygc_type pygc_dict_type;
PYGC_API extern const pygc_type pygc_tuple_type;
PYGC_API extern const pygc_type pygc_str_type;
PYGC_API extern const pygc_type pygc_class_type;
PYGC_API extern const pygc_type pygc_instance_type;

/* ==== host hooks ============================================================ */

typedef struct pygc_collect_info {
  int generation;
  intptr_t collected;     /* unreachable objects freed (CPython's "collected") */
  intptr_t uncollectable; /* objects kept because of legacy finalizers */
  intptr_t candidates;    /* objects examined ("stop" phase only) */
  double duration;        /* seconds ("stop" phase only) */
} pygc_collect_info;

/* How the heap calls back into its host.  Every member may be NULL.  The
 * hooks run inside heap operations: finalize and callback may use the heap
 * freely (a collect from inside returns 0); write and freed must not. */
typedef struct pygc_hooks {
  void *ud; /* passed back as the first argument */
  /* Run the finalizer of an instance whose class has PYGC_CLASS_FINALIZER. */
  void (*finalize)(void *ud, pygc_heap *h, pygc_object *obj);
  /* gc.callbacks: phase is "start" or "stop". */
  void (*callback)(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info);
  /* Debug output of the DEBUG_* flags.  Default (NULL): stderr. */
  void (*write)(void *ud, const char *text, size_t len);
  /* An object marked with pygc_watch is about to be freed. */
  void (*freed)(void *ud, pygc_heap *h, pygc_object *obj);
  /* An error that cannot be raised: from pygc_report_unraisable, or no
   * memory to append to gc.garbage.  obj is borrowed, may be NULL. */
  void (*unraisable)(void *ud, pygc_heap *h, int status, const char *what, pygc_object *obj);
  /* While tracing is on (pygc_set_tracing): an object was made (alive 1,
   * with its size) or is about to be freed (alive 0).  Must not touch the
   * heap (tracemalloc-style tools record where the allocation happened). */
  void (*traced)(void *ud, pygc_heap *h, pygc_object *obj, size_t size, int alive);
  /* The finalizer phase of a collection has ended: every finalizer of its
   * unreachable set has run, and the resurrection check comes next.  A
   * host that lent out borrowed references to the set ends them here. */
  void (*finalized)(void *ud, pygc_heap *h);
  /* A weak reference with a callback lost its referent: call the callback
   * (pygc_weakref_callback(wr)) with wr.  wr is held for the call; the
   * heap is consistent and the hook may use it freely.  Errors cannot be
   * raised: report them (pygc_report_unraisable or the host's own way). */
  void (*weakref_callback)(void *ud, pygc_heap *h, pygc_object *wr);
} pygc_hooks;

/* ==== the heap ============================================================== */

/* Create a heap.  alloc NULL means malloc/realloc/free.  seed keys the
 * string hash (0: one is drawn from the clock and addresses).  Returns
 * NULL when memory runs out.  The heap owns an empty gc.garbage list. */
PYGC_API pygc_heap *pygc_heap_new(pygc_alloc_fn alloc, void *ud, uint64_t seed);
/* Destroy the heap and every object still in it, running no finalizer and
 * no hook; all memory goes back to the allocator.  Call pygc_collect(h, 2)
 * first for a graceful end.  Every pointer into the heap dies with it. */
PYGC_API void pygc_heap_free(pygc_heap *h);
/* Small blocks come from size-class pools by default (not in sanitizer
 * builds).  A heap that should hand every block to its allocator (to test
 * allocation failures one by one, or for a memory checker) turns them off
 * right after pygc_heap_new; returns 0 when it is too late. */
PYGC_API int pygc_heap_use_pools(pygc_heap *h, int on);
/* Call hooks.traced for every object made or freed from now on (on != 0). */
PYGC_API void pygc_set_tracing(pygc_heap *h, int on);
/* Install (copy) or read the hooks. */
PYGC_API void pygc_set_hooks(pygc_heap *h, const pygc_hooks *hooks);
PYGC_API void pygc_get_hooks(pygc_heap *h, pygc_hooks *out);
/* Report an error that cannot be raised (a C finalizer's failure) through
 * hooks.unraisable, or as a line through hooks.write.  obj is borrowed. */
PYGC_API void pygc_report_unraisable(pygc_heap *h, int status, const char *what, pygc_object *obj);

typedef struct pygc_heap_info {
  size_t objects;     /* live objects of every type */
  size_t tracked;     /* objects tracked by the collector, frozen included */
  size_t bytes;       /* bytes allocated through the heap's allocator now */
  size_t peak_bytes;  /* the most it ever held */
  size_t frozen;      /* objects in the permanent generation */
  size_t generation[3];
} pygc_heap_info;
/* Fill *out.  Walks the generation lists: O(tracked objects). */
PYGC_API void pygc_heap_get_info(pygc_heap *h, pygc_heap_info *out);
/* Bytes allocated now, O(1). */
PYGC_API size_t pygc_heap_bytes(const pygc_heap *h);

/* Check every invariant of the heap: list links, flags, counts, byte
 * accounting, table structure, and that no object is referenced more often
 * than its refcount says.  Returns 0 when sound, else non-zero with a
 * description in msg (msg may be NULL).  Returns 0 during a collection.
 * Called in the middle of a refcount chain release (from a finalizer or a
 * hook), it stays exact: objects the trashcan deferred and the ones being
 * deallocated are accounted for, and none of them may be referenced.
 * In PYGC_DEBUG builds it also stops (and names the type) when a host
 * type's size() answers inconsistently. */
PYGC_API int pygc_heap_verify(pygc_heap *h, char *msg, size_t msgsize);
/* How many references to o the host holds (its roots). */
typedef size_t (*pygc_external_fn)(pygc_object *o, void *ud);
/* The same checks, plus an exact balance: every object's refcount must
 * equal the references from the heap plus external(o) (external NULL: the
 * host holds none).  This is what catches a traverse that misses a
 * reference, or a reference the host leaked.  During a chain release the
 * balance cannot be exact (the objects being cleared hold references
 * nobody can see) and only the checks of pygc_heap_verify are made. */
PYGC_API int pygc_heap_verify_refs(pygc_heap *h, pygc_external_fn external, void *ud, char *msg, size_t msgsize);

/* ==== reference counting ===================================================== */
PYGC_API void pygc_incref(pygc_object *o);
/* Drop a reference; at zero the object is finalized (if it has a
 * finalizer not yet run), then its references are dropped and it is freed.
 * Deep chains are released without deep C recursion (a trashcan). */
PYGC_API void pygc_decref(pygc_heap *h, pygc_object *o);
/* The same for values: no-ops unless v holds an object. */
PYGC_API void pygc_value_incref(pygc_value v);
PYGC_API void pygc_value_decref(pygc_heap *h, pygc_value v);
/* The current count of references to o. */
PYGC_API size_t pygc_refcount(const pygc_object *o);

/* ==== host types and generic object functions ================================= */
/* Allocate a zeroed object of `size` bytes (>= sizeof(pygc_object)) of a
 * host type.  Returns a new reference (refcount 1), untracked, or NULL
 * (no memory, or a GC type without traverse).  Fill its fields, then call
 * pygc_track if the type is a GC type. */
PYGC_API pygc_object *pygc_object_new(pygc_heap *h, const pygc_type *type, size_t size);
/* Raw memory accounted to the heap, for storage a host object owns (free
 * it in the type's free function, and count it in its size function). */
PYGC_API void *pygc_mem_alloc(pygc_heap *h, size_t n);
PYGC_API void *pygc_mem_realloc(pygc_heap *h, void *p, size_t oldsize, size_t newsize);
PYGC_API void pygc_mem_free(pygc_heap *h, void *p, size_t n);
/* Start tracking a GC object (it joins generation 0; may run an automatic
 * collection, as CPython's allocation does).  Untrack takes it out. */
PYGC_API void pygc_track(pygc_heap *h, pygc_object *o);
PYGC_API void pygc_untrack(pygc_heap *h, pygc_object *o);
PYGC_API int pygc_is_tracked(const pygc_object *o);
/* Has the object's finalizer run (gc.is_finalized)? */
PYGC_API int pygc_is_finalized(const pygc_object *o);
/* Cross-heap analysis, for a host whose objects are also another
 * collector's (lib/cross.c says more).  Finds the tracked objects that only
 * tracked objects and the host's handles refer to (held(o, arg) of each
 * object's references are the host's handles; NULL: none), and among them
 * those that reach an object with flag `leaf` through such objects -- the
 * set; sets `mark` on each and calls fn(o, node, arg) for it (fn may take
 * references, nothing else).  The set's graph comes condensed, for a
 * mirror: node is 0, or k + 1 for the k-th of the objects the mirror needs
 * (those with handles, the leaves, and those with other than one parent in
 * the set); after every fn call, edge(from, to, arg) gives each edge of
 * the condensed graph (NULL: not wanted), such that node a reaches node b
 * through the set exactly when a reaches b through edges.  Returns how
 * many objects are in the set, 0 when no tracked object has `leaf`, -1
 * during a collection or without memory.  Runs no host code.  A class with
 * live instances counts as rooted (its instances would all join the set
 * through it). */
PYGC_API intptr_t pygc_cross_set(pygc_heap *h, uint32_t (*held)(const pygc_object *o, void *arg), unsigned leaf,
                                 unsigned mark, int (*fn)(pygc_object *o, size_t node, void *arg),
                                 int (*edge)(size_t from, size_t to, void *arg), void *arg);
/* A full collection (pygc_collect(h, 2)) in which one reference of each
 * object with flag `held` is the host's own, lent for the collection and
 * dropped by the host after it: garbage kept only by those references is
 * found, finalized, cleared and counted like any other. */
PYGC_API intptr_t pygc_collect_holding(pygc_heap *h, unsigned held);
/* Is the object in the unreachable set of the collection whose finalizers
 * are running now?  (Only then can host code see such an object.) */
PYGC_API int pygc_is_unreachable(const pygc_object *o);
/* Ask for hooks.freed when o is about to be freed. */
PYGC_API void pygc_watch(pygc_object *o);
/* Python's type name of a value: "NoneType", "int", ..., a class's name
 * for an instance, "type" for a class, type->name for host objects.
 * Static or owned by the object: valid while it lives. */
PYGC_API const char *pygc_type_name(pygc_value v);
/* Bytes o occupies (the type's size function). */
PYGC_API size_t pygc_sizeof(const pygc_object *o);
/* Call the type's traverse (object slots only). */
PYGC_API int pygc_traverse(pygc_object *o, pygc_visit_fn visit, void *arg);
/* Visit every value o holds, atomic values included (get_referents):
 * list and tuple items, dict keys and values, instance attribute values;
 * host types through their traverse.  Slots are borrowed.  The same walk
 * as pygc_edges(h, o, PYGC_EDGE_CYCLE | PYGC_EDGE_VALUE, ...). */
PYGC_API int pygc_referents(pygc_object *o, pygc_visit_fn visit, void *arg);

/* ---- edges: every reference an object holds, labelled ----------------------
 * Each type has one enumeration of its children; the collector, the
 * verifier, get_referents, get_referrers and pygc_edges all walk it, so a
 * host type's traverse is seen by every tool.  An edge has a kind: */
#define PYGC_EDGE_CYCLE 1u /* a reference traverse visits: the collector counts it */
#define PYGC_EDGE_OWNED 2u /* owned, but never part of a cycle, so traverse skips it: an
                            * instance's class, attribute names, a class's name */
#define PYGC_EDGE_VALUE 4u /* an atomic value in a slot (None, bool, int, float): no reference */
#define PYGC_EDGE_ALL 7u
/* ... and a label saying where in the object the child sits: */
typedef enum {
  PYGC_LABEL_INDEX = 1,  /* list or tuple item number `index` */
  PYGC_LABEL_DICT_KEY,   /* a dict key itself (`key` is the child too) */
  PYGC_LABEL_DICT_VALUE, /* the value stored under `key` */
  PYGC_LABEL_ATTR,       /* the instance attribute named `key` (a str) */
  PYGC_LABEL_ATTR_NAME,  /* an attribute's name str itself (OWNED) */
  PYGC_LABEL_CLASS,      /* an instance's class (OWNED) */
  PYGC_LABEL_CLASS_NAME, /* a class's name str (OWNED) */
  PYGC_LABEL_SLOT        /* a host type's slot: `index` counts traverse's visits
                          * from 0; `name` is type->slot_name's answer or NULL */
} pygc_label;
typedef struct pygc_edge {
  pygc_value child; /* the referenced value, borrowed */
  unsigned kind;    /* one PYGC_EDGE_* bit */
  int label;        /* pygc_label */
  size_t index;     /* INDEX, SLOT; the entry position for dict and attribute labels */
  pygc_value key;   /* DICT_KEY, DICT_VALUE: the key; ATTR, ATTR_NAME: the name; else None */
  const char *name; /* SLOT: the host's name for the slot, or NULL */
} pygc_edge;
/* Return non-zero to stop the walk (pygc_edges returns that value). */
typedef int (*pygc_edge_fn)(const pygc_edge *e, void *arg);
/* Call fn for each edge of o whose kind is in `kinds` (PYGC_EDGE_ALL for
 * all), in the object's order.  fn must not create or free objects.  h is
 * the heap o lives in (used to report a host type that breaks the traverse
 * contract in PYGC_DEBUG builds; may be NULL). */
PYGC_API int pygc_edges(pygc_heap *h, pygc_object *o, unsigned kinds, pygc_edge_fn fn, void *arg);

/* The typed accessors below check the type of the object they are given
 * (NULL included): a wrong one gets PYGC_ETYPE from functions returning a
 * status, and 0, NULL or "no entry" from the others, never a read of the
 * wrong layout.  Setters refuse values that are not values (a tag outside
 * pygc_tag, an object value holding NULL) with PYGC_EVALUE. */

/* ==== str ==================================================================== */
/* A new reference to an immutable string (bytes, any content).  Strings of
 * up to 64 bytes are interned: equal short strings are one object.  NULL
 * when memory runs out. */
PYGC_API pygc_object *pygc_str_new(pygc_heap *h, const char *s, size_t len);
/* The bytes of a str (NUL-terminated too), borrowed; NULL if o is not a
 * str.  *len receives the length when len is not NULL. */
PYGC_API const char *pygc_str_data(const pygc_object *o, size_t *len);

/* ==== list =================================================================== */
/* A new, empty, tracked list with room for `capacity` items (new ref). */
PYGC_API pygc_object *pygc_list_new(pygc_heap *h, size_t capacity);
PYGC_API size_t pygc_list_len(const pygc_object *l); /* 0 for a non-list */
/* Item i (0-based) into *out, borrowed.  PYGC_EINDEX, PYGC_ETYPE. */
PYGC_API int pygc_list_get(const pygc_object *l, size_t i, pygc_value *out);
/* Replace item i; the list takes its own reference to v. */
PYGC_API int pygc_list_set(pygc_heap *h, pygc_object *l, size_t i, pygc_value v);
PYGC_API int pygc_list_append(pygc_heap *h, pygc_object *l, pygc_value v);
/* Insert before index i (0 <= i <= len). */
PYGC_API int pygc_list_insert(pygc_heap *h, pygc_object *l, size_t i, pygc_value v);
/* Remove item i; its reference goes to *out (a new reference) when out is
 * not NULL, else it is dropped. */
PYGC_API int pygc_list_pop(pygc_heap *h, pygc_object *l, size_t i, pygc_value *out);
/* Remove every item. */
PYGC_API void pygc_list_clear(pygc_heap *h, pygc_object *l);

/* ==== tuple ================================================================== */
/* A new tuple of n values copied from items (each gets a reference; items
 * may be NULL for n Nones).  Tracked unless empty; a collection untracks a
 * tuple that holds no trackable object.  New reference or NULL (no
 * memory, or an item that is no value). */
PYGC_API pygc_object *pygc_tuple_new(pygc_heap *h, size_t n, const pygc_value *items);
PYGC_API size_t pygc_tuple_len(const pygc_object *t); /* 0 for a non-tuple */
/* Item i into *out, borrowed. */
PYGC_API int pygc_tuple_get(const pygc_object *t, size_t i, pygc_value *out);

/* ==== dict ==================================================================== */
/* A new, empty dict (new reference); untracked until its first insertion. */
PYGC_API pygc_object *pygc_dict_new(pygc_heap *h);
PYGC_API size_t pygc_dict_len(const pygc_object *d); /* 0 for a non-dict */
/* Look key up; the value goes to *out, borrowed.  PYGC_EKEY when absent;
 * PYGC_EUNHASHABLE / PYGC_ENAN for keys that cannot be keys.  Keys compare
 * as in Python: 1, 1.0 and True are one key. */
PYGC_API int pygc_dict_get(pygc_heap *h, pygc_object *d, pygc_value key, pygc_value *out);
/* Insert or replace; the dict takes references to key and value.  An
 * existing equal key is kept (Python keeps the first key). */
PYGC_API int pygc_dict_set(pygc_heap *h, pygc_object *d, pygc_value key, pygc_value value);
/* Remove key.  PYGC_EKEY when absent. */
PYGC_API int pygc_dict_del(pygc_heap *h, pygc_object *d, pygc_value key);
/* Iterate in insertion order: *pos starts at 0; returns 1 with borrowed key
 * and value (either may be NULL) while entries remain, 0 at the end. */
PYGC_API int pygc_dict_next(const pygc_object *d, size_t *pos, pygc_value *key, pygc_value *value);
/* The keys version of a dict or an instance's attributes: changes whenever
 * a key is added or removed (never on a value update), so an iterator that
 * saw the same version and size before and after knows its keys held.
 * 0 for other objects. */
PYGC_API uint32_t pygc_keys_version(const pygc_object *o);
/* The hash of a value as a key (PYGC_EUNHASHABLE, PYGC_ENAN,
 * PYGC_EOVERFLOW for tuples nested over 1000 deep, PYGC_EVALUE for a value
 * whose tag is no pygc_tag or an object value holding NULL).  h may be
 * NULL. */
PYGC_API int pygc_hash(pygc_heap *h, pygc_value v, uint64_t *out);
/* Python's == for keys: numbers across types, strings by content, tuples
 * item by item, other objects by identity.  Returns 1 or 0, exactly:
 * shared substructure (t = (t, t) many levels deep) is compared in linear
 * time.  Returns -1 ("cannot tell") only for tuples nested over 1000 deep
 * in non-last items or that would take over 2*10^7 item comparisons; dict
 * operations then fail with PYGC_EOVERFLOW.  Values that are not values
 * (bad tag) are unequal to everything. */
PYGC_API int pygc_equal(pygc_value a, pygc_value b);

/* ==== classes and instances ====================================================== */
#define PYGC_CLASS_FINALIZER 1u /* instances have a finalizer (hooks.finalize) */
#define PYGC_CLASS_LEGACY 2u    /* instances are uncollectable in cyclic garbage */
/* A new class named name[0..len) (new reference).  A class is tracked, as
 * CPython's heap types: it has attributes (pygc_getattr/setattr/delattr,
 * pygc_attr_next, as an instance), they may refer to the class itself or
 * to its instances, and the collector frees such cycles. */
PYGC_API pygc_object *pygc_class_new(pygc_heap *h, const char *name, size_t len, unsigned flags);
/* The class's name, borrowed (NUL-terminated); NULL if cls is not a class
 * (flags and host then answer 0; set_host does nothing). */
PYGC_API const char *pygc_class_name(const pygc_object *cls);
PYGC_API unsigned pygc_class_flags(const pygc_object *cls);
/* Change a class's flags (a host whose finalizer is a class attribute keeps
 * PYGC_CLASS_FINALIZER in step with it); ignored for objects that are not
 * classes. */
PYGC_API void pygc_class_set_flags(pygc_object *cls, unsigned flags);
/* One word the host may keep on a class (the binding keeps its Lua data). */
PYGC_API void pygc_class_set_host(pygc_object *cls, intptr_t host);
PYGC_API intptr_t pygc_class_host(const pygc_object *cls);
/* A new, tracked instance of cls (new reference; it holds cls). */
PYGC_API pygc_object *pygc_instance_new(pygc_heap *h, pygc_object *cls);
/* The class of an instance, borrowed; NULL for other objects. */
PYGC_API pygc_object *pygc_instance_class(const pygc_object *o);
/* Attributes by name, of an instance or a class (PYGC_ETYPE for other
 * objects; an instance's own attributes only: the fallback to its class is
 * the host's, as Python's attribute lookup).  getattr gives a borrowed value
 * (PYGC_EKEY when absent); setattr takes its own reference; delattr gives
 * PYGC_EKEY when absent. */
PYGC_API int pygc_getattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value *out);
PYGC_API int pygc_setattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value v);
PYGC_API int pygc_delattr(pygc_heap *h, pygc_object *o, const char *name, size_t len);
/* The same two with a hint: *hint says where the name was found last time
 * (any value will do: it is checked against the name's bytes on every use,
 * never trusted) and is updated when the name is found elsewhere.  A host
 * keeps one per name it looks up often (the binding: per Lua string). */
PYGC_API int pygc_getattr_hint(pygc_heap *h, pygc_object *o, const char *name, size_t len, uint32_t *hint,
                               pygc_value *out);
PYGC_API int pygc_setattr_hint(pygc_heap *h, pygc_object *o, const char *name, size_t len, uint32_t *hint,
                               pygc_value v);
PYGC_API size_t pygc_attr_count(const pygc_object *o);
/* Iterate attributes as pygc_dict_next does (names are str objects). */
PYGC_API int pygc_attr_next(const pygc_object *o, size_t *pos, pygc_value *name, pygc_value *value);

/* ==== weak references: Python's weakref ============================================= */
/* A weak reference does not keep its referent alive; pygc_weakref_get
 * answers NULL once the referent is gone.  Lists, dicts, instances,
 * classes and host types with PYGC_TYPE_WEAKREF accept them; tuples, strs
 * and weak references do not.  The rules are CPython's:
 *   - death by refcount: the finalizer runs first, with the weak references
 *     alive; unless it resurrects the object they are cleared, then the
 *     callbacks run (hooks.weakref_callback), newest reference first;
 *   - cyclic garbage: every weak reference to an unreachable object is
 *     cleared before any finalizer runs; a callback runs only if its weak
 *     reference is not itself garbage; weak references freed by their own
 *     callbacks count in pygc_collect's result.
 * Weak references are tracked GC objects holding their callback. */
PYGC_API extern const pygc_type pygc_weakref_type;   /* "weakref" */
PYGC_API extern const pygc_type pygc_weakproxy_type; /* "weakproxy": a proxy (the host forwards) */
/* Does o accept weak references? */
PYGC_API int pygc_weakref_accepts(const pygc_object *o);
/* A new reference to a weak reference to obj (proxy != 0: a weakproxy).
 * callback: None for none (a host value, called through the hook).  Without
 * a callback the existing one without callback of that kind is returned, as
 * CPython.  NULL with *status (may be NULL) set: PYGC_ETYPE when obj does
 * not accept weak references, PYGC_EVALUE for a bad callback value,
 * PYGC_ENOMEM. */
PYGC_API pygc_object *pygc_weakref_new(pygc_heap *h, pygc_object *obj, pygc_value callback, int proxy, int *status);
/* The referent, borrowed, or NULL once dead (or if wr is no weakref). */
PYGC_API pygc_object *pygc_weakref_get(const pygc_object *wr);
/* The callback (None when there is none or it was dropped), borrowed. */
PYGC_API pygc_value pygc_weakref_callback(const pygc_object *wr);
/* How many weak references refer to o; and each of them, in the order
 * CPython's getweakrefs gives (fn gets borrowed ones, must not create or
 * free objects; a non-zero return stops).  Returns the count. */
PYGC_API size_t pygc_weakref_count(pygc_heap *h, const pygc_object *o);
typedef int (*pygc_object_fn)(pygc_object *o, void *arg); /* as below, in introspection */
PYGC_API size_t pygc_weakrefs(pygc_heap *h, const pygc_object *o, pygc_object_fn fn, void *arg);

/* ==== the collector: Python's gc module ============================================ */
#define PYGC_DEBUG_STATS 1
#define PYGC_DEBUG_COLLECTABLE 2
#define PYGC_DEBUG_UNCOLLECTABLE 4
#define PYGC_DEBUG_SAVEALL 32
#define PYGC_DEBUG_LEAK 38

/* Collect `generation` (0..2) and all younger ones.  Returns collected +
 * uncollectable; 0 when a collection is already running; -1 for an
 * invalid generation.  Runs finalizers and callbacks (hooks). */
PYGC_API intptr_t pygc_collect(pygc_heap *h, int generation);
/* Automatic collection on or off (on by default). */
PYGC_API void pygc_enable(pygc_heap *h);
PYGC_API void pygc_disable(pygc_heap *h);
PYGC_API int pygc_isenabled(const pygc_heap *h);
/* Is a collection running now? */
PYGC_API int pygc_is_collecting(const pygc_heap *h);
PYGC_API void pygc_set_debug(pygc_heap *h, int flags);
PYGC_API int pygc_get_debug(const pygc_heap *h);
/* Thresholds per generation (defaults 700, 10, 10; threshold 0 of
 * generation 0 disables automatic collection).  Out-of-range generations
 * are ignored (get returns 0). */
PYGC_API void pygc_set_threshold(pygc_heap *h, int generation, int64_t value);
PYGC_API int64_t pygc_get_threshold(const pygc_heap *h, int generation);
/* gc.get_count(): generation 0's allocations minus deallocations since its
 * last collection; generations 1 and 2: collections of the younger one. */
PYGC_API int64_t pygc_get_count(const pygc_heap *h, int generation);
typedef struct pygc_gen_stats {
  intptr_t collections, collected, uncollectable;
} pygc_gen_stats;
PYGC_API void pygc_get_stats(const pygc_heap *h, pygc_gen_stats out[3]);
/* Switch between CPython's generational collector (0, the default) and
 * the incremental one (1): a young and an old generation, the old one
 * collected in paced increments (collect(1) performs one; get_objects(1)
 * is empty; threshold2 is ignored; threshold1 scales the increment).
 * Allowed at any time but during a collection (returns 0 then). */
PYGC_API int pygc_set_incremental(pygc_heap *h, int on);
PYGC_API int pygc_is_incremental(const pygc_heap *h);
/* Move every tracked object into the permanent generation (ignored by
 * collections); unfreeze moves them back into generation 2. */
PYGC_API void pygc_freeze(pygc_heap *h);
PYGC_API void pygc_unfreeze(pygc_heap *h);
PYGC_API size_t pygc_get_freeze_count(const pygc_heap *h);
/* gc.garbage, borrowed: the legacy objects found uncollectable, and every
 * unreachable object under DEBUG_SAVEALL.  Clear it to let them go. */
PYGC_API pygc_object *pygc_garbage(pygc_heap *h);

/* ==== introspection ================================================================= */
typedef int (*pygc_object_fn)(pygc_object *o, void *arg);
/* Call fn (may be NULL: just count) for each tracked object of generation
 * 0..2, or of all three when generation is -1 (the permanent generation is
 * left out, as CPython).  fn gets borrowed objects, must not create or free
 * objects, and stops the walk by returning non-zero.  Returns the count. */
PYGC_API size_t pygc_get_objects(pygc_heap *h, int generation, pygc_object_fn fn, void *arg);
/* Tracked objects outside the permanent generation that refer directly to
 * any of the n targets (objects by identity, str and atomic values by
 * equality).  Same rules for fn.  Returns the count. */
PYGC_API size_t pygc_get_referrers(pygc_heap *h, const pygc_value *targets, size_t n, pygc_object_fn fn, void *arg);

/* ==== repr ============================================================================ */
typedef struct pygc_buf {
  char *data; /* NUL-terminated after every append */
  size_t len, cap;
} pygc_buf;
/* Append Python's repr of v to buf (start with a zeroed pygc_buf; memory
 * comes from the heap's allocator; free it with pygc_buf_free).  Works at
 * any nesting depth without recursion; cycles print as [...], {...}, (...).
 * PYGC_ENOMEM leaves what was written so far. */
PYGC_API int pygc_repr(pygc_heap *h, pygc_value v, pygc_buf *buf);
/* The same, giving up with PYGC_EOVERFLOW once more than maxlen bytes were
 * written (a list holding the same list twice, nested n deep, has a repr
 * 2^n long, as in CPython). */
PYGC_API int pygc_repr_limited(pygc_heap *h, pygc_value v, pygc_buf *buf, size_t maxlen);
PYGC_API void pygc_buf_free(pygc_heap *h, pygc_buf *buf);

#ifdef __cplusplus
}
#endif
#endif
