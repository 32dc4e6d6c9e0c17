/*
 * functions.c -- the gc.* functions (Python's gc module and pygc's additions).
 */
#include "lpygc_int.h"

/* ---- module functions ------------------------------------------------------ */

/* ---- boxes: values owned by the Lua stack ----------------------------------
 * A function that converts or gathers several values takes a reference to
 * each, then allocates in Lua (which can raise a memory error, or run a
 * finalizer that releases a handle a later argument needs).  The values go
 * in a box: a to-be-closed userdata that drops them when the function
 * returns or raises, so nothing leaks on any path. */
typedef struct vbox {
  binding *B;
  size_t n, cap;
  pygc_value v[1];
} vbox;

static void box_drop(vbox *b) {
  while (b->n > 0) {
    pygc_value v = b->v[--b->n]; /* out of the box first: the decref may run a finalizer */
    if (!b->B->closed) pygc_value_decref(b->B->heap, v);
  }
}

static int box_release(lua_State *L) {
  box_drop(lua_touserdata(L, 1));
  return 0;
}

static vbox *push_box(lua_State *L, binding *B, size_t cap) {
  if (cap > (SIZE_MAX - sizeof(vbox)) / sizeof(pygc_value)) lpygc_nomem(L);
  vbox *b = lua_newuserdatauv(L, sizeof(vbox) + (cap ? cap : 1) * sizeof(pygc_value), 0);
  b->B = B;
  b->n = 0;
  b->cap = cap;
  if (luaL_newmetatable(L, "pygc.box")) {
    lua_pushcfunction(L, box_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, box_release);
    lua_setfield(L, -2, "__close");
    lua_pushliteral(L, "pygc.box");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, -1);
  return b;
}

static int clamp_int(size_t n) { return n > INT32_MAX ? INT32_MAX : (int)n; }

