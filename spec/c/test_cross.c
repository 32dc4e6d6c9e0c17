/* test_cross.c -- pygc_cross_set against a model, on random graphs.
 *
 * Lists are the objects; some carry a "leaf" flag (they stand for the
 * host's Lua values), some are "held" (one reference is the host's
 * handle), some are rooted by a plain C reference.  The test computes,
 * independently, the set pygc_cross_set must return -- tracked objects
 * that only tracked objects and handles refer to, directly or through each
 * other, and that reach a leaf through such objects -- and checks:
 *   - the set, and the mark flag, are exactly that;
 *   - every held object and every leaf of the set is a node of the
 *     condensed graph, and nodes are numbered 1..k once each;
 *   - for every two nodes a != b: a reaches b through set objects exactly
 *     when a reaches b through the condensed edges (what the host's mirror
 *     relies on: a keeper keeps another alive exactly when the heap does).
 * The heap is verified after every call, and left as it was found. */
#include "ct_heap.h"
#include "pygc.h"

#include <stdint.h>
#include <stdlib.h>

#define LEAF PYGC_FLAG_HOST3
#define HELD PYGC_FLAG_HOST2
#define MARK PYGC_FLAG_HOST4
#define MAXN 40


static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

typedef struct graph {
  size_t n;
  pygc_object *o[MAXN];
  int adj[MAXN][MAXN]; /* edge count i -> j */
  int held[MAXN], rooted[MAXN], leaf[MAXN];
  /* what pygc_cross_set told */
  size_t node[MAXN];
  int seen[MAXN];
  int cadj[MAXN + 1][MAXN + 1]; /* condensed edges, by node number */
  size_t maxnode, calls;
  int bad_edge;
} graph;

static int index_of(const graph *g, const pygc_object *o) {
  for (size_t i = 0; i < g->n; i++)
    if (g->o[i] == o) return (int)i;
  return -1;
}

static uint32_t held_fn(const pygc_object *o, void *arg) {
  graph *g = arg;
  int i = index_of(g, o);
  return i >= 0 && g->held[i] ? 1 : 0;
}

static int fn(pygc_object *o, size_t node, void *arg) {
  graph *g = arg;
  int i = index_of(g, o);
  if (i < 0) return 0;
  g->seen[i]++;
  g->node[i] = node;
  if (node > g->maxnode) g->maxnode = node;
  g->calls++;
  return 0;
}

static int edge_fn(size_t from, size_t to, void *arg) {
  graph *g = arg;
  if (from >= MAXN || to >= MAXN) {
    g->bad_edge = 1;
    return 0;
  }
  g->cadj[from + 1][to + 1] = 1;
  return 0;
}

/* reach[i][j]: i reaches j by a path of length >= 1 whose every object
 * (i and j included) has ok[] set */
static void closure(size_t n, int adj[][MAXN], const int *ok, int reach[][MAXN]) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) reach[i][j] = ok[i] && ok[j] && adj[i][j] > 0;
  for (size_t k = 0; k < n; k++)
    for (size_t i = 0; i < n; i++)
      if (reach[i][k])
        for (size_t j = 0; j < n; j++)
          if (reach[k][j]) reach[i][j] = 1;
}

/* cls: object 0 is a class with a live instance (rooted, as the host's
 * classes holding methods are); 2: and every leaf is referred to only by
 * it (methods), the shape cross_set answers without a search */
