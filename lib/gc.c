/*
 * gc.c -- the generational cycle collector: CPython's algorithm.
 *
 * One function collects a region (collect_main); its phases carry
 * CPython's names so a reader can hold Python/gc.c beside this file:
 *
 *   update_refs        gc_refs = refcount, for every object being collected
 *   subtract_refs      minus the references from inside the region
 *   move_unreachable   what is left with gc_refs > 0 is reachable from
 *                      outside; everything it reaches is too; the rest is
 *                      tentatively unreachable
 *   move_legacy_finalizers   legacy objects and what they reach are kept
 *   handle_weakrefs    weakrefs to the unreachable are cleared, callbacks
 *                      of the reachable weakrefs run (weakref.c)
 *   finalize_garbage   PEP 442: each finalizer runs once
 *   handle_resurrected_objects   redo the analysis on the unreachable set;
 *                      whatever a finalizer made reachable again survives
 *   delete_garbage     clear (tp_clear) what is still unreachable
 *
 * Host code runs only in finalize_garbage, delete_garbage (through
 * finalizers of objects freed by clearing) and the callbacks, and each of
 * those loops takes the next object from the head of a list afresh, so
 * anything the host does to the heap meanwhile is safe.
 *
 * ---- What the collector's state means, phase by phase -------------------
 * (as lgc.h states its colour invariant; check_phase asserts these rows in
 * PYGC_DEBUG and fuzz builds)
 *
 * Outside a collection: no object has F_COLLECTING or F_UNREACHABLE, and
 * gc_refs is scratch nobody reads (the verifier borrows it too).  It
 * shares its word with gc_prev, as CPython's: from update_refs until
 * move_unreachable has passed an object, the object's back link is its
 * count (the lists are walked forward only meanwhile), and the scan
 * rebuilds the links of both lists it leaves.  The
 * region being collected is one list, `young` (a generation merged with
 * the younger ones, or an increment's region).  Temporary lists live on
 * collect_region's C stack.
 *
 *   phase               young                    unreachable           finalizers
 *   ------------------  -----------------------  --------------------  ------------
 *   update_refs         COLLECTING,              -                     -
 *                       gc_refs = refcount
 *   subtract_refs       COLLECTING, gc_refs =    -                     -
 *                       refs from outside >= 0
 *   move_unreachable    scanned: not COLLECTING, COLLECTING|UNREACH,   -
 *                       gc_refs > 0: reachable   gc_refs == 0
 *   (merged into old)   survivors, flags clear
 *   move_legacy_*       -                        COLLECTING            legacy objects and
 *                                                                      all they reach,
 *                                                                      flags clear
 *     (skipped when move_unreachable saw nothing legacy or finalizable go to
 *     unreachable: then UNREACHABLE stays, and no finalizer runs)
 *   finalize_garbage    -                        COLLECTING; host code -
 *                                                may untrack or free
 *                                                any of them
 *   handle_resurrected  -                        redone from update_refs: the resurrected
 *                                                go to old, the rest to final_unreachable
 *                                                (COLLECTING, not UNREACHABLE)
 *   delete_garbage      -                        final_unreachable: cleared one by one;
 *                                                what survives clearing goes to old, flags
 *                                                clear (or, when nothing ran and nothing
 *                                                can, released as a whole:
 *                                                delete_garbage_bulk)
 *   handle_legacy       -                        -                     appended to
 *                                                                      gc.garbage, then
 *                                                                      merged into old
 *
 * So F_COLLECTING means "in the region and not yet proven reachable" (the
 * visitors ignore any object without it: references to objects outside
 * the region are external), F_UNREACHABLE means "on the unreachable list
 * right now" (move_unreachable's visitor moves such an object back when a
 * reachable one reaches it), and gc_refs means nothing outside update_refs
 * .. move_unreachable.  Every object is on exactly one list at all times
 * (pygc_int.h); the incremental collector adds F_REGION (being pulled into
 * the region) and F_SPACE (pending or visited, meaning flips each pass).
 */
#define _POSIX_C_SOURCE 200809L
#include "pygc_int.h"

#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
#ifdef CLOCK_MONOTONIC
  clock_gettime(CLOCK_MONOTONIC, &ts);
#else
  timespec_get(&ts, TIME_UTC);
