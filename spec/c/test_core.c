/* test_core.c -- C-level tests of lib/: objects, refcounts, the collector,
 * finalizers, introspection, repr, allocation failure.  The heap is
 * verified after every step that changes it. */
#include "ct_heap.h"
#include "pygc.h"


static void open_heap(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 42);
}

static void close_heap(void) {
  VERIFY();
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
  CHECK_EQ(A.live_bytes, 0);
}

/* ---- finalizer and callback hooks used by the tests ---- */
static int finalized, resurrect_mode, callbacks_seen;
static pygc_object *resurrect_into; /* a list that survives */
static char order[64];

static void on_finalize(void *ud, pygc_heap *h, pygc_object *o) {
  (void)ud;
  finalized++;
  size_t n = strlen(order);
  pygc_value v;
  if (pygc_getattr(h, o, "tag", 3, &v) == PYGC_OK && v.tag == PYGC_TINT && n + 1 < sizeof order) {
    order[n] = (char)('0' + v.u.i);
    order[n + 1] = 0;
  }
  if (resurrect_mode && resurrect_into) pygc_list_append(h, resurrect_into, pygc_obj(o));
}

static void on_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  (void)ud;
  (void)info;
  callbacks_seen++;
  /* a collection started from a callback returns 0 */
  CHECK_EQ(pygc_collect(h, 0), 0);
  (void)phase;
}

static void set_hooks(void) {
  pygc_hooks hk = {0};
  hk.finalize = on_finalize;
  hk.callback = on_callback;
  pygc_set_hooks(H, &hk);
}

/* ---- tests ---- */

static void test_refcount_release(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0);
  pygc_object *s = pygc_str_new(H, "hello", 5);
  CHECK(pygc_list_append(H, l, pygc_obj(s)) == PYGC_OK);
  CHECK_EQ(pygc_refcount(s), 2);
  pygc_decref(H, s);
  CHECK_EQ(pygc_refcount(s), 1);
  VERIFY();
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  CHECK_EQ(in.objects, 3); /* garbage list, l, s */
  pygc_decref(H, l);
  pygc_heap_get_info(H, &in);
  CHECK_EQ(in.objects, 1);
  close_heap();
}

static void test_str_interning(void) {
  open_heap();
  pygc_object *a = pygc_str_new(H, "name", 4), *b = pygc_str_new(H, "name", 4);
  CHECK(a == b);
  CHECK_EQ(pygc_refcount(a), 2);
  pygc_decref(H, a);
  pygc_decref(H, b);
  pygc_object *c = pygc_str_new(H, "name", 4); /* freed and made again */
  size_t len;
  CHECK(strcmp(pygc_str_data(c, &len), "name") == 0 && len == 4);
  pygc_decref(H, c);
  close_heap();
}

static void test_dict_keys(void) {
  open_heap();
  pygc_object *d = pygc_dict_new(H);
  CHECK(!pygc_is_tracked(d));
  CHECK(pygc_dict_set(H, d, pygc_int(1), pygc_int(10)) == PYGC_OK);
  CHECK(pygc_is_tracked(d));
  CHECK(pygc_dict_set(H, d, pygc_bool(1), pygc_int(11)) == PYGC_OK);
  CHECK(pygc_dict_set(H, d, pygc_float(1.0), pygc_int(12)) == PYGC_OK);
  CHECK_EQ(pygc_dict_len(d), 1);
  size_t pos = 0;
  pygc_value k, v;
  CHECK(pygc_dict_next(d, &pos, &k, &v));
  CHECK(k.tag == PYGC_TINT && k.u.i == 1 && v.u.i == 12); /* first key kept, last value */
  CHECK(pygc_dict_set(H, d, pygc_float(0.0 / 0.0), pygc_none()) == PYGC_ENAN);
  pygc_object *l = pygc_list_new(H, 0);
  CHECK(pygc_dict_set(H, d, pygc_obj(l), pygc_none()) == PYGC_EUNHASHABLE);
  pygc_value items[2] = {pygc_int(1), pygc_obj(l)};
  pygc_object *bad = pygc_tuple_new(H, 2, items);
  CHECK(pygc_dict_set(H, d, pygc_obj(bad), pygc_none()) == PYGC_EUNHASHABLE);
  pygc_value good_items[2] = {pygc_int(1), pygc_float(2.0)};
  pygc_object *t1 = pygc_tuple_new(H, 2, good_items);
  pygc_value eq_items[2] = {pygc_bool(1), pygc_int(2)};
  pygc_object *t2 = pygc_tuple_new(H, 2, eq_items);
  CHECK(pygc_dict_set(H, d, pygc_obj(t1), pygc_int(5)) == PYGC_OK);
  CHECK(pygc_dict_get(H, d, pygc_obj(t2), &v) == PYGC_OK && v.u.i == 5); /* (True, 2) == (1, 2.0) */
  /* many keys: growth and deletion keep order */
  for (int i = 100; i < 1100; i++) CHECK(pygc_dict_set(H, d, pygc_int(i), pygc_int(i)) == PYGC_OK);
  for (int i = 100; i < 1100; i += 2) CHECK(pygc_dict_del(H, d, pygc_int(i)) == PYGC_OK);
  CHECK(pygc_dict_del(H, d, pygc_int(100)) == PYGC_EKEY);
  CHECK_EQ(pygc_dict_len(d), 2 + 500);
  VERIFY();
  pos = 0;
  int last = -1, ordered = 1;
  while (pygc_dict_next(d, &pos, &k, &v))
    if (k.tag == PYGC_TINT && k.u.i >= 100) {
      if (k.u.i <= last) ordered = 0;
      last = (int)k.u.i;
    }
  CHECK(ordered);
  pygc_decref(H, t1);
  pygc_decref(H, t2);
  pygc_decref(H, bad);
  pygc_decref(H, l);
  pygc_decref(H, d);
  close_heap();
}

static void test_collect_cycles(void) {
  open_heap();
  pygc_disable(H);
  for (int i = 0; i < 100; i++) {
    pygc_object *a = pygc_list_new(H, 0), *b = pygc_list_new(H, 0);
    pygc_list_append(H, a, pygc_obj(b));
    pygc_list_append(H, b, pygc_obj(a));
    pygc_decref(H, a);
    pygc_decref(H, b);
  }
  VERIFY();
  pygc_object *keep = pygc_list_new(H, 0);
  pygc_list_append(H, keep, pygc_obj(keep));
  CHECK_EQ(pygc_collect(H, 2), 200);
  VERIFY();
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  CHECK_EQ(in.objects, 2);
  CHECK_EQ(pygc_collect(H, 2), 0);
  pygc_gen_stats st[3];
  pygc_get_stats(H, st);
  CHECK_EQ(st[2].collections, 2);
  CHECK_EQ(st[2].collected, 200);
  CHECK_EQ(pygc_collect(H, 3), -1);
  pygc_decref(H, keep);
  CHECK_EQ(pygc_collect(H, 0), 0); /* it lives in generation 2 now */
  CHECK_EQ(pygc_collect(H, 2), 1);
  close_heap();
}

