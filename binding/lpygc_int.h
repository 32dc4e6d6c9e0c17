#ifndef LPYGC_INT_H
#define LPYGC_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

#include "lpygc.h"

#define MT_OBJECT "pygc.object"
#define MT_HEAP "pygc.heap"
#define MT_NONE "pygc.None"
#define PACE_BYTES (256 * 1024)

/* light keys in the registry: their addresses are the keys */
extern const char lpygc_key_binding, lpygc_key_module, lpygc_key_cache, lpygc_key_none,
    lpygc_key_methods, lpygc_key_mt, lpygc_key_thread, lpygc_key_hooks, lpygc_key_anchors, lpygc_key_vals,
    lpygc_key_mirror, lpygc_key_handmap, lpygc_key_keeper_mt, lpygc_key_lent;
#define KEY_BINDING lpygc_key_binding
#define KEY_MODULE lpygc_key_module
#define KEY_CACHE lpygc_key_cache
#define KEY_NONE lpygc_key_none
#define KEY_METHODS lpygc_key_methods
#define KEY_MT lpygc_key_mt
#define KEY_THREAD lpygc_key_thread
#define KEY_HOOKS lpygc_key_hooks
#define KEY_ANCHORS lpygc_key_anchors
#define KEY_VALS lpygc_key_vals
#define KEY_MIRROR lpygc_key_mirror
#define KEY_HANDMAP lpygc_key_handmap
#define KEY_KEEPER_MT lpygc_key_keeper_mt
#define KEY_LENT lpygc_key_lent

/* lrefs made before a cross-heap collection may run automatically */
#if !defined(LPYGC_CROSS_MIN)
#define LPYGC_CROSS_MIN 1000
#endif

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

struct handle;

/* Borrowed handles still valid, in the order they were lent (see the
 * lifetime model in handles.c).  Slots of handles that ended early hold
 * NULL. */
typedef struct borrow_list {
  struct handle **items;
  size_t n, cap;
} borrow_list;

/* attribute hint slots per binding (a power of two) */
#define LPYGC_HINTS 256
#define LPYGC_HINT(name) (((uintptr_t)(const void *)(name) >> 4) & (LPYGC_HINTS - 1))

typedef struct binding {
  pygc_heap *heap;
  lua_State *L;     /* the thread that last entered pygc: compared only (see lpygc_enter) */
  lua_State *hookL; /* the thread hooks run on (anchored: KEY_HOOKS) */
  int closed;
  borrow_list scoped; /* lent inside open hook calls: end when their hook call returns */
  borrow_list phase;  /* lent for a collection's unreachable set: end with the finalizer phase */
  int phase_open;     /* a collection's finalizer phase is running */
  size_t phase_mark;  /* where its borrows start in `phase` (hooks.c: above the ones lent while mirroring) */
  size_t nlref;       /* live lrefs (Lua values held by the heap) */
  size_t lref_made;   /* lrefs made since the last collection of both heaps */
  size_t lref_live;   /* lrefs alive after it */
  size_t cross_next;  /* lref_made that runs the next one by itself */
  int crossing;       /* a collection of both heaps is running */
  int mirroring;      /* ... and the values of its set are out of their anchors */
  size_t lent;             /* handles lent to its finalizer phase (KEY_LENT) */
  void *xset;              /* the running collection's set (luavalues.c) */
  size_t hook_runs;        /* hook calls so far (run_protected) */
  size_t paced; /* heap bytes when Lua's collector was last paced */
  /* objects with more than one owning handle (handles.c: lpygc_own), and
   * how many more: rare, so a short array */
  struct owner_extra {
    pygc_object *o;
    uint32_t extra;
  } *extra;
  size_t nextra, extracap;
  pygc_buf buf; /* reused by tostring */
  lua_Alloc af;
  void *aud;
  tracer tr;
  /* the fast path (handles.c): the object metatable's address, to tell a
   * handle by one pointer compare (the table is a user value of the
   * binding's userdata, so it lives as long as B); registry integer slots
   * of the identity cache and of that metatable (an array read, where a
   * light key costs a hash lookup) */
  const void *mt;
  int ref_cache, ref_mt;
  uintptr_t secret; /* mixed into every handle's tag (HANDLE_TAG) */
  const void *none; /* gc.None's address (a user value of B's userdata too) */
  /* attribute hints (metamethods.c), direct-mapped by a Lua string's
   * address: guesses pygc_getattr_hint checks against the name's bytes, so
   * a collected string whose address another name takes costs a miss */
  uint32_t hint_attr[LPYGC_HINTS], hint_class[LPYGC_HINTS];
  /* "__init", interned and held while the heap lives: every C() looks it
   * up in its class, and a name that has an interned str is found by the
   * heap's name cache (a pointer compare) instead of being hashed anew */
  pygc_object *name_init;
} binding;

