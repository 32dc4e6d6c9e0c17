/*
 * dict.c -- the insertion-ordered hash table (shared by dicts and instance
 * attributes) and the dict type.
 *
 * Layout as CPython's compact dict: a sparse index array of int32 slots
 * pointing into a dense entry array kept in insertion order.  Deleting
 * leaves a dead entry and a dummy slot; growing compacts both.  Equality of
 * keys runs no user code, so a lookup can never see the table change.
 *
 * Why this layout: iteration order is insertion order for free (the entry
 * array is that order), the entries are dense (a scan of a dict is a scan
 * of memory, which the collector's passes over tables like), and the
 * index is 4 bytes a slot rather than a whole entry, so a sparse index
 * costs little.  Instances whose attributes outgrow their compact layout
 * (attrs.c) keep them in a table too: their attribute names are interned
 * strs, so most attribute lookups compare pointers only.
 *
 * Invariants (pygc__tab_verify checks them):
 *   - nentries <= cap; used counts the live entries among the first
 *     nentries; an entry is dead iff its key's tag is TAG_DEAD;
 *   - indexed tables: cap == usable_for(log2size), so at least a third of
 *     the index is always empty and every probe sequence ends;
 *   - every live entry is found by probing its own hash: each index slot
 *     on the way is occupied (a live index or SLOT_DUMMY), never EMPTY;
 *   - the stored hash is the key's hash (a tuple key's cached hash too).
 * What may run during a table operation: nothing but the final decref of
 * a replaced or removed value, which is why every mutation finishes its
 * changes to the table before it drops a reference.
 */
#include "pygc_int.h"

/* index slot values besides an entry number: EMPTY ends a probe,
 * DUMMY (a deleted entry's slot) does not -- a probe must go on past it,
 * or keys inserted after a collision would become unreachable */
#define SLOT_EMPTY (-1)
#define SLOT_DUMMY (-2)

/* where tab_resize's search for an index size starts (8 slots, 5 usable);
 * indexed tables hold more than TAB_SMALL_MAX entries, so in practice
 * they start at 16 slots */
#define MIN_LOG2 3

/* the index is at the front of t->mem, the entries after it (tab_entries):
 * one allocation per table, freed and accounted as one block */
static inline int32_t *tab_index(const table *t) { return (int32_t *)t->mem; }
static inline size_t tab_mask(const table *t) { return ((size_t)1 << t->log2size) - 1; }
/* CPython's load factor: two thirds of the slots may hold entries, which
 * keeps probe sequences short and guarantees empty slots */
static size_t usable_for(uint32_t log2size) { return (((size_t)1 << log2size) * 2) / 3; }
static size_t mem_bytes(uint32_t log2size) {
  return ((size_t)4 << log2size) + usable_for(log2size) * sizeof(tab_entry);
}

/* the bytes of t->mem; small tables have no index, only entries */
static size_t tab_mem_bytes(const table *t) {
  return t->log2size ? mem_bytes(t->log2size) : (size_t)t->cap * sizeof(tab_entry);
}

/* what a table adds to its owner's size() (and so to the heap's accounting) */
size_t pygc__tab_bytes(const table *t) { return t->mem ? tab_mem_bytes(t) : 0; }

/* 1: the entry holds the key; 0: it does not; -1: tuples too costly to
 * compare (pygc_equal), which the caller reports rather than guess.
 * The hash is compared first: equal keys have equal hashes, and most
 * unequal ones differ there.  Then identity (the same interned str, the
 * same int) before the full comparison.  A key given as bytes (s, len:
 * attribute names the host passes) matches only a str with those bytes. */
static int key_matches(const tab_entry *e, uint64_t hash, const pygc_value *key, const char *s, size_t len) {
  if (e->hash != hash || e->key.tag == TAG_DEAD) return 0;
  const pygc_value *k = &e->key;
  if (key) return (k->tag == key->tag && k->u.i == key->u.i) ? 1 : pygc_equal(*k, *key);
  if (k->tag != PYGC_TOBJ || k->u.o->type != &pygc_str_type) return 0;
  const str_obj *ks = (const str_obj *)k->u.o;
  return ks->len == len && memcmp(ks->data, s, len) == 0;
}

/* Probe for a key given as a value (key != NULL) or as bytes of a str.
 * Returns the entry index, -1 when absent, or PROBE_ERROR when a key
 * comparison could not tell; *slotp receives the index slot. */
