/*
 * list.c -- the list type: a growable array of values.
 */
#include "pygc_int.h"

/* the items, as obj_visit enumerates them (pygc_int.h) */
static int list_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }

/* the items' own block, if they have one (not inline, not none) */
static inline int items_separate(list_obj *l) { return l->items != NULL && l->items != list_inline_items(l); }

/* Detach the items first, then drop them: a finalizer run by a decref may
 * look at (or append to) this list and must see a consistent object.
 * Inline items stay where they are while they are dropped: the list no
 * longer points at them, so an append gets a block of its own. */
static PYGC_ALWAYS_INLINE void list_clear_items(pygc_heap *h, pygc_object *o) {
  list_obj *l = (list_obj *)o;
  pygc_value *items = l->items;
  size_t len = l->len, cap = l->cap;
  int separate = items_separate(l);
  l->items = NULL;
  l->len = l->cap = 0;
  for (size_t i = 0; i < len; i++) val_decref(h, items[i]);
  if (separate) pygc__heap_free_mem(h, items, cap * sizeof *items);
}

static void list_clear(pygc_heap *h, pygc_object *o) { list_clear_items(h, o); }

static void list_free(pygc_heap *h, pygc_object *o) {
  list_obj *l = (list_obj *)o;
  if (items_separate(l)) pygc__heap_free_mem(h, l->items, l->cap * sizeof *l->items);
  l->items = NULL;
  l->len = l->cap = 0;
}

static size_t list_size(const pygc_object *o) { return list_bytes((const list_obj *)o); }

size_t pygc__list_dealloc(pygc_heap *h, pygc_object *o) {
  list_clear_items(h, o);
  list_obj *l = (list_obj *)o;
  if (l->items != NULL) list_free(h, o); /* a finalizer appended meanwhile */
  return sizeof(list_obj) + list_inline_cap(l) * sizeof(pygc_value);
}

const pygc_type pygc_list_type = {
    .name = "list",
    .flags = PYGC_TYPE_GC,
    .traverse = list_traverse,
    .clear = list_clear,
    .free = list_free,
    .size = list_size,
};

pygc_object *pygc_list_new(pygc_heap *h, size_t capacity) {
  if (capacity > ((size_t)-1) / sizeof(pygc_value) / 2) return NULL;
  if (capacity && capacity <= LIST_INLINE_MAX) {
    /* one block: the struct, then the items */
    list_obj *l = (list_obj *)pygc__heap_new_tracked(h, &pygc_list_type, sizeof(list_obj) + capacity * sizeof(pygc_value));
    if (l == NULL) return NULL;
    l->h.flags |= (uint32_t)capacity << F_TYPE_SHIFT;
    l->items = list_inline_items(l);
    l->len = 0;
    l->cap = capacity;
    gc_maybe_collect(h);
    return &l->h;
  }
  list_obj *l = (list_obj *)pygc__heap_new_object(h, &pygc_list_type, sizeof(list_obj));
  if (l == NULL) return NULL;
  if (capacity) {
    l->items = pygc__heap_alloc(h, capacity * sizeof(pygc_value));
    if (l->items == NULL) {
      pygc_decref(h, &l->h);
      return NULL;
    }
    l->cap = capacity;
  }
  pygc__heap_track(h, &l->h);
  gc_maybe_collect(h);
  return &l->h;
}

size_t pygc_list_len(const pygc_object *o) { return is_type(o, &pygc_list_type) ? ((const list_obj *)o)->len : 0; }

int pygc_list_get(const pygc_object *o, size_t i, pygc_value *out) {
  const list_obj *l = (const list_obj *)o;
  if (!is_type(o, &pygc_list_type)) return PYGC_ETYPE;
  if (i >= l->len) return PYGC_EINDEX;
  *out = l->items[i];
  return PYGC_OK;
}

