/*
 * cross.c -- the heap's half of a collection across two heaps.
 *
 * A host whose objects live in another collector's heap too (the Lua
 * binding: handles are Lua userdata, and Lua values live in this heap
 * through objects of the binding's own types) has cycles that run through
 * both heaps.  Neither collector alone can free them: the other heap's
 * references look like roots to each.  pygc_cross_set finds the part of
 * this heap such a cycle can run through:
 *
 *   unrooted  the tracked objects that only other tracked objects and the
 *             host's own handles (held(o) references of each) refer to, directly or through each other: nothing the heap
 *             cannot see (a C reference, a frozen or untracked object)
 *             keeps them alive;
 *   the set   the unrooted objects that reach, through unrooted objects,
 *             a "leaf" (an object with `leaf`: one that holds a value of
 *             the other heap), leaves included.
 *
 * Classes with live instances count as rooted (see below).
 *
 * The host mirrors the set into the other collector and lets it judge
 * reachability there (binding/luavalues.c); whatever it then releases is
 * freed by refcounting or the next collection as usual.  Nothing here runs
 * host code, and the heap is left as it was found, but for `mark`.
 *
 * The walk uses the collector's scratch: gc_refs (in gc_prev's word) and F_COLLECTING mark the
 * candidates, F_MARK the ones found rooted; both are cleared before return.
 */
#include "pygc_int.h"

#include <string.h>

typedef struct cross_walk {
  pygc_object **stack;
  size_t n;
} cross_walk;

static int dec_child(pygc_value *slot, void *arg) {
  (void)arg;
  pygc_object *c = slot->u.o;
  if (c->flags & F_COLLECTING) c->gc_refs--;
  return 0;
}

static int mark_child(pygc_value *slot, void *arg) {
  cross_walk *w = arg;
  pygc_object *c = slot->u.o;
  if ((c->flags & (F_COLLECTING | F_MARK)) == F_COLLECTING) {
    c->flags |= F_MARK;
    w->stack[w->n++] = c;
  }
  return 0;
}

/* pass 0's count: a class's references to candidate leaves */
struct class_leaves {
  unsigned leaf;
  size_t n;
};

static int count_leaf_child(pygc_value *slot, void *arg) {
  struct class_leaves *cl = arg;
  const pygc_object *c = slot->u.o;
  if ((c->flags & cl->leaf) && (c->flags & (F_TRACKED | F_FROZEN)) == F_TRACKED) cl->n++;
  return 0;
}

/* reverse edges among the unrooted: gc_refs holds each one's index */
typedef struct cross_rev {
  size_t *off;    /* per child: where its parents start in `par` */
  size_t *par;    /* parent indices */
  size_t parent;  /* the object being traversed */
  int counting;   /* first pass counts, second fills */
} cross_rev;

static int rev_child(pygc_value *slot, void *arg) {
  cross_rev *r = arg;
  pygc_object *c = slot->u.o;
  if ((c->flags & (F_COLLECTING | F_MARK)) != F_COLLECTING) return 0;
  size_t ci = (size_t)c->gc_refs;
  if (r->counting)
    r->off[ci + 1]++;
  else
    r->par[r->off[ci]++] = r->parent;
  return 0;
}

static gc_head *cross_lists(pygc_heap *h, int i) {
  switch (i) {
  case 0: return &h->gen[0].head;
  case 1: return &h->gen[1].head;
  case 2: return &h->gen[2].head;
  case 3: return &h->visited;
  default: return NULL;
  }
}

#define FOR_EACH_CANDIDATE(h, o)                                                                                   \
  for (int li_ = 0; li_ < 4; li_++)                                                                                \
    for (pygc_object *o = cross_lists(h, li_)->gc_next, *end_ = cross_lists(h, li_); o != end_; o = o->gc_next)

/* gc_refs shares its word with gc_prev: the walk below moves no object
 * and follows forward links only; this puts the back links and the flags
 * back before anything else sees the lists */
