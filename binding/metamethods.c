/*
 * metamethods.c -- what Lua syntax does with a handle: indexing, length,
 * pairs, tostring, calls.
 */
#include "lpygc_int.h"

/* ---- metamethods ------------------------------------------------------------ */

/* a Lua key as a 0-based index, or -1 */
static lua_Integer index_of(lua_State *L, int idx, int *ok) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, idx, &isnum);
  *ok = isnum && lua_type(L, idx) == LUA_TNUMBER;
  return i;
}

/* A value read from the heap: scalars pushed here, the rest by
 * lpygc_pushvalue. */
static inline void push_read(lua_State *L, binding *B, pygc_value v) {
  switch (v.tag) {
  case PYGC_TINT: lua_pushinteger(L, (lua_Integer)v.u.i); return;
  case PYGC_TFLOAT: lua_pushnumber(L, v.u.f); return;
  case PYGC_TBOOL: lua_pushboolean(L, v.u.b); return;
  case PYGC_TOBJ:
    if (v.u.o->type != &pygc_str_type && lpygc_push_known(L, B, v.u.o)) return;
    break;
  default: break;
  }
  lpygc_pushvalue(L, B, v);
}

static int index_rest(lua_State *L, binding *B);

/* o[k]: the hits that need no more than the object come first (an item of
 * a list, an attribute of the instance itself); everything else, and every
 * error, is index_rest's. */
static int mm_index(lua_State *L) {
  binding *B = lpygc_getB(L);
  handle *hd = lpygc_tohandle_B(L, B, 1);
  pygc_object *o = hd ? hd->obj : NULL;
  if (o != NULL) {
    pygc_value v;
    if (o->type == &pygc_list_type && lua_isinteger(L, 2)) {
      lua_Integer i = lua_tointegerx(L, 2, NULL);
      if (i < 1 || pygc_list_get(o, (size_t)(i - 1), &v) != PYGC_OK) return 0;
      push_read(L, B, v);
      return 1;
    }
    /* an attribute: the instance's own, else its class's (a method), each
     * through the hint kept for the name's Lua string */
    if (o->type == &pygc_instance_type && lua_type(L, 2) == LUA_TSTRING) {
      size_t len;
      const char *name = lua_tolstring(L, 2, &len);
      uintptr_t slot = LPYGC_HINT(name);
      if (pygc_getattr_hint(B->heap, o, name, len, &B->hint_attr[slot], &v) != PYGC_OK) {
        /* then its class's: what index_rest would do next */
        pygc_object *cls = pygc_instance_class(o);
        if (cls == NULL || cls->type != &pygc_class_type) return 0;
        if (pygc_getattr_hint(B->heap, cls, name, len, &B->hint_class[slot], &v) != PYGC_OK) return 0;
      }
      push_read(L, B, v);
      return 1;
    }
  }
  return index_rest(L, B);
}

static int index_rest(lua_State *L, binding *B) {
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, lpygc_getB(L), 1);
  pygc_value v;
  if (o->type == &pygc_list_type || o->type == &pygc_tuple_type) {
    int ok;
    lua_Integer i = index_of(L, 2, &ok);
    int st = !ok || i < 1 ? PYGC_EINDEX
             : o->type == &pygc_list_type ? pygc_list_get(o, (size_t)(i - 1), &v)
                                          : pygc_tuple_get(o, (size_t)(i - 1), &v);
    if (st != PYGC_OK) return 0;
    lpygc_pushvalue(L, B, v);
    return 1;
  }
  if (o->type == &pygc_dict_type) {
    if (lua_isnil(L, 2)) return 0;
    pygc_value key;
    if (lpygc_is_luaref(L, 2)) { /* a Lua value no container holds is no key */
      if (!lpygc_lref_value(L, 2, &key)) return 0;
    } else {
      key = lpygc_tovalue(L, B, 2, "dict key");
    }
    int st = pygc_dict_get(B->heap, o, key, &v);
    /* the key goes before pushing (which may raise a memory error); a key
     * that is an object is held by its handle at 2, so v stays put */
    pygc_value_decref(B->heap, key);
    if (st == PYGC_OK) {
      lpygc_pushvalue(L, B, v);
      return 1;
    }
    if (st == PYGC_EKEY) return 0;
    return lpygc_raise_status(L, st, key);
  }
  pygc_object *cls = o->type == &pygc_instance_type ? pygc_instance_class(o) : o;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  if (o->type == &pygc_instance_type) {
    size_t len;
    const char *name = lua_tolstring(L, 2, &len);
    if (pygc_getattr(B->heap, o, name, len, &v) == PYGC_OK) {
      lpygc_pushvalue(L, B, v);
      return 1;
    }
  } else if (o->type == &pygc_class_type && strcmp(lua_tostring(L, 2), "__name") == 0) {
    lua_pushstring(L, pygc_class_name(o));
    return 1;
  }
  if (o->type != &pygc_instance_type && o->type != &pygc_class_type) {
    /* a host type: the methods its host registered */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_METHODS);
    if (lua_rawgetp(L, -1, o->type) != LUA_TTABLE) return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
  }
  if (cls == NULL || cls->type != &pygc_class_type) return 0;
  /* the class's attributes, after the instance's own (Python's order) */
  size_t clen;
  const char *cname = lua_tolstring(L, 2, &clen);
  if (pygc_getattr(B->heap, cls, cname, clen, &v) != PYGC_OK) return 0;
  lpygc_pushvalue(L, B, v);
  return 1;
}

