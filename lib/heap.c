/*
 * heap.c -- the heap's life, allocation accounting, tracking, reference
 * counting and deallocation.
 *
 * Deallocation is where user-controlled depth meets the C stack: dropping
 * the head of a million-long chain releases the whole chain.  As CPython's
 * trashcan does, nested deallocations past PYGC_TRASH_LIMIT are deferred to
 * a stack that the outermost deallocation drains, so the C stack stays
 * bounded whatever the shape of the data.
 */
#define _POSIX_C_SOURCE 200809L
#include "pygc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static void default_write(void *ud, const char *text, size_t len) {
  (void)ud;
  fwrite(text, 1, len, stderr);
  fflush(stderr);
}

const char *pygc_strerror(int status) {
  switch (status) {
  case PYGC_OK: return "no error";
  case PYGC_ENOMEM: return "not enough memory";
  case PYGC_EINDEX: return "index out of range";
  case PYGC_EKEY: return "key not found";
  case PYGC_EUNHASHABLE: return "unhashable type";
  case PYGC_ENAN: return "NaN cannot be a dict key";
  case PYGC_ETYPE: return "wrong object type";
  case PYGC_EIMMUTABLE: return "tuple is immutable";
  case PYGC_ECHANGED: return "dict changed size during iteration";
  case PYGC_EOVERFLOW: return "size overflow";
  case PYGC_EVALUE: return "invalid value";
  default: return "unknown error";
  }
}

/* ---- memory ------------------------------------------------------------ */

/* The pools: a block of n <= PYGC_POOL_MAX bytes comes from the free list
 * of its size class; an empty list is refilled by carving a fresh page.
 * Pages go back to the allocator when the heap is freed.  Blocks carved in
 * order keep young objects close together, which the collector's passes
 * over its lists (in allocation order) like. */
static inline size_t pool_class(size_t n) { return (n + PYGC_POOL_GRAIN - 1) / PYGC_POOL_GRAIN - 1; }

static int pool_refill(pygc_heap *h, size_t c) {
  size_t bsize = (c + 1) * PYGC_POOL_GRAIN;
  char *page = h->alloc(h->alloc_ud, NULL, 0, PYGC_POOL_PAGE);
  if (page == NULL) return 0;
  h->pool_bytes += PYGC_POOL_PAGE;
  *(void **)page = h->pool_pages; /* the first grain links the pages */
  h->pool_pages = page;
  char *first = page + PYGC_POOL_GRAIN, *end = page + PYGC_POOL_PAGE;
  void *head = h->pool_free[c];
  /* push in reverse so that the list hands blocks out in address order */
  size_t count = (size_t)(end - first) / bsize;
  for (size_t i = count; i-- > 0;) {
    void *b = first + i * bsize;
    *(void **)b = head;
    head = b;
  }
  h->pool_free[c] = head;
  return 1;
}

static inline void account(pygc_heap *h, size_t n) {
  h->bytes += n;
  if (h->bytes > h->peak_bytes) h->peak_bytes = h->bytes;
}

/* the pool's free list empty, or no pool: out of line, so that the
 * fast path below stays small where it is inlined */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void *heap_alloc_slow(pygc_heap *h, size_t n) {
  void *p;
  if (h->use_pools && n <= PYGC_POOL_MAX && n > 0) {
    size_t c = pool_class(n);
    if (h->pool_free[c] == NULL && !pool_refill(h, c)) return NULL;
    p = h->pool_free[c];
    h->pool_free[c] = *(void **)p;
  } else {
    p = h->alloc(h->alloc_ud, NULL, 0, n);
    if (p == NULL) return NULL;
  }
  account(h, n);
  return p;
}
static inline void *heap_alloc(pygc_heap *h, size_t n) {
  if (h->use_pools && n <= PYGC_POOL_MAX && n > 0) {
    size_t c = pool_class(n);
    void *p = h->pool_free[c];
    if (p != NULL) {
      h->pool_free[c] = *(void **)p;
      account(h, n);
      return p;
    }
  }
  return heap_alloc_slow(h, n);
}
void *pygc__heap_alloc(pygc_heap *h, size_t n) { return heap_alloc(h, n); }

