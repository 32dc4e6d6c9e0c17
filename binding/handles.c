/*
 * handles.c -- handles, and values crossing between Lua and the heap.
 *
 * THE LIFETIME MODEL (read this before touching any handle code)
 *
 * A handle is a full userdata { obj, borrowed, inphase, slot, tag } whose
 * metatable is the shared, protected object metatable.  The tag is the
 * handle's address mixed with a per-heap secret (HANDLE_TAG): the hot
 * paths tell a handle by its length and tag (lpygc_tohandle_B), which no
 * Lua script can forge since only C code writes userdata; cold paths still
 * compare metatables (lpygc_tohandle).  Who owns what:
 *
 *   owning handle    holds one reference to obj, like a C-level reference
 *                    in CPython.  obj cannot die while the handle holds it;
 *                    the reference is dropped by __gc, __close or
 *                    gc.release, which set obj to NULL first.
 *   borrowed handle  holds no reference.  It is lent to Lua only by hook
 *                    code: a finalizer's self, the obj argument of
 *                    gc.unraisablehook, and any handle made while a
 *                    collection runs finalizers for an object of that
 *                    collection's unreachable set (pygc_is_unreachable).
 *                    Every borrowed handle is listed, from C, in one of two
 *                    lists, and its borrow ends -- obj becomes NULL, so any
 *                    later use raises "use of a released handle" -- at the
 *                    first of:
 *                      - the end of the hook call that lent it (B->scoped:
 *                        run_protected in hooks.c opens and closes a scope
 *                        around every hook);
 *                      - the end of the collection's finalizer phase, for
 *                        handles to its unreachable set (B->phase, ended by
 *                        the core's `finalized` hook, before the
 *                        resurrection check: reading a cycle inside __del
 *                        never keeps it alive);
 *                      - obj being freed (hooks.freed: the lists are
 *                        searched, never only the weak cache);
 *                      - Lua collecting the handle (__gc drops the slot).
 *                    A borrowed handle becomes owning when a path that is
 *                    not part of a collection's unreachable set yields its
 *                    object (l[1] = self; local x = l[1]): identity holds,
 *                    and the Lua side then keeps the object alive.
 *
 * The identity cache (registry KEY_CACHE, and the integer slot
 * B->ref_cache for the hot paths: object address, as an integer key
 * (lpygc_cache_get) -> handle, weak values) only finds the live handle of an object so that every path
 * yields the same userdata.  Nothing depends on it for safety: Lua clears
 * weak entries before it runs finalizers, and scripts can clear it through
 * debug.getregistry(); a lookup always checks that the handle it found
 * still holds the object it is filed under.
 *
 * Threads.  Hooks (finalizers, gc.callbacks, unraisablehook) run on
 * B->hookL, a thread made at luaopen and anchored in the registry: it is
 * never suspended, never dead, never collected.  B->L is the thread that
 * last entered pygc (the tracer reads its stack for tracebacks); it is
 * anchored in the registry whenever it changes (lpygc_enter), so a
 * coroutine that called pygc and then died cannot be freed under it.
 *
 * Allocation.  Any Lua allocation can run __gc, hence __del, hence any API
 * function.  So: no raw pygc pointer is kept across a Lua allocation
 * unless a reference is held (callers of lpygc_pushobject hold one), a
 * handle's userdata is made before the reference it will own is taken (a
 * memory error then leaks nothing), and list storage for borrowed handles
 * comes from the state's allocator directly, which never runs Lua code.
 * A new list or dict gets a blank handle before the object exists
 * (lpygc_handle_reserve), then the creation reference (lpygc_handle_bind):
 * between the two only the heap runs, and a finalizer it runs that gives the
 * object a handle first (gc.get_objects) is seen by the bind.
 */
#include "lpygc_int.h"

/* ---- the binding and handles -------------------------------------------- */

int lpygc_closed_error(lua_State *L) { return luaL_error(L, "pygc: the heap is closed"); }

int lpygc_nomem(lua_State *L) { return luaL_error(L, "not enough memory"); }

/* Is the value at idx a handle?  Compares metatables by identity (the
 * registry keeps ours under a light key): luaL_testudata would look the
 * name up as a string, which costs a strcmp on every call. */
handle *lpygc_tohandle(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  int ok = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return ok ? p : NULL;
}

