/*
 * luavalues.c -- Lua values inside the heap, and one collection of both heaps.
 *
 * A Lua table, function, coroutine or userdata stored in a pygc container
 * is held by a small pygc object of its own, an lref ("Lua reference"):
 * one per Lua value (KEY_VALS: value -> lref, weak keys), so identity,
 * hashing and equality are the lref's and hence the value's.  The lref
 * holds the value strongly through a slot of KEY_ANCHORS (a luaL_ref
 * table) for as long as it lives; reading a slot gives the value back
 * (rawequal).  lrefs are tracked, hold no pygc reference, and carry
 * PYGC_FLAG_HOST3.
 *
 * Anchoring makes every stored value a Lua root, so a cycle through both
 * heaps (a table holding a handle to an instance that holds the table)
 * would live forever.  cross_collect breaks that, asking Lua's collector,
 * the only complete judge of Lua reachability:
 *
 *   1. pygc_cross_set finds the set M: objects that only other objects
 *      and handles refer to, and that reach an lref (lib/cross.c).  We
 *      hold a reference to each for the whole collection.
 *   2. Each object of M gets a keeper table K; K(parent) refers to
 *      K(child) for every edge inside M; the handle of an object of M maps
 *      to its K in an ephemeron table (weak keys); an lref's K holds its
 *      value, and the value's anchor slot holds false meanwhile.  A Lua
 *      value is now reachable in Lua exactly when some Lua root reaches it
 *      through handles and keepers, or directly.
 *   3. A full Lua collection.  Handles that only garbage reaches are
 *      finalized by Lua (their references dropped).  An lref's keeper has a
 *      __gc: Lua resurrects an unreachable keeper for it, with what it
 *      holds, so a value is never freed while its lref lives; the keeper's
 *      __gc puts the value back in its anchor.  Keepers are the newest
 *      objects with finalizers, so Lua runs their __gc before any other
 *      finalizer of that cycle (finalizers run newest first): every other
 *      finalizer reads anchors already restored, or a keeper still
 *      reachable through KEY_MIRROR (weak values).
 *   4. Every anchor is restored, the keepers dropped, our references to M
 *      released; then pygc's full collection frees what is now garbage.
 *      What dies lets its values go: Lua frees them in its next cycle.
 *
 * Nothing is lost if the mirror is incomplete (a handle missing from the
 * identity cache, say): the object stays alive through the unmirrored
 * reference and its values are restored before anything is freed.
 * Programs that store no Lua values never get past step 1's first test.
 */
#include "lpygc_int.h"

#include <stdio.h>

typedef struct lref {
  pygc_object head;
  int ref;         /* slot in KEY_ANCHORS, LUA_NOREF until anchored */
  const void *ptr; /* the value's address, for repr */
} lref;

static int lref_traverse(pygc_object *self, pygc_visit_fn visit, void *arg) {
  (void)self, (void)visit, (void)arg;
  return 0;
}

static size_t lref_size(const pygc_object *self) {
  (void)self;
  return sizeof(lref);
}

static void lref_dealloc(pygc_heap *h, pygc_object *self);

#define LREF_REPR(fn, what)                                                                                        \
  static void fn(const pygc_object *self, char *buf, size_t size) {                                                \
    snprintf(buf, size, "<Lua " what " at %p>", ((const lref *)self)->ptr);                                        \
  }
LREF_REPR(repr_table, "table")
LREF_REPR(repr_function, "function")
LREF_REPR(repr_thread, "coroutine")
LREF_REPR(repr_userdata, "userdata")
LREF_REPR(repr_light, "light userdata")

#define LREF_TYPE(var, tname, reprfn)                                                                              \
  const pygc_type var = {.name = tname,                                                                            \
                         .flags = PYGC_TYPE_GC,                                                                    \
                         .traverse = lref_traverse,                                                                \
                         .dealloc = lref_dealloc,                                                                  \
                         .size = lref_size,                                                                        \
                         .repr = reprfn};