#endif
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void debug_printf(pygc_heap *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void debug_printf(pygc_heap *h, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
  if (h->hooks.write) h->hooks.write(h->hooks.ud, buf, (size_t)n);
}

static void debug_cycle(pygc_heap *h, const char *msg, pygc_object *o) {
  debug_printf(h, "gc: %s <%s %p>\n", msg, pygc_type_name(pygc_obj(o)), (void *)o);
}

/* ---- traversal ------------------------------------------------------------
 * The passes walk children with obj_visit (pygc_int.h), asking for cycle
 * edges only; each visitor below is inline, so the walk compiles to one
 * loop per built-in type (see the comment above obj_visit). */

#define ALWAYS_INLINE PYGC_ALWAYS_INLINE
#define for_each_ref(o, fn, arg) obj_visit((o), PYGC_EDGE_CYCLE, (fn), (arg))

/* ---- the phases ---------------------------------------------------------- */

/* ---- invariants, asserted in debug builds --------------------------------
 * Every object of list l must have the flags in `set` and none in `clear`,
 * be tracked, and link back correctly; `refs` says what gc_refs must be
 * (REFS_ANY, REFS_NONNEG: >= 0 after subtract_refs, when the back links
 * hold the counts: after move_unreachable they are links again, and what
 * the counts were is in the lists themselves). */
enum { REFS_ANY, REFS_NONNEG };
#ifdef PYGC_DEBUG
static void check_phase(const gc_head *l, unsigned set, unsigned clear, int refs, const char *phase) {
  const pygc_object *prev = l;
  for (const pygc_object *o = l->gc_next; o != l; prev = o, o = o->gc_next) {
    /* gc_refs lives in gc_prev: while it counts (REFS_NONNEG), the back
     * links are not links; otherwise they must be */
    if (o == NULL || (refs != REFS_NONNEG && o->gc_prev != prev)) pygc__assert_failed(phase, "a list link is broken");
    if ((o->flags & set) != set || (o->flags & clear) || !(o->flags & F_TRACKED))
      pygc__assert_failed(phase, "an object's flags do not match its list");
    if (refs == REFS_NONNEG && o->gc_refs < 0)
      pygc__assert_failed(phase,
                          "gc_refs breaks the phase's invariant (a traverse visits a reference it does not own?)");
  }
  if (refs != REFS_NONNEG && l->gc_prev != prev) pygc__assert_failed(phase, "a list's tail link is broken");
}
#define CHECK_PHASE(l, set, clear, refs, phase) check_phase((l), (set), (clear), (refs), (phase))
#else
#define CHECK_PHASE(l, set, clear, refs, phase) ((void)0)
#endif

/* gc_refs starts as the refcount.  A saturated (immortal) refcount
 * becomes a count no subtraction can bring to zero: such an object is
 * always reachable, as it must be -- its true count is unknown. */
/* `held`: objects with this flag carry one reference the host lends for
 * the collection (pygc_collect_holding); it counts as internal */
static size_t update_refs(gc_head *c, unsigned held) {
  size_t n = 0;
  for (pygc_object *o = c->gc_next; o != c; o = o->gc_next) {
    o->gc_refs = o->refcnt == REFCNT_MAX ? INTPTR_MAX / 2 : (intptr_t)o->refcnt;
    if (o->flags & held) o->gc_refs--;
    o->flags |= F_COLLECTING;
    n++;
  }
  return n;
}

/* A reference from inside the region: not evidence that the child is
 * reachable from outside, so it does not count.  Children outside the
 * region (no F_COLLECTING) are left alone: their gc_refs is not ours. */
static ALWAYS_INLINE int visit_decref(EDGE_PARAMS) {
  EDGE_UNUSED;
  pygc_object *o = slot->u.o;
  if (o->flags & F_COLLECTING) o->gc_refs--;
  return 0;
}

/* A full collection's region is every tracked object but the frozen, so
 * whether a child is in it shows in its flags, and update_refs can ride
 * along with subtract_refs: an object's count starts (F_COLLECTING set)
 * at its first visit, as the one walked or as a child, which saves a
 * pass over the heap.  The walk only goes forward, so overwriting the
 * back link of an object not walked yet is fine (gc_refs is its word). */
typedef struct full_ctx {
  unsigned held;
  size_t started;
} full_ctx;
static ALWAYS_INLINE void start_refs(pygc_object *o, full_ctx *f) {
  o->gc_refs = o->refcnt == REFCNT_MAX ? INTPTR_MAX / 2 : (intptr_t)o->refcnt;
  if (o->flags & f->held) o->gc_refs--;
  o->flags |= F_COLLECTING;
  f->started++;
}
static ALWAYS_INLINE int visit_decref_full(EDGE_PARAMS) {
  EDGE_UNUSED;
  pygc_object *o = slot->u.o;
  if ((o->flags & (F_TRACKED | F_FROZEN)) != F_TRACKED) return 0;
  if (!(o->flags & F_COLLECTING)) start_refs(o, (full_ctx *)arg);
  o->gc_refs--;
  return 0;
}
static size_t update_subtract_full(gc_head *c, unsigned held) {
  full_ctx f = {held, 0};
  size_t n = 0;
  for (pygc_object *o = c->gc_next; o != c; o = o->gc_next) {
    if (!(o->flags & F_COLLECTING)) start_refs(o, &f);
    for_each_ref(o, visit_decref_full, &f);
    n++;
  }
  /* every object started is in the region (a tracked object elsewhere
   * would have its count, and its back link, spoiled) */
#ifdef PYGC_DEBUG
  if (f.started != n) pygc__assert_failed("update_subtract_full", "a tracked object is outside a full collection");
#endif
  return n;
}

/* After this, gc_refs is the number of references from outside the
 * region -- exact only if every traverse visits each reference it owns
 * exactly once (a missed one keeps garbage alive, an extra one makes
 * gc_refs negative: CHECK_PHASE catches that in debug builds). */
static void subtract_refs(gc_head *c) {
  for (pygc_object *o = c->gc_next; o != c; o = o->gc_next) for_each_ref(o, visit_decref, NULL);
}

/* move_unreachable's state: young, and how many objects came back from
 * unreachable (so that what is left there is counted without a pass) */
typedef struct reach_ctx {
  gc_head *young;
  size_t back;
} reach_ctx;

static ALWAYS_INLINE int visit_reachable(EDGE_PARAMS) {
  EDGE_UNUSED;
  pygc_object *o = slot->u.o;
  if (!(o->flags & F_COLLECTING)) return 0;
  if (o->flags & F_UNREACHABLE) {
    /* tentatively unreachable, but reached after all: back to the end of
     * the reachable list, where the scan will come to it (the unreachable
     * list's links are links, and young's head knows its tail) */
    reach_ctx *r = arg;
    gclist_move(o, r->young);
    r->back++;
    o->flags &= ~F_UNREACHABLE;
    o->gc_refs = 1;
  } else if (o->gc_refs == 0) {
    o->gc_refs = 1; /* not scanned yet: the scan will treat it as reachable */
  }
  return 0;
}

/* CPython's untrack_tuples: a tuple holding nothing the collector could
 * track can never be part of a cycle (tuples are immutable), so it leaves
 * the generations for good and later collections skip it.  Done on the
 * reachable survivors only (the unreachable ones are about to go), as
 * move_unreachable passes them: no pass of its own over the region. */
static int tuple_untrackable(const pygc_object *o) {
  const tuple_obj *t = (const tuple_obj *)o;
  for (size_t i = 0; i < t->len; i++)
    if (val_may_be_tracked(t->items[i])) return 0;
  return 1;
}

/* One pass over young, which grows at its tail as objects come back from
 * unreachable: an object with gc_refs > 0 is reachable (from outside, or
 * from a reachable object: visit_reachable set its gc_refs to 1), and
 * everything it references is too; gc_refs == 0 means "not known to be
 * reachable yet", so it moves to unreachable, from where a later
 * reachable object can still fetch it.  When the scan reaches the end,
 * whatever is left on unreachable is unreachable: nothing reachable
 * refers to it.  Each object is scanned once per move back, and moves
 * back at most once (F_UNREACHABLE is cleared), so this is linear. */
/* young's back links hold gc_refs until the scan passes: `prev` is the
 * last object kept, whose link is rebuilt as the scan leaves it, so that
 * young is a whole list again at the end.  young's head is no object:
 * its gc_prev stays the tail throughout.  With h, reachable tuples that
 * hold nothing trackable go to h's untracked list on the way.  Returns
 * how many objects stay on young; *n_unreachable is how many are left on
 * unreachable, and *special says whether one of them may be legacy or
 * want its finalizer run (asked as the object goes there, while its
 * header is in the cache: nothing runs meanwhile that could change the
 * answer; objects that come back only make the answer cautious). */
static size_t move_unreachable(gc_head *young, gc_head *unreachable, pygc_heap *h, size_t *n_unreachable,
                               int *special) {
  size_t kept = 0, moved = 0;
  int sp = 0;
  reach_ctx r = {young, 0};
  pygc_object *prev = young, *o = young->gc_next;
  while (o != young) {
    if (o->gc_refs > 0) {
      o->flags &= ~F_COLLECTING; /* reachable: done with it */
      for_each_ref(o, visit_reachable, &r);
      pygc_object *next = o->gc_next; /* now: visit_reachable appends */
      if (h && o->type == &pygc_tuple_type && tuple_untrackable(o)) {
        prev->gc_next = next; /* unlink by hand, as below */
        if (next == young) young->gc_prev = prev;
        gclist_append(o, &h->untracked);
        o->flags &= ~F_LIST_STATE;
      } else {
        o->gc_prev = prev;
        prev = o;
        kept++;
      }
      o = next;
    } else {
      /* unlink by hand: next's back link is a count, not a link */
      pygc_object *next = o->gc_next;
      prev->gc_next = next;
      if (next == young) young->gc_prev = prev;
      gclist_append(o, unreachable);
      o->flags |= F_UNREACHABLE;
      sp |= obj_may_be_special(o);
      moved++;
      o = next;
    }
  }
  *n_unreachable = moved - r.back;
  *special = sp;
  return kept;
}

/* The analysis (CPython's deduce_unreachable): afterwards base holds what
 * is reachable from outside it, unreachable the rest. */
static size_t deduce_unreachable(gc_head *base, gc_head *unreachable, unsigned held, pygc_heap *untrack,
                                 size_t *kept, int full, size_t *n_unreachable, int *special) {
  size_t n;
  if (full) {
    n = update_subtract_full(base, held);
  } else {
    n = update_refs(base, held);
    subtract_refs(base);
  }
  /* a negative count: more internal references than the refcount says */
  CHECK_PHASE(base, F_COLLECTING, F_UNREACHABLE, REFS_NONNEG, "subtract_refs");
  *kept = move_unreachable(base, unreachable, untrack, n_unreachable, special);
  CHECK_PHASE(base, 0, F_COLLECTING | F_UNREACHABLE, REFS_ANY, "move_unreachable (reachable)");
  CHECK_PHASE(unreachable, F_COLLECTING | F_UNREACHABLE, 0, REFS_ANY, "move_unreachable (unreachable)");
  return n;
}

static int is_legacy(const pygc_object *o) { return o->type->is_legacy && o->type->is_legacy(o); }

/* Legacy objects (tp_del) are uncollectable: Python cannot know in which
 * order to run their finalizers, so it keeps them, and everything they
 * reach, in gc.garbage.  F_UNREACHABLE is dropped for all: from here on
 * the unreachable list is not scanned by visit_reachable any more. */
/* The same pass counts what stays and notes whether any of it may want a
 * finalizer, so that the phases after it need not walk the set again
 * when nothing can run (the common case: a set of plain containers). */
static size_t move_legacy_finalizers(gc_head *unreachable, gc_head *finalizers, int *may_finalize) {
  size_t n = 0;
  int fin = 0;
  pygc_object *o = unreachable->gc_next;
  while (o != unreachable) {
    pygc_object *next = o->gc_next;
    o->flags &= ~F_UNREACHABLE;
    if (o->type->finalize || o->type->is_legacy) {
      if (is_legacy(o)) {
        o->flags &= ~F_COLLECTING;
        gclist_move(o, finalizers);
        o = next;
        continue;
      }
      fin |= obj_wants_finalizer(o);
    }
    n++;
    o = next;
  }
  *may_finalize = fin;
  return n;
}

static int visit_move(EDGE_PARAMS) {
  EDGE_UNUSED;
  pygc_object *o = slot->u.o;
  if (o->flags & F_COLLECTING) {
    o->flags &= ~F_COLLECTING;
    gclist_move(o, (gc_head *)arg);
  }
  return 0;
}

/* What a legacy object reaches stays alive with it: the scan walks
 * finalizers as it grows (visit_move appends), so the closure is whole.
 * F_COLLECTING, still set on the unreachable, tells which objects are
 * candidates to pull. */
static void move_legacy_finalizer_reachable(gc_head *finalizers) {
  for (pygc_object *o = finalizers->gc_next; o != finalizers; o = o->gc_next) for_each_ref(o, visit_move, finalizers);
}

/* PEP 442: every unreachable object's finalizer runs once, before any
 * object is cleared, so finalizers see their cycle intact.  Each object
 * is moved to `seen` before its finalizer runs: the finalizer may free or
 * untrack objects still on `collectable` (they leave the list by
 * themselves), and the loop always takes the current head, so it never
 * holds a pointer the host could have invalidated.  The object is held
 * (incref) during its finalizer so that the finalizer dropping the last
 * other reference cannot free it under its own feet.
 * Returns the number of finalizers run: with none, nothing can have been
 * resurrected and the second analysis pass is skipped. */
static size_t finalize_garbage(pygc_heap *h, gc_head *collectable, int may_finalize) {
  if (!may_finalize) return 0;
  pygc_object *first = collectable->gc_next;
  while (first != collectable && !obj_wants_finalizer(first)) first = first->gc_next;
  if (first == collectable) return 0;
  size_t ran = 0;
  gc_head seen;
  gclist_init(&seen);
  while (!gclist_empty(collectable)) {
    pygc_object *o = collectable->gc_next;
    gclist_move(o, &seen);
    if (obj_wants_finalizer(o)) {
      o->flags |= F_FINALIZED;
      pygc_incref(o);
      o->type->finalize(h, o);
      pygc_decref(h, o);
      ran++;
    }
  }
  gclist_merge(&seen, collectable);
  if (ran && h->hooks.finalized) h->hooks.finalized(h->hooks.ud, h);
  return ran;
}

/* A finalizer may have stored a reference to an unreachable object
 * somewhere reachable (resurrection).  The region is analysed again, with
 * only the unreachable set as the region: what is referenced from outside
 * it now survives, and everything it reaches too. */
static void handle_resurrected_objects(gc_head *unreachable, gc_head *still_unreachable, gc_head *old,
                                       unsigned held) {
  for (pygc_object *o = unreachable->gc_next; o != unreachable; o = o->gc_next)
    o->flags &= ~(F_COLLECTING | F_UNREACHABLE);
  size_t kept, left;
  int special;
  (void)deduce_unreachable(unreachable, still_unreachable, held, NULL, &kept, 0, &left, &special);
  (void)left;
  (void)special;
  for (pygc_object *o = still_unreachable->gc_next; o != still_unreachable; o = o->gc_next)
    o->flags &= ~F_UNREACHABLE;
  gclist_merge(unreachable, old); /* the resurrected survive, one generation older */
}

static void report_garbage_failure(pygc_heap *h, int st, pygc_object *o) {
  if (h->hooks.unraisable) h->hooks.unraisable(h->hooks.ud, h, st, "appending to gc.garbage", o);
}

/* Break the cycles: clear (tp_clear) drops an object's references, and
 * the refcounts do the rest -- objects freed that way leave the list by
 * themselves (pygc__heap_dealloc unlinks them).  An object still at the head
 * after its clear is alive (a type without clear, or one whose clear
 * keeps references): it goes to old and may be found again later. */
static void delete_garbage(pygc_heap *h, gc_head *collectable, gc_head *old) {
  while (!gclist_empty(collectable)) {
    pygc_object *o = collectable->gc_next;
    if (h->debug & PYGC_DEBUG_SAVEALL) {
      int st = pygc_list_append(h, h->garbage, pygc_obj(o));
      if (st) report_garbage_failure(h, st, o);
    } else if (o->type->clear) {
      pygc_incref(o);
      o->type->clear(h, o);
      pygc_decref(h, o);
    }
    if (collectable->gc_next == o) {
      /* still alive: it may die later */
      o->flags &= ~(F_COLLECTING | F_UNREACHABLE);
      gclist_move(o, old);
    }
  }
}

/* The same, all at once, when nothing can run between the analysis and
 * the end (no finalizer ran or may run, no weakref callback, no legacy
 * object, no reference lent by the host, no hook watching): then every
 * reference to an object of the set comes from the set itself, so the
 * set can be released as a whole instead of one refcount chain after the
 * other.  Only built-in types qualify (their release runs no host code
 * but the deaths of objects outside the set, which cannot reach the set:
 * whatever refers to a member is a member).
 *   1. every member becomes immortal (refcount saturated): decrefs from
 *      one member to another are no-ops from here on;
 *   2. each member drops its references (dealloc, else clear): only
 *      objects outside the set can die, each by its own refcount;
 *      classes last, as their instances read the names they share;
 *   3. every member is freed.
 * Three passes instead of one: a win while the set is in the cache (a
 * young collection's), a loss beyond it (a full collection of a big heap
 * misses the cache at each pass), hence BULK_MAX.
 * Returns 0 (nothing done) when the set does not qualify. */
#define BULK_MAX 4096
static int is_builtin_container(const pygc_type *t) {
  return t == &pygc_list_type || t == &pygc_instance_type || t == &pygc_dict_type || t == &pygc_tuple_type ||
         t == &pygc_class_type;
}
static int delete_garbage_bulk(pygc_heap *h, gc_head *collectable, size_t count) {
  if (count > BULK_MAX || h->held || h->tracing || (h->debug & PYGC_DEBUG_SAVEALL)) return 0;
  size_t n = 0;
  for (pygc_object *o = collectable->gc_next; o != collectable; o = o->gc_next) {
    if (!is_builtin_container(o->type) || (o->flags & (F_WEAKLY | F_WATCHED))) return 0;
    n++;
  }
  for (pygc_object *o = collectable->gc_next; o != collectable; o = o->gc_next) o->refcnt = REFCNT_MAX;
  int classes = 0;
  for (pygc_object *o = collectable->gc_next; o != collectable; o = o->gc_next) {
    const pygc_type *t = o->type;
    if (t == &pygc_list_type) {
      pygc__list_dealloc(h, o);
    } else if (t == &pygc_class_type) {
      classes = 1;
    } else if (t->dealloc) {
      t->dealloc(h, o);
    } else {
      t->clear(h, o);
    }
  }
  if (classes)
    for (pygc_object *o = collectable->gc_next; o != collectable; o = o->gc_next)
      if (o->type == &pygc_class_type) o->type->dealloc(h, o);
  pygc_object *o = collectable->gc_next;
  while (o != collectable) {
    pygc_object *next = o->gc_next;
    if (o->type == &pygc_list_type) { /* freed its items in step 2 */
      pygc__heap_free_mem(h, (char *)o - OBJ_PAD, list_bytes((list_obj *)o) + OBJ_PAD);
    } else {
      if (o->type->free) o->type->free(h, o);
      pygc__heap_free_object(h, o);
    }
    o = next;
  }
  gclist_init(collectable);
  h->nobjects -= n;
  h->gen[0].count = h->gen[0].count > (int64_t)n ? h->gen[0].count - (int64_t)n : 0;
  return 1;
}

/* gc.garbage gets the legacy objects themselves (and, under
 * DEBUG_SAVEALL, everything that was kept with them); all of them then
 * survive into old, where a later collection will find them again unless
 * the host clears gc.garbage and breaks their cycles. */
static void handle_legacy_finalizers(pygc_heap *h, gc_head *finalizers, gc_head *old) {
  for (pygc_object *o = finalizers->gc_next; o != finalizers; o = o->gc_next) {
    if ((h->debug & PYGC_DEBUG_SAVEALL) || is_legacy(o)) {
      int st = pygc_list_append(h, h->garbage, pygc_obj(o));
      if (st) report_garbage_failure(h, st, o);
    }
  }
  gclist_merge(finalizers, old);
}

/* ---- one collection ------------------------------------------------------ */

/* Analyse the region `young` (every object in it is candidate garbage;
 * references from outside it count as external) and send the survivors to
 * `old` (young == old: they stay); returns about how many went there.  CPython's gc_collect_main from
 * deduce_unreachable on. */
static size_t collect_region(pygc_heap *h, gc_head *young, gc_head *old, intptr_t *n_collected,
                           intptr_t *n_uncollectable, size_t *candidates, double t1, int generation) {
  intptr_t m = 0, n = 0;
  gc_head unreachable;
  gclist_init(&unreachable);
  size_t survivors, n_unreachable;
  int special;
  /* generation 2 holds every tracked object but the frozen (the younger
   * generations, or the incremental spaces, were merged into the region) */
  *candidates = deduce_unreachable(young, &unreachable, h->held, h, &survivors, generation == 2, &n_unreachable,
                                   &special);

  /* move the reachable to the next generation */
  if (young != old) {
    if (generation == 1 && !h->incremental) h->long_lived_pending += (int64_t)survivors;
    gclist_merge(young, old);
  } else if (!h->incremental) {
    h->long_lived_pending = 0;
    h->long_lived_total = (int64_t)survivors;
  }
#ifdef PYGC_DEBUG
  if (young == old && survivors != gclist_size(young)) pygc__assert_failed("collect_region", "survivors miscounted");
#endif

  /* legacy finalizers, and everything they reach, are not collected */
  gc_head finalizers;
  gclist_init(&finalizers);
  int may_finalize = 0;
  size_t kept = n_unreachable;
  if (special) {
    /* a pass of its own only when something unreachable may be legacy or
     * want its finalizer run: otherwise F_UNREACHABLE simply stays on the
     * unreachable set (nothing scans it with visit_reachable any more) */
    kept = move_legacy_finalizers(&unreachable, &finalizers, &may_finalize);
    CHECK_PHASE(&unreachable, F_COLLECTING, F_UNREACHABLE, REFS_ANY, "move_legacy_finalizers (unreachable)");
  } else {
    CHECK_PHASE(&unreachable, F_COLLECTING | F_UNREACHABLE, 0, REFS_ANY, "move_unreachable (no finalizers)");
  }
#ifdef PYGC_DEBUG
  if (!special && kept != gclist_size(&unreachable))
    pygc__assert_failed("collect_region", "move_unreachable miscounted the unreachable set");
#endif
  int none_legacy = gclist_empty(&finalizers);
  move_legacy_finalizer_reachable(&finalizers);
  CHECK_PHASE(&finalizers, 0, F_COLLECTING | F_UNREACHABLE, REFS_ANY, "move_legacy_finalizers (finalizers)");

  if (h->debug & PYGC_DEBUG_COLLECTABLE)
    for (pygc_object *o = unreachable.gc_next; o != &unreachable; o = o->gc_next) debug_cycle(h, "collectable", o);

  /* clear weakrefs to the garbage and run the callbacks that may run
   * (weakref.c), before any finalizer sees the set */
  size_t wr_called = 0;
  intptr_t wr_freed = pygc__handle_weakrefs(h, &unreachable, &wr_called);

  /* callbacks are host code too: the set is checked again after them */
  size_t finalized = finalize_garbage(h, &unreachable, may_finalize) + wr_called;

  gc_head final_unreachable;
  gclist_init(&final_unreachable);
  if (finalized) {
    handle_resurrected_objects(&unreachable, &final_unreachable, old, h->held);
  } else {
    /* no finalizer ran: nothing came back to life (and F_UNREACHABLE
     * went in move_legacy_finalizers) */
    gclist_merge(&unreachable, &final_unreachable);
  }

  /* what delete_garbage may clear: proven unreachable twice if a
   * finalizer ran, else once (nothing ran that could resurrect) */
  CHECK_PHASE(&final_unreachable, F_COLLECTING, finalized || special ? F_UNREACHABLE : 0, REFS_ANY,
              "before delete_garbage");
  /* CPython 3.9+ counts what is still unreachable after resurrection */
  /* without host code run and nothing pulled out for legacy objects, the
   * set is what move_legacy_finalizers counted */
  m = wr_freed + (intptr_t)(finalized == 0 && none_legacy ? kept : gclist_size(&final_unreachable));
#ifdef PYGC_DEBUG
  if (finalized == 0 && none_legacy && kept != gclist_size(&final_unreachable))
    pygc__assert_failed("collect_region", "the unreachable set changed size with no host code run");
#endif
  if (finalized || !none_legacy || special || !delete_garbage_bulk(h, &final_unreachable, kept))
    delete_garbage(h, &final_unreachable, old);

  for (pygc_object *o = finalizers.gc_next; o != &finalizers; o = o->gc_next) {
    n++;
    if (h->debug & PYGC_DEBUG_UNCOLLECTABLE) debug_cycle(h, "uncollectable", o);
  }
  if (h->debug & PYGC_DEBUG_STATS) {
    debug_printf(h, "gc: done, %zd unreachable, %zd uncollectable, %.4fs elapsed\n", (size_t)(n + m), (size_t)n,
                 now_seconds() - t1);
  }

  handle_legacy_finalizers(h, &finalizers, old);
  *n_collected = m;
  *n_uncollectable = n;
  /* what went to old: the reachable, and the legacy (resurrected objects
   * and objects that survived their clear are not counted) */
  return survivors + (size_t)n;
}

/* gc.get_stats(): one place for both collectors; returns what
 * gc.collect() reports */
static intptr_t record_stats(pygc_heap *h, int generation, intptr_t collected, intptr_t uncollectable) {
  h->stats[generation].collections++;
  h->stats[generation].collected += collected;
  h->stats[generation].uncollectable += uncollectable;
  return collected + uncollectable;
}

static double debug_header(pygc_heap *h, int generation) {
  if (!(h->debug & PYGC_DEBUG_STATS)) return 0;
  size_t old = gclist_size(&h->gen[2].head) + (h->incremental ? gclist_size(&h->visited) : 0);
  debug_printf(h, "gc: collecting generation %d...\n", generation);
  debug_printf(h, "gc: objects in each generation: %zu %zu %zu\n", gclist_size(&h->gen[0].head),
               gclist_size(&h->gen[1].head), old);
  debug_printf(h, "gc: objects in permanent generation: %zu\n", gclist_size(&h->permanent));
  return now_seconds();
}

/* ---- the incremental collector ---------------------------------------------
 * CPython 3.14.0's design, with pacing: a young generation and an old one
 * split into a pending and a visited space.  Every automatic collection
 * takes the young generation plus an increment: pending objects, and
 * everything pending they reach (bounded), so that a garbage cycle inside
 * the increment is whole.  Survivors become visited; when nothing is
 * pending, the pass is over and visited becomes pending again (one bit
 * flip).  Pacing: an increment seeds max(threshold0 / 32, 2 x the objects
 * promoted) old objects (the 2 scales with threshold1), up to twice that
 * when it finds garbage, twice again when the pass lags behind growth, so
 * a pass ends before the heap can grow by half; if it falls behind anyway,
 * the next collection is a full one.  The closure an increment pulls in is bounded by its work:
 * a cycle cut by the bound survives this pass and is whole in a later one. */

static inline int is_visited(const pygc_heap *h, const pygc_object *o) {
  return ((o->flags & F_SPACE) != 0) == (h->visited_space != 0);
}
static inline void set_space(const pygc_heap *h, pygc_object *o, int visited) {
  if ((h->visited_space != 0) == (visited != 0))
    o->flags |= F_SPACE;
  else
    o->flags &= ~F_SPACE;
}

typedef struct pull_ctx {
  pygc_heap *h;
  gc_head *region;
  size_t added, budget;
} pull_ctx;

static int pull_pending(EDGE_PARAMS) {
  EDGE_UNUSED;
  pull_ctx *p = arg;
  pygc_object *c = slot->u.o;
  if ((c->flags & (F_TRACKED | F_REGION | F_FROZEN)) != F_TRACKED || is_visited(p->h, c)) return 0;
  if (p->added >= p->budget) return 0;
  gclist_move(c, p->region);
  c->flags |= F_REGION;
  p->added++;
  return 0;
}

/* The old objects an increment seeds with when nothing was promoted: a
 * thirty-second of a young generation -- enough that a pass still ends,
 * little enough that young collections beside a big old heap stay
 * young-sized (old objects are cold in the cache: ~100 ns each). */
static size_t inc_base(const pygc_heap *h) {
  int64_t b = h->gen[0].threshold / 32;
  return b < 8 ? 8 : (size_t)b;
}

static void inc_flip(pygc_heap *h) {
  h->visited_space ^= 1u; /* every visited object is pending again */
  gclist_merge(&h->visited, &h->gen[2].head);
  h->passes++;
  /* the old generation's size, by arithmetic: counting would walk it */
  h->pass_old =
      h->pass_old + h->pass_promoted > h->pass_collected ? h->pass_old + h->pass_promoted - h->pass_collected : 0;
  h->pass_promoted = 0;
  h->pass_collected = 0;
}

static intptr_t inc_collect(pygc_heap *h, int generation, intptr_t *n_collected, intptr_t *n_uncollectable,
                            size_t *candidates) {
  double t1 = debug_header(h, generation);
  h->gen[0].count = 0;
  gc_head region;
  gclist_init(&region);
  if (generation == 2 || h->inc_full_due) {
    /* a full collection: everything, and a fresh pass afterwards */
    generation = 2;
    gclist_merge(&h->gen[0].head, &region);
    gclist_merge(&h->gen[2].head, &region);
    gclist_merge(&h->visited, &region);
    for (pygc_object *o = region.gc_next; o != &region; o = o->gc_next) set_space(h, o, 0);
    size_t kept =
        collect_region(h, &region, &h->gen[2].head, n_collected, n_uncollectable, candidates, t1, generation);
    h->inc_full_due = 0;
    h->pass_old = kept; /* counted by the collection (an estimate, like every later update) */
    h->pass_promoted = 0;
    h->pass_collected = 0;
    h->inc_work = inc_base(h);
  } else {
    size_t young = 0;
    for (pygc_object *o = h->gen[0].head.gc_next; o != &h->gen[0].head; o = o->gc_next) {
      o->flags |= F_REGION;
      young++;
    }
    gclist_merge(&h->gen[0].head, &region);
    size_t work = generation == 1 ? (h->inc_work ? h->inc_work : inc_base(h)) : 0;
    pull_ctx pc = {h, &region, 0, work + 16}; /* the closure is bounded by the work */
    size_t seeded = 0;
    /* the closure grows from the seeded old objects only: walking every
     * young object too would cost a traversal per collection, and a cycle
     * through young and pending objects is whole in the next pass anyway */
    pygc_object *scan = &region;
    for (;;) {
      /* the closure of what the region holds, within the budget */
      for (; scan != &region; scan = scan->gc_next)
        if (generation == 1 && pc.added < pc.budget) for_each_ref(scan, pull_pending, &pc);
      if (seeded >= work || gclist_empty(&h->gen[2].head)) break;
      pygc_object *o = h->gen[2].head.gc_next;
      gclist_move(o, &region);
      o->flags |= F_REGION;
      seeded++;
      scan = o;
    }
    size_t region_size = young + seeded + pc.added;
    for (pygc_object *o = region.gc_next; o != &region; o = o->gc_next) {
      o->flags &= ~F_REGION;
      set_space(h, o, 1);
    }
    collect_region(h, &region, &h->visited, n_collected, n_uncollectable, candidates, t1, generation);
    /* pacing: promoted objects are growth; garbage found means scan faster */
    /* promoted: young objects that survived.  The region's survivors also
     * count old objects that merely survived, which would feed back into
     * ever larger increments; the garbage found is taken as young first
     * (it mostly is), the rest as old.  Deaths counted as young must not
     * also shrink the estimate of the old generation: promoted - old_dead
     * is its exact change, young - collected.  (Counting every death as
     * old too, as before, drifted the estimate down on a churn of old
     * garbage cycles until the full-collection valve fired: P3's long
     * pauses.) */
    size_t coll = (size_t)*n_collected;
    size_t young_dead = coll < young ? coll : young;
    size_t promoted = young - young_dead;
    h->pass_promoted += promoted;
    h->pass_collected += coll - young_dead;
    /* scan 2 old objects per promoted one (threshold1 / 5 of them): a pass
     * ends before the old generation has grown by half */
    int64_t th1 = h->gen[1].threshold > 0 ? h->gen[1].threshold : 1;
    size_t next = inc_base(h), want = (size_t)((double)promoted * (double)th1 / 5.0);
    if (want > next) next = want;
    if (region_size > 0 && *n_collected > 0) {
      size_t factor = 1 + (size_t)(4 * (double)*n_collected / (double)region_size + 0.5);
      next *= factor > 2 ? 2 : factor;
    }
    if (h->pass_promoted * 4 > h->pass_old) next *= 2; /* the pass lags behind growth */
    if (h->pass_promoted * 2 > h->pass_old + inc_base(h)) h->inc_full_due = 1;
    h->inc_work = next;
    if (generation == 1 && gclist_empty(&h->gen[2].head)) inc_flip(h);
  }
  return record_stats(h, generation, *n_collected, *n_uncollectable);
}

int pygc_set_incremental(pygc_heap *h, int on) {
  on = on != 0;
  if (h->collecting) return 0;
  if (on == h->incremental) return 1;
  if (on) {
    /* generations 1 and 2 become the old generation, all pending */
    gclist_merge(&h->gen[1].head, &h->gen[2].head);
    for (pygc_object *o = h->gen[2].head.gc_next; o != &h->gen[2].head; o = o->gc_next) set_space(h, o, 0);
    h->gen[1].count = h->gen[2].count = 0;
    h->pass_old = gclist_size(&h->gen[2].head);
    h->pass_promoted = 0;
    h->inc_work = inc_base(h);
    h->inc_full_due = 0;
  } else {
    gclist_merge(&h->visited, &h->gen[2].head);
    h->long_lived_total = (int64_t)gclist_size(&h->gen[2].head);
    h->long_lived_pending = 0;
    h->gen[1].count = h->gen[2].count = 0;
  }
  h->incremental = on;
  return 1;
}

int pygc_is_incremental(const pygc_heap *h) { return h->incremental; }

static intptr_t collect_main(pygc_heap *h, int generation, intptr_t *n_collected, intptr_t *n_uncollectable,
                             size_t *candidates) {
  if (h->incremental) return inc_collect(h, generation, n_collected, n_uncollectable, candidates);
  double t1 = debug_header(h, generation);

  /* update collection and allocation counters */
  if (generation + 1 < 3) h->gen[generation + 1].count += 1;
  for (int i = 0; i <= generation; i++) h->gen[i].count = 0;

  /* merge younger generations with the one we are collecting */
  for (int i = 0; i < generation; i++) gclist_merge(&h->gen[i].head, &h->gen[generation].head);

  gc_head *young = &h->gen[generation].head;
  gc_head *old = generation < 2 ? &h->gen[generation + 1].head : young;
  collect_region(h, young, old, n_collected, n_uncollectable, candidates, t1, generation);
  return record_stats(h, generation, *n_collected, *n_uncollectable);
}

static intptr_t collect_with_callback(pygc_heap *h, int generation) {
  pygc_collect_info info = {generation, 0, 0, 0, 0.0};
  if (h->hooks.callback) h->hooks.callback(h->hooks.ud, h, "start", &info);
  double t0 = now_seconds();
  size_t candidates = 0;
  intptr_t result = collect_main(h, generation, &info.collected, &info.uncollectable, &candidates);
  info.duration = now_seconds() - t0;
  info.candidates = (intptr_t)candidates;
  if (h->hooks.callback) h->hooks.callback(h->hooks.ud, h, "stop", &info);
  return result;
}

/* The automatic collection: the oldest generation whose count exceeds its
 * threshold, as CPython's gc_collect_generations. */
static void collect_generations(pygc_heap *h) {
  if (h->incremental) { /* the young generation and an increment of the old */
    collect_with_callback(h, h->inc_full_due ? 2 : 1);
    return;
  }
  for (int i = 2; i >= 0; i--) {
    if (h->gen[i].count > h->gen[i].threshold) {
      /* the full-collection guard: only when enough new long-lived
       * objects have piled up since the last one */
      if (i == 2 && h->long_lived_pending < h->long_lived_total / 4) continue;
      collect_with_callback(h, i);
      break;
    }
  }
}

/* Called after each GC allocation.  h->collecting keeps collections from
 * nesting (finalizers allocate); h->destroying keeps pygc_heap_free from
 * running host code; threshold 0 disables, as CPython's. */
void pygc__gc_maybe_collect(pygc_heap *h) {
  if (h->gen[0].count > h->gen[0].threshold && h->enabled && h->gen[0].threshold && !h->collecting &&
      !h->destroying) {
    h->collecting = 1;
    collect_generations(h);
    h->collecting = 0;
  }
}

/* ---- the gc module's functions ------------------------------------------- */

intptr_t pygc_collect(pygc_heap *h, int generation) {
  if (generation < 0 || generation > 2) return -1;
  if (h->collecting || h->destroying) return 0;
  h->collecting = 1;
  intptr_t n = collect_with_callback(h, generation);
  h->collecting = 0;
  return n;
}

void pygc_enable(pygc_heap *h) { h->enabled = 1; }
void pygc_disable(pygc_heap *h) { h->enabled = 0; }
int pygc_isenabled(const pygc_heap *h) { return h->enabled; }
/* A full collection in which one reference of every object with flag
 * `held` is the host's, lent for the collection: garbage that only it
 * keeps is found and counted; the host drops those references after. */
intptr_t pygc_collect_holding(pygc_heap *h, unsigned held) {
  h->held = held;
  intptr_t n = pygc_collect(h, 2);
  h->held = 0;
  return n;
}

int pygc_is_collecting(const pygc_heap *h) { return h->collecting; }
void pygc_set_debug(pygc_heap *h, int flags) { h->debug = flags; }
int pygc_get_debug(const pygc_heap *h) { return h->debug; }

void pygc_set_threshold(pygc_heap *h, int generation, int64_t value) {
  if (generation >= 0 && generation < 3) h->gen[generation].threshold = value;
}
int64_t pygc_get_threshold(const pygc_heap *h, int generation) {
  return generation >= 0 && generation < 3 ? h->gen[generation].threshold : 0;
}
int64_t pygc_get_count(const pygc_heap *h, int generation) {
  return generation >= 0 && generation < 3 ? h->gen[generation].count : 0;
}

void pygc_get_stats(const pygc_heap *h, pygc_gen_stats out[3]) {
  for (int i = 0; i < 3; i++) out[i] = h->stats[i];
}

/* gc.freeze(): the permanent generation is never collected (CPython uses
 * it to keep pre-fork objects' pages unshared).  The frozen flag keeps
 * the incremental collector's closure from pulling frozen objects in. */
void pygc_freeze(pygc_heap *h) {
  gc_head moved;
  gclist_init(&moved);
  for (int i = 0; i < 3; i++) gclist_merge(&h->gen[i].head, &moved);
  gclist_merge(&h->visited, &moved);
  /* marked, so that an increment never pulls a frozen object in */
  for (pygc_object *o = moved.gc_next; o != &moved; o = o->gc_next) o->flags |= F_FROZEN;
  gclist_merge(&moved, &h->permanent);
  h->gen[0].count = 0;
}

void pygc_unfreeze(pygc_heap *h) {
  for (pygc_object *o = h->permanent.gc_next; o != &h->permanent; o = o->gc_next) {
    o->flags &= ~F_FROZEN;
    set_space(h, o, 0);
  }
  gclist_merge(&h->permanent, &h->gen[2].head);
}
size_t pygc_get_freeze_count(const pygc_heap *h) { return gclist_size(&h->permanent); }
pygc_object *pygc_garbage(pygc_heap *h) { return h->garbage; }
