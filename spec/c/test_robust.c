/* test_robust.c -- exact answers where shortcuts were tempting, and C hosts
 * that break the contract told, not crashed (issue 12, items 9 and 11).
 *
 *   - equal tuple towers (t = (t, t), many levels) compare equal and are
 *     one dict key; unequal ones are not
 *   - pygc_heap_verify from a finalizer while a refcount chain is being
 *     released (the trashcan holding deferred objects, outer objects half
 *     deallocated) reports no corruption, frozen chains included
 *   - typed accessors on the wrong type return their defined value or
 *     PYGC_ETYPE; values with a bad tag are refused with PYGC_EVALUE
 *   - a traverse that visits a non-object slot is survived in release
 *     builds (test_contract checks debug builds name the type) */
#include "ct_heap.h"
#include "pygc.h"


static void open_heap(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 1);
}

static void close_heap(void) {
  VERIFY();
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
}

/* ---- tuple towers ---------------------------------------------------------- */

/* t = (t, t) `levels` times over a base value */
static pygc_object *tower(int levels, pygc_value base) {
  pygc_value items[2] = {base, base};
  pygc_object *t = pygc_tuple_new(H, 2, items);
  for (int i = 1; i < levels; i++) {
    items[0] = items[1] = pygc_obj(t);
    pygc_object *n = pygc_tuple_new(H, 2, items);
    pygc_decref(H, t);
    t = n;
  }
  return t;
}

static void test_tuple_towers_compare_exactly(void) {
  open_heap();
  pygc_object *a = tower(24, pygc_int(1)), *b = tower(24, pygc_int(1)), *c = tower(24, pygc_int(2));
  CHECK(pygc_equal(pygc_obj(a), pygc_obj(b)));
  CHECK(!pygc_equal(pygc_obj(a), pygc_obj(c)));
  /* as dict keys: equal towers are one key (before hashing fills the cache, too) */
  pygc_object *d = pygc_dict_new(H);
  CHECK_EQ(pygc_dict_set(H, d, pygc_obj(a), pygc_int(1)), PYGC_OK);
  CHECK_EQ(pygc_dict_set(H, d, pygc_obj(b), pygc_int(2)), PYGC_OK);
  CHECK_EQ(pygc_dict_len(d), 1);
  CHECK_EQ(pygc_dict_set(H, d, pygc_obj(c), pygc_int(3)), PYGC_OK);
  CHECK_EQ(pygc_dict_len(d), 2);
  pygc_value v;
  CHECK_EQ(pygc_dict_get(H, d, pygc_obj(b), &v), PYGC_OK);
  CHECK_EQ(v.u.i, 2);

  /* towers whose hashes were never computed, differing only at the bottom
   * of one branch: no hash to prune with, the walk must still be exact and
   * not exponential (2^40 leaves) */
  pygc_object *x = tower(40, pygc_int(5)), *y = tower(40, pygc_int(5));
  CHECK(pygc_equal(pygc_obj(x), pygc_obj(y)));
  pygc_value it[2] = {pygc_obj(x), pygc_int(0)};
  pygc_value jt[2] = {pygc_obj(y), pygc_int(1)};
  pygc_object *p = pygc_tuple_new(H, 2, it), *q = pygc_tuple_new(H, 2, jt);
  CHECK(!pygc_equal(pygc_obj(p), pygc_obj(q)));
  /* equal structure built differently: ((a, b), (b, a)) vs ((b, a), (a, b)) */
  pygc_value ab[2] = {pygc_obj(a), pygc_obj(b)}, ba[2] = {pygc_obj(b), pygc_obj(a)};
  pygc_object *t1 = pygc_tuple_new(H, 2, ab), *t2 = pygc_tuple_new(H, 2, ba);
  CHECK(pygc_equal(pygc_obj(t1), pygc_obj(t2)));
  pygc_object *objs[] = {a, b, c, d, x, y, p, q, t1, t2};
  for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) pygc_decref(H, objs[i]);
  close_heap();
}