LREF_TYPE(lpygc_lref_table, "Lua table", repr_table)
LREF_TYPE(lpygc_lref_function, "Lua function", repr_function)
LREF_TYPE(lpygc_lref_thread, "Lua coroutine", repr_thread)
LREF_TYPE(lpygc_lref_userdata, "Lua userdata", repr_userdata)
LREF_TYPE(lpygc_lref_light, "Lua light userdata", repr_light)

int lpygc_is_lref(const pygc_object *o) { return (o->flags & PYGC_FLAG_HOST3) != 0; }

static const pygc_type *lref_type_of(int t) {
  switch (t) {
  case LUA_TTABLE: return &lpygc_lref_table;
  case LUA_TFUNCTION: return &lpygc_lref_function;
  case LUA_TTHREAD: return &lpygc_lref_thread;
  case LUA_TUSERDATA: return &lpygc_lref_userdata;
  case LUA_TLIGHTUSERDATA: return &lpygc_lref_light;
  default: return NULL;
  }
}

const char *lpygc_lua_kind(lua_State *L, int idx) {
  const pygc_type *t = lref_type_of(lua_type(L, idx));
  return t ? t->name : NULL;
}

/* The lref's value goes when it does.  Runs inside heap operations: only
 * lookups and stores into existing slots (no Lua allocation, no Lua code). */
static void lref_dealloc(pygc_heap *h, pygc_object *self) {
  lref *w = (lref *)self;
  pygc_hooks hk;
  pygc_get_hooks(h, &hk);
  binding *B = hk.ud;
  if (B == NULL || B->closed) return;
  B->nlref--;
  lua_State *L = B->hookL;
  if (w->ref == LUA_NOREF || L == NULL || !lua_checkstack(L, 5)) return;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  int anchors = lua_gettop(L);
  lua_rawgeti(L, anchors, w->ref); /* the value */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_VALS);
  lua_pushvalue(L, -2);
  if (lua_rawget(L, -2) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == (void *)w) {
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_pushnil(L);
    lua_rawset(L, -3);
  } else {
    lua_pop(L, 1);
  }
  lua_settop(L, anchors);
  luaL_unref(L, anchors, w->ref);
  w->ref = LUA_NOREF;
  lua_pop(L, 1);
}

/* Push the value an lref holds (rawequal to the one stored). */
void lpygc_push_lref(lua_State *L, const pygc_object *o) {
  const lref *w = (const lref *)o;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  if (lua_rawgeti(L, -1, w->ref) == LUA_TBOOLEAN) {
    /* moved into its keeper by a cross-heap collection running now */
    lua_pop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MIRROR);
    if (lua_type(L, -1) == LUA_TTABLE && lua_rawgetp(L, -1, o) == LUA_TTABLE) {
      lua_rawgeti(L, -1, 1);
      lua_replace(L, -4);
      lua_pop(L, 2);
      return;
    }
    lua_pop(L, 2);
    lua_pushnil(L); /* cannot happen: see the order of finalizers above */
  }
  lua_remove(L, -2);
}

/* The lref of the Lua value at idx, or NULL if it has none yet. */
static lref *find_lref(lua_State *L, int idx) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_VALS);
  lua_pushvalue(L, idx < 0 && idx > LUA_REGISTRYINDEX ? idx - 1 : idx);
  lref *w = lua_rawget(L, -2) == LUA_TLIGHTUSERDATA ? lua_touserdata(L, -1) : NULL;
  lua_pop(L, 2);
  return w;
}

/* The value at idx as a new reference to its lref, if it has one; the
 * fast path of conversion: no allocation, no Lua code. */
int lpygc_lref_value(lua_State *L, int idx, pygc_value *out) {
  lref *w = find_lref(L, idx);
  if (w == NULL) return 0;
  pygc_incref(&w->head);
  *out = pygc_obj(&w->head);
  return 1;
}

/* Make sure the Lua reference value at idx has an lref.  May allocate in
 * Lua and in the heap, so it may run any Lua code: call it before taking
 * raw pointers from other arguments.  The new lref is owned by a private
 * handle left on the stack (1 pushed) until the value is stored, so a
 * memory error leaks nothing; 0 pushed when it had one already.  Callers
 * at a point where anything may run call lpygc_cross_pace after. */