static void cross_restore(pygc_heap *h) {
  for (int i = 0; i < 4; i++) {
    gc_head *l = cross_lists(h, i);
    pygc_object *prev = l;
    for (pygc_object *o = l->gc_next; o != l; prev = o, o = o->gc_next) {
      o->flags &= ~(F_COLLECTING | F_MARK);
      o->gc_prev = prev;
    }
  }
}

/* the children inside the set of a node's class (see step 6) */
typedef struct cross_edges {
  const unsigned char *in;   /* in the set */
  const size_t *node;        /* node number + 1, or 0 */
  size_t from;               /* the node whose class is being walked */
  size_t *pairs, n, cap;     /* (from, to) pairs */
  pygc_heap *h;
  int failed;
} cross_edges;

static int edge_child(pygc_value *slot, void *arg) {
  cross_edges *e = arg;
  pygc_object *c = slot->u.o;
  if ((c->flags & (F_COLLECTING | F_MARK)) != F_COLLECTING) return 0;
  size_t ci = (size_t)c->gc_refs;
  if (!e->in[ci] || e->node[ci] == 0 || e->node[ci] - 1 == e->from) return 0;
  if (e->n + 2 > e->cap) {
    size_t ncap = e->cap ? e->cap * 2 : 256;
    size_t *np = pygc_mem_realloc(e->h, e->pairs, e->cap * sizeof *np, ncap * sizeof *np);
    if (np == NULL) {
      e->failed = 1;
      return 1;
    }
    e->pairs = np;
    e->cap = ncap;
  }
  e->pairs[e->n++] = e->from;
  e->pairs[e->n++] = e->node[ci] - 1;
  return 0;
}

/* step 6: the first parent of unrooted object j that is in the set, or
 * SIZE_MAX (off[j] ends j's parents in par; they start at off[j - 1]) */
static inline size_t set_parent(const size_t *off, const size_t *par, const unsigned char *in, size_t j) {
  for (size_t k = j ? off[j - 1] : 0; k < off[j]; k++)
    if (in[par[k]]) return par[k];
  return SIZE_MAX;
}

