/*
 * pygc_int.h -- private to lib/: the heap's layout, object flags, the
 * intrusive object lists, and the built-in types' layouts.
 *
 * The invariant the whole heap rests on: every live object is on exactly
 * one doubly linked list -- the untracked list, one of the three
 * generations, the permanent generation, or one of the collector's
 * temporary lists during a collection -- except while it waits on the
 * trashcan stack (refcount 0, unlinked) or is being deallocated (refcount
 * 0, on no list, counted in h->dying).  Tracked <=> on a generation list.
 */
#ifndef PYGC_INT_H
#define PYGC_INT_H

#include "pygc.h"
#include "pygc_config.h"

#include <stdio.h>
#include <string.h>

/* Functions shared between lib/'s files: pygc__-prefixed, and hidden from
 * the shared library's exports whatever the compiler flags (nm of the
 * static library shows them, prefixed; tools/check_symbols.sh checks). */
#if defined(__GNUC__)
#define PYGC_INTERNAL __attribute__((visibility("hidden")))
#else
#define PYGC_INTERNAL
#endif

/* Invariant checks, on in PYGC_DEBUG builds (the sanitizer, fuzz and OOM
 * builds define it) whatever NDEBUG says: they report and abort. */
PYGC_INTERNAL void pygc__assert_failed(const char *where, const char *what);
#ifdef PYGC_DEBUG
#define pygc_assert(c) ((c) ? (void)0 : pygc__assert_failed(__FILE__, "assertion failed: " #c))
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
#define F_WEAKLY 0x1000u    /* weakly referenced: has a list in h->wr_tab (weakref.c) */
/* bits 24..31: the type's own byte, set at creation and kept for life
 * (lists: how many items fit inline, list.c) */
#define F_TYPE_SHIFT 24u
#define F_TYPE_MASK 0xFF000000u

/* What an object's flags say about the lists it is on and the collector's
 * view of it.  Whenever an object leaves the generation lists (untracked,
 * deferred by the trashcan, resurrected by its finalizer, freed) these
 * are cleared together -- one mask, so that none is forgotten. */
#define F_LIST_STATE (F_TRACKED | F_COLLECTING | F_UNREACHABLE | F_FROZEN | F_REGION)

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
  unsigned held; /* pygc_collect_holding's flag, during its collection */
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
  /* objects being deallocated now (refcount 0, one per dealloc_one frame
   * on the C stack, on no list): counted so that the verifier, called from
   * a finalizer in the middle of a release, still accounts for every object */
  size_t dying;

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

  /* weak references: each weakly referenced object (F_WEAKLY) -> the head
   * of its list of weakrefs (open addressing, weakref.c) */
  struct wr_slot *wr_tab;
  size_t wr_cap, wr_used;
};

/* ---- layouts of the built-in types ------------------------------------ */
typedef struct str_obj {
  pygc_object h;
  size_t len;
  uint64_t hash;
  char data[1];
} str_obj;

/* A list made with a small capacity (pygc_list_new) keeps its first
 * items in its own block, right after the struct: one allocation and one
 * free instead of two, and the items share the header's cache lines,
 * which every pass of the collector reads.  The inline room's size is in
 * the flags' type byte (F_INLINE_*); items points at it until the list
 * outgrows it or is cleared, and never again after (a finalizer run by
 * clear's decrefs may append: it gets a block of its own).  An empty
 * list (no capacity) has no inline room: 56 bytes, as CPython's. */
typedef struct list_obj {
  pygc_object h;
  pygc_value *items;
  size_t len, cap;
} list_obj;
#define LIST_INLINE_MAX 8u
static inline unsigned list_inline_cap(const list_obj *l) { return (unsigned)(l->h.flags >> F_TYPE_SHIFT); }
static inline pygc_value *list_inline_items(list_obj *l) { return (pygc_value *)(l + 1); }
/* the block (struct and inline room) and the items' own block if any */
static inline size_t list_bytes(const list_obj *l) {
  size_t n = sizeof(list_obj) + list_inline_cap(l) * sizeof(pygc_value);
  if (l->items != NULL && l->items != (const pygc_value *)(l + 1)) n += l->cap * sizeof(pygc_value);
  return n;
}

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

/* the entry array: after the index of an indexed table, at the start of a
 * small one */
static inline tab_entry *tab_entries(const table *t) {
  return t->log2size ? (tab_entry *)((char *)t->mem + ((size_t)4 << t->log2size)) : (tab_entry *)t->mem;
}