int lpygc_prepare(lua_State *L, binding *B, int idx) {
  handle *hd;
  return lpygc_prepare_hd(L, B, idx, &hd);
}

/* The same, telling the caller whether idx holds a handle (*hd), so that
 * converting it after costs no second metatable check. */
int lpygc_prepare_hd(lua_State *L, binding *B, int idx, handle **hd) {
  int t = lua_type(L, idx);
  *hd = NULL;
  const pygc_type *type = lref_type_of(t);
  if (type == NULL) return 0;
  if (t == LUA_TUSERDATA && ((*hd = lpygc_tohandle_B(L, B, idx)) != NULL || lpygc_is_none_B(L, B, idx))) return 0;
  idx = lua_absindex(L, idx);
  if (find_lref(L, idx)) return 0;
  handle *box = lpygc_new_box(L);
  int boxidx = lua_gettop(L);
  lref *w = (lref *)pygc_object_new(B->heap, type, sizeof(lref));
  if (w == NULL) lpygc_nomem(L);
  w->ref = LUA_NOREF;
  w->ptr = lua_topointer(L, idx);
  w->head.flags |= PYGC_FLAG_HOST3;
  box->obj = &w->head; /* the creation reference is the box's now */
  w->head.flags |= PYGC_FLAG_HOST1 | PYGC_FLAG_HOST2; /* counted as a handle's: a candidate */
  box->box = 0;
  B->nlref++;
  B->lref_made++;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  lua_pushvalue(L, idx);
  w->ref = luaL_ref(L, -2);
  lua_pop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_VALS);
  lua_pushvalue(L, idx);
  lua_pushlightuserdata(L, w);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  pygc_track(B->heap, &w->head); /* may collect: the box holds w */
  lua_settop(L, boxidx);
  return 1;
}

/* ---- the collection of both heaps ------------------------------------------- */

typedef struct cross_set {
  binding *B;
  pygc_object **objs;
  size_t n, cap;
  int failed;
  /* the condensed graph the mirror is built from (pygc_cross_set) */
  size_t *node;       /* per object of objs: its node number + 1, or 0 */
  size_t nnodes;
  size_t *edges;      /* (from, to) node pairs */
  size_t nedges, ecap; /* entries used and room, in size_t */
  lua_State *L;        /* with the identity cache at index `cache` (cross_held) */
  int cache;
} cross_set;

static void cross_set_free(cross_set *s) {
  binding *B = s->B;
  B->af(B->aud, s->objs, s->cap * sizeof *s->objs, 0);
  B->af(B->aud, s->node, s->cap * sizeof *s->node, 0);
  B->af(B->aud, s->edges, s->ecap * sizeof *s->edges, 0);
}

/* The references Lua judges: only a handle the mirror maps to its
 * object's keeper (p_mirror: the one the identity cache holds, owning)
 * can be, for Lua sees through no other.  Any other owning handle -- an
 * object can have several (handles.c: lpygc_own), the cache keeps one,
 * and a script can clear it -- stays a root: its object is kept, with all
 * it reaches, as if C held it.  An lref's owner is its private box,
 * never mirrored: its value sits on the Lua stack, which Lua sees. */
static uint32_t cross_held(const pygc_object *o, void *arg) {
  cross_set *s = arg;
  if (!(o->flags & PYGC_FLAG_HOST2)) return 0;
  if (lpygc_is_lref(o)) return lpygc_owners(s->B, o);
  uint32_t n = 0;
  if (lpygc_cache_get(s->L, s->cache, o) == LUA_TUSERDATA) { /* reads only: no allocation, no Lua code */
    const handle *hd = lua_touserdata(s->L, -1);
    if (hd->obj == o && !hd->borrowed) n = 1;
  }
  lua_pop(s->L, 1);
  return n;
}