#define PROBE_ERROR (-2)
static long tab_probe(const table *t, uint64_t hash, const pygc_value *key, const char *s, size_t len,
                      size_t *slotp) {
  if (t->mem == NULL) return -1;
  const tab_entry *ents = tab_entries(t);
  if (t->log2size == 0) {
    for (uint32_t e = 0; e < t->nentries; e++) {
      int m = key_matches(&ents[e], hash, key, s, len);
      if (m < 0) return PROBE_ERROR;
      if (m) {
        if (slotp) *slotp = e;
        return (long)e;
      }
    }
    return -1;
  }
  const int32_t *ix = tab_index(t);
  size_t mask = tab_mask(t), i = (size_t)hash & mask;
  uint64_t perturb = hash;
  for (;;) {
    int32_t e = ix[i];
    if (e == SLOT_EMPTY) return -1;
    if (e >= 0) {
      int m = key_matches(&ents[e], hash, key, s, len);
      if (m < 0) return PROBE_ERROR;
      if (m) {
        if (slotp) *slotp = i;
        return e;
      }
    }
    perturb >>= 5;
    i = (i * 5 + (size_t)perturb + 1) & mask;
  }
}

/* The first slot of hash's probe sequence that holds no entry (EMPTY or
 * DUMMY): where a new key goes.  Reusing a DUMMY is safe because the
 * caller has just probed for the key and knows it is absent.  The
 * sequence is CPython's: i = 5i + 1 + perturb, with the hash's high bits
 * shifted in through perturb so that keys differing only there spread. */
static size_t find_empty_slot(const table *t, uint64_t hash) {
  const int32_t *ix = tab_index(t);
  size_t mask = tab_mask(t), i = (size_t)hash & mask;
  uint64_t perturb = hash;
  while (ix[i] >= 0) {
    perturb >>= 5;
    i = (i * 5 + (size_t)perturb + 1) & mask;
  }
  return i;
}

/* Rebuild t with room for minused live entries, dropping dead ones: a
 * small table up to TAB_SMALL_MAX entries, an indexed one beyond.
 * The new block is allocated before the old one is touched, so running
 * out of memory leaves t exactly as it was (PYGC_ENOMEM, nothing
 * changed, as pygc.h promises).  Entries move by plain copy: the table
 * owns the same references before and after, no refcount changes. */
static int tab_resize(pygc_heap *h, table *t, size_t minused) {
  table n = {NULL, 0, 0, 0, 0, 0};
  size_t bytes;
  if (minused <= TAB_SMALL_MAX) {
    uint32_t cap = 1;
    while (cap < minused) cap *= 2;
    n.cap = cap;
    bytes = (size_t)cap * sizeof(tab_entry);
  } else {
    uint32_t log2 = MIN_LOG2;
    while (usable_for(log2) < minused) {
      if (log2 >= 30) return PYGC_EOVERFLOW;
      log2++;
    }
    n.log2size = log2;
    n.cap = (uint32_t)usable_for(log2);
    bytes = mem_bytes(log2);
  }
  n.mem = pygc__heap_alloc(h, bytes);
  if (n.mem == NULL) return PYGC_ENOMEM;
  if (n.log2size) memset(n.mem, 0xFF, (size_t)4 << n.log2size); /* every slot SLOT_EMPTY (-1: all bits set) */
  tab_entry *dst = tab_entries(&n);
  if (t->mem) {
    tab_entry *src = tab_entries(t);
    for (uint32_t k = 0; k < t->nentries; k++) {
      if (src[k].key.tag == TAG_DEAD) continue;
      dst[n.nentries] = src[k];
      if (n.log2size) tab_index(&n)[find_empty_slot(&n, src[k].hash)] = (int32_t)n.nentries;
      n.nentries++;
    }
    pygc__heap_free_mem(h, t->mem, tab_mem_bytes(t));
  }
  n.used = n.nentries;
  n.version = t->version;
  *t = n;
  return PYGC_OK;
}

/* 1 and the entry's index in *ix when key is in t, 0 when not, -1 when a
 * comparison could not tell (the caller answers PYGC_EOVERFLOW) */
