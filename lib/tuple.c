/*
 * tuple.c -- the tuple type: a fixed array of values, immutable.
 *
 * A tuple of atomic values cannot be part of a cycle; the collector
 * untracks such tuples when it sees them (as CPython does), and the empty
 * tuple is never tracked.
 */
#include "pygc_int.h"

/* the items, as obj_visit enumerates them (pygc_int.h) */
static int tuple_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }

/* CPython's tuples have no tp_clear; ours do, so that a tuple can never be
 * what keeps a garbage cycle alive (a C host can build such cycles). */
static void tuple_clear(pygc_heap *h, pygc_object *o) {
  tuple_obj *t = (tuple_obj *)o;
  for (size_t i = 0; i < t->len; i++) {
    pygc_value v = t->items[i];
    t->items[i] = pygc_none();
    val_decref(h, v);
  }
}

static size_t tuple_bytes(size_t n) {
  size_t sz = offsetof(tuple_obj, items) + n * sizeof(pygc_value);
  return sz < sizeof(tuple_obj) ? sizeof(tuple_obj) : sz; /* room for the one declared item */
}

static size_t tuple_size(const pygc_object *o) { return tuple_bytes(((const tuple_obj *)o)->len); }

const pygc_type pygc_tuple_type = {
    .name = "tuple",
    .flags = PYGC_TYPE_GC,
    .traverse = tuple_traverse,
    .clear = tuple_clear,
    .size = tuple_size,
};

pygc_object *pygc_tuple_new(pygc_heap *h, size_t n, const pygc_value *items) {
  if (n > (((size_t)-1) - sizeof(tuple_obj)) / sizeof(pygc_value) / 2) return NULL;
  for (size_t i = 0; items && i < n; i++)
    if (!val_ok(items[i])) return NULL;
  tuple_obj *t = (tuple_obj *)pygc__heap_new_object(h, &pygc_tuple_type, tuple_bytes(n));
  if (t == NULL) return NULL;
  t->len = n;
  for (size_t i = 0; i < n; i++) {
    t->items[i] = items ? items[i] : pygc_none();
    val_incref(t->items[i]);
  }
  if (n > 0) {
    pygc__heap_track(h, &t->h);
    pygc__gc_maybe_collect(h);
  }
  return &t->h;
}

size_t pygc_tuple_len(const pygc_object *o) { return is_type(o, &pygc_tuple_type) ? ((const tuple_obj *)o)->len : 0; }

int pygc_tuple_get(const pygc_object *o, size_t i, pygc_value *out) {
  const tuple_obj *t = (const tuple_obj *)o;
  if (!is_type(o, &pygc_tuple_type)) return PYGC_ETYPE;
  if (i >= t->len) return PYGC_EINDEX;
  *out = t->items[i];
  return PYGC_OK;
}