/* a Lua sequence of the boxed values */
static void push_boxed(lua_State *L, binding *B, const vbox *b) {
  lua_createtable(L, clamp_int(b->n), 0);
  for (size_t i = 0; i < b->n; i++) {
    lpygc_pushvalue(L, B, b->v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* push a box that pins a new list, then the list's handle, and fill the
 * list from the sequence at src (a table or a pygc sequence): Lua owns the
 * list before anything can fail, and the list outlives its handle, which
 * Lua code run by the sequence's metamethods or by a finalizer may release
 * (gc.get_objects finds it) */
static pygc_object *push_new_list(lua_State *L, binding *B, int src, const char *where) {
  vbox *pin = push_box(L, B, 1);
  pygc_object *l = pygc_list_new(B->heap, 0);
  if (l == NULL) lpygc_nomem(L);
  pin->v[0] = pygc_obj(l); /* the box owns the new reference */
  pin->n = 1;
  lpygc_pushobject(L, B, l);
  int lidx = lua_gettop(L);
  if (!lua_isnoneornil(L, src)) {
    if (!lua_istable(L, src) && !lpygc_tohandle(L, src)) luaL_typeerror(L, src, "table");
    lua_Integer n = luaL_len(L, src);
    /* a length no list can reach (and i <= n below could never end) */
    if (n > (lua_Integer)(SIZE_MAX / sizeof(pygc_value) / 4)) luaL_argerror(L, src, "sequence too long");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, src, i); /* may run __index: anything, a release of our handle too */
      handle *hd;
      if (lpygc_prepare_hd(L, B, lidx + 1, &hd)) lpygc_cross_pace(L, B);
      pygc_value v = lpygc_tovalue_hd(L, B, lidx + 1, where, NULL, hd);
      int st = pygc_list_append(B->heap, l, v);
      pygc_value_decref(B->heap, v);
      if (st) lpygc_raise_status(L, st, pygc_none());
      lua_settop(L, lidx);
    }
  }
  return l; /* pinned: alive whatever happened to its handle */
}

/* gc.new_list() and gc.new_list(t) for a plain table t (no metatable, at
 * most 64 items) whose items lpygc_quick_value takes: the list is made and
 * bound to its handle first (which can run any Lua code: the allocations),
 * then t is copied in one pass with no Lua code and no collection in
 * between, so the list needs no pin.  An item the quick way does not take
 * (or a str it could not make) sends everything the long way: the list made
 * here goes, with what it took so far, which runs no Lua code either (its
 * items are strs and objects that live handles hold).  0 (the stack back
 * at 1) then. */
static int new_list_quick(lua_State *L, binding *B) {
  if (!lua_isnil(L, 1) && lua_type(L, 1) != LUA_TTABLE) return 0;
  /* room for up to 8 items inside the list's own block (one allocation) */
  size_t room = lua_istable(L, 1) ? lua_rawlen(L, 1) : 0;
  handle *mine = lpygc_handle_reserve(L, B);
  pygc_object *l = pygc_list_new(B->heap, room <= 8 ? room : 0);
  if (l == NULL) return lpygc_nomem(L);
  lpygc_handle_bind(L, B, mine, l); /* at 2, owns l: an error below leaks nothing */
  /* binding paces (a step of Lua's collector): a __del run there may have
   * found l (gc.get_objects) and released the handle at 2, freeing l; a
   * handle's object never changes, so l is alive exactly when the handle
   * still holds it.  Else the long way makes the list, pinned. */
  if (((handle *)lua_touserdata(L, 2))->obj != l) {
    lua_settop(L, 1);
    return 0;
  }
  if (lua_isnil(L, 1)) return 1;
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  int quick = !lua_getmetatable(L, 1) && n <= 64;
  lua_settop(L, 2);
  for (lua_Integer i = 1; quick && i <= n; i++) {
    pygc_value v;
    lua_rawgeti(L, 1, i);
    if (!lpygc_quick_value(L, B, -1, &v)) {
      quick = 0;
      break;
    }
    int st = pygc_list_append(B->heap, l, v);
    pygc_value_decref(B->heap, v);
    if (st) return lpygc_raise_status(L, st, pygc_none());
    lua_settop(L, 2);
  }
  if (!quick) {
    handle *hd = lua_touserdata(L, 2);
    if (hd == mine && hd->obj == l) { /* ours (no finalizer gave l a handle first): l goes now */
      lpygc_release_handle(L, B, hd); /* its items: no finalizer, no Lua code */
    }
    lua_settop(L, 1);
    return 0;
  }
  return 1;
}

static int l_new_list(lua_State *L) {
  lua_settop(L, 1);
  binding *B = lpygc_getB(L);
  if (new_list_quick(L, B)) return 1;
  lua_settop(L, 1);
  pygc_object *l = push_new_list(L, B, 1, "list");
  /* its handle (at 3), or a new one if Lua code released that meanwhile;
   * the pin at 2 closes on return */
  lpygc_pushobject(L, B, l);
  return 1;
}

static int l_new_tuple(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 1);
  /* gather into a list first: it owns the values if conversion fails */
  pygc_object *l = push_new_list(L, B, 1, "tuple");
  size_t n0 = pygc_list_len(l);
  pygc_value *items = lua_newuserdatauv(L, (n0 ? n0 : 1) * sizeof(pygc_value), 0); /* l is pinned at 2 */
  size_t n = pygc_list_len(l); /* a finalizer may have run meanwhile */
  if (n > n0) n = n0;
  for (size_t i = 0; i < n; i++) pygc_list_get(l, i, &items[i]);
  pygc_object *t = pygc_tuple_new(B->heap, n, items);
  if (t == NULL) return lpygc_nomem(L);
  lpygc_pushobject(L, B, t);
  pygc_decref(B->heap, t);
  lpygc_release_handle(L, B, lpygc_tohandle(L, 3));
  return 1;
}

static int l_new_dict(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 1);
  handle *hd = lpygc_handle_reserve(L, B);
  pygc_object *d = pygc_dict_new(B->heap);
  if (d == NULL) return lpygc_nomem(L);
  lpygc_handle_bind(L, B, hd, d);
  int self = lua_gettop(L);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, self); /* through __newindex: same rules as d[k] = v */
    }
  }
  return 1;
}

