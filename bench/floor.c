/* floor.c -- the floor for the Lua path (issue 16): a bare userdata whose C
 * __index and __newindex return a constant / store nothing and whose __gc
 * does nothing.  No object system can be cheaper from Lua than this, so
 * bench/lua_path.lua quotes pygc's costs as ratios to it.
 *   local floor = require "floor"; local u = floor.new(); u.x = 1; local v = u.x */
#include <lauxlib.h>
#include <lua.h>

static const char KEY_MT = 'F';

static int f_index(lua_State *L) {
  lua_pushinteger(L, 1);
  return 1;
}
static int f_newindex(lua_State *L) {
  (void)L;
  return 0;
}
static int f_gc(lua_State *L) {
  (void)L;
  return 0;
}
static int f_len(lua_State *L) {
  lua_pushinteger(L, 0);
  return 1;
}

static int f_new(lua_State *L) {
  void **p = lua_newuserdatauv(L, 2 * sizeof(void *), 0); /* a handle's size */
  p[0] = p[1] = NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  lua_setmetatable(L, -2);
  return 1;
}

__attribute__((visibility("default"))) int luaopen_floor(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, f_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, f_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, f_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, f_len);
  lua_setfield(L, -2, "__len");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MT);
  lua_newtable(L);
  lua_pushcfunction(L, f_new);
  lua_setfield(L, -2, "new");
  return 1;
}
