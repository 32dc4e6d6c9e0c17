/*
 * attrs.c -- instance attributes: compact, with names shared per class.
 *
 * Instances of one class mostly carry the same few attributes, so, as
 * CPython 3.11's key-sharing dicts do, the names live once in the class
 * (class_obj.keys, append-only, at most IKEYS_MAX) and an instance holds
 * only its values: one 8-byte word each (pygc_int.h: ival_*), in
 * insertion order, with a nibble per value saying which of the class's
 * names it has.  An instance with n attributes costs 64 bytes plus 8n
 * rounded up to 16: 80 bytes with one or two, 96 with three or four
 * (CPython 3.11: 80, 88, 96, 104).  A name the class's keys cannot take,
 * a 17th attribute, or a value no word can hold (an int beyond 48 bits,
 * a pointer beyond 48 bits, a negative NaN with a payload) sends the
 * instance to table mode for good: a table of its own (dict.c), with the
 * same order and the same keys version.
 *
 * What is observable stays as it was: insertion order (a deleted name
 * added again goes last), the keys version (changes when a name is added
 * or removed, never on a value update, nor on the move to table mode),
 * the edges (each instance owns a reference to each name it uses: an
 * ATTR_NAME edge, and an ATTR edge per value), and the rule that a
 * mutation finishes its changes before it drops a reference, since the
 * drop can run a finalizer that uses the instance.
 */
#include "pygc_int.h"

static inline ikeys *keys_of(const instance_obj *in) { return ((class_obj *)in->cls)->keys; }

/* the index of a name among the class's keys, or -1; key is the interned
 * str for the bytes when there is one (names up to PYGC_INTERN_MAX bytes
 * always are, so pointers decide), else the bytes are compared */
static int key_index(const ikeys *ks, const pygc_object *key, const char *s, size_t len) {
  if (ks == NULL) return -1;
  if (key) {
    for (uint32_t i = 0; i < ks->n; i++)
      if (ks->names[i].u.o == key) return (int)i;
    return -1;
  }
  if (len <= PYGC_INTERN_MAX) return -1; /* never interned, so never made */
  for (uint32_t i = 0; i < ks->n; i++) {
    const str_obj *k = (const str_obj *)ks->names[i].u.o;
    if (k->len == len && memcmp(k->data, s, len) == 0) return (int)i;
  }
  return -1;
}

static int pos_of(const instance_obj *in, int k) {
  if (k < 0) return -1;
  for (unsigned i = 0; i < in->n; i++)
    if (ival_key(in, i) == (unsigned)k) return (int)i;
  return -1;
}

/* Move the compact attributes into a table of their own (same order; the
 * keys version does not change).  PYGC_ENOMEM leaves the instance as it
 * was.  No reference reaches zero here: the table takes its own before
 * the compact ones go, so no host code runs. */
static int to_table(pygc_heap *h, instance_obj *in) {
  table *t = pygc__heap_alloc(h, sizeof *t);
  if (t == NULL) return PYGC_ENOMEM;
  memset(t, 0, sizeof *t);
  for (unsigned i = 0; i < in->n; i++) {
    pygc_value name = keys_of(in)->names[ival_key(in, i)];
    int st = pygc__tab_insert(h, t, name, ((str_obj *)name.u.o)->hash, ival_decode(in->a.vals[i]), NULL);
    if (st) {
      pygc__tab_clear(h, t); /* drops only the table's references */
      pygc__tab_free(h, t);
      pygc__heap_free_mem(h, t, sizeof *t);
      return st;
    }
  }
  for (unsigned i = 0; i < in->n; i++) {
    pygc_decref(h, keys_of(in)->names[ival_key(in, i)].u.o);
    if (ival_is_obj(in->a.vals[i])) pygc_decref(h, ival_obj(in->a.vals[i]));
  }
  if (in->a.vals) pygc__heap_free_mem(h, in->a.vals, (size_t)in->cap * sizeof(uint64_t));
  in->version -= t->version; /* the sum is the keys version: unchanged */
  in->a.tab = t;
  in->is_table = 1;
  in->n = in->cap = 0;
  in->order = 0;
  return PYGC_OK;
}