static int l_class(lua_State *L) {
  binding *B = lpygc_getB(L);
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  unsigned flags = 0;
  lua_settop(L, 2);
  /* a private copy of spec: later edits of spec do not change the class,
   * and the stores below (which may run finalizers, hence any Lua code)
   * iterate a table no other code can touch */
  lua_newtable(L);
  int copy = lua_gettop(L);
  if (!lua_isnil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    int t = lua_getfield(L, 2, "__del");
    if (t != LUA_TNIL && t != LUA_TFUNCTION) luaL_argerror(L, 2, "__del must be a function");
    if (t == LUA_TFUNCTION) flags |= PYGC_CLASS_FINALIZER;
    t = lua_getfield(L, 2, "__init");
    if (t != LUA_TNIL && t != LUA_TFUNCTION) luaL_argerror(L, 2, "__init must be a function");
    if (lua_getfield(L, 2, "legacy") != LUA_TNIL && lua_toboolean(L, -1)) flags |= PYGC_CLASS_LEGACY;
    if (lua_getfield(L, 2, "__name") != LUA_TNIL) luaL_argerror(L, 2, "__name is the class's name, not an attribute");
    lua_settop(L, copy);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_argerror(L, 2, lua_pushfstring(L, "attribute names must be strings, got %s", luaL_typename(L, -2)));
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, copy);
    }
  }
  pygc_object *cls = pygc_class_new(B->heap, name, len, flags);
  if (cls == NULL) return lpygc_nomem(L);
  lpygc_pushobject(L, B, cls);
  pygc_decref(B->heap, cls);
  int self = lua_gettop(L);
  /* the attributes, into the heap through the class's __newindex (which
   * makes the lrefs of Lua values and keeps the finalizer flag) */
  lua_pushnil(L);
  while (lua_next(L, copy)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, self);
  }
  return 1;
}

static int l_release(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) lpygc_checkhandle(L, i); /* all or nothing */
  for (int i = 1; i <= n; i++) lpygc_release_handle(L, B, lpygc_tohandle(L, i));
  return 0;
}

static int l_refcount(lua_State *L) {
  lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_refcount(lpygc_checkobj(L, 1)));
  return 1;
}

/* The heap object at idx: a handle's, or the lref of a Lua value the heap
 * holds (gc.get_objects lists them: a class's methods, say), so that every
 * object get_objects gives has a size and an id.  Borrowed; no allocation. */
static pygc_object *check_heap_object(lua_State *L, binding *B, int idx) {
  pygc_value v;
  if (lpygc_is_luaref(L, idx) && lpygc_lref_value(L, idx, &v)) {
    pygc_value_decref(B->heap, v); /* the value's lref lives while the heap holds it */
    return v.u.o;
  }
  return lpygc_checkobj(L, idx);
}

static int l_sizeof(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_sizeof(check_heap_object(L, B, 1)));
  return 1;
}

static int l_id(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)(uintptr_t)check_heap_object(L, B, 1));
  return 1;
}

static int l_type(lua_State *L) {
  lpygc_getB(L);
  luaL_checkany(L, 1);
  const char *bad = lpygc_unstorable(L, 1);
  if (bad) {
    const char *msg = lua_pushfstring(L, "pygc value expected, got %s", luaL_typename(L, 1));
    return luaL_argerror(L, 1, msg);
  }
  switch (lua_type(L, 1)) {
  case LUA_TBOOLEAN: lua_pushstring(L, "bool"); return 1;
  case LUA_TNUMBER: lua_pushstring(L, lua_isinteger(L, 1) ? "int" : "float"); return 1;
  case LUA_TSTRING: lua_pushstring(L, "str"); return 1;
  default: break;
  }
  if (lpygc_is_none(L, 1)) {
    lua_pushstring(L, "NoneType");
    return 1;
  }
  if (lpygc_is_luaref(L, 1)) { /* what the heap calls it when it holds one */
    lua_pushstring(L, lpygc_lua_kind(L, 1));
    return 1;
  }
  lua_pushstring(L, pygc_type_name(pygc_obj(lpygc_checkobj(L, 1))));
  return 1;
}