typedef struct handle {
  pygc_object *obj;       /* NULL once released */
  unsigned char borrowed; /* owns no reference: listed in B->scoped or B->phase */
  unsigned char inphase;  /* which of the two lists */
  unsigned char box;      /* lpygc_new_box's: owns a reference, but not as a handle (no HOST2) */
  uint32_t slot;          /* its index there */
  uintptr_t tag;          /* HANDLE_TAG(B, the handle): see lpygc_tohandle_B */
} handle;

/* What a handle of B holds in its tag: its own address mixed with B's
 * secret, a word no Lua script can write into a userdata (only C code
 * makes userdata, and only pygc knows the secret). */
#define HANDLE_TAG(B, hd) ((uintptr_t)(const void *)(hd) ^ (B)->secret)

/* handles.c */
int lpygc_closed_error(lua_State *L);
int lpygc_nomem(lua_State *L);
handle *lpygc_tohandle(lua_State *L, int idx);
handle *lpygc_checkhandle(lua_State *L, int idx);
int lpygc_is_none(lua_State *L, int idx);
pygc_object *lpygc_checkobj(lua_State *L, int idx);
void lpygc_pushobject(lua_State *L, binding *B, pygc_object *o);
void lpygc_pushborrowed(lua_State *L, binding *B, pygc_object *o);
void lpygc_borrow_end(lua_State *L, binding *B, borrow_list *l, size_t mark);
void lpygc_borrow_free(binding *B);
void lpygc_borrow_reserve_n(lua_State *L, binding *B, borrow_list *l, size_t extra);
void lpygc_borrow_forget(lua_State *L, binding *B, pygc_object *o);
void lpygc_pushvalue(lua_State *L, binding *B, pygc_value v);
int lpygc_push_known(lua_State *L, binding *B, pygc_object *o);
void lpygc_release_handle(lua_State *L, binding *B, handle *hd);
void lpygc_own(lua_State *L, binding *B, pygc_object *o);
void lpygc_disown(binding *B, pygc_object *o);
uint32_t lpygc_owners(const binding *B, const pygc_object *o);
const char *lpygc_unstorable(lua_State *L, int idx);
pygc_value lpygc_tovalue_p(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending);
pygc_value lpygc_tovalue(lua_State *L, binding *B, int idx, const char *where);
pygc_value lpygc_tovalue_hd(lua_State *L, binding *B, int idx, const char *where, pygc_value *pending, handle *hd);
const char *lpygc_kind_of(const pygc_object *o);
int lpygc_raise_status(lua_State *L, int st, pygc_value key);
int lpygc_mm_gc(lua_State *L);
int lpygc_mm_close(lua_State *L);

/* Remember L as the thread now running pygc code (the tracer reads its
 * stack).  Kept in a weak slot, KEY_THREAD[1], so pygc never keeps a
 * coroutine alive; B->L only spares the store when the thread is the same
 * (it is compared, never dereferenced).  No allocation: the slot exists. */
static inline void lpygc_enter(binding *B, lua_State *L) {
  if (B->L != L) {
    B->L = L;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_THREAD);
    lua_pushthread(L);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
  }
}