static pygc_object *make_node(pygc_object *cls, int tag) {
  pygc_object *o = pygc_instance_new(H, cls);
  pygc_setattr(H, o, "tag", 3, pygc_int(tag));
  return o;
}

static void test_finalizers(void) {
  open_heap();
  set_hooks();
  pygc_disable(H);
  pygc_object *cls = pygc_class_new(H, "Node", 4, PYGC_CLASS_FINALIZER);
  /* refcount death runs the finalizer once */
  finalized = 0;
  pygc_object *o = make_node(cls, 1);
  pygc_decref(H, o);
  CHECK_EQ(finalized, 1);
  /* a cycle of two: both finalized, both freed */
  finalized = 0;
  pygc_object *a = make_node(cls, 1), *b = make_node(cls, 2);
  pygc_setattr(H, a, "other", 5, pygc_obj(b));
  pygc_setattr(H, b, "other", 5, pygc_obj(a));
  pygc_decref(H, a);
  pygc_decref(H, b);
  CHECK_EQ(pygc_collect(H, 2), 2);
  CHECK_EQ(finalized, 2);
  VERIFY();
  /* resurrection: the finalizer stores self in a live list */
  resurrect_into = pygc_list_new(H, 0);
  resurrect_mode = 1;
  finalized = 0;
  a = make_node(cls, 3);
  pygc_setattr(H, a, "self", 4, pygc_obj(a));
  pygc_decref(H, a);
  CHECK_EQ(pygc_collect(H, 2), 0); /* resurrected: not counted (CPython 3.9+) */
  CHECK_EQ(finalized, 1);
  CHECK_EQ(pygc_list_len(resurrect_into), 1);
  pygc_value v;
  pygc_list_get(resurrect_into, 0, &v);
  CHECK(pygc_is_finalized(v.u.o));
  CHECK(pygc_getattr(H, v.u.o, "tag", 3, &v) == PYGC_OK); /* not cleared */
  VERIFY();
  /* dropped again: the finalizer does not run a second time */
  resurrect_mode = 0;
  pygc_list_clear(H, resurrect_into);
  CHECK_EQ(pygc_collect(H, 2), 1);
  CHECK_EQ(finalized, 1);
  pygc_decref(H, resurrect_into);
  resurrect_into = NULL;
  pygc_decref(H, cls);
  CHECK(callbacks_seen > 0);
  close_heap();
}

static void test_legacy_and_saveall(void) {
  open_heap();
  set_hooks();
  pygc_disable(H);
  pygc_object *cls = pygc_class_new(H, "Legacy", 6, PYGC_CLASS_LEGACY | PYGC_CLASS_FINALIZER);
  pygc_object *a = make_node(cls, 1);
  pygc_object *l = pygc_list_new(H, 0);
  pygc_setattr(H, a, "l", 1, pygc_obj(l));
  pygc_list_append(H, l, pygc_obj(a));
  pygc_decref(H, a);
  pygc_decref(H, l);
  finalized = 0;
  CHECK_EQ(pygc_collect(H, 2), 2); /* both uncollectable */
  CHECK_EQ(finalized, 0);
  pygc_gen_stats st[3];
  pygc_get_stats(H, st);
  CHECK_EQ(st[2].uncollectable, 2);
  CHECK_EQ(pygc_list_len(pygc_garbage(H)), 1); /* only the legacy instance */
  VERIFY();
  pygc_list_clear(H, pygc_garbage(H));
  /* SAVEALL: every unreachable object goes to garbage */
  pygc_set_debug(H, PYGC_DEBUG_SAVEALL);
  pygc_object *x = pygc_list_new(H, 0);
  pygc_list_append(H, x, pygc_obj(x));
  pygc_decref(H, x);
  CHECK(pygc_collect(H, 2) >= 1);
  CHECK(pygc_list_len(pygc_garbage(H)) >= 1);
  pygc_set_debug(H, 0);
  pygc_list_clear(H, pygc_garbage(H));
  CHECK(pygc_collect(H, 2) >= 1);
  pygc_decref(H, cls);
  close_heap();
}

static void test_generations_and_thresholds(void) {
  open_heap();
  CHECK_EQ(pygc_get_threshold(H, 0), 700);
  CHECK_EQ(pygc_get_threshold(H, 1), 10);
  pygc_object *keep = pygc_list_new(H, 0);
  pygc_collect(H, 2);
  CHECK_EQ(pygc_get_count(H, 0), 0);
  for (int i = 0; i < 5; i++) pygc_list_append(H, keep, pygc_obj(pygc_list_new(H, 0)));
  /* each appended list still holds its creation reference: drop them */
  for (int i = 0; i < 5; i++) {
    pygc_value v;
    pygc_list_get(keep, (size_t)i + 1 - 1, &v);
    pygc_decref(H, v.u.o);
  }
  CHECK_EQ(pygc_get_count(H, 0), 5);
  pygc_set_threshold(H, 0, 10);
  pygc_gen_stats before[3], after[3];
  pygc_get_stats(H, before);
  for (int i = 0; i < 100; i++) pygc_decref(H, pygc_list_new(H, 0)); /* alloc, dealloc: net 0 */
  pygc_get_stats(H, after);
  CHECK_EQ(after[0].collections, before[0].collections);
  for (int i = 0; i < 100; i++) pygc_list_append(H, keep, pygc_obj(pygc_list_new(H, 0)));
  pygc_get_stats(H, after);
  CHECK(after[0].collections > before[0].collections);
  CHECK(pygc_get_count(H, 1) > 0 || after[1].collections > 0);
  /* freeze moves everything to the permanent generation */
  pygc_freeze(H);
  CHECK_EQ(pygc_get_count(H, 0), 0);
  CHECK(pygc_get_freeze_count(H) > 100);
  CHECK_EQ(pygc_get_objects(H, -1, NULL, NULL), 0);
  pygc_unfreeze(H);
  CHECK_EQ(pygc_get_freeze_count(H), 0);
  CHECK(pygc_get_objects(H, 2, NULL, NULL) > 100);
  VERIFY();
  pygc_set_threshold(H, 0, 700);
  pygc_list_clear(H, keep); /* the leaked creation refs keep those alive */
  pygc_decref(H, keep);
  close_heap();
}