static void one_graph(size_t n, unsigned density, int chains, int cls) {
  static graph g;
  memset(&g, 0, sizeof g);
  g.n = n;
  pygc_object *inst = NULL;
  for (size_t i = 0; i < n; i++) {
    if (cls && i == 0) {
      g.o[0] = pygc_class_new(H, "C", 1, 0);
      CHECK(g.o[0] != NULL);
      inst = pygc_instance_new(H, g.o[0]);
      CHECK(inst != NULL);
      g.rooted[0] = 1;
      continue;
    }
    g.o[i] = pygc_list_new(H, 0);
    CHECK(g.o[i] != NULL);
    g.leaf[i] = rnd(6) == 0;
    g.held[i] = rnd(5) == 0;
    g.rooted[i] = !g.held[i] && rnd(12) == 0; /* one creation reference: a handle or C's */
    if (g.leaf[i]) g.o[i]->flags |= LEAF;
  }
  /* edges: random, or mostly rings and chains of single parents (the
   * shapes the condensation merges) */
  for (size_t i = 0; i < n; i++) {
    if (chains) {
      if (i + 1 < n && rnd(8) != 0) g.adj[i][i + 1]++;
      if (rnd(6) == 0) g.adj[i][rnd((unsigned)n)]++;
    } else {
      for (size_t j = 0; j < n; j++)
        if (rnd(100) < density) g.adj[i][j]++;
    }
  }
  if (cls == 2)
    for (size_t j = 1; j < n; j++)
      if (g.leaf[j]) {
        for (size_t i = 0; i < n; i++) g.adj[i][j] = 0;
        g.adj[0][j] = 1 + (int)rnd(2);
        g.held[j] = 0;
        if (g.rooted[j] && rnd(2)) g.rooted[j] = 0;
      }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      for (int k = 0; k < g.adj[i][j]; k++) {
        if (cls && i == 0) {
          char name[16];
          int len = snprintf(name, sizeof name, "a%zu_%d", j, k);
          CHECK_EQ(pygc_setattr(H, g.o[0], name, (size_t)len, pygc_obj(g.o[j])), PYGC_OK);
        } else {
          pygc_list_append(H, g.o[i], pygc_obj(g.o[j]));
        }
      }
  /* the creation reference stays for held (the handle's) and rooted
   * objects; the others are held by the graph alone */
  for (size_t i = 0; i < n; i++)
    if (!g.held[i] && !g.rooted[i]) pygc_decref(H, g.o[i]);
  int alive[MAXN];
  for (size_t i = 0; i < n; i++) alive[i] = 0;
  /* what survives is what held or rooted objects reach (the collection
   * frees the garbage cycles) */
  pygc_collect(H, 2);
  {
    int reach[MAXN][MAXN], all[MAXN];
    for (size_t i = 0; i < n; i++) all[i] = 1;
    closure(n, g.adj, all, reach);
    for (size_t i = 0; i < n; i++) {
      if (!(g.held[i] || g.rooted[i])) continue;
      alive[i] = 1;
      for (size_t j = 0; j < n; j++)
        if (reach[i][j]) alive[j] = 1;
    }
  }
  /* drop the dead from the model (they are freed) */
  for (size_t i = 0; i < n; i++)
    if (!alive[i]) {
      g.o[i] = NULL;
      for (size_t j = 0; j < n; j++) g.adj[i][j] = g.adj[j][i] = 0;
    }
  /* the model: unrooted = alive, not rooted, and not reachable from a
   * rooted object */
  int unrooted[MAXN], inset[MAXN];
  {
    int reach[MAXN][MAXN];
    closure(n, g.adj, alive, reach);
    for (size_t i = 0; i < n; i++) unrooted[i] = alive[i] && !g.rooted[i];
    for (size_t r = 0; r < n; r++)
      if (alive[r] && g.rooted[r])
        for (size_t j = 0; j < n; j++)
          if (reach[r][j]) unrooted[j] = 0;
    int ureach[MAXN][MAXN];
    closure(n, g.adj, unrooted, ureach);
    for (size_t i = 0; i < n; i++) {
      inset[i] = unrooted[i] && g.leaf[i];
      for (size_t j = 0; j < n && unrooted[i] && !inset[i]; j++)
        if (ureach[i][j] && g.leaf[j]) inset[i] = 1;
    }
  }
  size_t expect = 0;
  for (size_t i = 0; i < n; i++) expect += (size_t)inset[i];
  intptr_t got = pygc_cross_set(H, held_fn, LEAF, MARK, fn, edge_fn, &g);
  size_t leaves = 0;
  for (size_t i = 0; i < n; i++) leaves += alive[i] && g.leaf[i];
  CHECK_EQ(got, (intptr_t)(leaves ? expect : 0));
  if (getenv("XDEBUG") && got != (intptr_t)(leaves ? expect : 0)) {
    for (size_t i = 0; i < n; i++) {
      if (!alive[i]) continue;
      fprintf(stderr, "%zu: held %d rooted %d leaf %d unrooted %d inset %d seen %d rc %u ->", i, g.held[i], g.rooted[i], g.leaf[i], unrooted[i], inset[i], g.seen[i], g.o[i]->refcnt);
      for (size_t j = 0; j < n; j++) if (g.adj[i][j]) fprintf(stderr, " %zu", j);
      fprintf(stderr, "\n");
    }
    exit(1);
  }
  CHECK(!g.bad_edge);
  CHECK_EQ(g.calls, got > 0 ? (size_t)got : 0);
  for (size_t i = 0; i < n; i++) {
    if (!alive[i]) continue;
    CHECK_EQ(g.seen[i], inset[i] && leaves ? 1 : 0);
    CHECK_EQ(!!(g.o[i]->flags & MARK), inset[i] && leaves);
    if (inset[i] && (g.held[i] || g.leaf[i])) CHECK(g.node[i] != 0);
  }
  /* node numbers: 1..maxnode, each once */
  int used[MAXN + 1] = {0};
  for (size_t i = 0; i < n; i++)
    if (alive[i] && g.node[i]) used[g.node[i]]++;
  for (size_t k = 1; k <= g.maxnode; k++) CHECK_EQ(used[k], 1);
  /* reachability among nodes: through set objects == through edges */
  int sreach[MAXN][MAXN];
  closure(n, g.adj, inset, sreach);
  int creach[MAXN + 1][MAXN + 1];
  for (size_t a = 0; a <= g.maxnode; a++)
    for (size_t b = 0; b <= g.maxnode; b++) creach[a][b] = g.cadj[a][b];
  for (size_t k = 1; k <= g.maxnode; k++)
    for (size_t a = 1; a <= g.maxnode; a++)
      if (creach[a][k])
        for (size_t b = 1; b <= g.maxnode; b++)
          if (creach[k][b]) creach[a][b] = 1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (i == j || !alive[i] || !alive[j] || !g.node[i] || !g.node[j]) continue;
      if (sreach[i][j] != creach[g.node[i]][g.node[j]]) {
        fprintf(stderr, "reach %zu->%zu: set %d, condensed %d\n", i, j, sreach[i][j],
                creach[g.node[i]][g.node[j]]);
        CHECK(0);
      }
    }
  /* clean up: clear the marks, drop our references, collect the rest */
  for (size_t i = 0; i < n; i++)
    if (alive[i]) g.o[i]->flags &= ~(MARK | LEAF);
  char msg[512];
  int bad = pygc_heap_verify(H, msg, sizeof msg);
  if (bad) fprintf(stderr, "verify: %s\n", msg);
  CHECK(!bad);
  for (size_t i = 0; i < n; i++)
    if (alive[i] && (g.held[i] || g.rooted[i])) pygc_decref(H, g.o[i]);
  if (inst) pygc_decref(H, inst);
  pygc_collect(H, 2);
}