typedef struct dict_obj {
  pygc_object h;
  table t;
} dict_obj;

/* The attribute names a class's instances share (attrs.c; CPython 3.11's
 * shared keys): append-only, at most IKEYS_MAX, each an owned str. */
#define IKEYS_MAX 16
typedef struct ikeys {
  uint32_t n, cap;
  pygc_value names[]; /* cap of them, n used */
} ikeys;

typedef struct class_obj {
  pygc_object h;
  pygc_object *name; /* str */
  unsigned flags;
  intptr_t host;
  table attrs;       /* class attributes, methods included: keyed by str as an instance's */
  size_t ninstances; /* live instances (each holds the class): cross.c roots a class that has any */
  ikeys *keys; /* NULL until an instance has an attribute (attrs.c) */
} class_obj;

/* An instance's attributes (attrs.c), compact or in a table.  Compact:
 * vals[0..n) are the values in insertion order, each one 8-byte word
 * (ival_* below), and nibble i of `order` is the index in the class's
 * keys of value i's name; the instance owns a reference to each name it
 * uses, as a table does.  When a name or a value does not fit (more than
 * IKEYS_MAX names, an int beyond 48 bits, ...) the instance moves, for
 * good, to table mode: tab, a table of its own. */
typedef struct instance_obj {
  pygc_object h;
  pygc_object *cls;
  union {
    uint64_t *vals; /* compact: cap words */
    table *tab;     /* table mode */
  } a;
  uint64_t order;
  uint32_t version; /* keys version (table mode: plus the table's) */
  uint8_t n, cap, is_table;
} instance_obj;

/* A compact attribute value: a double as its bits, or, in the NaN space
 * above IVAL_BOX (negative NaNs with a payload, which no arithmetic
 * makes: such a double sends its instance to table mode), a 2-bit kind
 * and 48 bits: an object pointer, an int in [-2^47, 2^47), None or a
 * bool. */
#define IVAL_BOX 0xFFFC000000000000ull
#define IVAL_OBJ 0xFFFCu
#define IVAL_INT 0xFFFDu
#define IVAL_SPECIAL 0xFFFEu
#define IVAL_LOW 0xFFFFFFFFFFFFull
static inline int ival_is_obj(uint64_t w) { return (unsigned)(w >> 48) == IVAL_OBJ; }
static inline pygc_object *ival_obj(uint64_t w) { return (pygc_object *)(uintptr_t)(w & IVAL_LOW); }
static inline pygc_value ival_decode(uint64_t w) {
  if (w < IVAL_BOX) {
    double d;
    memcpy(&d, &w, sizeof d);
    return pygc_float(d);
  }
  switch ((unsigned)(w >> 48)) {
  case IVAL_OBJ: return pygc_obj(ival_obj(w));
  case IVAL_INT: return pygc_int((int64_t)(w << 16) >> 16);
  default: return (w & 2) ? pygc_bool((int)(w & 1)) : pygc_none();
  }
}
/* 1 with *w set, or 0: the value needs table mode */
static inline int ival_encode(pygc_value v, uint64_t *w) {
  switch (v.tag) {
  case PYGC_TNONE: *w = (uint64_t)IVAL_SPECIAL << 48; return 1;
  case PYGC_TBOOL: *w = ((uint64_t)IVAL_SPECIAL << 48) | 2u | (v.u.b != 0); return 1;
  case PYGC_TINT:
    if (v.u.i < -((int64_t)1 << 47) || v.u.i >= ((int64_t)1 << 47)) return 0;
    *w = ((uint64_t)IVAL_INT << 48) | ((uint64_t)v.u.i & IVAL_LOW);
    return 1;
  case PYGC_TFLOAT: memcpy(w, &v.u.f, sizeof *w); return *w < IVAL_BOX;
  case PYGC_TOBJ:
    if ((uint64_t)(uintptr_t)v.u.o > IVAL_LOW) return 0;
    *w = ((uint64_t)IVAL_OBJ << 48) | (uint64_t)(uintptr_t)v.u.o;
    return 1;
  default: return 0;
  }
}
static inline unsigned ival_key(const instance_obj *in, unsigned i) { return (unsigned)(in->order >> (4 * i)) & 15u; }

/* A weak reference (weakref.c): the referent is not a reference; the
 * callback is.  Every weakref of an object is on that object's list. */