handle *lpygc_checkhandle(lua_State *L, int idx) {
  handle *hd = lpygc_tohandle(L, idx);
  if (hd == NULL) luaL_typeerror(L, idx, MT_OBJECT);
  return hd;
}

int lpygc_is_none(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_NONE);
  int ok = lua_rawequal(L, -1, idx < 0 && idx > LUA_REGISTRYINDEX ? idx - 1 : idx);
  lua_pop(L, 1);
  return ok;
}

pygc_object *lpygc_checkobj(lua_State *L, int idx) {
  handle *hd = lpygc_checkhandle(L, idx);
  if (hd->obj == NULL) luaL_error(L, "pygc: use of a released handle");
  return hd->obj;
}

static void pace(lua_State *L, binding *B) {
  /* Lua does not see pygc's bytes, yet dead handles pin them: pay for
   * pygc's growth with steps of Lua's collector */
  size_t now = pygc_heap_bytes(B->heap);
  if (now < B->paced) {
    B->paced = now;
  } else if (now - B->paced >= PACE_BYTES) {
    size_t kb = (now - B->paced) / 1024;
    B->paced = now;
    lua_gc(L, LUA_GCSTEP, (int)(kb > 1 << 20 ? 1 << 20 : kb));
  }
}

/* ---- owning handles, counted ------------------------------------------------ */

/* The heap must know exactly how many of an object's references are owning
 * handles: a collection of both heaps (luavalues.c) counts them as edges
 * Lua judges, and every other reference as a root.  PYGC_FLAG_HOST2 says
 * "at least one".  A second owning handle is rare but real: Lua clears a
 * handle's weak cache entry when it finds the handle garbage, before its
 * __gc runs, and a path that yields the object meanwhile (a finalizer
 * reading its cycle) makes a new one; a script can also clear the cache
 * through debug.getregistry().  The extra ones are counted in B->extra. */
/* B->extra is an open-addressing hash table (linear probing, a power of
 * two in size, at most half full; o == NULL marks a free slot): a burst of
 * second handles (a finalizer that reads a large dying structure makes
 * one per object) must not make every handle's release a linear search. */
static size_t extra_slot(const binding *B, const pygc_object *o) {
  uint64_t x = (uint64_t)(uintptr_t)o;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & (B->extracap - 1);
}

static struct owner_extra *extra_find(const binding *B, const pygc_object *o) {
  if (B->nextra == 0) return NULL;
  for (size_t i = extra_slot(B, o);; i = (i + 1) & (B->extracap - 1)) {
    if (B->extra[i].o == o) return &B->extra[i];
    if (B->extra[i].o == NULL) return NULL;
  }
}

/* Room for one more entry; 0 without memory (nothing changed then). */
static int extra_room(binding *B) {
  if ((B->nextra + 1) * 2 <= B->extracap) return 1;
  size_t ocap = B->extracap, ncap = ocap ? ocap * 2 : 16;
  if (ncap > SIZE_MAX / 2 / sizeof *B->extra) return 0;
  struct owner_extra *n = B->af(B->aud, NULL, 0, ncap * sizeof *n);
  if (n == NULL) return 0;
  memset(n, 0, ncap * sizeof *n);
  struct owner_extra *old = B->extra;
  B->extra = n;
  B->extracap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (old[i].o == NULL) continue;
    size_t j = extra_slot(B, old[i].o);
    while (n[j].o) j = (j + 1) & (ncap - 1);
    n[j] = old[i];
  }
  B->af(B->aud, old, ocap * sizeof *old, 0);
  return 1;
}

/* Remove the entry at e, moving later entries of its probe run back. */
static void extra_remove(binding *B, struct owner_extra *e) {
  size_t mask = B->extracap - 1, i = (size_t)(e - B->extra);
  for (size_t j = (i + 1) & mask; B->extra[j].o; j = (j + 1) & mask) {
    size_t home = extra_slot(B, B->extra[j].o);
    /* j's entry may fill the hole at i if its home is not in (i, j] */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      B->extra[i] = B->extra[j];
      i = j;
    }
  }
  B->extra[i].o = NULL;
  B->extra[i].extra = 0;
  B->nextra--;
}

/* One more owning handle's reference to o (the caller's handle takes it).
 * Raises a memory error before changing anything. */