/* room for one more name in the class's keys; 0 without memory */
static int keys_reserve(pygc_heap *h, class_obj *c) {
  ikeys *ks = c->keys;
  if (ks && ks->n < ks->cap) return 1;
  uint32_t cap = ks ? ks->cap * 2 : 4;
  if (cap > IKEYS_MAX) cap = IKEYS_MAX;
  size_t osize = ks ? sizeof(ikeys) + ks->cap * sizeof(pygc_value) : 0;
  ikeys *n = pygc__heap_realloc(h, ks, osize, sizeof(ikeys) + cap * sizeof(pygc_value));
  if (n == NULL) return 0;
  if (ks == NULL) n->n = 0;
  n->cap = cap;
  c->keys = n;
  return 1;
}

/* room for one more value in a compact instance; 0 without memory */
static int compact_room(pygc_heap *h, instance_obj *in) {
  if (in->n < in->cap) return 1;
  unsigned cap = in->cap ? in->cap * 2u : 2u;
  if (cap > IKEYS_MAX) cap = IKEYS_MAX;
  uint64_t *nv = pygc__heap_realloc(h, in->a.vals, (size_t)in->cap * sizeof(uint64_t), cap * sizeof(uint64_t));
  if (nv == NULL) return 0;
  in->a.vals = nv;
  in->cap = (uint8_t)cap;
  return 1;
}

/* a new value of a compact instance under the class's key k (one the
 * instance has not got; fewer than IKEYS_MAX values), encoded as w */
static int compact_append(pygc_heap *h, instance_obj *in, int k, pygc_value v, uint64_t w) {
  if (!compact_room(h, in)) return PYGC_ENOMEM; /* nothing changed */
  pygc_incref(keys_of(in)->names[k].u.o); /* the instance's */
  val_incref(v);
  in->a.vals[in->n] = w;
  in->order |= (uint64_t)k << (4 * in->n);
  in->n++;
  in->version++;
  return PYGC_OK;
}

/* a class's own attributes: a table, as an instance's in table mode */
static table *class_attrs(pygc_object *o) { return is_type(o, &pygc_class_type) ? &((class_obj *)o)->attrs : NULL; }

int pygc_getattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value *out) {
  table *ct = class_attrs(o);
  if (ct) return pygc__tab_getattr(h, ct, name, len, out);
  if (!is_type(o, &pygc_instance_type)) return PYGC_ETYPE;
  instance_obj *in = (instance_obj *)o;
  if (in->is_table) return pygc__tab_getattr(h, in->a.tab, name, len, out);
  if (in->n == 0) return PYGC_EKEY;
  uint64_t hash;
  pygc_object *key = pygc__str_name_lookup(h, name, len, &hash);
  int p = pos_of(in, key_index(keys_of(in), key, name, len));
  if (p < 0) return PYGC_EKEY;
  *out = ival_decode(in->a.vals[p]);
  return PYGC_OK;
}

int pygc_setattr(pygc_heap *h, pygc_object *o, const char *name, size_t len, pygc_value v) {
  table *ct = class_attrs(o);
  if (ct) return val_ok(v) ? pygc__tab_setattr(h, ct, name, len, v) : PYGC_EVALUE;
  if (!is_type(o, &pygc_instance_type)) return PYGC_ETYPE;
  if (!val_ok(v)) return PYGC_EVALUE;
  instance_obj *in = (instance_obj *)o;
  if (in->is_table) return pygc__tab_setattr(h, in->a.tab, name, len, v);
  uint64_t hash, w;
  pygc_object *known = pygc__str_name_lookup(h, name, len, &hash);
  class_obj *c = (class_obj *)in->cls;
  int k = key_index(c->keys, known, name, len);
  int p = pos_of(in, k);
  int fits = ival_encode(v, &w);
  if (p >= 0 && fits) { /* replace: the old value goes last */
    uint64_t old = in->a.vals[p];
    val_incref(v);
    in->a.vals[p] = w;
    if (ival_is_obj(old)) pygc_decref(h, ival_obj(old));
    return PYGC_OK;
  }
  if (!fits || in->n >= IKEYS_MAX || (k < 0 && c->keys && c->keys->n >= IKEYS_MAX)) {
    int st = to_table(h, in);
    return st ? st : pygc__tab_setattr(h, in->a.tab, name, len, v);
  }
  if (k >= 0) return compact_append(h, in, k, v, w);
  /* a new attribute: room first, so that running out of memory changes
   * nothing the host can see */
  if (!compact_room(h, in)) return PYGC_ENOMEM;
  { /* a name the class has not seen: it joins the keys */
    if (!keys_reserve(h, c)) return PYGC_ENOMEM;
    pygc_object *key = known;
    if (key)
      pygc_incref(key);
    else if ((key = pygc_str_new(h, name, len)) == NULL)
      return PYGC_ENOMEM;
    k = (int)c->keys->n;
    c->keys->names[c->keys->n++] = pygc_obj(key); /* the class's reference */
  }
  return compact_append(h, in, k, v, w);
}