typedef struct weakref_obj {
  pygc_object h;
  pygc_object *referent;            /* borrowed; NULL once cleared */
  pygc_value callback;              /* owned; None: no callback */
  struct weakref_obj *prev, *next;  /* the referent's list */
  struct weakref_obj *cbnext;       /* chain of callbacks about to run */
  uint64_t hash;                    /* the referent's, once asked */
  int hashed;
} weakref_obj;
struct wr_slot {
  pygc_object *obj; /* NULL: empty */
  weakref_obj *head;
};
static inline int is_weakref_type(const pygc_type *t) { return t == &pygc_weakref_type || t == &pygc_weakproxy_type; }

/* ---- the one child enumeration ----------------------------------------------
 * Every walk over an object's children -- the collector's passes, the
 * built-in types' traverse, get_referents, get_referrers, the verifier and
 * pygc_edges -- goes through obj_visit below: one function per type says
 * what the type holds, and each walk asks for the kinds of edge it wants
 * (pygc.h: PYGC_EDGE_CYCLE, _OWNED, _VALUE).
 *
 * The visitor gets the slot, the edge's kind and its label (pygc_label,
 * with an index and, for tables, the entry's key).  Everything is inline:
 * called with a constant `kinds` and a visitor that is itself inline, the
 * compiler folds the kind tests and label arguments away, so the hot
 * passes of gc.c cost what a hand-written loop over the slots costs (one
 * switch on the type, no indirect call per reference).  Host types go
 * through their traverse, one indirect call per reference. */

#if defined(__GNUC__)
#define PYGC_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define PYGC_ALWAYS_INLINE inline
#endif

typedef int (*edge_visit_fn)(pygc_value *slot, unsigned kind, int label, size_t index, const pygc_value *key,
                             void *arg);
/* a visitor's parameter list, for visitors that use few of them */
#define EDGE_PARAMS pygc_value *slot, unsigned kind, int label, size_t index, const pygc_value *key, void *arg
#define EDGE_UNUSED ((void)slot, (void)kind, (void)label, (void)index, (void)key, (void)arg)

/* the kind of the edge a value slot makes: a reference or an atomic value */
static PYGC_ALWAYS_INLINE unsigned slot_kind(const pygc_value *v) {
  return v->tag == PYGC_TOBJ ? PYGC_EDGE_CYCLE : PYGC_EDGE_VALUE;
}

/* list and tuple: their items, labelled by position */
static PYGC_ALWAYS_INLINE int items_visit(pygc_value *items, size_t len, unsigned kinds, edge_visit_fn fn,
                                          void *arg) {
  for (size_t i = 0; i < len; i++) {
    unsigned k = slot_kind(&items[i]);
    if (kinds & k) {
      int r = fn(&items[i], k, PYGC_LABEL_INDEX, i, NULL, arg);
      if (r) return r;
    }
  }
  return 0;
}

/* a table: a dict's keys and values, or an instance's attribute names
 * (owned strs: never in a cycle) and values */
static PYGC_ALWAYS_INLINE int table_visit(table *t, int is_dict, unsigned kinds, edge_visit_fn fn, void *arg) {
  if (t->mem == NULL) return 0;
  tab_entry *e = tab_entries(t);
  for (uint32_t i = 0; i < t->nentries; i++) {
    if (e[i].key.tag == TAG_DEAD) continue;
    int r;
    unsigned kk = is_dict ? slot_kind(&e[i].key) : PYGC_EDGE_OWNED;
    if ((kinds & kk) &&
        (r = fn(&e[i].key, kk, is_dict ? PYGC_LABEL_DICT_KEY : PYGC_LABEL_ATTR_NAME, i, &e[i].key, arg)) != 0)
      return r;
    unsigned kv = slot_kind(&e[i].value);
    if ((kinds & kv) &&
        (r = fn(&e[i].value, kv, is_dict ? PYGC_LABEL_DICT_VALUE : PYGC_LABEL_ATTR, i, &e[i].key, arg)) != 0)
      return r;
  }
  return 0;
}