static void test_random_graphs(void) {
  for (int round = 0; round < 400; round++) one_graph(2 + rnd(MAXN - 2), 2 + rnd(10), 0, 0);
}

static int count_fn(pygc_object *o, size_t node, void *arg);
static uint32_t held_one(const pygc_object *o, void *arg);

/* a class with live instances among the objects: with random edges, and
 * with methods only (every leaf referred to by the class alone) */
static void test_class_roots(void) {
  for (int round = 0; round < 300; round++) one_graph(2 + rnd(MAXN - 2), 2 + rnd(10), rnd(2), 1);
  for (int round = 0; round < 300; round++) one_graph(2 + rnd(MAXN - 2), 2 + rnd(10), rnd(2), 2);
}

/* The quick answer counts only a class's references to leaves the search
 * would see: a frozen leaf in a class, beside a leaf only an unrooted
 * cycle holds, still leaves that cycle in the set; so does a class with no
 * instances (not rooted) holding the only leaf. */
static void test_class_quick_answer_limits(void) {
  pygc_object *f = pygc_list_new(H, 0);
  CHECK(f != NULL);
  f->flags |= LEAF;
  pygc_freeze(H); /* f goes to the permanent generation */
  pygc_object *c = pygc_class_new(H, "K", 1, 0), *inst = pygc_instance_new(H, c);
  pygc_object *x = pygc_list_new(H, 0), *b = pygc_list_new(H, 0);
  CHECK(c && inst && x && b);
  b->flags |= LEAF;
  CHECK_EQ(pygc_setattr(H, c, "m", 1, pygc_obj(f)), PYGC_OK);
  pygc_decref(H, f);
  pygc_list_append(H, x, pygc_obj(b));
  pygc_list_append(H, b, pygc_obj(x));
  pygc_decref(H, b);
  x->flags |= HELD; /* x's creation reference is its "handle" */
  size_t calls = 0;
  CHECK_EQ(pygc_cross_set(H, held_one, LEAF, MARK, count_fn, NULL, &calls), (intptr_t)2);
  CHECK_EQ(calls, (size_t)2);
  x->flags &= ~MARK;
  b->flags &= ~MARK;
  pygc_unfreeze(H);
  /* now f is a candidate the class refers to once; b is still unrooted */
  calls = 0;
  CHECK_EQ(pygc_cross_set(H, held_one, LEAF, MARK, count_fn, NULL, &calls), (intptr_t)2);
  x->flags &= ~MARK;
  b->flags &= ~MARK;
  /* a class with no instances roots nothing */
  pygc_object *c2 = pygc_class_new(H, "L", 1, 0), *g2 = pygc_list_new(H, 0);
  CHECK(c2 && g2);
  g2->flags |= LEAF;
  CHECK_EQ(pygc_setattr(H, c2, "m", 1, pygc_obj(g2)), PYGC_OK);
  pygc_decref(H, g2);
  c2->flags |= HELD;
  calls = 0;
  CHECK_EQ(pygc_cross_set(H, held_one, LEAF, MARK, count_fn, NULL, &calls), (intptr_t)4);
  for (pygc_object *o2[] = {x, b, c2, g2}, **p = o2; p < o2 + 4; p++) (*p)->flags &= ~(MARK | LEAF | HELD);
  f->flags &= ~LEAF;
  char msg[512];
  CHECK(!pygc_heap_verify(H, msg, sizeof msg));
  pygc_decref(H, c2);
  pygc_decref(H, x);
  pygc_decref(H, inst);
  pygc_decref(H, c);
  pygc_collect(H, 2);
}

