/*
 * value.c -- tagged values: the str type and its intern set, hashing and
 * equality of values as dict keys, and Python type names.
 *
 * Hashing follows Python where it is observable: equal numbers hash alike
 * whatever their type (1, 1.0 and True are one key), tuples hash from their
 * items, other objects hash by identity.  Strings use SipHash-1-3 keyed per
 * heap, so a script cannot choose keys that all collide.
 */
#include "pygc_int.h"

#include <math.h>

/* ---- SipHash-1-3 -------------------------------------------------------- */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
  do {                                                                                             \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                     \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                         \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                         \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                     \
  } while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  uint64_t b = (uint64_t)len << 56;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t m;
    memcpy(&m, in + i, 8); /* little-endian hosts; hashes need only be stable per process */
    v3 ^= m;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t t = 0;
  for (size_t j = 0; i + j < len; j++) t |= (uint64_t)in[i + j] << (8 * j);
  b |= t;
  v3 ^= b;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t pygc__str_hash_bytes(const pygc_heap *h, const char *s, size_t len) {
  uint64_t x = siphash13(h->seed[0], h->seed[1], (const unsigned char *)s, len);
  return x == (uint64_t)-1 ? (uint64_t)-2 : x;
}

/* ---- str ---------------------------------------------------------------- */

static size_t str_size(const pygc_object *o) {
  return offsetof(str_obj, data) + ((const str_obj *)o)->len + 1;
}

static void str_free(pygc_heap *h, pygc_object *o) {
  if (o->flags & F_INTERNED) {
    pygc__str_intern_remove(h, o);
    for (size_t i = 0; i < sizeof h->names / sizeof h->names[0]; i++)
      if (h->names[i].str == o) h->names[i].str = NULL;
  }
}

/* The interned str for name bytes a host passes, if one exists: from the
 * cache, else from the intern set (the cache learns it).  Borrowed. */
pygc_object *pygc__str_name_lookup(pygc_heap *h, const char *s, size_t len, uint64_t *hash) {
  struct name_cache *c = &h->names[((uintptr_t)s >> 3 ^ len) & 63];
  if (c->str && c->ptr == s && c->len == len && memcmp(((str_obj *)c->str)->data, s, len) == 0) {
    *hash = ((str_obj *)c->str)->hash;
    return c->str;
  }
  *hash = pygc__str_hash_bytes(h, s, len);
  pygc_object *o = len <= PYGC_INTERN_MAX ? pygc__str_intern_find(h, s, len, *hash) : NULL;
  if (o) {
    c->ptr = s;
    c->len = len;
    c->str = o;
  }
  return o;
}

const pygc_type pygc_str_type = {
    .name = "str",
    .free = str_free,
    .size = str_size,
};

static size_t intern_slot(const pygc_heap *h, uint64_t hash) { return (size_t)hash & (h->intern_cap - 1); }

pygc_object *pygc__str_intern_find(pygc_heap *h, const char *s, size_t len, uint64_t hash) {
  if (h->intern_cap == 0) return NULL;
  for (size_t i = intern_slot(h, hash);; i = (i + 1) & (h->intern_cap - 1)) {
    str_obj *e = (str_obj *)h->intern[i];
    if (e == NULL) return NULL;
    if (e->hash == hash && e->len == len && memcmp(e->data, s, len) == 0) return &e->h;
  }
}

static int intern_grow(pygc_heap *h) {
  size_t ncap = h->intern_cap ? h->intern_cap * 2 : 64;
  pygc_object **n = pygc__heap_alloc(h, ncap * sizeof *n);
  if (n == NULL) return PYGC_ENOMEM;
  memset(n, 0, ncap * sizeof *n);
  for (size_t i = 0; i < h->intern_cap; i++) {
    str_obj *e = (str_obj *)h->intern[i];
    if (e == NULL) continue;
    size_t j = (size_t)e->hash & (ncap - 1);
    while (n[j]) j = (j + 1) & (ncap - 1);
    n[j] = &e->h;
  }
  pygc__heap_free_mem(h, h->intern, h->intern_cap * sizeof *n);
  h->intern = n;
  h->intern_cap = ncap;
  return PYGC_OK;
}

static int intern_add(pygc_heap *h, pygc_object *o) {
  if ((h->intern_used + 1) * 4 > h->intern_cap * 3 && intern_grow(h) != PYGC_OK) return PYGC_ENOMEM;
  size_t i = intern_slot(h, ((str_obj *)o)->hash);
  while (h->intern[i]) i = (i + 1) & (h->intern_cap - 1);
  h->intern[i] = o;
  h->intern_used++;
  o->flags |= F_INTERNED;
  return PYGC_OK;
}