/* a host type: its traverse, each visit an edge labelled by its order */
typedef struct host_edges {
  edge_visit_fn fn;
  void *arg;
  size_t n; /* visits so far: the SLOT label's index */
  pygc_object *self;
#ifdef PYGC_DEBUG
  const pygc_value *seen[64]; /* the first slots visited: a slot visited twice breaks the contract */
#endif
} host_edges;
PYGC_INTERNAL int pygc__host_edge(pygc_value *slot, void *arg);
/* a host type broke the contract pygc.h states (debug builds): say which, and stop */
PYGC_INTERNAL void pygc__contract_failed(const pygc_type *t, const char *what);
PYGC_INTERNAL int pygc__host_visit(pygc_object *o, edge_visit_fn fn, void *arg);

static PYGC_ALWAYS_INLINE int obj_visit(pygc_object *o, unsigned kinds, edge_visit_fn fn, void *arg) {
  const pygc_type *t = o->type;
  if (t == &pygc_list_type) return items_visit(((list_obj *)o)->items, ((list_obj *)o)->len, kinds, fn, arg);
  if (t == &pygc_instance_type) {
    instance_obj *in = (instance_obj *)o;
    /* a cycle edge: classes are collectable, and an instance and its
     * class can be a cycle (A.inst = A()) */
    if ((kinds & PYGC_EDGE_CYCLE) && in->cls) {
      pygc_value c = pygc_obj(in->cls);
      int r = fn(&c, PYGC_EDGE_CYCLE, PYGC_LABEL_CLASS, 0, NULL, arg);
      if (r) return r;
    }
    if (in->is_table) return table_visit(in->a.tab, 0, kinds, fn, arg);
    /* compact: the slot handed to fn is a copy (visitors only read) */
    for (unsigned i = 0; i < in->n; i++) {
      uint64_t w = in->a.vals[i];
      pygc_value *name = &((class_obj *)in->cls)->keys->names[ival_key(in, i)];
      int r;
      if ((kinds & PYGC_EDGE_OWNED) && (r = fn(name, PYGC_EDGE_OWNED, PYGC_LABEL_ATTR_NAME, i, name, arg)) != 0)
        return r;
      unsigned kv = ival_is_obj(w) ? PYGC_EDGE_CYCLE : PYGC_EDGE_VALUE;
      if (kinds & kv) {
        pygc_value v = kv == PYGC_EDGE_CYCLE ? pygc_obj(ival_obj(w)) : ival_decode(w);
        if ((r = fn(&v, kv, PYGC_LABEL_ATTR, i, name, arg)) != 0) return r;
      }
    }
    return 0;
  }
  if (t == &pygc_dict_type) return table_visit(&((dict_obj *)o)->t, 1, kinds, fn, arg);
  if (t == &pygc_tuple_type) return items_visit(((tuple_obj *)o)->items, ((tuple_obj *)o)->len, kinds, fn, arg);
  if (t == &pygc_class_type) {
    class_obj *c = (class_obj *)o;
    if ((kinds & PYGC_EDGE_OWNED) && c->name) {
      pygc_value nm = pygc_obj(c->name);
      int r = fn(&nm, PYGC_EDGE_OWNED, PYGC_LABEL_CLASS_NAME, 0, NULL, arg);
      if (r) return r;
    }
    /* the names its instances share (attrs.c) */
    for (uint32_t i = 0; (kinds & PYGC_EDGE_OWNED) && c->keys && i < c->keys->n; i++) {
      int r = fn(&c->keys->names[i], PYGC_EDGE_OWNED, PYGC_LABEL_ATTR_NAME, i, &c->keys->names[i], arg);
      if (r) return r;
    }
    return table_visit(&c->attrs, 0, kinds, fn, arg);
  }
  if (t == &pygc_str_type || t->traverse == NULL || !(kinds & PYGC_EDGE_CYCLE)) return 0;
  return pygc__host_visit(o, fn, arg);
}

/* the built-in types' traverse members, from the same enumeration */
typedef struct traverse_adapt {
  pygc_visit_fn visit;
  void *arg;
} traverse_adapt;
static inline int traverse_adapt_fn(EDGE_PARAMS) {
  EDGE_UNUSED;
  traverse_adapt *a = arg;
  return a->visit(slot, a->arg);
}
static inline int obj_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  traverse_adapt a = {visit, arg};
  return obj_visit(o, PYGC_EDGE_CYCLE, traverse_adapt_fn, &a);
}

