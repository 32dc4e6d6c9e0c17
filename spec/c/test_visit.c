/* test_visit.c -- one child enumeration per type, seen by every walk.
 *
 * A host type written against pygc.h alone (one traverse, an optional
 * slot_name) must be seen by get_referents, get_referrers, the exact
 * verifier, the collector and the labelled edges (pygc_edges); the
 * built-in types' edges carry their labels and kinds. */
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

/* ---- Node: a host type with a left and a right slot and a tag str ------- */
typedef struct node {
  pygc_object h;
  pygc_value left, right, tag;
} node;

static int node_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) {
  node *n = (node *)o;
  int r;
  if (n->left.tag == PYGC_TOBJ && (r = visit(&n->left, arg))) return r;
  if (n->right.tag == PYGC_TOBJ && (r = visit(&n->right, arg))) return r;
  if (n->tag.tag == PYGC_TOBJ && (r = visit(&n->tag, arg))) return r;
  return 0;
}
static void node_clear(pygc_heap *h, pygc_object *o) {
  node *n = (node *)o;
  pygc_value a = n->left, b = n->right, c = n->tag;
  n->left = n->right = n->tag = pygc_none();
  pygc_value_decref(h, a);
  pygc_value_decref(h, b);
  pygc_value_decref(h, c);
}
static size_t node_size(const pygc_object *o) {
  (void)o;
  return sizeof(node);
}
static const char *node_slot_name(const pygc_object *o, const pygc_value *slot) {
  const node *n = (const node *)o;
  return slot == &n->left ? "left" : slot == &n->right ? "right" : slot == &n->tag ? "tag" : NULL;
}
static const pygc_type node_type = {
    .name = "Node",
    .flags = PYGC_TYPE_GC,
    .traverse = node_traverse,
    .clear = node_clear,
    .size = node_size,
    .slot_name = node_slot_name,
};
/* the same type without slot names */
static const pygc_type anon_type = {
    .name = "Anon", .flags = PYGC_TYPE_GC, .traverse = node_traverse, .clear = node_clear, .size = node_size,
};

static node *new_node(const pygc_type *t) {
  node *n = (node *)pygc_object_new(H, t, sizeof(node));
  n->left = n->right = n->tag = pygc_none();
  pygc_track(H, &n->h);
  return n;
}
/* store v (the node takes its own reference) */
static void node_set(pygc_value *slot, pygc_value v) {
  pygc_value_incref(v);
  pygc_value_decref(H, *slot);
  *slot = v;
}

/* collect edges into an array */
typedef struct edge_log {
  pygc_edge e[16];
  int n;
} edge_log;
static int log_edge(const pygc_edge *e, void *arg) {
  edge_log *l = arg;
  if (l->n < 16) l->e[l->n] = *e;
  l->n++;
  return 0;
}
static int count_slot(pygc_value *slot, void *arg) {
  (void)slot;
  (*(int *)arg)++;
  return 0;
}
typedef struct found {
  pygc_object *objs[8];
  int n;
} found;
static int gather(pygc_object *o, void *arg) {
  found *f = arg;
  if (f->n < 8) f->objs[f->n] = o;
  f->n++;
  return 0;
}