void pygc__str_intern_remove(pygc_heap *h, pygc_object *o) {
  size_t mask = h->intern_cap - 1;
  size_t i = intern_slot(h, ((str_obj *)o)->hash);
  while (h->intern[i] != o) i = (i + 1) & mask;
  /* backward-shift deletion keeps probe chains unbroken without tombstones */
  size_t j = i;
  for (;;) {
    h->intern[i] = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (h->intern[j] == NULL) {
        h->intern_used--;
        return;
      }
      size_t k = intern_slot(h, ((str_obj *)h->intern[j])->hash);
      /* can entry j move to i?  only if its home k is not in (i, j] */
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
      break;
    }
    h->intern[i] = h->intern[j];
    i = j;
  }
}

void pygc__str_intern_free(pygc_heap *h) {
  pygc__heap_free_mem(h, h->intern, h->intern_cap * sizeof *h->intern);
  h->intern = NULL;
  h->intern_cap = h->intern_used = 0;
}

pygc_object *pygc_str_new(pygc_heap *h, const char *s, size_t len) {
  if (len > ((size_t)-1) / 2) return NULL;
  uint64_t hash = pygc__str_hash_bytes(h, s, len);
  int intern = len <= PYGC_INTERN_MAX;
  if (intern) {
    pygc_object *found = pygc__str_intern_find(h, s, len, hash);
    if (found) {
      pygc_incref(found);
      return found;
    }
  }
  str_obj *o = (str_obj *)pygc__heap_new_object(h, &pygc_str_type, offsetof(str_obj, data) + len + 1);
  if (o == NULL) return NULL;
  o->len = len;
  o->hash = hash;
  if (len) memcpy(o->data, s, len);
  o->data[len] = '\0';
  if (intern) intern_add(h, &o->h); /* on failure the string is merely not shared */
  return &o->h;
}

const char *pygc_str_data(const pygc_object *o, size_t *len) {
  if (!is_type(o, &pygc_str_type)) return NULL;
  const str_obj *s = (const str_obj *)o;
  if (len) *len = s->len;
  return s->data;
}

/* ---- hashing ------------------------------------------------------------ */

#define HASH_MODULUS (((uint64_t)1 << 61) - 1)

static uint64_t hash_int(int64_t i) {
  /* Python: hash(i) = i mod (2**61 - 1), sign kept, -1 becomes -2 */
  uint64_t a = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
  uint64_t r = a % HASH_MODULUS;
  int64_t s = i < 0 ? -(int64_t)r : (int64_t)r;
  if (s == -1) s = -2;
  return (uint64_t)s;
}

static uint64_t hash_double(double d) {
  if (isinf(d)) return d > 0 ? 314159 : (uint64_t)-314159;
  /* integral doubles in int64 range hash as the int they equal */
  if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) return hash_int((int64_t)d);
  /* Python's algorithm for non-integral floats */
  int e;
  double m = frexp(d, &e);
  int sign = 1;
  if (m < 0) {
    sign = -1;
    m = -m;
  }
  uint64_t x = 0;
  while (m) {
    x = ((x << 28) & HASH_MODULUS) | x >> (61 - 28);
    m *= 268435456.0;
    e -= 28;
    uint64_t y = (uint64_t)m;
    m -= (double)y;
    x += y;
    if (x >= HASH_MODULUS) x -= HASH_MODULUS;
  }
  e = e >= 0 ? e % 61 : 61 - 1 - ((-1 - e) % 61);
  x = ((x << e) & HASH_MODULUS) | x >> (61 - e);
  int64_t s = (int64_t)x * sign;
  if (s == -1) s = -2;
  return (uint64_t)s;
}

#define HASH_DEPTH_MAX 1000 /* nested tuples deeper than this are refused */

