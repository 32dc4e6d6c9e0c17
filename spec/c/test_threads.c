/* test_threads.c -- two lua_States with two pygc heaps in two threads at
 * once: no shared mutable state, so they never meet.  Each thread builds
 * and collects cycles with finalizers, verifies its heap and closes. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>

#include "ctest.h"

int luaopen_pygc(lua_State *L);

static const char *script =
    "local gc = require 'pygc'\n"
    "local n, freed = ..., 0\n"
    "local C = gc.class('C', { __del = function() freed = freed + 1 end })\n"
    "for i = 1, n do\n"
    "  local a, b = C{ i = i }, C()\n"
    "  a.o = b; b.o = a\n"
    "  gc.release(a, b)\n"
    "  if i % 1000 == 0 then gc.collect() end\n"
    "end\n"
    "gc.collect()\n"
    "assert(gc._verify())\n"
    "return freed\n";

typedef struct job {
  int n;
  long freed;
  int ok;
  char err[256];
} job;

static void *worker(void *arg) {
  job *j = arg;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "pygc", luaopen_pygc, 0);
  lua_pop(L, 1);
  if (luaL_loadstring(L, script) != LUA_OK) {
    snprintf(j->err, sizeof j->err, "%s", lua_tostring(L, -1));
  } else {
    lua_pushinteger(L, j->n);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
      j->freed = (long)lua_tointeger(L, -1);
      j->ok = 1;
    } else {
      snprintf(j->err, sizeof j->err, "%s", lua_tostring(L, -1));
    }
  }
  lua_close(L);
  return NULL;
}

static void test_two_threads(void) {
  job jobs[2] = {{20000, 0, 0, ""}, {30000, 0, 0, ""}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, worker, &jobs[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) {
    if (!jobs[i].ok) fprintf(stderr, "thread %d: %s\n", i, jobs[i].err);
    CHECK(jobs[i].ok);
    CHECK_EQ(jobs[i].freed, 2L * jobs[i].n);
  }
}

int main(void) {
  RUN(test_two_threads);
  return ct_summary();
}
