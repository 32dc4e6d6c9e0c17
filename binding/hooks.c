/*
 * hooks.c -- the core calling back into Lua: finalizers, gc.callbacks,
 * the freed-object hook and unraisable errors.
 *
 * Every hook that runs Lua code goes through run_protected: on the hook
 * thread (never a coroutine that may be suspended or dead), inside
 * lua_pcall (no Lua error unwinds through lib/), and inside a borrow scope
 * (the borrowed handles it lends end when it returns).  See the lifetime
 * model at the top of handles.c.
 */
#include "lpygc_int.h"

/* ---- hooks: the core calling back into Lua -------------------------------- */

/* Report an error that cannot be raised: gc.unraisablehook(err, what, obj),
 * or a warning.  Runs inside a protected call. */
static void report_unraisable(lua_State *L, binding *B, int erridx, const char *what, pygc_object *obj) {
  erridx = lua_absindex(L, erridx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MODULE);
  lua_getfield(L, -1, "unraisablehook");
  lua_remove(L, -2);
  if (!lua_isnil(L, -1)) {
    lua_pushvalue(L, erridx);
    lua_pushstring(L, what);
    if (obj)
      lpygc_pushborrowed(L, B, obj);
    else
      lua_pushnil(L);
    if (lua_pcall(L, 3, 0, 0) == LUA_OK) return;
    lua_warning(L, "pygc: exception ignored in gc.unraisablehook: ", 1);
    lua_warning(L, luaL_tolstring(L, -1, NULL), 0);
    lua_pop(L, 2);
  } else {
    lua_pop(L, 1);
  }
  lua_warning(L, "pygc: exception ignored in ", 1);
  lua_warning(L, what, 1);
  lua_warning(L, ": ", 1);
  lua_warning(L, luaL_tolstring(L, erridx, NULL), 0);
  lua_pop(L, 1);
}

int lpygc_default_unraisablehook(lua_State *L) {
  const char *what = luaL_optstring(L, 2, "?");
  lua_warning(L, "pygc: exception ignored in ", 1);
  lua_warning(L, what, 1);
  lua_warning(L, ": ", 1);
  lua_warning(L, luaL_tolstring(L, 1, NULL), 0);
  return 0;
}

/* Run f(B, arg) in protected mode on the hook thread, in a borrow scope.
 * Nested pygc calls from the hook move the thread slot (lpygc_enter); it
 * is put back after, from a copy that keeps that thread alive meanwhile. */
static void run_protected(binding *B, lua_CFunction f, void *arg) {
  lua_State *L = B->hookL;
  if (L == NULL || B->closed || !lua_checkstack(L, 8)) return;
  int top = lua_gettop(L);
  lua_State *entered = B->L;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_THREAD);
  lua_rawgeti(L, -1, 1);
  size_t mark = B->scoped.n;
  B->hook_runs++;
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, B);
  lua_pushlightuserdata(L, arg);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    /* only a memory error can get here */
    lua_warning(L, "pygc: exception ignored in a pygc hook: ", 1);
    lua_warning(L, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?", 0);
  }
  lpygc_borrow_end(L, B, &B->scoped, mark);
  lua_settop(L, top + 2);
  lua_rawseti(L, top + 1, 1);
  lua_settop(L, top);
  B->L = entered;
}

static int p_finalize(lua_State *L) {
  binding *B = lua_touserdata(L, 1);
  pygc_object *o = lua_touserdata(L, 2);
  pygc_object *cls = pygc_instance_class(o);
  /* __del as the class holds it now (it may have been set or replaced
   * since the class was made); o is held for the call, and holds cls */
  pygc_value del;
  if (cls == NULL || pygc_getattr(B->heap, cls, "__del", 5, &del) != PYGC_OK) return 0;
  if (del.tag != PYGC_TOBJ || !lpygc_is_lref(del.u.o)) return 0;
  lpygc_push_lref(L, del.u.o);
  if (!lua_isfunction(L, -1)) return 0;
  lpygc_pushborrowed(L, B, o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_pushfstring(L, "finalizer of %s", pygc_class_name(cls));
    report_unraisable(L, B, -2, lua_tostring(L, -1), o);
  }
  return 0;
}

void lpygc_hook_finalize(void *ud, pygc_heap *h, pygc_object *o) {
  binding *B = ud;
  /* the first finalizer of a collection opens its finalizer phase; one
   * run from a Lua finalizer while a collection of both heaps mirrors
   * leaves the handles lent for that collection (mm_gc) below its mark */
  if (pygc_is_collecting(h) && pygc_is_unreachable(o) && !B->phase_open) {
    B->phase_open = 1;
    B->phase_mark = B->mirroring ? B->phase.n : 0;
  }
  run_protected(B, p_finalize, o);
}

