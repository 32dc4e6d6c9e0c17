/* test_weakref.c -- weak references in lib/: lists per referent, refcount
 * death, the collector's rules (CPython's handle_weakrefs), freeze, the
 * incremental collector, hashing and equality, allocation failure. */
#include "ct_heap.h"
#include "pygc.h"


/* what the hooks saw */
static char log_[256];
static pygc_object *keep;  /* a list the hooks may store into */
static int cb_collect;     /* the callback collects, allocates, makes weakrefs */
static int del_sees_dead;  /* finalizers: how many saw their weakref dead */
static pygc_object *del_wr; /* the weakref a finalizer checks */

static void logc(char c) {
  size_t n = strlen(log_);
  if (n + 1 < sizeof log_) {
    log_[n] = c;
    log_[n + 1] = 0;
  }
}

static void on_wr(void *ud, pygc_heap *h, pygc_object *wr) {
  (void)ud;
  pygc_value cb = pygc_weakref_callback(wr);
  CHECK(pygc_weakref_get(wr) == NULL); /* cleared before the callback */
  if (cb.tag == PYGC_TINT) logc((char)('0' + cb.u.i));
  int bad = pygc_heap_verify(h, vmsg, sizeof vmsg);
  if (bad) fprintf(stderr, "verify in callback: %s\n", vmsg);
  CHECK(!bad);
  if (cb_collect) {
    cb_collect = 0; /* once: the nested callback below must not recurse */
    CHECK_EQ(pygc_collect(h, 2), 0); /* no nested collection */
    pygc_object *l = pygc_list_new(h, 0);
    int st;
    pygc_object *w2 = pygc_weakref_new(h, l, pygc_int(9), 0, &st);
    CHECK(w2 != NULL);
    pygc_decref(h, l); /* w2's callback runs now, nested */
    pygc_decref(h, w2);
  }
}

static void on_finalize(void *ud, pygc_heap *h, pygc_object *o) {
  (void)ud;
  (void)h;
  logc('D');
  if (del_wr && pygc_weakref_get(del_wr) == NULL) del_sees_dead++;
  if (keep) pygc_list_append(h, keep, pygc_obj(o)); /* resurrect */
}

static void open_heap(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 42);
  pygc_hooks hk = {0};
  hk.weakref_callback = on_wr;
  hk.finalize = on_finalize;
  pygc_set_hooks(H, &hk);
  log_[0] = 0;
  keep = NULL;
  cb_collect = 0;
  del_sees_dead = 0;
  del_wr = NULL;
}

static void close_heap(void) {
  VERIFY();
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
  CHECK_EQ(A.live_bytes, 0);
}

static pygc_object *new_class(int fin) {
  return pygc_class_new(H, "C", 1, fin ? PYGC_CLASS_FINALIZER : 0);
}

static void test_basic(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0);
  int st = -1;
  pygc_object *r = pygc_weakref_new(H, l, pygc_none(), 0, &st);
  CHECK_EQ(st, PYGC_OK);
  CHECK(pygc_weakref_get(r) == l);
  CHECK(pygc_is_tracked(r));
  CHECK(strcmp(pygc_type_name(pygc_obj(r)), "weakref") == 0);
  pygc_object *r2 = pygc_weakref_new(H, l, pygc_none(), 0, &st);
  CHECK(r2 == r); /* the basic one is shared */
  pygc_object *p = pygc_weakref_new(H, l, pygc_none(), 1, &st);
  CHECK(p != r);
  CHECK(strcmp(pygc_type_name(pygc_obj(p)), "weakproxy") == 0);
  pygc_object *c1 = pygc_weakref_new(H, l, pygc_int(1), 0, &st);
  pygc_object *c2 = pygc_weakref_new(H, l, pygc_int(2), 0, &st);
  CHECK(c1 != c2 && c1 != r);
  CHECK_EQ(pygc_weakref_count(H, l), 4);
  VERIFY();
  /* equality and hash: like the referent while alive (a list: unhashable) */
  CHECK(pygc_equal(pygc_obj(r), pygc_obj(c1)));
  uint64_t h1;
  CHECK_EQ(pygc_hash(H, pygc_obj(r), &h1), PYGC_EUNHASHABLE);
  CHECK_EQ(pygc_hash(H, pygc_obj(p), &h1), PYGC_EUNHASHABLE);
  /* death: callbacks newest first */
  pygc_decref(H, l);
  CHECK(strcmp(log_, "21") == 0);
  CHECK(pygc_weakref_get(r) == NULL && pygc_weakref_get(p) == NULL);
  CHECK(!pygc_equal(pygc_obj(r), pygc_obj(c1))); /* dead: identity */
  CHECK(pygc_equal(pygc_obj(r), pygc_obj(r)));
  VERIFY();
  pygc_decref(H, r);
  pygc_decref(H, r2);
  pygc_decref(H, p);
  pygc_decref(H, c1);
  pygc_decref(H, c2);
  close_heap();
}