int pygc__tab_lookup(pygc_heap *h, const table *t, pygc_value key, uint64_t hash, size_t *ix) {
  (void)h;
  long e = tab_probe(t, hash, &key, NULL, 0, NULL);
  if (e == PROBE_ERROR) return -1;
  if (e < 0) return 0;
  *ix = (size_t)e;
  return 1;
}

/* Insert or replace.  The table takes its own references.  On replace the
 * first key stays (Python keeps the key that was stored first). */
int pygc__tab_insert(pygc_heap *h, table *t, pygc_value key, uint64_t hash, pygc_value value, int *added) {
  long e = tab_probe(t, hash, &key, NULL, 0, NULL);
  if (e == PROBE_ERROR) return PYGC_EOVERFLOW;
  if (e >= 0) {
    tab_entry *ent = &tab_entries(t)[e];
    pygc_value old = ent->value;
    val_incref(value);
    ent->value = value;
    if (added) *added = 0;
    val_decref(h, old); /* last: a finalizer may run */
    return PYGC_OK;
  }
  if (t->mem == NULL || t->nentries >= t->cap) {
    if ((size_t)t->used * 3 >= (size_t)INT32_MAX) return PYGC_EOVERFLOW;
    /* small tables grow by doubling (1, 2, 4, 8), indexed ones by half
     * again their live size; dead entries go either way */
    size_t need = (size_t)t->used + 1;
    size_t want = need <= TAB_SMALL_MAX ? need : (size_t)t->used * 3 / 2 + 1;
    int st = tab_resize(h, t, want);
    if (st) return st;
  }
  /* append: the entry array stays in insertion order */
  tab_entry *ent = &tab_entries(t)[t->nentries];
  ent->key = key;
  ent->value = value;
  ent->hash = hash;
  val_incref(key);
  val_incref(value);
  if (t->log2size) tab_index(t)[find_empty_slot(t, hash)] = (int32_t)t->nentries;
  t->nentries++;
  t->used++;
  t->version++;
  if (added) *added = 1;
  return PYGC_OK;
}

/* Remove entry e (found at index slot `slot`).  The entry stays, dead, so
 * that entry numbers in the index and iteration positions held by callers
 * (pygc_dict_next's *pos) stay valid; the slot becomes DUMMY so probes go
 * on past it.  The references are dropped last: a finalizer they run sees
 * a table without the entry. */
static void tab_remove_at(pygc_heap *h, table *t, long e, size_t slot) {
  tab_entry *ent = &tab_entries(t)[e];
  pygc_value k = ent->key, v = ent->value;
  if (t->log2size) tab_index(t)[slot] = SLOT_DUMMY;
  ent->key.tag = TAG_DEAD;
  ent->key.u.o = NULL;
  ent->value = pygc_none();
  t->used--;
  t->version++;
  val_decref(h, k);
  val_decref(h, v);
}

int pygc__tab_delete(pygc_heap *h, table *t, pygc_value key, uint64_t hash) {
  size_t slot;
  long e = tab_probe(t, hash, &key, NULL, 0, &slot);
  if (e == PROBE_ERROR) return PYGC_EOVERFLOW;
  if (e < 0) return PYGC_EKEY;
  tab_remove_at(h, t, e, slot);
  return PYGC_OK;
}

/* Iteration: *pos is an entry number, so inserting during iteration only
 * appends (seen later) and deleting leaves a dead entry (skipped); but a
 * resize compacts and renumbers the entries, so an iterator that lets the
 * table change between steps must detect it (Python raises "dictionary
 * changed size during iteration"). */
int pygc__tab_next(const table *t, size_t *pos, pygc_value *key, pygc_value *value) {
  if (t->mem == NULL) return 0;
  const tab_entry *ents = tab_entries(t);
  while (*pos < t->nentries) {
    const tab_entry *e = &ents[(*pos)++];
    if (e->key.tag == TAG_DEAD) continue;
    if (key) *key = e->key;
    if (value) *value = e->value;
    return 1;
  }
  return 0;
}

/* Detach first, then drop: finalizers run by the decrefs see an empty table. */
void pygc__tab_clear(pygc_heap *h, table *t) {
  table old = *t;
  memset(t, 0, sizeof *t);
  t->version = old.version + 1;
  if (old.mem == NULL) return;
  tab_entry *ents = tab_entries(&old);
  for (uint32_t i = 0; i < old.nentries; i++) {
    if (ents[i].key.tag == TAG_DEAD) continue;
    val_decref(h, ents[i].key);
    val_decref(h, ents[i].value);
  }
  pygc__heap_free_mem(h, old.mem, tab_mem_bytes(&old));
}

