/*
 * oom_lua.c -- allocation-failure injection through the Lua binding.
 *
 * A workload script runs once per k, in a fresh lua_State whose allocator
 * fails the k-th allocation made after the script starts, for every k up
 * to the workload's total.  Each failure must surface as a clean
 * "not enough memory" error (or be absorbed where a finalizer or callback
 * runs), the heap must verify afterwards, and lua_close must give back
 * every block.  Prints "N passed, N failed".
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpygc.h"

typedef struct oom_alloc {
  long live, count, fail_at;
  int armed;
} oom_alloc;

static void *oom_allocf(void *ud, void *ptr, size_t osize, size_t nsize) {
  oom_alloc *a = ud;
  (void)osize;
  if (nsize == 0) {
    if (ptr) {
      a->live--;
      free(ptr);
    }
    return NULL;
  }
  if (a->armed) {
    a->count++;
    if (a->count == a->fail_at) return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p && !ptr) a->live++;
  return p;
}

static const char *workload =
    "local gc = require 'pygc'\n"
    "local C = gc.class('C', { __del = function(self) self.gone = true end })\n"
    "local keep = gc.new_list()\n"
    "local K; K = gc.class('K', { count = 0, __init = function(self) K.count = K.count + 1 end })\n"
    "gc.callbacks[1] = function(phase, info) local t = { phase, info.collected } end\n"
    "for i = 1, 30 do\n"
    "  local a, b = C{ n = i, s = 'name' .. i }, C()\n"
    "  a.other = b; b.other = a\n"
    "  local l = gc.new_list{ a, i, 'x' .. i, 2.5 }\n"
    "  local d = gc.new_dict{ k = l }\n"
    "  d[gc.new_tuple{ i, 'k' }] = b\n"
    "  if i % 3 == 0 then keep[#keep + 1] = d end\n"
    "  local s = tostring(l) .. tostring(d)\n"
    "  if i % 7 == 0 then gc.collect(i % 3) end\n"
    "  for k, v in pairs(d) do local _ = v end\n"
    "  gc.get_referrers(a); gc.get_referents(l)\n"
    "  K.last = K(); K['f' .. i % 4] = function() return i end\n"
    "  if i % 5 == 0 then K['f' .. i % 4] = nil; K.__del = i % 2 == 0 and function() end or nil end\n"
    "end\n"
    "local A = gc.class('A', { x = 1, f = function() end }); A.a = A; A.inst = A(); A = nil\n"
    "gc.set_debug(gc.DEBUG_SAVEALL); local z = gc.new_list(); z[1] = z; z = nil\n"
    "collectgarbage(); gc.collect(); gc.set_debug(0)\n"
    "while #gc.garbage > 0 do gc.garbage[#gc.garbage] = nil end\n"
    "local objs = gc.get_objects(); local st = gc.get_stats(); local info = gc.heap_info()\n"
    "gc.freeze(); gc.unfreeze()\n"
    /* cross-heap collections: owning handles duplicated through a cleared
     * identity cache (B->extra grows past its first 8), cycles through Lua */
    "local reg = debug.getregistry()\n"
    "local function clear() for _, v in pairs(reg) do if type(v) == 'table' then\n"
    "  local mt = getmetatable(v)\n"
    "  if type(mt) == 'table' and rawget(mt, '__mode') == 'v' then for k in pairs(v) do v[k] = nil end end\n"
    "end end end\n"
    "local hold, hs = gc.new_list(), {}\n"
    "for i = 1, 10 do hold[i] = gc.new_dict() end\n"
    "for r = 1, 2 do clear(); for i = 1, 10 do hs[#hs + 1] = hold[i] end end\n"
    "for i = 1, 10 do local d = hold[i]; d.t = { back = d, n = i } end\n"
    "gc.collect()\n"
    "for i = 1, 10 do hold[i] = gc.None end\n"
    "hs = nil; collectgarbage(); gc.collect()\n"
    "for i = 1, 10 do local d = gc.new_dict(); d.t = { back = d, l = gc.new_list{ i } } end\n"
    "gc.collect()\n";

static long errors_seen;

static int run_one(long k, int *faulted, char *why, size_t whysz) {
  oom_alloc a;
  memset(&a, 0, sizeof a);
  lua_State *L = lua_newstate(oom_allocf, &a);
  if (!L) {
    snprintf(why, whysz, "no state");
    return 0;
  }
  luaL_openlibs(L);
  luaL_requiref(L, "pygc", luaopen_pygc, 0);
  lua_pop(L, 1);
  pygc_heap_use_pools(pygc_lua_heap(L), 0); /* fail blocks one by one, not pages */
  if (luaL_loadstring(L, workload) != LUA_OK) {
    snprintf(why, whysz, "workload does not compile: %s", lua_tostring(L, -1));
    lua_close(L);
    return 0;
  }
  a.armed = 1;
  a.fail_at = k;
  int st = lua_pcall(L, 0, 0, 0);
  a.armed = 0;
  *faulted = a.count >= k;
  int good = 1;
  if (st != LUA_OK) {
    errors_seen++;
    const char *msg = lua_tostring(L, -1);
    if (!msg || !strstr(msg, "not enough memory")) {
      snprintf(why, whysz, "k=%ld: unclear error: %s", k, msg ? msg : "(not a string)");
      good = 0;
    }
    lua_pop(L, 1);
  } else if (*faulted == 0) {
    /* ran to completion without reaching the k-th allocation: done */
  }
  /* the heap must be sound after the failure */
  if (good && luaL_dostring(L, "collectgarbage(); local gc = require 'pygc'; gc.callbacks = {};"
                               "assert(gc._verify()); gc.collect(); assert(gc._verify())") != LUA_OK) {
    snprintf(why, whysz, "k=%ld: heap unsound after failure: %s", k, lua_tostring(L, -1));
    good = 0;
  }
  lua_close(L);
  if (good && a.live != 0) {
    snprintf(why, whysz, "k=%ld: %ld blocks leaked", k, a.live);
    good = 0;
  }
  return good;
}

int main(int argc, char **argv) {
  long step = argc > 1 ? atol(argv[1]) : 1; /* try every step-th k */
  if (step < 1) step = 1;
  long passed = 0, failed = 0, faults = 0;
  char why[512];
  for (long k = 1;; k += step) {
    int faulted = 0;
    why[0] = 0;
    if (run_one(k, &faulted, why, sizeof why)) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "FAIL %s\n", why);
      if (failed > 20) break;
    }
    if (!faulted) break;
    faults++;
  }
  printf("oom_lua: %ld allocation failures injected (every %ld-th allocation of the workload), "
         "%ld surfaced as 'not enough memory', the rest were absorbed by finalizers or callbacks\n",
         faults, step, errors_seen);
  printf("%ld passed, %ld failed\n", passed, failed);
  return failed != 0;
}