/* A store or a deletion drops the old value, which may run a finalizer
 * that releases the very handle at 1 (gc.release, or a handle found again
 * through gc.get_objects): the object is pinned by a reference of its own
 * for the call, so the core never works on a freed container. */
#define PINNED(o, call) \
  do { \
    pygc_incref(o); \
    st = (call); \
    pygc_decref(B->heap, (o)); \
  } while (0)

/* Cls.name = v, Cls.name = nil: the class's attributes, as an instance's.
 * __del and __init must be functions (or nil), as in gc.class's spec; the
 * finalizer flag follows __del, set inside the pin (the store may run a
 * finalizer that releases the handle at 1).  __name is the class's name,
 * read-only. */
static int set_class_attr(lua_State *L, binding *B, pygc_object *o, handle *hv) {
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "attribute name must be string, not '%s'", luaL_typename(L, 2));
  size_t len;
  const char *name = lua_tolstring(L, 2, &len);
  int is_del = len == 5 && memcmp(name, "__del", 5) == 0;
  if (is_del || (len == 6 && memcmp(name, "__init", 6) == 0)) {
    if (!lua_isnil(L, 3) && !lua_isfunction(L, 3)) return luaL_error(L, "pygc: %s must be a function", name);
  } else if (len == 6 && memcmp(name, "__name", 6) == 0) {
    return luaL_error(L, "pygc: cannot set '__name' of class '%s'", pygc_class_name(o));
  }
  int st, del = lua_isnil(L, 3);
  /* converting may raise (memory): before the pin; it runs no Lua code */
  pygc_value v = del ? pygc_none() : lpygc_tovalue_hd(L, B, 3, "class", NULL, hv);
  pygc_incref(o);
  if (del) {
    st = pygc_delattr(B->heap, o, name, len);
    if (st == PYGC_EKEY) st = PYGC_OK;
  } else {
    st = pygc_setattr(B->heap, o, name, len, v);
    pygc_value_decref(B->heap, v);
  }
  if (st == PYGC_OK && is_del) {
    unsigned f = pygc_class_flags(o) & ~PYGC_CLASS_FINALIZER;
    pygc_class_set_flags(o, del ? f : f | PYGC_CLASS_FINALIZER);
  }
  pygc_decref(B->heap, o);
  return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
}

static int newindex_rest(lua_State *L, binding *B);

/* the value to store, when lpygc_quick_value takes it (no Lua code) */
#define quick_value(L, B, v) lpygc_quick_value((L), (B), 3, (v))

/* o[k] = v: an attribute of an instance, an item of a list (or one past
 * its end) set to a value quick_value takes, here; the rest, deletions
 * and every error, in newindex_rest. */