static void test_rings_and_chains(void) {
  for (int round = 0; round < 400; round++) one_graph(2 + rnd(MAXN - 2), 0, 1, 0);
}

/* A memory error anywhere in pygc_cross_set returns -1 and leaves the heap
 * as it was: no object carries the mark (the host holds no reference to
 * it, so a collection that trusted the mark would count one too many),
 * fn is never called. */
static int count_fn(pygc_object *o, size_t node, void *arg) {
  (void)o, (void)node;
  ++*(size_t *)arg;
  return 0;
}

static uint32_t held_one(const pygc_object *o, void *arg) {
  (void)arg;
  return (o->flags & HELD) ? 1 : 0;
}

static void test_memory_errors(void) {
  /* a ring of 12 lists, every third a leaf, the first held, plus a chain */
  enum { N = 12 };
  pygc_object *o[N];
  CHECK(pygc_heap_use_pools(H, 0)); /* fail blocks one by one, not pages */
  for (int i = 0; i < N; i++) {
    o[i] = pygc_list_new(H, 0);
    CHECK(o[i] != NULL);
    if (i % 3 == 2) o[i]->flags |= LEAF;
  }
  for (int i = 0; i < N; i++) pygc_list_append(H, o[i], pygc_obj(o[(i + 1) % N]));
  pygc_list_append(H, o[4], pygc_obj(o[9]));
  o[0]->flags |= HELD;
  for (int i = 1; i < N; i++) pygc_decref(H, o[i]); /* o[0]'s creation reference is the "handle" */
  int ok = 0;
  for (long k = 1; k < 200 && !ok; k++) {
    size_t calls = 0;
    A.fail_at = A.count + k;
    intptr_t got = pygc_cross_set(H, held_one, LEAF, MARK, count_fn, NULL, &calls);
    A.fail_at = 0;
    if (got >= 0) {
      ok = 1;
      CHECK_EQ(got, (intptr_t)N);
      CHECK_EQ(calls, (size_t)N);
      for (int i = 0; i < N; i++) CHECK(o[i]->flags & MARK);
    } else {
      CHECK_EQ(calls, (size_t)0);
      int marked = 0;
      for (int i = 0; i < N; i++) marked += (o[i]->flags & MARK) != 0;
      CHECK_EQ(marked, 0);
    }
    for (int i = 0; i < N; i++) o[i]->flags &= ~MARK;
    char msg[512];
    int bad = pygc_heap_verify(H, msg, sizeof msg);
    if (bad) fprintf(stderr, "verify after k=%ld: %s\n", k, msg);
    CHECK(!bad);
  }
  CHECK(ok);
  for (int i = 0; i < N; i++) o[i]->flags &= ~(LEAF | HELD);
  pygc_decref(H, o[0]);
  pygc_collect(H, 2);
  CHECK(pygc_heap_use_pools(H, 1));
}

int main(void) {
  memset(&A, 0, sizeof A);
  H = pygc_heap_new(ct_allocf, &A, 1);
  RUN(test_random_graphs);
  RUN(test_rings_and_chains);
  RUN(test_memory_errors);
  RUN(test_class_roots);
  RUN(test_class_quick_answer_limits);
  int bad = pygc_heap_verify(H, vmsg, sizeof vmsg);
  if (bad) fprintf(stderr, "verify: %s\n", vmsg);
  CHECK(!bad);
  pygc_heap_free(H);
  CHECK_EQ(A.live_blocks, 0);
  return ct_summary();
}