static void test_host_type_seen_by_every_walk(void) {
  open_heap();
  node *a = new_node(&node_type);
  pygc_object *l = pygc_list_new(H, 0);
  pygc_object *s = pygc_str_new(H, "hello", 5);
  node_set(&a->left, pygc_obj(l));
  node_set(&a->tag, pygc_obj(s));
  /* the node now holds the only references besides ours: drop ours */
  pygc_decref(H, l);
  pygc_decref(H, s);

  /* get_referents */
  int n = 0;
  pygc_referents(&a->h, count_slot, &n);
  CHECK_EQ(n, 2);

  /* get_referrers of the list and of the string finds the node */
  found f = {{0}, 0};
  pygc_value t = pygc_obj(l);
  CHECK_EQ(pygc_get_referrers(H, &t, 1, gather, &f), 1);
  CHECK(f.objs[0] == &a->h);
  f.n = 0;
  t = pygc_obj(pygc_str_new(H, "hello", 5)); /* equal str, same interned object */
  CHECK_EQ(pygc_get_referrers(H, &t, 1, gather, &f), 1);
  pygc_value_decref(H, t);

  /* the exact verifier balances the list and the string only if it sees
   * the node's references to them */
  VERIFY();
  CHECK(pygc_heap_verify_refs(H, NULL, NULL, vmsg, sizeof vmsg) != 0); /* we hold the node */
  CHECK(strstr(vmsg, "Node") != NULL);

  /* labelled edges: slot names from slot_name, in traverse order */
  static edge_log lg;
  lg.n = 0;
  CHECK_EQ(pygc_edges(H, &a->h, PYGC_EDGE_ALL, log_edge, &lg), 0);
  CHECK_EQ(lg.n, 2);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_SLOT);
  CHECK_EQ(lg.e[0].kind, PYGC_EDGE_CYCLE);
  CHECK_EQ(lg.e[0].index, 0);
  CHECK(lg.e[0].name && strcmp(lg.e[0].name, "left") == 0);
  CHECK(lg.e[0].child.tag == PYGC_TOBJ && lg.e[0].child.u.o == l);
  CHECK(lg.e[1].name && strcmp(lg.e[1].name, "tag") == 0);
  CHECK_EQ(lg.e[1].index, 1);
  CHECK(lg.e[1].child.u.o == s);

  /* without slot_name: labelled by order, no name */
  node *b = new_node(&anon_type);
  node_set(&b->right, pygc_obj(&a->h));
  lg.n = 0;
  pygc_edges(H, &b->h, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 1);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_SLOT);
  CHECK(lg.e[0].name == NULL);
  CHECK(lg.e[0].child.u.o == &a->h);

  /* the collector sees the edges too: a cycle through two nodes and a list */
  node_set(&a->right, pygc_obj(&b->h));
  pygc_decref(H, &b->h);
  pygc_decref(H, &a->h);
  VERIFY();
  CHECK_EQ(pygc_collect(H, 2), 3); /* a, b, the list; the str is not tracked */
  close_heap();
}