void lpygc_own(lua_State *L, binding *B, pygc_object *o) {
  if (o->flags & PYGC_FLAG_HOST2) {
    struct owner_extra *e = extra_find(B, o);
    if (e == NULL) {
      if (!extra_room(B)) lpygc_nomem(L);
      size_t i = extra_slot(B, o);
      while (B->extra[i].o) i = (i + 1) & (B->extracap - 1);
      e = &B->extra[i];
      e->o = o;
      e->extra = 0;
      B->nextra++;
    }
    if (e->extra == UINT32_MAX) luaL_error(L, "pygc: too many handles to one object");
    e->extra++;
  }
  pygc_incref(o);
  o->flags |= PYGC_FLAG_HOST2;
}

/* An owning handle of o lets go of its reference (the caller drops it). */
void lpygc_disown(binding *B, pygc_object *o) {
  struct owner_extra *e = extra_find(B, o);
  if (e == NULL) {
    o->flags &= ~PYGC_FLAG_HOST2;
  } else if (--e->extra == 0) {
    extra_remove(B, e);
  }
}

/* How many of o's references are owning handles. */
uint32_t lpygc_owners(const binding *B, const pygc_object *o) {
  if (!(o->flags & PYGC_FLAG_HOST2)) return 0;
  const struct owner_extra *e = extra_find(B, o);
  return e ? 1 + e->extra : 1;
}

/* ---- borrowed handles ----------------------------------------------------- */

/* Room for one more entry; raises a memory error (nothing to undo yet). */
static void borrow_reserve(lua_State *L, binding *B, borrow_list *l) {
  if (l->n < l->cap) return;
  size_t ncap = l->cap ? l->cap * 2 : 16;
  if (ncap > UINT32_MAX) lpygc_nomem(L);
  handle **n = B->af(B->aud, l->items, l->cap * sizeof *n, ncap * sizeof *n);
  if (n == NULL) lpygc_nomem(L);
  l->items = n;
  l->cap = ncap;
}

/* Room for `extra` more entries at once (a cross-heap collection makes
 * sure its finalized handles find room without allocating). */
void lpygc_borrow_reserve_n(lua_State *L, binding *B, borrow_list *l, size_t extra) {
  while (l->cap - l->n < extra) {
    size_t n = l->n;
    l->n = l->cap; /* full: borrow_reserve doubles */
    borrow_reserve(L, B, l);
    l->n = n;
  }
}

/* Take hd out of its list (its borrow ended some other way). */
static void borrow_unlist(binding *B, handle *hd) {
  borrow_list *l = hd->inphase ? &B->phase : &B->scoped;
  if (hd->slot < l->n && l->items[hd->slot] == hd) l->items[hd->slot] = NULL;
  hd->borrowed = 0;
}

/* End hd's borrow: released, and out of the identity cache.  Stores nil
 * only, so it allocates nothing. */
static void borrow_end_one(lua_State *L, const binding *B, handle *hd) {
  pygc_object *o = hd->obj;
  hd->obj = NULL;
  hd->borrowed = 0;
  if (o == NULL) return;
  lpygc_push_cache(L, B);
  if (lpygc_cache_get(L, -1, o) == LUA_TUSERDATA && lua_touserdata(L, -1) == (void *)hd) {
    lua_pushnil(L);
    lpygc_cache_set(L, -3, o);
  }
  lua_pop(L, 2);
}

/* End every borrow of l lent since mark (innermost first). */
void lpygc_borrow_end(lua_State *L, binding *B, borrow_list *l, size_t mark) {
  while (l->n > mark) {
    handle *hd = l->items[--l->n];
    if (hd) borrow_end_one(L, B, hd);
  }
}

/* The borrowed handle of o, if one is listed (the cache may have lost it). */
static handle *borrow_find(binding *B, const pygc_object *o) {
  borrow_list *ls[2] = {&B->scoped, &B->phase};
  for (int k = 0; k < 2; k++)
    for (size_t i = ls[k]->n; i-- > 0;)
      if (ls[k]->items[i] && ls[k]->items[i]->obj == o) return ls[k]->items[i];
  return NULL;
}