static void test_tuple_untracking(void) {
  open_heap();
  pygc_value items[2] = {pygc_int(1), pygc_float(2.5)};
  pygc_object *t = pygc_tuple_new(H, 2, items);
  CHECK(pygc_is_tracked(t));
  pygc_collect(H, 0);
  CHECK(!pygc_is_tracked(t));
  pygc_object *l = pygc_list_new(H, 0);
  pygc_value items2[1] = {pygc_obj(l)};
  pygc_object *t2 = pygc_tuple_new(H, 1, items2);
  pygc_collect(H, 0);
  CHECK(pygc_is_tracked(t2));
  pygc_object *empty = pygc_tuple_new(H, 0, NULL);
  CHECK(!pygc_is_tracked(empty));
  pygc_decref(H, empty);
  pygc_decref(H, t2);
  pygc_decref(H, l);
  pygc_decref(H, t);
  close_heap();
}

static int scaled(int n) {
  const char *s = getenv("PYGC_CTEST_SCALE");
  double f = s ? atof(s) : 1.0;
  int m = (int)(n * (f > 0 ? f : 1.0));
  return m > 100 ? m : 100;
}

static void test_deep_release(void) {
  open_heap();
  pygc_disable(H);
  int depth = scaled(1000000);
  pygc_object *head = pygc_list_new(H, 1), *cur = head;
  for (int i = 0; i < depth; i++) {
    pygc_object *n = pygc_list_new(H, 1);
    pygc_list_append(H, cur, pygc_obj(n));
    pygc_decref(H, n);
    cur = n;
  }
  CHECK_EQ(pygc_collect(H, 2), 0); /* the collector does not recurse either */
  pygc_buf b = {0};
  CHECK(pygc_repr(H, pygc_obj(head), &b) == PYGC_OK);
  CHECK_EQ(b.len, 2 * (size_t)depth + 2);
  pygc_buf_free(H, &b);
  pygc_decref(H, head);
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  CHECK_EQ(in.objects, 1);
  close_heap();
}

static void test_repr(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0);
  pygc_object *s = pygc_str_new(H, "it's", 4);
  pygc_list_append(H, l, pygc_int(1));
  pygc_list_append(H, l, pygc_float(2.5));
  pygc_list_append(H, l, pygc_obj(s));
  pygc_list_append(H, l, pygc_none());
  pygc_list_append(H, l, pygc_bool(1));
  pygc_list_append(H, l, pygc_float(1e16));
  pygc_list_append(H, l, pygc_float(100.0));
  pygc_list_append(H, l, pygc_float(1.5e-7));
  pygc_list_append(H, l, pygc_float(0.1));
  pygc_list_append(H, l, pygc_obj(l));
  pygc_buf b = {0};
  pygc_repr(H, pygc_obj(l), &b);
  CHECK(strcmp(b.data, "[1, 2.5, \"it's\", None, True, 1e+16, 100.0, 1.5e-07, 0.1, [...]]") == 0);
  if (strcmp(b.data, "[1, 2.5, \"it's\", None, True, 1e+16, 100.0, 1.5e-07, 0.1, [...]]") != 0)
    fprintf(stderr, "got %s\n", b.data);
  pygc_object *d = pygc_dict_new(H);
  pygc_dict_set(H, d, pygc_obj(s), pygc_obj(d));
  b.len = 0;
  pygc_repr(H, pygc_obj(d), &b);
  CHECK(strcmp(b.data, "{\"it's\": {...}}") == 0);
  pygc_value one = pygc_int(1);
  pygc_object *t = pygc_tuple_new(H, 1, &one);
  b.len = 0;
  pygc_repr(H, pygc_obj(t), &b);
  CHECK(strcmp(b.data, "(1,)") == 0);
  pygc_buf_free(H, &b);
  pygc_list_clear(H, l);
  pygc_dict_del(H, d, pygc_obj(s));
  pygc_decref(H, t);
  pygc_decref(H, d);
  pygc_decref(H, s);
  pygc_decref(H, l);
  close_heap();
}

static int count_fn(pygc_object *o, void *arg) {
  (void)o;
  (*(int *)arg)++;
  return 0;
}

static void test_referrers(void) {
  open_heap();
  pygc_object *target = pygc_list_new(H, 0);
  pygc_object *a = pygc_list_new(H, 0), *d = pygc_dict_new(H);
  pygc_list_append(H, a, pygc_obj(target));
  pygc_dict_set(H, d, pygc_int(1), pygc_obj(target));
  pygc_list_append(H, a, pygc_int(7));
  int n = 0;
  pygc_value tv = pygc_obj(target);
  CHECK_EQ(pygc_get_referrers(H, &tv, 1, count_fn, &n), 2);
  pygc_value seven = pygc_int(7);
  CHECK_EQ(pygc_get_referrers(H, &seven, 1, NULL, NULL), 1);
  pygc_decref(H, a);
  pygc_decref(H, d);
  pygc_decref(H, target);
  close_heap();
}

/* a host type whose traverse misses its reference: the verifier sees a
 * reference the heap does not account for only if counts go wrong, so we
 * break the count by hand and check the verifier reports it */
static void test_verifier_catches(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0), *x = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_obj(x));
  pygc_list_append(H, l, pygc_obj(x));
  VERIFY();
  pygc_decref(H, x);      /* fine: l holds two */
  x->refcnt = 1;          /* corrupt: two references, count 1 */
  CHECK(pygc_heap_verify(H, vmsg, sizeof vmsg) != 0);
  CHECK(strstr(vmsg, "refcount") != NULL);
  x->refcnt = 2;
  pygc_decref(H, l);
  close_heap();
}

/* every allocation of a workload fails once in turn: a clean status, a
 * sound heap, and no leak */
static void oom_workload(void) {
  pygc_object *l = pygc_list_new(H, 0);
  if (!l) return;
  pygc_object *d = pygc_dict_new(H);
  if (d) {
    for (int i = 0; i < 20; i++) {
      char name[16];
      snprintf(name, sizeof name, "k%d", i);
      pygc_object *s = pygc_str_new(H, name, strlen(name));
      if (s) {
        pygc_dict_set(H, d, pygc_obj(s), pygc_obj(l));
        pygc_decref(H, s);
      }
      pygc_list_append(H, l, pygc_int(i));
    }
    pygc_list_append(H, l, pygc_obj(d));
    pygc_decref(H, d);
  }
  pygc_buf b = {0};
  pygc_repr(H, pygc_obj(l), &b);
  pygc_buf_free(H, &b);
  pygc_decref(H, l);
  pygc_collect(H, 2);
}