static int mm_newindex(lua_State *L) {
  binding *B = lpygc_getB(L);
  handle *hd = lpygc_tohandle_B(L, B, 1);
  pygc_object *o = hd ? hd->obj : NULL;
  pygc_value v;
  int st;
  /* (a direct call with fewer than 3 arguments has none at 3: quick_value
   * refuses it, and the long way makes it a deletion as before) */
  if (o == NULL) return newindex_rest(L, B);
  if (o->type == &pygc_instance_type && lua_type(L, 2) == LUA_TSTRING) {
    size_t len;
    const char *name = lua_tolstring(L, 2, &len);
    uint32_t *hint = &B->hint_attr[LPYGC_HINT(name)];
    if (lua_isinteger(L, 3)) {
      /* the common store: an int takes no reference, and o needs no pin:
       * the core drops the old value last and then touches o no more (a
       * finalizer that value runs may release o; nothing here reads it) */
      st = pygc_setattr_hint(B->heap, o, name, len, hint, pygc_int((int64_t)lua_tointegerx(L, 3, NULL)));
      return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
    }
    if (!quick_value(L, B, &v)) return newindex_rest(L, B);
    PINNED(o, pygc_setattr_hint(B->heap, o, name, len, hint, v));
    pygc_value_decref(B->heap, v);
    return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
  }
  if (o->type == &pygc_list_type && lua_isinteger(L, 2)) {
    lua_Integer i = lua_tointeger(L, 2), n = (lua_Integer)pygc_list_len(o);
    if (i < 1 || i > n + 1 || !quick_value(L, B, &v)) return newindex_rest(L, B);
    PINNED(o, i == n + 1 ? pygc_list_append(B->heap, o, v) : pygc_list_set(B->heap, o, (size_t)(i - 1), v));
    pygc_value_decref(B->heap, v);
    return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
  }
  return newindex_rest(L, B);
}

static int newindex_rest(lua_State *L, binding *B) {
  lua_settop(L, 3);
  /* Lua values first: making their lrefs may run any code */
  handle *hk, *hv;
  if (lpygc_prepare_hd(L, B, 2, &hk) + lpygc_prepare_hd(L, B, 3, &hv)) lpygc_cross_pace(L, B);
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, B, 1);
  int st;
  if (o->type == &pygc_list_type) {
    int ok;
    lua_Integer i = index_of(L, 2, &ok);
    if (!ok) return luaL_error(L, "list indices must be integers, not %s", luaL_typename(L, 2));
    lua_Integer n = (lua_Integer)pygc_list_len(o);
    if (lua_isnil(L, 3)) {
      if (i == n && n > 0) {
        PINNED(o, pygc_list_pop(B->heap, o, (size_t)(n - 1), NULL));
        return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
      }
      if (i < 1 || i > n) return 0; /* nothing there: nothing to do */
      return luaL_error(L, "list assignment index out of range");
    }
    if (i < 1 || i > n + 1) return luaL_error(L, "list assignment index out of range");
    pygc_value v = lpygc_tovalue_hd(L, B, 3, "list", NULL, hv);
    PINNED(o, i == n + 1 ? pygc_list_append(B->heap, o, v) : pygc_list_set(B->heap, o, (size_t)(i - 1), v));
    pygc_value_decref(B->heap, v);
    return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
  }
  if (o->type == &pygc_tuple_type) return luaL_error(L, "tuple is immutable");
  if (o->type == &pygc_dict_type) {
    if (lua_isnil(L, 2)) return luaL_error(L, "pygc: nil cannot be a dict key (use gc.None)");
    if (lua_isnil(L, 3)) {
      pygc_value key = lpygc_tovalue(L, B, 2, "dict key");
      PINNED(o, pygc_dict_del(B->heap, o, key));
      pygc_value_decref(B->heap, key);
      if (st == PYGC_OK || st == PYGC_EKEY) return 0;
      return lpygc_raise_status(L, st, key);
    }
    const char *bad = lpygc_unstorable(L, 3);
    if (bad) return luaL_error(L, "pygc: cannot store a %s in a pygc dict", bad);
    pygc_value key = lpygc_tovalue(L, B, 2, "dict key");
    pygc_value v = lpygc_tovalue_hd(L, B, 3, "dict", &key, hv);
    PINNED(o, pygc_dict_set(B->heap, o, key, v));
    pygc_value_decref(B->heap, v);
    pygc_value_decref(B->heap, key);
    return st ? lpygc_raise_status(L, st, key) : 0;
  }
  if (o->type == &pygc_instance_type) {
    if (lua_type(L, 2) != LUA_TSTRING)
      return luaL_error(L, "attribute name must be string, not '%s'", luaL_typename(L, 2));
    size_t len;
    const char *name = lua_tolstring(L, 2, &len);
    if (lua_isnil(L, 3)) {
      PINNED(o, pygc_delattr(B->heap, o, name, len));
      return st == PYGC_OK || st == PYGC_EKEY ? 0 : lpygc_raise_status(L, st, pygc_none());
    }
    pygc_value v = lpygc_tovalue_hd(L, B, 3, "instance", NULL, hv);
    PINNED(o, pygc_setattr(B->heap, o, name, len, v));
    pygc_value_decref(B->heap, v);
    return st ? lpygc_raise_status(L, st, pygc_none()) : 0;
  }
  if (o->type == &pygc_class_type) return set_class_attr(L, B, o, hv);
  return luaL_error(L, "pygc: cannot set attributes of %s", lpygc_kind_of(o));
}