/* o is being freed: end its borrowed handle, wherever it is known. */
void lpygc_borrow_forget(lua_State *L, binding *B, pygc_object *o) {
  lpygc_push_cache(L, B);
  handle *hd = NULL;
  if (lpygc_cache_get(L, -1, o) == LUA_TUSERDATA) {
    hd = lua_touserdata(L, -1);
    if (hd->obj != o) hd = NULL;
  }
  lua_pop(L, 2);
  if (hd == NULL && (B->scoped.n || B->phase.n)) hd = borrow_find(B, o);
  if (hd == NULL) return;
  if (hd->borrowed) borrow_unlist(B, hd);
  borrow_end_one(L, B, hd);
}

void lpygc_borrow_free(binding *B) {
  B->af(B->aud, B->scoped.items, B->scoped.cap * sizeof(handle *), 0);
  B->af(B->aud, B->phase.items, B->phase.cap * sizeof(handle *), 0);
  memset(&B->scoped, 0, sizeof B->scoped);
  memset(&B->phase, 0, sizeof B->phase);
}

/* Would a handle made now for o have to be borrowed? */
static int must_borrow(const binding *B, const pygc_object *o) { return B->phase_open && pygc_is_unreachable(o); }

/* Make a new handle for o on the stack and file it in the cache (at -1 on
 * entry; removed).  Borrowed handles go into their list, owning ones take
 * their reference only now that the userdata exists. */
static void new_handle(lua_State *L, binding *B, pygc_object *o, int borrowed, borrow_list *l) {
  if (borrowed) borrow_reserve(L, B, l);
  handle *hd = lpygc_handle_reserve(L, B);
  /* the allocation may have run finalizers that made a handle for o */
  if ((o->flags & PYGC_FLAG_HOST1) && lpygc_cache_get(L, -2, o) == LUA_TUSERDATA &&
      ((handle *)lua_touserdata(L, -1))->obj == o) {
    handle *old = lua_touserdata(L, -1);
    if (old->borrowed && !borrowed) {
      lpygc_own(L, B, o);
      borrow_unlist(B, old);
    }
    lua_remove(L, -2); /* drop ours: it has no metatable, nothing to finalize */
    lua_remove(L, -2);
    return;
  }
  if (o->flags & PYGC_FLAG_HOST1) lua_pop(L, 1);
  if (borrowed) {
    if (l->n == l->cap) borrow_reserve(L, B, l); /* finalizers above may have used the room */
    hd->borrowed = 1;
    hd->inphase = l == &B->phase;
    hd->slot = (uint32_t)l->n;
    l->items[l->n++] = hd;
    pygc_watch(o); /* hooks.freed ends the borrow if o dies first */
  } else {
    lpygc_own(L, B, o); /* counted: see luavalues.c */
  }
  hd->obj = o;
  o->flags |= PYGC_FLAG_HOST1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, B->ref_mt);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lpygc_cache_set(L, -3, o);
  lua_remove(L, -2);
}

/* Push the handle of o (the caller holds a reference for the call).
 * Reuses the live handle if there is one. */
void lpygc_pushobject(lua_State *L, binding *B, pygc_object *o) {
  if (lpygc_is_lref(o)) { /* a Lua value held by the heap: Lua gets the value */
    lpygc_push_lref(L, o);
    return;
  }
  int borrow = must_borrow(B, o);
  lpygc_push_cache(L, B);
  /* an object that never had a handle has none to find */
  if ((o->flags & PYGC_FLAG_HOST1) && lpygc_cache_get(L, -1, o) == LUA_TUSERDATA) {
    handle *hd = lua_touserdata(L, -1);
    if (hd->obj == o) {
      if (hd->borrowed && !borrow) { /* a path that yields the object gives ownership */
        lpygc_own(L, B, o);
        borrow_unlist(B, hd);
      }
      lua_remove(L, -2);
      return;
    }
  }
  if (o->flags & PYGC_FLAG_HOST1) lua_pop(L, 1);
  new_handle(L, B, o, borrow, &B->phase);
  if (!borrow) pace(L, B);
}

/* A blank handle at the top of the stack, the one way every handle and box
 * is made: made before the object it will hold (gc.new_list(), C()), a
 * memory error or a finalizer this allocation runs finds nothing
 * half-made, and the object needs no identity-cache lookup, having had no
 * handle yet.  B is NULL only for a box made when no binding is
 * registered (untagged: never taken for a handle). */
