/*
 * lpygc.c -- require "pygc": the pygc heap for Lua 5.4.
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
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

#include "lpygc.h"

#define MT_OBJECT "pygc.object"
#define MT_HEAP "pygc.heap"
#define MT_NONE "pygc.None"
#define PACE_BYTES (256 * 1024)

static const char KEY_BINDING = 'B', KEY_MODULE = 'M', KEY_CACHE = 'C', KEY_CLASSES = 'K', KEY_NONE = 'N',
                  KEY_METHODS = 'T', KEY_MT = 'O';

/* ---- allocation tracing (pygc.tracemalloc) ----
 * Each traced object maps to the traceback where it was made.  Tracebacks
 * are interned; both tables live in memory from Lua's allocator, outside
 * the pygc heap they describe (tracemalloc leaves itself out too). */
#define TRACE_MAX_FRAMES 32

typedef struct trace_frame {
  char src[LUA_IDSIZE];
  int line;
} trace_frame;

typedef struct trace {
  uint64_t hash;
  int nframes;
  trace_frame frames[TRACE_MAX_FRAMES];
} trace;

typedef struct trace_rec {
  pygc_object *obj; /* NULL: empty slot; (void*)1: deleted */
  uint32_t trace;   /* index into traces */
  size_t size;      /* bytes when made */
} trace_rec;

typedef struct tracer {
  int on, nframes;
  trace_rec *recs;
  size_t rcap, rused, rdead;
  trace **traces;
  size_t ntraces, tcap;
  uint32_t *tindex; /* open-addressing set of trace indices, by hash */
  size_t ticap;
  size_t current, peak;
} tracer;

typedef struct binding {
  pygc_heap *heap;
  lua_State *L; /* the thread running pygc code now; hooks call Lua on it */
  int closed;
  size_t paced; /* heap bytes when Lua's collector was last paced */
  pygc_buf buf; /* reused by tostring */
  lua_Alloc af;
  void *aud;
  tracer tr;
} binding;

typedef struct handle {
  pygc_object *obj; /* NULL once released */
  int borrowed;     /* the self of a running finalizer: owns no reference */
} handle;

/* ---- the binding and handles -------------------------------------------- */

static binding *getB(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  if (B->closed) luaL_error(L, "pygc: the heap is closed");
  B->L = L;
  return B;
}

static int nomem(lua_State *L) { return luaL_error(L, "not enough memory"); }

/* Is the value at idx a handle?  Compares metatables by identity (the
 * registry keeps ours under a light key): luaL_testudata would look the
 * name up as a string, which costs a strcmp on every call. */
static handle *tohandle(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  int ok = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return ok ? p : NULL;
}

static handle *checkhandle(lua_State *L, int idx) {
  handle *hd = tohandle(L, idx);
  if (hd == NULL) luaL_typeerror(L, idx, MT_OBJECT);
  return hd;
}

static int is_none(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_NONE);
  int ok = lua_rawequal(L, -1, idx < 0 && idx > LUA_REGISTRYINDEX ? idx - 1 : idx);
  lua_pop(L, 1);
  return ok;
}

static pygc_object *checkobj(lua_State *L, int idx) {
  handle *hd = checkhandle(L, idx);
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
static void pushobject(lua_State *L, binding *B, pygc_object *o) {
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
static void pushborrowed(lua_State *L, pygc_object *o) {
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

static void pushvalue(lua_State *L, binding *B, pygc_value v) {
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
    pushobject(L, B, o);
  pygc_decref(B->heap, o);
}

static void release_handle(lua_State *L, binding *B, handle *hd) {
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

static const char *unstorable(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return "nil";
  case LUA_TTABLE: return "Lua table";
  case LUA_TFUNCTION: return "Lua function";
  case LUA_TTHREAD: return "Lua coroutine";
  case LUA_TLIGHTUSERDATA: return "light userdata";
  case LUA_TUSERDATA:
    if (tohandle(L, idx) || is_none(L, idx)) return NULL;
    return "foreign userdata";
  default: return NULL;
  }
}

/* Convert the Lua value at idx; the result is a new reference.  On error,
 * *pending (if any) is released first so nothing leaks. */
static pygc_value tovalue_p(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending) {
  /* the common case first: a handle (one metatable check, not two) */
  handle *hd = lua_type(L, idx) == LUA_TUSERDATA ? tohandle(L, idx) : NULL;
  if (hd) {
    if (hd->obj == NULL) {
      if (pending) pygc_value_decref(B->heap, *pending);
      luaL_error(L, "pygc: use of a released handle");
    }
    pygc_incref(hd->obj);
    return pygc_obj(hd->obj);
  }
  const char *bad = unstorable(L, idx);
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
      nomem(L);
    }
    return pygc_obj(o);
  }
  default: break;
  }
  return pygc_none(); /* gc.None: the only other storable userdata */
}

static pygc_value tovalue(lua_State *L, binding *B, int idx, const char *where) {
  return tovalue_p(L, B, idx, where, NULL);
}