static int mm_len(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, lpygc_getB(L), 1);
  if (o->type == &pygc_list_type) lua_pushinteger(L, (lua_Integer)pygc_list_len(o));
  else if (o->type == &pygc_tuple_type) lua_pushinteger(L, (lua_Integer)pygc_tuple_len(o));
  else if (o->type == &pygc_dict_type) lua_pushinteger(L, (lua_Integer)pygc_dict_len(o));
  else return luaL_error(L, "object of type '%s' has no len()", pygc_type_name(pygc_obj(o)));
  return 1;
}

/* the iterator pairs gives for lists and tuples; any Lua code may call it
 * with any object and control value */
static int seq_next(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type != &pygc_list_type && o->type != &pygc_tuple_type) return luaL_argerror(L, 1, "list or tuple expected");
  lua_Integer i = luaL_optinteger(L, 2, 0);
  if (i < 0 || i >= LUA_MAXINTEGER) return 0; /* i + 1 must not overflow */
  i++;
  pygc_value v;
  int st = o->type == &pygc_list_type ? pygc_list_get(o, (size_t)(i - 1), &v) : pygc_tuple_get(o, (size_t)(i - 1), &v);
  if (st != PYGC_OK) return 0;
  lua_pushinteger(L, i);
  lpygc_pushvalue(L, B, v);
  return 2;
}

/* dict and attribute iteration: upvalue 2 = the state below (a plain
 * userdata no script can reach), 3 = the handle iterated, which keeps
 * it->hd valid.  A key added or removed since the start, even with the size
 * unchanged (delete one, add another; delete and re-add), raises as CPython
 * does: positions in the entry array no longer mean what they meant. */
typedef struct map_iter {
  handle *hd;       /* the handle at upvalue 3: compared, and read for its object */
  size_t pos;       /* the next position in the entry array */
  size_t size;      /* the size at the start */
  uint32_t version; /* the keys version at the start (pygc_keys_version) */
} map_iter;

static int map_next(lua_State *L) {
  binding *B = lpygc_getB(L);
  map_iter *it = lua_touserdata(L, lua_upvalueindex(2));
  /* the handle it was made for, by address (and a full userdata: a light
   * one can carry any address) */
  if (lua_touserdata(L, 1) != (void *)it->hd || lua_type(L, 1) != LUA_TUSERDATA) {
    lpygc_checkobj_B(L, B, 1);
    return luaL_argerror(L, 1, "not the object this iterator was made for");
  }
  pygc_object *o = it->hd->obj;
  if (o == NULL) return luaL_error(L, "pygc: use of a released handle");
  int is_dict = o->type == &pygc_dict_type;
  size_t size = is_dict ? pygc_dict_len(o) : pygc_attr_count(o);
  if (size != it->size)
    return luaL_error(L, "%s changed size during iteration", is_dict ? "dict" : lpygc_kind_of(o));
  if (pygc_keys_version(o) != it->version)
    return luaL_error(L, "%s keys changed during iteration", is_dict ? "dict" : lpygc_kind_of(o));
  size_t pos = it->pos;
  pygc_value k, v;
  int more = is_dict ? pygc_dict_next(o, &pos, &k, &v) : pygc_attr_next(o, &pos, &k, &v);
  if (!more) return 0;
  it->pos = pos;
  pygc_value_incref(k); /* hold both: pushing the first may run finalizers */
  pygc_value_incref(v);
  lpygc_pushvalue(L, B, k);
  lpygc_pushvalue(L, B, v);
  pygc_value_decref(B->heap, k);
  pygc_value_decref(B->heap, v);
  return 2;
}