static void test_hash(void) {
  open_heap();
  pygc_object *cls = new_class(0);
  pygc_object *a = pygc_instance_new(H, cls);
  int st;
  pygc_object *r = pygc_weakref_new(H, a, pygc_none(), 0, &st);
  pygc_object *c = pygc_weakref_new(H, a, pygc_int(1), 0, &st);
  pygc_object *c2 = pygc_weakref_new(H, a, pygc_int(2), 0, &st);
  uint64_t h0, h1, h2;
  CHECK_EQ(pygc_hash(H, pygc_obj(a), &h0), PYGC_OK);
  CHECK_EQ(pygc_hash(H, pygc_obj(r), &h1), PYGC_OK);
  CHECK_EQ(pygc_hash(H, pygc_obj(c), &h2), PYGC_OK);
  CHECK(h0 == h1 && h1 == h2);
  /* as dict keys: two live refs find each other */
  pygc_object *d = pygc_dict_new(H);
  CHECK_EQ(pygc_dict_set(H, d, pygc_obj(r), pygc_int(5)), PYGC_OK);
  pygc_value v;
  CHECK_EQ(pygc_dict_get(H, d, pygc_obj(c), &v), PYGC_OK);
  CHECK(v.tag == PYGC_TINT && v.u.i == 5);
  pygc_decref(H, a);
  CHECK_EQ(pygc_hash(H, pygc_obj(r), &h1), PYGC_OK); /* remembered */
  CHECK(h1 == h0);
  CHECK_EQ(pygc_hash(H, pygc_obj(c2), &h1), PYGC_EUNHASHABLE); /* never hashed, now dead */
  CHECK_EQ(pygc_dict_get(H, d, pygc_obj(c), &v), PYGC_EKEY); /* dead: identity only */
  CHECK_EQ(pygc_dict_get(H, d, pygc_obj(r), &v), PYGC_OK);
  pygc_decref(H, d);
  pygc_decref(H, r);
  pygc_decref(H, c);
  pygc_decref(H, c2);
  pygc_decref(H, cls);
  close_heap();
}

static void test_refused(void) {
  open_heap();
  int st = 0;
  pygc_object *t = pygc_tuple_new(H, 0, NULL);
  CHECK(pygc_weakref_new(H, t, pygc_none(), 0, &st) == NULL);
  CHECK_EQ(st, PYGC_ETYPE);
  pygc_object *s = pygc_str_new(H, "x", 1);
  CHECK(pygc_weakref_new(H, s, pygc_none(), 0, &st) == NULL);
  CHECK_EQ(st, PYGC_ETYPE);
  pygc_object *d = pygc_dict_new(H);
  pygc_object *r = pygc_weakref_new(H, d, pygc_none(), 0, &st);
  CHECK(pygc_weakref_new(H, r, pygc_none(), 0, &st) == NULL); /* no weakref to a weakref */
  CHECK_EQ(st, PYGC_ETYPE);
  pygc_value bad = {PYGC_TOBJ, {0}};
  CHECK(pygc_weakref_new(H, d, bad, 0, &st) == NULL);
  CHECK_EQ(st, PYGC_EVALUE);
  CHECK(pygc_weakref_get(d) == NULL);
  CHECK_EQ(pygc_weakref_count(H, t), 0);
  pygc_decref(H, r);
  pygc_decref(H, d);
  pygc_decref(H, t);
  pygc_decref(H, s);
  close_heap();
}

/* death by refcount: __del first, with weakrefs alive; resurrection keeps them */
static void test_refcount_finalizer(void) {
  open_heap();
  pygc_object *cls = new_class(1);
  pygc_object *a = pygc_instance_new(H, cls);
  int st;
  pygc_object *r = pygc_weakref_new(H, a, pygc_int(1), 0, &st);
  del_wr = r;
  keep = pygc_list_new(H, 0);
  pygc_decref(H, a); /* resurrected into keep */
  CHECK(strcmp(log_, "D") == 0);
  CHECK(pygc_weakref_get(r) == a);
  CHECK_EQ(del_sees_dead, 0);
  pygc_object *k = keep;
  keep = NULL;
  pygc_decref(H, k); /* dies now: finalizer ran already, callback runs */
  CHECK(strcmp(log_, "D1") == 0);
  CHECK(pygc_weakref_get(r) == NULL);
  VERIFY();
  pygc_decref(H, r);
  pygc_decref(H, cls);
  close_heap();
}

