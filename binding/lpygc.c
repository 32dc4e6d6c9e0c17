/*
 * lpygc.c -- require "pygc": opening the module, the heap's anchor, the C API.
 *
 * Each lua_State gets one heap, anchored in the registry by a userdata
 * whose __gc ends the heap at lua_close (after every handle, since it was
 * marked for finalization before any of them).  pygc objects reach Lua as
 * handles: full userdata that own one reference each.  A weak-valued
 * cache keyed by object address gives every object at most one live
 * handle, so identity holds in Lua.
 *
 * Two rules keep this file safe against Lua's collector, which may run
 * handle __gc (and so pygc finalizers) at any allocation:
 *   - never hold a borrowed pygc pointer across a Lua call that allocates:
 *     take a reference first (see hold/pushvalue);
 *   - everything that runs on behalf of the core (hooks) runs inside
 *     lua_pcall, so no Lua error ever unwinds through lib/.
 */
#include "lpygc_int.h"

#include <stdio.h>

const char lpygc_key_binding = 'B', lpygc_key_module = 'M', lpygc_key_cache = 'C',
           lpygc_key_none = 'N', lpygc_key_methods = 'T', lpygc_key_mt = 'O', lpygc_key_thread = 'L',
           lpygc_key_hooks = 'H', lpygc_key_anchors = 'A', lpygc_key_vals = 'V', lpygc_key_mirror = 'R',
           lpygc_key_handmap = 'P', lpygc_key_keeper_mt = 'E', lpygc_key_lent = 'D';

/* ---- the heap's anchor ------------------------------------------------------ */

/* CPython's "gc: N uncollectable objects at shutdown": gc.garbage is not
 * empty as the heap ends.  Under DEBUG_UNCOLLECTABLE the objects are
 * listed (their repr), else the warning says how to list them. */
static void warn_uncollectable(lua_State *L, binding *B) {
  pygc_object *g = pygc_garbage(B->heap);
  size_t n = pygc_list_len(g);
  if (n == 0) return;
  char head[96];
  snprintf(head, sizeof head, "pygc: gc: %zu uncollectable objects at shutdown", n);
  if (!(pygc_get_debug(B->heap) & PYGC_DEBUG_UNCOLLECTABLE)) {
    lua_warning(L, head, 1);
    lua_warning(L, "; use gc.set_debug(gc.DEBUG_UNCOLLECTABLE) to list them", 0);
    return;
  }
  lua_warning(L, head, 1);
  lua_warning(L, ":", 1);
  for (size_t i = 0; i < n; i++) {
    pygc_value v;
    if (pygc_list_get(g, i, &v) != PYGC_OK) break;
    B->buf.len = 0;
    lua_warning(L, " ", 1);
    (void)pygc_repr_limited(B->heap, v, &B->buf, 200); /* too long: what was written */
    lua_warning(L, B->buf.data ? B->buf.data : "?", 1);
  }
  lua_warning(L, "", 0);
}

static int heap_gc(lua_State *L) {
  binding *B = luaL_checkudata(L, 1, MT_HEAP);
  if (B->closed || B->heap == NULL) return 0;
  B->L = L;
  /* the handles are gone (they were finalized before this anchor): one
   * last collection runs finalizers of cyclic garbage; what remains after
   * it is freed without finalizers */
  pygc_collect(B->heap, 2);
  warn_uncollectable(L, B);
  pygc_buf_free(B->heap, &B->buf);
  if (B->name_init) pygc_decref(B->heap, B->name_init);
  B->name_init = NULL;
  B->tr.on = 0;
  lpygc_tracer_reset(B);
  B->closed = 1;
  pygc_heap_free(B->heap);
  B->heap = NULL;
  lpygc_borrow_free(B);
  B->af(B->aud, B->extra, B->extracap * sizeof *B->extra, 0);
  B->extra = NULL;
  B->nextra = B->extracap = 0;
  return 0;
}

/* gc.garbage is the heap's own list, pushed afresh on every read: a
 * handle kept in the module table would be module state any script could
 * release (gc.release(gc.garbage), or the same handle from get_objects) */
static int module_index(lua_State *L) {
  binding *B = lpygc_getB(L);
  const char *k = lua_tostring(L, 2);
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(k, "garbage") == 0) {
    lpygc_pushobject(L, B, pygc_garbage(B->heap));
    return 1;
  }
  return 0;
}

static int module_newindex(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "garbage") == 0)
    return luaL_error(L, "pygc: gc.garbage cannot be replaced (empty it in place)");
  lua_rawset(L, 1);
  return 0;
}

/* a metatable no script can read or replace (getmetatable gives its name) */
static void protect(lua_State *L, const char *name) {
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__metatable");
}

static int none_tostring(lua_State *L) {
  lua_pushstring(L, "None");
  return 1;
}

/* ---- the C API for embedders (lpygc.h) ---------------------------------------- */

static binding *state_binding(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_BINDING) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    luaL_requiref(L, "pygc", luaopen_pygc, 0);
    lua_pop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_BINDING);
  }
  binding *B = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (B->closed) luaL_error(L, "pygc: the heap is closed");
  lpygc_enter(B, L);
  return B;
}

pygc_heap *pygc_lua_heap(lua_State *L) { return state_binding(L)->heap; }

void pygc_lua_push(lua_State *L, pygc_object *o) { lpygc_pushobject(L, state_binding(L), o); }