static int mm_pairs(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, lpygc_getB(L), 1);
  if (o->type == &pygc_list_type || o->type == &pygc_tuple_type) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, seq_next, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
  }
  if (o->type != &pygc_dict_type && o->type != &pygc_instance_type && o->type != &pygc_class_type)
    return luaL_error(L, "'%s' object is not iterable", lpygc_kind_of(o));
  /* read o before allocating: a finalizer may release the handle */
  size_t size = o->type == &pygc_dict_type ? pygc_dict_len(o) : pygc_attr_count(o);
  uint32_t version = pygc_keys_version(o);
  lua_pushvalue(L, lua_upvalueindex(1));
  map_iter *it = lua_newuserdatauv(L, sizeof *it, 0);
  it->hd = lua_touserdata(L, 1);
  it->pos = 0;
  it->size = size;
  it->version = version;
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, map_next, 3);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int mm_tostring(lua_State *L) {
  handle *hd = lpygc_checkhandle(L, 1);
  if (hd->obj == NULL) {
    lua_pushstring(L, "<pygc released handle>");
    return 1;
  }
  binding *B = lpygc_getB(L);
  pygc_object *o = hd->obj;
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, B, 1); /* str(proxy) is str(obj) */
  B->buf.len = 0;
  int st = pygc_repr(B->heap, pygc_obj(o), &B->buf);
  if (st) return lpygc_raise_status(L, st, pygc_none());
  lua_pushlstring(L, B->buf.data, B->buf.len);
  if (B->buf.cap > 1 << 20) pygc_buf_free(B->heap, &B->buf); /* do not keep a huge buffer */
  return 1;
}

static int new_instance(lua_State *L, binding *B, pygc_object *cls) {
  int nargs = lua_gettop(L) - 1;
  /* __init onto the stack before anything allocates: from then on any
   * finalizer may release the handle at 1, or change Cls.__init, and the
   * class may live on only through the new instance; after this, cls is
   * not read.  A Lua function's lref pushes without allocating. */
  pygc_value init;
  int has_init = pygc_getattr(B->heap, cls, "__init", 6, &init) == PYGC_OK;
  if (has_init) {
    int pushed = init.tag == PYGC_TOBJ && lpygc_is_lref(init.u.o);
    if (pushed) lpygc_push_lref(L, init.u.o);
    if (!pushed || !lua_isfunction(L, -1))
      return luaL_error(L, "'__init' of class '%s' is not a function", pygc_class_name(cls));
  }
  /* the handle first (lpygc_handle_reserve): the object then needs no
   * identity-cache lookup.  That allocation may run finalizers, which may
   * drop every other reference to the class: it is pinned until the
   * instance holds it */
  pygc_incref(cls);
  handle *hd = lpygc_handle_reserve(L, B);
  pygc_object *o = pygc_instance_new(B->heap, cls);
  pygc_decref(B->heap, cls);
  if (o == NULL) return lpygc_nomem(L);
  lpygc_handle_bind(L, B, hd, o); /* owns the creation reference */
  int self = lua_gettop(L);
  if (!has_init && nargs == 0) return 1; /* no __init, no attributes */
  if (has_init) {
    luaL_checkstack(L, nargs + 2, "too many arguments to __init");
    lua_pushvalue(L, self - 1);
    lua_pushvalue(L, self);
    for (int i = 2; i <= nargs + 1; i++) lua_pushvalue(L, i);
    lua_call(L, nargs + 1, 0);
    lua_settop(L, self);
    return 1;
  }
  lua_settop(L, self);
  if (nargs >= 1 && !lua_isnil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "attribute name must be string, not '%s'", luaL_typename(L, -2));
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, self); /* through __newindex */
    }
  }
  lua_settop(L, self);
  return 1;
}

static int mm_call(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj_B(L, B, 1);
  if (o->type == &pygc_weakproxy_type) o = lpygc_unproxy(L, lpygc_getB(L), 1);
  if (o->type == &pygc_weakref_type) { /* r(): the referent or nil */
    if (lua_gettop(L) > 1) return luaL_error(L, "weakref() takes no arguments");
    pygc_object *r = pygc_weakref_get(o);
    if (r == NULL) return 0;
    lpygc_push_referent(L, B, r);
    return 1;
  }
  if (o->type != &pygc_class_type) return luaL_error(L, "'%s' object is not callable", pygc_type_name(pygc_obj(o)));
  return new_instance(L, B, o);
}

const luaL_Reg lpygc_object_mt[] = {
    {"__index", mm_index},   {"__newindex", mm_newindex}, {"__len", mm_len},   {"__pairs", mm_pairs},
    {"__tostring", mm_tostring}, {"__gc", lpygc_mm_gc},         {"__close", lpygc_mm_close}, {"__call", mm_call},
    {"__eq", lpygc_mm_eq}, {NULL, NULL}};

