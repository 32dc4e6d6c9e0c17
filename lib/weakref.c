/*
 * weakref.c -- weak references: the weakref and weakproxy types, each
 * referent's list of them, and what the collector and deallocation do
 * with them (CPython's rules; pygc.h states them).
 *
 * A referent has no room for a list head (objects carry no spare field),
 * so the heads live in one open-addressing table keyed by the referent's
 * address (h->wr_tab); F_WEAKLY on the referent says it has an entry, so
 * the deallocation of an object that was never weakly referenced pays one
 * flag test.  The list keeps CPython's order: the basic weakref (no
 * callback) first, then the basic proxy, then the rest newest first -- the
 * order getweakrefs answers and callbacks run in.
 *
 * Callbacks are the host's (hooks.weakref_callback).  Every callback runs
 * after all the weak references concerned are cleared, with the weakref
 * held, from a chain linked through weakref_obj.cbnext: no list of the
 * heap is borrowed while host code runs.
 */
#include "pygc_int.h"

/* ---- the table: referent -> head of its list ------------------------------ */

static size_t wr_hash(const pygc_object *o) {
  uint64_t x = (uint64_t)(uintptr_t)o;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 29;
  return (size_t)x;
}

/* the slot holding o, or the empty slot where it would go (cap > 0) */
static size_t wr_find(const pygc_heap *h, const pygc_object *o) {
  size_t mask = h->wr_cap - 1, i = wr_hash(o) & mask;
  while (h->wr_tab[i].obj != NULL && h->wr_tab[i].obj != o) i = (i + 1) & mask;
  return i;
}

static weakref_obj *wr_head(const pygc_heap *h, const pygc_object *o) {
  if (!(o->flags & F_WEAKLY) || h->wr_cap == 0) return NULL;
  size_t i = wr_find(h, o);
  return h->wr_tab[i].obj == o ? h->wr_tab[i].head : NULL;
}

static void wr_set_head(pygc_heap *h, pygc_object *o, weakref_obj *head) {
  size_t i = wr_find(h, o);
  pygc_assert(h->wr_tab[i].obj == o);
  h->wr_tab[i].head = head;
}

static int wr_grow(pygc_heap *h) {
  size_t ncap = h->wr_cap ? h->wr_cap * 2 : 16;
  struct wr_slot *n = pygc__heap_alloc(h, ncap * sizeof *n);
  if (n == NULL) return 0;
  memset(n, 0, ncap * sizeof *n);
  struct wr_slot *old = h->wr_tab;
  size_t ocap = h->wr_cap;
  h->wr_tab = n;
  h->wr_cap = ncap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].obj) h->wr_tab[wr_find(h, old[i].obj)] = old[i];
  pygc__heap_free_mem(h, old, ocap * sizeof *old);
  return 1;
}

/* an entry for o, with an empty list (o has none yet) */
static int wr_add(pygc_heap *h, pygc_object *o) {
  if ((h->wr_used + 1) * 4 > h->wr_cap * 3 && !wr_grow(h)) return 0;
  size_t i = wr_find(h, o);
  h->wr_tab[i].obj = o;
  h->wr_tab[i].head = NULL;
  h->wr_used++;
  o->flags |= F_WEAKLY;
  return 1;
}

/* o's list is empty: its entry goes (backward shift, no tombstones) */
static void wr_remove(pygc_heap *h, pygc_object *o) {
  size_t mask = h->wr_cap - 1, i = wr_find(h, o);
  if (h->wr_tab[i].obj != o) return;
  h->wr_tab[i].obj = NULL;
  h->wr_used--;
  o->flags &= ~F_WEAKLY;
  for (size_t j = (i + 1) & mask; h->wr_tab[j].obj != NULL; j = (j + 1) & mask) {
    size_t home = wr_hash(h->wr_tab[j].obj) & mask;
    /* can the entry at j move to the hole at i? (its home is not in (i, j]) */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      h->wr_tab[i] = h->wr_tab[j];
      h->wr_tab[j].obj = NULL;
      i = j;
    }
  }
}

void pygc__weakref_free_table(pygc_heap *h) {
  pygc__heap_free_mem(h, h->wr_tab, h->wr_cap * sizeof *h->wr_tab);
  h->wr_tab = NULL;
  h->wr_cap = h->wr_used = 0;
}

/* ---- the lists ------------------------------------------------------------- */

/* Take w off its referent's list and forget the referent (its callback
 * stays: the caller decides). */
static void wr_unlink(pygc_heap *h, weakref_obj *w) {
  pygc_object *o = w->referent;
  if (o == NULL) return;
  if (w->prev)
    w->prev->next = w->next;
  else
    wr_set_head(h, o, w->next);
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->referent = NULL;
  if (wr_head(h, o) == NULL) wr_remove(h, o);
}

static int is_basic(const weakref_obj *w, const pygc_type *t) {
  return w->h.type == t && w->callback.tag == PYGC_TNONE;
}

/* ---- the types --------------------------------------------------------------- */

