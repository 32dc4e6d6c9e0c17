/*
 * introspect.c -- get_objects, get_referrers, and the heap verifier.
 *
 * Every walk here enumerates children with obj_visit (pygc_int.h), the
 * enumeration the collector uses, so what introspection reports is what
 * the collector sees -- for host types too, through their traverse.
 */
#include "pygc_int.h"

size_t pygc_get_objects(pygc_heap *h, int generation, pygc_object_fn fn, void *arg) {
  size_t n = 0;
  int lo = generation < 0 ? 0 : generation, hi = generation < 0 ? 2 : generation;
  if (generation > 2) return 0;
  for (int g = lo; g <= hi + (hi == 2); g++) { /* g == 3: the visited part of the old generation */
    gc_head *l = g == 3 ? &h->visited : &h->gen[g].head;
    for (pygc_object *o = l->gc_next; o != l; o = o->gc_next) {
      n++;
      if (fn && fn(o, arg)) return n;
    }
  }
  return n;
}

/* Values held by an object, atomic ones included (traverse visits only the
 * object slots; introspection wants everything), as Python's
 * get_referents: an instance's class and attribute names are left out. */
#define REFERENTS (PYGC_EDGE_CYCLE | PYGC_EDGE_VALUE)

typedef struct referrer_ctx {
  const pygc_value *targets;
  size_t n;
} referrer_ctx;

static int value_matches(pygc_value v, const referrer_ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    pygc_value t = c->targets[i];
    if (t.tag != v.tag) continue;
    if (t.tag == PYGC_TOBJ) {
      if (t.u.o == v.u.o) return 1;
      if (t.u.o->type == &pygc_str_type && pygc_equal(t, v)) return 1;
    } else if (pygc_equal(t, v)) {
      return 1;
    }
  }
  return 0;
}

static int visit_match(EDGE_PARAMS) {
  EDGE_UNUSED;
  return value_matches(*slot, arg);
}

/* Does o hold any target?  The same walk as get_referents, atomic values
 * included. */
static int object_refers(pygc_object *o, const referrer_ctx *c) {
  return obj_visit(o, REFERENTS, visit_match, (void *)c) != 0;
}

size_t pygc_get_referrers(pygc_heap *h, const pygc_value *targets, size_t n, pygc_object_fn fn, void *arg) {
  referrer_ctx c = {targets, n};
  size_t found = 0;
  for (int g = 0; g < 4; g++) {
    gc_head *l = g == 3 ? &h->visited : &h->gen[g].head;
    for (pygc_object *o = l->gc_next; o != l; o = o->gc_next) {
      if (object_refers(o, &c)) {
        found++;
        if (fn && fn(o, arg)) return found;
      }
    }
  }
  return found;
}

/* ---- the verifier -------------------------------------------------------- */

typedef struct verify_ctx {
  char *msg;
  size_t msgsize;
  pygc_object *owner;
  int bad;
} verify_ctx;

static int visit_count(EDGE_PARAMS) {
  EDGE_UNUSED;
  verify_ctx *c = arg;
  pygc_object *o = slot->u.o;
  if (!(o->flags & F_MARK)) {
    snprintf(c->msg, c->msgsize, "%s at %p refers to %p, which is not a live object", c->owner->type->name,
             (void *)c->owner, (void *)o);
    c->bad = 1;
    return 1;
  }
  o->gc_refs++;
  return 0;
}

typedef struct list_desc {
  gc_head *head;
  const char *name;
  int tracked;
} list_desc;

static int verify_impl(pygc_heap *h, pygc_external_fn external, void *ud, int exact, char *msg, size_t msgsize);

int pygc_heap_verify(pygc_heap *h, char *msg, size_t msgsize) { return verify_impl(h, NULL, NULL, 0, msg, msgsize); }

int pygc_heap_verify_refs(pygc_heap *h, pygc_external_fn external, void *ud, char *msg, size_t msgsize) {
  return verify_impl(h, external, ud, 1, msg, msgsize);
}