/* The binding of the running C function (upvalue 1), entered.  Inline: every
 * metamethod starts here. */
static inline binding *lpygc_getB(lua_State *L) {
  binding *B = (binding *)lua_touserdata(L, lua_upvalueindex(1));
  if (B->closed) lpygc_closed_error(L);
  lpygc_enter(B, L);
  return B;
}

handle *lpygc_new_box(lua_State *L);
handle *lpygc_handle_reserve(lua_State *L, const binding *B);
void lpygc_handle_bind(lua_State *L, binding *B, handle *hd, pygc_object *o);

/* Is the value at idx a handle of B?  The fast form of lpygc_tohandle,
 * for callers that have B: a full userdata of a handle's size whose tag is
 * HANDLE_TAG (two API calls, where comparing metatables takes five).  A
 * light userdata has length 0, so its address is never read; a smaller
 * userdata is never read past its end.  Every handle is tagged where it is
 * made (new_handle, lpygc_handle_reserve, lpygc_new_box). */
static inline handle *lpygc_tohandle_B(lua_State *L, const binding *B, int idx) {
  handle *hd = (handle *)lua_touserdata(L, idx);
  if (hd == NULL || lua_rawlen(L, idx) != sizeof(handle) || hd->tag != HANDLE_TAG(B, hd)) return NULL;
  return hd;
}

/* The object of the handle at idx; raises as lpygc_checkobj. */
static inline pygc_object *lpygc_checkobj_B(lua_State *L, const binding *B, int idx) {
  handle *hd = lpygc_tohandle_B(L, B, idx);
  if (hd == NULL) luaL_typeerror(L, idx, MT_OBJECT);
  if (hd->obj == NULL) luaL_error(L, "pygc: use of a released handle");
  return hd->obj;
}

/* Is the value at idx gc.None?  An address compare (a full userdata: a
 * light one can carry any address). */
static inline int lpygc_is_none_B(lua_State *L, const binding *B, int idx) {
  return lua_touserdata(L, idx) == B->none && lua_type(L, idx) == LUA_TUSERDATA;
}

/* The Lua value at idx as a heap value, when that runs no Lua code and
 * makes no lref: a number, a boolean, a string, None, a live handle (1, and
 * *v is a new reference; 0 and nothing done for anything else, a released
 * handle included: the long way says what is wrong).  The heap may
 * allocate a str, which runs no collection. */
static inline int lpygc_quick_value(lua_State *L, binding *B, int idx, pygc_value *v) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    *v = lua_isinteger(L, idx) ? pygc_int((int64_t)lua_tointeger(L, idx)) : pygc_float((double)lua_tonumber(L, idx));
    return 1;
  case LUA_TBOOLEAN: *v = pygc_bool(lua_toboolean(L, idx)); return 1;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    pygc_object *o = pygc_str_new(B->heap, s, len);
    if (o == NULL) return 0; /* the long way raises the memory error */
    *v = pygc_obj(o);
    return 1;
  }
  case LUA_TUSERDATA: {
    handle *hv = lpygc_tohandle_B(L, B, idx);
    if (hv == NULL) {
      if (!lpygc_is_none_B(L, B, idx)) return 0;
      *v = pygc_none();
      return 1;
    }
    if (hv->obj == NULL) return 0;
    pygc_incref(hv->obj);
    *v = pygc_obj(hv->obj);
    return 1;
  }
  default: return 0;
  }
}

/* Would lpygc_quick_value take the value at idx?  (No conversion.) */
static inline int lpygc_is_quick(lua_State *L, const binding *B, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
  case LUA_TBOOLEAN:
  case LUA_TSTRING: return 1;
  case LUA_TUSERDATA: {
    handle *hv = lpygc_tohandle_B(L, B, idx);
    return hv ? hv->obj != NULL : lpygc_is_none_B(L, B, idx);
  }
  default: return 0;
  }
}

/* The identity cache and the object metatable, pushed (registry slots). */
static inline void lpygc_push_cache(lua_State *L, const binding *B) { lua_rawgeti(L, LUA_REGISTRYINDEX, B->ref_cache); }