void pygc__tab_free(pygc_heap *h, table *t) {
  if (t->mem) pygc__heap_free_mem(h, t->mem, tab_mem_bytes(t));
  memset(t, 0, sizeof *t);
}

/* The invariants listed at the top of this file.  Recomputing hashes
 * catches a tuple key whose cached hash went stale; probing for each live
 * entry catches a broken probe chain (an EMPTY slot where a DUMMY should
 * be). */
int pygc__tab_verify(const table *t, char *msg, size_t n) {
  if (t->mem == NULL) {
    if (t->used || t->nentries) {
      snprintf(msg, n, "table without memory has %u entries", t->used);
      return 1;
    }
    return 0;
  }
  if (t->nentries > t->cap || (t->log2size ? t->cap != usable_for(t->log2size) : t->cap > TAB_SMALL_MAX)) {
    snprintf(msg, n, "table entries %u exceed capacity %u", t->nentries, t->cap);
    return 1;
  }
  uint32_t live = 0;
  const tab_entry *ents = tab_entries(t);
  for (uint32_t i = 0; i < t->nentries; i++) {
    if (ents[i].key.tag == TAG_DEAD) continue;
    live++;
    uint64_t hh;
    if (pygc_hash(NULL, ents[i].key, &hh) != PYGC_OK || hh != ents[i].hash) {
      snprintf(msg, n, "table entry %u has a stale hash", i);
      return 1;
    }
    if (tab_probe(t, ents[i].hash, &ents[i].key, NULL, 0, NULL) != (long)i) {
      snprintf(msg, n, "table entry %u is not found by lookup", i);
      return 1;
    }
  }
  if (live != t->used) {
    snprintf(msg, n, "table counts %u live entries, holds %u", t->used, live);
    return 1;
  }
  return 0;
}

/* ---- dict --------------------------------------------------------------- */

/* keys and values, as obj_visit enumerates them (pygc_int.h) */
static int dict_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }
static void dict_clear(pygc_heap *h, pygc_object *o) { pygc__tab_clear(h, &((dict_obj *)o)->t); }
static void dict_free(pygc_heap *h, pygc_object *o) { pygc__tab_free(h, &((dict_obj *)o)->t); }
static size_t dict_size(const pygc_object *o) { return sizeof(dict_obj) + pygc__tab_bytes(&((const dict_obj *)o)->t); }

const pygc_type pygc_dict_type = {
    .name = "dict",
    .flags = PYGC_TYPE_GC,
    .traverse = dict_traverse,
    .clear = dict_clear,
    .free = dict_free,
    .size = dict_size,
};

int pygc__dict_verify(const pygc_object *o, char *msg, size_t n) {
  return pygc__tab_verify(&((const dict_obj *)o)->t, msg, n);
}

/* A dict is tracked lazily, as CPython's: an empty dict cannot be in a
 * cycle, and most short-lived dicts stay small or empty; tracking starts
 * with the first insertion (pygc_dict_set). */
pygc_object *pygc_dict_new(pygc_heap *h) {
  dict_obj *d = (dict_obj *)pygc__heap_new_object(h, &pygc_dict_type, sizeof(dict_obj));
  if (d == NULL) return NULL;
  /* untracked while empty: tracked from the first insertion on */
  pygc__gc_maybe_collect(h);
  return &d->h;
}

size_t pygc_dict_len(const pygc_object *o) { return is_type(o, &pygc_dict_type) ? ((const dict_obj *)o)->t.used : 0; }

int pygc_dict_get(pygc_heap *h, pygc_object *o, pygc_value key, pygc_value *out) {
  if (!is_type(o, &pygc_dict_type)) return PYGC_ETYPE;
  uint64_t hash;
  int st = pygc_hash(h, key, &hash);
  if (st) return st;
  dict_obj *d = (dict_obj *)o;
  size_t e;
  int found = pygc__tab_lookup(h, &d->t, key, hash, &e);
  if (found < 0) return PYGC_EOVERFLOW;
  if (!found) return PYGC_EKEY;
  *out = tab_entries(&d->t)[e].value;
  return PYGC_OK;
}