static int l_enable(lua_State *L) {
  pygc_enable(lpygc_getB(L)->heap);
  return 0;
}
static int l_disable(lua_State *L) {
  pygc_disable(lpygc_getB(L)->heap);
  return 0;
}
static int l_isenabled(lua_State *L) {
  lua_pushboolean(L, pygc_isenabled(lpygc_getB(L)->heap));
  return 1;
}

static int checkgeneration(lua_State *L, int arg, lua_Integer def) {
  lua_Integer g = luaL_optinteger(L, arg, def);
  if (g < 0 || g > 2) luaL_argerror(L, arg, "invalid generation");
  return (int)g;
}

static int l_collect(lua_State *L) {
  binding *B = lpygc_getB(L);
  int g = checkgeneration(L, 1, 2);
  /* a full collection is one of both heaps: what Lua dropped is found */
  lua_pushinteger(L, (lua_Integer)(g == 2 ? lpygc_cross_collect(L, B) : pygc_collect(B->heap, g)));
  return 1;
}

static int l_set_debug(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_Integer f = luaL_checkinteger(L, 1);
  if (f < 0 || f > 0x7fffffff) luaL_argerror(L, 1, "flags out of range");
  pygc_set_debug(B->heap, (int)f);
  return 0;
}
static int l_get_debug(lua_State *L) {
  lua_pushinteger(L, pygc_get_debug(lpygc_getB(L)->heap));
  return 1;
}

static int l_set_threshold(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  if (n < 1) luaL_checkinteger(L, 1);
  if (n > 3) return luaL_error(L, "set_threshold expected at most 3 arguments, got %d", n);
  lua_Integer t[3];
  for (int i = 0; i < n; i++) {
    t[i] = luaL_checkinteger(L, i + 1);
    if (t[i] < 0 || t[i] > 0x7fffffff) luaL_argerror(L, i + 1, "threshold must be between 0 and 2147483647");
  }
  for (int i = 0; i < n; i++) pygc_set_threshold(B->heap, i, (int64_t)t[i]);
  return 0;
}

static int l_get_threshold(lua_State *L) {
  binding *B = lpygc_getB(L);
  for (int i = 0; i < 3; i++) lua_pushinteger(L, (lua_Integer)pygc_get_threshold(B->heap, i));
  return 3;
}

static int l_get_count(lua_State *L) {
  binding *B = lpygc_getB(L);
  for (int i = 0; i < 3; i++) lua_pushinteger(L, (lua_Integer)pygc_get_count(B->heap, i));
  return 3;
}

static int l_get_stats(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_gen_stats s[3];
  pygc_get_stats(B->heap, s);
  lua_createtable(L, 3, 0);
  for (int i = 0; i < 3; i++) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)s[i].collections);
    lua_setfield(L, -2, "collections");
    lua_pushinteger(L, (lua_Integer)s[i].collected);
    lua_setfield(L, -2, "collected");
    lua_pushinteger(L, (lua_Integer)s[i].uncollectable);
    lua_setfield(L, -2, "uncollectable");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* Objects are gathered (with a reference each, into a box) before any Lua
 * allocation, then pushed: finalizers running meanwhile cannot pull them
 * away. */
static int gather_fn(pygc_object *o, void *arg) {
  vbox *b = arg;
  if (b->n == b->cap) return 1;
  pygc_incref(o);
  b->v[b->n++] = pygc_obj(o);
  return 0;
}

static int l_get_objects(lua_State *L) {
  binding *B = lpygc_getB(L);
  int g = lua_isnoneornil(L, 1) ? -1 : checkgeneration(L, 1, 0);
  size_t n = pygc_get_objects(B->heap, g, NULL, NULL);
  vbox *b = push_box(L, B, n);
  pygc_get_objects(B->heap, g, gather_fn, b);
  push_boxed(L, B, b);
  return 1;
}

/* the arguments as values, into a box: a later argument that fails (a
 * released handle, an unstorable value) leaves the earlier ones to it */