handle *lpygc_handle_reserve(lua_State *L, const binding *B) {
  handle *hd = lua_newuserdatauv(L, sizeof(handle), 0);
  hd->obj = NULL;
  hd->borrowed = 0;
  hd->inphase = 0;
  hd->slot = 0;
  hd->box = 0;
  hd->tag = B ? HANDLE_TAG(B, hd) : 0;
  return hd;
}

/* Give o, just made, the blank handle hd at the top of the stack (what
 * lpygc_handle_reserve returned), with the creation reference the caller
 * hands over.  Allocates in Lua only to file
 * the handle in the cache (a table's growth: a memory error at worst, which
 * runs no finalizer), once the handle owns o. */
void lpygc_handle_bind(lua_State *L, binding *B, handle *hd, pygc_object *o) {
  hd->obj = o;
  lua_rawgeti(L, LUA_REGISTRYINDEX, B->ref_mt);
  lua_setmetatable(L, -2);
  if (o->flags & PYGC_FLAG_HOST1) {
    /* a finalizer run by the heap's collection while o was made found it
     * (gc.get_objects) and gave it a handle: identity wants that one, or a
     * new filed one.  Ours holds the creation reference meanwhile, unfiled
     * (Lua's collector drops it if the push raises), then lets it go. */
    lpygc_pushobject(L, B, o);
    hd->obj = NULL;
    pygc_decref(B->heap, o); /* the handle on top holds o */
    lua_remove(L, -2);
    return;
  }
  o->flags |= PYGC_FLAG_HOST1 | PYGC_FLAG_HOST2;
  lpygc_push_cache(L, B);
  lua_pushvalue(L, -2);
  lpygc_cache_set(L, -2, o);
  lua_settop(L, -2);
  pace(L, B);
}

/* A borrowed handle for hook code (a finalizer's self, the object of an
 * unraisable error): it ends with the hook call, or with the finalizer
 * phase for an object of the collection's unreachable set. */
void lpygc_pushborrowed(lua_State *L, binding *B, pygc_object *o) {
  lpygc_push_cache(L, B);
  if ((o->flags & PYGC_FLAG_HOST1) && lpygc_cache_get(L, -1, o) == LUA_TUSERDATA) {
    if (((handle *)lua_touserdata(L, -1))->obj == o) {
      lua_remove(L, -2);
      return;
    }
  }
  if (o->flags & PYGC_FLAG_HOST1) lua_pop(L, 1);
  new_handle(L, B, o, 1, must_borrow(B, o) ? &B->phase : &B->scoped);
}

/* Push the live owning handle of o if the cache has one (1), else nothing
 * (0).  No allocation, no Lua code: a caller need not hold o for it. */
int lpygc_push_known(lua_State *L, binding *B, pygc_object *o) {
  if (!(o->flags & PYGC_FLAG_HOST1) || (o->flags & PYGC_FLAG_HOST3)) return 0;
  lpygc_push_cache(L, B);
  if (lpygc_cache_get(L, -1, o) == LUA_TUSERDATA) {
    handle *hd = lua_touserdata(L, -1);
    if (hd->obj == o && !hd->borrowed) {
      lua_remove(L, -2);
      return 1;
    }
  }
  lua_settop(L, -3);
  return 0;
}

void lpygc_pushvalue(lua_State *L, binding *B, pygc_value v) {
  switch (v.tag) {
  case PYGC_TNONE: lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_NONE); return;
  case PYGC_TBOOL: lua_pushboolean(L, v.u.b); return;
  case PYGC_TINT: lua_pushinteger(L, (lua_Integer)v.u.i); return;
  case PYGC_TFLOAT: lua_pushnumber(L, v.u.f); return;
  default: break;
  }
  pygc_object *o = v.u.o;
  pygc_incref(o);
  size_t len;
  const char *s = pygc_str_data(o, &len);
  if (s)
    lua_pushlstring(L, s, len);
  else
    lpygc_pushobject(L, B, o);
  pygc_decref(B->heap, o);
}