void pygc_lua_pushvalue(lua_State *L, pygc_value v) { lpygc_pushvalue(L, state_binding(L), v); }

pygc_object *pygc_lua_test(lua_State *L, int idx) {
  handle *hd = lpygc_tohandle(L, idx);
  return hd ? hd->obj : NULL;
}

pygc_object *pygc_lua_check(lua_State *L, int idx) { return lpygc_checkobj(L, idx); }

pygc_value pygc_lua_tovalue(lua_State *L, int idx) { return lpygc_tovalue(L, state_binding(L), idx, "value"); }

void pygc_lua_set_methods(lua_State *L, const pygc_type *t) {
  luaL_checktype(L, -1, LUA_TTABLE);
  state_binding(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_METHODS);
  lua_insert(L, -2);
  lua_rawsetp(L, -2, t);
  lua_pop(L, 1);
}

int luaopen_pygc(lua_State *L) {
  /* one heap per state: requiring again returns the same module */
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MODULE) == LUA_TTABLE) return 1;
  lua_pop(L, 1);

  binding *B = lua_newuserdatauv(L, sizeof(binding), 2); /* user values: the object metatable, None */
  memset(B, 0, sizeof *B);
  luaL_newmetatable(L, MT_HEAP);
  lua_pushcfunction(L, heap_gc);
  lua_setfield(L, -2, "__gc");
  protect(L, MT_HEAP);
  lua_setmetatable(L, -2);
  void *aud;
  lua_Alloc af = lua_getallocf(L, &aud);
  B->heap = pygc_heap_new((pygc_alloc_fn)af, aud, 0);
  if (B->heap == NULL) return lpygc_nomem(L);
  B->L = L;
  lua_createtable(L, 1, 0); /* KEY_THREAD: a weak slot for the thread in pygc */
  lua_pushthread(L);
  lua_rawseti(L, -2, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_THREAD);
  B->hookL = lua_newthread(L); /* hooks run here: see handles.c */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_HOOKS);
  B->name_init = pygc_str_new(B->heap, "__init", 6); /* NULL without memory: lookups then hash */
  B->paced = pygc_heap_bytes(B->heap);
  pygc_hooks hooks = {B,
                      lpygc_hook_finalize,
                      lpygc_hook_callback,
                      NULL,
                      lpygc_hook_freed,
                      lpygc_hook_unraisable,
                      lpygc_hook_traced,
                      lpygc_hook_finalized,
                      lpygc_hook_weakref};
  B->af = af;
  B->aud = aud;
  pygc_set_hooks(B->heap, &hooks);
  int bidx = lua_gettop(L);
  lua_pushvalue(L, bidx);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_BINDING);

  lua_newtable(L); /* the identity cache: object address -> handle */
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  B->ref_cache = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  lpygc_luavalues_open(L, B);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_METHODS);

  luaL_newmetatable(L, MT_OBJECT);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, lpygc_object_mt, 1);
  protect(L, MT_OBJECT);
  B->mt = lua_topointer(L, -1);
  /* no secret in the cryptographic sense: a word a Lua script cannot know
   * to write (it cannot write userdata at all), unlike B's own address */
  B->secret = ((uintptr_t)B * (uintptr_t)0x9E3779B97F4A7C15u) ^ (uintptr_t)(const void *)&lpygc_key_binding ^
              (uintptr_t)0xA5A5A5A5u;
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, bidx, 1); /* B->mt stays this table's address while B lives */
  lua_pushvalue(L, -1);
  B->ref_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MT);

  lua_newuserdatauv(L, 0, 0); /* None */
  luaL_newmetatable(L, MT_NONE);
  lua_pushcfunction(L, none_tostring);
  lua_setfield(L, -2, "__tostring");
  protect(L, MT_NONE);
  lua_setmetatable(L, -2);
  B->none = lua_touserdata(L, -1);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, bidx, 2); /* B->none stays None's address while B lives */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_NONE);

  lua_newtable(L);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, lpygc_funcs, 1);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, lpygc_funcs_more, 1);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, lpygc_weakref_funcs, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_NONE);
  lua_setfield(L, -2, "None");
  lua_newtable(L);
  lua_setfield(L, -2, "callbacks");
  lua_pushcfunction(L, lpygc_default_unraisablehook);
  lua_setfield(L, -2, "unraisablehook");
  lua_createtable(L, 0, 3); /* the module's own metatable: gc.garbage */
  lua_pushvalue(L, bidx);
  lua_pushcclosure(L, module_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, module_newindex);
  lua_setfield(L, -2, "__newindex");
  protect(L, "pygc");
  lua_setmetatable(L, -2);
  static const struct {
    const char *name;
    int value;
  } consts[] = {{"DEBUG_STATS", PYGC_DEBUG_STATS},
                {"DEBUG_COLLECTABLE", PYGC_DEBUG_COLLECTABLE},
                {"DEBUG_UNCOLLECTABLE", PYGC_DEBUG_UNCOLLECTABLE},
                {"DEBUG_SAVEALL", PYGC_DEBUG_SAVEALL},
                {"DEBUG_LEAK", PYGC_DEBUG_LEAK}};
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
    lua_pushinteger(L, consts[i].value);
    lua_setfield(L, -2, consts[i].name);
  }
  lua_pushstring(L, PYGC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MODULE);
  return 1;
}

