/*
 * pygc_int.h -- private to lib/: the heap's layout, object flags, the
 * intrusive object lists, and the built-in types' layouts.
 *
 * The invariant the whole heap rests on: every live object is on exactly
 * one doubly linked list -- the untracked list, one of the three
 * generations, the permanent generation, or one of the collector's
 * temporary lists during a collection -- except while it waits on the
 * trashcan stack (refcount 0, unlinked).  Tracked <=> on a generation list.
 */
#ifndef PYGC_INT_H
#define PYGC_INT_H

#include "pygc.h"
#include "pygc_config.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#ifdef PYGC_DEBUG
#define pygc_assert(c) assert(c)
#else
#define pygc_assert(c) ((void)0)
#endif

/* object flags */
#define F_TRACKED 0x01u     /* on a generation list */
#define F_FINALIZED 0x02u   /* finalizer has run (PEP 442) */
#define F_COLLECTING 0x04u  /* in the set being collected */
#define F_UNREACHABLE 0x08u /* tentatively unreachable */
#define F_WATCHED 0x10u     /* call hooks.freed before freeing */
#define F_MARK 0x20u        /* scratch: verifier, repr recursion guard */
#define F_INTERNED 0x40u    /* str in the intern set */
#define F_GC 0x80u          /* type has PYGC_TYPE_GC */
/* 0x100 is PYGC_FLAG_HOST1 */
#define F_REGION 0x200u     /* in the region an increment is building */
#define F_SPACE 0x400u      /* incremental mode: visited iff equal to the heap's visited_space */
#define F_FROZEN 0x800u     /* in the permanent generation */

#define REFCNT_MAX UINT32_MAX /* saturated: immortal */

/* list heads are bare object headers used as sentinels */
typedef pygc_object gc_head;

static inline void gclist_init(gc_head *l) { l->gc_next = l->gc_prev = l; }
static inline int gclist_empty(const gc_head *l) { return l->gc_next == l; }
static inline void gclist_append(pygc_object *o, gc_head *l) {
  pygc_object *last = l->gc_prev;
  o->gc_prev = last;
  o->gc_next = l;
  last->gc_next = o;
  l->gc_prev = o;
}
static inline void gclist_remove(pygc_object *o) {
  o->gc_prev->gc_next = o->gc_next;
  o->gc_next->gc_prev = o->gc_prev;
  o->gc_next = o->gc_prev = NULL;
}
static inline void gclist_move(pygc_object *o, gc_head *to) {
  o->gc_prev->gc_next = o->gc_next;
  o->gc_next->gc_prev = o->gc_prev;
  gclist_append(o, to);
}
/* append all of from to to; from becomes empty */
static inline void gclist_merge(gc_head *from, gc_head *to) {
  if (!gclist_empty(from)) {
    pygc_object *tail = to->gc_prev;
    tail->gc_next = from->gc_next;
    from->gc_next->gc_prev = tail;
    to->gc_prev = from->gc_prev;
    to->gc_prev->gc_next = to;
  }
  gclist_init(from);
}
static inline size_t gclist_size(const gc_head *l) {
  size_t n = 0;
  for (const pygc_object *o = l->gc_next; o != l; o = o->gc_next) n++;
  return n;
}

typedef struct gen_state {
  gc_head head;
  int64_t threshold;
  int64_t count;
} gen_state;

struct pygc_heap {
  pygc_alloc_fn alloc;
  void *alloc_ud;
  pygc_hooks hooks;
  uint64_t seed[2];

  gen_state gen[3];
  gc_head permanent;
  gc_head untracked;
  pygc_gen_stats stats[3];
  int64_t long_lived_total;
  int64_t long_lived_pending;
  int enabled;
  int collecting;
  /* the incremental collector (pygc_set_incremental): the old generation
   * is gen[2] (pending this pass) plus `visited`; an object's F_SPACE bit
   * says which, and flipping visited_space starts a new pass */
  int incremental;
  unsigned visited_space;
  gc_head visited;
  size_t inc_work;       /* old objects to seed the next increment with */
  size_t pass_old;       /* old objects when the current pass began */
  size_t pass_promoted;  /* objects promoted since (an estimate of growth) */
  size_t pass_collected; /* objects collected by increments since */
  int inc_full_due;      /* the pass fell behind: the next collection is full */
  intptr_t passes;
  int debug;
  int destroying;
  int tracing;

  pygc_object *garbage; /* a list */

  /* trashcan: deallocation depth and objects whose release was deferred */
  int trash_depth;
  pygc_object *trash; /* singly linked through gc_next */

  /* accounting */
  size_t nobjects;
  size_t bytes;
  size_t peak_bytes;
  size_t scratch_bytes; /* pygc_buf memory held by hosts */

  /* size-class pools: free lists, and the pages they were carved from */
  int use_pools;
  void *pool_free[PYGC_POOL_MAX / PYGC_POOL_GRAIN];
  void *pool_pages; /* singly linked through the first word of each page */
  size_t pool_bytes;