static int cross_gather(pygc_object *o, size_t node, void *arg) {
  cross_set *s = arg;
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 256;
    pygc_object **n = s->B->af(s->B->aud, s->objs, s->cap * sizeof *n, ncap * sizeof *n);
    if (n != NULL) s->objs = n;
    size_t *nd = n ? s->B->af(s->B->aud, s->node, s->cap * sizeof *nd, ncap * sizeof *nd) : NULL;
    if (nd == NULL) {
      if (n != NULL) s->objs = s->B->af(s->B->aud, n, ncap * sizeof *n, s->cap * sizeof *n); /* shrinks: cannot fail */
      s->failed = 1;
      o->flags &= ~PYGC_FLAG_HOST4;
      return 0;
    }
    s->node = nd;
    s->cap = ncap;
  }
  pygc_incref(o);
  s->node[s->n] = node;
  s->objs[s->n++] = o;
  if (node > s->nnodes) s->nnodes = node;
  return 0;
}

static int cross_edge(size_t from, size_t to, void *arg) {
  cross_set *s = arg;
  if (s->failed) return 0;
  if (s->nedges + 2 > s->ecap) {
    size_t ncap = s->ecap ? s->ecap * 2 : 256;
    size_t *n = s->B->af(s->B->aud, s->edges, s->ecap * sizeof *n, ncap * sizeof *n);
    if (n == NULL) {
      s->failed = 1;
      return 0;
    }
    s->edges = n;
    s->ecap = ncap;
  }
  s->edges[s->nedges++] = from;
  s->edges[s->nedges++] = to;
  return 0;
}

/* A keeper of an lref, finalized by Lua: put its value back in its anchor
 * if the collection still has it out (false), and let go of it. */
static int keeper_gc(lua_State *L) {
  lua_rawgeti(L, 1, 2);
  lua_Integer ref = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (ref <= 0) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  if (lua_rawgeti(L, -1, ref) == LUA_TBOOLEAN && !lua_toboolean(L, -1) && lua_rawgeti(L, 1, 1) != LUA_TNIL) {
    lua_rawseti(L, -3, ref); /* a keeper restored already (nil) belongs to an earlier collection */
  }
  lua_pushnil(L);
  lua_rawseti(L, 1, 1);
  return 0;
}

/* Lua's full collection; once more if it ran pygc finalizers (a handle's
 * __gc dropped the last reference to an object with __del): the handles
 * they made are garbage by now, and would keep what they reach alive over
 * pygc's collection, where Python's temporaries would be gone. */
static void full_lua_collection(lua_State *L, binding *B) {
  size_t runs = B->hook_runs;
  lua_gc(L, LUA_GCCOLLECT);
  if (B->hook_runs != runs) lua_gc(L, LUA_GCCOLLECT);
}

/* Lua finalized a handle to o, outside the set, while the mirror is out:
 * o joins the set with that handle's reference (mm_gc), so it is held, and
 * lent to pygc's collection, like the rest.  0 without room. */
int lpygc_cross_adopt(binding *B, pygc_object *o) {
  cross_set *s = B->xset;
  if (s == NULL) return 0;
  int failed = s->failed;
  s->failed = 0;
  cross_gather(o, 0, s); /* no keeper: the set is mirrored already */
  int ok = !s->failed;
  if (ok) {
    o->flags |= PYGC_FLAG_HOST4;
    pygc_decref(B->heap, o); /* the handle's reference is the set's now */
  }
  s->failed = failed;
  return ok;
}