static inline void *heap_alloc(pygc_heap *h, size_t n);
void *pygc__heap_realloc(pygc_heap *h, void *p, size_t osize, size_t nsize) {
  if (p == NULL) return heap_alloc(h, nsize);
  if (nsize == 0) {
    pygc__heap_free_mem(h, p, osize);
    return NULL;
  }
  int opool = h->use_pools && osize <= PYGC_POOL_MAX, npool = h->use_pools && nsize <= PYGC_POOL_MAX;
  if (!opool && !npool) {
    void *q = h->alloc(h->alloc_ud, p, osize, nsize);
    if (q == NULL) return NULL;
    h->bytes -= osize;
    account(h, nsize);
    return q;
  }
  if (opool && npool && pool_class(osize) == pool_class(nsize)) {
    h->bytes -= osize;
    account(h, nsize);
    return p;
  }
  void *q = pygc__heap_alloc(h, nsize);
  if (q == NULL) return NULL;
  memcpy(q, p, osize < nsize ? osize : nsize);
  pygc__heap_free_mem(h, p, osize);
  return q;
}

static inline void heap_free_mem(pygc_heap *h, void *p, size_t n) {
  if (p == NULL) return;
  h->bytes -= n;
  if (h->use_pools && n <= PYGC_POOL_MAX && n > 0) {
    size_t c = pool_class(n);
    *(void **)p = h->pool_free[c];
    h->pool_free[c] = p;
  } else {
    h->alloc(h->alloc_ud, p, n, 0);
  }
}
void pygc__heap_free_mem(pygc_heap *h, void *p, size_t n) { heap_free_mem(h, p, n); }

static void pool_release_pages(pygc_heap *h) {
  while (h->pool_pages) {
    void *page = h->pool_pages;
    h->pool_pages = *(void **)page;
    h->alloc(h->alloc_ud, page, PYGC_POOL_PAGE, 0);
  }
  memset(h->pool_free, 0, sizeof h->pool_free);
  h->pool_bytes = 0;
}

int pygc_heap_use_pools(pygc_heap *h, int on) {
  if (h->nobjects > 1 || pygc_list_len(h->garbage) != 0) return 0; /* only on a fresh heap */
  if ((on != 0) == h->use_pools) return 1;
  /* the garbage list was made under the old rule: remake it under the new */
  h->collecting = 1;
  pygc_decref(h, h->garbage);
  pool_release_pages(h);
  h->use_pools = on != 0;
  h->garbage = pygc_list_new(h, 0);
  h->collecting = 0;
  h->gen[0].count = 0;
  return h->garbage != NULL;
}

void *pygc_mem_alloc(pygc_heap *h, size_t n) { return pygc__heap_alloc(h, n); }
void *pygc_mem_realloc(pygc_heap *h, void *p, size_t o, size_t n) { return pygc__heap_realloc(h, p, o, n); }
void pygc_mem_free(pygc_heap *h, void *p, size_t n) { pygc__heap_free_mem(h, p, n); }

size_t pygc_heap_bytes(const pygc_heap *h) { return h->bytes; }

/* ---- the heap ---------------------------------------------------------- */

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

pygc_heap *pygc_heap_new(pygc_alloc_fn alloc, void *ud, uint64_t seed) {
  if (alloc == NULL) alloc = default_alloc;
  pygc_heap *h = alloc(ud, NULL, 0, sizeof *h);
  if (h == NULL) return NULL;
  memset(h, 0, sizeof *h);
  h->alloc = alloc;
  h->alloc_ud = ud;
  h->hooks.write = default_write;
  if (seed == 0) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)h ^
           ((uint64_t)(uintptr_t)&ts << 17) ^ (uint64_t)clock();
  }
  h->seed[0] = mix64(seed);
  h->seed[1] = mix64(seed ^ 0x9e3779b97f4a7c15ULL);
  static const int64_t thresholds[3] = {PYGC_THRESHOLD0, PYGC_THRESHOLD1, PYGC_THRESHOLD2};
  for (int i = 0; i < 3; i++) {
    gclist_init(&h->gen[i].head);
    h->gen[i].threshold = thresholds[i];
  }
  gclist_init(&h->permanent);
  gclist_init(&h->untracked);
  gclist_init(&h->visited);
  h->enabled = 1;
  h->use_pools = PYGC_POOLS_DEFAULT;
  h->bytes = sizeof *h;
  h->peak_bytes = h->bytes;
  h->collecting = 1; /* no automatic collection while the heap is built */
  h->garbage = pygc_list_new(h, 0);
  h->collecting = 0;
  if (h->garbage == NULL) {
    pygc_heap_free(h);
    return NULL;
  }
  return h;
}