  /* attribute names: the str for a (pointer, length) a host passed before.
   * Hosts pass the same name bytes again and again (C literals, Lua's
   * interned strings): a hit spares the keyed hash.  Entries are checked
   * by content, and cleared when their str is freed. */
  struct name_cache {
    const char *ptr;
    size_t len;
    pygc_object *str; /* interned, borrowed */
  } names[64];

  /* intern set of short strings (open addressing, not owning) */
  pygc_object **intern;
  size_t intern_cap, intern_used;
};

/* ---- layouts of the built-in types ------------------------------------ */
typedef struct str_obj {
  pygc_object h;
  size_t len;
  uint64_t hash;
  char data[1];
} str_obj;

typedef struct list_obj {
  pygc_object h;
  pygc_value *items;
  size_t len, cap;
} list_obj;

typedef struct tuple_obj {
  pygc_object h;
  size_t len;
  uint64_t hash; /* cached once computed (tuples are immutable), else 0 */
  pygc_value items[1];
} tuple_obj;

/* An insertion-ordered hash table (CPython's compact dict): an index array
 * of int32 slots (-1 empty, -2 dummy) followed by the entry array. */
#define TAG_DEAD 0xFFu /* key tag of a deleted table entry */

typedef struct tab_entry {
  pygc_value key, value;
  uint64_t hash;
} tab_entry;

/* Small tables (log2size 0, at most TAB_SMALL_MAX entries) have no index:
 * a lookup scans the entries, which is faster and far smaller for the few
 * attributes an instance usually has. */
#define TAB_SMALL_MAX 8

typedef struct table {
  void *mem;         /* [indices], then entries; NULL while never filled */
  uint32_t log2size; /* index slots = 1 << log2size; 0 = small, no index */
  uint32_t used;     /* live entries */
  uint32_t nentries; /* entries used, dead ones included */
  uint32_t cap;      /* entry capacity */
  uint32_t version;  /* keys version: bumped when a key is added or removed (not on value updates) */
} table;

typedef struct dict_obj {
  pygc_object h;
  table t;
} dict_obj;

typedef struct class_obj {
  pygc_object h;
  pygc_object *name; /* str */
  unsigned flags;
  intptr_t host;
} class_obj;

typedef struct instance_obj {
  pygc_object h;
  pygc_object *cls;
  table attrs;
} instance_obj;

/* ---- internal functions ------------------------------------------------ */
void *heap_alloc(pygc_heap *h, size_t n);
void *heap_realloc(pygc_heap *h, void *p, size_t osize, size_t nsize);
void heap_free_mem(pygc_heap *h, void *p, size_t n);
pygc_object *heap_new_object(pygc_heap *h, const pygc_type *t, size_t size);
void heap_track(pygc_heap *h, pygc_object *o);
void heap_dealloc(pygc_heap *h, pygc_object *o);
void gc_maybe_collect(pygc_heap *h);

/* values */
static inline void val_incref(pygc_value v) {
  if (v.tag == PYGC_TOBJ) pygc_incref(v.u.o);
}
static inline void val_decref(pygc_heap *h, pygc_value v) {
  if (v.tag == PYGC_TOBJ) pygc_decref(h, v.u.o);
}
/* is the value an object the collector may track? */
static inline int val_may_be_tracked(pygc_value v) {
  if (v.tag != PYGC_TOBJ) return 0;
  if (v.u.o->type == &pygc_tuple_type) return (v.u.o->flags & F_TRACKED) != 0;
  return (v.u.o->flags & F_GC) != 0;
}
uint64_t str_hash_bytes(const pygc_heap *h, const char *s, size_t len);
pygc_object *str_intern_find(pygc_heap *h, const char *s, size_t len, uint64_t hash);
void str_intern_remove(pygc_heap *h, pygc_object *s);
void str_intern_free(pygc_heap *h);
pygc_object *str_name_lookup(pygc_heap *h, const char *s, size_t len, uint64_t *hash);

/* tables */
int tab_lookup(pygc_heap *h, const table *t, pygc_value key, uint64_t hash, size_t *ix);
int tab_insert(pygc_heap *h, table *t, pygc_value key, uint64_t hash, pygc_value value, int *added);
int tab_delete(pygc_heap *h, table *t, pygc_value key, uint64_t hash);
int tab_next(const table *t, size_t *pos, pygc_value *key, pygc_value *value);
int tab_traverse(table *t, pygc_visit_fn visit, void *arg, int keys);
void tab_clear(pygc_heap *h, table *t);
void tab_free(pygc_heap *h, table *t);
size_t tab_bytes(const table *t);
int tab_verify(const table *t, char *msg, size_t n);
static inline tab_entry *tab_entries(const table *t) {
  return t->log2size ? (tab_entry *)((char *)t->mem + ((size_t)4 << t->log2size)) : (tab_entry *)t->mem;
}

int dict_verify(const pygc_object *o, char *msg, size_t n);
int instance_verify(const pygc_object *o, char *msg, size_t n);

#endif