/* The cache's key for o: its address as an integer.  Lua finds integer
 * keys by a path of their own (luaH_getint), shorter than a light
 * userdata's generic one; an address is far above any array part, so
 * these keys always live in the hash part. */
#define LPYGC_CACHE_KEY(o) ((lua_Integer)(uintptr_t)(const void *)(o))
_Static_assert(sizeof(lua_Integer) >= sizeof(void *), "the identity cache needs a lua_Integer that holds an address");
/* push cache[o], the cache at index t; returns its type */
/* A script can reach the cache through debug.getregistry() and, the keys
 * being gc.id's integers, store anything under an object's key: only a
 * full userdata of a handle's size that is not a box (a pairs state, a
 * to-be-closed value: they hold the object too) counts as found, and
 * callers then compare its object; nothing smaller is read past its end. */
static inline int lpygc_cache_get(lua_State *L, int t, const pygc_object *o) {
  int ty = lua_rawgeti(L, t, LPYGC_CACHE_KEY(o));
  if (ty == LUA_TUSERDATA && (lua_rawlen(L, -1) != sizeof(handle) || ((const handle *)lua_touserdata(L, -1))->box))
    return LUA_TNIL;
  return ty;
}
/* cache[o] = the value on top (popped), the cache at index t */
static inline void lpygc_cache_set(lua_State *L, int t, const pygc_object *o) { lua_rawseti(L, t, LPYGC_CACHE_KEY(o)); }
int lpygc_is_luaref(lua_State *L, int idx);

/* luavalues.c */
int lpygc_is_lref(const pygc_object *o);
const char *lpygc_lua_kind(lua_State *L, int idx);
void lpygc_push_lref(lua_State *L, const pygc_object *o);
int lpygc_lref_value(lua_State *L, int idx, pygc_value *out);
int lpygc_prepare(lua_State *L, binding *B, int idx);
int lpygc_prepare_hd(lua_State *L, binding *B, int idx, handle **hd);
intptr_t lpygc_cross_collect(lua_State *L, binding *B);
int lpygc_cross_adopt(binding *B, pygc_object *o);
void lpygc_cross_pace(lua_State *L, binding *B);
void lpygc_luavalues_open(lua_State *L, binding *B);

/* hooks.c */
void lpygc_hook_finalized(void *ud, pygc_heap *h);
int lpygc_default_unraisablehook(lua_State *L);
void lpygc_hook_finalize(void *ud, pygc_heap *h, pygc_object *o);
void lpygc_hook_callback(void *ud, pygc_heap *h, const char *phase, const pygc_collect_info *info);
void lpygc_hook_freed(void *ud, pygc_heap *h, pygc_object *o);
void lpygc_hook_unraisable(void *ud, pygc_heap *h, int status, const char *what, pygc_object *obj);

/* weakrefs.c */
extern const luaL_Reg lpygc_weakref_funcs[];
pygc_object *lpygc_unproxy(lua_State *L, binding *B, int idx);
void lpygc_push_referent(lua_State *L, binding *B, pygc_object *o);
int lpygc_mm_eq(lua_State *L);
void lpygc_hook_weakref(void *ud, pygc_heap *h, pygc_object *wr);

/* tracer.c */
void lpygc_tracer_reset(binding *B);
void lpygc_hook_traced(void *ud, pygc_heap *h, pygc_object *o, size_t size, int alive);
int lpygc_trace_start(lua_State *L);
int lpygc_trace_stop(lua_State *L);
int lpygc_trace_clear(lua_State *L);
int lpygc_trace_info(lua_State *L);
int lpygc_trace_reset_peak(lua_State *L);
int lpygc_trace_snapshot(lua_State *L);
int lpygc_trace_object(lua_State *L);

/* metamethods.c */
extern const luaL_Reg lpygc_object_mt[];

/* functions.c */
extern const luaL_Reg lpygc_funcs[];
extern const luaL_Reg lpygc_funcs_more[];
#endif