int pygc_list_set(pygc_heap *h, pygc_object *o, size_t i, pygc_value v) {
  list_obj *l = (list_obj *)o;
  if (!is_type(o, &pygc_list_type)) return PYGC_ETYPE;
  if (!val_ok(v)) return PYGC_EVALUE;
  if (i >= l->len) return PYGC_EINDEX;
  pygc_value old = l->items[i];
  val_incref(v);
  l->items[i] = v;
  val_decref(h, old); /* last: may run a finalizer that touches this list */
  return PYGC_OK;
}

static int list_reserve(pygc_heap *h, list_obj *l, size_t need) {
  if (need <= l->cap) return PYGC_OK;
  size_t ncap = l->cap + (l->cap >> 3) + (l->cap < 9 ? 3 : 6); /* CPython's growth */
  if (ncap < need) ncap = need;
  if (ncap > ((size_t)-1) / sizeof(pygc_value) / 2) return PYGC_EOVERFLOW;
  pygc_value *n;
  if (l->items != NULL && !items_separate(l)) {
    /* out of the inline room, for good: a block of their own */
    n = pygc__heap_alloc(h, ncap * sizeof(pygc_value));
    if (n == NULL) return PYGC_ENOMEM;
    memcpy(n, l->items, l->len * sizeof(pygc_value));
  } else {
    n = pygc__heap_realloc(h, l->items, l->cap * sizeof(pygc_value), ncap * sizeof(pygc_value));
    if (n == NULL) return PYGC_ENOMEM;
  }
  l->items = n;
  l->cap = ncap;
  return PYGC_OK;
}

int pygc_list_append(pygc_heap *h, pygc_object *o, pygc_value v) {
  list_obj *l = (list_obj *)o;
  if (!is_type(o, &pygc_list_type)) return PYGC_ETYPE;
  if (!val_ok(v)) return PYGC_EVALUE;
  int st = list_reserve(h, l, l->len + 1);
  if (st) return st;
  val_incref(v);
  l->items[l->len++] = v;
  return PYGC_OK;
}

int pygc_list_insert(pygc_heap *h, pygc_object *o, size_t i, pygc_value v) {
  list_obj *l = (list_obj *)o;
  if (!is_type(o, &pygc_list_type)) return PYGC_ETYPE;
  if (!val_ok(v)) return PYGC_EVALUE;
  if (i > l->len) return PYGC_EINDEX;
  int st = list_reserve(h, l, l->len + 1);
  if (st) return st;
  memmove(l->items + i + 1, l->items + i, (l->len - i) * sizeof(pygc_value));
  val_incref(v);
  l->items[i] = v;
  l->len++;
  return PYGC_OK;
}

int pygc_list_pop(pygc_heap *h, pygc_object *o, size_t i, pygc_value *out) {
  list_obj *l = (list_obj *)o;
  if (!is_type(o, &pygc_list_type)) return PYGC_ETYPE;
  if (i >= l->len) return PYGC_EINDEX;
  pygc_value v = l->items[i];
  memmove(l->items + i, l->items + i + 1, (l->len - i - 1) * sizeof(pygc_value));
  l->len--;
  if (l->len < l->cap / 4 && l->cap > 16 && items_separate(l)) { /* give memory back, never fails */
    size_t ncap = l->cap / 2;
    pygc_value *n = pygc__heap_realloc(h, l->items, l->cap * sizeof(pygc_value), ncap * sizeof(pygc_value));
    if (n) {
      l->items = n;
      l->cap = ncap;
    }
  }
  if (out)
    *out = v;
  else
    val_decref(h, v);
  return PYGC_OK;
}

/* held meanwhile: a finalizer run by the decrefs may drop the caller's
 * reference (a host handle), and inline items live in the list's block */
void pygc_list_clear(pygc_heap *h, pygc_object *o) {
  if (!is_type(o, &pygc_list_type)) return;
  pygc_incref(o);
  list_clear(h, o);
  pygc_decref(h, o);
}