/* ---- internal functions ------------------------------------------------ */
PYGC_INTERNAL void *pygc__heap_alloc(pygc_heap *h, size_t n);
PYGC_INTERNAL void *pygc__heap_realloc(pygc_heap *h, void *p, size_t osize, size_t nsize);
PYGC_INTERNAL void pygc__heap_free_mem(pygc_heap *h, void *p, size_t n);
PYGC_INTERNAL pygc_object *pygc__heap_new_object(pygc_heap *h, const pygc_type *t, size_t size);
PYGC_INTERNAL void pygc__heap_track(pygc_heap *h, pygc_object *o);
/* a GC object tracked from birth; only its header is set (heap.c) */
PYGC_INTERNAL pygc_object *pygc__heap_new_tracked(pygc_heap *h, const pygc_type *t, size_t size);
/* Give back the block of an object whose storage is gone (after free). */
PYGC_INTERNAL void pygc__heap_free_object(pygc_heap *h, pygc_object *o);
/* Debug builds put the size an object was made with in front of its block,
 * so that a size() that answers something else is caught (and named)
 * instead of corrupting the pools. */
#ifdef PYGC_DEBUG
#define OBJ_PAD 16u
#else
#define OBJ_PAD 0u
#endif
/* the bytes an object's block and storage hold, as the heap accounts them */
static inline size_t obj_bytes(const pygc_object *o) { return o->type->size(o) + OBJ_PAD; }
PYGC_INTERNAL void pygc__heap_dealloc(pygc_heap *h, pygc_object *o);
/* a dying list's clear and free in one (list.c): returns its block's size */
PYGC_INTERNAL size_t pygc__list_dealloc(pygc_heap *h, pygc_object *o);
/* the same for a dying instance (instance.c) */
PYGC_INTERNAL size_t pygc__instance_release(pygc_heap *h, pygc_object *o);
PYGC_INTERNAL void pygc__gc_maybe_collect(pygc_heap *h);
/* after an allocation: the threshold test inline, the rest in gc.c */
static inline void gc_maybe_collect(pygc_heap *h) {
  if (h->gen[0].count > h->gen[0].threshold) pygc__gc_maybe_collect(h);
}

/* Does o want its finalizer run now (PEP 442: once; the type's predicate
 * decides when it has one)?  The one test both the collector and
 * deallocation ask. */
static inline int obj_wants_finalizer(const pygc_object *o) {
  const pygc_type *t = o->type;
  if (t->finalize == NULL || (o->flags & F_FINALIZED)) return 0;
  if (t == &pygc_instance_type) { /* instance_has_finalizer, without the call */
    const pygc_object *c = ((const instance_obj *)o)->cls;
    return c && (((const class_obj *)c)->flags & PYGC_CLASS_FINALIZER);
  }
  return t->has_finalizer == NULL || t->has_finalizer(o);
}
/* Might o be legacy or want its finalizer run?  The collector's quick
 * question, asked in the middle of move_unreachable (the lists are not
 * whole then): an instance answers from its class's flags; a host type
 * with a finalizer or a legacy predicate is taken to be (its predicates
 * are asked later, where they always were, in move_legacy_finalizers). */
static inline int obj_may_be_special(const pygc_object *o) {
  const pygc_type *t = o->type;
  if (t == &pygc_instance_type) {
    const pygc_object *c = ((const instance_obj *)o)->cls;
    return c && (((const class_obj *)c)->flags & (PYGC_CLASS_FINALIZER | PYGC_CLASS_LEGACY));
  }
  return t->finalize != NULL || t->is_legacy != NULL;
}

/* reference counts, inline for lib/'s own hot paths (pygc_incref and
 * pygc_decref are the same, for hosts) */
static inline void obj_incref(pygc_object *o) {
  if (o->refcnt != REFCNT_MAX) o->refcnt++;
}
static inline void obj_decref(pygc_heap *h, pygc_object *o) {
  if (o->refcnt == REFCNT_MAX) return; /* immortal once saturated */
  pygc_assert(o->refcnt > 0);
  if (--o->refcnt == 0) pygc__heap_dealloc(h, o);
}

/* values */
static inline void val_incref(pygc_value v) {
  if (v.tag == PYGC_TOBJ) obj_incref(v.u.o);
}
static inline void val_decref(pygc_heap *h, pygc_value v) {
  if (v.tag == PYGC_TOBJ) obj_decref(h, v.u.o);
}
/* Is v a value at all?  A host can hand the public functions anything;
 * a tag outside pygc_tag, or an object value without an object, would
 * be read as a pointer by every later walk.  Setters refuse it
 * (PYGC_EVALUE) before storing. */