static void test_builtin_labels_and_kinds(void) {
  open_heap();
  pygc_object *cls = pygc_class_new(H, "C", 1, 0);
  pygc_object *in = pygc_instance_new(H, cls);
  pygc_setattr(H, in, "x", 1, pygc_int(7));
  pygc_object *l = pygc_list_new(H, 0);
  pygc_list_append(H, l, pygc_int(1));
  pygc_list_append(H, l, pygc_obj(in));
  pygc_setattr(H, in, "me", 2, pygc_obj(l));
  pygc_object *d = pygc_dict_new(H);
  pygc_object *k = pygc_str_new(H, "key", 3);
  pygc_dict_set(H, d, pygc_obj(k), pygc_obj(l));

  static edge_log lg;
  lg.n = 0;
  pygc_edges(H, l, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 2);
  CHECK_EQ(lg.e[0].kind, PYGC_EDGE_VALUE);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_INDEX);
  CHECK_EQ(lg.e[1].kind, PYGC_EDGE_CYCLE);
  CHECK_EQ(lg.e[1].index, 1);
  lg.n = 0;
  pygc_edges(H, l, PYGC_EDGE_CYCLE, log_edge, &lg); /* only references */
  CHECK_EQ(lg.n, 1);

  /* instance: class (a reference: classes are collectable), then per
   * attribute its name (owned) and value */
  lg.n = 0;
  pygc_edges(H, in, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 5);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_CLASS);
  CHECK_EQ(lg.e[0].kind, PYGC_EDGE_CYCLE);
  CHECK(lg.e[0].child.u.o == cls);
  CHECK_EQ(lg.e[1].label, PYGC_LABEL_ATTR_NAME);
  CHECK_EQ(lg.e[1].kind, PYGC_EDGE_OWNED);
  CHECK_EQ(lg.e[2].label, PYGC_LABEL_ATTR);
  CHECK_EQ(lg.e[2].kind, PYGC_EDGE_VALUE);
  CHECK(strcmp(pygc_str_data(lg.e[2].key.u.o, NULL), "x") == 0);
  CHECK_EQ(lg.e[4].label, PYGC_LABEL_ATTR);
  CHECK(lg.e[4].child.u.o == l);
  CHECK(strcmp(pygc_str_data(lg.e[4].key.u.o, NULL), "me") == 0);
  lg.n = 0;
  pygc_edges(H, in, PYGC_EDGE_OWNED, log_edge, &lg);
  CHECK_EQ(lg.n, 2);

  /* get_referents is CYCLE | VALUE: the class and the attribute values
   * (CPython's heap-type instances visit their type too) */
  int n = 0;
  pygc_referents(in, count_slot, &n);
  CHECK_EQ(n, 3);
  /* traverse is CYCLE: the class and the one object value */
  n = 0;
  pygc_traverse(in, count_slot, &n);
  CHECK_EQ(n, 2);

  /* dict: the key itself, then the value under it */
  lg.n = 0;
  pygc_edges(H, d, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 2);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_DICT_KEY);
  CHECK(lg.e[0].child.u.o == k);
  CHECK_EQ(lg.e[1].label, PYGC_LABEL_DICT_VALUE);
  CHECK(lg.e[1].key.u.o == k && lg.e[1].child.u.o == l);

  /* class: its name, then the attribute names its instances share, owned */
  lg.n = 0;
  pygc_edges(H, cls, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 3);
  CHECK_EQ(lg.e[0].label, PYGC_LABEL_CLASS_NAME);
  CHECK(strcmp(pygc_str_data(lg.e[0].child.u.o, NULL), "C") == 0);
  CHECK_EQ(lg.e[1].label, PYGC_LABEL_ATTR_NAME);
  CHECK_EQ(lg.e[1].kind, PYGC_EDGE_OWNED);
  CHECK(strcmp(pygc_str_data(lg.e[1].child.u.o, NULL), "x") == 0);
  CHECK(strcmp(pygc_str_data(lg.e[2].child.u.o, NULL), "me") == 0);
  /* a str has none */
  lg.n = 0;
  pygc_edges(H, k, PYGC_EDGE_ALL, log_edge, &lg);
  CHECK_EQ(lg.n, 0);
  /* a visitor's non-zero answer stops the walk and is returned */
  CHECK_EQ(pygc_edges(H, in, PYGC_EDGE_ALL, NULL, NULL), 0); /* no fn: nothing */

  /* the exact verifier counts the owned edges: balanced with our roots */
  VERIFY();
  pygc_decref(H, k);
  pygc_decref(H, d);
  pygc_decref(H, l);
  pygc_decref(H, in);
  pygc_decref(H, cls);
  CHECK_EQ(pygc_collect(H, 2), 3); /* the instance-list cycle, and the class only it held */
  CHECK(pygc_heap_verify_refs(H, NULL, NULL, vmsg, sizeof vmsg) == 0);
  close_heap();
}

static int stop_at_second(const pygc_edge *e, void *arg) {
  (void)e;
  return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_edges_stop(void) {
  open_heap();
  pygc_value items[3] = {pygc_int(1), pygc_int(2), pygc_int(3)};
  pygc_object *t = pygc_tuple_new(H, 3, items);
  int calls = 0;
  CHECK_EQ(pygc_edges(H, t, PYGC_EDGE_ALL, stop_at_second, &calls), 42);
  CHECK_EQ(calls, 2);
  pygc_decref(H, t);
  close_heap();
}

int main(void) {
  RUN(test_host_type_seen_by_every_walk);
  RUN(test_builtin_labels_and_kinds);
  RUN(test_edges_stop);
  return ct_summary();
}