/* Steps 2 and 3, in protected mode: allocation can fail or run anything. */
static int p_mirror(lua_State *L) {
  cross_set *s = lua_touserdata(L, 1);
  binding *B = s->B;
  lua_settop(L, 1);
  /* no finalizer runs while the mirror is built (the caller restarts Lua's
   * collector): the keepers must be the newest objects with finalizers */
  lua_gc(L, LUA_GCSTOP);
  /* KEY_MIRROR: lref -> keeper, weak values (lpygc_push_lref reads it) */
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MIRROR);
  int mirror = lua_gettop(L);
  /* handle -> keeper, weak keys (an ephemeron table) */
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_HANDMAP);
  int handmap = lua_gettop(L);
  /* every keeper (one per node of the condensed graph), strongly, until
   * the links are made; each sized for its edges */
  size_t nn = s->nnodes;
  size_t *deg = lua_newuserdatauv(L, (nn ? nn : 1) * sizeof *deg, 0); /* Lua's: nothing leaks on error */
  memset(deg, 0, (nn ? nn : 1) * sizeof *deg);
  for (size_t k = 0; k < s->nedges; k += 2) deg[s->edges[k]]++;
  lua_createtable(L, (int)(nn < 1 << 24 ? nn : 1 << 24), 0);
  int setup = lua_gettop(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_KEEPER_MT);
  int kmt = lua_gettop(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  int cache = lua_gettop(L);
  for (size_t i = 0; i < s->n; i++) {
    pygc_object *o = s->objs[i];
    size_t nd = s->node[i];
    if (nd == 0) continue;
    if (lpygc_is_lref(o)) {
      lua_createtable(L, 2, 0);
      lua_pushinteger(L, ((lref *)o)->ref);
      lua_rawseti(L, -2, 2);
      lua_pushvalue(L, kmt);
      lua_setmetatable(L, -2); /* marked for finalization now: newest of all */
      lua_pushvalue(L, -1);
      lua_rawsetp(L, mirror, o);
    } else {
      size_t d = deg[nd - 1];
      lua_createtable(L, (int)(d < 1 << 24 ? d : 1 << 24), 0);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, setup, (lua_Integer)nd);
    /* the handles into the set map to their object's keeper */
    if ((o->flags & PYGC_FLAG_HOST2) && lpygc_cache_get(L, cache, o) == LUA_TUSERDATA) {
      handle *hd = lua_touserdata(L, -1);
      if (hd->obj == o && !hd->borrowed) {
        lua_pushvalue(L, -2);
        lua_rawset(L, handmap);
      } else {
        lua_pop(L, 1);
      }
    } else if (o->flags & PYGC_FLAG_HOST2) {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  /* the condensed edges: keeper(from)[...] = keeper(to) */
  memset(deg, 0, (nn ? nn : 1) * sizeof *deg); /* now: edges stored per node */
  for (size_t k = 0; k < s->nedges; k += 2) {
    size_t from = s->edges[k], to = s->edges[k + 1];
    lua_rawgeti(L, setup, (lua_Integer)from + 1);
    lua_rawgeti(L, setup, (lua_Integer)to + 1);
    lua_rawseti(L, -2, (lua_Integer)++deg[from]);
    lua_pop(L, 1);
  }
  lua_settop(L, setup);
  /* move the values out of their anchors: from here to the full collection
   * nothing allocates */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  int anchors = lua_gettop(L);
  for (size_t i = 0; i < s->n; i++) {
    pygc_object *o = s->objs[i];
    if (!lpygc_is_lref(o) || s->node[i] == 0) continue; /* (an lref is always a node) */
    lua_rawgeti(L, setup, (lua_Integer)s->node[i]);
    lua_rawgeti(L, anchors, ((lref *)o)->ref);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    lua_rawseti(L, anchors, ((lref *)o)->ref);
  }
  /* room for every handle of the set that Lua may finalize (mm_gc) */
  size_t held = 0;
  for (size_t i = 0; i < s->n; i++)
    held += lpygc_owners(B, s->objs[i]);
  lpygc_borrow_reserve_n(L, B, &B->phase, held);
  lua_createtable(L, (int)(held < 1 << 24 ? held : 1 << 24), 0);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_LENT);
  B->lent = 0;
  lua_settop(L, 1); /* the keepers are Lua's to judge now */
  B->mirroring = 1;
  full_lua_collection(L, B);
  return 0;
}

/* Step 4: put every value back; no allocation, so it cannot fail. */
static void cross_restore(lua_State *L, cross_set *s) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  int anchors = lua_gettop(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MIRROR);
  int mirror = lua_gettop(L);
  for (size_t i = 0; i < s->n; i++) {
    pygc_object *o = s->objs[i];
    if (!lpygc_is_lref(o)) continue;
    int ref = ((lref *)o)->ref;
    if (lua_rawgeti(L, anchors, ref) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
      if (lua_type(L, mirror) == LUA_TTABLE && lua_rawgetp(L, mirror, o) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawseti(L, anchors, ref);
        lua_pushnil(L);
        lua_rawseti(L, -2, 1);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, anchors - 1);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MIRROR);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_HANDMAP);
}

