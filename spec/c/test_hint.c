/* test_hint.c -- pygc_getattr_hint and pygc_setattr_hint (attrs.c) against
 * pygc_getattr/pygc_setattr: a random walk of stores, deletions and reads
 * on instances of two classes (compact and table mode) and on the classes
 * themselves, where every hint used is sometimes right, sometimes another
 * name's, another class's or plain garbage.  A hint is a guess: whatever it
 * says, the answer must be the one the plain lookup gives. */
#include "ct_heap.h"
#include "pygc.h"


static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static int same(pygc_value a, pygc_value b) {
  if (a.tag != b.tag) return 0;
  switch (a.tag) {
  case PYGC_TBOOL: return a.u.b == b.u.b;
  case PYGC_TINT: return a.u.i == b.u.i;
  case PYGC_TFLOAT: return memcmp(&a.u.f, &b.u.f, sizeof a.u.f) == 0;
  case PYGC_TOBJ: return a.u.o == b.u.o;
  default: return 1;
  }
}

/* names: short ones that differ in one byte or in length, and long ones
 * (past 16 bytes: memcmp; past PYGC_INTERN_MAX: never interned) */
static const char *NAMES[] = {"x", "y", "z", "xy", "yx", "xyz", "name", "namf", "a", "b", "c", "d", "e", "f", "g", "h",
                              "i", "j", "k", "l", "attribute_with_a_long_name_1", "attribute_with_a_long_name_2",
                              "a_name_longer_than_the_interning_limit_of_sixty_four_bytes_0123456789",
                              "a_name_longer_than_the_interning_limit_of_sixty_four_bytes_0123456788"};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static pygc_value pick_value(pygc_object *obj) {
  switch (rnd(6)) {
  case 0: return pygc_int((int64_t)rnd(1000) - 500);
  case 1: return pygc_int(rnd(50) ? (int64_t)rnd(7) : ((int64_t)1 << 50)); /* rarely beyond a word: table mode */
  case 2: return pygc_float((double)rnd(100) / 8);
  case 3: return pygc_bool((int)rnd(2));
  case 4: return pygc_none();
  default: return pygc_obj(obj);
  }
}

/* one hint per name, and the ways a hint can be wrong */
static uint32_t hints[NNAMES];
static uint32_t *pick_hint(unsigned name, uint32_t *scratch) {
  switch (rnd(5)) {
  case 0: *scratch = (uint32_t)rng; return scratch; /* garbage */
  case 1: return &hints[rnd(NNAMES)];                /* another name's */
  default: return &hints[name];                      /* its own (maybe another object's) */
  }
}

static void walk(unsigned steps, unsigned nnames) {
  pygc_object *cls[2], *inst[8], *obj = pygc_list_new(H, 0);
  cls[0] = pygc_class_new(H, "A", 1, 0);
  cls[1] = pygc_class_new(H, "B", 1, 0);
  for (int i = 0; i < 8; i++) inst[i] = pygc_instance_new(H, cls[i & 1]);
  for (unsigned s = 0; s < steps; s++) {
    /* mostly instances; now and then a class */
    pygc_object *o = rnd(8) ? inst[rnd(8)] : cls[rnd(2)];
    unsigned n = rnd(nnames);
    const char *name = NAMES[n];
    size_t len = strlen(name);
    uint32_t scratch, *hint = pick_hint(n, &scratch);
    pygc_value want, got;
    int op = (int)rnd(10);
    if (op < 4) { /* a store, either way */
      pygc_value v = pick_value(obj);
      int st = rnd(4) ? pygc_setattr_hint(H, o, name, len, hint, v) : pygc_setattr(H, o, name, len, v);
      CHECK_EQ(st, PYGC_OK);
      CHECK_EQ(pygc_getattr(H, o, name, len, &want), PYGC_OK);
      CHECK(same(want, v));
    } else if (op < 5) { /* a deletion */
      int st = pygc_delattr(H, o, name, len);
      CHECK(st == PYGC_OK || st == PYGC_EKEY);
      CHECK_EQ(pygc_getattr_hint(H, o, name, len, hint, &got), PYGC_EKEY);
    } else { /* a read: the hint's answer is the plain one */
      int a = pygc_getattr(H, o, name, len, &want);
      int b = pygc_getattr_hint(H, o, name, len, hint, &got);
      CHECK_EQ(b, a);
      if (a == PYGC_OK && b == PYGC_OK) CHECK(same(got, want));
    }
    if (s % 256 == 0) VERIFY();
  }
  VERIFY();
  for (int i = 0; i < 8; i++) pygc_decref(H, inst[i]);
  pygc_decref(H, cls[0]);
  pygc_decref(H, cls[1]);
  pygc_decref(H, obj);
  pygc_collect(H, 2);
  VERIFY();
}

