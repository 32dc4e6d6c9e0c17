/*
 * tracer.c -- allocation tracing for pygc.tracemalloc.
 */
#include "lpygc_int.h"

/* ---- the tracer --------------------------------------------------------------- */

static void *tr_alloc(binding *B, void *p, size_t o, size_t n) { return B->af(B->aud, p, o, n); }

void lpygc_tracer_reset(binding *B) {
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
  /* the thread in pygc now, if Lua has not collected it (see lpygc_enter);
   * nothing here allocates from Lua, so it cannot go while it is read */
  lua_State *L = NULL, *H = B->hookL;
  if (H && lua_checkstack(H, 2)) {
    lua_rawgetp(H, LUA_REGISTRYINDEX, &KEY_THREAD);
    lua_rawgeti(H, -1, 1);
    L = lua_tothread(H, -1);
    lua_pop(H, 2);
  }
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
void lpygc_hook_traced(void *ud, pygc_heap *h, pygc_object *o, size_t size, int alive) {
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

int lpygc_trace_start(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_Integer n = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, n >= 1 && n <= TRACE_MAX_FRAMES, 1, "the number of frames must be in 1..32");
  B->tr.nframes = (int)n;
  B->tr.on = 1;
  pygc_set_tracing(B->heap, 1);
  return 0;
}

int lpygc_trace_stop(lua_State *L) {
  binding *B = lpygc_getB(L);
  B->tr.on = 0;
  pygc_set_tracing(B->heap, 0);
  lpygc_tracer_reset(B);
  return 0;
}

int lpygc_trace_clear(lua_State *L) {
  binding *B = lpygc_getB(L);
  lpygc_tracer_reset(B);
  return 0;
}

int lpygc_trace_info(lua_State *L) {
  binding *B = lpygc_getB(L);
  lua_pushboolean(L, B->tr.on);
  lua_pushinteger(L, (lua_Integer)B->tr.current);
  lua_pushinteger(L, (lua_Integer)B->tr.peak);
  lua_pushinteger(L, B->tr.nframes);
  return 4;
}

/* Every Lua allocation below can run a handle's __gc, so a finalizer that
 * calls tracemalloc.clear_traces() or stop() (freeing every trace and
 * record) or makes objects (interning traces, moving the arrays): nothing
 * here reads the tracer's memory after such a call.  What is pushed is
 * first copied into memory the caller owns (the C stack or a userdata). */
static void push_frames(lua_State *L, const trace_frame *frames, int nframes) {
  lua_createtable(L, nframes, 0);
  for (int k = 0; k < nframes; k++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, frames[k].src);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, frames[k].line);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, k + 1);
  }
}

/* a snapshot's copy of the tracer: per trace its frame count, the offset
 * of its frames, and the live bytes and objects filed under it */
typedef struct snap_trace {
  int nframes;
  size_t first, size, count;
} snap_trace;

static int clamp_int(size_t n) { return n > INT32_MAX ? INT32_MAX : (int)n; }

/* { traces = { {{file, line}, ...}, ... }, sizes = {...}, counts = {...} }:
 * live traced objects grouped by traceback, with their sizes now. */
int lpygc_trace_snapshot(lua_State *L) {
  binding *B = lpygc_getB(L);
  tracer *t = &B->tr;
  size_t n, nfr;
  snap_trace *st;
  trace_frame *fr;
  for (;;) {
    /* size the copy, allocate it (finalizers may run), and try again if
     * the tracer grew meanwhile: no Lua allocation from the check until
     * the copy is complete */
    n = t->ntraces;
    nfr = 0;
    for (size_t i = 0; i < n; i++) nfr += (size_t)t->traces[i]->nframes;
    size_t bytes = (n ? n : 1) * sizeof(snap_trace) + (nfr ? nfr : 1) * sizeof(trace_frame);
    st = lua_newuserdatauv(L, bytes, 0);
    fr = (trace_frame *)(void *)(st + (n ? n : 1));
    if (t->ntraces <= n) {
      size_t total = 0;
      n = t->ntraces; /* fewer when the traces were cleared meanwhile */
      for (size_t i = 0; i < n; i++) total += (size_t)t->traces[i]->nframes;
      if (total <= nfr) break;
    }
    lua_pop(L, 1);
  }
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    const trace *e = t->traces[i];
    st[i] = (snap_trace){e->nframes, off, 0, 0};
    memcpy(fr + off, e->frames, (size_t)e->nframes * sizeof(trace_frame));
    off += (size_t)e->nframes;
  }
  for (size_t i = 0; i < t->rcap; i++) {
    if ((uintptr_t)t->recs[i].obj <= 1) continue;
    uint32_t tid = t->recs[i].trace;
    if (tid >= n) continue;
    st[tid].size += pygc_sizeof(t->recs[i].obj);
    st[tid].count++;
  }
  /* from here on only the copy is read */
  lua_createtable(L, 0, 3);
  lua_createtable(L, clamp_int(n), 0);
  lua_createtable(L, clamp_int(n), 0);
  lua_createtable(L, clamp_int(n), 0);
  for (size_t i = 0; i < n; i++) {
    push_frames(L, fr + st[i].first, st[i].nframes);
    lua_rawseti(L, -4, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)st[i].size);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)st[i].count);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -4, "counts");
  lua_setfield(L, -3, "sizes");
  lua_setfield(L, -2, "traces");
  return 1;
}

int lpygc_trace_object(lua_State *L) {
  binding *B = lpygc_getB(L);
  pygc_object *o = lpygc_checkobj(L, 1);
  tracer *t = &B->tr;
  if (t->rcap) {
    for (size_t j = rec_slot(t, o); t->recs[j].obj; j = (j + 1) & (t->rcap - 1)) {
      if (t->recs[j].obj == o) {
        trace copy = *t->traces[t->recs[j].trace]; /* the tracer may be cleared while pushing */
        push_frames(L, copy.frames, copy.nframes);
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

/* tracemalloc.reset_peak: the peak starts again from what is traced now */
int lpygc_trace_reset_peak(lua_State *L) {
  binding *B = lpygc_getB(L);
  B->tr.peak = B->tr.current;
  return 0;
}