static void test_oom(void) {
  int faults = 0;
  for (long k = 1; k < 400; k++) {
    memset(&A, 0, sizeof A);
    A.fail_at = k + 1; /* the heap itself gets made */
    H = pygc_heap_new(ct_allocf, &A, 42);
    if (H == NULL) continue;
    if (!pygc_heap_use_pools(H, 0)) { /* every block from the allocator: fail each one */
      pygc_heap_free(H);
      continue;
    }
    oom_workload();
    if (A.count < A.fail_at) {
      pygc_heap_free(H);
      break;
    }
    faults++;
    VERIFY();
    pygc_heap_info in;
    pygc_heap_get_info(H, &in);
    CHECK_EQ(in.objects, 1); /* only the garbage list */
    pygc_heap_free(H);
    CHECK_EQ(A.live_blocks, 0);
  }
  CHECK(faults > 30);
  printf("oom: %d faults injected\n", faults);
}

/* a refcount that would overflow saturates: the object becomes immortal */
static void test_refcount_saturation(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0);
  l->refcnt = UINT32_MAX - 2;
  pygc_incref(l);
  pygc_incref(l);
  pygc_incref(l); /* would wrap to 0 */
  CHECK_EQ(pygc_refcount(l), UINT32_MAX);
  pygc_decref(H, l);
  CHECK_EQ(pygc_refcount(l), UINT32_MAX);
  CHECK_EQ(pygc_collect(H, 2), 0);
  VERIFY();
  close_heap(); /* freed with the heap, without leaks */
}

/* Classes are heap objects: tracked, with attributes (an instance's
 * getattr/setattr/delattr), in cycles with themselves and their instances,
 * and their finalizer flag settable. */
static void test_class_heap_object(void) {
  open_heap();
  set_hooks();
  pygc_disable(H);
  pygc_object *cls = pygc_class_new(H, "K", 1, 0);
  CHECK(pygc_is_tracked(cls));
  pygc_value v;
  CHECK_EQ(pygc_getattr(H, cls, "count", 5, &v), PYGC_EKEY);
  CHECK_EQ(pygc_setattr(H, cls, "count", 5, pygc_int(1)), PYGC_OK);
  CHECK_EQ(pygc_getattr(H, cls, "count", 5, &v), PYGC_OK);
  CHECK(v.tag == PYGC_TINT && v.u.i == 1);
  CHECK_EQ(pygc_attr_count(cls), 1);
  uint32_t ver = pygc_keys_version(cls);
  CHECK_EQ(pygc_setattr(H, cls, "count", 5, pygc_int(2)), PYGC_OK); /* a value update: same keys */
  CHECK_EQ(pygc_keys_version(cls), ver);
  size_t pos = 0;
  pygc_value name;
  CHECK(pygc_attr_next(cls, &pos, &name, &v) && v.u.i == 2);
  CHECK(strcmp(pygc_str_data(name.u.o, NULL), "count") == 0);
  CHECK_EQ(pygc_delattr(H, cls, "count", 5), PYGC_OK);
  CHECK_EQ(pygc_delattr(H, cls, "count", 5), PYGC_EKEY);
  CHECK(pygc_keys_version(cls) != ver);
  /* a list is no class: no attributes */
  pygc_object *l = pygc_list_new(H, 0);
  CHECK_EQ(pygc_setattr(H, l, "x", 1, pygc_int(1)), PYGC_ETYPE);
  CHECK_EQ(pygc_getattr(H, l, "x", 1, &v), PYGC_ETYPE);
  CHECK_EQ(pygc_attr_count(l), 0);
  pygc_decref(H, l);
  /* the flags follow pygc_class_set_flags */
  pygc_class_set_flags(cls, PYGC_CLASS_FINALIZER);
  CHECK_EQ(pygc_class_flags(cls), PYGC_CLASS_FINALIZER);
  finalized = 0;
  pygc_object *o = pygc_instance_new(H, cls);
  pygc_decref(H, o);
  CHECK_EQ(finalized, 1);
  pygc_class_set_flags(cls, 0);
  o = pygc_instance_new(H, cls);
  pygc_decref(H, o);
  CHECK_EQ(finalized, 1); /* no finalizer any more */
  /* the class's size counts its attribute table */
  pygc_object *c0 = pygc_class_new(H, "K0", 2, 0);
  size_t before = pygc_sizeof(c0);
  pygc_setattr(H, c0, "a", 1, pygc_int(1));
  CHECK(pygc_sizeof(c0) > before);
  pygc_decref(H, c0);
  VERIFY();
  /* A.a = A: a cycle of one, collected once dropped */
  CHECK_EQ(pygc_setattr(H, cls, "a", 1, pygc_obj(cls)), PYGC_OK);
  pygc_decref(H, cls);
  VERIFY();
  CHECK_EQ(pygc_collect(H, 2), 1);
  /* an instance and its class in a cycle (A.inst = A()), the instance
   * with a finalizer that runs once */
  cls = pygc_class_new(H, "K2", 2, PYGC_CLASS_FINALIZER);
  o = pygc_instance_new(H, cls);
  pygc_setattr(H, cls, "inst", 4, pygc_obj(o));
  pygc_decref(H, o);
  pygc_decref(H, cls);
  finalized = 0;
  VERIFY();
  CHECK_EQ(pygc_collect(H, 2), 2);
  CHECK_EQ(finalized, 1);
  /* a class reachable only from its instance lives while it does */
  cls = pygc_class_new(H, "K3", 2, 0);
  pygc_setattr(H, cls, "self", 4, pygc_obj(cls));
  o = pygc_instance_new(H, cls);
  pygc_decref(H, cls);
  CHECK_EQ(pygc_collect(H, 2), 0);
  CHECK(strcmp(pygc_class_name(pygc_instance_class(o)), "K3") == 0);
  CHECK_EQ(pygc_getattr(H, pygc_instance_class(o), "self", 4, &v), PYGC_OK);
  pygc_decref(H, o);
  CHECK_EQ(pygc_collect(H, 2), 1); /* the class, alone now */
  close_heap();
}