/* a tuple nested deeper than any hash allows: equality says so, no crash */
static void test_deep_tuple_equality(void) {
  open_heap();
  pygc_object *a = pygc_tuple_new(H, 1, NULL), *b = pygc_tuple_new(H, 1, NULL);
  for (int i = 0; i < 100000; i++) {
    pygc_value va = pygc_obj(a), vb = pygc_obj(b);
    pygc_object *na = pygc_tuple_new(H, 1, &va), *nb = pygc_tuple_new(H, 1, &vb);
    pygc_decref(H, a);
    pygc_decref(H, b);
    a = na;
    b = nb;
  }
  CHECK(pygc_equal(pygc_obj(a), pygc_obj(b))); /* an explicit stack: no C recursion */
  pygc_decref(H, a);
  pygc_decref(H, b);
  close_heap();
}

/* ---- verify during a chain release ---------------------------------------- */

typedef struct probe {
  pygc_object h;
  int *bad;
} probe;
static char probe_msg[512];
static int probe_calls;
static void probe_finalize(pygc_heap *h, pygc_object *o) {
  probe_calls++;
  if (pygc_heap_verify(h, probe_msg, sizeof probe_msg)) {
    fprintf(stderr, "verify from a finalizer during a release: %s\n", probe_msg);
    (*((probe *)o)->bad)++;
  }
}
static size_t probe_size(const pygc_object *o) {
  (void)o;
  return sizeof(probe);
}
static const pygc_type probe_type = {.name = "Probe", .finalize = probe_finalize, .size = probe_size};

/* a chain of `n` lists ending in a list holding a probe */
static pygc_object *chain(int n, pygc_object *end) {
  pygc_object *head = pygc_list_new(H, 1);
  pygc_list_append(H, head, pygc_obj(end));
  for (int i = 0; i < n; i++) {
    pygc_object *l = pygc_list_new(H, 1);
    pygc_list_append(H, l, pygc_obj(head));
    pygc_decref(H, head);
    head = l;
  }
  return head;
}

static void release_with_probes(int freeze) {
  int bad = 0;
  probe_calls = 0;
  /* root = [deep chain ending in a probe, short chain ending in a probe]:
   * the deep chain leaves deferred objects on the trashcan when the
   * release comes back to root and reaches the second probe */
  probe *p1 = (probe *)pygc_object_new(H, &probe_type, sizeof(probe));
  probe *p2 = (probe *)pygc_object_new(H, &probe_type, sizeof(probe));
  p1->bad = p2->bad = &bad;
  pygc_object *root = pygc_list_new(H, 2);
  pygc_object *deep = chain(500, &p1->h), *shallow = chain(5, &p2->h);
  pygc_decref(H, &p1->h);
  pygc_decref(H, &p2->h);
  pygc_list_append(H, root, pygc_obj(deep));
  pygc_list_append(H, root, pygc_obj(shallow));
  pygc_decref(H, deep);
  pygc_decref(H, shallow);
  if (freeze) pygc_freeze(H);
  VERIFY();
  pygc_decref(H, root);
  CHECK_EQ(probe_calls, 2);
  CHECK_EQ(bad, 0);
  VERIFY();
  if (freeze) pygc_unfreeze(H);
}

static void test_verify_during_chain_release(void) {
  open_heap();
  release_with_probes(0);
  release_with_probes(1);
  close_heap();
}

/* ---- typed accessors on the wrong type ------------------------------------- */