static int wr_traverse(pygc_object *self, pygc_visit_fn visit, void *arg) {
  weakref_obj *w = (weakref_obj *)self;
  return w->callback.tag == PYGC_TOBJ ? visit(&w->callback, arg) : 0;
}

/* tp_clear: the referent is forgotten and the callback dropped */
static void wr_clear(pygc_heap *h, pygc_object *self) {
  weakref_obj *w = (weakref_obj *)self;
  wr_unlink(h, w);
  pygc_value cb = w->callback;
  w->callback = pygc_none();
  val_decref(h, cb);
}

static size_t wr_size(const pygc_object *self) {
  (void)self;
  return sizeof(weakref_obj);
}

static const char *wr_slot_name(const pygc_object *self, const pygc_value *slot) {
  (void)self, (void)slot;
  return "callback";
}

static void wr_repr(const pygc_object *self, char *buf, size_t size) {
  const weakref_obj *w = (const weakref_obj *)self;
  const char *kind = self->type == &pygc_weakref_type ? "weakref" : "weakproxy";
  const char *name = w->referent ? pygc_class_name(w->referent) : NULL; /* a class: CPython adds its name */
  if (name)
    snprintf(buf, size, "<%s at %p; to 'type' at %p (%s)>", kind, (const void *)self, (const void *)w->referent, name);
  else if (w->referent)
    snprintf(buf, size, "<%s at %p; to '%s' at %p>", kind, (const void *)self,
             pygc_type_name(pygc_obj(w->referent)), (const void *)w->referent);
  else
    snprintf(buf, size, "<%s at %p; dead>", kind, (const void *)self);
}

const pygc_type pygc_weakref_type = {
    .name = "weakref",
    .flags = PYGC_TYPE_GC,
    .traverse = wr_traverse,
    .clear = wr_clear,
    .size = wr_size,
    .slot_name = wr_slot_name,
    .repr = wr_repr,
};

const pygc_type pygc_weakproxy_type = {
    .name = "weakproxy",
    .flags = PYGC_TYPE_GC,
    .traverse = wr_traverse,
    .clear = wr_clear,
    .size = wr_size,
    .slot_name = wr_slot_name,
    .repr = wr_repr,
};

/* ---- the public functions --------------------------------------------------- */

int pygc_weakref_accepts(const pygc_object *o) {
  if (o == NULL) return 0;
  const pygc_type *t = o->type;
  return t == &pygc_instance_type || t == &pygc_list_type || t == &pygc_dict_type || t == &pygc_class_type ||
         (!is_weakref_type(t) && t != &pygc_tuple_type && t != &pygc_str_type && (t->flags & PYGC_TYPE_WEAKREF));
}

pygc_object *pygc_weakref_new(pygc_heap *h, pygc_object *obj, pygc_value callback, int proxy, int *status) {
  int dummy;
  if (status == NULL) status = &dummy;
  if (!pygc_weakref_accepts(obj)) {
    *status = PYGC_ETYPE;
    return NULL;
  }
  if (!val_ok(callback)) {
    *status = PYGC_EVALUE;
    return NULL;
  }
  const pygc_type *t = proxy ? &pygc_weakproxy_type : &pygc_weakref_type;
  /* CPython's layout: [basic ref] [basic proxy] the others, newest first */
  weakref_obj *head = wr_head(h, obj), *basic_ref = NULL, *basic_proxy = NULL;
  if (head && is_basic(head, &pygc_weakref_type)) basic_ref = head;
  weakref_obj *second = basic_ref ? basic_ref->next : head;
  if (second && is_basic(second, &pygc_weakproxy_type)) basic_proxy = second;
  if (callback.tag == PYGC_TNONE) {
    weakref_obj *w = proxy ? basic_proxy : basic_ref;
    if (w) {
      pygc_incref(&w->h);
      *status = PYGC_OK;
      return &w->h;
    }
  }
  weakref_obj *w = (weakref_obj *)pygc__heap_new_object(h, t, sizeof(weakref_obj));
  if (w == NULL || (!(obj->flags & F_WEAKLY) && !wr_add(h, obj))) {
    if (w) pygc_decref(h, &w->h); /* no referent, no callback yet: just freed */
    *status = PYGC_ENOMEM;
    return NULL;
  }
  val_incref(callback);
  w->callback = callback;
  w->referent = obj;
  /* where it goes: the basic ones at their places, the others after them */
  weakref_obj *after = NULL;
  if (callback.tag == PYGC_TNONE && !proxy) {
    after = NULL;
  } else if (callback.tag == PYGC_TNONE) {
    after = basic_ref;
  } else {
    after = basic_proxy ? basic_proxy : basic_ref;
  }
  if (after) {
    w->prev = after;
    w->next = after->next;
    if (after->next) after->next->prev = w;
    after->next = w;
  } else {
    w->prev = NULL;
    w->next = wr_head(h, obj);
    if (w->next) w->next->prev = w;
    wr_set_head(h, obj, w);
  }
  pygc__heap_track(h, &w->h);
  *status = PYGC_OK;
  pygc__gc_maybe_collect(h);
  return &w->h;
}