static int hash_rec(pygc_value v, uint64_t *out, int depth) {
  if (v.tag > PYGC_TOBJ || (v.tag == PYGC_TOBJ && v.u.o == NULL)) return PYGC_EVALUE;
  switch (v.tag) {
  case PYGC_TNONE: *out = 0xFCA86420u; return PYGC_OK;
  case PYGC_TBOOL: *out = (uint64_t)v.u.b; return PYGC_OK;
  case PYGC_TINT: *out = hash_int(v.u.i); return PYGC_OK;
  case PYGC_TFLOAT:
    if (isnan(v.u.f)) return PYGC_ENAN;
    *out = hash_double(v.u.f);
    return PYGC_OK;
  default: break;
  }
  pygc_object *o = v.u.o;
  if (o->type == &pygc_str_type) {
    *out = ((str_obj *)o)->hash;
    return PYGC_OK;
  }
  if (o->type == &pygc_list_type || o->type == &pygc_dict_type || o->type == &pygc_weakproxy_type)
    return PYGC_EUNHASHABLE;
  if (o->type == &pygc_weakref_type) {
    /* a weakref hashes like its referent, which it remembers: a dead one
     * that was never hashed cannot be ("weak object has gone away") */
    weakref_obj *w = (weakref_obj *)o;
    if (!w->hashed) {
      if (w->referent == NULL) return PYGC_EUNHASHABLE;
      int st = hash_rec(pygc_obj(w->referent), &w->hash, depth + 1);
      if (st != PYGC_OK) return st;
      w->hashed = 1;
    }
    *out = w->hash;
    return PYGC_OK;
  }
  if (o->type == &pygc_tuple_type) {
    /* xxHash-style combination, as CPython's tuplehash; cached, because a
     * tuple holding the same tuple twice, nested n deep, would otherwise
     * cost 2^n (CPython pays that) */
    tuple_obj *t = (tuple_obj *)o;
    if (t->hash) {
      *out = t->hash;
      return PYGC_OK;
    }
    uint64_t acc = 0x27D4EB2F165667C5ULL;
    for (size_t i = 0; i < t->len; i++) {
      uint64_t ih;
      int st = depth >= HASH_DEPTH_MAX ? PYGC_EOVERFLOW : hash_rec(t->items[i], &ih, depth + 1);
      if (st != PYGC_OK) return st;
      acc += ih * 0xC2B2AE3D27D4EB4FULL;
      acc = (acc << 31) | (acc >> 33);
      acc *= 0x9E3779B185EBCA87ULL;
    }
    acc += t->len ^ (0x27D4EB2F165667C5ULL ^ 3527539UL);
    if (acc == (uint64_t)-1) acc = 1546275796;
    if (acc == 0) acc = 1;
    t->hash = acc;
    *out = acc;
    return PYGC_OK;
  }
  uintptr_t p = (uintptr_t)o;
  *out = (uint64_t)((p >> 4) | (p << (8 * sizeof(p) - 4)));
  return PYGC_OK;
}

int pygc_hash(pygc_heap *h, pygc_value v, uint64_t *out) {
  (void)h;
  return hash_rec(v, out, 0);
}

/* ---- equality ----------------------------------------------------------- */