/* ---- lookups with a hint (pygc_getattr_hint, pygc_setattr_hint) ----------
 * The hint is a guess at where the name is, never trusted: for a compact
 * instance, the index among the class's keys (low byte) and the position
 * among the instance's values (next byte); for a table, the entry index.
 * It is used only after checking that the name found there is the name,
 * byte for byte (names are unique by their bytes among a class's keys and
 * in a table), so a stale hint, or one made for another class, another
 * instance or another name, costs a miss and nothing else.  A miss scans by
 * bytes (no hashing: a compact instance has at most IKEYS_MAX values, and
 * small tables are scanned anyway) and sets the hint. */

static inline int bytes_eq(const char *a, const char *b, size_t n) {
  if (n > 16) return memcmp(a, b, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* is the name (a str: the keys and the tables of attributes hold only
 * strs) these bytes? */
static inline int name_is(pygc_value k, const char *s, size_t len) {
  const str_obj *so = (const str_obj *)k.u.o;
  return so->len == len && bytes_eq(so->data, s, len);
}

/* name_is for the hit paths: names past 16 bytes always miss here (the
 * slow path compares them), so a hit makes no call */
static inline int short_name_is(pygc_value k, const char *s, size_t len) {
  const str_obj *so = (const str_obj *)k.u.o;
  if (len > 16 || so->len != len) return 0;
  for (size_t i = 0; i < len; i++)
    if (so->data[i] != s[i]) return 0;
  return 1;
}

/* the position the hint names among a compact instance's values, if the
 * name is there, else -1 (not authoritative).  Value p uses key
 * ival_key(in, p), which is below the keys' n. */
static inline int compact_hit(const instance_obj *in, const char *name, size_t len, uint32_t hint) {
  unsigned k = hint & 0xFFu, p = (hint >> 8) & 0xFFu;
  if (p >= in->n || ival_key(in, p) != k) return -1;
  return short_name_is(keys_of(in)->names[k], name, len) ? (int)p : -1;
}

/* the position of the name among a compact instance's values, by bytes, or
 * -1: the instance has no such attribute */
static __attribute__((noinline)) int compact_scan_long(const instance_obj *in, const char *name, size_t len,
                                                       uint32_t *hint) {
  const ikeys *ks = keys_of(in);
  for (unsigned i = 0; i < in->n; i++) {
    unsigned k = ival_key(in, i);
    if (name_is(ks->names[k], name, len)) {
      *hint = k | (i << 8);
      return (int)i;
    }
  }
  return -1;
}

static __attribute__((noinline)) int compact_scan(const instance_obj *in, const char *name, size_t len,
                                                  uint32_t *hint) {
  if (len > 16) return compact_scan_long(in, name, len, hint);
  const ikeys *ks = keys_of(in);
  uint64_t order = in->order;
  for (unsigned i = 0; i < in->n; i++, order >>= 4) {
    unsigned k = (unsigned)order & 15u;
    if (short_name_is(ks->names[k], name, len)) {
      *hint = k | (i << 8);
      return (int)i;
    }
  }
  return -1;
}

/* is entry e of the table live, with the name? */
static inline int entry_is(const tab_entry *es, uint32_t e, const char *name, size_t len) {
  return es[e].key.tag == PYGC_TOBJ && es[e].key.u.o->type == &pygc_str_type && name_is(es[e].key, name, len);
}

/* the live entry of a table with the name, -1 when there is none, -2 when
 * the hint misses and the table is too big to scan (the caller probes) */
#define HINT_SCAN_MAX 32
static long table_pos(const table *t, const char *name, size_t len, uint32_t *hint) {
  const tab_entry *es = tab_entries(t);
  if (*hint < t->nentries && entry_is(es, *hint, name, len)) return (long)*hint;
  if (t->nentries > HINT_SCAN_MAX) return -2;
  for (uint32_t e = 0; e < t->nentries; e++)
    if (entry_is(es, e, name, len)) {
      *hint = e;
      return (long)e;
    }
  return -1;
}

static __attribute__((noinline)) int getattr_hint_slow(pygc_heap *h, pygc_object *o, const char *name, size_t len,
                                                       uint32_t *hint, pygc_value *out) {
  const table *t;
  if (is_type(o, &pygc_instance_type)) {
    const instance_obj *in = (const instance_obj *)o;
    if (!in->is_table) {
      int p = compact_scan(in, name, len, hint);
      if (p < 0) return PYGC_EKEY;
      *out = ival_decode(in->a.vals[p]);
      return PYGC_OK;
    }
    t = in->a.tab;
  } else if (is_type(o, &pygc_class_type)) {
    t = &((const class_obj *)o)->attrs;
  } else {
    return PYGC_ETYPE;
  }
  long e = table_pos(t, name, len, hint);
  if (e == -2) return pygc_getattr(h, o, name, len, out);
  if (e < 0) return PYGC_EKEY;
  *out = tab_entries(t)[e].value;
  return PYGC_OK;
}

/* the hits inline (a compact instance, a class), the rest out of line */
int pygc_getattr_hint(pygc_heap *h, pygc_object *o, const char *name, size_t len, uint32_t *hint, pygc_value *out) {
  if (is_type(o, &pygc_instance_type) && !((const instance_obj *)o)->is_table) {
    const instance_obj *in = (const instance_obj *)o;
    int p = compact_hit(in, name, len, *hint);
    if (p >= 0) {
      uint64_t w = in->a.vals[p];
      if ((unsigned)(w >> 48) == IVAL_INT) /* the commonest first */
        *out = pygc_int((int64_t)(w << 16) >> 16);
      else
        *out = ival_decode(w);
      return PYGC_OK;
    }
  } else if (is_type(o, &pygc_class_type)) {
    const table *t = &((const class_obj *)o)->attrs;
    uint32_t e = *hint;
    if (e < t->nentries) {
      const tab_entry *ent = &tab_entries(t)[e];
      if (ent->key.tag == PYGC_TOBJ && ent->key.u.o->type == &pygc_str_type && short_name_is(ent->key, name, len)) {
        *out = ent->value;
        return PYGC_OK;
      }
    }
  }
  return getattr_hint_slow(h, o, name, len, hint, out);
}

/* the old value of a store, dropped last (a tail call: the hit path of a
 * store saves no registers) */
static __attribute__((noinline)) int drop_old(pygc_heap *h, uint64_t old) {
  pygc_decref(h, ival_obj(old));
  return PYGC_OK;
}

static __attribute__((noinline)) int setattr_hint_slow(pygc_heap *h, pygc_object *o, const char *name, size_t len,
                                                       uint32_t *hint, pygc_value v) {
  uint64_t w;
  if (is_type(o, &pygc_instance_type) && !((instance_obj *)o)->is_table && val_ok(v) && ival_encode(v, &w)) {
    instance_obj *in = (instance_obj *)o;
    uint32_t k = *hint & 0xFFu;
    int p = compact_scan(in, name, len, hint);
    if (p >= 0) {
      uint64_t old = in->a.vals[p];
      val_incref(v);
      in->a.vals[p] = w;
      return ival_is_obj(old) ? drop_old(h, old) : PYGC_OK;
    }
    /* a value the instance has not got, under a name the hint finds among
     * the class's keys (every instance a constructor fills): appended
     * without hashing the name */
    const ikeys *ks = keys_of(in);
    if (in->n < IKEYS_MAX && ks && k < ks->n && name_is(ks->names[k], name, len)) {
      int st = compact_append(h, in, (int)k, v, w);
      if (st == PYGC_OK) *hint = k | ((uint32_t)(in->n - 1) << 8);
      return st;
    }
  }
  return pygc_setattr(h, o, name, len, v);
}

/* a value replaced in place when the name is among a compact instance's
 * values and the value fits a word; everything else is pygc_setattr's.
 * The old value goes last. */
int pygc_setattr_hint(pygc_heap *h, pygc_object *o, const char *name, size_t len, uint32_t *hint, pygc_value v) {
  uint64_t w;
  if (is_type(o, &pygc_instance_type) && !((instance_obj *)o)->is_table && val_ok(v) && ival_encode(v, &w)) {
    instance_obj *in = (instance_obj *)o;
    int p = compact_hit(in, name, len, *hint);
    if (p >= 0) {
      uint64_t old = in->a.vals[p];
      val_incref(v);
      in->a.vals[p] = w;
      return ival_is_obj(old) ? drop_old(h, old) : PYGC_OK;
    }
  }
  return setattr_hint_slow(h, o, name, len, hint, v);
}

int pygc_delattr(pygc_heap *h, pygc_object *o, const char *name, size_t len) {
  table *ct = class_attrs(o);
  if (ct) return pygc__tab_delattr(h, ct, name, len);
  if (!is_type(o, &pygc_instance_type)) return PYGC_ETYPE;
  instance_obj *in = (instance_obj *)o;
  if (in->is_table) return pygc__tab_delattr(h, in->a.tab, name, len);
  if (in->n == 0) return PYGC_EKEY;
  uint64_t hash;
  pygc_object *key = pygc__str_name_lookup(h, name, len, &hash);
  int p = pos_of(in, key_index(keys_of(in), key, name, len));
  if (p < 0) return PYGC_EKEY;
  pygc_object *nm = keys_of(in)->names[ival_key(in, (unsigned)p)].u.o;
  uint64_t old = in->a.vals[p];
  memmove(&in->a.vals[p], &in->a.vals[p + 1], (size_t)(in->n - 1 - p) * sizeof(uint64_t));
  uint64_t low = in->order & (((uint64_t)1 << (4 * p)) - 1);
  uint64_t high = 4 * (p + 1) < 64 ? in->order >> (4 * (p + 1)) : 0;
  in->order = low | (high << (4 * p));
  in->n--;
  in->version++;
  /* detached: now the references go */
  pygc_decref(h, nm);
  if (ival_is_obj(old)) pygc_decref(h, ival_obj(old));
  return PYGC_OK;
}

size_t pygc_attr_count(const pygc_object *o) {
  if (is_type(o, &pygc_class_type)) return ((const class_obj *)o)->attrs.used;
  if (!is_type(o, &pygc_instance_type)) return 0;
  const instance_obj *in = (const instance_obj *)o;
  return in->is_table ? in->a.tab->used : in->n;
}

/* *pos is the position in insertion order (the entry number in table
 * mode: the move keeps positions) */
int pygc_attr_next(const pygc_object *o, size_t *pos, pygc_value *name, pygc_value *value) {
  if (is_type(o, &pygc_class_type)) return pygc__tab_next(&((const class_obj *)o)->attrs, pos, name, value);
  if (!is_type(o, &pygc_instance_type)) return 0;
  const instance_obj *in = (const instance_obj *)o;
  if (in->is_table) return pygc__tab_next(in->a.tab, pos, name, value);
  if (*pos >= in->n) return 0;
  unsigned i = (unsigned)(*pos)++;
  if (name) *name = keys_of(in)->names[ival_key(in, i)];
  if (value) *value = ival_decode(in->a.vals[i]);
  return 1;
}

uint32_t pygc__attrs_version(const pygc_object *o) {
  const instance_obj *in = (const instance_obj *)o;
  return in->is_table ? in->version + in->a.tab->version : in->version;
}

/* Detach everything, then drop: a finalizer run by a drop sees an
 * instance without attributes (and may give it new ones, in a block of
 * their own).  Names are read from the class afresh at each step: a
 * finalizer may grow (move) the class's keys, never change an entry. */
void pygc__attrs_clear(pygc_heap *h, pygc_object *o) {
  instance_obj *in = (instance_obj *)o;
  if (in->is_table) {
    pygc__tab_clear(h, in->a.tab);
    return;
  }
  unsigned n = in->n, cap = in->cap;
  if (cap == 0) return;
  uint64_t *vals = in->a.vals, order = in->order;
  in->a.vals = NULL;
  in->n = in->cap = 0;
  in->order = 0;
  if (n) in->version++;
  const class_obj *c = (const class_obj *)in->cls;
  for (unsigned i = 0; i < n; i++) {
    pygc_decref(h, c->keys->names[(order >> (4 * i)) & 15u].u.o);
    if (ival_is_obj(vals[i])) pygc_decref(h, ival_obj(vals[i]));
  }
  pygc__heap_free_mem(h, vals, (size_t)cap * sizeof(uint64_t));
}

/* the storage, references already dropped (or abandoned with the heap) */
void pygc__attrs_free(pygc_heap *h, pygc_object *o) {
  instance_obj *in = (instance_obj *)o;
  if (in->is_table) {
    pygc__tab_free(h, in->a.tab);
    pygc__heap_free_mem(h, in->a.tab, sizeof(table));
  } else if (in->a.vals) {
    pygc__heap_free_mem(h, in->a.vals, (size_t)in->cap * sizeof(uint64_t));
  }
  in->a.vals = NULL;
  in->is_table = 0;
  in->n = in->cap = 0;
  in->order = 0;
}

size_t pygc__attrs_bytes(const pygc_object *o) {
  const instance_obj *in = (const instance_obj *)o;
  if (in->is_table) return sizeof(table) + pygc__tab_bytes(in->a.tab);
  return (size_t)in->cap * sizeof(uint64_t);
}

int pygc__attrs_verify(const pygc_object *o, char *msg, size_t n) {
  const instance_obj *in = (const instance_obj *)o;
  if (in->is_table) return pygc__tab_verify(in->a.tab, msg, n);
  const ikeys *ks = keys_of(in);
  if (in->n > in->cap || in->cap > IKEYS_MAX || (in->cap == 0) != (in->a.vals == NULL) ||
      (in->n < 16 && (in->order >> (4 * in->n)) != 0) || (in->n && ks == NULL)) {
    snprintf(msg, n, "instance at %p: compact attributes out of shape (%u of %u)", (const void *)o, in->n, in->cap);
    return 1;
  }
  unsigned seen = 0;
  for (unsigned i = 0; i < in->n; i++) {
    unsigned k = ival_key(in, i);
    uint64_t w = in->a.vals[i];
    if (k >= ks->n || (seen & (1u << k)) || ks->names[k].tag != PYGC_TOBJ ||
        ks->names[k].u.o->type != &pygc_str_type || (ival_is_obj(w) && ival_obj(w) == NULL) ||
        (w >= IVAL_BOX && (unsigned)(w >> 48) == 0xFFFFu)) {
      snprintf(msg, n, "instance at %p: attribute %u has a bad name or value", (const void *)o, i);
      return 1;
    }
    seen |= 1u << k;
  }
  return 0;
}

/* ---- the class's side ------------------------------------------------------ */

/* drop the names (the class is dying: no instance refers to it) */
void pygc__class_keys_release(pygc_heap *h, class_obj *c) {
  ikeys *ks = c->keys;
  if (ks == NULL) return;
  while (ks->n > 0) {
    pygc_object *nm = ks->names[--ks->n].u.o;
    pygc_decref(h, nm);
  }
}

void pygc__class_keys_free(pygc_heap *h, class_obj *c) {
  if (c->keys) pygc__heap_free_mem(h, c->keys, sizeof(ikeys) + c->keys->cap * sizeof(pygc_value));
  c->keys = NULL;
}

size_t pygc__class_keys_bytes(const class_obj *c) {
  return c->keys ? sizeof(ikeys) + c->keys->cap * sizeof(pygc_value) : 0;
}