static void test_typed_accessors_check_types(void) {
  open_heap();
  pygc_object *d = pygc_dict_new(H), *l = pygc_list_new(H, 0), *s = pygc_str_new(H, "x", 1);
  pygc_dict_set(H, d, pygc_int(1), pygc_int(2));
  pygc_list_append(H, l, pygc_int(1));
  pygc_value v;
  CHECK_EQ(pygc_list_len(d), 0);
  CHECK_EQ(pygc_tuple_len(l), 0);
  CHECK_EQ(pygc_dict_len(l), 0);
  CHECK_EQ(pygc_list_len(NULL), 0);
  CHECK_EQ(pygc_list_get(d, 0, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_list_get(NULL, 0, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_tuple_get(l, 0, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_list_append(H, d, pygc_int(1)), PYGC_ETYPE);
  CHECK_EQ(pygc_dict_set(H, l, pygc_int(1), pygc_int(1)), PYGC_ETYPE);
  CHECK_EQ(pygc_dict_get(H, NULL, pygc_int(1), &v), PYGC_ETYPE);
  CHECK(pygc_class_name(l) == NULL);
  CHECK_EQ(pygc_class_flags(d), 0);
  CHECK_EQ(pygc_class_host(s), 0);
  pygc_class_set_host(d, 99); /* ignored */
  CHECK_EQ(pygc_dict_len(d), 1);
  CHECK(pygc_instance_new(H, l) == NULL);
  CHECK(pygc_instance_class(l) == NULL);
  CHECK_EQ(pygc_attr_count(l), 0);
  CHECK_EQ(pygc_getattr(H, l, "a", 1, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_setattr(H, d, "a", 1, pygc_int(1)), PYGC_ETYPE);
  CHECK(pygc_str_data(l, NULL) == NULL);
  size_t pos = 0;
  CHECK_EQ(pygc_dict_next(l, &pos, NULL, NULL), 0);
  CHECK_EQ(pygc_list_len(l), 1);

  /* a value with a tag that is no pygc_tag, or an object value without an
   * object, is refused before it is stored */
  pygc_value bad = pygc_int(0);
  bad.tag = 77;
  pygc_value null_obj = pygc_obj(NULL);
  CHECK_EQ(pygc_list_append(H, l, bad), PYGC_EVALUE);
  CHECK_EQ(pygc_list_append(H, l, null_obj), PYGC_EVALUE);
  CHECK_EQ(pygc_list_set(H, l, 0, bad), PYGC_EVALUE);
  CHECK_EQ(pygc_list_insert(H, l, 0, null_obj), PYGC_EVALUE);
  CHECK_EQ(pygc_dict_set(H, d, bad, pygc_int(1)), PYGC_EVALUE);
  CHECK_EQ(pygc_dict_set(H, d, pygc_int(3), null_obj), PYGC_EVALUE);
  CHECK_EQ(pygc_dict_get(H, d, null_obj, &v), PYGC_EVALUE);
  uint64_t hh;
  CHECK_EQ(pygc_hash(H, bad, &hh), PYGC_EVALUE);
  CHECK(!pygc_equal(bad, bad));
  pygc_value items[2] = {pygc_int(1), bad};
  CHECK(pygc_tuple_new(H, 2, items) == NULL);
  CHECK_EQ(pygc_list_len(l), 1);
  CHECK_EQ(pygc_dict_len(d), 1);
  VERIFY();
  pygc_decref(H, d);
  pygc_decref(H, l);
  pygc_decref(H, s);
  close_heap();
}

/* ---- a traverse that visits a slot holding no object ----------------------- */
#ifndef PYGC_DEBUG /* debug builds stop and name the type: test_contract */
typedef struct odd {
  pygc_object h;
  pygc_value n; /* an int */
  pygc_value o; /* an object */
} odd;
static int odd_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  odd *x = (odd *)o;
  int r = visit(&x->n, arg); /* breaks the contract: not an object */
  return r ? r : x->o.tag == PYGC_TOBJ ? visit(&x->o, arg) : 0;
}
static void odd_clear(pygc_heap *h, pygc_object *o) {
  odd *x = (odd *)o;
  pygc_value v = x->o;
  x->o = pygc_none();
  pygc_value_decref(h, v);
}
static size_t odd_size(const pygc_object *o) {
  (void)o;
  return sizeof(odd);
}
static const pygc_type odd_type = {
    .name = "Odd", .flags = PYGC_TYPE_GC, .traverse = odd_traverse, .clear = odd_clear, .size = odd_size};

static int count_slot(pygc_value *slot, void *arg) {
  (void)slot;
  (*(int *)arg)++;
  return 0;
}

static void test_traverse_non_object_slot_survived(void) {
  open_heap();
  odd *x = (odd *)pygc_object_new(H, &odd_type, sizeof(odd));
  x->n = pygc_int(12345);
  x->o = pygc_obj(&x->h); /* a self-cycle */
  pygc_incref(&x->h);
  pygc_track(H, &x->h);
  int n = 0;
  pygc_referents(&x->h, count_slot, &n);
  CHECK_EQ(n, 1); /* the int slot is not an edge */
  VERIFY();
  pygc_decref(H, &x->h);
  CHECK_EQ(pygc_collect(H, 2), 1);
  close_heap();
}
#endif

int main(void) {
  RUN(test_tuple_towers_compare_exactly);
  RUN(test_deep_tuple_equality);
  RUN(test_verify_during_chain_release);
  RUN(test_typed_accessors_check_types);
#ifndef PYGC_DEBUG /* debug builds stop and name the type: test_contract */
  RUN(test_traverse_non_object_slot_survived);
#endif
  return ct_summary();
}