static void free_list_objects(pygc_heap *h, gc_head *l) {
  while (!gclist_empty(l)) {
    pygc_object *o = l->gc_next;
    gclist_remove(o);
    if (o->type->free) o->type->free(h, o);
    pygc__heap_free_object(h, o);
    h->nobjects--;
  }
}

void pygc_heap_free(pygc_heap *h) {
  if (h == NULL) return;
  h->destroying = 1;
  h->collecting = 1;
  memset(&h->hooks, 0, sizeof h->hooks);
  /* objects still deferred by the trashcan, then every list: nothing is
   * finalized and no reference is dropped, the memory simply goes */
  while (h->trash) {
    pygc_object *o = h->trash;
    h->trash = o->gc_next;
    gclist_append(o, &h->untracked);
  }
  for (int i = 0; i < 3; i++) free_list_objects(h, &h->gen[i].head);
  free_list_objects(h, &h->visited);
  free_list_objects(h, &h->permanent);
  free_list_objects(h, &h->untracked);
  pygc__weakref_free_table(h);
  pygc__str_intern_free(h);
  pool_release_pages(h);
  h->alloc(h->alloc_ud, h, sizeof *h, 0);
}

void pygc_set_hooks(pygc_heap *h, const pygc_hooks *hooks) {
  h->hooks = *hooks;
  if (h->hooks.write == NULL) h->hooks.write = default_write;
}

void pygc_get_hooks(pygc_heap *h, pygc_hooks *out) { *out = h->hooks; }

void pygc_report_unraisable(pygc_heap *h, int status, const char *what, pygc_object *obj) {
  if (h->hooks.unraisable) {
    h->hooks.unraisable(h->hooks.ud, h, status, what, obj);
  } else if (h->hooks.write) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "pygc: exception ignored in %s: %s\n", what ? what : "?", pygc_strerror(status));
    if (n > 0) h->hooks.write(h->hooks.ud, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  }
}

void pygc_heap_get_info(pygc_heap *h, pygc_heap_info *out) {
  memset(out, 0, sizeof *out);
  out->objects = h->nobjects;
  out->bytes = h->bytes;
  out->peak_bytes = h->peak_bytes;
  out->frozen = gclist_size(&h->permanent);
  out->tracked = out->frozen;
  for (int i = 0; i < 3; i++) {
    out->generation[i] = gclist_size(&h->gen[i].head);
    out->tracked += out->generation[i];
  }
  size_t visited = gclist_size(&h->visited); /* incremental mode: old, visited this pass */
  out->generation[2] += visited;
  out->tracked += visited;
}

/* ---- objects ----------------------------------------------------------- */

/* an object's block: OBJ_PAD bytes before the object (its size there in
 * debug builds), nothing of the object set */
static inline pygc_object *object_block(pygc_heap *h, size_t size) {
  char *block = heap_alloc(h, size + OBJ_PAD);
  if (block == NULL) return NULL;
#ifdef PYGC_DEBUG
  memcpy(block, &size, sizeof size);
#endif
  return (pygc_object *)(block + OBJ_PAD);
}

pygc_object *pygc__heap_new_object(pygc_heap *h, const pygc_type *t, size_t size) {
  pygc_object *o = object_block(h, size);
  if (o == NULL) return NULL;
  memset(o, 0, size);
  o->type = t;
  o->refcnt = 1;
  if (t->flags & PYGC_TYPE_GC) {
    o->flags = F_GC;
    h->gen[0].count++; /* CPython counts allocations, tracked or not */
  }
  gclist_append(o, &h->untracked);
  h->nobjects++;
  if (h->tracing && h->hooks.traced) h->hooks.traced(h->hooks.ud, h, o, size, 1);
  return o;
}

/* The same for a built-in container that is tracked from birth: straight
 * onto generation 0, no stop on the untracked list.  Only the header is
 * set; the caller sets every field of the rest. */
pygc_object *pygc__heap_new_tracked(pygc_heap *h, const pygc_type *t, size_t size) {
  pygc_object *o = object_block(h, size);
  if (o == NULL) return NULL;
  o->type = t;
  o->refcnt = 1;
  o->flags = F_GC | F_TRACKED;
  h->gen[0].count++;
  gclist_append(o, &h->gen[0].head);
  h->nobjects++;
  if (h->tracing && h->hooks.traced) h->hooks.traced(h->hooks.ud, h, o, size, 1);
  return o;
}