static vbox *checkvalues(lua_State *L, binding *B, int n) {
  vbox *b = push_box(L, B, (size_t)n);
  for (int i = 0; i < n; i++) {
    const char *bad = lpygc_unstorable(L, i + 1);
    if (bad && !lua_isnil(L, i + 1)) {
      const char *msg = lua_pushfstring(L, "pygc value expected, got %s", luaL_typename(L, i + 1));
      luaL_argerror(L, i + 1, msg);
    }
    b->v[i] = lua_isnil(L, i + 1) ? pygc_none() : lpygc_tovalue(L, B, i + 1, "argument");
    b->n = (size_t)i + 1;
  }
  return b;
}

static int l_get_referrers(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  vbox *targets = checkvalues(L, B, n);
  size_t count = pygc_get_referrers(B->heap, targets->v, targets->n, NULL, NULL);
  vbox *found = push_box(L, B, count);
  pygc_get_referrers(B->heap, targets->v, targets->n, gather_fn, found);
  box_drop(targets);
  push_boxed(L, B, found);
  return 1;
}

static int vcount_fn(pygc_value *slot, void *arg) {
  (void)slot;
  (*(size_t *)arg)++;
  return 0;
}

static int vgather_fn(pygc_value *slot, void *arg) {
  vbox *b = arg;
  if (b->n == b->cap) return 1;
  pygc_value_incref(*slot);
  b->v[b->n++] = *slot;
  return 0;
}

static int l_get_referents(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  size_t count = 0;
  for (int i = 1; i <= n; i++) {
    handle *hd = lpygc_tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vcount_fn, &count);
    else if (hd) return luaL_error(L, "pygc: use of a released handle");
  }
  vbox *b = push_box(L, B, count);
  for (int i = 1; i <= n; i++) {
    handle *hd = lpygc_tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vgather_fn, b);
  }
  push_boxed(L, B, b);
  return 1;
}

/* Is v a handle (live or released)?  For the toolkit: handles' metatable
 * is protected, so Lua code cannot compare it. */
static int l_is_handle(lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, lpygc_tohandle(L, 1) != NULL);
  return 1;
}

static int l_is_tracked(lua_State *L) {
  lpygc_getB(L);
  luaL_checkany(L, 1);
  handle *hd = lpygc_tohandle(L, 1);
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  lua_pushboolean(L, hd != NULL && pygc_is_tracked(hd->obj));
  return 1;
}

static int l_is_finalized(lua_State *L) {
  lpygc_getB(L);
  luaL_checkany(L, 1);
  handle *hd = lpygc_tohandle(L, 1);
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  lua_pushboolean(L, hd != NULL && pygc_is_finalized(hd->obj));
  return 1;
}

static int l_freeze(lua_State *L) {
  pygc_freeze(lpygc_getB(L)->heap);
  return 0;
}
static int l_unfreeze(lua_State *L) {
  pygc_unfreeze(lpygc_getB(L)->heap);
  return 0;
}
static int l_get_freeze_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pygc_get_freeze_count(lpygc_getB(L)->heap));
  return 1;
}

static int l_heap_info(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_heap_info in;
  pygc_heap_get_info(B->heap, &in);
  lua_createtable(L, 0, 9);
  lua_pushinteger(L, (lua_Integer)in.objects);
  lua_setfield(L, -2, "objects");
  lua_pushinteger(L, (lua_Integer)in.tracked);
  lua_setfield(L, -2, "tracked");
  lua_pushinteger(L, (lua_Integer)in.bytes);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, (lua_Integer)in.peak_bytes);
  lua_setfield(L, -2, "peak_bytes");
  lua_pushinteger(L, (lua_Integer)in.frozen);
  lua_setfield(L, -2, "frozen");
  lua_createtable(L, 3, 0);
  for (int i = 0; i < 3; i++) {
    lua_pushinteger(L, (lua_Integer)in.generation[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, i + 1);
    lua_setfield(L, -2, i == 0 ? "gen0" : i == 1 ? "gen1" : "gen2");
  }
  lua_setfield(L, -2, "generations");
  return 1;
}

static int l_set_mode(lua_State *L) {
  binding *B = lpygc_getB(L);
  static const char *const modes[] = {"generational", "incremental", NULL};
  int m = luaL_checkoption(L, 1, NULL, modes);
  if (!pygc_set_incremental(B->heap, m == 1)) return luaL_error(L, "pygc: cannot switch collectors during a collection");
  return 0;
}

