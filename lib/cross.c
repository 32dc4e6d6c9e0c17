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
 *             host's own handles (one reference per object with `held`)
 *             refer to, directly or through each other: nothing the heap
 *             cannot see (a C reference, a frozen or untracked object)
 *             keeps them alive;
 *   the set   the unrooted objects that reach, through unrooted objects,
 *             a "leaf" (an object with `leaf`: one that holds a value of
 *             the other heap), leaves included.
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

intptr_t pygc_cross_set(pygc_heap *h, unsigned held, unsigned leaf, unsigned mark,
                        int (*fn)(pygc_object *o, void *arg), void *arg) {
  if (h->collecting) return -1;
  size_t n = 0, leaves = 0;
  FOR_EACH_CANDIDATE(h, o) {
    n++;
    if (o->flags & leaf) leaves++;
  }
  if (leaves == 0) return 0; /* nothing of the other heap is held: nothing to mirror */

  /* 1. what each candidate's references leave unexplained (update_refs,
   * subtract_refs), counting one reference per held object as explained */
  FOR_EACH_CANDIDATE(h, o) {
    o->gc_refs = o->refcnt == REFCNT_MAX ? INTPTR_MAX / 2 : (intptr_t)o->refcnt;
    if (o->flags & held) o->gc_refs--;
    o->flags |= F_COLLECTING;
  }
  FOR_EACH_CANDIDATE(h, o) pygc_traverse(o, dec_child, NULL);

  /* 2. everything reachable from an unexplained reference is rooted */
  cross_walk w = {pygc_mem_alloc(h, (n ? n : 1) * sizeof(pygc_object *)), 0};
  intptr_t result = -1;
  size_t *off = NULL, *par = NULL, *queue = NULL, nedges = 0, nun = 0;
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
  FOR_EACH_CANDIDATE(h, o) {
    if (!(o->flags & F_MARK)) {
      o->gc_refs = (intptr_t)nun;
      un[nun++] = o;
    }
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
  for (size_t i = 0; i < nun; i++) {
    if (!in[i]) continue;
    un[i]->flags |= mark;
    found++;
  }
  /* 6. the scratch goes before the host sees anything */
  cross_restore(h);
  for (size_t i = 0; i < nun; i++)
    if (in[i]) fn(un[i], arg);
  result = (intptr_t)found;

done:
  if (result < 0) {
    cross_restore(h);
  }
  if (queue) pygc_mem_free(h, queue, (nun ? nun : 1) * sizeof(size_t));
  if (in) pygc_mem_free(h, in, nun ? nun : 1);
  if (par) pygc_mem_free(h, par, (nedges ? nedges : 1) * sizeof(size_t));
  if (off) pygc_mem_free(h, off, (nun + 1) * sizeof(size_t));
  if (w.stack) pygc_mem_free(h, w.stack, (n ? n : 1) * sizeof(pygc_object *));
  return result;
}
