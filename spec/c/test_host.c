/* test_host.c -- host-defined types: their objects join cycles and every
 * introspection function like built-in ones; a traverse that misses a
 * reference is caught by the exact verifier; a finalizer's failure is
 * reported, not lost. */
#include "ct_heap.h"
#include "pygc.h"


/* ---- Pair: two slots, a faithful traverse -------------------------------- */
typedef struct pair {
  pygc_object h;
  pygc_value a, b;
  int *freed; /* counter owned by the test */
} pair;

static int pair_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  pair *p = (pair *)o;
  int r;
  if (p->a.tag == PYGC_TOBJ && (r = visit(&p->a, arg))) return r;
  if (p->b.tag == PYGC_TOBJ && (r = visit(&p->b, arg))) return r;
  return 0;
}

static void pair_clear(pygc_heap *h, pygc_object *o) {
  pair *p = (pair *)o;
  pygc_value a = p->a, b = p->b;
  p->a = p->b = pygc_none();
  pygc_value_decref(h, a);
  pygc_value_decref(h, b);
}

static void pair_free(pygc_heap *h, pygc_object *o) {
  (void)h;
  pair *p = (pair *)o;
  if (p->freed) (*p->freed)++;
}

static size_t pair_size(const pygc_object *o) {
  (void)o;
  return sizeof(pair);
}

static const pygc_type pair_type = {
    .name = "Pair", .flags = PYGC_TYPE_GC, .traverse = pair_traverse, .clear = pair_clear,
    .free = pair_free, .size = pair_size,
};

/* ---- Leaky: its traverse forgets slot b ------------------------------------ */
static int leaky_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  pair *p = (pair *)o;
  if (p->a.tag == PYGC_TOBJ) return visit(&p->a, arg);
  return 0; /* b is missed */
}

static const pygc_type leaky_type = {
    .name = "Leaky", .flags = PYGC_TYPE_GC, .traverse = leaky_traverse, .clear = pair_clear,
    .free = pair_free, .size = pair_size,
};

/* ---- Failing: its finalizer fails and reports it ------------------------------ */
static int failing_finalized;
static void failing_finalize(pygc_heap *h, pygc_object *o) {
  failing_finalized++;
  pygc_report_unraisable(h, PYGC_EVALUE, "finalizer of Failing", o);
}

static const pygc_type failing_type = {
    .name = "Failing", .flags = PYGC_TYPE_GC, .traverse = pair_traverse, .clear = pair_clear,
    .finalize = failing_finalize, .free = pair_free, .size = pair_size,
};

/* ---- Phoenix: its finalizer resurrects it into a list ----------------------- */
static pygc_object *phoenix_nest;
static void phoenix_finalize(pygc_heap *h, pygc_object *o) { pygc_list_append(h, phoenix_nest, pygc_obj(o)); }

static const pygc_type phoenix_type = {
    .name = "Phoenix", .flags = PYGC_TYPE_GC, .traverse = pair_traverse, .clear = pair_clear,
    .finalize = phoenix_finalize, .free = pair_free, .size = pair_size,
};

static int reports;
static const char *last_what;
static void on_unraisable(void *ud, pygc_heap *h, int st, const char *what, pygc_object *o) {
  (void)ud;
  (void)h;
  (void)o;
  CHECK_EQ(st, PYGC_EVALUE);
  reports++;
  last_what = what;
}

static pair *new_pair(const pygc_type *t, int *freed) {
  pair *p = (pair *)pygc_object_new(H, t, sizeof(pair));
  p->a = p->b = pygc_none();
  p->freed = freed;
  pygc_track(H, &p->h);
  return p;
}

static void link(pair *from, pair *to, int slot_b) {
  pygc_incref(&to->h);
  if (slot_b)
    from->b = pygc_obj(&to->h);
  else
    from->a = pygc_obj(&to->h);
}

static void open_heap(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 1);
  pygc_hooks hk = {0};
  hk.unraisable = on_unraisable;
  pygc_set_hooks(H, &hk);
  pygc_disable(H);
}

static void close_heap(void) {
  VERIFY();
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
}

static int count_fn(pygc_object *o, void *arg) {
  (void)o;
  (*(int *)arg)++;
  return 0;
}

static void test_host_cycles_collected(void) {
  open_heap();
  int freed = 0;
  pair *x = new_pair(&pair_type, &freed), *y = new_pair(&pair_type, &freed);
  link(x, y, 0);
  link(y, x, 0);
  pygc_object *l = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_obj(&x->h)); /* a built-in container in the cycle too */
  x->b = pygc_obj(l);
  VERIFY();
  CHECK(pygc_heap_verify_refs(H, NULL, NULL, vmsg, sizeof vmsg) != 0); /* we still hold x, y */
  /* introspection sees host objects as it sees built-in ones */
  pygc_value tx = pygc_obj(&x->h);
  int n = 0;
  CHECK_EQ(pygc_get_referrers(H, &tx, 1, count_fn, &n), 2); /* y and the list */
  CHECK(strcmp(pygc_type_name(tx), "Pair") == 0);
  pygc_buf b = {0};
  pygc_repr(H, tx, &b);
  CHECK(strncmp(b.data, "<Pair object at 0x", 18) == 0);
  pygc_buf_free(H, &b);
  CHECK(pygc_is_tracked(&x->h));
  CHECK_EQ(pygc_sizeof(&x->h), sizeof(pair));
  pygc_decref(H, &x->h);
  pygc_decref(H, &y->h);
  CHECK(pygc_heap_verify_refs(H, NULL, NULL, vmsg, sizeof vmsg) == 0); /* balanced: nothing held outside */
  CHECK_EQ(pygc_collect(H, 2), 3);
  CHECK_EQ(freed, 2);
  close_heap();
}