static void cross_schedule(binding *B);

/* One collection of both heaps: a full Lua collection that sees through
 * the heap's objects, then pygc's full collection.  Returns what
 * pygc_collect returns. */
intptr_t lpygc_cross_collect(lua_State *L, binding *B) {
  if (B->crossing || pygc_is_collecting(B->heap)) return pygc_collect(B->heap, 2);
  B->crossing = 1;
  B->lref_made = 0;
  cross_set s = {B, NULL, 0, 0, 0, NULL, 0, NULL, 0, 0, L, 0};
  intptr_t n = 0;
  if (B->nlref && lua_checkstack(L, 2)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
    s.cache = lua_gettop(L);
    n = pygc_cross_set(B->heap, cross_held, PYGC_FLAG_HOST3, PYGC_FLAG_HOST4, cross_gather, cross_edge, &s);
    lua_pop(L, 1);
  }
  int st = LUA_OK;
  if (n > 0 && !s.failed) {
    B->xset = &s;
    int running = lua_gc(L, LUA_GCISRUNNING);
    lua_pushcfunction(L, p_mirror);
    lua_pushlightuserdata(L, &s);
    st = lua_pcall(L, 1, 0, 0);
    if (running) lua_gc(L, LUA_GCRESTART);
    B->mirroring = 0;
    B->xset = NULL;
    cross_restore(L, &s);
  } else {
    full_lua_collection(L, B);
  }
  /* pygc's full collection, our references lent to it: what Lua let go
   * of is garbage now, found and counted as Python's collector would */
  intptr_t r = 0;
  if (st == LUA_OK) r = pygc_collect_holding(B->heap, PYGC_FLAG_HOST4);
  /* the handles Lua finalized end now, if no finalizer phase ended them,
   * and the references deferred for them go */
  if (lua_checkstack(L, 4)) lpygc_borrow_end(L, B, &B->phase, 0);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_LENT);
  B->lent = 0;
  for (size_t i = 0; i < s.n; i++) s.objs[i]->flags &= ~PYGC_FLAG_HOST4;
  for (size_t i = 0; i < s.n; i++) pygc_decref(B->heap, s.objs[i]);
  cross_set_free(&s);
  B->crossing = 0;
  B->lref_live = B->nlref;
  cross_schedule(B);
  if (st != LUA_OK) lua_error(L); /* a memory error while mirroring: nothing was lost */
  return r;
}

/* Automatic collections cannot see cycles through Lua: run one of both
 * heaps when the lrefs made since the last one outnumber a quarter of the
 * tracked objects (and at least LPYGC_CROSS_MIN), so that a program that
 * churns such cycles runs in memory proportional to what it keeps. */
void lpygc_cross_pace(lua_State *L, binding *B) {
  if (B->lref_made < B->cross_next || B->crossing || !pygc_isenabled(B->heap) || pygc_is_collecting(B->heap))
    return;
  lpygc_cross_collect(L, B);
}

/* the next automatic collection of both heaps, set after each one (the
 * heap's size is a walk of its lists: not something to ask per lref) */
static void cross_schedule(binding *B) {
  pygc_heap_info in;
  pygc_heap_get_info(B->heap, &in);
  B->cross_next = in.tracked / 4 > LPYGC_CROSS_MIN ? in.tracked / 4 : LPYGC_CROSS_MIN;
}

void lpygc_luavalues_open(lua_State *L, binding *B) {
  B->cross_next = LPYGC_CROSS_MIN;
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_ANCHORS);
  lua_newtable(L); /* value -> lref, weak keys */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_VALS);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, keeper_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "pygc.keeper");
  lua_setfield(L, -2, "__metatable");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_KEEPER_MT);
}