/* what is neither an instance nor a class: PYGC_ETYPE, as the plain calls */
static void test_other_objects(void) {
  pygc_object *l = pygc_list_new(H, 0);
  uint32_t hint = 0;
  pygc_value v;
  CHECK_EQ(pygc_getattr_hint(H, l, "x", 1, &hint, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_setattr_hint(H, l, "x", 1, &hint, pygc_int(1)), PYGC_ETYPE);
  pygc_decref(H, l);
}

/* the hint is updated on a hit elsewhere, and then hits */
static void test_hint_learns(void) {
  pygc_object *c = pygc_class_new(H, "C", 1, 0), *o = pygc_instance_new(H, c);
  uint32_t hx = 12345, hy = 0;
  pygc_value v;
  CHECK_EQ(pygc_setattr_hint(H, o, "x", 1, &hx, pygc_int(1)), PYGC_OK); /* new: the long way */
  CHECK_EQ(pygc_setattr_hint(H, o, "y", 1, &hy, pygc_int(2)), PYGC_OK);
  CHECK_EQ(pygc_getattr_hint(H, o, "y", 1, &hy, &v), PYGC_OK);
  CHECK_EQ(v.u.i, 2);
  uint32_t learnt = hy;
  CHECK_EQ(pygc_setattr_hint(H, o, "y", 1, &hy, pygc_int(3)), PYGC_OK);
  CHECK_EQ(hy, learnt);
  CHECK_EQ(pygc_getattr_hint(H, o, "x", 1, &hy, &v), PYGC_OK); /* y's hint, used for x */
  CHECK_EQ(v.u.i, 1);
  CHECK(hy != learnt);
  /* an object value replaced by an int drops its reference */
  pygc_object *l = pygc_list_new(H, 0);
  CHECK_EQ(pygc_setattr_hint(H, o, "x", 1, &hx, pygc_obj(l)), PYGC_OK);
  CHECK_EQ(pygc_refcount(l), 2);
  CHECK_EQ(pygc_setattr_hint(H, o, "x", 1, &hx, pygc_int(4)), PYGC_OK);
  CHECK_EQ(pygc_refcount(l), 1);
  pygc_decref(H, l);
  /* a NULL object is refused as pygc_setattr refuses it */
  CHECK_EQ(pygc_setattr_hint(H, o, "x", 1, &hx, pygc_obj(NULL)), PYGC_EVALUE);
  /* a class with more attributes than a miss scans */
  char nm[16];
  for (int i = 0; i < 40; i++) {
    snprintf(nm, sizeof nm, "m%d", i);
    CHECK_EQ(pygc_setattr(H, c, nm, strlen(nm), pygc_int(i)), PYGC_OK);
  }
  for (int i = 0; i < 40; i++) {
    uint32_t h = (uint32_t)i * 7;
    snprintf(nm, sizeof nm, "m%d", i);
    CHECK_EQ(pygc_getattr_hint(H, c, nm, strlen(nm), &h, &v), PYGC_OK);
    CHECK_EQ(v.u.i, i);
  }
  CHECK_EQ(pygc_delattr(H, c, "m3", 2), PYGC_OK);
  uint32_t h3 = 3;
  CHECK_EQ(pygc_getattr_hint(H, c, "m3", 2, &h3, &v), PYGC_EKEY);
  pygc_decref(H, o);
  pygc_decref(H, c);
  VERIFY();
}

int main(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 42);
  RUN(test_other_objects);
  RUN(test_hint_learns);
  ct_test = "walk: few names (compact)";
  walk(20000, 6);
  ct_test = "walk: every name (table mode too)";
  walk(20000, NNAMES);
  ct_test = "walk: long";
  walk(100000, 12);
  VERIFY();
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
  CHECK_EQ(A.live_bytes, 0);
  return ct_summary();
}