intptr_t pygc_cross_set(pygc_heap *h, uint32_t (*held)(const pygc_object *o, void *arg), unsigned leaf,
                        unsigned mark, int (*fn)(pygc_object *o, size_t node, void *arg),
                        int (*edge)(size_t from, size_t to, void *arg), void *arg) {
  if (h->collecting) return -1;
  size_t n = 0, leaves = 0;

  /* 0. the common case, read-only: every reference to every leaf comes
   * from a class with live instances (the host's methods), so every leaf
   * is rooted and the set is empty.  A leaf's references are at least the
   * rooted classes' edges to it, so equal sums mean equal counts per leaf;
   * a live leaf has a reference, hence one from a rooted class.  Any
   * other reference to a leaf (a handle's included) sends us to the
   * search, which may still find every leaf rooted. */
  {
    size_t need = 0, from_classes = 0;
    struct class_leaves cl = {leaf, 0};
    FOR_EACH_CANDIDATE(h, o) {
      if (o->flags & leaf) {
        need += o->refcnt;
      } else if (o->type == &pygc_class_type && ((const class_obj *)o)->ninstances) {
        cl.n = 0;
        pygc_traverse(o, count_leaf_child, &cl);
        from_classes += cl.n;
      }
    }
    if (need == from_classes) return 0; /* no leaves at all, too */
  }

  /* 1. what each candidate's references leave unexplained (update_refs,
   * subtract_refs), counting the host's handles as explained */
  FOR_EACH_CANDIDATE(h, o) {
    n++;
    if (o->flags & leaf) leaves++;
    o->gc_refs = o->refcnt == REFCNT_MAX ? INTPTR_MAX / 2 : (intptr_t)o->refcnt;
    /* a class with live instances is rooted here: every instance refers
     * to its class, and a host keeps methods (values of the other heap)
     * in it, so such a class in the set would bring all its instances
     * into the set, a mirror of most of the heap at every collection of
     * both heaps.  It cannot die before its instances anyway; once they
     * are gone it is a candidate like any object (a class whose methods
     * hold its handle is freed then).  What is left out: a cycle through
     * the other heap that runs through a class and one of its live
     * instances (a method holding an instance's handle). */
    if (o->type == &pygc_class_type && ((const class_obj *)o)->ninstances) o->gc_refs = INTPTR_MAX / 2;
    else if (held) o->gc_refs -= (intptr_t)held(o, arg);
    o->flags |= F_COLLECTING;
  }
  if (leaves == 0) { /* nothing of the other heap is held: nothing to mirror */
    cross_restore(h);
    return 0;
  }
  FOR_EACH_CANDIDATE(h, o) pygc_traverse(o, dec_child, NULL);

  /* 2. everything reachable from an unexplained reference is rooted */
  cross_walk w = {pygc_mem_alloc(h, (n ? n : 1) * sizeof(pygc_object *)), 0};
  intptr_t result = -1;
  size_t *off = NULL, *par = NULL, *queue = NULL, *rep = NULL, nedges = 0, nun = 0;
  pygc_object **un = NULL;
  unsigned char *in = NULL;
  if (w.stack == NULL) goto done;
  FOR_EACH_CANDIDATE(h, o) {
    if (o->gc_refs > 0 && !(o->flags & F_MARK)) {
      o->flags |= F_MARK;
      w.stack[w.n++] = o;
      while (w.n) pygc_traverse(w.stack[--w.n], mark_child, &w);
    }
  }

  /* 3. number the unrooted (the stack's room is free again) */
  un = w.stack;
  size_t free_leaves = 0;
  FOR_EACH_CANDIDATE(h, o) {
    if (!(o->flags & F_MARK)) {
      o->gc_refs = (intptr_t)nun;
      un[nun++] = o;
      if (o->flags & leaf) free_leaves++;
    }
  }
  /* every leaf rooted (the common case when the only values of the other
   * heap are methods of classes that have instances): nothing to mirror */
  if (free_leaves == 0) {
    cross_restore(h);
    result = 0;
    goto done;
  }

  /* 4. who among the unrooted refers to whom, backwards */
  off = pygc_mem_alloc(h, (nun + 1) * sizeof(size_t));
  if (off == NULL) goto done;
  memset(off, 0, (nun + 1) * sizeof(size_t));
  cross_rev r = {off, NULL, 0, 1};
  for (size_t i = 0; i < nun; i++) pygc_traverse(un[i], rev_child, &r);
  for (size_t i = 0; i < nun; i++) off[i + 1] += off[i];
  nedges = off[nun];
  par = pygc_mem_alloc(h, (nedges ? nedges : 1) * sizeof(size_t));
  in = pygc_mem_alloc(h, nun ? nun : 1);
  queue = pygc_mem_alloc(h, (nun ? nun : 1) * sizeof(size_t));
  if (par == NULL || in == NULL || queue == NULL) goto done;
  r.par = par;
  r.counting = 0;
  for (size_t i = 0; i < nun; i++) {
    r.parent = i;
    pygc_traverse(un[i], rev_child, &r);
  }
  /* off[i] now ends child i's parents; they start at off[i - 1] */

  /* 5. from the leaves back to everything that reaches one */
  memset(in, 0, nun ? nun : 1);
  size_t qn = 0, found = 0;
  for (size_t i = 0; i < nun; i++)
    if (un[i]->flags & leaf) {
      in[i] = 1;
      queue[qn++] = i;
    }
  while (qn) {
    size_t c = queue[--qn];
    for (size_t k = c ? off[c - 1] : 0; k < off[c]; k++) {
      size_t p = par[k];
      if (!in[p]) {
        in[p] = 1;
        queue[qn++] = p;
      }
    }
  }
  for (size_t i = 0; i < nun; i++) found += in[i]; /* marked in step 7: a failure before leaves no mark */

  /* 6. the set's graph, condensed for the host's mirror.  Reachability
   * among the objects the host must see -- nodes: those with handles, the
   * leaves, and every object with other than exactly one parent in the
   * set -- is all the mirror needs.  Any other object has one parent, so
   * whoever reaches it reaches it through that parent: it joins the class
   * of its nearest node up the chain of single parents, and the class's
   * node gets an edge to every node a member of the class points to.  A
   * chain of single parents that closes on itself (a ring nothing else in
   * the set enters) makes one of its members a node.  Rings of objects
   * with one Lua value each thus cost one node per ring, not one per
   * object. */
  rep = pygc_mem_alloc(h, (nun ? nun : 1) * sizeof(size_t));
  if (rep == NULL) goto done;
  /* queue's room serves as each object's node number + 1 (0: not a node) */
  size_t *node = queue;
  const size_t NONE = SIZE_MAX, BUSY = SIZE_MAX - 1;
  for (size_t i = 0; i < nun; i++) {
    rep[i] = NONE;
    node[i] = 0;
    if (!in[i]) continue;
    size_t parents = 0;
    for (size_t k = i ? off[i - 1] : 0; k < off[i] && parents < 2; k++)
      if (in[par[k]]) parents++;
    if (parents != 1 || (un[i]->flags & leaf) || (held && held(un[i], arg) > 0)) rep[i] = i;
  }
  for (size_t i = 0; i < nun; i++) {
    if (!in[i] || rep[i] != NONE) continue;
    /* climb single parents until a known class, marking the path BUSY */
    size_t j = i, cls;
    for (;;) {
      if (rep[j] == BUSY) { /* a closed chain: j leads it (set below, with the ring) */
        cls = j;
        break;
      }
      if (rep[j] != NONE) {
        cls = rep[j];
        break;
      }
      rep[j] = BUSY;
      j = set_parent(off, par, in, j);
    }
    /* the path gets cls (classes are final once set), and all of a closed
     * chain, its leader included, when the climb ended in one */
    for (j = i; rep[j] == BUSY;) {
      rep[j] = cls;
      j = set_parent(off, par, in, j);
    }
  }
  size_t nodes = 0;
  for (size_t i = 0; i < nun; i++)
    if (in[i] && rep[i] == i) node[i] = ++nodes;
  cross_edges ce = {in, node, 0, NULL, 0, 0, h, 0};
  if (edge) {
    for (size_t i = 0; i < nun && !ce.failed; i++) {
      if (!in[i]) continue;
      ce.from = node[rep[i]] - 1;
      pygc_traverse(un[i], edge_child, &ce);
    }
    if (ce.failed) {
      pygc_mem_free(h, ce.pairs, ce.cap * sizeof(size_t));
      goto done;
    }
  }

  /* 7. the scratch goes before the host sees anything */
  cross_restore(h);
  for (size_t i = 0; i < nun; i++)
    if (in[i]) {
      un[i]->flags |= mark;
      fn(un[i], node[i], arg);
    }
  for (size_t k = 0; k + 1 < ce.n; k += 2) edge(ce.pairs[k], ce.pairs[k + 1], arg);
  if (ce.pairs) pygc_mem_free(h, ce.pairs, ce.cap * sizeof(size_t));
  result = (intptr_t)found;

done:
  if (result < 0) {
    cross_restore(h);
  }
  if (rep) pygc_mem_free(h, rep, (nun ? nun : 1) * sizeof(size_t));
  if (queue) pygc_mem_free(h, queue, (nun ? nun : 1) * sizeof(size_t));
  if (in) pygc_mem_free(h, in, nun ? nun : 1);
  if (par) pygc_mem_free(h, par, (nedges ? nedges : 1) * sizeof(size_t));
  if (off) pygc_mem_free(h, off, (nun + 1) * sizeof(size_t));
  if (w.stack) pygc_mem_free(h, w.stack, (n ? n : 1) * sizeof(pygc_object *));
  return result;
}
