/*
 * handles.c -- handles, and values crossing between Lua and the heap.
 */
#include "lpygc_int.h"

/* ---- the binding and handles -------------------------------------------- */

binding *lpygc_getB(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  if (B->closed) luaL_error(L, "pygc: the heap is closed");
  B->L = L;
  return B;
}

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

/* Push the handle of o (borrowed by the caller, valid during the call).
 * Reuses the live handle if there is one. */
void lpygc_pushobject(lua_State *L, binding *B, pygc_object *o) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  /* an object that never had a handle has none to find */
  if ((o->flags & PYGC_FLAG_HOST1) && lua_rawgetp(L, -1, o) == LUA_TUSERDATA) {
    handle *hd = lua_touserdata(L, -1);
    if (hd->obj == o) {
      if (hd->borrowed) { /* a path that yields the object gives ownership */
        pygc_incref(o);
        hd->borrowed = 0;
      }
      lua_remove(L, -2);
      return;
    }
  }
  if (o->flags & PYGC_FLAG_HOST1) lua_pop(L, 1);
  pygc_incref(o); /* taken before allocating: a finalizer may run */
  handle *hd = lua_newuserdatauv(L, sizeof(handle), 0);
  hd->obj = o;
  hd->borrowed = 0;
  o->flags |= PYGC_FLAG_HOST1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, o);
  lua_remove(L, -2);
  pace(L, B);
}

/* A borrowed handle for a finalizer's self: valid while the object lives. */
void lpygc_pushborrowed(lua_State *L, pygc_object *o) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  if (lua_rawgetp(L, -1, o) == LUA_TUSERDATA && ((handle *)lua_touserdata(L, -1))->obj == o) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  handle *hd = lua_newuserdatauv(L, sizeof(handle), 0);
  hd->obj = o;
  hd->borrowed = 1;
  o->flags |= PYGC_FLAG_HOST1;
  pygc_watch(o); /* the freed hook invalidates it */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, o);
  lua_remove(L, -2);
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
  if (o == NULL) return;
  hd->obj = NULL;
  if (B->closed) return;
  /* the cache entry may stay: its value is weak, and a lookup checks that
   * the handle still holds the object it is filed under */
  (void)L;
  if (!hd->borrowed) pygc_decref(B->heap, o);
}

/* ---- Lua values to pygc values -------------------------------------------- */

const char *lpygc_unstorable(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return "nil";
  case LUA_TTABLE: return "Lua table";
  case LUA_TFUNCTION: return "Lua function";
  case LUA_TTHREAD: return "Lua coroutine";
  case LUA_TLIGHTUSERDATA: return "light userdata";
  case LUA_TUSERDATA:
    if (lpygc_tohandle(L, idx) || lpygc_is_none(L, idx)) return NULL;
    return "foreign userdata";
  default: return NULL;
  }
}

/* Convert the Lua value at idx; the result is a new reference.  On error,
 * *pending (if any) is released first so nothing leaks. */
pygc_value lpygc_tovalue_p(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending) {
  /* the common case first: a handle (one metatable check, not two) */
  handle *hd = lua_type(L, idx) == LUA_TUSERDATA ? lpygc_tohandle(L, idx) : NULL;
  if (hd) {
    if (hd->obj == NULL) {
      if (pending) pygc_value_decref(B->heap, *pending);
      luaL_error(L, "pygc: use of a released handle");
    }
    pygc_incref(hd->obj);
    return pygc_obj(hd->obj);
  }
  const char *bad = lpygc_unstorable(L, idx);
  if (bad) {
    if (pending) pygc_value_decref(B->heap, *pending);
    luaL_error(L, "pygc: cannot store a %s in a pygc %s", bad, where);
  }
  switch (lua_type(L, idx)) {
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
  return pygc_none(); /* gc.None: the only other storable userdata */
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

int lpygc_mm_gc(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = lpygc_checkhandle(L, 1);
  if (B->closed) {
    hd->obj = NULL;
    return 0;
  }
  B->L = L;
  /* the weak cache has already dropped this handle: just let go */
  pygc_object *o = hd->obj;
  hd->obj = NULL;
  if (o && !hd->borrowed) pygc_decref(B->heap, o);
  return 0;
}

int lpygc_mm_close(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = lpygc_checkhandle(L, 1);
  if (B->closed) {
    hd->obj = NULL;
    return 0;
  }
  B->L = L;
  lpygc_release_handle(L, B, hd);
  return 0;
}