typedef struct cb_args {
  const char *phase;
  const pygc_collect_info *info;
} cb_args;

static int p_callbacks(lua_State *L) {
  cb_args *a = lua_touserdata(L, 2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MODULE);
  int t = lua_getfield(L, -1, "callbacks");
  if (t == LUA_TNIL) return 0;
  if (t != LUA_TTABLE) {
    lua_pushstring(L, "gc.callbacks is not a table");
    report_unraisable(L, NULL, -1, "gc callback", NULL);
    return 0;
  }
  /* the sequence as it stands when the phase begins */
  int cbs = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, cbs);
  if (n == 0) return 0;
  lua_createtable(L, (int)n, 0);
  int snap = lua_gettop(L);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, cbs, i);
    lua_rawseti(L, snap, i);
  }
  lua_createtable(L, 0, 5);
  int info = lua_gettop(L);
  lua_pushinteger(L, a->info->generation);
  lua_setfield(L, info, "generation");
  lua_pushinteger(L, (lua_Integer)a->info->collected);
  lua_setfield(L, info, "collected");
  lua_pushinteger(L, (lua_Integer)a->info->uncollectable);
  lua_setfield(L, info, "uncollectable");
  lua_pushnumber(L, a->info->duration);
  lua_setfield(L, info, "duration");
  lua_pushinteger(L, (lua_Integer)a->info->candidates);
  lua_setfield(L, info, "candidates");
  for (lua_Integer i = 1; i <= n; i++) {
    int ct = lua_rawgeti(L, snap, i);
    int callable = ct == LUA_TFUNCTION;
    if (!callable && luaL_getmetafield(L, -1, "__call") != LUA_TNIL) {
      lua_pop(L, 1);
      callable = 1;
    }
    if (!callable) {
      lua_pushfstring(L, "'%s' object is not callable", luaL_typename(L, -1));
      report_unraisable(L, NULL, -1, "gc callback", NULL);
      lua_pop(L, 2);
      continue;
    }
    lua_pushstring(L, a->phase);
    lua_pushvalue(L, info);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
      report_unraisable(L, NULL, -1, "gc callback", NULL);
      lua_pop(L, 1);
    }
  }
  return 0;
}

void lpygc_hook_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  (void)h;
  cb_args a = {phase, info};
  run_protected(ud, p_callbacks, &a);
}

void lpygc_hook_freed(void *ud, pygc_heap *h, pygc_object *o) {
  /* no allocation here: only lookups and stores of nil */
  binding *B = ud;
  lua_State *L = B->hookL;
  (void)h;
  if (L == NULL || B->closed || !lua_checkstack(L, 4)) return;
  lpygc_borrow_forget(L, B, o); /* owning handles cannot be here: they hold o */
}

/* The collection's finalizer phase is over: the handles lent for its
 * unreachable set end before the core looks for resurrected objects. */
void lpygc_hook_finalized(void *ud, pygc_heap *h) {
  binding *B = ud;
  (void)h;
  if (B->hookL && !B->closed && lua_checkstack(B->hookL, 4)) lpygc_borrow_end(B->hookL, B, &B->phase, B->phase_mark);
  B->phase_open = 0;
  B->phase_mark = 0;
}

typedef struct unr_args {
  int status;
  const char *what;
  pygc_object *obj;
} unr_args;

static int p_unraisable(lua_State *L) {
  unr_args *a = lua_touserdata(L, 2);
  lua_pushstring(L, pygc_strerror(a->status));
  report_unraisable(L, lua_touserdata(L, 1), -1, a->what, a->obj);
  return 0;
}

void lpygc_hook_unraisable(void *ud, pygc_heap *h, int status, const char *what, pygc_object *obj) {
  (void)h;
  unr_args a = {status, what, obj};
  run_protected(ud, p_unraisable, &a);
}


/* A weakref's callback: callback(wr), wr lent as a borrowed handle (as a
 * finalizer's self); errors go to gc.unraisablehook. */
static int p_weakref(lua_State *L) {
  binding *B = lua_touserdata(L, 1);
  pygc_object *wr = lua_touserdata(L, 2);
  pygc_value cb = pygc_weakref_callback(wr);
  if (cb.tag == PYGC_TNONE) return 0;
  if (cb.tag == PYGC_TOBJ && lpygc_is_lref(cb.u.o))
    lpygc_push_lref(L, cb.u.o);
  else
    lpygc_pushvalue(L, B, cb);
  lpygc_pushborrowed(L, B, wr);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) report_unraisable(L, B, -1, "weakref callback", wr);
  return 0;
}

void lpygc_hook_weakref(void *ud, pygc_heap *h, pygc_object *wr) {
  (void)h;
  run_protected(ud, p_weakref, wr);
}