static int count_set(pygc_object *o, size_t node, void *arg) {
  (void)o, (void)node;
  ++*(int *)arg;
  return 0;
}

/* one handle's reference for objects with PYGC_FLAG_HOST2 (the tests' "held") */
static uint32_t held_by_flag(const pygc_object *o, void *arg) {
  (void)arg;
  return (o->flags & PYGC_FLAG_HOST2) ? 1 : 0;
}

/* pygc_cross_set: a class with live instances is rooted, so neither it nor
 * what it holds (a host's methods: leaves) nor its instances join the set
 * through it; without instances it is a candidate like any object. */
static void test_cross_set_classes(void) {
  open_heap();
  pygc_disable(H);
  const unsigned held = PYGC_FLAG_HOST2, leaf = PYGC_FLAG_HOST3, mark = PYGC_FLAG_HOST4;
  pygc_object *cls = pygc_class_new(H, "M", 1, 0);
  cls->flags |= held; /* our reference plays the host's handle */
  pygc_object *method = pygc_list_new(H, 0);
  method->flags |= leaf; /* plays a value of the other heap */
  pygc_setattr(H, cls, "m", 1, pygc_obj(method));
  pygc_decref(H, method);
  int n = 0;
  CHECK_EQ(pygc_cross_set(H, held_by_flag, leaf, mark, count_set, NULL, &n), 2); /* the class and its leaf */
  CHECK_EQ(n, 2);
  CHECK(cls->flags & mark);
  cls->flags &= ~mark;
  method->flags &= ~mark;
  pygc_object *in = pygc_instance_new(H, cls);
  in->flags |= held;
  n = 0;
  CHECK_EQ(pygc_cross_set(H, held_by_flag, leaf, mark, count_set, NULL, &n), 0); /* rooted by its instance */
  CHECK_EQ(n, 0);
  CHECK(!(cls->flags & mark) && !(in->flags & mark) && !(method->flags & mark));
  /* an instance holding a leaf of its own is in the set, its class is not */
  pygc_object *own = pygc_list_new(H, 0);
  own->flags |= leaf;
  pygc_setattr(H, in, "own", 3, pygc_obj(own));
  pygc_decref(H, own);
  n = 0;
  CHECK_EQ(pygc_cross_set(H, held_by_flag, leaf, mark, count_set, NULL, &n), 2); /* the instance and its leaf */
  CHECK(in->flags & mark);
  CHECK(!(cls->flags & mark));
  in->flags &= ~mark;
  own->flags &= ~mark;
  VERIFY();
  pygc_decref(H, in);
  n = 0;
  CHECK_EQ(pygc_cross_set(H, held_by_flag, leaf, mark, count_set, NULL, &n), 2); /* no instance: the class again */
  cls->flags &= ~(mark | held);
  method->flags &= ~mark;
  pygc_decref(H, cls);
  close_heap();
}

/* instance attributes: compact (names shared by the class, one word per
 * value) until a name or value does not fit, then a table -- with the
 * same order, values and keys version either way */
static uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
static double bitsd(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
static int attr_names_are(pygc_object *o, const char *want) {
  char got[128] = "";
  size_t pos = 0;
  pygc_value k;
  while (pygc_attr_next(o, &pos, &k, NULL)) {
    strcat(got, pygc_str_data(k.u.o, NULL));
    strcat(got, " ");
  }
  if (strcmp(got, want) != 0) fprintf(stderr, "attribute order: got '%s', want '%s'\n", got, want);
  return strcmp(got, want) == 0;
}
static void test_instance_attrs(void) {
  open_heap();
  pygc_object *cls = pygc_class_new(H, "P", 1, 0);
  pygc_object *a = pygc_instance_new(H, cls);
  size_t empty = pygc_sizeof(a);
  if (sizeof(void *) == 8) {
    pygc_object *l = pygc_list_new(H, 0), *d = pygc_dict_new(H);
    CHECK_EQ(pygc_sizeof(l), 56); /* CPython 3.11: 56, 64, 72 */
    CHECK_EQ(pygc_sizeof(d), 64);
    CHECK_EQ(empty, 64);
    pygc_decref(H, l);
    pygc_decref(H, d);
  }
  pygc_value v;
  CHECK_EQ(pygc_getattr(H, a, "x", 1, &v), PYGC_EKEY);
  CHECK_EQ(pygc_setattr(H, a, "x", 1, pygc_int(1)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, a, "y", 1, pygc_float(2.5)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, a, "z", 1, pygc_none()), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, a, "b", 1, pygc_bool(1)), PYGC_OK);
  VERIFY();
  if (sizeof(void *) == 8) CHECK_EQ(pygc_sizeof(a), empty + 32); /* 4 words: CPython 3.11's is 104 */
  CHECK(pygc_getattr(H, a, "x", 1, &v) == PYGC_OK && v.tag == PYGC_TINT && v.u.i == 1);
  CHECK(pygc_getattr(H, a, "y", 1, &v) == PYGC_OK && v.tag == PYGC_TFLOAT && v.u.f == 2.5);
  CHECK(pygc_getattr(H, a, "z", 1, &v) == PYGC_OK && v.tag == PYGC_TNONE);
  CHECK(pygc_getattr(H, a, "b", 1, &v) == PYGC_OK && v.tag == PYGC_TBOOL && v.u.b == 1);
  CHECK(attr_names_are(a, "x y z b "));
  /* the keys version: names added or removed, never a value update */
  uint32_t ver = pygc_keys_version(a);
  CHECK_EQ(pygc_setattr(H, a, "x", 1, pygc_int(-5)), PYGC_OK);
  CHECK_EQ(pygc_keys_version(a), ver);
  CHECK_EQ(pygc_delattr(H, a, "y", 1), PYGC_OK);
  CHECK(pygc_keys_version(a) != ver);
  CHECK_EQ(pygc_delattr(H, a, "y", 1), PYGC_EKEY);
  CHECK(attr_names_are(a, "x z b "));
  CHECK_EQ(pygc_setattr(H, a, "y", 1, pygc_bool(0)), PYGC_OK); /* added again: last */
  CHECK(attr_names_are(a, "x z b y "));
  CHECK(pygc_getattr(H, a, "y", 1, &v) == PYGC_OK && v.tag == PYGC_TBOOL && v.u.b == 0);
  CHECK_EQ(pygc_attr_count(a), 4);
  VERIFY();

  /* another instance shares the names, in its own order */
  pygc_object *b = pygc_instance_new(H, cls);
  CHECK_EQ(pygc_setattr(H, b, "b", 1, pygc_int(((int64_t)1 << 47) - 1)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, b, "x", 1, pygc_int(-((int64_t)1 << 47))), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, b, "nan", 3, pygc_float(bitsd(0xFFF8000000000000ull))), PYGC_OK); /* -nan */
  CHECK(attr_names_are(b, "b x nan "));
  if (sizeof(void *) == 8) CHECK_EQ(pygc_sizeof(b), empty + 32);
  CHECK(pygc_getattr(H, b, "x", 1, &v) == PYGC_OK && v.tag == PYGC_TINT && v.u.i == -((int64_t)1 << 47));
  CHECK(pygc_getattr(H, b, "b", 1, &v) == PYGC_OK && v.u.i == ((int64_t)1 << 47) - 1);
  CHECK(pygc_getattr(H, b, "nan", 3, &v) == PYGC_OK && dbits(v.u.f) == 0xFFF8000000000000ull);
  VERIFY();

  /* values no word holds: the instance moves to a table, nothing else changes */
  ver = pygc_keys_version(b);
  CHECK_EQ(pygc_setattr(H, b, "x", 1, pygc_int((int64_t)1 << 47)), PYGC_OK);
  CHECK_EQ(pygc_keys_version(b), ver);
  CHECK(attr_names_are(b, "b x nan "));
  CHECK(pygc_getattr(H, b, "x", 1, &v) == PYGC_OK && v.u.i == (int64_t)1 << 47);
  CHECK(pygc_getattr(H, b, "nan", 3, &v) == PYGC_OK && dbits(v.u.f) == 0xFFF8000000000000ull);
  CHECK_EQ(pygc_setattr(H, b, "w", 1, pygc_float(bitsd(0xFFFF000000000001ull))), PYGC_OK);
  CHECK(pygc_getattr(H, b, "w", 1, &v) == PYGC_OK && dbits(v.u.f) == 0xFFFF000000000001ull);
  CHECK(pygc_keys_version(b) != ver);
  CHECK_EQ(pygc_delattr(H, b, "b", 1), PYGC_OK);
  CHECK(attr_names_are(b, "x nan w "));
  VERIFY();
  pygc_object *c = pygc_instance_new(H, cls);
  CHECK_EQ(pygc_setattr(H, c, "q", 1, pygc_float(bitsd(0xFFFC000000000000ull))), PYGC_OK);
  CHECK(pygc_getattr(H, c, "q", 1, &v) == PYGC_OK && v.tag == PYGC_TFLOAT && dbits(v.u.f) == 0xFFFC000000000000ull);
  VERIFY();

  /* more names than the class shares, and more attributes than a word
   * array holds: tables, for those instances only */
  char nm[16];
  for (int i = 0; i < 20; i++) {
    snprintf(nm, sizeof nm, "n%d", i);
    CHECK_EQ(pygc_setattr(H, c, nm, strlen(nm), pygc_int(i)), PYGC_OK);
  }
  for (int i = 0; i < 20; i++) {
    snprintf(nm, sizeof nm, "n%d", i);
    CHECK(pygc_getattr(H, c, nm, strlen(nm), &v) == PYGC_OK && v.u.i == i);
  }
  CHECK_EQ(pygc_attr_count(c), 21);
  pygc_object *d2 = pygc_instance_new(H, cls);
  CHECK_EQ(pygc_setattr(H, d2, "x", 1, pygc_int(3)), PYGC_OK); /* a shared name: compact */
  CHECK_EQ(pygc_setattr(H, d2, "n19", 3, pygc_int(4)), PYGC_OK); /* the class is full: a table */
  CHECK(attr_names_are(d2, "x n19 "));
  VERIFY();

  /* a long name (not interned) is shared by content */
  static const char longname[] = "an_attribute_name_well_over_sixty_four_bytes_long_so_never_interned";
  pygc_object *cls2 = pygc_class_new(H, "L", 1, 0);
  pygc_object *e = pygc_instance_new(H, cls2), *f = pygc_instance_new(H, cls2);
  char copy[sizeof longname];
  memcpy(copy, longname, sizeof longname);
  CHECK_EQ(pygc_setattr(H, e, longname, sizeof longname - 1, pygc_int(1)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, f, copy, sizeof longname - 1, pygc_int(2)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, f, copy, sizeof longname - 1, pygc_int(3)), PYGC_OK);
  CHECK(pygc_getattr(H, e, copy, sizeof longname - 1, &v) == PYGC_OK && v.u.i == 1);
  CHECK(pygc_getattr(H, f, longname, sizeof longname - 1, &v) == PYGC_OK && v.u.i == 3);
  CHECK_EQ(pygc_attr_count(f), 1);
  VERIFY();

  /* cycles through compact attributes are found */
  CHECK_EQ(pygc_setattr(H, e, "peer", 4, pygc_obj(f)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, f, "peer", 4, pygc_obj(e)), PYGC_OK);
  CHECK_EQ(pygc_setattr(H, a, "self", 4, pygc_obj(a)), PYGC_OK);
  pygc_decref(H, e);
  pygc_decref(H, f);
  pygc_decref(H, a);
  VERIFY();
  CHECK_EQ(pygc_collect(H, 2), 3);
  VERIFY();
  pygc_decref(H, b);
  pygc_decref(H, c);
  pygc_decref(H, d2);
  pygc_decref(H, cls2);
  pygc_decref(H, cls);
  VERIFY();
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  CHECK_EQ(in.objects, 1); /* the garbage list: names went with the classes */
  close_heap();
}

/* incremental mode, a long doubly linked list churned (w_pressure's P3):
 * garbage cycles die old, and the increments keep up with them without
 * the full-collection valve (once the list is built) */