static const char *kind_of(const pygc_object *o) {
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

static int raise_status(lua_State *L, int st, pygc_value key) {
  switch (st) {
  case PYGC_ENOMEM: return nomem(L);
  case PYGC_EUNHASHABLE: return luaL_error(L, "unhashable type: '%s'", unhashable_name(key));
  case PYGC_ENAN: return luaL_error(L, "pygc: NaN cannot be a dict key");
  case PYGC_EOVERFLOW: return luaL_error(L, "pygc: %s", "size or nesting too large");
  default: return luaL_error(L, "pygc: %s", pygc_strerror(st));
  }
}

/* ---- hooks: the core calling back into Lua -------------------------------- */

/* Report an error that cannot be raised: gc.unraisablehook(err, what, obj),
 * or a warning.  Runs inside a protected call. */
static void report_unraisable(lua_State *L, int erridx, const char *what, pygc_object *obj) {
  erridx = lua_absindex(L, erridx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MODULE);
  lua_getfield(L, -1, "unraisablehook");
  lua_remove(L, -2);
  if (!lua_isnil(L, -1)) {
    lua_pushvalue(L, erridx);
    lua_pushstring(L, what);
    if (obj)
      pushborrowed(L, obj);
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

static int default_unraisablehook(lua_State *L) {
  const char *what = luaL_optstring(L, 2, "?");
  lua_warning(L, "pygc: exception ignored in ", 1);
  lua_warning(L, what, 1);
  lua_warning(L, ": ", 1);
  lua_warning(L, luaL_tolstring(L, 1, NULL), 0);
  return 0;
}

/* Run f(arg) in protected mode on the current thread; restore B->L after,
 * since nested pygc calls on other threads may have moved it. */
static void run_protected(binding *B, lua_CFunction f, void *arg) {
  lua_State *L = B->L;
  if (L == NULL || B->closed || !lua_checkstack(L, 8)) return;
  int top = lua_gettop(L);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, B);
  lua_pushlightuserdata(L, arg);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    /* only a memory error can get here */
    lua_warning(L, "pygc: exception ignored in a pygc hook: ", 1);
    lua_warning(L, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?", 0);
  }
  lua_settop(L, top);
  B->L = L;
}

static int p_finalize(lua_State *L) {
  pygc_object *o = lua_touserdata(L, 2); /* argument 1 is the binding: unused here */
  pygc_object *cls = pygc_instance_class(o);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
  if (cls == NULL || lua_rawgetp(L, -1, cls) != LUA_TTABLE) return 0;
  if (lua_getfield(L, -1, "__del") != LUA_TFUNCTION) return 0;
  pushborrowed(L, o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_pushfstring(L, "finalizer of %s", pygc_class_name(cls));
    report_unraisable(L, -2, lua_tostring(L, -1), o);
  }
  return 0;
}

static void hook_finalize(void *ud, pygc_heap *h, pygc_object *o) {
  (void)h;
  run_protected(ud, p_finalize, o);
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
    report_unraisable(L, -1, "gc callback", NULL);
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
      report_unraisable(L, -1, "gc callback", NULL);
      lua_pop(L, 2);
      continue;
    }
    lua_pushstring(L, a->phase);
    lua_pushvalue(L, info);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
      report_unraisable(L, -1, "gc callback", NULL);
      lua_pop(L, 1);
    }
  }
  return 0;
}

static void hook_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info) {
  (void)h;
  cb_args a = {phase, info};
  run_protected(ud, p_callbacks, &a);
}

static void hook_freed(void *ud, pygc_heap *h, pygc_object *o) {
  /* no allocation here: only lookups and stores of nil */
  binding *B = ud;
  lua_State *L = B->L;
  (void)h;
  if (L == NULL || !lua_checkstack(L, 4)) return;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  if (lua_rawgetp(L, -1, o) == LUA_TUSERDATA) {
    handle *hd = lua_touserdata(L, -1);
    if (hd->obj == o) {
      hd->obj = NULL;
      lua_pushnil(L);
      lua_rawsetp(L, -3, o);
    }
  }
  lua_pop(L, 2);
  if (o->type == &pygc_class_type) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
    lua_pushnil(L);
    lua_rawsetp(L, -2, o);
    lua_pop(L, 1);
  }
}

typedef struct unr_args {
  int status;
  const char *what;
  pygc_object *obj;
} unr_args;

static int p_unraisable(lua_State *L) {
  unr_args *a = lua_touserdata(L, 2);
  lua_pushstring(L, pygc_strerror(a->status));
  report_unraisable(L, -1, a->what, a->obj);
  return 0;
}

static void hook_unraisable(void *ud, pygc_heap *h, int status, const char *what, pygc_object *obj) {
  (void)h;
  unr_args a = {status, what, obj};
  run_protected(ud, p_unraisable, &a);
}

/* ---- the tracer --------------------------------------------------------------- */

static void *tr_alloc(binding *B, void *p, size_t o, size_t n) { return B->af(B->aud, p, o, n); }

static void tracer_reset(binding *B) {
  tracer *t = &B->tr;
  tr_alloc(B, t->recs, t->rcap * sizeof *t->recs, 0);
  for (size_t i = 0; i < t->ntraces; i++) tr_alloc(B, t->traces[i], sizeof(trace), 0);
  tr_alloc(B, t->traces, t->tcap * sizeof *t->traces, 0);
  tr_alloc(B, t->tindex, t->ticap * sizeof *t->tindex, 0);
  int on = t->on, nframes = t->nframes;
  memset(t, 0, sizeof *t);
  t->on = on;
  t->nframes = nframes;
}