void lpygc_release_handle(lua_State *L, binding *B, handle *hd) {
  pygc_object *o = hd->obj;
  (void)L;
  if (o == NULL) return;
  hd->obj = NULL;
  if (B->closed) return;
  /* the cache entry may stay: its value is weak, and a lookup checks that
   * the handle still holds the object it is filed under */
  if (hd->borrowed) {
    borrow_unlist(B, hd);
  } else {
    if (!hd->box) lpygc_disown(B, o);
    pygc_decref(B->heap, o);
  }
}

/* A blank owning handle, filed nowhere: owns a reference the caller hands
 * it (hd->obj = o), so that Lua's collector drops it if an error comes
 * first.  Never given to Lua code. */
handle *lpygc_new_box(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_BINDING);
  const binding *B = lua_touserdata(L, -1);
  lua_pop(L, 1);
  handle *hd = lpygc_handle_reserve(L, B);
  hd->box = 1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  lua_setmetatable(L, -2);
  return hd;
}

/* ---- Lua values to pygc values -------------------------------------------- */

/* What a pygc container cannot hold: nil only (None is gc.None). */
const char *lpygc_unstorable(lua_State *L, int idx) { return lua_isnil(L, idx) ? "nil" : NULL; }

/* Is the value at idx a Lua value the heap holds through an lref? */
int lpygc_is_luaref(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TTABLE:
  case LUA_TFUNCTION:
  case LUA_TTHREAD:
  case LUA_TLIGHTUSERDATA: return 1;
  case LUA_TUSERDATA: return !lpygc_tohandle(L, idx) && !lpygc_is_none(L, idx);
  default: return 0;
  }
}

static int p_prepare(lua_State *L) { return lpygc_prepare(L, lua_touserdata(L, 1), 2); }

/* The lref of the Lua value at idx, made if need be (a new reference). */
static pygc_value luaref_value(lua_State *L, binding *B, int idx, pygc_value *pending) {
  pygc_value v;
  if (lpygc_lref_value(L, idx, &v)) return v;
  int top = lua_gettop(L);
  idx = lua_absindex(L, idx);
  if (pending) { /* making it can fail: drop the pending value first */
    lua_pushcfunction(L, p_prepare);
    lua_pushlightuserdata(L, B);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
      pygc_value_decref(B->heap, *pending);
      lua_error(L);
    }
  } else {
    lpygc_prepare(L, B, idx);
  }
  if (!lpygc_lref_value(L, idx, &v)) { /* cannot happen: the box holds it */
    if (pending) pygc_value_decref(B->heap, *pending);
    lpygc_nomem(L);
  }
  lua_settop(L, top);
  return v;
}

/* Convert the Lua value at idx; the result is a new reference.  On error,
 * *pending (if any) is released first so nothing leaks.  A Lua value seen
 * for the first time gets its lref, which can run any Lua code: callers
 * that hold raw pointers call lpygc_prepare first. */
pygc_value lpygc_tovalue_p(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending) {
  /* the common case first: a handle (one metatable check, not two) */
  return lpygc_tovalue_hd(L, B, idx, where, pending, lpygc_tohandle_B(L, B, idx));
}

/* The same, when the caller has already asked whether idx is a handle
 * (hd: the answer, NULL for no). */
pygc_value lpygc_tovalue_hd(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending, handle *hd) {
  if (hd) {
    if (hd->obj == NULL) {
      if (pending) pygc_value_decref(B->heap, *pending);
      luaL_error(L, "pygc: use of a released handle");
    }
    pygc_incref(hd->obj);
    return pygc_obj(hd->obj);
  }
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    if (pending) pygc_value_decref(B->heap, *pending);
    luaL_error(L, "pygc: cannot store a nil in a pygc %s", where);
    break;
  case LUA_TBOOLEAN: return pygc_bool(lua_toboolean(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return pygc_int((int64_t)lua_tointeger(L, idx));
    return pygc_float((double)lua_tonumber(L, idx));
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    pygc_object *o = pygc_str_new(B->heap, s, len);
    if (o == NULL) {
      if (pending) pygc_value_decref(B->heap, *pending);
      lpygc_nomem(L);
    }
    return pygc_obj(o);
  }
  default: break;
  }
  if (lpygc_is_none(L, idx)) return pygc_none();
  return luaref_value(L, B, idx, pending);
}

pygc_value lpygc_tovalue(lua_State *L, binding *B, int idx, const char *where) {
  return lpygc_tovalue_p(L, B, idx, where, NULL);
}