static void test_incremental_old_cycles(void) {
  open_heap();
  pygc_set_incremental(H, 1);
  pygc_object *Node = pygc_class_new(H, "Node", 4, 0);
  enum { LIVE = 20000, CHUNK = 100 };
  pygc_object *head = pygc_instance_new(H, Node), *tail = head;
  pygc_incref(tail);
  for (int i = 1; i < LIVE; i++) {
    pygc_object *n = pygc_instance_new(H, Node);
    pygc_setattr(H, tail, "next", 4, pygc_obj(n));
    pygc_setattr(H, n, "prev", 4, pygc_obj(tail));
    pygc_decref(H, tail);
    tail = n;
  }
  pygc_gen_stats st[3];
  pygc_get_stats(H, st);
  intptr_t full_before = st[2].collections;
  for (int r = 0; r < 1500; r++) {
    for (int i = 0; i < CHUNK; i++) {
      pygc_object *n = pygc_instance_new(H, Node);
      pygc_setattr(H, tail, "next", 4, pygc_obj(n));
      pygc_setattr(H, n, "prev", 4, pygc_obj(tail));
      pygc_decref(H, tail);
      tail = n;
    }
    pygc_object *cut = head;
    pygc_value v;
    for (int i = 0; i < CHUNK; i++) {
      pygc_getattr(H, cut, "next", 4, &v);
      cut = v.u.o;
    }
    pygc_getattr(H, cut, "prev", 4, &v);
    pygc_incref(cut);
    pygc_setattr(H, v.u.o, "next", 4, pygc_none());
    pygc_delattr(H, cut, "prev", 4);
    pygc_decref(H, head);
    head = cut;
  }
  pygc_get_stats(H, st);
  CHECK_EQ(st[2].collections - full_before, 0);
  pygc_heap_info in;
  pygc_heap_get_info(H, &in);
  CHECK(in.objects < 3 * LIVE); /* the garbage went all the same */
  VERIFY();
  pygc_decref(H, head);
  pygc_decref(H, tail);
  pygc_collect(H, 2);
  pygc_decref(H, Node);
  close_heap();
}

/* ---- lists with inline items (list.c): a list made with a capacity of
 * at most 8 keeps its items in its own block, until it outgrows them ---- */
static size_t list_bytes(size_t inline_cap, size_t own_cap) {
  /* 56: the struct (CPython's empty list); 16 per value slot */
  return 56 + 16 * inline_cap + 16 * own_cap;
}

static void test_inline_lists(void) {
  open_heap();
  pygc_disable(H);
  size_t base = pygc_heap_bytes(H);
  pygc_object *x = pygc_list_new(H, 0);
  CHECK_EQ(pygc_sizeof(x), 56); /* an empty list stays at CPython's 56 bytes */
  /* debug builds put a pad in front of each object's block */
  size_t pad = pygc_heap_bytes(H) - base - 56;
  CHECK(pad == 0 || pad == 16);
  base = pygc_heap_bytes(H);
  for (size_t cap = 0; cap <= 10; cap++) {
    pygc_object *l = pygc_list_new(H, cap);
    size_t inl = cap <= 8 ? cap : 0;
    CHECK_EQ(pygc_sizeof(l), list_bytes(inl, cap <= 8 ? 0 : cap));
    CHECK_EQ(pygc_heap_bytes(H) - base, pygc_sizeof(l) + pad);
    /* fill past the capacity: out of the inline room, for good */
    for (size_t i = 0; i < cap + 5; i++) CHECK_EQ(pygc_list_append(H, l, i % 2 ? pygc_obj(x) : pygc_int((int64_t)i)), 0);
    CHECK_EQ(pygc_list_len(l), cap + 5);
    CHECK(pygc_sizeof(l) > list_bytes(inl, 0));
    CHECK_EQ(pygc_heap_bytes(H) - base, pygc_sizeof(l) + pad);
    pygc_value v;
    for (size_t i = 0; i < cap + 5; i++) {
      CHECK_EQ(pygc_list_get(l, i, &v), 0);
      if (i % 2)
        CHECK(v.tag == PYGC_TOBJ && v.u.o == x);
      else
        CHECK(v.tag == PYGC_TINT && v.u.i == (int64_t)i);
    }
    CHECK_EQ(pygc_list_insert(H, l, 0, pygc_int(-1)), 0);
    CHECK_EQ(pygc_list_pop(H, l, 0, &v), 0);
    CHECK(v.tag == PYGC_TINT && v.u.i == -1);
    VERIFY();
    pygc_decref(H, l);
    CHECK_EQ(pygc_heap_bytes(H), base);
    CHECK_EQ(pygc_refcount(x), 1);
  }
  /* inside the inline room: insert, pop, set, no block of its own */
  pygc_object *l = pygc_list_new(H, 3);
  CHECK_EQ(pygc_list_append(H, l, pygc_int(2)), 0);
  CHECK_EQ(pygc_list_insert(H, l, 0, pygc_obj(x)), 0);
  CHECK_EQ(pygc_list_set(H, l, 1, pygc_obj(x)), 0);
  CHECK_EQ(pygc_list_append(H, l, pygc_int(3)), 0);
  CHECK_EQ(pygc_sizeof(l), list_bytes(3, 0));
  CHECK_EQ(pygc_refcount(x), 3);
  pygc_value v;
  CHECK_EQ(pygc_list_pop(H, l, 2, &v), 0);
  CHECK(v.tag == PYGC_TINT && v.u.i == 3);
  VERIFY();
  /* cleared: the inline room is not used again, appends get a block */
  pygc_list_clear(H, l);
  CHECK_EQ(pygc_list_len(l), 0);
  CHECK_EQ(pygc_refcount(x), 1);
  CHECK_EQ(pygc_sizeof(l), list_bytes(3, 0));
  CHECK_EQ(pygc_list_append(H, l, pygc_obj(x)), 0);
  CHECK_EQ(pygc_list_get(l, 0, &v), 0);
  CHECK(v.tag == PYGC_TOBJ && v.u.o == x);
  CHECK(pygc_sizeof(l) > list_bytes(3, 0));
  CHECK_EQ(pygc_heap_bytes(H) - base, pygc_sizeof(l) + pad);
  VERIFY();
  pygc_decref(H, l);
  CHECK_EQ(pygc_heap_bytes(H), base);
  /* 2-cycles of inline lists: found, freed, every byte back */
  for (int i = 0; i < 1000; i++) {
    pygc_object *a = pygc_list_new(H, 1), *b = pygc_list_new(H, 1);
    pygc_list_append(H, a, pygc_obj(b));
    pygc_list_append(H, b, pygc_obj(a));
    pygc_decref(H, a);
    pygc_decref(H, b);
  }
  VERIFY();
  CHECK_EQ(pygc_collect(H, 2), 2000);
  CHECK_EQ(pygc_heap_bytes(H), base);
  pygc_decref(H, x);
  close_heap();
}

/* A finalizer run while a list is cleared appends to that list, or drops
 * the last reference to it: the items being dropped live in the list's
 * own block, which must stay whole (ASan and valgrind watch this test). */