/* cyclic garbage: cleared before any finalizer; a garbage weakref gets no
 * callback; weakrefs count in collect() */
static void test_cycle(void) {
  open_heap();
  pygc_object *cls = new_class(1);
  pygc_object *a = pygc_instance_new(H, cls);
  pygc_setattr(H, a, "self", 4, pygc_obj(a));
  int st;
  pygc_object *r = pygc_weakref_new(H, a, pygc_int(1), 0, &st); /* reachable: callback runs */
  pygc_object *g = pygc_weakref_new(H, a, pygc_int(2), 0, &st); /* part of the garbage */
  pygc_setattr(H, a, "wr", 2, pygc_obj(g));
  pygc_decref(H, g);
  del_wr = r;
  pygc_decref(H, a);
  intptr_t n = pygc_collect(H, 2);
  CHECK_EQ(n, 2); /* the instance and its garbage weakref */
  CHECK(strcmp(log_, "1D") == 0); /* callback before the finalizer */
  CHECK_EQ(del_sees_dead, 1);
  CHECK(pygc_weakref_get(r) == NULL);
  VERIFY();
  pygc_decref(H, r);
  /* a weakref only its callback's collection frees counts too */
  log_[0] = 0;
  pygc_object *b = pygc_list_new(H, 0);
  pygc_list_append(H, b, pygc_obj(b));
  pygc_object *holder = pygc_list_new(H, 0);
  pygc_object *w = pygc_weakref_new(H, b, pygc_int(3), 0, &st);
  pygc_list_append(H, holder, pygc_obj(w));
  pygc_decref(H, w);
  pygc_decref(H, b);
  n = pygc_collect(H, 2);
  CHECK_EQ(n, 1);
  CHECK(strcmp(log_, "3") == 0);
  pygc_list_clear(H, holder); /* w goes by refcount, after its callback */
  pygc_decref(H, holder);
  pygc_decref(H, cls);
  close_heap();
}

/* a resurrected object's weakrefs stay cleared */
static void test_resurrect_cycle(void) {
  open_heap();
  pygc_object *cls = new_class(1);
  pygc_object *a = pygc_instance_new(H, cls);
  pygc_setattr(H, a, "self", 4, pygc_obj(a));
  int st;
  pygc_object *r = pygc_weakref_new(H, a, pygc_none(), 0, &st);
  keep = pygc_list_new(H, 0);
  pygc_decref(H, a);
  CHECK_EQ(pygc_collect(H, 2), 0);
  CHECK(pygc_weakref_get(r) == NULL);
  CHECK_EQ(pygc_list_len(keep), 1);
  pygc_object *k = keep;
  keep = NULL;
  pygc_decref(H, r);
  pygc_decref(H, k);
  CHECK_EQ(pygc_collect(H, 2), 1);
  pygc_decref(H, cls);
  close_heap();
}

/* callbacks may collect, allocate and make weakrefs; in both collectors and
 * with the weakref frozen */
static void run_callback_cycle(int incremental, int freeze) {
  open_heap();
  pygc_set_incremental(H, incremental);
  cb_collect = 1;
  pygc_object *l = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_obj(l));
  int st;
  pygc_object *r = pygc_weakref_new(H, l, pygc_int(5), 0, &st);
  if (freeze) pygc_freeze(H);
  pygc_decref(H, l);
  if (freeze) {
    CHECK_EQ(pygc_collect(H, 2), 0);
    CHECK(pygc_weakref_get(r) == l);
    pygc_unfreeze(H);
  }
  CHECK_EQ(pygc_collect(H, 2), 1);
  CHECK(strcmp(log_, "59") == 0);
  VERIFY();
  pygc_decref(H, r);
  close_heap();
}
static void test_callback_cycle_gen(void) { run_callback_cycle(0, 0); }
static void test_callback_cycle_inc(void) { run_callback_cycle(1, 0); }
static void test_callback_cycle_frozen(void) { run_callback_cycle(0, 1); }