static size_t rec_slot(const tracer *t, const pygc_object *o) {
  uintptr_t p = (uintptr_t)o;
  return (size_t)((p >> 4) ^ (p >> 17)) & (t->rcap - 1);
}

static int recs_grow(binding *B) {
  tracer *t = &B->tr;
  size_t ncap = t->rcap ? t->rcap * 2 : 1024;
  trace_rec *n = tr_alloc(B, NULL, 0, ncap * sizeof *n);
  if (!n) return 0;
  memset(n, 0, ncap * sizeof *n);
  trace_rec *old = t->recs;
  size_t ocap = t->rcap;
  t->recs = n;
  t->rcap = ncap;
  t->rused = t->rdead = 0;
  for (size_t i = 0; i < ocap; i++) {
    if ((uintptr_t)old[i].obj <= 1) continue;
    size_t j = rec_slot(t, old[i].obj);
    while (n[j].obj) j = (j + 1) & (ncap - 1);
    n[j] = old[i];
    t->rused++;
  }
  tr_alloc(B, old, ocap * sizeof *old, 0);
  return 1;
}

/* The current Lua traceback, interned; returns its index or -1. */
static long trace_intern(binding *B) {
  tracer *t = &B->tr;
  lua_State *L = B->L;
  trace cur;
  memset(&cur, 0, sizeof cur);
  lua_Debug ar;
  uint64_t hash = 1469598103934665603ULL;
  for (int level = 0; L && cur.nframes < t->nframes && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline < 0) continue; /* C functions: not a place in a script */
    trace_frame *f = &cur.frames[cur.nframes++];
    size_t n = strlen(ar.short_src); /* only the string: the rest of the buffer is not initialised */
    memcpy(f->src, ar.short_src, n < sizeof f->src - 1 ? n : sizeof f->src - 1);
    f->line = ar.currentline;
    for (const char *c = f->src; *c; c++) hash = (hash ^ (unsigned char)*c) * 1099511628211ULL;
    hash = (hash ^ (uint64_t)f->line) * 1099511628211ULL;
  }
  cur.hash = hash;
  if (t->ntraces * 2 >= t->ticap) { /* grow the index set */
    size_t ncap = t->ticap ? t->ticap * 2 : 256;
    uint32_t *n = tr_alloc(B, NULL, 0, ncap * sizeof *n);
    if (!n) return -1;
    memset(n, 0xFF, ncap * sizeof *n);
    for (size_t i = 0; i < t->ntraces; i++) {
      size_t j = t->traces[i]->hash & (ncap - 1);
      while (n[j] != UINT32_MAX) j = (j + 1) & (ncap - 1);
      n[j] = (uint32_t)i;
    }
    tr_alloc(B, t->tindex, t->ticap * sizeof *t->tindex, 0);
    t->tindex = n;
    t->ticap = ncap;
  }
  size_t j = hash & (t->ticap - 1);
  for (; t->tindex[j] != UINT32_MAX; j = (j + 1) & (t->ticap - 1)) {
    trace *e = t->traces[t->tindex[j]];
    if (e->hash == hash && e->nframes == cur.nframes && memcmp(e->frames, cur.frames, sizeof(trace_frame) * (size_t)cur.nframes) == 0)
      return t->tindex[j];
  }
  if (t->ntraces == t->tcap) {
    size_t ncap = t->tcap ? t->tcap * 2 : 64;
    trace **n = tr_alloc(B, t->traces, t->tcap * sizeof *n, ncap * sizeof *n);
    if (!n) return -1;
    t->traces = n;
    t->tcap = ncap;
  }
  trace *e = tr_alloc(B, NULL, 0, sizeof *e);
  if (!e) return -1;
  *e = cur;
  t->traces[t->ntraces] = e;
  t->tindex[j] = (uint32_t)t->ntraces;
  return (long)t->ntraces++;
}

/* Runs inside heap operations: allocates only from Lua's allocator, calls
 * no Lua function, raises nothing. */
static void hook_traced(void *ud, pygc_heap *h, pygc_object *o, size_t size, int alive) {
  binding *B = ud;
  tracer *t = &B->tr;
  (void)h;
  if (!t->on) return;
  if (alive) {
    if ((t->rused + t->rdead + 1) * 4 >= t->rcap * 3 && !recs_grow(B)) return;
    long tid = trace_intern(B);
    if (tid < 0) return;
    size_t j = rec_slot(t, o);
    while ((uintptr_t)t->recs[j].obj > 1) j = (j + 1) & (t->rcap - 1);
    if (t->recs[j].obj == (void *)1) t->rdead--;
    t->recs[j] = (trace_rec){o, (uint32_t)tid, size};
    t->rused++;
    t->current += size;
    if (t->current > t->peak) t->peak = t->current;
  } else if (t->rcap) {
    size_t j = rec_slot(t, o);
    for (; t->recs[j].obj; j = (j + 1) & (t->rcap - 1)) {
      if (t->recs[j].obj == o) {
        t->current -= t->recs[j].size;
        t->recs[j].obj = (void *)1;
        t->rused--;
        t->rdead++;
        return;
      }
    }
  }
}