static int verify_impl(pygc_heap *h, pygc_external_fn external, void *ud, int exact, char *msg, size_t msgsize) {
  char dummy[8];
  if (msg == NULL || msgsize == 0) {
    msg = dummy;
    msgsize = sizeof dummy;
  }
  msg[0] = '\0';
  if (h->collecting) return 0;
  list_desc lists[6] = {{&h->gen[0].head, "generation 0", 1},
                        {&h->gen[1].head, "generation 1", 1},
                        {&h->gen[2].head, "generation 2", 1},
                        {&h->permanent, "permanent generation", 1},
                        {&h->untracked, "untracked list", 0},
                        {&h->visited, "visited old generation", 1}};
  size_t count = 0, bytes = sizeof *h;
  int bad = 0;
  /* 1. list links and flags; mark every live object */
  for (int i = 0; i < 6 && !bad; i++) {
    gc_head *l = lists[i].head;
    pygc_object *prev = l;
    for (pygc_object *o = l->gc_next; o != l; prev = o, o = o->gc_next) {
      if (o == NULL || o->gc_prev != prev) {
        snprintf(msg, msgsize, "%s: broken link after %p", lists[i].name, (void *)prev);
        bad = 1;
        break;
      }
      if (o->flags & F_MARK) {
        snprintf(msg, msgsize, "%s: object %p is on two lists (or a loop)", lists[i].name, (void *)o);
        bad = 1;
        break;
      }
      int tracked = (o->flags & F_TRACKED) != 0;
      if (tracked != lists[i].tracked || (tracked && !(o->flags & F_GC))) {
        snprintf(msg, msgsize, "%s: %s at %p has tracked flag %d", lists[i].name, o->type->name, (void *)o, tracked);
        bad = 1;
        break;
      }
      if (o->flags & (F_COLLECTING | F_UNREACHABLE | F_REGION)) {
        snprintf(msg, msgsize, "%s: %s at %p keeps collector flags", lists[i].name, o->type->name, (void *)o);
        bad = 1;
        break;
      }
      if (((o->flags & F_FROZEN) != 0) != (i == 3)) {
        snprintf(msg, msgsize, "%s: %s at %p has the frozen flag wrong", lists[i].name, o->type->name, (void *)o);
        bad = 1;
        break;
      }
      if (h->incremental && (i == 2 || i == 5) &&
          (((o->flags & F_SPACE) != 0) == (h->visited_space != 0)) != (i == 5)) {
        snprintf(msg, msgsize, "%s: %s at %p is in the wrong space of the old generation", lists[i].name,
                 o->type->name, (void *)o);
        bad = 1;
        break;
      }
      if ((!h->incremental && i == 5) || (h->incremental && i == 1)) {
        snprintf(msg, msgsize, "%s holds objects in this mode", lists[i].name);
        bad = 1;
        break;
      }
      if (o->refcnt == 0) {
        snprintf(msg, msgsize, "%s: %s at %p has refcount 0", lists[i].name, o->type->name, (void *)o);
        bad = 1;
        break;
      }
      o->flags |= F_MARK;
      o->gc_refs = 0;
      count++;
      size_t sz = obj_bytes(o);
#ifdef PYGC_DEBUG
      /* the size contract: a stable answer, never below the block's size */
      size_t made;
      memcpy(&made, (char *)o - OBJ_PAD, sizeof made);
      if (obj_bytes(o) != sz || sz - OBJ_PAD < made)
        pygc__contract_failed(
            o->type, "size() answers differently from one call to the next, or less than the object's own block");
#endif
      bytes += sz;
    }
    if (!bad && l->gc_prev != prev) {
      snprintf(msg, msgsize, "%s: tail link is wrong", lists[i].name);
      bad = 1;
    }
  }
  /* A release in progress (verify called from a finalizer or a hook while
   * a refcount chain comes down): objects deferred by the trashcan wait,
   * refcount 0 and whole, on h->trash; the ones being deallocated now are
   * on h->dying, half cleared.  Both are counted, neither is marked live:
   * nothing may refer to an object whose refcount is 0 (visit_count
   * reports a reference to an object it has not marked). */
  int releasing = h->trash_depth > 0;
  size_t dying_bytes_unknown = 0;
  if (!bad && h->trash != NULL && !releasing) {
    snprintf(msg, msgsize, "trashcan holds objects outside a deallocation");
    bad = 1;
  }
  for (pygc_object *o = h->trash; o && !bad; o = o->gc_next) {
    if (o->refcnt != 0 || (o->flags & (F_LIST_STATE | F_MARK)) || o->gc_prev != NULL) {
      snprintf(msg, msgsize, "trashcan: %s at %p has refcount %u, flags %#x", o->type->name, (void *)o, o->refcnt,
               o->flags);
      bad = 1;
    }
    count++;
    bytes += obj_bytes(o); /* not cleared yet: its size is exact */
  }
  if (!bad && h->dying > (size_t)h->trash_depth) {
    snprintf(msg, msgsize, "%zu objects counted as dying in %d nested deallocations", h->dying, h->trash_depth);
    bad = 1;
  }
  count += h->dying;
  /* half cleared: storage a dying object detached is still allocated */
  dying_bytes_unknown = h->dying > 0;
  if (!bad && count != h->nobjects) {
    snprintf(msg, msgsize, "heap counts %zu objects, lists hold %zu", h->nobjects, count);
    bad = 1;
  }
  /* 2. per-type structure, and internal references per object */
  if (!bad) bad = pygc__weakref_verify(h, msg, msgsize);
  verify_ctx c = {msg, msgsize, NULL, 0};
  for (int i = 0; i < 6 && !bad; i++) {
    gc_head *l = lists[i].head;
    for (pygc_object *o = l->gc_next; o != l && !bad; o = o->gc_next) {
      if (o->type == &pygc_dict_type)
        bad = pygc__dict_verify(o, msg, msgsize);
      else if (o->type == &pygc_instance_type)
        bad = pygc__instance_verify(o, msg, msgsize);
      else if (o->type == &pygc_class_type)
        bad = pygc__class_verify(o, msg, msgsize);
      else if (o->type == &pygc_list_type && ((list_obj *)o)->len > ((list_obj *)o)->cap) {
        snprintf(msg, msgsize, "list at %p is longer than its capacity", (void *)o);
        bad = 1;
      }
      if (bad) break;
      c.owner = o;
      /* every reference the object owns: the cycle edges traverse visits
       * and the owned ones it skips (class, attribute names) */
      obj_visit(o, PYGC_EDGE_CYCLE | PYGC_EDGE_OWNED, visit_count, &c);
      bad = c.bad;
    }
  }
  /* objects deferred by the trashcan still own all their references */
  for (pygc_object *o = h->trash; o && !bad; o = o->gc_next) {
    c.owner = o;
    obj_visit(o, PYGC_EDGE_CYCLE | PYGC_EDGE_OWNED, visit_count, &c);
    bad = c.bad;
  }
  /* mid-release, the dying objects' detached references are invisible:
   * the exact balance cannot be checked, the upper bound still can */
  if (releasing) exact = 0;
  /* the heap's own reference to garbage */
  if (!bad) h->garbage->gc_refs++;
  /* 3. no object is referenced more often than its count says */
  for (int i = 0; i < 6 && !bad; i++) {
    gc_head *l = lists[i].head;
    for (pygc_object *o = l->gc_next; o != l; o = o->gc_next) {
      if (o->refcnt != REFCNT_MAX && o->gc_refs > (intptr_t)o->refcnt) {
        snprintf(msg, msgsize, "%s at %p has refcount %u but %lld references from the heap",
                 pygc_type_name(pygc_obj(o)), (void *)o, o->refcnt, (long long)o->gc_refs);
        bad = 1;
        break;
      }
      if (exact && o->refcnt != REFCNT_MAX) {
        intptr_t ext = external ? (intptr_t)external(o, ud) : 0;
        if (o->gc_refs + ext != (intptr_t)o->refcnt) {
          snprintf(msg, msgsize,
                   "%s at %p has refcount %u but %lld references from the heap and %lld from the host "
                   "(a traverse that misses a reference, or a leaked reference)",
                   pygc_type_name(pygc_obj(o)), (void *)o, o->refcnt, (long long)o->gc_refs, (long long)ext);
          bad = 1;
          break;
        }
      }
    }
  }
  /* every byte is accounted: objects with their storage, the intern set,
   * and buffers handed to hosts */
  bytes += h->intern_cap * sizeof *h->intern + h->scratch_bytes + h->wr_cap * sizeof *h->wr_tab;
  if (!bad && (dying_bytes_unknown ? bytes > h->bytes : bytes != h->bytes)) {
    snprintf(msg, msgsize, "heap accounts %zu bytes, objects and tables hold %zu", h->bytes, bytes);
    bad = 1;
  }
  /* unmark, and give the marked their back links again (gc_refs borrowed
   * them): only marked objects, whose link was checked before it was
   * borrowed, so a broken link stays broken for the next check to see */
  for (int i = 0; i < 6; i++) {
    gc_head *l = lists[i].head;
    pygc_object *prev = l;
    for (pygc_object *o = l->gc_next; o != l && o != NULL; prev = o, o = o->gc_next) {
      if (!(o->flags & F_MARK)) continue;
      o->flags &= ~F_MARK;
      o->gc_prev = prev;
    }
  }
  return bad;
}