/* the weakref is frozen, its referent is garbage: the callback still runs */
static void test_frozen_weakref(void) {
  open_heap();
  pygc_object *d = pygc_list_new(H, 0);
  int st;
  pygc_object *r = pygc_weakref_new(H, d, pygc_int(7), 0, &st);
  pygc_freeze(H);
  pygc_object *l = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_obj(l));
  pygc_list_append(H, d, pygc_obj(l));
  pygc_list_append(H, l, pygc_obj(d));
  pygc_decref(H, l);
  pygc_decref(H, d);
  /* d is frozen: not collected */
  CHECK_EQ(pygc_collect(H, 2), 0);
  pygc_unfreeze(H);
  pygc_object *r2 = pygc_weakref_new(H, d, pygc_int(8), 0, &st);
  pygc_freeze(H); /* r2 frozen, d frozen too: nothing happens */
  pygc_unfreeze(H);
  pygc_decref(H, r2);
  CHECK_EQ(pygc_collect(H, 2), 2);
  CHECK(strcmp(log_, "87") == 0 || strcmp(log_, "7") == 0);
  VERIFY();
  pygc_decref(H, r);
  close_heap();
}

/* many referents: the table grows and shrinks, the verifier agrees */
static void test_many(void) {
  open_heap();
  enum { N = 500 };
  pygc_object *objs[N], *refs[N];
  int st;
  for (int i = 0; i < N; i++) {
    objs[i] = pygc_list_new(H, 0);
    refs[i] = pygc_weakref_new(H, objs[i], pygc_none(), 0, &st);
  }
  VERIFY();
  for (int i = 0; i < N; i += 2) pygc_decref(H, objs[i]);
  VERIFY();
  for (int i = 0; i < N; i++) CHECK((pygc_weakref_get(refs[i]) == NULL) == (i % 2 == 0));
  for (int i = 1; i < N; i += 2) pygc_decref(H, refs[i]);
  VERIFY();
  for (int i = 1; i < N; i += 2) pygc_decref(H, objs[i]);
  for (int i = 0; i < N; i += 2) pygc_decref(H, refs[i]);
  close_heap();
}

/* every allocation of weakref_new can fail, leaving nothing behind */
static void test_oom(void) {
  for (long k = 1; k < 40; k++) {
    open_heap();
    pygc_heap_use_pools(H, 0);
    pygc_object *l = pygc_list_new(H, 0);
    A.fail_at = A.count + k;
    int st;
    pygc_object *r = pygc_weakref_new(H, l, pygc_int(1), 0, &st);
    A.fail_at = 0;
    CHECK((r == NULL) == (st == PYGC_ENOMEM));
    VERIFY();
    pygc_decref(H, l);
    if (r) pygc_decref(H, r);
    close_heap();
    if (r) break;
  }
}

/* a host type opts in */
typedef struct host_obj {
  pygc_object h;
} host_obj;
static size_t host_size(const pygc_object *o) {
  (void)o;
  return sizeof(host_obj);
}
static const pygc_type host_weak = {.name = "hostweak", .flags = PYGC_TYPE_WEAKREF, .size = host_size};
static const pygc_type host_plain = {.name = "hostplain", .size = host_size};
static void test_host(void) {
  open_heap();
  pygc_object *a = pygc_object_new(H, &host_weak, sizeof(host_obj));
  pygc_object *b = pygc_object_new(H, &host_plain, sizeof(host_obj));
  CHECK(pygc_weakref_accepts(a));
  CHECK(!pygc_weakref_accepts(b));
  int st;
  pygc_object *r = pygc_weakref_new(H, a, pygc_int(4), 0, &st);
  CHECK(r != NULL);
  pygc_decref(H, a);
  CHECK(strcmp(log_, "4") == 0);
  pygc_decref(H, b);
  pygc_decref(H, r);
  close_heap();
}

/* the heap freed with weakrefs still pointing: no callback, no leak */
static void test_heap_free(void) {
  open_heap();
  pygc_object *l = pygc_list_new(H, 0);
  int st;
  pygc_object *r = pygc_weakref_new(H, l, pygc_int(1), 0, &st);
  (void)r;
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
  CHECK(log_[0] == 0);
}

int main(void) {
  RUN(test_basic);
  RUN(test_hash);
  RUN(test_refused);
  RUN(test_refcount_finalizer);
  RUN(test_cycle);
  RUN(test_resurrect_cycle);
  RUN(test_callback_cycle_gen);
  RUN(test_callback_cycle_inc);
  RUN(test_callback_cycle_frozen);
  RUN(test_frozen_weakref);
  RUN(test_many);
  RUN(test_oom);
  RUN(test_host);
  RUN(test_heap_free);
  return ct_summary();
}