static int num_equal(pygc_value a, pygc_value b) {
  /* bool and int compare as integers; int and float compare exactly */
  int64_t ai = a.tag == PYGC_TBOOL ? a.u.b : a.u.i;
  int64_t bi = b.tag == PYGC_TBOOL ? b.u.b : b.u.i;
  if (a.tag != PYGC_TFLOAT && b.tag != PYGC_TFLOAT) return ai == bi;
  if (a.tag == PYGC_TFLOAT && b.tag == PYGC_TFLOAT) return a.u.f == b.u.f;
  double f = a.tag == PYGC_TFLOAT ? a.u.f : b.u.f;
  int64_t i = a.tag == PYGC_TFLOAT ? bi : ai;
  if (f != floor(f) || !(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return 0;
  return (int64_t)f == i;
}

/* Equality of tuples walks their items, with an explicit stack (no C
 * recursion, whatever the depth) and three prunings that keep it exact:
 *   - identity: a tuple equals itself;
 *   - the hash cache: two tuples whose cached hashes differ are unequal
 *     (dict keys always have theirs, at every level);
 *   - a memo of pairs already compared (or being compared): shared
 *     substructure -- t = (t, t) n levels deep -- would make the walk 2^n,
 *     the memo makes it linear.  A hit is safe because tuples are
 *     immutable and acyclic: a pair met again is equal, or it is unequal
 *     and the walk will answer 0 when the first meeting finds out.  The
 *     memo is direct-mapped and overwritten, so it holds the recent pairs,
 *     which is where shared substructure repeats.
 * Only an input the prunings cannot tame (nesting over EQUAL_DEPTH_MAX
 * tuples that are not last items, or EQUAL_BUDGET item comparisons) gets
 * -1: "cannot tell", never a wrong answer. */
#define EQUAL_DEPTH_MAX HASH_DEPTH_MAX
#define EQUAL_MEMO 256 /* a power of two */
#define EQUAL_BUDGET 20000000L

static inline int is_number(uint32_t tag) { return tag == PYGC_TBOOL || tag == PYGC_TINT || tag == PYGC_TFLOAT; }

/* 1 equal, 0 unequal, 2: two distinct tuples of one length whose items
 * decide */
static int equal_shallow(pygc_value a, pygc_value b) {
  if (a.tag > PYGC_TOBJ || b.tag > PYGC_TOBJ) return 0; /* not values at all */
  int an = is_number(a.tag), bn = is_number(b.tag);
  if (an || bn) return an && bn && num_equal(a, b);
  if (a.tag == PYGC_TNONE || b.tag == PYGC_TNONE) return a.tag == b.tag;
  pygc_object *x = a.u.o, *y = b.u.o;
  if (x == y) return x != NULL;
  if (x == NULL || y == NULL || x->type != y->type) return 0;
  if (x->type == &pygc_str_type) {
    const str_obj *s = (const str_obj *)x, *t = (const str_obj *)y;
    return s->len == t->len && s->hash == t->hash && memcmp(s->data, t->data, s->len) == 0;
  }
  if (x->type == &pygc_tuple_type) {
    const tuple_obj *s = (const tuple_obj *)x, *t = (const tuple_obj *)y;
    if (s->len != t->len || (s->hash && t->hash && s->hash != t->hash)) return 0;
    return 2;
  }
  if (x->type == &pygc_weakref_type) { /* two live weakrefs: as their referents (identity) */
    const weakref_obj *s = (const weakref_obj *)x, *t = (const weakref_obj *)y;
    return s->referent != NULL && s->referent == t->referent;
  }
  return 0; /* other objects compare by identity */
}

typedef struct eq_frame {
  const tuple_obj *x, *y;
  size_t i; /* the next item to compare */
} eq_frame;

/* out of line: its arrays stay off the stack of the common case */
static __attribute__((noinline)) int equal_walk(pygc_value a, pygc_value b) {
  int r;
  eq_frame stack[EQUAL_DEPTH_MAX];
  struct {
    const void *x, *y;
  } memo[EQUAL_MEMO];
  memset(memo, 0, sizeof memo);
  size_t depth = 0;
  long budget = EQUAL_BUDGET;
  const tuple_obj *x = (const tuple_obj *)a.u.o, *y = (const tuple_obj *)b.u.o;
  size_t i = 0;
  for (;;) {
    if (i == x->len) { /* this pair is equal: back to the one that holds it */
      if (depth == 0) return 1;
      depth--;
      x = stack[depth].x;
      y = stack[depth].y;
      i = stack[depth].i;
      continue;
    }
    if (--budget < 0) return -1;
    r = equal_shallow(x->items[i], y->items[i]);
    if (r == 0) return 0;
    if (r == 1) {
      i++;
      continue;
    }
    const tuple_obj *u = (const tuple_obj *)x->items[i].u.o, *v = (const tuple_obj *)y->items[i].u.o;
    uintptr_t k = ((uintptr_t)u >> 4) * 31u + ((uintptr_t)v >> 4);
    size_t slot = (size_t)(k ^ (k >> 9)) & (EQUAL_MEMO - 1);
    if (memo[slot].x == u && memo[slot].y == v) { /* met before: see above */
      i++;
      continue;
    }
    memo[slot].x = u;
    memo[slot].y = v;
    if (i + 1 < x->len) { /* come back for the rest; a last item needs no frame */
      if (depth == EQUAL_DEPTH_MAX) return -1;
      stack[depth].x = x;
      stack[depth].y = y;
      stack[depth].i = i + 1;
      depth++;
    }
    x = u;
    y = v;
    i = 0;
  }
}

int pygc_equal(pygc_value a, pygc_value b) {
  int r = equal_shallow(a, b);
  return r == 2 ? equal_walk(a, b) : r;
}

/* ---- type names ----------------------------------------------------------- */

const char *pygc_type_name(pygc_value v) {
  switch (v.tag) {
  case PYGC_TNONE: return "NoneType";
  case PYGC_TBOOL: return "bool";
  case PYGC_TINT: return "int";
  case PYGC_TFLOAT: return "float";
  default: break;
  }
  const pygc_object *o = v.u.o;
  if (v.tag != PYGC_TOBJ || o == NULL) return "?"; /* not a value */
  if (o->type == &pygc_instance_type) {
    const char *n = pygc_class_name(((const instance_obj *)o)->cls);
    return n ? n : o->type->name;
  }
  if (o->type == &pygc_class_type) return "type";
  return o->type->name;
}