static int l_get_mode(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_pushstring(L, pygc_is_incremental(B->heap) ? "incremental" : "generational");
  return 1;
}

static int l_verify(lua_State *L) {
  binding *B = lpygc_getB(L);
  char msg[512];
  if (pygc_heap_verify(B->heap, msg, sizeof msg)) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

const luaL_Reg lpygc_funcs[] = {{"new_list", l_new_list},
                                 {"new_dict", l_new_dict},
                                 {"new_tuple", l_new_tuple},
                                 {"class", l_class},
                                 {"release", l_release},
                                 {"refcount", l_refcount},
                                 {"sizeof", l_sizeof},
                                 {"id", l_id},
                                 {"type", l_type},
                                 {"enable", l_enable},
                                 {"disable", l_disable},
                                 {"isenabled", l_isenabled},
                                 {"collect", l_collect},
                                 {"set_debug", l_set_debug},
                                 {"get_debug", l_get_debug},
                                 {"set_threshold", l_set_threshold},
                                 {"get_threshold", l_get_threshold},
                                 {"get_count", l_get_count},
                                 {"get_stats", l_get_stats},
                                 {"get_objects", l_get_objects},
                                 {"get_referrers", l_get_referrers},
                                 {"get_referents", l_get_referents},
                                 {"is_tracked", l_is_tracked},
                                 {"is_finalized", l_is_finalized},
                                 {"freeze", l_freeze},
                                 {"unfreeze", l_unfreeze},
                                 {"get_freeze_count", l_get_freeze_count},
                                 {"heap_info", l_heap_info},
                                 {"set_mode", l_set_mode},
                                 {"get_mode", l_get_mode},
                                 {"_verify", l_verify},
                                 {"_is_handle", l_is_handle},
                                 {"_trace_start", lpygc_trace_start},
                                 {"_trace_stop", lpygc_trace_stop},
                                 {"_trace_clear", lpygc_trace_clear},
                                 {"_trace_info", lpygc_trace_info},
                                 {"_trace_reset_peak", lpygc_trace_reset_peak},
                                 {"_trace_snapshot", lpygc_trace_snapshot},
                                 {"_trace_object", lpygc_trace_object},
                                 {NULL, NULL}};


/* ---- gc._edges: the core's labelled edges, for the toolkit ---------------- */

typedef struct edge_rec {
  pygc_value child, key; /* references held while Lua values are made */
  int label;
  unsigned kind;
  size_t index;
  const char *name;
} edge_rec;

typedef struct edge_buf {
  binding *B;
  edge_rec *items;
  size_t n, cap;
  int failed;
} edge_buf;

static int edge_gather(const pygc_edge *e, void *arg) {
  edge_buf *b = arg;
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 16;
    edge_rec *n = b->B->af(b->B->aud, b->items, b->cap * sizeof *n, ncap * sizeof *n);
    if (n == NULL) {
      b->failed = 1;
      return 1;
    }
    b->items = n;
    b->cap = ncap;
  }
  edge_rec *r = &b->items[b->n++];
  r->child = e->child;
  r->key = e->key;
  r->label = e->label;
  r->kind = e->kind;
  r->index = e->index;
  r->name = e->name;
  pygc_value_incref(r->child);
  pygc_value_incref(r->key);
  return 0;
}