int pygc_dict_set(pygc_heap *h, pygc_object *o, pygc_value key, pygc_value value) {
  if (!is_type(o, &pygc_dict_type)) return PYGC_ETYPE;
  if (!val_ok(value)) return PYGC_EVALUE;
  uint64_t hash;
  int st = pygc_hash(h, key, &hash); /* refuses a key that is no value */
  if (st) return st;
  dict_obj *d = (dict_obj *)o;
  st = pygc__tab_insert(h, &d->t, key, hash, value, NULL);
  /* refcnt 0: the dict is being deallocated (a finalizer stored into it);
   * tracking it would put a dying object back on a generation */
  if (st == PYGC_OK && !(o->flags & F_TRACKED) && o->refcnt) pygc__heap_track(h, o);
  return st;
}

int pygc_dict_del(pygc_heap *h, pygc_object *o, pygc_value key) {
  if (!is_type(o, &pygc_dict_type)) return PYGC_ETYPE;
  uint64_t hash;
  int st = pygc_hash(h, key, &hash);
  if (st) return st;
  return pygc__tab_delete(h, &((dict_obj *)o)->t, key, hash);
}

uint32_t pygc_keys_version(const pygc_object *o) {
  if (o->type == &pygc_dict_type) return ((const dict_obj *)o)->t.version;
  if (o->type == &pygc_instance_type) return pygc__attrs_version(o);
  if (o->type == &pygc_class_type) return ((const class_obj *)o)->attrs.version;
  return 0;
}

int pygc_dict_next(const pygc_object *o, size_t *pos, pygc_value *key, pygc_value *value) {
  if (!is_type(o, &pygc_dict_type)) return 0;
  return pygc__tab_next(&((const dict_obj *)o)->t, pos, key, value);
}

/* ---- instance attributes (str keys given as bytes) ----------------------
 * Names arrive as bytes (C literals, Lua strings).  pygc__str_name_lookup finds
 * the interned str for them without hashing when the same pointer came
 * before; with it the probe compares pointers.  Without one (a name never
 * interned, or longer than PYGC_INTERN_MAX) the probe compares bytes, and
 * setattr makes the str only when the attribute is new. */

/* The instances' table mode (attrs.c): an instance whose attributes do
 * not fit its compact layout keeps them in a table, through these. */
int pygc__tab_getattr(pygc_heap *h, table *t, const char *name, size_t len, pygc_value *out) {
  uint64_t hash;
  pygc_object *key = pygc__str_name_lookup(h, name, len, &hash);
  long e = key ? tab_probe(t, hash, &(pygc_value){PYGC_TOBJ, {.o = key}}, NULL, 0, NULL)
               : tab_probe(t, hash, NULL, name, len, NULL);
  if (e < 0) return PYGC_EKEY;
  *out = tab_entries(t)[e].value;
  return PYGC_OK;
}

int pygc__tab_setattr(pygc_heap *h, table *t, const char *name, size_t len, pygc_value v) {
  uint64_t hash;
  pygc_object *known = pygc__str_name_lookup(h, name, len, &hash);
  long e = known ? tab_probe(t, hash, &(pygc_value){PYGC_TOBJ, {.o = known}}, NULL, 0, NULL)
                 : tab_probe(t, hash, NULL, name, len, NULL);
  if (e >= 0) { /* replace: the name stays, the old value goes last */
    tab_entry *ent = &tab_entries(t)[e];
    pygc_value old = ent->value;
    val_incref(v);
    ent->value = v;
    val_decref(h, old);
    return PYGC_OK;
  }
  pygc_object *key = known;
  if (key)
    pygc_incref(key);
  else if ((key = pygc_str_new(h, name, len)) == NULL)
    return PYGC_ENOMEM;
  /* the table takes its own reference to the name; ours goes either way */
  int st = pygc__tab_insert(h, t, pygc_obj(key), hash, v, NULL);
  pygc_decref(h, key);
  return st;
}

int pygc__tab_delattr(pygc_heap *h, table *t, const char *name, size_t len) {
  size_t slot;
  uint64_t hash;
  pygc__str_name_lookup(h, name, len, &hash); /* for the hash (cached when known) */
  long e = tab_probe(t, hash, NULL, name, len, &slot);
  if (e < 0) return PYGC_EKEY;
  tab_remove_at(h, t, e, slot);
  return PYGC_OK;
}