static pygc_object *fin_target;
static int fin_mode; /* 1: append to fin_target; 2: drop fin_target */
static void on_finalize_list(void *ud, pygc_heap *h, pygc_object *o) {
  (void)ud;
  (void)o;
  finalized++;
  if (fin_mode == 1) CHECK_EQ(pygc_list_append(h, fin_target, pygc_int(7)), 0);
  if (fin_mode == 2 && fin_target) {
    pygc_object *t = fin_target;
    fin_target = NULL;
    pygc_decref(h, t);
  }
}

static void test_inline_list_clear_reentry(void) {
  open_heap();
  pygc_disable(H);
  pygc_hooks hk = {0};
  hk.finalize = on_finalize_list;
  pygc_set_hooks(H, &hk);
  pygc_object *cls = pygc_class_new(H, "Fin", 3, PYGC_CLASS_FINALIZER);
  size_t base = pygc_heap_bytes(H);
  for (fin_mode = 1; fin_mode <= 2; fin_mode++) {
    finalized = 0;
    pygc_object *l = pygc_list_new(H, 2);
    for (int i = 0; i < 2; i++) {
      pygc_object *o = pygc_instance_new(H, cls);
      pygc_list_append(H, l, pygc_obj(o));
      pygc_decref(H, o);
    }
    fin_target = l; /* mode 2: the hook owns our reference now */
    pygc_list_clear(H, l);
    CHECK_EQ(finalized, 2);
    if (fin_mode == 1) {
      CHECK_EQ(pygc_list_len(l), 2); /* both appends, into a block of its own */
      pygc_value v;
      CHECK_EQ(pygc_list_get(l, 1, &v), 0);
      CHECK(v.tag == PYGC_TINT && v.u.i == 7);
      VERIFY();
      pygc_decref(H, l);
    } else {
      CHECK(fin_target == NULL);
    }
    VERIFY();
    CHECK_EQ(pygc_heap_bytes(H), base);
  }
  /* the same through deallocation: the list dies, a finalizer appends */
  finalized = 0;
  fin_mode = 1;
  pygc_object *keep = pygc_list_new(H, 0);
  pygc_object *l = pygc_list_new(H, 1);
  pygc_object *o = pygc_instance_new(H, cls);
  pygc_list_append(H, l, pygc_obj(o));
  pygc_decref(H, o);
  fin_target = keep;
  pygc_decref(H, l);
  CHECK_EQ(finalized, 1);
  CHECK_EQ(pygc_list_len(keep), 1);
  pygc_decref(H, keep);
  fin_target = NULL;
  fin_mode = 0;
  VERIFY();
  CHECK_EQ(pygc_heap_bytes(H), base);
  pygc_decref(H, cls);
  close_heap();
}

/* A garbage set with nothing to finalize is released as a whole (gc.c,
 * delete_garbage_bulk): lists, dicts, tuples, instances and their class
 * in one cycle, holding objects outside the set -- one of them with a
 * finalizer that allocates, collects and looks around while the set
 * comes down.  Every byte comes back and the outside survives. */
static pygc_object *bulk_keep;
static void on_finalize_bulk(void *ud, pygc_heap *h, pygc_object *o) {
  (void)ud;
  (void)o;
  finalized++;
  CHECK_EQ(pygc_collect(h, 0), 0); /* inside a collection */
  pygc_object *l = pygc_list_new(h, 1);
  CHECK_EQ(pygc_list_append(h, bulk_keep, pygc_obj(l)), 0);
  pygc_decref(h, l);
}

static void test_bulk_release(void) {
  open_heap();
  pygc_disable(H);
  pygc_hooks hk = {0};
  hk.finalize = on_finalize_bulk;
  pygc_set_hooks(H, &hk);
  pygc_object *fin_cls = pygc_class_new(H, "Fin", 3, PYGC_CLASS_FINALIZER);
  bulk_keep = pygc_list_new(H, 0);
  pygc_object *shared = pygc_list_new(H, 0); /* outside, survives */
  size_t base = pygc_heap_bytes(H);
  for (int round = 0; round < 3; round++) {
    finalized = 0;
    pygc_object *cls = pygc_class_new(H, "C", 1, 0);
    pygc_object *a = pygc_list_new(H, 2), *d = pygc_dict_new(H), *in = pygc_instance_new(H, cls);
    pygc_object *out = pygc_instance_new(H, fin_cls); /* only the set holds it */
    pygc_untrack(H, out);                              /* and it is in no collection's region */
    pygc_value items[2] = {pygc_obj(a), pygc_obj(shared)};
    pygc_object *t = pygc_tuple_new(H, 2, items);
    pygc_list_append(H, a, pygc_obj(d));
    pygc_list_append(H, a, pygc_obj(out));
    pygc_object *k = pygc_str_new(H, "k", 1);
    pygc_dict_set(H, d, pygc_obj(k), pygc_obj(in));
    pygc_decref(H, k);
    pygc_setattr(H, in, "t", 1, pygc_obj(t));
    pygc_setattr(H, in, "n", 1, pygc_int(round));
    pygc_setattr(H, cls, "inst", 4, pygc_obj(in)); /* the class is in the cycle too */
    pygc_decref(H, out);
    pygc_decref(H, t);
    pygc_decref(H, in);
    pygc_decref(H, d);
    pygc_decref(H, a);
    pygc_decref(H, cls);
    VERIFY();
    CHECK_EQ(pygc_collect(H, round == 2 ? 2 : 0), 5);
    CHECK_EQ(finalized, 1);
    CHECK_EQ(pygc_refcount(shared), 1);
    CHECK_EQ(pygc_list_len(bulk_keep), 1);
    pygc_list_clear(H, bulk_keep);
    VERIFY();
    CHECK_EQ(pygc_heap_bytes(H), base);
  }
  pygc_decref(H, shared);
  pygc_decref(H, bulk_keep);
  pygc_decref(H, fin_cls);
  close_heap();
}

int main(void) {
  RUN(test_refcount_release);
  RUN(test_str_interning);
  RUN(test_dict_keys);
  RUN(test_collect_cycles);
  RUN(test_finalizers);
  RUN(test_legacy_and_saveall);
  RUN(test_generations_and_thresholds);
  RUN(test_tuple_untracking);
  RUN(test_deep_release);
  RUN(test_repr);
  RUN(test_referrers);
  RUN(test_verifier_catches);
  RUN(test_refcount_saturation);
  RUN(test_oom);
  RUN(test_class_heap_object);
  RUN(test_cross_set_classes);
  RUN(test_instance_attrs);
  RUN(test_incremental_old_cycles);
  RUN(test_inline_lists);
  RUN(test_inline_list_clear_reentry);
  RUN(test_bulk_release);
  return ct_summary();
}