/* get_referents: the REFERENTS edges, handed to a pygc_visit_fn */
int pygc_referents(pygc_object *o, pygc_visit_fn visit, void *arg) {
  if (o == NULL || visit == NULL) return 0;
  traverse_adapt a = {visit, arg};
  return obj_visit(o, REFERENTS, traverse_adapt_fn, &a);
}

/* ---- labelled edges ------------------------------------------------------- */

typedef struct edges_ctx {
  pygc_object *self;
  pygc_edge_fn fn;
  void *arg;
} edges_ctx;

static int visit_edge(EDGE_PARAMS) {
  edges_ctx *c = arg;
  pygc_edge e;
  e.child = *slot;
  e.kind = kind;
  e.label = label;
  e.index = index;
  e.key = key ? *key : pygc_none();
  e.name = NULL;
  if (label == PYGC_LABEL_SLOT && c->self->type->slot_name) e.name = c->self->type->slot_name(c->self, slot);
  return c->fn(&e, c->arg);
}

int pygc_edges(pygc_heap *h, pygc_object *o, unsigned kinds, pygc_edge_fn fn, void *arg) {
  (void)h;
  if (o == NULL || fn == NULL) return 0;
  edges_ctx c = {o, fn, arg};
  return obj_visit(o, kinds, visit_edge, &c);
}