void pygc__heap_free_object(pygc_heap *h, pygc_object *o) {
  size_t size = o->type->size(o); /* storage gone: the block's own size */
#ifdef PYGC_DEBUG
  size_t made;
  memcpy(&made, (char *)o - OBJ_PAD, sizeof made);
  if (size != made) pygc__contract_failed(o->type, "size() after free differs from the size the object was made with");
#endif
  heap_free_mem(h, (char *)o - OBJ_PAD, size + OBJ_PAD);
}

void pygc_set_tracing(pygc_heap *h, int on) { h->tracing = on != 0; }

pygc_object *pygc_object_new(pygc_heap *h, const pygc_type *type, size_t size) {
  if (size < sizeof(pygc_object) || type == NULL || type->size == NULL) return NULL;
  if ((type->flags & PYGC_TYPE_GC) && type->traverse == NULL) return NULL;
  return pygc__heap_new_object(h, type, size);
}

void pygc__heap_track(pygc_heap *h, pygc_object *o) {
  if (o->flags & F_TRACKED) return;
  gclist_move(o, &h->gen[0].head);
  o->flags |= F_TRACKED;
}

void pygc_track(pygc_heap *h, pygc_object *o) {
  if (!(o->flags & F_GC)) return;
  pygc__heap_track(h, o);
  pygc__gc_maybe_collect(h);
}

void pygc_untrack(pygc_heap *h, pygc_object *o) {
  if (!(o->flags & F_TRACKED)) return;
  gclist_move(o, &h->untracked);
  o->flags &= ~F_LIST_STATE;
}

int pygc_is_tracked(const pygc_object *o) { return (o->flags & F_TRACKED) != 0; }
int pygc_is_finalized(const pygc_object *o) { return (o->flags & F_FINALIZED) != 0; }
/* while finalizers run, the unreachable set is what still has F_COLLECTING
 * (move_legacy_finalizers turned F_UNREACHABLE into it, as CPython does) */
int pygc_is_unreachable(const pygc_object *o) { return (o->flags & (F_COLLECTING | F_UNREACHABLE)) != 0; }
void pygc_watch(pygc_object *o) { o->flags |= F_WATCHED; }
size_t pygc_sizeof(const pygc_object *o) { return o ? o->type->size(o) : 0; }
size_t pygc_refcount(const pygc_object *o) { return o->refcnt; }

int pygc_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  if (o == NULL || visit == NULL || o->type->traverse == NULL) return 0;
  /* host types through the checked edge walk; built-ins directly */
  if (o->type == &pygc_list_type || o->type == &pygc_dict_type || o->type == &pygc_tuple_type ||
      o->type == &pygc_instance_type || o->type == &pygc_class_type)
    return o->type->traverse(o, visit, arg);
  traverse_adapt a = {visit, arg};
  return pygc__host_visit(o, traverse_adapt_fn, &a);
}

/* ---- host types' edges: their traverse, checked ------------------------- */

void pygc__assert_failed(const char *where, const char *what) {
  fprintf(stderr, "pygc: invariant broken in %s: %s\n", where, what);
  fflush(stderr);
  abort();
}

void pygc__contract_failed(const pygc_type *t, const char *what) {
  fprintf(stderr, "pygc: host type '%s' breaks the pygc_type contract: %s\n", t && t->name ? t->name : "?", what);
  fflush(stderr);
  abort();
}

/* One visit of a host traverse.  A slot that holds no object would make
 * every walk read a pointer out of an int: skipped (debug builds stop and
 * name the type); so is, in debug builds, a slot visited twice, which
 * would make the collector count one reference as two. */
int pygc__host_edge(pygc_value *slot, void *arg) {
  host_edges *he = arg;
  if (slot == NULL || slot->tag != PYGC_TOBJ || slot->u.o == NULL) {
#ifdef PYGC_DEBUG
    pygc__contract_failed(he->self->type, "its traverse visited a slot that holds no object");
#endif
    return 0;
  }
#ifdef PYGC_DEBUG
  size_t seen = he->n < 64 ? he->n : 64;
  for (size_t i = 0; i < seen; i++)
    if (he->seen[i] == slot) pygc__contract_failed(he->self->type, "its traverse visited one slot twice");
  if (he->n < 64) he->seen[he->n] = slot;
#endif
  return he->fn(slot, PYGC_EDGE_CYCLE, PYGC_LABEL_SLOT, he->n++, NULL, he->arg);
}