/* A label as the toolkit prints it: [3] (1-based), ['key'], .attr, ... */
static void push_label(lua_State *L, binding *B, const edge_rec *r) {
  switch (r->label) {
  case PYGC_LABEL_INDEX: lua_pushfstring(L, "[%d]", (int)r->index + 1); return;
  case PYGC_LABEL_DICT_KEY: lua_pushliteral(L, "<key>"); return;
  case PYGC_LABEL_DICT_VALUE: {
    pygc_buf buf = {NULL, 0, 0};
    int st = pygc_repr_limited(B->heap, r->key, &buf, 60);
    lua_pushfstring(L, "[%s]", st == PYGC_OK && buf.data ? buf.data : "?");
    pygc_buf_free(B->heap, &buf);
    return;
  }
  case PYGC_LABEL_ATTR: {
    size_t len = 0;
    const char *s = r->key.tag == PYGC_TOBJ ? pygc_str_data(r->key.u.o, &len) : NULL;
    lua_pushliteral(L, ".");
    if (s) lua_pushlstring(L, s, len); else lua_pushliteral(L, "?");
    lua_concat(L, 2);
    return;
  }
  case PYGC_LABEL_ATTR_NAME: lua_pushliteral(L, "<attribute name>"); return;
  case PYGC_LABEL_CLASS: lua_pushliteral(L, "__class__"); return;
  case PYGC_LABEL_CLASS_NAME: lua_pushliteral(L, "__name__"); return;
  case PYGC_LABEL_SLOT:
    if (r->name) lua_pushfstring(L, ".%s", r->name);
    else lua_pushfstring(L, "<slot %d>", (int)r->index);
    return;
  default: lua_pushliteral(L, "?"); return;
  }
}

/* gc._edges(obj [, kinds]) -> children, labels, kinds: three sequences,
 * what obj refers to (kinds: 1 cycle edges, 2 owned non-cycle references
 * such as an instance's class, 4 atomic values; default 3), each with a
 * label and its kind.  The toolkit walks the heap with it, so host types
 * are seen as the collector sees them. */
static int l_edges(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj(L, 1);
  lua_Integer kinds = luaL_optinteger(L, 2, PYGC_EDGE_CYCLE | PYGC_EDGE_OWNED);
  luaL_argcheck(L, kinds >= 1 && kinds <= PYGC_EDGE_ALL, 2, "kinds must be in 1..7");
  edge_buf eb = {B, NULL, 0, 0, 0};
  pygc_edges(B->heap, o, (unsigned)kinds, edge_gather, &eb);
  lua_settop(L, 2);
  if (eb.failed) {
    for (size_t i = 0; i < eb.n; i++) {
      pygc_value_decref(B->heap, eb.items[i].child);
      pygc_value_decref(B->heap, eb.items[i].key);
    }
    B->af(B->aud, eb.items, eb.cap * sizeof *eb.items, 0);
    return lpygc_nomem(L);
  }
  /* a box list owns the references while the tables are built */
  pygc_object *own = pygc_list_new(B->heap, eb.n * 2);
  int ok = own != NULL;
  for (size_t i = 0; ok && i < eb.n; i++) {
    ok = pygc_list_append(B->heap, own, eb.items[i].child) == PYGC_OK &&
         pygc_list_append(B->heap, own, eb.items[i].key) == PYGC_OK;
  }
  for (size_t i = 0; i < eb.n; i++) {
    pygc_value_decref(B->heap, eb.items[i].child);
    pygc_value_decref(B->heap, eb.items[i].key);
  }
  if (!ok) {
    if (own) pygc_decref(B->heap, own);
    B->af(B->aud, eb.items, eb.cap * sizeof *eb.items, 0);
    return lpygc_nomem(L);
  }
  /* the records' values are borrowed from `own` now; keep the labels'
   * other fields in a userdata, and `own` in a handle */
  size_t n = eb.n;
  edge_rec *copy = lua_newuserdatauv(L, (n ? n : 1) * sizeof *copy, 0);
  if (n) memcpy(copy, eb.items, n * sizeof *copy);
  B->af(B->aud, eb.items, eb.cap * sizeof *eb.items, 0);
  lpygc_pushobject(L, B, own);
  pygc_decref(B->heap, own);
  int ownidx = lua_gettop(L);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    pygc_object *l = lpygc_checkobj(L, ownidx);
    pygc_value child, key;
    if (pygc_list_get(l, 2 * i, &child) != PYGC_OK || pygc_list_get(l, 2 * i + 1, &key) != PYGC_OK) break;
    copy[i].key = key;
    lpygc_pushvalue(L, B, child);
    lua_rawseti(L, -4, (lua_Integer)i + 1);
    push_label(L, B, &copy[i]);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)copy[i].kind);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 3;
}

const luaL_Reg lpygc_funcs_more[] = {{"_edges", l_edges}, {NULL, NULL}};