static inline int val_ok(pygc_value v) { return v.tag < PYGC_TOBJ || (v.tag == PYGC_TOBJ && v.u.o != NULL); }
/* Is o an object of type t?  The typed accessors check before they cast. */
static inline int is_type(const pygc_object *o, const pygc_type *t) { return o != NULL && o->type == t; }

/* is the value an object the collector may track? */
static inline int val_may_be_tracked(pygc_value v) {
  if (v.tag != PYGC_TOBJ) return 0;
  if (v.u.o->type == &pygc_tuple_type) return (v.u.o->flags & F_TRACKED) != 0;
  return (v.u.o->flags & F_GC) != 0;
}
PYGC_INTERNAL uint64_t pygc__str_hash_bytes(const pygc_heap *h, const char *s, size_t len);
PYGC_INTERNAL pygc_object *pygc__str_intern_find(pygc_heap *h, const char *s, size_t len, uint64_t hash);
PYGC_INTERNAL void pygc__str_intern_remove(pygc_heap *h, pygc_object *s);
PYGC_INTERNAL void pygc__str_intern_free(pygc_heap *h);
PYGC_INTERNAL pygc_object *pygc__str_name_lookup(pygc_heap *h, const char *s, size_t len, uint64_t *hash);

/* tables */
PYGC_INTERNAL int pygc__tab_lookup(pygc_heap *h, const table *t, pygc_value key, uint64_t hash, size_t *ix);
PYGC_INTERNAL int pygc__tab_insert(pygc_heap *h, table *t, pygc_value key, uint64_t hash, pygc_value value, int *added);
PYGC_INTERNAL int pygc__tab_delete(pygc_heap *h, table *t, pygc_value key, uint64_t hash);
PYGC_INTERNAL int pygc__tab_next(const table *t, size_t *pos, pygc_value *key, pygc_value *value);
PYGC_INTERNAL void pygc__tab_clear(pygc_heap *h, table *t);
PYGC_INTERNAL void pygc__tab_free(pygc_heap *h, table *t);
PYGC_INTERNAL size_t pygc__tab_bytes(const table *t);
PYGC_INTERNAL int pygc__tab_verify(const table *t, char *msg, size_t n);

/* weakref.c: the collector's weakref phase (CPython's handle_weakrefs),
 * refcount death, the verifier, the heap's end */
PYGC_INTERNAL intptr_t pygc__handle_weakrefs(pygc_heap *h, gc_head *unreachable, size_t *called);
PYGC_INTERNAL void pygc__weakrefs_die(pygc_heap *h, pygc_object *o);
PYGC_INTERNAL int pygc__weakref_verify(pygc_heap *h, char *msg, size_t n);
PYGC_INTERNAL void pygc__weakref_free_table(pygc_heap *h);

PYGC_INTERNAL int pygc__dict_verify(const pygc_object *o, char *msg, size_t n);
/* instances' table mode (dict.c) and their attributes (attrs.c) */
PYGC_INTERNAL int pygc__tab_getattr(pygc_heap *h, table *t, const char *name, size_t len, pygc_value *out);
PYGC_INTERNAL int pygc__tab_setattr(pygc_heap *h, table *t, const char *name, size_t len, pygc_value v);
PYGC_INTERNAL int pygc__tab_delattr(pygc_heap *h, table *t, const char *name, size_t len);
PYGC_INTERNAL uint32_t pygc__attrs_version(const pygc_object *o);
PYGC_INTERNAL void pygc__attrs_clear(pygc_heap *h, pygc_object *o);
PYGC_INTERNAL void pygc__attrs_free(pygc_heap *h, pygc_object *o);
PYGC_INTERNAL size_t pygc__attrs_bytes(const pygc_object *o);
PYGC_INTERNAL int pygc__attrs_verify(const pygc_object *o, char *msg, size_t n);
PYGC_INTERNAL void pygc__class_keys_release(pygc_heap *h, class_obj *c);
PYGC_INTERNAL void pygc__class_keys_free(pygc_heap *h, class_obj *c);
PYGC_INTERNAL size_t pygc__class_keys_bytes(const class_obj *c);
PYGC_INTERNAL int pygc__instance_verify(const pygc_object *o, char *msg, size_t n);
PYGC_INTERNAL int pygc__class_verify(const pygc_object *o, char *msg, size_t n);

#endif
