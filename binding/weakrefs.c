/*
 * weakrefs.c -- the C half of require "pygc.weakref": making weak
 * references and proxies, reading them, and unwrapping a proxy for the
 * metamethods (binding/pygc/weakref.lua builds the module on these).
 *
 * A callback is a Lua value the weakref holds through its lref (see
 * luavalues.c); the core calls it through hooks.weakref_callback (hooks.c),
 * with the weakref lent to it as a borrowed handle, as a finalizer's self.
 */
#include "lpygc_int.h"

/* The error CPython raises, with the Lua value's pygc type name. */
static int no_weakref(lua_State *L, int idx) {
  const char *name;
  handle *hd = lpygc_tohandle(L, idx);
  if (hd && hd->obj) {
    name = pygc_type_name(pygc_obj(hd->obj));
    if (hd->obj->type == &pygc_weakref_type) name = "weakref.ReferenceType";
    if (hd->obj->type == &pygc_weakproxy_type) name = "weakref.ProxyType";
  } else if (lua_type(L, idx) == LUA_TSTRING) {
    name = "str";
  } else if (lua_type(L, idx) == LUA_TNUMBER) {
    name = lua_isinteger(L, idx) ? "int" : "float";
  } else if (lua_type(L, idx) == LUA_TBOOLEAN) {
    name = "bool";
  } else if (lpygc_is_none(L, idx)) {
    name = "NoneType";
  } else if (lpygc_lua_kind(L, idx)) {
    name = lpygc_lua_kind(L, idx);
  } else {
    name = luaL_typename(L, idx);
  }
  return luaL_error(L, "cannot create weak reference to '%s' object", name);
}

static int is_callable(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TFUNCTION) return 1;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) {
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

static int make(lua_State *L, int proxy) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 2);
  int has_cb = !lua_isnil(L, 2) && !lpygc_is_none(L, 2);
  if (has_cb && !is_callable(L, 2))
    return luaL_argerror(L, 2, lua_pushfstring(L, "callable expected, got %s", luaL_typename(L, 2)));
  /* the callback's lref first: making it can run any Lua code */
  if (has_cb) lpygc_prepare(L, B, 2);
  handle *hd = lpygc_tohandle(L, 1);
  if (hd == NULL || hd->obj == NULL || !pygc_weakref_accepts(hd->obj)) {
    if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
    return no_weakref(L, 1);
  }
  pygc_value cb = has_cb ? lpygc_tovalue(L, B, 2, "weakref") : pygc_none(); /* the lref exists: no Lua code */
  int st;
  pygc_object *w = pygc_weakref_new(B->heap, hd->obj, cb, proxy, &st);
  pygc_value_decref(B->heap, cb);
  if (w == NULL) return lpygc_raise_status(L, st, pygc_none());
  lpygc_pushobject(L, B, w);
  pygc_decref(B->heap, w);
  return 1;
}

static int l_ref(lua_State *L) { return make(L, 0); }
static int l_proxy(lua_State *L) { return make(L, 1); }

static pygc_object *check_weakref(lua_State *L, int idx, const char *what) {
  pygc_object *o = lpygc_checkobj(L, idx);
  if (o->type != &pygc_weakref_type && o->type != &pygc_weakproxy_type)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s expected, got %s", what, pygc_type_name(pygc_obj(o))));
  return o;
}

/* Push the referent o of a weakref.  A weak path gives no ownership: if o
 * has a borrowed handle (inside its own finalizer, say), that handle is
 * given as it is, so reading r() in __del never resurrects the object. */
void lpygc_push_referent(lua_State *L, binding *B, pygc_object *o) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  if ((o->flags & PYGC_FLAG_HOST1) && lpygc_cache_get(L, -1, o) == LUA_TUSERDATA) {
    handle *hd = lua_touserdata(L, -1);
    if (hd->obj == o && hd->borrowed) {
      lua_remove(L, -2);
      return;
    }
  }
  lua_settop(L, lua_gettop(L) - ((o->flags & PYGC_FLAG_HOST1) ? 2 : 1));
  pygc_incref(o);
  lpygc_pushobject(L, B, o);
  pygc_decref(B->heap, o);
}

/* r(): the referent, or nil */
static int l_deref(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = pygc_weakref_get(check_weakref(L, 1, "weakref"));
  if (o == NULL) return 0;
  lpygc_push_referent(L, B, o);
  return 1;
}

/* the callback, or nil */
static int l_callback(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_value cb = pygc_weakref_callback(check_weakref(L, 1, "weakref"));
  if (cb.tag == PYGC_TNONE) return 0;
  lpygc_pushvalue(L, B, cb);
  return 1;
}

static int l_count(lua_State *L) {
  binding *B = lpygc_getB(L);
  handle *hd = lpygc_tohandle(L, 1);
  if (lua_isnoneornil(L, 1)) return luaL_argerror(L, 1, "value expected");
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  lua_pushinteger(L, hd ? (lua_Integer)pygc_weakref_count(B->heap, hd->obj) : 0);
  return 1;
}