static int l_trace_start(lua_State *L) {
  binding *B = getB(L);
  lua_Integer n = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, n >= 1 && n <= TRACE_MAX_FRAMES, 1, "the number of frames must be in 1..32");
  B->tr.nframes = (int)n;
  B->tr.on = 1;
  pygc_set_tracing(B->heap, 1);
  return 0;
}

static int l_trace_stop(lua_State *L) {
  binding *B = getB(L);
  B->tr.on = 0;
  pygc_set_tracing(B->heap, 0);
  tracer_reset(B);
  return 0;
}

static int l_trace_clear(lua_State *L) {
  binding *B = getB(L);
  tracer_reset(B);
  return 0;
}

static int l_trace_info(lua_State *L) {
  binding *B = getB(L);
  lua_pushboolean(L, B->tr.on);
  lua_pushinteger(L, (lua_Integer)B->tr.current);
  lua_pushinteger(L, (lua_Integer)B->tr.peak);
  lua_pushinteger(L, B->tr.nframes);
  return 4;
}

static void push_trace(lua_State *L, const trace *e) {
  lua_createtable(L, e->nframes, 0);
  for (int k = 0; k < e->nframes; k++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, e->frames[k].src);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, e->frames[k].line);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, k + 1);
  }
}

/* { traces = { {{file, line}, ...}, ... }, sizes = {...}, counts = {...} }:
 * live traced objects grouped by traceback, with their sizes now. */
static int l_trace_snapshot(lua_State *L) {
  binding *B = getB(L);
  tracer *t = &B->tr;
  size_t n = t->ntraces;
  /* totals per trace, in a userdata scratch array (no Lua calls while the
   * records are read) */
  size_t *sizes = lua_newuserdatauv(L, (n ? n : 1) * 2 * sizeof(size_t), 0);
  memset(sizes, 0, (n ? n : 1) * 2 * sizeof(size_t));
  for (size_t i = 0; i < t->rcap; i++) {
    if ((uintptr_t)t->recs[i].obj <= 1) continue;
    uint32_t tid = t->recs[i].trace;
    sizes[2 * tid] += pygc_sizeof(t->recs[i].obj);
    sizes[2 * tid + 1]++;
  }
  lua_createtable(L, 0, 3);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    push_trace(L, t->traces[i]);
    lua_rawseti(L, -4, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)sizes[2 * i]);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)sizes[2 * i + 1]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -4, "counts");
  lua_setfield(L, -3, "sizes");
  lua_setfield(L, -2, "traces");
  return 1;
}