pygc_object *pygc_weakref_get(const pygc_object *wr) {
  return wr && is_weakref_type(wr->type) ? ((const weakref_obj *)wr)->referent : NULL;
}

pygc_value pygc_weakref_callback(const pygc_object *wr) {
  return wr && is_weakref_type(wr->type) ? ((const weakref_obj *)wr)->callback : pygc_none();
}

size_t pygc_weakref_count(pygc_heap *h, const pygc_object *o) { return pygc_weakrefs(h, o, NULL, NULL); }

size_t pygc_weakrefs(pygc_heap *h, const pygc_object *o, pygc_object_fn fn, void *arg) {
  size_t n = 0;
  if (o == NULL) return 0;
  for (weakref_obj *w = wr_head(h, o); w; w = w->next) {
    n++;
    if (fn && fn(&w->h, arg)) break;
  }
  return n;
}

/* ---- callbacks ---------------------------------------------------------------- */

/* Run the chain's callbacks in order, each weakref held (the chain took a
 * reference); returns how many weakrefs the release freed. */
static intptr_t run_chain(pygc_heap *h, weakref_obj *chain) {
  intptr_t freed = 0;
  while (chain) {
    weakref_obj *w = chain;
    chain = w->cbnext;
    w->cbnext = NULL;
    if (w->callback.tag != PYGC_TNONE && h->hooks.weakref_callback && !h->destroying)
      h->hooks.weakref_callback(h->hooks.ud, h, &w->h);
    /* a weakref has no finalizer: at 1 this reference is the last (plus
     * the host's, lent for the collection by pygc_collect_holding, which
     * goes right after it: freed by this collection all the same) */
    uint32_t last = 1u + ((h->held && (w->h.flags & h->held)) ? 1u : 0u);
    if (w->h.refcnt == last) freed++;
    pygc_decref(h, &w->h);
  }
  return freed;
}

/* Clear every weakref to o; those with a callback that `keep` accepts are
 * appended to the chain *tail points to (with a reference). */
static void clear_all(pygc_heap *h, pygc_object *o, weakref_obj ***tail, int in_collection) {
  weakref_obj *w;
  while ((w = wr_head(h, o)) != NULL) {
    wr_unlink(h, w);
    if (w->callback.tag == PYGC_TNONE || w->h.refcnt == 0) continue;
    /* a weakref that is garbage itself gets no callback (it could show
     * objects tp_clear has already emptied, or resurrect them) */
    if (in_collection && (w->h.flags & F_COLLECTING)) continue;
    pygc_incref(&w->h);
    **tail = w;
    *tail = &w->cbnext;
  }
}

/* Death by refcount: o's finalizer has run and left it dead. */
void pygc__weakrefs_die(pygc_heap *h, pygc_object *o) {
  weakref_obj *chain = NULL, **tail = &chain;
  clear_all(h, o, &tail, 0);
  run_chain(h, chain);
}

/* CPython's handle_weakrefs, on the unreachable set before any finalizer
 * runs: weakrefs that are garbage are cleared; every weakref to garbage is
 * cleared, and the callbacks of those that are not garbage run once all
 * are cleared (so no callback can reach an unreachable object through a
 * weakref).  *called: how many callbacks were considered.  Returns the
 * weakrefs their release freed (counted as collected, as CPython). */
intptr_t pygc__handle_weakrefs(pygc_heap *h, gc_head *unreachable, size_t *called) {
  weakref_obj *chain = NULL, **tail = &chain;
  *called = 0;
  if (h->wr_used == 0) return 0;
  for (pygc_object *o = unreachable->gc_next; o != unreachable; o = o->gc_next) {
    if (is_weakref_type(o->type)) wr_unlink(h, (weakref_obj *)o); /* keeps its callback, dropped by clear */
    if (o->flags & F_WEAKLY) clear_all(h, o, &tail, 1);
  }
  for (weakref_obj *w = chain; w; w = w->cbnext) (*called)++;
  return run_chain(h, chain);
}

/* ---- the verifier ----------------------------------------------------------------- */

int pygc__weakref_verify(pygc_heap *h, char *msg, size_t n) {
  size_t used = 0;
  for (size_t i = 0; i < h->wr_cap; i++) {
    pygc_object *o = h->wr_tab[i].obj;
    if (o == NULL) continue;
    used++;
    if (!(o->flags & F_WEAKLY) || h->wr_tab[i].head == NULL) {
      snprintf(msg, n, "weakref table: entry for %s at %p is stale", o->type->name, (void *)o);
      return 1;
    }
    weakref_obj *prev = NULL;
    for (weakref_obj *w = h->wr_tab[i].head; w; prev = w, w = w->next) {
      if (w->referent != o || w->prev != prev || !is_weakref_type(w->h.type)) {
        snprintf(msg, n, "weakref list of %s at %p is broken", o->type->name, (void *)o);
        return 1;
      }
    }
  }
  if (used != h->wr_used) {
    snprintf(msg, n, "weakref table counts %zu entries, holds %zu", h->wr_used, used);
    return 1;
  }
  return 0;
}