typedef struct gather {
  pygc_object **items;
  size_t n;
} gather;
static int gather_fn(pygc_object *o, void *arg) {
  gather *g = arg;
  g->items[g->n++] = o;
  return 0;
}

/* a Lua sequence of the weakrefs and proxies to obj, in CPython's order */
static int l_refs(lua_State *L) {
  binding *B = lpygc_getB(L);
  if (lua_isnoneornil(L, 1)) return luaL_argerror(L, 1, "value expected");
  handle *hd = lpygc_tohandle(L, 1);
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  size_t n = hd ? pygc_weakref_count(B->heap, hd->obj) : 0;
  lua_createtable(L, n > 1000000 ? 0 : (int)n, 0);
  if (n == 0) return 1;
  /* hold them all (a list owns references) before any handle is made */
  pygc_object *l = pygc_list_new(B->heap, n);
  if (l == NULL) return lpygc_nomem(L);
  handle *box = lpygc_new_box(L); /* owns l: a memory error leaks nothing */
  box->obj = l;
  pygc_object **tmp = B->af(B->aud, NULL, 0, n * sizeof *tmp);
  if (tmp == NULL) return lpygc_nomem(L);
  gather g = {tmp, 0};
  pygc_weakrefs(B->heap, hd->obj, gather_fn, &g);
  int st = PYGC_OK;
  for (size_t i = 0; i < g.n && st == PYGC_OK; i++) st = pygc_list_append(B->heap, l, pygc_obj(tmp[i]));
  B->af(B->aud, tmp, n * sizeof *tmp, 0);
  if (st) return lpygc_raise_status(L, st, pygc_none());
  for (size_t i = 0; i < pygc_list_len(l); i++) {
    pygc_value v;
    if (pygc_list_get(l, i, &v) != PYGC_OK) break;
    lpygc_pushvalue(L, B, v);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
  }
  lpygc_release_handle(L, B, box);
  lua_pop(L, 1);
  return 1;
}

/* _remove_dead(dict, key): delete key if its value is a dead weakref (what
 * a WeakValueDictionary's callback does, without making handles) */
static int l_remove_dead(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_settop(L, 2);
  pygc_object *d = lpygc_checkobj(L, 1);
  if (d->type != &pygc_dict_type) return luaL_argerror(L, 1, "dict expected");
  pygc_value key;
  if (lpygc_is_luaref(L, 2)) {
    if (!lpygc_lref_value(L, 2, &key)) return 0; /* a new reference */
  } else {
    key = lpygc_tovalue(L, B, 2, "dict key");
  }
  pygc_value v;
  int st = pygc_dict_get(B->heap, d, key, &v);
  if (st == PYGC_OK && v.tag == PYGC_TOBJ && v.u.o->type == &pygc_weakref_type && pygc_weakref_get(v.u.o) == NULL)
    st = pygc_dict_del(B->heap, d, key);
  pygc_value_decref(B->heap, key);
  return 0;
}

/* For the metamethods: the object behind a proxy, whose handle replaces
 * the proxy at idx; raises once the referent is gone. */
pygc_object *lpygc_unproxy(lua_State *L, binding *B, int idx) {
  pygc_object *p = lpygc_checkobj(L, idx);
  pygc_object *o = pygc_weakref_get(p);
  if (o == NULL) luaL_error(L, "weakly-referenced object no longer exists");
  pygc_incref(o);
  lpygc_pushobject(L, B, o);
  pygc_decref(B->heap, o); /* the handle holds it now */
  lua_replace(L, idx);
  return lpygc_checkobj(L, idx);
}

/* __eq: two live weakrefs to one object are equal; proxies compare as
 * their referents; everything else by identity (rawequal came first) */
int lpygc_mm_eq(lua_State *L) {
  handle *a = lpygc_tohandle(L, 1), *b = lpygc_tohandle(L, 2);
  if (a == NULL || b == NULL || a->obj == NULL || b->obj == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  pygc_object *x = a->obj, *y = b->obj;
  if (x->type == &pygc_weakproxy_type) x = pygc_weakref_get(x);
  if (y->type == &pygc_weakproxy_type) y = pygc_weakref_get(y);
  /* only weakrefs compare by value: other handles keep Lua's identity */
  int both_refs = x && y && x->type == &pygc_weakref_type && y->type == &pygc_weakref_type;
  lua_pushboolean(L, x != NULL && y != NULL && (x == y || (both_refs && pygc_equal(pygc_obj(x), pygc_obj(y)) == 1)));
  return 1;
}

const luaL_Reg lpygc_weakref_funcs[] = {{"_weakref_ref", l_ref},
                                        {"_weakref_proxy", l_proxy},
                                        {"_weakref_get", l_deref},
                                        {"_weakref_callback", l_callback},
                                        {"_weakref_count", l_count},
                                        {"_weakref_refs", l_refs},
                                        {"_weakref_remove_dead", l_remove_dead},
                                        {NULL, NULL}};