static int l_trace_object(lua_State *L) {
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  tracer *t = &B->tr;
  if (t->rcap) {
    for (size_t j = rec_slot(t, o); t->recs[j].obj; j = (j + 1) & (t->rcap - 1)) {
      if (t->recs[j].obj == o) {
        push_trace(L, t->traces[t->recs[j].trace]);
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

/* ---- metamethods ------------------------------------------------------------ */

/* a Lua key as a 0-based index, or -1 */
static lua_Integer index_of(lua_State *L, int idx, int *ok) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, idx, &isnum);
  *ok = isnum && lua_type(L, idx) == LUA_TNUMBER;
  return i;
}

static int mm_index(lua_State *L) {
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  pygc_value v;
  if (o->type == &pygc_list_type || o->type == &pygc_tuple_type) {
    int ok;
    lua_Integer i = index_of(L, 2, &ok);
    int st = !ok || i < 1 ? PYGC_EINDEX
             : o->type == &pygc_list_type ? pygc_list_get(o, (size_t)(i - 1), &v)
                                          : pygc_tuple_get(o, (size_t)(i - 1), &v);
    if (st != PYGC_OK) return 0;
    pushvalue(L, B, v);
    return 1;
  }
  if (o->type == &pygc_dict_type) {
    if (lua_isnil(L, 2)) return 0;
    pygc_value key = tovalue(L, B, 2, "dict key");
    int st = pygc_dict_get(B->heap, o, key, &v);
    if (st == PYGC_OK) pushvalue(L, B, v);
    pygc_value_decref(B->heap, key);
    if (st == PYGC_OK) return 1;
    if (st == PYGC_EKEY) return 0;
    return raise_status(L, st, key);
  }
  pygc_object *cls = o->type == &pygc_instance_type ? pygc_instance_class(o) : o;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  if (o->type == &pygc_instance_type) {
    size_t len;
    const char *name = lua_tolstring(L, 2, &len);
    if (pygc_getattr(B->heap, o, name, len, &v) == PYGC_OK) {
      pushvalue(L, B, v);
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
  /* class attributes: the spec given to gc.class */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
  if (lua_rawgetp(L, -1, cls) != LUA_TTABLE) return 0;
  lua_getfield(L, -1, "spec");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int mm_newindex(lua_State *L) {
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  int st;
  if (o->type == &pygc_list_type) {
    int ok;
    lua_Integer i = index_of(L, 2, &ok);
    if (!ok) return luaL_error(L, "list indices must be integers, not %s", luaL_typename(L, 2));
    lua_Integer n = (lua_Integer)pygc_list_len(o);
    if (lua_isnil(L, 3)) {
      if (i == n && n > 0) {
        st = pygc_list_pop(B->heap, o, (size_t)(n - 1), NULL);
        return st ? raise_status(L, st, pygc_none()) : 0;
      }
      if (i < 1 || i > n) return 0; /* nothing there: nothing to do */
      return luaL_error(L, "list assignment index out of range");
    }
    if (i < 1 || i > n + 1) return luaL_error(L, "list assignment index out of range");
    pygc_value v = tovalue(L, B, 3, "list");
    st = i == n + 1 ? pygc_list_append(B->heap, o, v) : pygc_list_set(B->heap, o, (size_t)(i - 1), v);
    pygc_value_decref(B->heap, v);
    return st ? raise_status(L, st, pygc_none()) : 0;
  }
  if (o->type == &pygc_tuple_type) return luaL_error(L, "tuple is immutable");
  if (o->type == &pygc_dict_type) {
    if (lua_isnil(L, 2)) return luaL_error(L, "pygc: nil cannot be a dict key (use gc.None)");
    if (lua_isnil(L, 3)) {
      pygc_value key = tovalue(L, B, 2, "dict key");
      st = pygc_dict_del(B->heap, o, key);
      pygc_value_decref(B->heap, key);
      if (st == PYGC_OK || st == PYGC_EKEY) return 0;
      return raise_status(L, st, key);
    }
    const char *bad = unstorable(L, 3);
    if (bad) return luaL_error(L, "pygc: cannot store a %s in a pygc dict", bad);
    pygc_value key = tovalue(L, B, 2, "dict key");
    pygc_value v = tovalue_p(L, B, 3, "dict", &key);
    st = pygc_dict_set(B->heap, o, key, v);
    pygc_value_decref(B->heap, v);
    pygc_value_decref(B->heap, key);
    return st ? raise_status(L, st, key) : 0;
  }
  if (o->type == &pygc_instance_type) {
    if (lua_type(L, 2) != LUA_TSTRING)
      return luaL_error(L, "attribute name must be string, not '%s'", luaL_typename(L, 2));
    size_t len;
    const char *name = lua_tolstring(L, 2, &len);
    if (lua_isnil(L, 3)) {
      st = pygc_delattr(B->heap, o, name, len);
      return st == PYGC_OK || st == PYGC_EKEY ? 0 : raise_status(L, st, pygc_none());
    }
    pygc_value v = tovalue(L, B, 3, "instance");
    st = pygc_setattr(B->heap, o, name, len, v);
    pygc_value_decref(B->heap, v);
    return st ? raise_status(L, st, pygc_none()) : 0;
  }
  return luaL_error(L, "pygc: cannot set attributes of %s", kind_of(o));
}

static int mm_len(lua_State *L) {
  getB(L);
  pygc_object *o = checkobj(L, 1);
  if (o->type == &pygc_list_type) lua_pushinteger(L, (lua_Integer)pygc_list_len(o));
  else if (o->type == &pygc_tuple_type) lua_pushinteger(L, (lua_Integer)pygc_tuple_len(o));
  else if (o->type == &pygc_dict_type) lua_pushinteger(L, (lua_Integer)pygc_dict_len(o));
  else return luaL_error(L, "object of type '%s' has no len()", pygc_type_name(pygc_obj(o)));
  return 1;
}

static int seq_next(lua_State *L) {
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  lua_Integer i = luaL_optinteger(L, 2, 0) + 1;
  pygc_value v;
  int st = i < 1 ? PYGC_EINDEX
           : o->type == &pygc_list_type ? pygc_list_get(o, (size_t)(i - 1), &v)
                                        : pygc_tuple_get(o, (size_t)(i - 1), &v);
  if (st != PYGC_OK) return 0;
  lua_pushinteger(L, i);
  pushvalue(L, B, v);
  return 2;
}

/* dict and attribute iteration: upvalues 2 = position, 3 = size at start,
 * 4 = entries still to come */
static int map_next(lua_State *L) {
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  int is_dict = o->type == &pygc_dict_type;
  size_t size = is_dict ? pygc_dict_len(o) : pygc_attr_count(o);
  if ((lua_Integer)size != lua_tointeger(L, lua_upvalueindex(3)))
    return luaL_error(L, "%s changed size during iteration", is_dict ? "dict" : "instance");
  size_t pos = (size_t)lua_tointeger(L, lua_upvalueindex(2));
  pygc_value k, v;
  int more = is_dict ? pygc_dict_next(o, &pos, &k, &v) : pygc_attr_next(o, &pos, &k, &v);
  if (!more) return 0;
  /* same size but more entries than it had: keys were deleted and added
   * (CPython: "dictionary keys changed during iteration") */
  lua_Integer remaining = lua_tointeger(L, lua_upvalueindex(4));
  if (remaining <= 0) return luaL_error(L, "%s keys changed during iteration", is_dict ? "dict" : "instance");
  lua_pushinteger(L, remaining - 1);
  lua_replace(L, lua_upvalueindex(4));
  lua_pushinteger(L, (lua_Integer)pos);
  lua_replace(L, lua_upvalueindex(2));
  pygc_value_incref(k); /* hold both: pushing the first may run finalizers */
  pygc_value_incref(v);
  pushvalue(L, B, k);
  pushvalue(L, B, v);
  pygc_value_decref(B->heap, k);
  pygc_value_decref(B->heap, v);
  return 2;
}

static int mm_pairs(lua_State *L) {
  getB(L);
  pygc_object *o = checkobj(L, 1);
  if (o->type == &pygc_list_type || o->type == &pygc_tuple_type) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, seq_next, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
  }
  if (o->type != &pygc_dict_type && o->type != &pygc_instance_type)
    return luaL_error(L, "'%s' object is not iterable", kind_of(o));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushinteger(L, 0);
  lua_Integer size = (lua_Integer)(o->type == &pygc_dict_type ? pygc_dict_len(o) : pygc_attr_count(o));
  lua_pushinteger(L, size);
  lua_pushinteger(L, size);
  lua_pushcclosure(L, map_next, 4);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int mm_tostring(lua_State *L) {
  handle *hd = checkhandle(L, 1);
  if (hd->obj == NULL) {
    lua_pushstring(L, "<pygc released handle>");
    return 1;
  }
  binding *B = getB(L);
  B->buf.len = 0;
  int st = pygc_repr(B->heap, pygc_obj(hd->obj), &B->buf);
  if (st) return raise_status(L, st, pygc_none());
  lua_pushlstring(L, B->buf.data, B->buf.len);
  if (B->buf.cap > 1 << 20) pygc_buf_free(B->heap, &B->buf); /* do not keep a huge buffer */
  return 1;
}

static int mm_gc(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = checkhandle(L, 1);
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

static int mm_close(lua_State *L) {
  binding *B = lua_touserdata(L, lua_upvalueindex(1));
  handle *hd = checkhandle(L, 1);
  if (B->closed) {
    hd->obj = NULL;
    return 0;
  }
  B->L = L;
  release_handle(L, B, hd);
  return 0;
}

static int new_instance(lua_State *L, binding *B, pygc_object *cls) {
  int nargs = lua_gettop(L) - 1;
  pygc_object *o = pygc_instance_new(B->heap, cls);
  if (o == NULL) return nomem(L);
  pushobject(L, B, o);
  pygc_decref(B->heap, o);
  int self = lua_gettop(L);
  if (pygc_class_host(cls) == 0 && nargs == 0) return 1; /* no __init, no attributes */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
  lua_rawgetp(L, -1, cls);
  if (lua_istable(L, -1) && lua_getfield(L, -1, "__init") == LUA_TFUNCTION) {
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
  binding *B = getB(L);
  pygc_object *o = checkobj(L, 1);
  if (o->type != &pygc_class_type) return luaL_error(L, "'%s' object is not callable", pygc_type_name(pygc_obj(o)));
  return new_instance(L, B, o);
}

/* ---- module functions ------------------------------------------------------ */

/* push a new list filled from the sequence at src (a table or a pygc
 * sequence); Lua owns the list before anything can fail */
static pygc_object *push_new_list(lua_State *L, binding *B, int src, const char *where) {
  pygc_object *l = pygc_list_new(B->heap, 0);
  if (l == NULL) nomem(L);
  pushobject(L, B, l);
  pygc_decref(B->heap, l);
  if (!lua_isnoneornil(L, src)) {
    if (!lua_istable(L, src) && !tohandle(L, src)) luaL_typeerror(L, src, "table");
    lua_Integer n = luaL_len(L, src);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, src, i);
      pygc_value v = tovalue(L, B, -1, where);
      int st = pygc_list_append(B->heap, l, v);
      pygc_value_decref(B->heap, v);
      if (st) raise_status(L, st, pygc_none());
      lua_pop(L, 1);
    }
  }
  return l;
}

static int l_new_list(lua_State *L) {
  lua_settop(L, 1);
  push_new_list(L, getB(L), 1, "list");
  return 1;
}

static int l_new_tuple(lua_State *L) {
  binding *B = getB(L);
  lua_settop(L, 1);
  /* gather into a list first: it owns the values if conversion fails */
  pygc_object *l = push_new_list(L, B, 1, "tuple");
  size_t n0 = pygc_list_len(l);
  pygc_value *items = lua_newuserdatauv(L, (n0 ? n0 : 1) * sizeof(pygc_value), 0);
  size_t n = pygc_list_len(l); /* a finalizer may have run meanwhile */
  if (n > n0) n = n0;
  for (size_t i = 0; i < n; i++) pygc_list_get(l, i, &items[i]);
  pygc_object *t = pygc_tuple_new(B->heap, n, items);
  if (t == NULL) return nomem(L);
  pushobject(L, B, t);
  pygc_decref(B->heap, t);
  release_handle(L, B, tohandle(L, 2));
  return 1;
}

static int l_new_dict(lua_State *L) {
  binding *B = getB(L);
  lua_settop(L, 1);
  pygc_object *d = pygc_dict_new(B->heap);
  if (d == NULL) return nomem(L);
  pushobject(L, B, d);
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
  binding *B = getB(L);
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
  if (cls == NULL) return nomem(L);
  pushobject(L, B, cls);
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
  binding *B = getB(L);
  for (int i = 1; i <= lua_gettop(L); i++) release_handle(L, B, checkhandle(L, i));
  return 0;
}

static int l_refcount(lua_State *L) {
  getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_refcount(checkobj(L, 1)));
  return 1;
}

static int l_sizeof(lua_State *L) {
  getB(L);
  lua_pushinteger(L, (lua_Integer)pygc_sizeof(checkobj(L, 1)));
  return 1;
}

static int l_id(lua_State *L) {
  getB(L);
  lua_pushinteger(L, (lua_Integer)(uintptr_t)checkobj(L, 1));
  return 1;
}

static int l_type(lua_State *L) {
  getB(L);
  luaL_checkany(L, 1);
  const char *bad = unstorable(L, 1);
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
  if (is_none(L, 1)) {
    lua_pushstring(L, "NoneType");
    return 1;
  }
  lua_pushstring(L, pygc_type_name(pygc_obj(checkobj(L, 1))));
  return 1;
}

static int l_enable(lua_State *L) {
  pygc_enable(getB(L)->heap);
  return 0;
}
static int l_disable(lua_State *L) {
  pygc_disable(getB(L)->heap);
  return 0;
}
static int l_isenabled(lua_State *L) {
  lua_pushboolean(L, pygc_isenabled(getB(L)->heap));
  return 1;
}

static int checkgeneration(lua_State *L, int arg, lua_Integer def) {
  lua_Integer g = luaL_optinteger(L, arg, def);
  if (g < 0 || g > 2) luaL_argerror(L, arg, "invalid generation");
  return (int)g;
}

static int l_collect(lua_State *L) {
  binding *B = getB(L);
  int g = checkgeneration(L, 1, 2);
  lua_pushinteger(L, (lua_Integer)pygc_collect(B->heap, g));
  return 1;
}

static int l_set_debug(lua_State *L) {
  binding *B = getB(L);
  lua_Integer f = luaL_checkinteger(L, 1);
  if (f < 0 || f > 0x7fffffff) luaL_argerror(L, 1, "flags out of range");
  pygc_set_debug(B->heap, (int)f);
  return 0;
}
static int l_get_debug(lua_State *L) {
  lua_pushinteger(L, pygc_get_debug(getB(L)->heap));
  return 1;
}

static int l_set_threshold(lua_State *L) {
  binding *B = getB(L);
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
  binding *B = getB(L);
  for (int i = 0; i < 3; i++) lua_pushinteger(L, (lua_Integer)pygc_get_threshold(B->heap, i));
  return 3;
}

static int l_get_count(lua_State *L) {
  binding *B = getB(L);
  for (int i = 0; i < 3; i++) lua_pushinteger(L, (lua_Integer)pygc_get_count(B->heap, i));
  return 3;
}

static int l_get_stats(lua_State *L) {
  binding *B = getB(L);
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
    pushobject(L, B, g->items[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (size_t i = 0; i < g->n; i++) pygc_decref(B->heap, g->items[i]);
}

static int l_get_objects(lua_State *L) {
  binding *B = getB(L);
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
    const char *bad = unstorable(L, i + 1);
    if (bad && !lua_isnil(L, i + 1)) {
      for (int j = 0; j < i; j++) pygc_value_decref(B->heap, t[j]);
      const char *msg = lua_pushfstring(L, "pygc value expected, got %s", luaL_typename(L, i + 1));
      luaL_argerror(L, i + 1, msg);
    }
    t[i] = lua_isnil(L, i + 1) ? pygc_none() : tovalue(L, B, i + 1, "argument");
  }
  return t;
}

static int l_get_referrers(lua_State *L) {
  binding *B = getB(L);
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
  binding *B = getB(L);
  int n = lua_gettop(L);
  vgather cnt = {NULL, 0, 0};
  for (int i = 1; i <= n; i++) {
    handle *hd = tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vcount_fn, &cnt);
    else if (hd) return luaL_error(L, "pygc: use of a released handle");
  }
  vgather ga = {lua_newuserdatauv(L, (cnt.n ? cnt.n : 1) * sizeof(pygc_value), 0), 0, cnt.n};
  for (int i = 1; i <= n; i++) {
    handle *hd = tohandle(L, i);
    if (hd && hd->obj) pygc_referents(hd->obj, vgather_fn, &ga);
  }
  lua_createtable(L, (int)ga.n, 0);
  for (size_t i = 0; i < ga.n; i++) {
    pushvalue(L, B, ga.items[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (size_t i = 0; i < ga.n; i++) pygc_value_decref(B->heap, ga.items[i]);
  return 1;
}

static int l_is_tracked(lua_State *L) {
  getB(L);
  luaL_checkany(L, 1);
  handle *hd = tohandle(L, 1);
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  lua_pushboolean(L, hd != NULL && pygc_is_tracked(hd->obj));
  return 1;
}

static int l_is_finalized(lua_State *L) {
  getB(L);
  luaL_checkany(L, 1);
  handle *hd = tohandle(L, 1);
  if (hd && hd->obj == NULL) return luaL_error(L, "pygc: use of a released handle");
  lua_pushboolean(L, hd != NULL && pygc_is_finalized(hd->obj));
  return 1;
}

static int l_freeze(lua_State *L) {
  pygc_freeze(getB(L)->heap);
  return 0;
}
static int l_unfreeze(lua_State *L) {
  pygc_unfreeze(getB(L)->heap);
  return 0;
}
static int l_get_freeze_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)pygc_get_freeze_count(getB(L)->heap));
  return 1;
}

static int l_heap_info(lua_State *L) {
  binding *B = getB(L);
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
  binding *B = getB(L);
  static const char *const modes[] = {"generational", "incremental", NULL};
  int m = luaL_checkoption(L, 1, NULL, modes);
  if (!pygc_set_incremental(B->heap, m == 1)) return luaL_error(L, "pygc: cannot switch collectors during a collection");
  return 0;
}

static int l_get_mode(lua_State *L) {
  binding *B = getB(L);
  lua_pushstring(L, pygc_is_incremental(B->heap) ? "incremental" : "generational");
  return 1;
}

static int l_verify(lua_State *L) {
  binding *B = getB(L);
  char msg[512];
  if (pygc_heap_verify(B->heap, msg, sizeof msg)) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- the heap's anchor ------------------------------------------------------ */

static int heap_gc(lua_State *L) {
  binding *B = luaL_checkudata(L, 1, MT_HEAP);
  if (B->closed || B->heap == NULL) return 0;
  B->L = L;
  /* the handles are gone (they were finalized before this anchor): one
   * last collection runs finalizers of cyclic garbage; what remains after
   * it is freed without finalizers */
  pygc_collect(B->heap, 2);
  pygc_buf_free(B->heap, &B->buf);
  B->tr.on = 0;
  tracer_reset(B);
  B->closed = 1;
  pygc_heap_free(B->heap);
  B->heap = NULL;
  return 0;
}

static int none_tostring(lua_State *L) {
  lua_pushstring(L, "None");
  return 1;
}

static const luaL_Reg object_mt[] = {
    {"__index", mm_index},   {"__newindex", mm_newindex}, {"__len", mm_len},   {"__pairs", mm_pairs},
    {"__tostring", mm_tostring}, {"__gc", mm_gc},         {"__close", mm_close}, {"__call", mm_call},
    {NULL, NULL}};

static const luaL_Reg funcs[] = {{"new_list", l_new_list},
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
                                 {"_trace_start", l_trace_start},
                                 {"_trace_stop", l_trace_stop},
                                 {"_trace_clear", l_trace_clear},
                                 {"_trace_info", l_trace_info},
                                 {"_trace_snapshot", l_trace_snapshot},
                                 {"_trace_object", l_trace_object},
                                 {NULL, NULL}};

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
  B->L = L;
  return B;
}

pygc_heap *pygc_lua_heap(lua_State *L) { return state_binding(L)->heap; }

void pygc_lua_push(lua_State *L, pygc_object *o) { pushobject(L, state_binding(L), o); }

void pygc_lua_pushvalue(lua_State *L, pygc_value v) { pushvalue(L, state_binding(L), v); }

pygc_object *pygc_lua_test(lua_State *L, int idx) {
  handle *hd = tohandle(L, idx);
  return hd ? hd->obj : NULL;
}

pygc_object *pygc_lua_check(lua_State *L, int idx) { return checkobj(L, idx); }

pygc_value pygc_lua_tovalue(lua_State *L, int idx) { return tovalue(L, state_binding(L), idx, "value"); }

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

  binding *B = lua_newuserdatauv(L, sizeof(binding), 0);
  memset(B, 0, sizeof *B);
  luaL_newmetatable(L, MT_HEAP);
  lua_pushcfunction(L, heap_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  void *aud;
  lua_Alloc af = lua_getallocf(L, &aud);
  B->heap = pygc_heap_new((pygc_alloc_fn)af, aud, 0);
  if (B->heap == NULL) return nomem(L);
  B->L = L;
  B->paced = pygc_heap_bytes(B->heap);
  pygc_hooks hooks = {B, hook_finalize, hook_callback, NULL, hook_freed, hook_unraisable, hook_traced};
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
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CLASSES);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_METHODS);

  luaL_newmetatable(L, MT_OBJECT);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, object_mt, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MT);

  lua_newuserdatauv(L, 0, 0); /* None */
  luaL_newmetatable(L, MT_NONE);
  lua_pushcfunction(L, none_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_NONE);

  luaL_newlibtable(L, funcs);
  lua_pushvalue(L, bidx);
  luaL_setfuncs(L, funcs, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_NONE);
  lua_setfield(L, -2, "None");
  lua_newtable(L);
  lua_setfield(L, -2, "callbacks");
  lua_pushcfunction(L, default_unraisablehook);
  lua_setfield(L, -2, "unraisablehook");
  pushobject(L, B, pygc_garbage(B->heap));
  lua_setfield(L, -2, "garbage");
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