const char *lpygc_kind_of(const pygc_object *o) {
  if (o->type == &pygc_list_type) return "list";
  if (o->type == &pygc_dict_type) return "dict";
  if (o->type == &pygc_tuple_type) return "tuple";
  if (o->type == &pygc_instance_type) return "instance";
  if (o->type == &pygc_class_type) return "class";
  return o->type->name;
}

/* the innermost unhashable type inside a key (a tuple may hide a list) */
static const char *unhashable_name(pygc_value key) {
  for (int depth = 0; depth < 1000 && key.tag == PYGC_TOBJ; depth++) {
    pygc_object *o = key.u.o;
    if (o->type != &pygc_tuple_type) return pygc_type_name(key);
    size_t n = pygc_tuple_len(o), i;
    pygc_value item = pygc_none();
    for (i = 0; i < n; i++) {
      pygc_tuple_get(o, i, &item);
      uint64_t hh;
      if (pygc_hash(NULL, item, &hh) != PYGC_OK) break;
    }
    if (i == n) return "tuple";
    key = item;
  }
  return pygc_type_name(key);
}

int lpygc_raise_status(lua_State *L, int st, pygc_value key) {
  switch (st) {
  case PYGC_ENOMEM: return lpygc_nomem(L);
  case PYGC_EUNHASHABLE: return luaL_error(L, "unhashable type: '%s'", unhashable_name(key));
  case PYGC_ENAN: return luaL_error(L, "pygc: NaN cannot be a dict key");
  case PYGC_EOVERFLOW: return luaL_error(L, "pygc: %s", "size or nesting too large");
  default: return luaL_error(L, "pygc: %s", pygc_strerror(st));
  }
}

/* one more slot in the phase list, from the raw allocator (no Lua code) */
static int phase_room(binding *B) {
  borrow_list *l = &B->phase;
  if (l->n < l->cap) return 1;
  size_t ncap = l->cap ? l->cap * 2 : 64;
  if (ncap > UINT32_MAX) return 0;
  handle **n = B->af(B->aud, l->items, l->cap * sizeof *n, ncap * sizeof *n);
  if (n == NULL) return 0;
  l->items = n;
  l->cap = ncap;
  return 1;
}

int lpygc_mm_gc(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = lpygc_tohandle_B(L, B, 1);
  if (hd == NULL) return luaL_typeerror(L, 1, MT_OBJECT);
  if (B->closed) {
    hd->obj = NULL;
    return 0;
  }
  /* Lua found this handle garbage while a collection of both heaps mirrors
   * its object: the object is garbage too, or alive without it.  Its
   * finalizer may still read this handle from the Lua tables of its cycle
   * (nothing is cleared before every finalizer has run): lend it for the
   * coming finalizer phase instead of releasing it outright. */
  pygc_object *o = hd->obj;
  if (B->mirroring && o && !hd->borrowed && !hd->box && phase_room(B)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_LENT); /* keeps the userdata while it is listed */
    if (lua_istable(L, -1)) {
      lua_pushvalue(L, 1);
      lua_rawseti(L, -2, (lua_Integer)++B->lent); /* may raise: nothing changed yet */
    }
    lua_pop(L, 1);
    /* an object outside the mirrored set joins it, with this handle's
     * reference: what a dying Lua value holds stays readable for the
     * finalizers (self.t.h[1]), and is collected with them */
    int adopted = 0;
    if ((o->flags & PYGC_FLAG_HOST4) || (adopted = lpygc_cross_adopt(B, o)) != 0) {
      lpygc_disown(B, o);
      hd->borrowed = 1;
      hd->inphase = 1;
      hd->slot = (uint32_t)B->phase.n;
      B->phase.items[B->phase.n++] = hd;
      pygc_watch(o);
      /* the collection holds o meanwhile: no finalizer runs here */
      if (adopted == 0) pygc_decref(B->heap, o);
      return 0;
    }
  }
  lpygc_release_handle(L, B, hd);
  return 0;
}

int lpygc_mm_close(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = lpygc_tohandle_B(L, B, 1);
  if (hd == NULL) return luaL_typeerror(L, 1, MT_OBJECT);
  if (B->closed) {
    hd->obj = NULL;
    return 0;
  }
  lpygc_release_handle(L, B, hd);
  return 0;
}