int pygc__host_visit(pygc_object *o, edge_visit_fn fn, void *arg) {
  host_edges he;
  he.fn = fn;
  he.arg = arg;
  he.n = 0;
  he.self = o;
  return o->type->traverse(o, pygc__host_edge, &he);
}

/* ---- reference counting ------------------------------------------------ */

void pygc_incref(pygc_object *o) { obj_incref(o); }

void pygc_decref(pygc_heap *h, pygc_object *o) { obj_decref(h, o); }

void pygc_value_incref(pygc_value v) { val_incref(v); }
void pygc_value_decref(pygc_heap *h, pygc_value v) { val_decref(h, v); }

/* Release one object whose refcount reached zero. */
static PYGC_ALWAYS_INLINE void dealloc_one(pygc_heap *h, pygc_object *o) {
  const pygc_type *t = o->type;
  if (obj_wants_finalizer(o) && !h->destroying) {
    /* PEP 442: the finalizer runs once, with the object tracked and alive;
     * if it leaves a reference behind, the object is resurrected. */
    if (o->flags & F_GC) {
      if (o->gc_next) gclist_remove(o);
      gclist_append(o, &h->gen[0].head);
      o->flags = (o->flags & ~F_LIST_STATE) | F_TRACKED;
    } else if (o->gc_next == NULL) {
      gclist_append(o, &h->untracked);
    }
    o->refcnt = 1;
    o->flags |= F_FINALIZED;
    t->finalize(h, o);
    if (o->refcnt == REFCNT_MAX || --o->refcnt != 0) return;
  }
  /* from here on the object is dying: on no list, counted in h->dying
   * until its block is freed */
  if (o->gc_next) gclist_remove(o);
  o->flags &= ~F_LIST_STATE;
  h->dying++;
  if ((o->flags & (F_WEAKLY | F_WATCHED)) || h->tracing) {
    /* not resurrected: its weakrefs are cleared and their callbacks run */
    if (o->flags & F_WEAKLY) pygc__weakrefs_die(h, o);
    if ((o->flags & F_WATCHED) && h->hooks.freed) h->hooks.freed(h->hooks.ud, h, o);
    if (h->tracing && h->hooks.traced) h->hooks.traced(h->hooks.ud, h, o, 0, 0);
  }
  if (t == &pygc_list_type || t == &pygc_instance_type) {
    /* the commonest containers: direct calls, and the block's size known */
    size_t size = t == &pygc_list_type ? pygc__list_dealloc(h, o) : pygc__instance_release(h, o);
#ifdef PYGC_DEBUG
    size_t made;
    memcpy(&made, (char *)o - OBJ_PAD, sizeof made);
    if (size != made) pygc__assert_failed("dealloc_one", "a built-in object's block size changed");
#endif
    if (h->gen[0].count > 0) h->gen[0].count--;
    h->dying--;
    h->nobjects--;
    heap_free_mem(h, (char *)o - OBJ_PAD, size + OBJ_PAD);
    return;
  }
  if (t->dealloc)
    t->dealloc(h, o);
  else if (t->clear)
    t->clear(h, o);
  if (t->free) t->free(h, o);
  if ((o->flags & F_GC) && h->gen[0].count > 0) h->gen[0].count--;
  h->dying--;
  h->nobjects--;
  pygc__heap_free_object(h, o);
}

void pygc__heap_dealloc(pygc_heap *h, pygc_object *o) {
  if (h->trash_depth >= PYGC_TRASH_LIMIT) {
    /* too deep: defer, the outermost deallocation will come back to it */
    if (o->gc_next) gclist_remove(o);
    o->flags &= ~F_LIST_STATE;
    o->gc_prev = NULL;
    o->gc_next = h->trash;
    h->trash = o;
    return;
  }
  h->trash_depth++;
  dealloc_one(h, o);
  h->trash_depth--;
  if (h->trash_depth == 0) {
    while (h->trash) {
      pygc_object *p = h->trash;
      h->trash = p->gc_next;
      p->gc_next = NULL;
      h->trash_depth++;
      dealloc_one(h, p);
      h->trash_depth--;
    }
  }
}
