/*
 * functions.c -- the gc.* functions (Python's gc module and pygc's additions).
 */
#include "lpygc_int.h"

/* ---- module functions ------------------------------------------------------ */

/* push a new list filled from the sequence at src (a table or a pygc
 * sequence); Lua owns the list before anything can fail */
static pygc_object *push_new_list(lua_State *L, binding *B, int src, const char *where) {
  pygc_object *l = pygc_list_new(B->heap, 0);
  if (l == NULL) lpygc_nomem(L);
  lpygc_pushobject(L, B, l);
  pygc_decref(B->heap, l);
  int lidx = lua_gettop(L);
  if (!lua_isnoneornil(L, src)) {
    if (!lua_istable(L, src) && !lpygc_tohandle(L, src)) luaL_typeerror(L, src, "table");
    lua_Integer n = luaL_len(L, src);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, src, i); /* may run __index: anything, a release of our handle too */
      if (lpygc_prepare(L, B, -1)) lpygc_cross_pace(L, B);
      l = lpygc_checkobj(L, lidx);
      pygc_value v = lpygc_tovalue(L, B, lidx + 1, where);
      int st = pygc_list_append(B->heap, l, v);
      pygc_value_decref(B->heap, v);
      if (st) lpygc_raise_status(L, st, pygc_none());
      lua_settop(L, lidx);
    }
  }
  return lpygc_checkobj(L, lidx);
}

static int l_new_list(lua_State *L) {
  lua_settop(L, 1);
  push_new_list(L, lpygc_getB(L), 1, "list");
  return 1;
}

static int l_new_tuple(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 1);
  /* gather into a list first: it owns the values if conversion fails */
  pygc_object *l = push_new_list(L, B, 1, "tuple");
  size_t n0 = pygc_list_len(l);
  pygc_value *items = lua_newuserdatauv(L, (n0 ? n0 : 1) * sizeof(pygc_value), 0);
  size_t n = pygc_list_len(l); /* a finalizer may have run meanwhile */
  if (n > n0) n = n0;
  for (size_t i = 0; i < n; i++) pygc_list_get(l, i, &items[i]);
  pygc_object *t = pygc_tuple_new(B->heap, n, items);
  if (t == NULL) return lpygc_nomem(L);
  lpygc_pushobject(L, B, t);
  pygc_decref(B->heap, t);
  lpygc_release_handle(L, B, lpygc_tohandle(L, 2));
  return 1;
}

static int l_new_dict(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 1);
  pygc_object *d = pygc_dict_new(B->heap);
  if (d == NULL) return lpygc_nomem(L);
  lpygc_pushobject(L, B, d);
  pygc_decref(B->heap, d);
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
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    int t = lua_getfield(L, 2, "__del");
    if (t != LUA_TNIL && t != LUA_TFUNCTION) luaL_argerror(L, 2, "__del must be a function");
    if (t == LUA_TFUNCTION) flags |= PYGC_CLASS_FINALIZER;
    t = lua_getfield(L, 2, "__init");
    if (t != LUA_TNIL && t != LUA_TFUNCTION) luaL_argerror(L, 2, "__init must be a function");
    if (lua_getfield(L, 2, "legacy") != LUA_TNIL && lua_toboolean(L, -1)) flags |= PYGC_CLASS_LEGACY;
    lua_pop(L, 3);
  }
  /* the class's Lua side: a copy of spec, so later edits of spec do not
   * change finalizer flags behind the core's back */
  lua_newtable(L);
  int data = lua_gettop(L);
  lua_newtable(L);
  int copy = lua_gettop(L);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, copy);
    }
  }
  lua_getfield(L, -1, "__del");
  lua_setfield(L, data, "__del");
  lua_getfield(L, -1, "__init");
  lua_setfield(L, data, "__init");
  lua_setfield(L, data, "spec");
  pygc_object *cls = pygc_class_new(B->heap, name, len, flags);
  if (cls == NULL) return lpygc_nomem(L);
  lpygc_pushobject(L, B, cls);
  pygc_decref(B->heap, cls);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
  lua_pushvalue(L, data);
  lua_rawsetp(L, -2, cls);
  lua_pop(L, 1);
  pygc_watch(cls); /* its Lua side goes when it does */
  lua_getfield(L, data, "__init");
  pygc_class_set_host(cls, lua_isfunction(L, -1) ? 1 : 0); /* spares a lookup per instance */
  lua_pop(L, 1);
  return 1;
}

static int l_release(lua_State *L) {
  binding *B = lpygc_getB(L);
  for (int i = 1; i <= lua_gettop(L); i++) lpygc_release_handle(L, B, lpygc_checkhandle(L, i));
  return 0;
}

static int l_refcount(lua_State *L) {
  lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_refcount(lpygc_checkobj(L, 1)));
  return 1;
}

