/* hrclock.c -- a monotonic clock in nanoseconds for the Lua drivers
 * (os.clock is CPU time): require "hrclock".now_ns() */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <time.h>

static int now_ns(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000000 + ts.tv_nsec);
  return 1;
}

__attribute__((visibility("default"))) int luaopen_hrclock(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, now_ns);
  lua_setfield(L, -2, "now_ns");
  return 1;
}