static void test_missed_reference_is_reported(void) {
  open_heap();
  int freed = 0;
  pair *x = new_pair(&leaky_type, &freed), *y = new_pair(&leaky_type, &freed);
  link(x, y, 1); /* through b: the traverse misses it */
  link(y, x, 0);
  pygc_decref(H, &x->h);
  pygc_decref(H, &y->h);
  /* the ordinary verifier cannot tell a missed reference from a host's */
  VERIFY();
  /* the cycle looks referenced from outside: it leaks */
  CHECK_EQ(pygc_collect(H, 2), 0);
  CHECK_EQ(freed, 0);
  /* the exact verifier, told the host holds nothing, names the object */
  CHECK(pygc_heap_verify_refs(H, NULL, NULL, vmsg, sizeof vmsg) != 0);
  CHECK(strstr(vmsg, "Leaky") != NULL);
  CHECK(strstr(vmsg, "misses a reference") != NULL);
  printf("exact verifier: %s\n", vmsg);
  /* break it by hand so the heap ends clean */
  pygc_incref(&x->h);
  pair_clear(H, &x->h);
  pygc_decref(H, &x->h);
  CHECK_EQ(freed, 2);
  close_heap();
}

static size_t held_by_test(pygc_object *o, void *ud) { return o == (pygc_object *)ud ? 1 : 0; }

static void test_exact_verifier_with_host_roots(void) {
  open_heap();
  int freed = 0;
  pair *x = new_pair(&pair_type, &freed);
  pygc_object *l = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_obj(&x->h));
  pygc_decref(H, &x->h); /* the list holds x; the test holds l */
  CHECK(pygc_heap_verify_refs(H, held_by_test, l, vmsg, sizeof vmsg) == 0);
  pygc_incref(&x->h); /* a leaked reference */
  CHECK(pygc_heap_verify_refs(H, held_by_test, l, vmsg, sizeof vmsg) != 0);
  pygc_decref(H, &x->h);
  pygc_decref(H, l);
  CHECK_EQ(freed, 1);
  close_heap();
}

static void test_failing_finalizer_reported(void) {
  open_heap();
  int freed = 0;
  reports = 0;
  failing_finalized = 0;
  pair *x = new_pair(&failing_type, &freed);
  link(x, x, 0);
  pygc_decref(H, &x->h);
  CHECK_EQ(pygc_collect(H, 2), 1);
  CHECK_EQ(failing_finalized, 1);
  CHECK_EQ(reports, 1);
  CHECK(last_what && strcmp(last_what, "finalizer of Failing") == 0);
  CHECK_EQ(freed, 1);
  /* refcount death reports too */
  pair *y = new_pair(&failing_type, &freed);
  pygc_decref(H, &y->h);
  CHECK_EQ(reports, 2);
  close_heap();
}

static void test_host_resurrection(void) {
  open_heap();
  int freed = 0;
  phoenix_nest = pygc_list_new(H, 0);
  pair *x = new_pair(&phoenix_type, &freed);
  link(x, x, 0);
  pygc_decref(H, &x->h);
  CHECK_EQ(pygc_collect(H, 2), 0); /* resurrected */
  CHECK_EQ(pygc_list_len(phoenix_nest), 1);
  CHECK(pygc_is_finalized(&x->h));
  pygc_list_clear(H, phoenix_nest);
  CHECK_EQ(pygc_collect(H, 2), 1); /* finalized once only: now it goes */
  CHECK_EQ(freed, 1);
  pygc_decref(H, phoenix_nest);
  close_heap();
}

static const pygc_type bad_gc_type = {.name = "Bad", .flags = PYGC_TYPE_GC, .size = pair_size};

static void test_type_checks(void) {
  open_heap();
  CHECK(pygc_object_new(H, &bad_gc_type, sizeof(pair)) == NULL); /* a GC type needs traverse */
  CHECK(pygc_object_new(H, &pair_type, 4) == NULL);               /* smaller than the header */
  close_heap();
}

int main(void) {
  RUN(test_host_cycles_collected);
  RUN(test_missed_reference_is_reported);
  RUN(test_exact_verifier_with_host_roots);
  RUN(test_failing_finalizer_reported);
  RUN(test_host_resurrection);
  RUN(test_type_checks);
  return ct_summary();
}