static int l_sizeof(lua_State *L) {
  lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_sizeof(lpygc_checkobj(L, 1)));
  return 1;
}

static int l_id(lua_State *L) {
  lpygc_getB(L);
  lua_pushinteger(L, (lua_Integer)(uintptr_t)lpygc_checkobj(L, 1));
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

/* Collected objects are gathered (with a reference each) before any Lua
 * allocation, then pushed: finalizers running meanwhile cannot pull them
 * away. */
typedef struct gather {
  pygc_object **items;
  size_t n, cap;
} gather;

static int gather_fn(pygc_object *o, void *arg) {
  gather *g = arg;
  if (g->n == g->cap) return 1;
  pygc_incref(o);
  g->items[g->n++] = o;
  return 0;
}

static void push_gathered(lua_State *L, binding *B, gather *g) {
  lua_createtable(L, (int)g->n, 0);
  for (size_t i = 0; i < g->n; i++) {
    lpygc_pushobject(L, B, g->items[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (size_t i = 0; i < g->n; i++) pygc_decref(B->heap, g->items[i]);
}

static int l_get_objects(lua_State *L) {
  binding *B = lpygc_getB(L);
  int g = lua_isnoneornil(L, 1) ? -1 : checkgeneration(L, 1, 0);
  size_t n = pygc_get_objects(B->heap, g, NULL, NULL);
  gather ga = {lua_newuserdatauv(L, (n ? n : 1) * sizeof(pygc_object *), 0), 0, n};
  pygc_get_objects(B->heap, g, gather_fn, &ga);
  push_gathered(L, B, &ga);
  return 1;
}

/* the arguments as values (a userdata array on the stack; strings are new
 * references the caller drops) */
static pygc_value *checkvalues(lua_State *L, binding *B, int n) {
  pygc_value *t = lua_newuserdatauv(L, (n ? (size_t)n : 1) * sizeof(pygc_value), 0);
  for (int i = 0; i < n; i++) {
    const char *bad = lpygc_unstorable(L, i + 1);
    if (bad && !lua_isnil(L, i + 1)) {
      for (int j = 0; j < i; j++) pygc_value_decref(B->heap, t[j]);
      const char *msg = lua_pushfstring(L, "pygc value expected, got %s", luaL_typename(L, i + 1));
      luaL_argerror(L, i + 1, msg);
    }
    t[i] = lua_isnil(L, i + 1) ? pygc_none() : lpygc_tovalue(L, B, i + 1, "argument");
  }
  return t;
}

static int l_get_referrers(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  pygc_value *targets = checkvalues(L, B, n);
  size_t count = pygc_get_referrers(B->heap, targets, (size_t)n, NULL, NULL);
  gather ga = {NULL, 0, count};
  ga.items = lua_newuserdatauv(L, (count ? count : 1) * sizeof(pygc_object *), 0);
  pygc_get_referrers(B->heap, targets, (size_t)n, gather_fn, &ga);
  for (int i = 0; i < n; i++) pygc_value_decref(B->heap, targets[i]);
  push_gathered(L, B, &ga);
  return 1;
}

typedef struct vgather {
  pygc_value *items;
  size_t n, cap;
} vgather;

static int vcount_fn(pygc_value *slot, void *arg) {
  (void)slot;
  ((vgather *)arg)->n++;
  return 0;
}

static int vgather_fn(pygc_value *slot, void *arg) {
  vgather *g = arg;
  if (g->n == g->cap) return 1;
  pygc_value_incref(*slot);
  g->items[g->n++] = *slot;
  return 0;
}

static int l_get_referents(lua_State *L) {
  binding *B = lpygc_getB(L);
  int n = lua_gettop(L);
  vgather cnt = {NULL, 0, 0};
  for (int i = 1; i <= n; i++) {
    handle *hd = lpygc_tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vcount_fn, &cnt);
    else if (hd) return luaL_error(L, "pygc: use of a released handle");
  }
  vgather ga = {lua_newuserdatauv(L, (cnt.n ? cnt.n : 1) * sizeof(pygc_value), 0), 0, cnt.n};
  for (int i = 1; i <= n; i++) {
    handle *hd = lpygc_tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vgather_fn, &ga);
  }
  lua_createtable(L, (int)ga.n, 0);
  for (size_t i = 0; i < ga.n; i++) {
    lpygc_pushvalue(L, B, ga.items[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (size_t i = 0; i < ga.n; i++) pygc_value_decref(B->heap, ga.items[i]);
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
                                 {"_trace_start", lpygc_trace_start},
                                 {"_trace_stop", lpygc_trace_stop},
                                 {"_trace_clear", lpygc_trace_clear},
                                 {"_trace_info", lpygc_trace_info},
                                 {"_trace_snapshot", lpygc_trace_snapshot},
                                 {"_trace_object", lpygc_trace_object},
                                 {NULL, NULL}};

